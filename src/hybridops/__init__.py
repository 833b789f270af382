"""hybridops: executable, guarded runbooks for the hybrid routing service."""

__version__ = "0.1.0"
