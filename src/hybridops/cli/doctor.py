"""`hybridops doctor`: credentials, region, permissions, endpoints, state store, clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console


def doctor(ctx: typer.Context) -> int:
    """Check this machine is ready for an incident; every failing check says how to fix it."""
    from hybridops.cli.config_cmd import print_settings
    from hybridops.cli.render import styled
    from hybridops.proactive.doctor import run_checks, verdict
    from hybridops.resolution import resolved_settings

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    # The checks look at the state dir before anything opens (and tightens) it; the header
    # (the same as `hybridops config`) is printed first all the same.
    findings = run_checks(runtime)
    settings = resolved_settings(runtime)
    status = verdict(findings)

    def show(out: Console) -> None:
        print_settings(out, settings)
        out.print()
        for f in findings:
            out.print(f"{styled(f.status)} {f.name}: ", end="")
            out.print(f.detail, markup=False, highlight=False)
            if f.fix and f.status != "pass":
                out.print(f"     fix: {f.fix}", markup=False, highlight=False)

    invocation.emit(
        {
            "status": status,
            "settings": [s.as_dict() for s in settings],
            "checks": [f.as_dict() for f in findings],
        },
        show,
    )
    return 1 if status == "fail" else 0
