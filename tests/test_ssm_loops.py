"""Loops: an SSM document's backward `nextStep`, and the native `goto` it becomes (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import Cli, MotoServer
from tests.support import parameter_value as _value

# The polling loop AWS's documents write with aws:branch: read, test, wait, read again.
POLL_DOCUMENT = """\
description: Wait until /flag is ready, then mark it done
schemaVersion: '0.3'
parameters:
  Wanted: {type: String, default: ready}
mainSteps:
  - name: Start
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /started, Value: 'yes', Type: String,
             Overwrite: true}
  - name: Check
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: GetParameter, Name: /flag}
    outputs:
      - {Name: Value, Selector: $.Parameter.Value, Type: String}
  - name: IsReady
    action: aws:branch
    inputs:
      Choices:
        - NextStep: Done
          Variable: '{{ Check.Value }}'
          StringEquals: '{{ Wanted }}'
      Default: Wait
  - name: Wait
    action: aws:sleep
    inputs: {Duration: PT0S}
    nextStep: Check
  - name: Done
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /done, Value: 'yes', Type: String}
"""


@pytest.fixture
def flag(moto: MotoServer, write_config: Any) -> Any:
    """SSM /flag = waiting on the moto server; ready once it has been read `ready_after` times."""
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="waiting", Type="String")
    moto.forget_requests()
    return ssm


def _ready_after(moto: MotoServer, ssm: Any, reads: int) -> None:
    """What the service would do: /flag turns ready after `reads` GetParameter requests."""
    seen = [0]

    def read() -> None:
        seen[0] += 1
        if seen[0] == reads:
            ssm.put_parameter(Name="/flag", Value="ready", Type="String", Overwrite=True)

    moto.app.after[r"^GetParameter$"] = read


def _document(tmp_path: Path, text: str, name: str = "Poll.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _steps(out: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in json.loads(out)["steps"]}


def test_a_backward_next_step_loops_until_the_branch_lets_it_out(
    cli: Cli, moto: MotoServer, flag: Any, tmp_path: Path
) -> None:
    _ready_after(moto, flag, 3)
    result = cli("--yes", "-o", "json", "run", str(_document(tmp_path, POLL_DOCUMENT)))
    assert result.code == 0, result.err
    # Three reads said `waiting`, the fourth `ready`: four passes, three jumps back.
    assert moto.requests.count("GetParameter") == 4
    assert _value(flag, "/done") == "yes"  # checked in AWS
    steps = _steps(result.out)
    assert steps["check"]["passes"] == 4 and steps["wait"]["passes"] == 3
    assert steps["check"]["outputs"] == {"Value": "ready"}
    assert {n: s["status"] for n, s in steps.items()} == {
        "start": "succeeded", "check": "succeeded", "is-ready": "succeeded",
        "wait": "skipped", "done": "succeeded",
    }  # fmt: skip
    # The start, outside the loop, ran once.
    assert flag.get_parameter(Name="/started")["Parameter"]["Version"] == 1


def test_a_person_sees_each_pass_of_the_loop(
    cli: Cli, moto: MotoServer, flag: Any, tmp_path: Path
) -> None:
    _ready_after(moto, flag, 2)  # the third read sees ready: three passes
    result = cli("--yes", "run", str(_document(tmp_path, POLL_DOCUMENT)))
    assert result.code == 0, result.err
    text = result.out + result.err
    assert "back to check (pass 2 of at most 101)" in text
    assert "back to check (pass 3 of at most 101)" in text
    assert "pass 4" not in text


def test_a_loop_that_never_ends_stops_at_its_bound_and_fails(
    cli: Cli, moto: MotoServer, flag: Any, tmp_path: Path
) -> None:
    result = cli("--yes", "-o", "json", "run", str(_document(tmp_path, POLL_DOCUMENT)))
    assert result.code == 1
    run = json.loads(result.out)
    assert run["status"] == "failed"
    assert "jumped back to check 100 times" in run["error"]["message"]
    assert moto.requests.count("GetParameter") == 101  # the first pass and 100 more
    moto.app.after.clear()
    assert _value(flag, "/done") is None  # what follows the loop never ran
    assert _steps(result.out)["done"]["status"] == "not_run"


def test_a_dry_run_goes_round_the_loop_once_and_changes_nothing(
    cli: Cli, moto: MotoServer, flag: Any, tmp_path: Path
) -> None:
    result = cli("--dry-run", "-o", "json", "run", str(_document(tmp_path, POLL_DOCUMENT)))
    assert result.code == 0, result.err
    assert moto.requests.count("GetParameter") == 1
    assert "PutParameter" not in moto.requests
    steps = _steps(result.out)
    assert "a dry run goes through the loop once" in steps["wait"]["detail"]
    # What follows the loop may well run when it ends: its change is in the plan.
    assert steps["done"]["status"] == "planned"
    assert "decided when the loop before it ends" in steps["done"]["detail"]
    planned = [c for c in json.loads(result.out)["calls"] if not c["sent"]]
    assert [c["params"]["Name"] for c in planned] == ["/started", "/done"]


# Control reaches Other only from Decide; after the jump back to Work it must not run again,
# although Decide's choice still holds (a stale "Decide ran" would send control there).
CROSSING_DOCUMENT = """\
description: A branch before the loop jumps into it
schemaVersion: '0.3'
parameters:
  Route: {type: String, default: other}
mainSteps:
  - name: Decide
    action: aws:branch
    inputs:
      Choices:
        - {NextStep: Other, Variable: '{{ Route }}', StringEquals: other}
      Default: Work
  - name: Work
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /work, Value: w, Type: String,
             Overwrite: true}
    nextStep: Count
  - name: Other
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /other, Value: o, Type: String,
             Overwrite: true}
  - name: Count
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /count, Value: c, Type: String,
             Overwrite: true}
    outputs:
      - {Name: Version, Selector: $.Version, Type: Integer}
  - name: Again
    action: aws:branch
    inputs:
      Choices:
        - {NextStep: Work, Variable: '{{ Count.Version }}', NumericLesser: 3}
      Default: Finish
  - name: Finish
    action: aws:sleep
    inputs: {Duration: PT0S}
"""


def test_after_a_jump_back_control_never_comes_from_a_step_before_it(
    cli: Cli, flag: Any, tmp_path: Path
) -> None:
    result = cli("--yes", "-o", "json", "run", str(_document(tmp_path, CROSSING_DOCUMENT)))
    assert result.code == 0, result.err

    def runs(name: str) -> int:
        return int(flag.get_parameter(Name=name)["Parameter"]["Version"])

    # Pass 1: Decide -> Other -> Count (1) -> Work; pass 2: Work -> Count (2) -> Work;
    # pass 3: Work -> Count (3) -> Finish. Other ran once, in pass 1 only.
    assert (runs("/other"), runs("/work"), runs("/count")) == (1, 2, 3)
    steps = _steps(result.out)
    assert steps["finish"]["status"] == "succeeded"
    assert steps["other"]["status"] == "skipped"  # in the last pass
    assert steps["other"]["passes"] == 1  # ran once, in pass 1


def test_a_backward_on_failure_retries_and_the_critical_failure_is_reported(
    cli: Cli, moto: MotoServer, flag: Any, tmp_path: Path
) -> None:
    # The first PutParameter without Overwrite fails (it exists); Fix deletes it; Create again.
    text = """\
description: Retry by going back after a fix
schemaVersion: '0.3'
mainSteps:
  - name: Create
    action: aws:executeAwsApi
    onFailure: step:Fix
    inputs: {Service: ssm, Api: PutParameter, Name: /flag, Value: mine, Type: String}
    nextStep: Finish
  - name: Fix
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: DeleteParameter, Name: /flag}
    nextStep: Create
  - name: Finish
    action: aws:sleep
    inputs: {Duration: PT0S}
"""
    result = cli("--yes", "-o", "json", "run", str(_document(tmp_path, text, "Retry.yaml")))
    assert _value(flag, "/flag") == "mine"  # created on the second pass: checked in AWS
    steps = _steps(result.out)
    assert steps["create"]["passes"] == 2 and steps["create"]["status"] == "succeeded"
    assert steps["finish"]["status"] == "succeeded"
    # A critical step failed on the way, so SSM ends the execution Failed: so does hybridops.
    assert result.code == 4 and json.loads(result.out)["status"] == "failed"


def test_a_jump_back_to_a_nested_document_is_refused_by_name(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "Child.yaml").write_text(
        "schemaVersion: '0.3'\nmainSteps:\n  - {name: S, action: aws:sleep, inputs:"
        " {Duration: PT0S}}\n"
    )
    text = """\
schemaVersion: '0.3'
mainSteps:
  - name: Nested
    action: aws:executeAutomation
    inputs: {DocumentName: Child}
  - name: Back
    action: aws:sleep
    inputs: {Duration: PT0S}
    nextStep: Nested
"""
    result = cli("runbooks", "validate", str(_document(tmp_path, text, "Parent.yaml")))
    assert result.code == 2
    assert "a jump back to Nested, an aws:executeAutomation step, is not supported" in result.err


def test_a_nested_loop_anywhere_below_a_conditional_step_is_refused(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "GrandLoop.yaml").write_text(POLL_DOCUMENT)
    (tmp_path / "GrandPlain.yaml").write_text(
        "schemaVersion: '0.3'\nmainSteps:\n  - {name: S, action: aws:sleep, inputs:"
        " {Duration: PT0S}}\n"
    )
    # The loop is in the first of two nested documents: what the child inlines last has none.
    (tmp_path / "Child.yaml").write_text(
        "schemaVersion: '0.3'\nmainSteps:\n"
        "  - {name: G1, action: aws:executeAutomation, inputs: {DocumentName: GrandLoop}}\n"
        "  - {name: G2, action: aws:executeAutomation, inputs: {DocumentName: GrandPlain}}\n"
    )
    text = """\
schemaVersion: '0.3'
mainSteps:
  - {name: P0, action: aws:sleep, inputs: {Duration: PT0S}}
  - {name: Nested, action: aws:executeAutomation, inputs: {DocumentName: Child}}
  - name: Back
    action: aws:branch
    inputs:
      Choices: [{NextStep: P0, Variable: '{{ automation:EXECUTION_ID }}', StringEquals: never}]
"""
    result = cli("runbooks", "validate", str(_document(tmp_path, text, "Parent.yaml")))
    assert result.code == 2
    assert "a nested document with a loop, run under a condition" in result.err
