"""`hybridops runbooks`: list, show, validate, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hybridops.cli.apps import group
from hybridops.cli.state import app_state

app = group("List, show and validate runbooks; print the format's JSON Schema.")


@app.command("list")
def list_runbooks(ctx: typer.Context) -> int:
    """List the built-in runbooks."""
    from hybridops.cli.render import emit_json
    from hybridops.engine.loader import builtin_runbooks, load_file
    from hybridops.steps.registry import step_is_mutating

    state = app_state(ctx)
    rows: list[dict[str, Any]] = []
    for name, path in builtin_runbooks().items():
        book = load_file(path)
        rows.append(
            {
                "name": name,
                "description": book.description.strip().splitlines()[0] if book.description else "",
                "mutating": any(step_is_mutating(s) for s in book.steps),
                "steps": len(book.steps),
                "path": str(path),
            }
        )
    if state.json:
        emit_json(state.environment, {"runbooks": rows})
        return 0
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("name", "steps", "changes", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"], str(row["steps"]), "yes" if row["mutating"] else "", row["description"]
        )
    state.out_console().print(table)
    return 0


@app.command("show")
def show(
    ctx: typer.Context,
    runbook: Annotated[str, typer.Argument(help="Built-in runbook name or path.")],
) -> int:
    """Show a runbook's parameters and steps (and what each step changes)."""
    from hybridops.cli.render import emit_json
    from hybridops.engine.loader import load
    from hybridops.steps.registry import load_kinds, step_is_mutating

    state = app_state(ctx)
    loaded = load(runbook)
    book = loaded.runbook
    kinds = load_kinds()
    steps: list[dict[str, Any]] = []
    for step in book.steps:
        body = step.body.model_dump(by_alias=True, exclude_none=True)
        steps.append(
            {
                "name": step.name,
                "kind": step.kind,
                "mutating": step_is_mutating(step),
                "describe": kinds[step.kind].describe(step, body),
                "compensate": step.compensate is not None,
                "when": step.when,
            }
        )
    doc = {
        "name": book.name,
        "description": book.description,
        "source": str(loaded.source),
        "parameters": {k: v.model_dump(exclude_none=True) for k, v in book.parameters.items()},
        "steps": steps,
    }
    if state.json:
        emit_json(state.environment, doc)
        return 0
    out = state.out_console()
    out.print(f"[bold]{book.name}[/bold] — {book.description.strip()}")
    out.print(f"[dim]{loaded.source}[/dim]")
    if book.parameters:
        out.print("[bold]parameters[/bold]")
        for name, spec in book.parameters.items():
            req = " (required)" if spec.required else ""
            default = f" = {spec.default!r}" if spec.default is not None else ""
            out.print(
                f"  {name}: {spec.type}{default}{req}  {spec.description or ''}", markup=False
            )
    out.print("[bold]steps[/bold]")
    for i, row in enumerate(steps, 1):
        flag = " [yellow](changes)[/yellow]" if row["mutating"] else ""
        out.print(f"  {i}. {row['name']}{flag}")
        out.print(f"     {row['describe']}", markup=False, highlight=False)
    return 0


@app.command("validate")
def validate(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Runbook files (or built-in names).")],
) -> int:
    """Validate runbook files; exit 2 on the first invalid one, naming file:line and field."""
    from hybridops.cli.render import emit_json
    from hybridops.engine.loader import load
    from hybridops.errors import HybridOpsError

    state = app_state(ctx)
    results = []
    worst = 0
    for item in paths:
        try:
            loaded = load(item)
            results.append({"path": str(loaded.source), "valid": True, "name": loaded.runbook.name})
        except HybridOpsError as exc:
            results.append({"path": item, "valid": False, "error": exc.message})
            worst = max(worst, int(exc.exit_code))
    if state.json:
        emit_json(state.environment, {"valid": worst == 0, "results": results})
    else:
        for r in results:
            if r["valid"]:
                state.err_console().print(
                    f"[green]ok[/green] {r['path']} ({r['name']})", highlight=False
                )
            else:
                state.environment.stderr.write(f"error: {r['error']}\n")
    return worst


@app.command("schema")
def schema(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to a file instead of stdout.")
    ] = None,
) -> int:
    """Print the JSON Schema of the runbook format (for YAML editors)."""
    from hybridops.engine.models import Runbook

    document = Runbook.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "hybridops runbook"
    text = json.dumps(document, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    else:
        state = app_state(ctx)
        state.environment.stdout.write(text + "\n")
    return 0
