"""The Bedrock dependency: model available, the client role allowed to invoke it, the client up.

The runbook report's "Bedrock Client Connection Failed" checks, as health checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridops.health.probe import Check, probe
from hybridops.health.verdict import Target, Verdict, verdict_of


def model_check(bedrock: Any, model_id: str) -> Check:
    """The configured model is listed in the region and ACTIVE."""
    summaries = bedrock.list_foundation_models().get("modelSummaries", [])
    model = next((m for m in summaries if m.get("modelId") == model_id), None)
    if model is None:
        return Check("bedrock model", "bedrock", "fail", f"{model_id} is not offered here")
    lifecycle = (model.get("modelLifecycle") or {}).get("status", "ACTIVE")
    if lifecycle != "ACTIVE":
        return Check("bedrock model", "bedrock", "warn", f"{model_id} is {lifecycle}")
    return Check("bedrock model", "bedrock", "pass", f"{model_id} ACTIVE")


def permission_check(iam: Any, role_arn: str | None, model_id: str, region: str) -> Check:
    """BedrockClientRole may call bedrock:InvokeModel (or which statement denies it)."""
    if not role_arn:
        return Check("bedrock permission", "iam", "warn", "no bedrock.role_arn configured")
    resource = f"arn:aws:bedrock:{region}::foundation-model/{model_id}"
    results = iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=["bedrock:InvokeModel"], ResourceArns=[resource]
    )["EvaluationResults"]
    decision = results[0]["EvalDecision"] if results else "implicitDeny"
    statements = [
        s.get("SourcePolicyId", "?")
        for s in (results[0] if results else {}).get("MatchedStatements", [])
    ]
    role = role_arn.rsplit("/", 1)[-1]
    if decision == "allowed":
        return Check(
            "bedrock permission",
            "iam",
            "pass",
            f"{role} may bedrock:InvokeModel ({', '.join(statements) or 'allowed'})",
        )
    why = (
        f"denied by {', '.join(statements)}"
        if decision == "explicitDeny" and statements
        else "no statement allows it"
    )
    return Check(
        "bedrock permission", "iam", "fail", f"{role} bedrock:InvokeModel {decision}: {why}"
    )


def checks(
    client: Callable[[str], Any],
    *,
    model_id: str,
    role_arn: str | None,
    region: str,
    health_url: str | None,
    component: str,
    timeout_s: float = 5.0,
    profile: str | None = None,
) -> list[Check]:
    """Model, permission and the client component's health endpoint, each a Check."""
    from hybridops.errors import translate
    from hybridops.health.access import raise_access_error

    out: list[Check] = []
    for name, kind, run in (
        ("bedrock model", "bedrock", lambda: model_check(client("bedrock"), model_id)),
        (
            "bedrock permission",
            "iam",
            lambda: permission_check(client("iam"), role_arn, model_id, region),
        ),
    ):
        try:
            out.append(run())
        except Exception as exc:  # one failing API must not hide the others...
            # ...but credentials, a profile or the endpoint are not a Bedrock outage.
            raise_access_error(exc, profile)
            out.append(Check(name, kind, "fail", translate(exc).message))
    if health_url:
        url = f"{health_url.rstrip('/')}/health/component/{component}"
        out.extend(probe([(f"component {component}", url)], timeout_s=timeout_s))
    return out


def with_bedrock(
    verdict: Verdict | None,
    client: Callable[[str], Any],
    settings: Any,
    target: Target,
    *,
    timeout_s: float = 5.0,
) -> Verdict:
    """The Bedrock checks alone (verdict None) or added to a verdict, judged again."""
    found = checks(
        client,
        model_id=settings.bedrock.model_id,
        role_arn=settings.bedrock.role_arn,
        region=target.region,
        health_url=target.health_url,
        component=settings.bedrock.component,
        timeout_s=timeout_s,
        profile=target.profile,
    )
    every = (verdict.checks if verdict else []) + [
        c
        for c in found
        if not (verdict and c.kind == "http")  # the component is probed already
    ]
    return Verdict(verdict_of(every), every, target.region)
