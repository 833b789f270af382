"""`hybridops audit`: the audit trail of mutating calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hybridops.cli.invocation import invocation_of
from hybridops.timeparse import SINCE_HELP

if TYPE_CHECKING:
    from rich.console import Console


def audit(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help=f"Only records since then. {SINCE_HELP}")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, help="At most this many (newest).")
    ] = 200,
) -> int:
    """List audit records of mutating calls (who, when, what, outcome)."""
    from hybridops.cli.render import styled
    from hybridops.timeparse import parse_since

    invocation = invocation_of(ctx)
    moment = parse_since(since) if since else None
    records = invocation.runtime().store.list_audit(since=moment, limit=limit)

    def show(out: Console) -> None:
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("at (UTC)", "outcome", "env", "runbook/step", "call", "who"):
            table.add_column(column)
        for r in records:
            table.add_row(
                r["at"][:19].replace("T", " "),
                styled(r["outcome"]),
                r.get("env") or "",
                f"{r.get('runbook') or '-'}/{r.get('step') or '-'}",
                f"{r['service']}.{r['operation']}",
                (r.get("user") or "-") + (f" ({r['caller_arn']})" if r.get("caller_arn") else ""),
            )
        if records:
            out.print(table)
        else:
            invocation.err_console().print(
                "no audit records" + (f" since {since}" if since else "")
            )

    invocation.emit({"records": records}, show)
    return 0
