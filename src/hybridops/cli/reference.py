"""`hybridops reference`: the CLI reference and the JSON Schemas, generated and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hybridops.cli.invocation import Invocation, invocation_of


def reference(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="Docs directory: writes cli.md and schemas/*.json.")
    ] = Path("docs"),
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if a file differs from the code."),
    ] = False,
) -> int:
    """Write docs/cli.md (every command and option), docs/facts.md and the JSON Schemas."""
    from hybridops.cli.main import build_app
    from hybridops.reference.cli_reference import cli_reference
    from hybridops.reference.schemas import as_text, config_schema, runbook_schema

    invocation = invocation_of(ctx)
    from hybridops.reference.facts_page import facts_page

    files = {
        out / "cli.md": cli_reference(typer.main.get_command(build_app())),
        out / "facts.md": facts_page(),
        out / "schemas" / "runbook.schema.json": as_text(runbook_schema()),
        out / "schemas" / "hybridops.schema.json": as_text(config_schema()),
    }
    return finish(invocation, files, check=check, out=out, again="hybridops reference", key="files")


def finish(
    invocation: Invocation,
    files: dict[Path, str],
    *,
    check: bool,
    out: Path,
    again: str,
    key: str,
    prune_glob: str | None = None,
) -> int:
    """Write (or, with check, only compare) generated files; report; 1 if check found drift."""
    from hybridops.reference.files import bring_in_line, stale

    outdated = stale(files, prune_glob=prune_glob)
    if not check:
        bring_in_line(files, outdated)

    def said() -> None:  # what was written or is stale, on stderr
        verb = "out of date" if check else "written"
        for path in outdated:
            invocation.terminal.stderr.write(f"{verb}: {path}\n")
        if not outdated:
            invocation.terminal.stderr.write(f"{len(files)} {key} up to date in {out}\n")
        elif check:
            invocation.terminal.stderr.write(f"run `{again}` and commit the result\n")

    invocation.emit(
        {key: [str(p) for p in files], "changed": [str(p) for p in outdated], "check": check},
        otherwise=said,
    )
    return 1 if check and outdated else 0
