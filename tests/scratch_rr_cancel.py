"""Re-review scratch: on_cancel native and imported."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import MotoServer
from tests.test_signals import _signal_when, _start


def _put(name: str) -> dict[str, Any]:
    return {
        "service": "ssm",
        "operation": "put_parameter",
        "params": {"Name": name, "Value": "x", "Type": "String", "Overwrite": True},
    }


@pytest.fixture
def env(moto: MotoServer, write_config: Any) -> Any:
    write_config(moto.url)
    return moto.client("ssm")


def _made(ssm: Any) -> list[str]:
    return sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"])


def _go(path: Path, needle: str) -> tuple[int, dict[str, Any], str]:
    proc = _start("--yes", "-o", "json", "run", str(path))
    _signal_when(proc, needle, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    try:
        doc = json.loads(out)
    except ValueError:
        doc = {"raw": out}
    return proc.returncode, doc, err


def test_native_list(env: Any, tmp_path: Path) -> None:
    book = tmp_path / "c.yaml"
    book.write_text(
        yaml.safe_dump(
            {
                "name": "c",
                "steps": [
                    {"name": "slow", "sleep": 600, "on_cancel": ["c1", "c3"]},
                    {"name": "mid", "aws": _put("/mid")},
                    {"name": "c1", "aws": _put("/c1")},
                    {"name": "c2", "aws": _put("/c2")},
                    {
                        "name": "c3",
                        "aws": _put("/c3"),
                        "when": "steps.slow.status == 'interrupted'",
                    },
                    {"name": "tail", "aws": _put("/tail")},
                ],
            }
        )
    )
    code, doc, err = _go(book, " slow: ")
    print("\nNATIVE", code, _made(env), {s["name"]: s["status"] for s in doc.get("steps", [])})


IMPORTED = """\
schemaVersion: '0.3'
mainSteps:
  - name: Slow
    action: aws:sleep
    onCancel: step:Cleanup
    inputs: {Duration: PT10M}
  - name: Middle
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /middle, Value: x, Type: String}
  - name: Cleanup
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /cleanup, Value: x, Type: String}
    nextStep: Final
  - name: Skipped
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /skipped, Value: x, Type: String}
  - name: Final
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /final, Value: x, Type: String}
    isEnd: true
  - name: After
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /after, Value: x, Type: String}
"""

IMPORTED_BRANCH = """\
schemaVersion: '0.3'
parameters:
  Mode: {type: String, default: a}
mainSteps:
  - name: Slow
    action: aws:sleep
    onCancel: step:Decide
    inputs: {Duration: PT10M}
  - name: Middle
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /middle, Value: x, Type: String}
    isEnd: true
  - name: Decide
    action: aws:branch
    inputs:
      Choices: [{NextStep: B, Variable: '{{ Mode }}', StringEquals: b}]
      Default: A
  - name: A
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /a, Value: x, Type: String}
    isEnd: true
  - name: B
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /b, Value: x, Type: String}
"""


@pytest.mark.parametrize("text", [IMPORTED, IMPORTED_BRANCH], ids=["next", "branch"])
def test_imported(env: Any, tmp_path: Path, text: str) -> None:
    doc_path = tmp_path / "Cancel.yaml"
    doc_path.write_text(text)
    code, doc, err = _go(doc_path, " slow: ")
    print("\nIMPORTED", code, _made(env), {s["name"]: s["status"] for s in doc.get("steps", [])})
    if not doc.get("steps"):
        print(err[-1500:])
