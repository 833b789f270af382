"""`hybridops config`: the resolved configuration and where each value came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from hybridops.resolution import Setting


def config(ctx: typer.Context) -> int:
    """Show the resolved configuration and where each value came from (`aws configure list`)."""
    from hybridops.resolution import resolved_settings

    invocation = invocation_of(ctx)
    rows = resolved_settings(invocation.runtime())
    invocation.emit(
        {"settings": [r.as_dict() for r in rows]}, lambda out: print_settings(out, rows)
    )
    return 0


def print_settings(console: Any, rows: list[Setting]) -> None:
    """Aligned name / value / source lines, whole on a pipe."""
    from hybridops.plaintext import table

    text = table(["", "value", "from"], [[r.name, r.value, r.source] for r in rows], indent="")
    console.print(text, markup=False, highlight=False, soft_wrap=True)
