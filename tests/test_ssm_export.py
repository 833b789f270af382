"""`runbooks export --format ssm`: what SSM's actions cannot say travels as hybridops' semantics.

A runbook using JMESPath outputs, a multi-condition wait, an assert, `when` and compensation is
exported, accepted by SSM (moto's create_document), and run back through hybridops: the same end
state as the native runbook, on success and on failure (its undo chain), checked in AWS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import Cli, MotoServer

FLIP = """\
name: flip
description: Set /a and /b, check, wait; undo both if anything after them fails
parameters:
  value: {type: string, required: true}
  fail: {type: boolean, default: false}
steps:
  - name: read
    aws: {service: ssm, operation: get_parameters, params: {Names: [/a, /b]}}
    outputs:
      previous_a: "Parameters[?Name=='/a'].Value | [0]"
      previous_b: "Parameters[?Name=='/b'].Value | [0]"
  - name: set-a
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /a, Value: "${{ params.value }}", Overwrite: true, Type: String}
    compensate:
      aws:
        service: ssm
        operation: put_parameter
        params: {Name: /a, Value: "${{ steps.read.outputs.previous_a }}", Overwrite: true,
                 Type: String}
  - name: set-b
    when: "params.value != 'skip-b'"
    aws:
      service: ssm
      operation: put_parameter
      params: {Name: /b, Value: "${{ params.value }}", Overwrite: true, Type: String}
    compensate:
      aws:
        service: ssm
        operation: put_parameter
        params: {Name: /b, Value: "${{ steps.read.outputs.previous_b }}", Overwrite: true,
                 Type: String}
  - name: check
    assert:
      that: {"params.fail": false}
      message: told to fail
  - name: settle
    wait:
      aws: {service: ssm, operation: get_parameter, params: {Name: /a}}
      until: {"Parameter.Value": "${{ params.value }}", "length(Parameter.Name)": 2}
      interval_s: 0.1
      timeout_s: 5
    outputs: {version: Parameter.Version}
"""


@pytest.fixture
def exported(cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path) -> tuple[Path, Path]:
    """The native runbook, and its export (accepted by SSM)."""
    write_config(moto.url)
    native = tmp_path / "flip.yaml"
    native.write_text(FLIP)
    document = tmp_path / "Flip.json"
    result = cli("runbooks", "export", str(native), "--format", "ssm", "--out", str(document))
    assert result.code == 0, result.err
    created = moto.client("ssm").create_document(
        Content=document.read_text(), Name="Flip", DocumentType="Automation", DocumentFormat="JSON"
    )
    assert created["DocumentDescription"]["Status"] in ("Creating", "Active")
    return native, document


def _state(moto: MotoServer) -> dict[str, str]:
    found = moto.client("ssm").get_parameters(Names=["/a", "/b"])["Parameters"]
    return {p["Name"]: p["Value"] for p in found}


def _reset(moto: MotoServer) -> None:
    ssm = moto.client("ssm")
    for name in ("/a", "/b"):
        ssm.put_parameter(Name=name, Value="before", Type="String", Overwrite=True)


@pytest.mark.parametrize(
    ("params", "code", "end"),
    [
        (["-p", "value=after"], 0, {"/a": "after", "/b": "after"}),
        (["-p", "value=after", "-p", "fail=true"], 1, {"/a": "before", "/b": "before"}),
        (["-p", "value=skip-b", "-p", "fail=true"], 1, {"/a": "before", "/b": "before"}),
    ],
    ids=["succeeds", "fails-undoes-both", "fails-undoes-a-only"],
)
def test_the_export_runs_back_to_the_same_end_state(
    cli: Cli,
    moto: MotoServer,
    exported: tuple[Path, Path],
    params: list[str],
    code: int,
    end: dict[str, str],
) -> None:
    native, document = exported
    for path in (native, document):
        _reset(moto)
        moto.client("ssm").put_parameter(Name="/b", Value="before", Type="String", Overwrite=True)
        result = cli("--yes", "-o", "json", "run", str(path), *params)
        assert result.code == code, (path.name, result.err[-2000:])
        assert _state(moto) == end, path.name  # checked in AWS


def test_the_document_says_it_in_ssm_terms(exported: tuple[Path, Path]) -> None:
    _, document = exported
    doc = json.loads(document.read_text())
    steps = {s["name"]: s for s in doc["mainSteps"]}
    # JMESPath SSM's selectors cannot say: the step script, carrying hybridops' matchers.
    assert steps["Read"]["action"] == "aws:executeScript"
    assert "def matches(" in steps["Read"]["inputs"]["Script"]
    # A plain when: an aws:branch on the parameter, skipping to the next step.
    branch = steps["SetBIf"]["inputs"]
    assert branch["Choices"] == [
        {"Not": {"Variable": "{{ value }}", "StringEquals": "skip-b"}, "NextStep": "SetB"}
    ]
    assert branch["Default"] == "Check"
    # After set-a, a failure goes to the undo chain; the normal path ends before it.
    assert "onFailure" not in steps["SetA"]
    assert steps["SetB"]["onFailure"] == "step:UndoSetAIf" or steps["SetB"]["onFailure"] == (
        "step:UndoSetA"
    )
    # The undo of set-b first decides whether set-b ran (its `when`, decided again).
    assert steps["Check"]["onFailure"] == "step:UndoSetBRanIf"
    assert steps["Done"]["isEnd"] is True
    assert steps["UndoSetA"]["nextStep"] == "Undone" and steps["Undone"]["isEnd"] is True
    assert steps["UndoSetB"]["nextStep"] == "UndoSetA"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda b: b["steps"].append({"name": "set_a", "sleep": 0}),  # SetA twice in SSM
            "two steps named SetA in SSM",
        ),
        (
            lambda b: (
                b["parameters"].update(rate={"type": "number", "default": 1.5})
                or b["steps"][1]["aws"]["params"].update(Value="${{ params.rate }}")
            ),
            "number parameter rate used outside action inputs",
        ),
        (
            lambda b: b["steps"][0].update(on_cancel="set-a"),
            "on_cancel steps that are not the runbook's last",
        ),
        (
            lambda b: b["steps"][2].update(when="env.vars.token == 'x'"),
            "env.vars.token (it holds a credential",
        ),
    ],
    ids=["names", "number", "on-cancel", "secret"],
)
def test_what_cannot_be_exported_is_refused_by_name(
    cli: Cli, write_config: Any, tmp_path: Path, change: Any, said: str
) -> None:
    write_config("http://127.0.0.1:9", vars={"token": "token=pd-SECRET-123456"})
    book = yaml.safe_load(FLIP)
    change(book)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(book))
    out = tmp_path / "doc.json"
    result = cli("runbooks", "export", str(path), "--out", str(out))
    assert result.code == 2, result.err
    assert said in result.err and "nothing was written" in result.err
    assert "pd-SECRET" not in result.err + result.out
    assert not out.exists()
