"""SSM Automation, the edges an adversarial review found: each one a test that fails without its fix."""

from __future__ import annotations

import json
import signal
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridops.errors import ValidationError
from hybridops.ssm.automation import python_pattern
from tests.support import Cli, MotoServer
from tests.support import parameter_value as _value
from tests.test_signals import _signal_when, _start

ROLE = "arn:aws:iam::123456789012:role/Narrow"


@pytest.fixture
def ssm(moto: MotoServer, write_config: Any) -> Any:
    """The moto server's SSM, as the `test` environment."""
    write_config(moto.url)
    client = moto.client("ssm")
    client.put_parameter(Name="/flag", Value="original", Type="String")
    moto.forget_requests()
    return client


def _put(name: str, value: str) -> dict[str, Any]:
    return {"service": "ssm", "operation": "put_parameter",
            "params": {"Name": name, "Value": value, "Type": "String", "Overwrite": True}}  # fmt: skip


def test_a_native_on_cancel_runs_its_steps_and_nothing_after(ssm: Any, tmp_path: Path) -> None:
    book = tmp_path / "cancel.yaml"
    book.write_text(yaml.safe_dump({
        "name": "cancel",
        "steps": [
            {"name": "slow", "sleep": 600, "on_cancel": "cleanup"},
            {"name": "middle", "aws": _put("/middle", "x")},
            {"name": "cleanup", "aws": _put("/cleanup", "x")},
            {"name": "deploy", "aws": _put("/deploy", "x")},
        ],
    }))  # fmt: skip
    proc = _start("--yes", "-o", "json", "run", str(book))
    _signal_when(proc, " slow: ", signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert [_value(ssm, n) for n in ("/middle", "/cleanup", "/deploy")] == [None, "x", None]
    status = {s["name"]: s["status"] for s in json.loads(out)["steps"]}
    assert status == {"slow": "interrupted", "middle": "not_run", "cleanup": "succeeded",
                      "deploy": "not_run"}  # fmt: skip


def test_a_resumed_run_assumes_the_role_again(cli: Cli, ssm: Any, tmp_path: Path) -> None:
    doc = tmp_path / "Res.yaml"
    doc.write_text(f"""\
schemaVersion: '0.3'
assumeRole: '{ROLE}'
mainSteps:
  - name: First
    action: aws:executeAwsApi
    inputs: {{Service: ssm, Api: PutParameter, Name: /first, Value: x, Type: String}}
  - name: Gate
    action: aws:assertAwsResourceProperty
    inputs: {{Service: ssm, Api: GetParameter, Name: /flag, PropertySelector: $.Parameter.Value,
             DesiredValues: [open]}}
  - name: Second
    action: aws:executeAwsApi
    inputs: {{Service: ssm, Api: PutParameter, Name: /second, Value: x, Type: String}}
""")
    first = cli("--yes", "-o", "json", "run", str(doc))
    assert first.code == 1
    ssm.put_parameter(Name="/flag", Value="open", Type="String", Overwrite=True)
    resumed = cli("--yes", "-o", "json", "run", str(doc), "--resume", first.json()["run_id"])
    assert resumed.code == 0, resumed.err
    audit = cli("-o", "json", "audit").json()["records"]
    callers = {r["step"]: r["caller_arn"] for r in audit if r["operation"] == "put_parameter"}
    assert ":assumed-role/Narrow/" in callers["first"]
    assert ":assumed-role/Narrow/" in callers["second"]  # not the environment's credentials


PARENT = """\
schemaVersion: '0.3'
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  AutomationAssumeRole: {type: String, default: ''}
mainSteps:
  - name: RunChild
    action: aws:executeAutomation
    inputs:
      DocumentName: Child
      RuntimeParameters: {AutomationAssumeRole: ['ROLE']}
"""
CHILD = """\
schemaVersion: '0.3'
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  AutomationAssumeRole: {type: String, default: ''}
mainSteps:
  - name: Put
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /child, Value: x, Type: String}
"""


@pytest.mark.parametrize(
    ("role", "onfailure", "said"),
    [
        (ROLE, "", "assumes a role of its own"),
        ("{{ AutomationAssumeRole }}", "", None),
        ("{{ AutomationAssumeRole }}", "    onFailure: Continue\n",
         "onFailure on aws:executeAutomation is not supported"),
    ],
)  # fmt: skip
def test_a_nested_document_runs_as_its_parent_or_not_at_all(
    cli: Cli, tmp_path: Path, role: str, onfailure: str, said: str | None
) -> None:
    (tmp_path / "Child.yaml").write_text(CHILD)
    parent = PARENT.replace("'ROLE'", f"'{role}'").replace(
        "    action: aws:executeAutomation\n", "    action: aws:executeAutomation\n" + onfailure
    )
    (tmp_path / "Parent.yaml").write_text(parent)
    result = cli("runbooks", "validate", str(tmp_path / "Parent.yaml"))
    if said is None:
        assert result.code == 0, result.err
    else:
        assert result.code == 2 and said in result.err, result.err


def test_ssm_list_and_length_rules_are_checked_before_anything(
    cli: Cli, ssm: Any, moto: MotoServer, tmp_path: Path
) -> None:
    doc = tmp_path / "Lists.yaml"
    doc.write_text("""\
schemaVersion: '0.3'
assumeRole: '{{ Role }}'
parameters:
  Role: {type: String, default: ''}
  Targets: {type: StringList, allowedValues: [web, api], minItems: 1, maxItems: 2}
  Arns: {type: StringList, allowedPattern: '^arn:aws:.*$'}
  Name: {type: String, maxChars: 8}
mainSteps:
  - name: Put
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /lists, Value: '{{ Name }}', Type: String}
""")
    ok = ["-p", "Targets=web,api", "-p", "Arns=arn:aws:x", "-p", "Name=short"]
    assert cli("--yes", "run", str(doc), *ok).code == 0
    ssm.delete_parameter(Name="/lists")
    for bad, said in (
        ("Targets=prod-db", "'prod-db' is not one of web, api"),
        ("Targets=web,api,web", "at most 2 items"),
        ("Arns=not-an-arn", "'not-an-arn' does not match"),
        ("Name=waytoolongname", "longer than 8 characters"),
    ):
        moto.forget_requests()
        result = cli("--yes", "run", str(doc), *ok, "-p", bad, "-p", f"Role={ROLE}")
        assert result.code == 2 and said in result.err, (bad, result.err)
        assert moto.requests == []  # not even AssumeRole
    assert _value(ssm, "/lists") is None


def test_a_branch_without_default_goes_on_with_the_next_step(
    cli: Cli, ssm: Any, tmp_path: Path
) -> None:
    doc = tmp_path / "NoDefault.yaml"
    doc.write_text("""\
schemaVersion: '0.3'
mainSteps:
  - name: Choose
    action: aws:branch
    inputs:
      Choices:
        - {NextStep: Other, Variable: '{{ global:REGION }}', StringEquals: nowhere}
  - name: Normal
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /normal, Value: x, Type: String}
    isEnd: true
  - name: Other
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /other, Value: x, Type: String}
""")
    assert cli("--yes", "run", str(doc)).code == 0
    assert (_value(ssm, "/normal"), _value(ssm, "/other")) == ("x", None)


def test_refused_at_validation_by_name(cli: Cli, tmp_path: Path) -> None:
    approve = """\
schemaVersion: '0.3'
mainSteps:
  - name: Ask
    action: aws:approve
    onFailure: step:After
    inputs: {Approvers: [x], Message: go?}
  - name: After
    action: aws:sleep
    inputs: {Duration: PT0S}
"""
    (tmp_path / "Approve.yaml").write_text(approve)
    result = cli("runbooks", "validate", str(tmp_path / "Approve.yaml"))
    assert result.code == 2 and "onFailure step:After on an approval" in result.err


def test_what_documents_say_that_once_was_misread_now_validates(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "Valid.yaml"
    doc.write_text("""\
schemaVersion: '0.3'
parameters:
  Name: {type: String, allowedPattern: '^\\p{Alpha}+\\z', default: ab}
  T: {type: String, default: 'a`b'}
mainSteps:
  - name: ReadA
    action: aws:sleep
    inputs: {Duration: PT0S}
  - name: readA
    action: aws:sleep
    maxAttempts: 50
    inputs: {Duration: PT2H}
    isEnd: true
  - name: Pick
    action: aws:branch
    inputs:
      Choices: [{NextStep: readA, Variable: '{{ T }}', StringEquals: 'a`b'}]
""")
    imported = cli("runbooks", "import", str(doc))
    assert imported.code == 0, imported.err
    steps = {s["name"]: s for s in yaml.safe_load(imported.out)["steps"]}
    assert set(steps) >= {"read-a", "read-a-2"}  # two SSM steps, two names
    assert steps["read-a-2"]["retries"] == 49


@pytest.mark.parametrize(
    ("java", "matches", "refuses"),
    [
        (r"^\p{Alpha}+\z", "abc", "ab1"),
        (r"^\Qa.b\E$", "a.b", "axb"),
        (r"^[\u0020-\uD7FF\uD800\uDC00-\uDBFF\uDFFF]*$", "ok 😀", "\x01"),
    ],
)
def test_java_patterns_read_as_java_does(java: str, matches: str, refuses: str) -> None:
    import re

    python = python_pattern(java, "here")
    assert re.fullmatch(python, matches) and not re.fullmatch(python, refuses)


@pytest.mark.parametrize("java", [r"^[a-z&&[^x]]+$", r"\p{InGreek}"])
def test_java_patterns_python_would_misread_are_refused(java: str) -> None:
    with pytest.raises(ValidationError, match="allowedPattern"):
        python_pattern(java, "here")


def test_the_step_script_maps_a_region_given_at_run_time(tmp_path: Path) -> None:
    """`region: primary` from a parameter reaches boto3 as the environment's region in SSM."""
    from hybridops.ssm.step_script import script_text

    seen: list[Any] = []

    class Client:
        def describe_services(self, **_: Any) -> dict[str, Any]:
            return {"services": []}

    fake = types.ModuleType("boto3")
    fake.client = lambda service, region_name=None, **_: seen.append(region_name) or Client()  # type: ignore[attr-defined,func-returns-value]
    sys.modules["boto3"] = fake
    try:
        namespace: dict[str, Any] = {}
        exec(compile(script_text(), "step", "exec"), namespace)
        call = {"service": "ecs", "operation": "describe_services", "region": "primary",
                "regions": {"primary": "eu-central-1", "secondary": "us-west-2"}}  # fmt: skip
        namespace["hybridops_step"]({"kind": "aws", "step": "s", "call": call}, {})
        namespace["hybridops_step"](
            {"kind": "aws", "step": "s", "call": {**call, "region": "secondary"}}, {}
        )
    finally:
        del sys.modules["boto3"]
    assert seen == ["eu-central-1", "us-west-2"]


EXPORTED = """\
name: edges
parameters:
  code: {type: string, default: "1"}
  cluster: {type: string, enum: [web, api]}
steps:
  - name: bump
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /counter, Value: v, Type: String, Overwrite: true}}
    expect: {Version: 1}
  - name: read
    aws: {service: ssm, operation: get_parameter, params: {Name: /counter}}
    outputs: {names: "descendants(@, 'Name')"}
    expect: {"Parameter.Selector": null}
  - name: typed
    when: "params.code == `1`"
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /typed, Value: v, Type: String}}
  - name: templated
    when: "${{ params.code }}"
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /templated, Value: v, Type: String}}
  - name: probe
    action: {name: ecs.plan_scale, inputs: {cluster: "${{ params.cluster }}", service: s, to: 1}}
    when: "`false`"
"""


def test_exports_that_were_wrong_now_run_back_the_same(
    cli: Cli, ssm: Any, moto: MotoServer, tmp_path: Path
) -> None:
    native = tmp_path / "edges.yaml"
    native.write_text(EXPORTED)
    document = tmp_path / "Edges.json"
    exported = cli("runbooks", "export", str(native), "--out", str(document))
    assert exported.code == 0, exported.err
    doc = json.loads(document.read_text())
    assert doc["parameters"]["cluster"]["allowedValues"] == ["", "web", "api"]
    ends = []
    for path in (native, document):
        for name in ("/counter", "/typed", "/templated"):
            if _value(ssm, name) is not None:
                ssm.delete_parameter(Name=name)
        moto.forget_requests()
        ran = cli("--yes", "-o", "json", "run", str(path))
        assert ran.code == 0, (path.name, ran.err[-2000:])
        assert moto.requests.count("PutParameter") == 2, path.name  # bump once, templated once
        ends.append([_value(ssm, n) for n in ("/counter", "/typed", "/templated")])
        outputs = {s["name"]: s.get("outputs") for s in ran.json()["steps"]}
        assert outputs["read"]["names"] == ["/counter"], path.name
    assert ends == [["v", None, "v"], ["v", None, "v"]]
    refused = cli("--yes", "run", str(document), "-p", "cluster=evil")
    assert refused.code == 2 and "cluster" in refused.err


def test_a_choice_compares_with_what_its_reference_names(
    cli: Cli, ssm: Any, tmp_path: Path
) -> None:
    """`StringEquals: '{{ R }}'` is R's value, never the text '{{ R }}'."""
    doc = tmp_path / "Cmp.yaml"
    doc.write_text("""\
schemaVersion: '0.3'
parameters:
  Q: {type: String, default: abc}
  R: {type: String, default: ABC}
mainSteps:
  - name: Choose
    action: aws:branch
    inputs:
      Choices:
        - {NextStep: Same, Variable: '{{ Q }}', EqualsIgnoreCase: '{{ R }}'}
        - {NextStep: Prefixed, Variable: '{{ Q }}', StringEquals: 'pre-{{ R }}'}
      Default: Neither
  - name: Same
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /same, Value: x, Type: String}
    isEnd: true
  - name: Prefixed
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /prefixed, Value: x, Type: String}
    isEnd: true
  - name: Neither
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /neither, Value: x, Type: String}
""")
    for params, made in (
        ([], "/same"),
        (["-p", "Q=pre-x", "-p", "R=x"], "/prefixed"),
        (["-p", "Q={{ R }}"], "/neither"),
    ):
        for name in ("/same", "/prefixed", "/neither"):
            if _value(ssm, name) is not None:
                ssm.delete_parameter(Name=name)
        assert cli("--yes", "run", str(doc), *params).code == 0
        assert [n for n in ("/same", "/prefixed", "/neither") if _value(ssm, n)] == [made]


def test_a_deep_selector_under_a_path(cli: Cli, ssm: Any, tmp_path: Path) -> None:
    ssm.put_parameter(Name="/deep", Value="x", Type="String")
    doc = tmp_path / "Deep.yaml"
    doc.write_text("""\
schemaVersion: '0.3'
mainSteps:
  - name: Read
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: GetParameters, Names: [/deep, /flag]}
    outputs: [{Name: Names, Selector: '$.Parameters..Name', Type: StringList}]
""")
    ran = cli("-o", "json", "run", str(doc))
    assert ran.code == 0, ran.err
    assert sorted(ran.json()["steps"][0]["outputs"]["Names"]) == ["/deep", "/flag"]


def test_a_command_document_is_named_as_one(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "Cmd.yaml"
    doc.write_text("schemaVersion: '2.2'\nmainSteps:\n  - {action: aws:runShellScript, name: x}\n")
    result = cli("runbooks", "validate", str(doc))
    assert result.code == 2 and "Command documents run on managed instances" in result.err


@pytest.mark.parametrize(
    "step",
    [
        {"name": "call", "http": {"url": "https://x.example/h",
                                  "headers": {"Authorization": "Bearer ${{ env.vars.pd }}"}}},
        {"name": "call", "http": {"url": "https://ops:${{ env.vars.pd }}@x.example/h"}},
        {"name": "call", "http": {"url": "https://x.example/h?token=${{ env.vars.pd }}"}},
        {"name": "call", "when": "env.vars.api_key == 'x'", "sleep": 0},
    ],
    ids=["bearer", "userinfo", "query", "named"],
)  # fmt: skip
def test_an_export_never_publishes_a_credential(
    cli: Cli, write_config: Any, tmp_path: Path, step: dict[str, Any]
) -> None:
    write_config("http://127.0.0.1:9", vars={"pd": "pd-SECRET-123456", "api_key": "k-SECRET-9"})
    book = tmp_path / "leak.yaml"
    book.write_text(yaml.safe_dump({"name": "leak", "steps": [step]}))
    out = tmp_path / "doc.json"
    result = cli("runbooks", "export", str(book), "--out", str(out))
    assert result.code == 2, result.err
    assert "it holds a credential" in result.err and "SECRET" not in result.err + result.out
    assert not out.exists()


def test_an_export_writes_only_the_environment_a_condition_reads(
    cli: Cli, write_config: Any, tmp_path: Path
) -> None:
    write_config("http://127.0.0.1:9", vars={"mode": "on", "other": "not-for-ssm"})
    book = tmp_path / "reads.yaml"
    book.write_text(yaml.safe_dump({"name": "reads", "steps": [
        {"name": "a", "when": "env.vars.mode == 'on' && params.x", "sleep": 0}],
        "parameters": {"x": {"type": "string", "default": "y"}}}))  # fmt: skip
    out = tmp_path / "doc.json"
    assert cli("runbooks", "export", str(book), "--out", str(out)).code == 0
    text = out.read_text()
    assert '"mode": "on"' in text and "not-for-ssm" not in text


def test_bad_input_sends_nothing_even_with_globals(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    doc = tmp_path / "Globals.yaml"
    doc.write_text("""\
schemaVersion: '0.3'
parameters:
  Targets: {type: StringList, allowedValues: [web, api]}
mainSteps:
  - name: Put
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: '/{{ global:ACCOUNT_ID }}', Value: x,
             Type: String}
""")
    moto.forget_requests()
    result = cli("--yes", "run", str(doc), "-p", "Targets=web,prod")
    assert result.code == 2 and "'prod' is not one of web, api" in result.err
    assert moto.requests == []


def test_a_nested_documents_rules_hold_for_what_is_passed(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "Child.yaml").write_text("""\
schemaVersion: '0.3'
parameters:
  Env: {type: String, allowedValues: [dev, staging]}
mainSteps:
  - {name: Wait, action: aws:sleep, inputs: {Duration: PT0S}}
""")
    parent = """\
schemaVersion: '0.3'
parameters:
  Env: {type: String}
mainSteps:
  - name: Run
    action: aws:executeAutomation
    inputs: {DocumentName: Child, RuntimeParameters: {Env: ['{{ Env }}']}}
"""
    (tmp_path / "Parent.yaml").write_text(parent)
    refused = cli("--yes", "run", str(tmp_path / "Parent.yaml"), "-p", "Env=prod")
    assert refused.code == 2 and "'prod' is not one of dev, staging" in refused.err
    assert cli("--yes", "run", str(tmp_path / "Parent.yaml"), "-p", "Env=dev").code == 0
    elsewhere = parent.replace("RuntimeParameters:", "TargetLocations: [{Accounts: ['1']}], "
                               "RuntimeParameters:")  # fmt: skip
    (tmp_path / "Elsewhere.yaml").write_text(elsewhere)
    result = cli("runbooks", "validate", str(tmp_path / "Elsewhere.yaml"))
    assert result.code == 2 and "TargetLocations on aws:executeAutomation" in result.err


def test_exported_conditions_read_text_parameters_as_hybridops_types_them(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    book = tmp_path / "typed.yaml"
    book.write_text(yaml.safe_dump({
        "name": "typed",
        "parameters": {"rate": {"type": "number", "default": 1.5}, "n": {"type": "integer"}},
        "steps": [
            {"name": "fast", "when": "params.rate > `1`", "aws": _put("/fast", "x")},
            {"name": "five", "when": "params.n == `5`", "aws": _put("/five", "x")},
            {"name": "plan", "when": "`false`",
             "action": {"name": "ecs.plan_scale",
                        "inputs": {"cluster": "c", "service": "s", "to": "${{ params.n }}"}}},
        ],
    }))  # fmt: skip
    document = tmp_path / "Typed.json"
    assert cli("runbooks", "export", str(book), "--out", str(document)).code == 0
    client = moto.client("ssm")
    for path in (book, document):
        for name in ("/fast", "/five"):
            if _value(client, name) is not None:
                client.delete_parameter(Name=name)
        ran = cli("--yes", "run", str(path), "-p", "n=5")
        assert ran.code == 0, (path.name, ran.err[-1500:])
        assert (_value(client, "/fast"), _value(client, "/five")) == ("x", "x"), path.name


def test_pattern_classes_are_ascii_as_in_java() -> None:
    import re

    assert re.fullmatch(python_pattern(r"^\d+$", "here"), "123")
    assert not re.fullmatch(python_pattern(r"^\d+$", "here"), "٣")
    assert not re.fullmatch(python_pattern(r"^[\w-]+$", "here"), "é")


def test_a_script_wait_longer_than_ssm_allows_says_so() -> None:
    from hybridops.ssm.step_script import script_text

    namespace: dict[str, Any] = {}
    sys.modules["boto3"] = types.ModuleType("boto3")
    try:
        exec(compile(script_text(), "step", "exec"), namespace)
        with pytest.raises(ValueError, match="over SSM's 600s limit for a script"):
            namespace["hybridops_step"](
                {"kind": "wait", "step": "s", "timeout_s": 900, "interval_s": 1,
                 "call": {}, "until": {}}, {}
            )  # fmt: skip
    finally:
        del sys.modules["boto3"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("  - {name: A, action: aws:sleep, inputs: {Duration: P8D}}\n", "over SSM's 7 days"),
        ("  - {name: A, action: aws:sleep, inputs: {Duration: PT0S}}\n"
         "  - {name: A, action: aws:sleep, inputs: {Duration: PT0S}}\n", "two steps are named A"),
    ],
)  # fmt: skip
def test_refused_at_validation_too(cli: Cli, tmp_path: Path, text: str, said: str) -> None:
    doc = tmp_path / "Doc.yaml"
    doc.write_text("schemaVersion: '0.3'\nmainSteps:\n" + text)
    result = cli("runbooks", "validate", str(doc))
    assert result.code == 2 and said in result.err, result.err


def test_a_confirmation_names_the_role_that_will_make_the_change(ssm: Any, tmp_path: Path) -> None:
    doc = tmp_path / "Role.yaml"
    doc.write_text(f"""\
schemaVersion: '0.3'
assumeRole: '{ROLE}'
mainSteps:
  - name: Change
    action: aws:executeAwsApi
    inputs: {{Service: ssm, Api: PutParameter, Name: /flag, Value: changed, Overwrite: true}}
""")
    asked = Cli(tty=True, answers=["n"])
    result = asked("run", str(doc))
    assert result.code == 3
    (prompt,) = asked.prompts
    assert prompt.startswith("In test (123456789012, eu-central-1, as Narrow):\n")
    assert _value(ssm, "/flag") == "original"
