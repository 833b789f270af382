"""Re-review scratch: imported documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, MotoServer

ROLE = "arn:aws:iam::123456789012:role/Narrow"
OTHER = "arn:aws:iam::123456789012:role/Other"


@pytest.fixture
def ssm(moto: MotoServer, write_config: Any) -> Any:
    write_config(moto.url)
    c = moto.client("ssm")
    moto.forget_requests()
    return c


def _made(ssm: Any) -> list[str]:
    return sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"])


def w(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


PUT = "    inputs: {Service: ssm, Api: PutParameter, Name: /%s, Value: x, Type: String, Overwrite: true}\n"


def test_item5_nested(cli: Cli, ssm: Any, tmp_path: Path) -> None:
    child = lambda role, params="": (
        "schemaVersion: '0.3'\n"
        + (f"assumeRole: '{role}'\n" if role else "")
        + "parameters:\n  R: {type: String, default: '%s'}\n  Env: {type: String, allowedValues: [dev, staging], default: dev}\n"
        % OTHER
        + params
        + "mainSteps:\n  - name: Put\n    action: aws:executeAwsApi\n"
        + PUT % "child"
    )
    parent = lambda extra="", role=ROLE, rp="{}": (
        "schemaVersion: '0.3'\n"
        + (f"assumeRole: '{role}'\n" if role else "")
        + "parameters:\n  E: {type: String, default: prod}\n"
        + "mainSteps:\n  - name: Run\n    action: aws:executeAutomation\n"
        + extra
        + f"    inputs: {{DocumentName: Child, RuntimeParameters: {rp}}}\n"
    )
    cases = {
        "child literal other, parent none": (child(OTHER), parent(role="")),
        "child {{R}} default other": (child("{{ R }}"), parent()),
        "child literal same": (child(ROLE), parent()),
        "maxAttempts 1": (child(""), parent("    maxAttempts: 1\n")),
        "timeoutSeconds": (child(""), parent("    timeoutSeconds: 60\n")),
        "onCancel Abort": (child(""), parent("    onCancel: Abort\n")),
        "onFailure step": (child(""), parent("    onFailure: step:Run\n")),
        "TargetLocations": (
            child(""),
            parent().replace(
                "RuntimeParameters: {}",
                "RuntimeParameters: {}, TargetLocations: [{Accounts: ['999999999999'], Regions: [us-east-1]}]",
            ),
        ),
        "Targets rate control": (
            child(""),
            parent().replace(
                "RuntimeParameters: {}",
                "RuntimeParameters: {}, TargetParameterName: R, Targets: [{Key: ParameterValues, Values: [a, b, c]}], MaxConcurrency: '1'",
            ),
        ),
        "child allowedValues violated": (child(""), parent(rp="{Env: ['{{ E }}']}")),
    }
    for label, (c, p) in cases.items():
        w(tmp_path, "Child.yaml", c)
        doc = w(tmp_path, "Parent.yaml", p)
        r = cli("runbooks", "validate", str(doc))
        extra = ""
        if r.code == 0:
            for n in _made(ssm):
                ssm.delete_parameter(Name=n)
            run = cli("--yes", "run", str(doc))
            extra = f" run={run.code} made={_made(ssm)}"
        print(f"\nNESTED {label}: validate={r.code} {r.err.strip()[-160:]!r}{extra}")


def test_item8_lists(cli: Cli, ssm: Any, moto: MotoServer, tmp_path: Path) -> None:
    doc = w(
        tmp_path,
        "L.yaml",
        """\
schemaVersion: '0.3'
assumeRole: '{{ Role }}'
parameters:
  Role: {type: String, default: ''}
  Targets: {type: StringList, allowedValues: [web, api], minItems: 1, maxItems: 2, default: [web]}
  Name: {type: String, minChars: 3, default: abc}
mainSteps:
  - name: Put
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /lists, Value: '{{ Name }} {{ global:ACCOUNT_ID }}', Type: String}
""",
    )
    for bad in (["-p", "Targets=web,prod"], ["-p", "Name=ab"], ["-p", "Targets="]):
        moto.forget_requests()
        r = cli("--yes", "run", str(doc), *bad, "-p", f"Role={ROLE}")
        print(f"\nLIST {bad}: code={r.code} requests={moto.requests} err={r.err.strip()[-200:]!r}")


def test_item8_dry_and_nested(cli: Cli, ssm: Any, moto: MotoServer, tmp_path: Path) -> None:
    doc = w(
        tmp_path,
        "L2.yaml",
        """\
schemaVersion: '0.3'
parameters:
  Targets: {type: StringList, allowedValues: [web, api]}
mainSteps:
  - name: Put
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /lists, Value: x, Type: String}
""",
    )
    moto.forget_requests()
    r = cli("--dry-run", "run", str(doc), "-p", "Targets=prod")
    print(f"\nLIST dry-run: code={r.code} requests={moto.requests} err={r.err.strip()[-200:]!r}")


def test_item9_branch(cli: Cli, ssm: Any, tmp_path: Path) -> None:
    base = (
        """\
schemaVersion: '0.3'
mainSteps:
  - name: Choose
    action: aws:branch
%s    inputs:
      Choices:
        - {NextStep: Other, Variable: '{{ global:REGION }}', StringEquals: nowhere}
  - name: Normal
    action: aws:executeAwsApi
"""
        + PUT % "normal"
        + """    isEnd: true
  - name: Other
    action: aws:executeAwsApi
"""
        + PUT % "other"
    )
    for label, extra in (("no isEnd", ""), ("isEnd", "    isEnd: true\n")):
        for n in _made(ssm):
            ssm.delete_parameter(Name=n)
        doc = w(tmp_path, "B.yaml", base % extra)
        r = cli("--yes", "run", str(doc))
        print(f"\nBRANCH {label}: code={r.code} made={_made(ssm)} {r.err.strip()[-150:]!r}")


def test_misc_refusals(cli: Cli, tmp_path: Path) -> None:
    docs = {
        "dup names": "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:sleep, inputs: {Duration: PT0S}}\n  - {name: A, action: aws:sleep, inputs: {Duration: PT0S}}\n",
        "approve onFailure Continue": "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:approve, onFailure: Continue, inputs: {Approvers: [x], Message: m}}\n",
        "pause onFailure step": "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:pause, onFailure: step:B, inputs: {}}\n  - {name: B, action: aws:sleep, inputs: {Duration: PT0S}}\n",
        "maxAttempts 101": "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:sleep, maxAttempts: 101, inputs: {Duration: PT0S}}\n",
        "maxAttempts 102": "schemaVersion: '0.3'\nmainSteps:\n  - {name: A, action: aws:sleep, maxAttempts: 102, inputs: {Duration: PT0S}}\n",
        "cmd 2.2": "schemaVersion: '2.2'\ndescription: d\nparameters: {}\nmainSteps:\n  - {action: aws:runShellScript, name: x, inputs: {runCommand: [echo]}}\n",
        "cmd 1.2": '{"schemaVersion": "1.2", "description": "d", "runtimeConfig": {"aws:runShellScript": {"properties": [{"runCommand": ["echo"]}]}}}\n',
        "selector A..B.C": "schemaVersion: '0.3'\nmainSteps:\n  - name: R\n    action: aws:executeAwsApi\n    inputs: {Service: ec2, Api: DescribeInstances}\n    outputs: [{Name: Ids, Selector: '$.Reservations..Instances..InstanceId', Type: StringList}]\n",
        "name collision AssumeRole": "schemaVersion: '0.3'\nassumeRole: ''\nmainSteps:\n  - {name: AssumeRole, action: aws:sleep, inputs: {Duration: PT0S}}\n  - {name: CheckParameters, action: aws:sleep, inputs: {Duration: PT0S}}\n",
    }
    for label, text in docs.items():
        ext = ".json" if text.startswith("{") else ".yaml"
        p = w(tmp_path, "Doc" + ext, text)
        for cmd in (("runbooks", "validate"), ("runbooks", "import"), ("run",)):
            r = cli(*cmd, str(p)) if cmd != ("run",) else cli("--dry-run", "run", str(p))
            print(f"\nMISC {label} {' '.join(cmd)}: code={r.code} {r.err.strip()[-220:]!r}")
            if label == "dup names" and cmd == ("runbooks", "import"):
                print(r.out)
            if label == "selector A..B.C" and cmd == ("runbooks", "import"):
                print([l for l in r.out.splitlines() if "Ids" in l])
