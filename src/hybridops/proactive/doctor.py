"""`hybridops doctor`: is this machine ready for an incident? Each check says how to fix it."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridops.runtime import Runtime

MAX_SKEW_S = 60.0  # SigV4 rejects requests 5 minutes off; warn well before


@dataclass
class Finding:
    """One check: pass, warn or fail, what was seen, and the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON shape."""
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def role_arn_of(caller_arn: str) -> str:
    """The IAM principal to simulate for a caller (an assumed role's role ARN)."""
    parts = caller_arn.split(":")
    if len(parts) >= 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:aws:iam::{parts[4]}:role/{role}"
    return caller_arn


def runbook_actions(runtime: Runtime) -> list[str]:
    """IAM actions (service:Operation) of every aws step of the built-in runbooks."""
    from hybridops.engine.loader import builtin_runbooks, load_file
    from hybridops.gate.classify import to_api_name

    actions: set[str] = set()
    for path in builtin_runbooks().values():
        runbook = load_file(path)
        for step in runbook.steps:
            calls = [step.aws] if step.aws else []
            if step.wait and step.wait.aws:
                calls.append(step.wait.aws)
            if step.compensate and step.compensate.aws:
                calls.append(step.compensate.aws)
            for call in calls:
                prefix = {"elbv2": "elasticloadbalancing", "lambda": "lambda"}.get(
                    call.service, call.service
                )
                actions.add(f"{prefix}:{to_api_name(call.operation)}")
    return sorted(actions)


def run_checks(runtime: Runtime) -> list[Finding]:
    """Credentials, region, permissions, endpoints, state store, clock."""
    from hybridops.errors import translate

    settings = runtime.env.settings
    # Before anything opens the store: opening it tightens the modes this check reports.
    permissions = _state_permissions(runtime)
    state = _state(runtime)
    if "store" not in runtime.__dict__:
        _storeless_gate(runtime)
    findings: list[Finding] = []
    caller = None
    profile_fix = (
        f"aws sso login --profile {settings.profile}"
        if settings.profile
        else "configure credentials (aws configure, aws sso login, or AWS_PROFILE)"
    )
    try:
        sts = runtime.clients.client("sts")
        response = sts.get_caller_identity()
        caller = response["Arn"]
        findings.append(Finding("credentials", "pass", caller))
        date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if date:
            remote = email.utils.parsedate_to_datetime(date)
            skew = abs((dt.datetime.now(dt.timezone.utc) - remote).total_seconds())
            findings.append(
                Finding(
                    "clock",
                    "pass" if skew <= MAX_SKEW_S else "fail",
                    f"{skew:.0f}s from AWS",
                    ""
                    if skew <= MAX_SKEW_S
                    else "sync the clock (chrony/ntpd): SigV4 fails at 5 min",
                )
            )
    except Exception as exc:
        findings.append(Finding("credentials", "fail", translate(exc).message, profile_fix))
    findings.append(_region(settings.region, "region"))
    findings.append(_region(settings.secondary_region, "secondary region"))
    if caller:
        findings.append(_permissions(runtime, caller))
    for name, url in (
        ("health endpoint", settings.health_url),
        ("backup health endpoint", settings.secondary_health_url),
        ("public name", settings.public_url),
    ):
        if url:
            findings.append(_reachable(runtime, name, url))
    findings.append(state)
    findings.append(_recheck(runtime, permissions))
    if "store" in runtime.__dict__:
        findings.append(_maintenance(runtime))
    else:
        findings.append(Finding("maintenance window", "warn", "unknown: the state store failed"))
    return findings


def _region(region: str, name: str) -> Finding:
    import botocore.session

    known = botocore.session.get_session().get_available_regions("ecs")
    if region in known:
        return Finding(name, "pass", region)
    return Finding(name, "fail", f"{region!r} is not an AWS region", "fix `region:` in the config")


def _permissions(runtime: Runtime, caller: str) -> Finding:
    from hybridops.errors import translate

    principal = role_arn_of(caller)
    actions = runbook_actions(runtime)
    try:
        iam = runtime.clients.client("iam")
        results = []
        for start in range(0, len(actions), 50):
            results += iam.simulate_principal_policy(
                PolicySourceArn=principal, ActionNames=actions[start : start + 50]
            )["EvaluationResults"]
    except Exception as exc:
        return Finding(
            "permissions",
            "warn",
            f"could not simulate {principal}: {translate(exc).message}",
            "grant iam:SimulatePrincipalPolicy to check, or review the runbooks' actions",
        )
    denied = sorted(r["EvalActionName"] for r in results if r["EvalDecision"] != "allowed")
    if denied:
        return Finding(
            "permissions",
            "fail",
            f"{len(denied)} of {len(actions)} denied: {', '.join(denied)}",
            f"allow these actions for {principal}",
        )
    return Finding("permissions", "pass", f"all {len(actions)} runbook actions allowed")


def _reachable(runtime: Runtime, name: str, url: str) -> Finding:
    from hybridops.health.probe import probe

    check = probe([(name, f"{url.rstrip('/')}/health")], timeout_s=5.0, retries=0)[0]
    if check.latency_ms is None:
        return Finding(name, "fail", f"{url}: {check.detail}", "check the URL and the network path")
    return Finding(name, "pass", f"{url}: {check.detail}")


def _storeless_gate(runtime: Runtime) -> None:
    """Let the AWS checks run when the store cannot be opened: they only read, never audit."""
    from hybridops.gate.core import Gate

    runtime.__dict__["gate"] = Gate(
        runtime.mode,
        store=None,
        redactor=runtime.redactor,
        env_name=runtime.env.name,
        confirmer=runtime.confirmer,
    )


def _state(runtime: Runtime) -> Finding:
    from hybridops.errors import StateStoreCorrupt, translate
    from hybridops.state.errors import CORRUPT_FIX_MARK

    try:
        store = runtime.store
        check = getattr(store, "integrity_check", None)
        if check is not None:
            # The whole file, every page: a damaged page no query has touched yet shows here.
            problems = check()
            if problems:
                path = getattr(store, "path", "")
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                return Finding(
                    "state store",
                    "fail",
                    f"{path} is damaged: {problems[0]}{more}",
                    f"move it aside (`mv {path} {path}.broken`) and rerun: a new one is"
                    f" started; `sqlite3 {path}.broken .recover` salvages what it can",
                )
        holder = "hybridops doctor"
        store.acquire_lock("doctor-probe", holder, 30)
        store.release_lock("doctor-probe", holder)
        return Finding("state store", "pass", type(store).__name__ + " readable and writable")
    except StateStoreCorrupt as exc:
        detail, _, fix = exc.message.partition(CORRUPT_FIX_MARK)
        return Finding("state store", "fail", detail, CORRUPT_FIX_MARK.lstrip(": ") + fix)
    except Exception as exc:
        error = translate(exc)
        return Finding(
            "state store",
            "fail",
            error.message,
            error.hint
            or "check state: in the config (path permissions, or the DynamoDB table and IAM)",
        )


def _state_permissions(runtime: Runtime) -> list[tuple[Path, int, int]]:
    """State dirs and files others can read or write (the audit trail, journals)."""
    from hybridops.config import state_path
    from hybridops.paths import loose_modes

    return loose_modes(state_path(runtime.loaded_config))


def _recheck(runtime: Runtime, loose: list[tuple[Path, int, int]]) -> Finding:
    """The permissions finding: loose modes seen before the store was opened, and the fix."""
    from hybridops.paths import user_data_dir

    name = "state permissions"
    if not loose:
        return Finding(name, "pass", "state dir 0700, its files 0600")
    shown = ", ".join(f"{p} {mode:04o}" for p, mode, _ in loose[:5])
    if len(loose) > 5:
        shown += f" (and {len(loose) - 5} more)"
    detail = f"readable or writable by others: {shown}"
    still = [p for p, _, wanted in loose if p.exists() and p.stat().st_mode & 0o777 & ~wanted]
    if not still:
        return Finding(
            name, "fail", detail + "; tightened to owner-only by this run", "rerun doctor"
        )
    # `go=` strips group and other bits from every dir and file below, whatever is in there.
    roots: list[Path] = []
    data = user_data_dir()
    for path in still:
        root = data if path == data or data in path.parents else path
        if root not in roots:
            roots.append(root)
    return Finding(name, "fail", detail, "chmod -R go= " + " ".join(str(r) for r in roots))


def _maintenance(runtime: Runtime) -> Finding:
    """A window left open keeps the service's alarm actions muted: nobody gets paged."""
    from hybridops.errors import translate
    from hybridops.proactive.maintenance import open_window

    try:
        window = open_window(runtime)
    except Exception as exc:
        return Finding("maintenance window", "warn", f"unreadable: {translate(exc).message}")
    if window is None:
        return Finding("maintenance window", "pass", "none open")
    muted = sum(len(v) for v in window["muted"].values())
    detail = (
        f"{window['id']} open since {window['started_at']} by {window['opened_by']},"
        f" {muted} alarm action(s) muted"
    )
    if window["overdue"]:
        return Finding(
            "maintenance window",
            "fail",
            detail + f"; it should have ended at {window['ends_at']}",
            "hybridops maintenance end (--force from another machine): restores the alarm actions",
        )
    return Finding("maintenance window", "warn", detail, "hybridops maintenance end when done")


def verdict(findings: list[Any]) -> str:
    """pass unless something failed."""
    return "fail" if any(f.status == "fail" for f in findings) else "pass"
