"""Built-in actions as SSM `aws:executeScript` scripts, for `runbooks export --format ssm`.

Each module beside this one is one action's whole script, exactly as a document carries it:
Python 3.8+ (SSM's python3.8 to python3.11 runtimes), the standard library and boto3/botocore
only, no hybridops import, and a `handler(events, context)` taking the step's InputPayload —
the action's inputs after templating, plus the extra keys named in EXTRA_INPUTS — and returning
exactly the outputs the native action returns. Failures raise an exception with the native
message (named as hybridops' error class: CheckFailed, Refused, TimedOut, ...).

An action that needs what SSM cannot reach (hybridops' state store, its config file, a local
server) has no script: REFUSED says why, and the exporter refuses the runbook by name.
"""

from __future__ import annotations

import functools
from importlib import resources

# The function SSM calls (the document's `Handler`).
HANDLER = "handler"
# The scripts run on every python3.8+ runtime; this is the one to ask for.
RUNTIME = "python3.11"

# Action -> its script, a file beside this one.
PORTED: dict[str, str] = {
    "health.probe": "health_probe.py",
    "ecs.wait_deployment": "ecs_wait_deployment.py",
    "ecs.plan_scale": "ecs_plan_scale.py",
    "ecs.wait_stable": "ecs_wait_stable.py",
    "lambda.plan_provisioned": "lambda_plan_provisioned.py",
    "lambda.wait_provisioned": "lambda_wait_provisioned.py",
    "logs.recent": "logs_recent.py",
    "failover.plan": "failover_plan.py",
    "failover.verify": "failover_verify.py",
}

REFUSED: dict[str, str] = {
    "ecs.rollback_target": (
        "it picks the revision from hybridops' state store — the revisions hybridops saw"
        " healthy, and the audit trail that refuses a second rollback past the last one —"
        " which SSM cannot read; without it a script would choose another revision"
    ),
}

# What hybridops' AWS clients take from the environment: `primary`/`secondary` in an input
# `region` are its two regions, and the clients' retries and read timeout are its settings.
_CLIENTS: dict[str, str] = {
    "primary_region": "env.region",
    "secondary_region": "env.secondary_region",
    "aws_max_attempts": "env.aws_max_attempts",
    "aws_read_timeout_s": "env.aws_read_timeout_s",
}

# Action -> {InputPayload key: where the exporter gets its value (a template reference)}: what
# the native action reads besides its inputs. The keys never clash with the action's inputs.
EXTRA_INPUTS: dict[str, dict[str, str]] = {
    "health.probe": {},
    "ecs.wait_deployment": dict(_CLIENTS),
    "ecs.plan_scale": dict(_CLIENTS),
    "ecs.wait_stable": dict(_CLIENTS),
    "lambda.plan_provisioned": dict(_CLIENTS),
    "lambda.wait_provisioned": dict(_CLIENTS),
    "logs.recent": dict(_CLIENTS),
    "failover.plan": {
        **_CLIENTS,
        "cluster": "env.cluster",
        "service": "env.service",
        "backup_cluster": "env.backup_cluster",
        "backup_service": "env.backup_service",
        "health_url": "env.health_url",
        "secondary_health_url": "env.secondary_health_url",
        "target_group_arn": "env.target_group_arn",
        "secondary_target_group_arn": "env.secondary_target_group_arn",
        "hosted_zone_id": "env.hosted_zone_id",
        "record_name": "env.record_name",
        "primary_target": "env.primary_target",
        "secondary_target": "env.secondary_target",
        # The undo command names the environment: `hybridops --env NAME failover --to ...`.
        "env_name": "env.name",
    },
    "failover.verify": {
        **_CLIENTS,
        "health_url": "env.health_url",
        "secondary_health_url": "env.secondary_health_url",
        "hosted_zone_id": "env.hosted_zone_id",
        "record_name": "env.record_name",
        "primary_target": "env.primary_target",
        "secondary_target": "env.secondary_target",
        "public_url": "env.public_url",
    },
}


@functools.cache  # the files do not change while hybridops runs; parsing them is not free
def script_for(action_name: str) -> str | None:
    """The script text of a built-in action, whole; None if it has none (see REFUSED)."""
    name = PORTED.get(action_name)
    if name is None:
        return None
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return _inlined(text)


def _inlined(text: str) -> str:
    """A script with its `from ._shared import (...)` replaced by those definitions, in
    _shared.py's order, as they are written there: what SSM runs is whole."""
    import ast

    found = [
        node
        for node in ast.parse(text).body
        if isinstance(node, ast.ImportFrom) and node.module == "_shared" and node.level == 1
    ]
    if not found:
        return text
    (node,) = found
    lines = text.splitlines(keepends=True)
    shared = _shared({alias.name for alias in node.names})
    return "".join(lines[: node.lineno - 1]) + shared + "\n" + "".join(lines[node.end_lineno :])


def _shared(wanted: set[str]) -> str:
    """The named definitions of _shared.py and those they use, in its order, as written there."""
    import ast

    source = resources.files(__name__).joinpath("_shared.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    defined: dict[str, tuple[str, set[str]]] = {}  # name -> (its text, the names it reads)
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        elif isinstance(node, ast.AnnAssign) and node.value and isinstance(node.target, ast.Name):
            name = node.target.id
        else:
            continue  # imports, and the names each script defines itself (ACTION, FIELDS...)
        decorators = getattr(node, "decorator_list", None)
        start = decorators[0].lineno if decorators else node.lineno
        while start > 1 and lines[start - 2].startswith("#"):
            start -= 1  # its comment goes with it
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        defined[name] = ("\n".join(lines[start - 1 : node.end_lineno]), reads)
    missing = wanted - set(defined)
    if missing:
        raise LookupError(f"_shared.py defines no {', '.join(sorted(missing))}")
    needed, todo = set(), list(wanted)
    while todo:  # what the wanted definitions use, and what that uses
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += [n for n in defined[name][1] if n in defined]
    reads = {n for name in needed for n in defined[name][1]}
    imports = [text for text, names in _imports(source) if names & reads]
    body = "\n\n\n".join(text for name, (text, _) in defined.items() if name in needed)
    return "\n".join(imports) + "\n\n\n" + body


def _imports(source: str) -> list[tuple[str, set[str]]]:
    """Each top-level import of a module, with the names it binds."""
    import ast

    out = []
    for node in ast.parse(source).body:
        if (
            isinstance(node, (ast.Import, ast.ImportFrom))
            and getattr(node, "module", "") != "__future__"
        ):
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            out.append((str(ast.get_source_segment(source, node)), bound))
    return out
