"""Global command-line options (kept import-light: --help must stay fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Options:
    """Global options, after flags and HYBRIDOPS_* variables."""

    env: str | None = None
    config: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    output: str = "text"
    dry_run: bool = False
    yes: bool = False
    read_only: bool = False
    verbose: int = 0
    quiet: bool = False
    traceback: bool = False
    incident: str | None = None
