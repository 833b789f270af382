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
OPTIONS = jmespath.Options(custom_functions=_Functions())
LIMIT_S = 600  # SSM stops an aws:executeScript step after this long


def _search(path, data):
    return jmespath.search(path, data, options=OPTIONS)


def _plain(value):
    """JSON-safe (datetimes as ISO text), as the step's outputs are."""

    def other(item):
        return item.isoformat() if hasattr(item, "isoformat") else str(item)

    return json.loads(json.dumps(value, default=other))


def _call(call):
    region = call.get("region") or None
    region = (call.get("regions") or {}).get(region) or region
    client = boto3.client(call["service"], region_name=region)
    return _plain(getattr(client, call["operation"])(**(call.get("params") or {})))


def _request(call):
    """One HTTP request, as hybridops' http step gives it: {status, headers, json, text, ...}."""
    import urllib.error
    import urllib.request

    headers = dict(call.get("headers") or {})
    data = None
    if call.get("json") is not None:
        data = json.dumps(call["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif call.get("body") is not None:
        data = str(call["body"]).encode()
    method = call.get("method") or "GET"
    request = urllib.request.Request(call["url"], data=data, method=method, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=float(call.get("timeout_s") or 10)) as got:
            status, raw, answer_headers = got.status, got.read(1 << 20), got.headers
    except urllib.error.HTTPError as answer:
        status, raw, answer_headers = answer.code, answer.read(1 << 20), answer.headers
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionError(f"HTTP {method} {call['url']}: {exc}") from None
    text = raw.decode("utf-8", "replace")[:65536]
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return {
        "status": status,
        "headers": {k.lower(): v for k, v in answer_headers.items()},
        "json": parsed,
        "text": text,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _do(events):
    return _request(events["http"]) if "http" in events else _call(events["call"])


def _typed(scope, types):
    """Parameters SSM passed as text, as hybridops types them (empty: not given)."""
    params = dict(scope.get("params") or {})
    for name, kind in (types or {}).items():
        value = params.get(name)
        if name not in params or not isinstance(value, str):
            continue
        if value == "":
            params[name] = None
        elif kind == "integer":
            params[name] = int(value)
        elif kind == "number":
            params[name] = float(value)
        elif kind == "boolean":
            params[name] = value.strip().lower() == "true"
    return {**scope, "params": params}


def _mismatches(data, expectations):
    out = []
    for path, expected in (expectations or {}).items():
        actual = _search(path, data)
        if not matches(actual, expected):
            out.append(f"{path}: expected {expected!r}, got {actual!r}")
    return out


def hybridops_step(events, context):
    """One exported hybridops step: call, poll, check or decide; returns its outputs."""
    kind, name = events["kind"], events["step"]
    if kind == "when":
        if "value" in events:
            return {"holds": truthy(events["value"])}
        scope = _typed(events["scope"], events.get("types"))
        return {"holds": truthy(_search(events["condition"], scope))}
    if kind in ("aws", "http"):
        result = _do(events)
    elif kind == "wait":
        if float(events["timeout_s"]) > LIMIT_S:
            raise ValueError(
                f"step {name}: a wait of {float(events['timeout_s']):g}s is over SSM's"
                f" {LIMIT_S}s limit for a script; nothing was waited for"
            )
        deadline = time.monotonic() + float(events["timeout_s"])
        while True:
            result = _do(events)
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
        left = _mismatches(_typed(events["scope"], events.get("types")), events["that"])
        if left:
            raise AssertionError(events.get("message") or f"step {name}: " + "; ".join(left))
        return {}
    else:  # a built-in action: its portable handler, above in this script
        # An optional parameter not given is empty text in SSM: not given to the action.
        timeout = (events.get("inputs") or {}).get("timeout_s")
        if timeout not in (None, "") and float(timeout) > LIMIT_S:
            raise ValueError(
                f"step {name}: a wait of {float(timeout):g}s is over SSM's {LIMIT_S}s limit for"
                " a script; nothing was waited for"
            )
        unset = events.get("unset_if_empty") or []
        inputs = {k: v for k, v in events["inputs"].items() if not (k in unset and v == "")}
        result = _plain(handler(inputs, context))
    left = _mismatches(result, events.get("expect"))
    if left:
        raise AssertionError(f"step {name}: " + "; ".join(left))
    paths = events.get("outputs") or {}
    return {out: _search(path, result) for out, path in paths.items()}
'''


def script_text(action_source: str | None = None) -> str:
    """The whole script: imports, hybridops' matchers, an action's portable code, the driver."""
    from hybridops.engine import matching

    helpers = "\n\n".join(
        inspect.getsource(f)
        for f in (
            matching._number,
            matching._equal,
            matching.matches,
            matching.truthy,
            matching._Functions,  # `descendants`, as hybridops' JMESPath has it
        )
    )
    parts = [
        "# Exported by hybridops: this step's semantics, as `hybridops run` gives them.\n"
        "from __future__ import annotations",
        "import json\nimport re\nimport time\n\nimport boto3\nimport jmespath\n"
        "import jmespath.functions",
        textwrap.dedent(helpers).replace("Any", "object"),
    ]
    if action_source:
        # Its own future import would be a syntax error anywhere but the top: one is there.
        lines = action_source.splitlines()
        parts.append("\n".join(x for x in lines if x != "from __future__ import annotations"))
    parts.append(_DRIVER.strip())
    return "\n\n\n".join(parts) + "\n"
