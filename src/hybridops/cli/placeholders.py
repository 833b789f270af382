"""Command groups whose commands arrive with later issues; registered now so help is stable."""

from __future__ import annotations

import typer

from hybridops.cli.apps import group

PENDING = {
    "incident": "Incident lifecycle: declare, notify, escalate, timeline, post-mortem.",
}


def _pending(name: str) -> typer.Typer:
    app = group(
        f"{PENDING[name]} (not available yet)",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @app.callback(invoke_without_command=True)
    def _placeholder(ctx: typer.Context) -> None:
        from hybridops.errors import BadInput

        raise BadInput(
            f"`hybridops {name}` is not available in this version yet",
            hint="see `hybridops runbooks list` for built-in runbooks to `hybridops run`",
        )

    _placeholder.__doc__ = f"{PENDING[name]} (not available yet)"
    return app


def groups() -> dict[str, typer.Typer]:
    """The pending groups by name."""
    return {name: _pending(name) for name in PENDING}
