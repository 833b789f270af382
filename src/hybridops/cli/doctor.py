"""`hybridops doctor`: credentials, region, permissions, endpoints, state store, clock."""

from __future__ import annotations

import typer

from hybridops.cli.invocation import invocation_of


def doctor(ctx: typer.Context) -> int:
    """Check this machine is ready for an incident; every failing check says how to fix it."""
    from hybridops.cli.config_cmd import print_settings
    from hybridops.cli.render import emit_json, styled
    from hybridops.proactive.doctor import run_checks, verdict
    from hybridops.resolution import resolved_settings

    invocation = invocation_of(ctx)
    runtime = invocation.runtime()
    # The checks look at the state dir before anything opens (and tightens) it; the header
    # (the same as `hybridops config`) is printed first all the same.
    findings = run_checks(runtime)
    settings = resolved_settings(runtime)
    status = verdict(findings)
    if invocation.json:
        emit_json(
            invocation.terminal,
            {
                "status": status,
                "settings": [s.as_dict() for s in settings],
                "checks": [f.as_dict() for f in findings],
            },
        )
    else:
        console = invocation.out_console()
        print_settings(console, settings)
        console.print()
        for f in findings:
            console.print(f"{styled(f.status)} {f.name}: ", end="")
            console.print(f.detail, markup=False, highlight=False)
            if f.fix and f.status != "pass":
                console.print(f"     fix: {f.fix}", markup=False, highlight=False)
    return 1 if status == "fail" else 0
