"""Re-review scratch: exports run back vs native."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cli, MotoServer


def _put(name: str, region: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "service": "ssm",
        "operation": "put_parameter",
        "params": {"Name": name, "Value": "x", "Type": "String", "Overwrite": True},
    }
    if region:
        call["region"] = region
    return call


def _names(moto: MotoServer, region: str = "eu-central-1") -> list[str]:
    c = moto.client("ssm", region)
    return sorted(p["Name"] for p in c.describe_parameters()["Parameters"])


def both(
    cli: Cli,
    moto: MotoServer,
    tmp: Path,
    book: dict[str, Any],
    *params: str,
    regions: tuple[str, ...] = ("eu-central-1",),
) -> dict[str, Any]:
    native = tmp / "native.yaml"
    native.write_text(yaml.safe_dump(book, sort_keys=False))
    doc = tmp / "Exported.json"
    ex = cli("runbooks", "export", str(native), "--out", str(doc))
    out: dict[str, Any] = {"export_code": ex.code, "export_err": ex.err.strip()[-300:]}
    if ex.code != 0:
        return out
    out["doc"] = json.loads(doc.read_text())
    for label, path in (("native", native), ("exported", doc)):
        moto.reset()
        r = cli("--yes", "-o", "json", "run", str(path), *params)
        out[label] = {
            "code": r.code,
            "made": {reg: _names(moto, reg) for reg in regions},
            "puts": moto.requests.count("PutParameter"),
            "err": r.err.strip()[-300:],
        }
    return out


@pytest.fixture
def env(moto: MotoServer, write_config: Any) -> None:
    write_config(moto.url, secondary_region="us-west-2")


def show(label: str, res: dict[str, Any]) -> None:
    res = dict(res)
    res.pop("doc", None)
    print(f"\n== {label}: {json.dumps(res, indent=None)[:1500]}")


def test_item2_once(cli: Cli, moto: MotoServer, env: None, tmp_path: Path) -> None:
    for op_desc, step in [
        ("put+expect", {"name": "bump", "aws": _put("/c"), "expect": {"Version": 1}}),
        (
            "put+expect+retries",
            {"name": "bump", "aws": _put("/c"), "expect": {"Version": 1}, "retries": 2},
        ),
        (
            "put+expect-fails+retries",
            {
                "name": "bump",
                "aws": _put("/c"),
                "expect": {"Version": 7},
                "retries": 2,
                "retry_delay_s": 0,
            },
        ),
    ]:
        res = both(cli, moto, tmp_path, {"name": "b", "steps": [step]})
        kinds = [s["action"] for s in res.get("doc", {}).get("mainSteps", [])]
        show(op_desc, res)
        print("   steps:", kinds)


def test_item3_runtime_region(cli: Cli, moto: MotoServer, env: None, tmp_path: Path) -> None:
    book = {
        "name": "b",
        "parameters": {"r": {"type": "string", "default": "secondary"}},
        "steps": [
            {"name": "p", "aws": _put("/r", "${{ params.r }}")},
            {
                "name": "w",
                "wait": {
                    "aws": {
                        "service": "ssm",
                        "operation": "get_parameter",
                        "region": "${{ params.r }}",
                        "params": {"Name": "/r"},
                    },
                    "until": {"Parameter.Value": "x"},
                    "timeout_s": 5,
                    "interval_s": 0.1,
                },
            },
        ],
    }
    for p in ([], ["-p", "r=primary"], ["-p", "r=us-east-1"]):
        res = both(
            cli, moto, tmp_path, book, *p, regions=("eu-central-1", "us-west-2", "us-east-1")
        )
        show(f"region {p}", res)


def test_item10_17_typed_when(cli: Cli, moto: MotoServer, env: None, tmp_path: Path) -> None:
    cases = {
        "string-vs-number eq": (
            {"code": {"type": "string", "default": "1"}},
            "params.code == `1`",
            [],
        ),
        "string-vs-number ne": (
            {"code": {"type": "string", "default": "1"}},
            "params.code != `1`",
            [],
        ),
        "number-param gt": ({"rate": {"type": "number", "default": 1.5}}, "params.rate > `1`", []),
        "optional-int gt": ({"n": {"type": "integer"}}, "params.n > `3`", ["-p", "n=5"]),
        "optional-int eq": ({"n": {"type": "integer"}}, "params.n == `5`", ["-p", "n=5"]),
        "optional-str null": ({"s": {"type": "string"}}, "params.s == null", []),
        "optional-bool": ({"f": {"type": "boolean"}}, "params.f", ["-p", "f=false"]),
        "required-int gt": (
            {"n": {"type": "integer", "required": True}},
            "params.n > `3`",
            ["-p", "n=5"],
        ),
        "template-when-bool": ({"b": {"type": "boolean", "default": False}}, "${{ params.b }}", []),
        "template-when-str-no": ({"s": {"type": "string", "default": "no"}}, "${{ params.s }}", []),
    }
    for label, (params, when, args) in cases.items():
        book = {
            "name": "b",
            "parameters": params,
            "steps": [{"name": "p", "when": when, "aws": _put("/w")}],
        }
        res = both(cli, moto, tmp_path, book, *args)
        show(label, res)


def test_item11_null_until(cli: Cli, moto: MotoServer, env: None, tmp_path: Path) -> None:
    book = {
        "name": "b",
        "steps": [
            {"name": "seed", "aws": _put("/n")},
            {
                "name": "w",
                "wait": {
                    "aws": {
                        "service": "ssm",
                        "operation": "get_parameter",
                        "params": {"Name": "/n"},
                    },
                    "until": {"Parameter.Selector": None},
                    "timeout_s": 3,
                    "interval_s": 0.1,
                },
            },
            {
                "name": "e",
                "aws": {"service": "ssm", "operation": "get_parameter", "params": {"Name": "/n"}},
                "expect": {"Parameter.Selector": [None, "q"]},
            },
            {"name": "done", "aws": _put("/done")},
        ],
    }
    res = both(cli, moto, tmp_path, book)
    kinds = [(s["name"], s["action"]) for s in res.get("doc", {}).get("mainSteps", [])]
    show("null", res)
    print("   ", kinds)


def test_item13_timeouts(cli: Cli, moto: MotoServer, env: None, tmp_path: Path) -> None:
    wait = lambda t: {
        "aws": {"service": "ssm", "operation": "get_parameter", "params": {"Name": "/t"}},
        "until": {"Parameter.Value": "x", "Parameter.Version": 1},
        "timeout_s": t,
        "interval_s": 0.1,
    }
    cases = {
        "param 900": (
            {"t": {"type": "integer", "default": 900}},
            [{"name": "seed", "aws": _put("/t")}, {"name": "w", "wait": wait("${{ params.t }}")}],
        ),
        "literal 900": (
            {},
            [{"name": "seed", "aws": _put("/t")}, {"name": "w", "wait": wait(900)}],
        ),
        "literal 900 simple wait": (
            {},
            [
                {"name": "seed", "aws": _put("/t")},
                {"name": "w", "wait": {**wait(900), "until": {"Parameter.Value": "x"}}},
            ],
        ),
        "step-output 900": (
            {},
            [
                {"name": "seed", "aws": _put("/t")},
                {
                    "name": "read",
                    "aws": {
                        "service": "ssm",
                        "operation": "get_parameter",
                        "params": {"Name": "/t"},
                    },
                    "outputs": {"t": "`900`"},
                },
                {"name": "w", "wait": wait("${{ steps.read.outputs.t }}")},
            ],
        ),
        "step timeout 1200 on script": (
            {},
            [
                {"name": "seed", "aws": _put("/t")},
                {"name": "w", "timeout_s": 1200, "wait": wait(500)},
            ],
        ),
    }
    for label, (params, steps) in cases.items():
        book = (
            {"name": "b", "parameters": params, "steps": steps}
            if params
            else {"name": "b", "steps": steps}
        )
        res = both(cli, moto, tmp_path, book)
        doc = res.get("doc") or {}
        tos = [
            (
                s["name"],
                s.get("timeoutSeconds"),
                (s.get("inputs") or {}).get("InputPayload", {}).get("timeout_s"),
            )
            for s in doc.get("mainSteps", [])
        ]
        show(label, res)
        print("   ", tos)


def test_item12_22_names(cli: Cli, moto: MotoServer, env: None, tmp_path: Path) -> None:
    for label, steps in {
        "native Done": [
            {"name": "a", "aws": _put("/a"), "compensate": {"aws": _put("/undo")}},
            {"name": "done", "sleep": 0},
        ],
        "native p-check1": [
            {
                "name": "p",
                "aws": {"service": "ssm", "operation": "get_parameter", "params": {"Name": "/x"}},
                "expect": {"Parameter.Value": "x"},
            },
            {"name": "p-check1", "sleep": 0},
        ],
    }.items():
        res = both(cli, moto, tmp_path, {"name": "b", "steps": steps})
        show(label, res)
