"""Built-in Python actions (registered on import)."""
