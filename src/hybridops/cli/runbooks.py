"""`hybridops runbooks`: list, show, validate, schema, docs."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hybridops.cli import completion
from hybridops.cli.apps import group
from hybridops.cli.invocation import invocation_of

if TYPE_CHECKING:
    from rich.console import Console

app = group("List, show, validate and document runbooks; print the format's JSON Schema.")


@app.command("list")
def list_runbooks(ctx: typer.Context) -> int:
    """List the built-in runbooks."""
    from hybridops.engine.loader import builtin_runbooks, load_file
    from hybridops.steps.registry import step_is_mutating

    invocation = invocation_of(ctx)
    rows: list[dict[str, Any]] = []
    for name, path in builtin_runbooks().items():
        book = load_file(path)
        rows.append(
            {
                "name": name,
                "description": book.description.strip().splitlines()[0] if book.description else "",
                "mutating": any(step_is_mutating(s) for s in book.steps),
                "severity": book.severity,
                "use_when": " ".join(book.use_when.split()),
                "steps": len(book.steps),
                "path": str(path),
            }
        )

    def show(out: Console) -> None:
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("name", "severity", "steps", "changes", "description"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row["name"],
                ",".join(row["severity"]),
                str(row["steps"]),
                "yes" if row["mutating"] else "",
                row["description"],
            )
        out.print(table)

    invocation.emit({"runbooks": rows}, show)
    return 0


@app.command("show")
def show(
    ctx: typer.Context,
    runbook: Annotated[
        str,
        typer.Argument(help="Built-in runbook name or path.", autocompletion=completion.runbooks),
    ],
) -> int:
    """Show a runbook's parameters and steps (and what each step changes)."""
    from hybridops.engine.loader import load
    from hybridops.steps.registry import load_kinds, step_is_mutating

    invocation = invocation_of(ctx)
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
                "goto": [j.model_dump(exclude_none=True) for j in step.goto or []],
            }
        )
    doc = {
        "name": book.name,
        "description": book.description,
        "source": str(loaded.source),
        "parameters": {k: v.model_dump(exclude_none=True) for k, v in book.parameters.items()},
        "steps": steps,
    }
    if book.report:
        doc["report"] = [
            e.model_dump(exclude_none=True, exclude_defaults=True) for e in book.report
        ]
    if book.triggers:
        doc["triggers"] = [t.model_dump(exclude_defaults=True) for t in book.triggers]

    def text(out: Console) -> None:
        out.print(f"[bold]{book.name}[/bold] — {book.description.strip()}")
        out.print(f"[dim]{loaded.source}[/dim]")
        if book.parameters:
            out.print("[bold]parameters[/bold]")
            for name, spec in book.parameters.items():
                req = " (required)" if spec.required else ""
                default = f" = {_word(spec.default)}" if spec.default is not None else ""
                line = f"  {name}: {spec.type}{default}{req}  {spec.description or ''}"
                out.print(line.rstrip(), markup=False)
        out.print("[bold]steps[/bold]")
        for i, (step, row) in enumerate(zip(book.steps, steps, strict=True), 1):
            flag = " [yellow](changes)[/yellow]" if row["mutating"] else ""
            out.print(f"  {i}. {row['name']}{flag}")
            out.print(f"     {row['describe']}", markup=False, highlight=False)
            for words in book.jump_words(step):
                out.print(f"     {words}", markup=False, highlight=False)
        if book.report:
            out.print("[bold]report[/bold] (shown after the steps)")
            for entry in book.report:
                shows = ", ".join(entry.fields or entry.columns) or (
                    "log events" if entry.format == "log" else "a table" if entry.table else "lines"
                )
                out.print(f"  {entry.title}: {shows}", markup=False, highlight=False)
        if book.triggers:
            out.print(
                "[bold]triggers[/bold] (weighed by `hybridops triage`, higher priority first)"
            )
            for trigger in sorted(book.triggers, key=lambda t: -t.priority):
                when = " and ".join(f"{path} {_word(v)}" for path, v in trigger.when.items())
                params = " ".join(f"-p {k}={_word(v)}" for k, v in trigger.params.items())
                out.print(
                    f"  {trigger.priority:>4} {trigger.name}: when {when}"
                    + (f" → {params}" if params else ""),
                    markup=False,
                    highlight=False,
                )

    invocation.emit(doc, text)
    return 0


def _word(value: Any) -> str:
    """A default as it is typed with -p: text as is, anything else as JSON (true, [1, 2])."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


@app.command("validate")
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Runbook files or built-in names (default: every built-in).",
            autocompletion=completion.runbooks,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Warnings are errors (exit 2): a parameter nothing reads, a step whose"
            " --print-cli script would ask the operator for what hybridops computes.",
        ),
    ] = False,
) -> int:
    """Validate runbooks; exit 2 if one is invalid, naming file:line and field."""
    from hybridops.engine.loader import builtin_runbooks, load, runbook_warnings
    from hybridops.errors import ExitCode, HybridOpsError

    invocation = invocation_of(ctx)
    results: list[dict[str, Any]] = []
    worst = 0
    for item in paths or [str(p) for p in builtin_runbooks().values()]:
        try:
            loaded = load(item)
            warnings = runbook_warnings(loaded)
            valid = not (strict and warnings)
            results.append(
                {
                    "path": str(loaded.source),
                    "valid": valid,
                    "name": loaded.runbook.name,
                    "warnings": warnings,
                }
            )
            if not valid:
                worst = max(worst, int(ExitCode.BAD_INPUT))
        except HybridOpsError as exc:
            results.append({"path": item, "valid": False, "error": exc.message})
            worst = max(worst, int(exc.exit_code))

    def said() -> None:  # a verdict per file, on stderr (stdout stays empty)
        for r in results:
            label = "error" if strict else "warning"
            for warning in r.get("warnings", []):
                invocation.terminal.stderr.write(f"{label}: {warning}\n")
            if r["valid"]:
                invocation.err_console().print(
                    f"[green]ok[/green] {r['path']} ({r['name']})", highlight=False
                )
            elif "error" in r:
                invocation.terminal.stderr.write(f"error: {r['error']}\n")

    invocation.emit({"valid": worst == 0, "results": results}, otherwise=said)
    return worst


@app.command("schema")
def schema(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to a file instead of stdout.")
    ] = None,
) -> int:
    """Print the JSON Schema of the runbook format (for YAML editors)."""
    from hybridops.reference.schemas import as_text, runbook_schema

    invocation = invocation_of(ctx)
    text = as_text(runbook_schema())
    if out is not None:
        from hybridops.paths import write_named_file

        write_named_file(out, text)
        # The schema went to the file: stdout still carries one document, or the path.
        invocation.emit(
            {"status": "ok", "path": str(out)},
            otherwise=lambda: invocation.terminal.stdout.write(f"{out}\n"),
        )
    else:
        invocation.terminal.stdout.write(text)  # the schema is itself the one JSON document
    return 0


@app.command("import")
def import_document(
    ctx: typer.Context,
    document: Annotated[
        Path, typer.Argument(help="An SSM Automation document (schemaVersion 0.3, JSON or YAML).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the runbook here (default: stdout).")
    ] = None,
) -> int:
    """Write an SSM Automation document as a native runbook, for review and editing."""
    from hybridops.errors import BadInput
    from hybridops.ssm.automation import native_yaml

    invocation = invocation_of(ctx)
    if not document.is_file():
        raise BadInput(f"{document}: no such file")
    text = native_yaml(document)  # validated as any runbook before a line is written
    return _deliver(invocation, text, out, "runbook", text)


class ExportFormat(str, enum.Enum):
    """What `runbooks export` writes."""

    ssm = "ssm"


@app.command("export")
def export(
    ctx: typer.Context,
    runbook: Annotated[str, typer.Argument(help="Built-in runbook name or path to a YAML file.")],
    format_: Annotated[
        ExportFormat, typer.Option("--format", help="ssm: an SSM Automation document (0.3).")
    ] = ExportFormat.ssm,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write here (JSON if it ends in .json, else YAML)."),
    ] = None,
) -> int:
    """Write a runbook as an SSM Automation document (env.* values of --env written in)."""
    import json

    import yaml

    from hybridops.engine.loader import load
    from hybridops.ssm.export import export_document

    invocation = invocation_of(ctx)
    loaded = load(runbook)
    runtime = invocation.runtime()
    document = export_document(loaded.runbook, runtime.env.as_template_scope(), str(loaded.source))
    as_json = out is not None and out.suffix == ".json"
    text = (
        json.dumps(document, indent=2) + "\n"
        if as_json
        else yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    )
    return _deliver(invocation, text, out, "document", document)


def _deliver(invocation: Any, text: str, out: Path | None, key: str, value: Any) -> int:
    """Write `text` to --out (its path printed) or to stdout; with -o json, one document."""

    if out is not None:
        from hybridops.paths import write_named_file

        write_named_file(out, text)
    body = {"status": "ok", "path": str(out) if out else None}
    invocation.emit(
        body | ({} if out else {key: value}),
        otherwise=lambda: invocation.terminal.stdout.write(f"{out}\n" if out is not None else text),
    )
    return 0


@app.command("docs")
def docs(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="Directory of the pages (one per runbook + README.md).")
    ] = Path("docs/runbooks"),
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if the pages differ from the YAML."),
    ] = False,
) -> int:
    """Write a Markdown page per built-in runbook, with its equivalent aws/curl commands."""
    from hybridops.cli.reference import finish
    from hybridops.reference.runbook_pages import generate

    return finish(
        invocation_of(ctx),
        generate(out),
        check=check,
        out=out,
        again="hybridops runbooks docs",
        key="pages",
        prune_glob="*.md",
    )
