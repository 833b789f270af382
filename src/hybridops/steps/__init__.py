"""Step kinds and Python actions, found through the registry."""
