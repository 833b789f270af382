"""Health probing actions: every component URL of the environment, one verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from hybridops.errors import RemoteError
from hybridops.steps.kinds import call_http
from hybridops.steps.registry import action, shell_equivalent

if TYPE_CHECKING:
    from hybridops.steps.base import StepContext


class ProbeInputs(BaseModel):
    """Inputs of `health.probe`."""

    base_url: str
    components: list[str] = Field(default_factory=list)
    timeout_s: float = Field(5.0, gt=0, le=120)


# After a planned (dry-run) change the endpoint shows the estate before it: probing then would
# judge the wrong thing, so a dry run plans this step instead of running it.
@action("health.probe", inputs=ProbeInputs, waits=True)
def probe(inputs: ProbeInputs, ctx: StepContext) -> dict[str, Any]:
    """Probe /health and each /health/component/NAME; return status and per-check detail."""
    base = inputs.base_url.rstrip("/")
    targets = [("health", f"{base}/health")] + [
        (name, f"{base}/health/component/{name}") for name in inputs.components
    ]
    checks = []
    for name, url in targets:
        try:
            result = call_http({"method": "GET", "url": url, "timeout_s": inputs.timeout_s}, ctx)
        except RemoteError as exc:
            checks.append({"name": name, "status": "fail", "detail": str(exc), "latency_ms": None})
            continue
        body = result["json"] if isinstance(result["json"], dict) else {}
        reported = str(body.get("status", "")).lower()
        if result["status"] == 200 and reported in ("healthy", "ok", "pass", "up"):
            status = "pass"
        elif result["status"] == 200 and reported in ("degraded", "warn"):
            status = "warn"
        else:
            status = "fail"
        detail = f"HTTP {result['status']}" + (f" {reported}" if reported else "")
        checks.append(
            {"name": name, "status": status, "detail": detail, "latency_ms": result["elapsed_ms"]}
        )
    statuses = {c["status"] for c in checks}
    verdict = "unhealthy" if "fail" in statuses else "degraded" if "warn" in statuses else "healthy"
    return {"status": verdict, "checks": checks}


@shell_equivalent("health.probe")
def probe_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """curl /health and each component; the worst answer is the verdict."""
    from hybridops.shell.words import Ref, scalar_text, word

    w = ctx.writer
    components = inputs.get("components") or []
    # Unquoted on purpose: the component list is words.
    names = (
        f"${{{components.var}}}"
        if isinstance(components, Ref)
        else " ".join(word(scalar_text(c)) for c in components)
    )
    verdict, path, status = w.temp("VERDICT"), w.temp("PATH"), w.temp("STATUS")
    timeout = scalar_text(inputs.get("timeout_s", 5))
    w.line(f"{verdict}=healthy")
    paths = f"health $(printf 'health/component/%s ' {names})"
    with w.block(f"for {path} in {paths}; do", "done"):
        url = word(inputs["base_url"]) + f'/"${path}"'
        w.line(
            f"{status}=$(curl -fsS --max-time {timeout} {url}"
            f" | jq -r '.status // \"unknown\"' 2>/dev/null || echo failed)"
        )
        w.line(f'echo "  ${path}: ${status}" >&2')
        w.line(
            f'case "${status}" in healthy | ok | pass | up) ;;'
            f' degraded | warn) [ "${verdict}" = unhealthy ] || {verdict}=degraded ;;'
            f" *) {verdict}=unhealthy ;; esac"
        )
    return {"status": f'"${verdict}"'}
