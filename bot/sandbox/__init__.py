"""The sandbox: a local stand-in of Slack (Web API, signed requests) and a page to drive it."""
