"""Re-review scratch: choices, patterns, sleeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cli, MotoServer


@pytest.fixture
def ssm(moto: MotoServer, write_config: Any) -> Any:
    write_config(moto.url)
    return moto.client("ssm")


def _made(ssm: Any) -> list[str]:
    return sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"])


def _clear(ssm: Any) -> None:
    for n in _made(ssm):
        ssm.delete_parameter(Name=n)


def put(name: str, end: bool = True) -> str:
    return (
        f"    action: aws:executeAwsApi\n    inputs: {{Service: ssm, Api: PutParameter, Name: /{name}, Value: x, Type: String}}\n"
        + ("    isEnd: true\n" if end else "")
    )


def test_choices(cli: Cli, ssm: Any, tmp_path: Path) -> None:
    cases = [
        (
            "backtick",
            "  T: {type: String, default: 'a`b'}\n",
            "{Variable: '{{ T }}', StringEquals: 'a`b'}",
            [],
        ),
        (
            "backtick-given",
            "  T: {type: String, default: 'zz'}\n",
            "{Variable: '{{ T }}', StringEquals: 'a`b'}",
            ["-p", "T=a`b"],
        ),
        (
            "numeq-ref",
            "  N: {type: Integer, default: 5}\n  M: {type: Integer, default: 5}\n",
            "{Variable: '{{ N }}', NumericEquals: '{{ M }}'}",
            [],
        ),
        (
            "numgt-ref-str",
            "  N: {type: Integer, default: 10}\n  M: {type: String, default: '9'}\n",
            "{Variable: '{{ N }}', NumericGreater: '{{ M }}'}",
            [],
        ),
        (
            "startswith-text",
            "  Q: {type: String, default: pre-x-tail}\n  R: {type: String, default: x}\n",
            "{Variable: '{{ Q }}', StartsWith: 'pre-{{ R }}'}",
            [],
        ),
        (
            "two-refs",
            "  Q: {type: String, default: a-b}\n  R: {type: String, default: a}\n  S: {type: String, default: b}\n",
            "{Variable: '{{ Q }}', StringEquals: '{{ R }}-{{ S }}'}",
            [],
        ),
        (
            "ignorecase",
            "  Q: {type: String, default: HeLLo}\n",
            "{Variable: '{{ Q }}', EqualsIgnoreCase: hello}",
            [],
        ),
        (
            "bool-ref",
            "  B: {type: Boolean, default: true}\n  C: {type: Boolean, default: true}\n",
            "{Variable: '{{ B }}', BooleanEquals: '{{ C }}'}",
            [],
        ),
        (
            "bool-text-True",
            "  B: {type: Boolean, default: true}\n",
            "{Variable: '{{ B }}', BooleanEquals: 'True'}",
            [],
        ),
        (
            "contains-list",
            "  L: {type: StringList, default: [a, b]}\n",
            "{Variable: '{{ L }}', Contains: b}",
            [],
        ),
        (
            "int-stringequals",
            "  N: {type: Integer, default: 5}\n",
            "{Variable: '{{ N }}', StringEquals: '5'}",
            [],
        ),
        (
            "region-ref",
            "  R: {type: String, default: eu-central-1}\n",
            "{Variable: '{{ global:REGION }}', StringEquals: '{{ R }}'}",
            [],
        ),
    ]
    for label, params, choice, args in cases:
        _clear(ssm)
        doc = tmp_path / "C.yaml"
        doc.write_text(
            "schemaVersion: '0.3'\nparameters:\n"
            + params
            + "mainSteps:\n  - name: Pick\n    action: aws:branch\n"
            f"    inputs:\n      Choices: [{{NextStep: Ye, {choice[1:]}]\n      Default: Na\n"
            "  - name: Ye\n" + put("yes") + "  - name: Na\n" + put("no")
        )
        r = cli("--yes", "run", str(doc), *args)
        print(
            f"\nCHOICE {label}: code={r.code} made={_made(ssm)} {'' if r.code == 0 else r.err.strip()[-200:]!r}"
        )


def test_pattern_default(cli: Cli, ssm: Any, tmp_path: Path) -> None:
    doc = tmp_path / "P.yaml"
    doc.write_text(
        "schemaVersion: '0.3'\nparameters:\n  X: {type: String, allowedPattern: '^[a-z]+$', default: ABC}\n  Y: {type: String, allowedPattern: '^[\\w-]+$', default: ok}\n"
        "mainSteps:\n  - name: Put\n    action: aws:executeAwsApi\n    inputs: {Service: ssm, Api: PutParameter, Name: /p, Value: '{{ X }}{{ Y }}', Type: String, Overwrite: true}\n"
    )
    for args in (
        [],
        ["-p", "X=abc"],
        ["-p", "X=abc1"],
        ["-p", "X=ABC"],
        ["-p", "Y=é"],
        ["-p", "Y=a;b"],
    ):
        r = cli("--yes", "run", str(doc), *args)
        print(f"\nPATTERN {args}: code={r.code} {'' if r.code == 0 else r.err.strip()[-150:]!r}")


def test_long_sleep(cli: Cli, ssm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    slept: list[float] = []
    real = threading.Event.wait

    def fake(self: Any, timeout: float | None = None) -> bool:
        if timeout and timeout > 100:
            slept.append(timeout)
            return False
        return real(self, timeout)

    monkeypatch.setattr(threading.Event, "wait", fake)
    for dur, extra in (
        ("PT2H", ""),
        ("P2D", ""),
        ("P8D", ""),
        ("PT2H", "    timeoutSeconds: 60\n"),
    ):
        slept.clear()
        doc = tmp_path / "S.yaml"
        doc.write_text(
            f"schemaVersion: '0.3'\nmainSteps:\n  - name: Nap\n    action: aws:sleep\n{extra}    inputs: {{Duration: {dur}}}\n  - name: After\n"
            + put("after")
        )
        _clear(ssm)
        r = cli("--yes", "run", str(doc))
        print(
            f"\nSLEEP {dur} {extra.strip()}: code={r.code} slept={slept} made={_made(ssm)} {r.err.strip()[-160:]!r}"
        )
