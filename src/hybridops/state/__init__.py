"""State stores: SQLite (embedded default) and DynamoDB (team backend)."""
