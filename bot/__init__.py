"""Watchkeeper: who holds the pager, handovers, alert relay and escalation, in Slack."""

__version__ = "0.1.0"
