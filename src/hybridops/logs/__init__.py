"""Log investigation: KPIs, the daily review, line formatting."""
