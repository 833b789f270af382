"""The runbook engine: models, loader, templating, planner, executor, journal."""
