"""Incidents: the lifecycle (open, update, escalate, resolve, postmortem) and its notifications."""
