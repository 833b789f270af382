"""The script an exported step carries into SSM (aws:executeScript): hybridops' step semantics.

What SSM's own actions cannot say — a JMESPath output, several `until` conditions, an `assert`
over earlier outputs, a `when` that is more than one comparison, a built-in action — runs as
this script in SSM's Python runtime (boto3 and jmespath are there). `script_text()` assembles
it from hybridops' own matcher functions (one definition: `engine.matching`) and the driver
below, so an exported check holds exactly when the native one would.
"""

from __future__ import annotations

import inspect
import textwrap

HANDLER = "hybridops_step"

_DRIVER = '''
def _plain(value):
    """JSON-safe (datetimes as ISO text), as the step's outputs are."""

    def other(item):
        return item.isoformat() if hasattr(item, "isoformat") else str(item)

    return json.loads(json.dumps(value, default=other))


def _call(call):
    client = boto3.client(call["service"], region_name=call.get("region") or None)
    return _plain(getattr(client, call["operation"])(**(call.get("params") or {})))


def _mismatches(data, expectations):
    out = []
    for path, expected in (expectations or {}).items():
        actual = jmespath.search(path, data)
        if not matches(actual, expected):
            out.append(f"{path}: expected {expected!r}, got {actual!r}")
    return out


def hybridops_step(events, context):
    """One exported hybridops step: call, poll, check or decide; returns its outputs."""
    kind, name = events["kind"], events["step"]
    if kind == "when":
        return {"holds": truthy(jmespath.search(events["condition"], events["scope"]))}
    if kind == "aws":
        result = _call(events["call"])
    elif kind == "wait":
        deadline = time.monotonic() + float(events["timeout_s"])
        while True:
            result = _call(events["call"])
            left = _mismatches(result, events["until"])
            if not left:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"step {name}: timed out after {float(events['timeout_s']):g}s: "
                    + "; ".join(left)
                )
            time.sleep(float(events["interval_s"]))
    elif kind == "assert":
        left = _mismatches(events["scope"], events["that"])
        if left:
            raise AssertionError(events.get("message") or f"step {name}: " + "; ".join(left))
        return {}
    else:  # a built-in action: its portable handler, above in this script
        # An optional parameter not given is empty text in SSM: not given to the action.
        unset = events.get("unset_if_empty") or []
        inputs = {k: v for k, v in events["inputs"].items() if not (k in unset and v == "")}
        result = _plain(handler(inputs, context))
    left = _mismatches(result, events.get("expect"))
    if left:
        raise AssertionError(f"step {name}: " + "; ".join(left))
    paths = events.get("outputs") or {}
    return {out: jmespath.search(path, result) for out, path in paths.items()}
'''


def script_text(action_source: str | None = None) -> str:
    """The whole script: imports, hybridops' matchers, an action's portable code, the driver."""
    from hybridops.engine import matching

    helpers = "\n\n".join(
        inspect.getsource(f)
        for f in (matching._number, matching._equal, matching.matches, matching.truthy)
    )
    parts = [
        "# Exported by hybridops: this step's semantics, as `hybridops run` gives them.\n"
        "from __future__ import annotations",
        "import json\nimport re\nimport time\n\nimport boto3\nimport jmespath",
        textwrap.dedent(helpers).replace("Any", "object"),
    ]
    if action_source:
        # Its own future import would be a syntax error anywhere but the top: one is there.
        lines = action_source.splitlines()
        parts.append("\n".join(x for x in lines if x != "from __future__ import annotations"))
    parts.append(_DRIVER.strip())
    return "\n\n\n".join(parts) + "\n"
