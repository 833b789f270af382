"""Documentation generated from the single sources: runbook YAML and the Typer app."""
