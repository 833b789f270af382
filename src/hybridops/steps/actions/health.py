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


# -- as shell commands (run --print-cli, runbook docs) ---------------------------------------

# One check judged as `probe` judges it, for the shell equivalent.
PROBE_CHECK = r"""# probe_check NAME URL TIMEOUT: one health check as hybridops judges it, as JSON:
# pass (HTTP 200 saying healthy, ok, pass or up), warn (HTTP 200 saying degraded or warn), else
# fail.
probe_check() {
  local body answer
  body=$(mktemp)
  if answer=$(curl -sS --max-time "$3" -o "$body" -w '%{http_code} %{time_total}' "$2" 2>/dev/null)
  then
    jq -nc --arg name "$1" --arg w "$answer" --rawfile text "$body" '
      ($w | split(" ")) as [$code, $t]
      | ((try ($text | fromjson) catch null) | if type == "object"
         then (.status // "" | tostring | ascii_downcase) else "" end) as $said
      | {name: $name, detail: ("HTTP \($code)" + (if $said == "" then "" else " \($said)" end)),
         status: (if $code != "200" then "fail" elif ($said | IN("healthy", "ok", "pass", "up"))
           then "pass" elif ($said | IN("degraded", "warn")) then "warn" else "fail" end),
         latency_ms: ($t | tonumber * 10000 | round / 10)}'
  else
    jq -nc --arg name "$1" --arg url "$2" \
      '{name: $name, status: "fail", detail: "HTTP GET \($url): no answer", latency_ms: null}'
  fi
  rm -f "$body"
}"""


@shell_equivalent("health.probe")
def probe_shell(inputs: dict[str, Any], ctx: Any) -> dict[str, str]:
    """curl /health and each component; the worst check is the verdict (fail: unhealthy)."""
    from hybridops.shell.words import Ref, scalar_text, word
    from hybridops.shell.writer import helper

    helper("probe_check", PROBE_CHECK)
    w = ctx.writer
    components = inputs.get("components") or []
    # Unquoted on purpose: the component list is words.
    names = (
        f"${{{components.var}}}"
        if isinstance(components, Ref)
        else " ".join(word(scalar_text(c)) for c in components)
    )
    base, name, checks, verdict = (w.temp(n) for n in ("BASE", "NAME", "CHECKS", "VERDICT"))
    timeout = word(inputs.get("timeout_s", 5))
    w.line(f"{base}={word(inputs['base_url'])}")
    w.line(f'{base}="${{{base}%/}}"')
    w.line(f"{checks}=$({{")
    w.line(f'  probe_check health "${base}/health" {timeout}')
    with w.block(f"  for {name} in {names}; do", "  done"):
        w.line(f'  probe_check "${name}" "${base}/health/component/${name}" {timeout}')
    w.line("} | jq -sc .)")
    w.line(f'jq -r \'.[] | "  \\(.name): \\(.status) (\\(.detail))"\' <<<"${checks}" >&2')
    w.line(
        f'{verdict}=$(jq -r \'if any(.[]; .status == "fail") then "unhealthy"'
        f' elif any(.[]; .status == "warn") then "degraded" else "healthy" end\''
        f' <<<"${checks}")'
    )
    return {"status": f'"${verdict}"', "checks": f'"${checks}"'}
