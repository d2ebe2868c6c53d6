"""Alerts: the normalised alert, intake and actions, the escalation policy and its worker."""
