"""One constructor for command groups, so every group formats help and errors the same way."""

from __future__ import annotations

from typing import Any

import typer


def group(help: str, **kwargs: Any) -> typer.Typer:
    """A Typer sub-application with the project's settings (plain, fast help)."""
    kwargs.setdefault("no_args_is_help", True)
    return typer.Typer(
        help=help,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        **kwargs,
    )
