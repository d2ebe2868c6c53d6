"""The local stand-in of Slack's Web API: its workspace, records, faults and methods per family."""
