"""Triage: from the page to the right command — facts gathered once, runbook triggers ranked."""
