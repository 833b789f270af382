"""Runbooks as shell scripts of `aws` and `curl` commands: the fallback and the docs."""
