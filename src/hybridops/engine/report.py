"""A runbook's `report:`: checked when it is loaded, resolved when the run ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hybridops.engine import matching
from hybridops.engine.templating import (
    ROOTS,
    TEMPLATE_RE,
    TemplateError,
    iter_references,
    lookup,
    parse_reference,
)
from hybridops.errors import ValidationError

if TYPE_CHECKING:
    from hybridops.engine.models import ReportEntry, Runbook
    from hybridops.gate.redact import Redactor

_RUN_KEYS = ("id", "runbook", "env")


# -- checking (when a runbook is loaded) -----------------------------------------------------


def check_report(runbook: Runbook, data: Any, source: str) -> None:
    """Every name a report reads must exist: a parameter, a step's declared output, a setting.

    Raises ValidationError naming file:line and the field, as the step checks do.
    """
    from hybridops.engine.loader import root_paths

    for index, entry in enumerate(runbook.report):
        for loc, value in _expressions(entry):
            where = ["report", index, *loc]
            if "${{" in value:
                chains = [tuple(str(p) for p in ref) for ref in iter_references(value)]
                template = True
            else:
                chains = root_paths(value)
                template = False
            for chain in chains:
                problem = _problem(runbook, chain, template=template)
                if problem:
                    raise _fail(source, data, where, problem)


def _expressions(entry: ReportEntry) -> list[tuple[list[Any], str]]:
    """The values of an entry evaluated over the run's scope, with their place."""
    found: list[tuple[list[Any], str]] = [(["title"], entry.title)]
    if entry.empty is not None:
        found.append((["empty"], entry.empty))
    if entry.fields is not None:
        found.extend((["fields", label], value) for label, value in entry.fields.items())
    if entry.table is not None:
        found.append((["table"], entry.table))
    if entry.lines is not None:
        found.append((["lines"], entry.lines))
    if entry.when is not None:
        found.append((["when"], entry.when))
    # Title and empty text are plain text unless they hold ${{ }}.
    return [(loc, v) for loc, v in found if loc[0] not in ("title", "empty") or "${{" in v]


def _problem(runbook: Runbook, chain: tuple[str, ...], *, template: bool) -> str | None:
    """What is wrong with one dotted name read by a report (None: nothing)."""
    text = ".".join(chain)
    shown = f"${{{{ {text} }}}}" if template else text
    root = chain[0]
    if root not in ROOTS or root == "facts":
        return f"{shown}: no such name (use params., steps., env. or run.)"
    if len(chain) == 1:
        return f"{shown}: name something inside {root}" if template else None
    name = chain[1]
    if root == "params" and name not in runbook.parameters:
        return f"{shown}: no such parameter"
    if root == "run" and name not in _RUN_KEYS:
        return f"{shown}: use run.id, run.runbook or run.env"
    if root == "env":
        from hybridops.config import EnvironmentConfig

        if name not in {*EnvironmentConfig.model_fields, "name"}:
            return f"{shown}: no such environment setting"
    if root == "steps":
        step = next((s for s in runbook.steps if s.name == name), None)
        if step is None:
            return f"{shown}: step {name!r} does not exist"
        if (len(chain) >= 3 and chain[2] != "outputs") or (template and len(chain) < 4):
            return f"{shown}: use steps.{name}.outputs.NAME"
        if len(chain) >= 4 and chain[3] not in step.outputs:
            return f"{shown}: step {name!r} declares no output {chain[3]!r}"
    return None


def _fail(source: str, data: Any, loc: list[Any], message: str) -> ValidationError:
    from hybridops.yamlsource import format_location, line_of

    line = line_of(data, loc)
    where = f"{source}:{line}" if line else source
    return ValidationError(f"{where}: {format_location(loc)}: {message}")


# -- resolving (when a run ends) -------------------------------------------------------------


def resolve_report(
    runbook: Runbook, scope: Mapping[str, Any], redactor: Redactor | None = None
) -> list[dict[str, Any]]:
    """The report's entries with their values, as JSON; what is unknown is left out.

    An entry that cannot be resolved says why in its `note`: the report never fails a run.
    """
    resolved: list[dict[str, Any]] = []
    for entry in runbook.report:
        try:
            out = _resolve(entry, scope)
        except Exception as exc:  # an expression that fails at run time: said, not raised
            out = {"title": _text(entry.title, scope), "note": f"could not be shown: {exc}"}
        if out is not None:
            resolved.append(out)
    return redactor(resolved) if redactor is not None else resolved


def _resolve(entry: ReportEntry, scope: Mapping[str, Any]) -> dict[str, Any] | None:
    # Not matching.holds: a report is read after any run, also one stopped before the steps a
    # condition names, so what it reads is resolved leniently (unknown: None, the entry hidden).
    if entry.when is not None and not matching.truthy(_value(entry.when, scope)):
        return None
    title = _text(entry.title, scope)
    if entry.fields is not None:
        fields = {label: _value(value, scope) for label, value in entry.fields.items()}
        known = {label: value for label, value in fields.items() if value is not None}
        return {"title": title, "kind": "fields", "fields": known} if known else None
    found = _value(entry.table if entry.table is not None else str(entry.lines), scope)
    if found is None:
        return None  # its step did not run (skipped, planned, failed before it)
    items = found if isinstance(found, list) else [found]
    out: dict[str, Any] = {"title": title}
    if entry.table is not None and entry.columns:
        paths = {header: matching.compile_path(path) for header, path in entry.columns.items()}
        rows = [[path.search(item) for path in paths.values()] for item in items]
        out |= {"kind": "table", "columns": list(paths), "rows": rows}
    elif entry.table is not None:
        from hybridops.plaintext import rows_of

        headers, rows = rows_of(found)
        out |= {"kind": "table", "columns": headers, "rows": rows}
    else:
        lines = [_line(item, entry.format) for item in items]
        out |= {"kind": "lines", "lines": lines}
    if not (out.get("rows") or out.get("lines")):
        if entry.empty is None:
            return None
        out["note"] = _text(entry.empty, scope)
    return out


def _value(value: str, scope: Mapping[str, Any]) -> Any:
    """A JMESPath or a template over the scope; None when what it reads is unknown."""
    if "${{" not in value:
        return matching.search(value, scope)  # with hybridops' JMESPath functions
    whole = TEMPLATE_RE.fullmatch(value.strip())
    if whole:
        return _lookup(whole.group(1), scope)
    parts = [_lookup(m.group(1), scope) for m in TEMPLATE_RE.finditer(value)]
    if all(part is None for part in parts):
        return None
    return _text(value, scope)


def _lookup(reference: str, scope: Mapping[str, Any]) -> Any:
    try:
        return lookup(scope, parse_reference(reference))
    except TemplateError:  # a step that never started has no entry at all
        return None


def _text(value: str, scope: Mapping[str, Any]) -> str:
    """A template rendered as words (a missing value is `-`, lists comma-separated)."""
    from hybridops.plaintext import scalar

    return TEMPLATE_RE.sub(lambda m: scalar(_lookup(m.group(1), scope)), value)


def _line(item: Any, form: str) -> str:
    """One item of `lines`: a log event as `logs search` prints it, anything else as words."""
    from hybridops.plaintext import scalar

    if form == "log" and isinstance(item, dict) and "message" in item:
        from hybridops.aws.log_lines import LineFormatter
        from hybridops.aws.logs import LogEvent

        event = LogEvent(
            int(item.get("timestamp") or 0),
            str(item.get("group") or ""),
            str(item.get("stream") or ""),
            str(item["message"]),
            "",
        )
        return LineFormatter(colour=False).line(event)
    return scalar(item)
