"""SSM Automation documents (schema 0.3) run as they are, through the gate (issue 21, part)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybridops.ssm.automation import runbook_name, seconds, selector_path, snake, step_name
from tests.support import Cli, MotoServer
from tests.support import parameter_value as _value

CLUSTER, SERVICE = "ops-cluster", "web"

# Written the way AWS's published Automation documents are (AWS-*, AWSResilienceHub-*): typed
# parameters, an assume-role parameter left empty, Selector outputs, wait and assert steps.
SCALE_DOCUMENT = """\
description: Scale an ECS service and wait until ECS reports the new desired count
schemaVersion: '0.3'
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  ClusterName:
    type: String
    description: (Required) The cluster
    allowedPattern: '^[A-Za-z0-9_-]{1,255}$'
  ServiceName:
    type: String
    description: (Required) The service
  NumberOfTasks:
    type: Integer
    description: (Required) The desired number of tasks
  AutomationAssumeRole:
    type: String
    default: ''
mainSteps:
  - name: GetCurrentCount
    action: aws:executeAwsApi
    inputs:
      Service: ecs
      Api: DescribeServices
      cluster: '{{ ClusterName }}'
      services: ['{{ ServiceName }}']
    outputs:
      - Name: DesiredCount
        Selector: $.services[0].desiredCount
        Type: Integer
  - name: UpdateDesiredCount
    action: aws:executeAwsApi
    inputs:
      Service: ecs
      Api: UpdateService
      cluster: '{{ ClusterName }}'
      service: '{{ ServiceName }}'
      desiredCount: '{{ NumberOfTasks }}'
  - name: WaitForDesiredCount
    action: aws:waitForAwsResourceProperty
    timeoutSeconds: 60
    inputs:
      Service: ecs
      Api: DescribeServices
      cluster: '{{ ClusterName }}'
      services: ['{{ ServiceName }}']
      PropertySelector: $.services[0].desiredCount
      DesiredValues: ['{{ NumberOfTasks }}']
  - name: AssertActive
    action: aws:assertAwsResourceProperty
    inputs:
      Service: ecs
      Api: DescribeServices
      cluster: '{{ ClusterName }}'
      services: ['{{ ServiceName }}']
      PropertySelector: $.services[0].status
      DesiredValues: [ACTIVE]
  - name: Settle
    action: aws:sleep
    inputs:
      Duration: PT0S
"""


@pytest.fixture
def service(moto: MotoServer, write_config: Any) -> Any:
    """An ECS service with 2 tasks on the moto server, and an environment pointing at it."""
    write_config(moto.url)
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    arn = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "w", "image": "w:1", "memory": 256}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=arn, desiredCount=2)
    moto.forget_requests()
    return ecs


def _desired(ecs: Any) -> int:
    return int(
        ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["desiredCount"]
    )


def _document(tmp_path: Path, text: str = SCALE_DOCUMENT, name: str = "Scale-ECS.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_document_runs_as_it_is_and_reaches_its_end_state(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    params = ["-p", f"ClusterName={CLUSTER}", "-p", f"ServiceName={SERVICE}"]
    result = cli("--yes", "-o", "json", "run", str(doc), *params, "-p", "NumberOfTasks=4")
    assert result.code == 0, result.err
    assert _desired(service) == 4  # checked in AWS, not in hybridops' output
    assert "UpdateService" in moto.requests  # what the dry-run test counts is counted
    run = json.loads(result.out)
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["get-current-count"]["outputs"] == {"DesiredCount": 2}
    assert list(steps) == [
        "assume-role",
        "get-current-count",
        "update-desired-count",
        "wait-for-desired-count",
        "assert-active",
        "settle",
    ]
    # Every change went through the gate: audited.
    audit = cli("-o", "json", "audit").json()["records"]
    assert [(r["operation"], r["outcome"]) for r in audit if r["outcome"] != "started"] == [
        ("update_service", "succeeded")
    ]


def test_a_dry_run_sends_no_mutating_request(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    params = ["-p", f"ClusterName={CLUSTER}", "-p", f"ServiceName={SERVICE}"]
    result = cli("--dry-run", "run", str(doc), *params, "-p", "NumberOfTasks=4")
    assert result.code == 0, result.err
    assert "UpdateService" not in moto.requests  # counted at the server
    assert "DescribeServices" in moto.requests  # the reads were made: a real plan
    assert _desired(service) == 2


def test_parameters_are_typed_and_checked_as_ssm_does(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    bad_number = cli("run", str(doc), "-p", f"ClusterName={CLUSTER}", "-p",
                     f"ServiceName={SERVICE}", "-p", "NumberOfTasks=four")  # fmt: skip
    assert bad_number.code == 2 and "NumberOfTasks" in bad_number.err
    bad_pattern = cli("run", str(doc), "-p", "ClusterName=no spaces!", "-p",
                      f"ServiceName={SERVICE}", "-p", "NumberOfTasks=3")  # fmt: skip
    assert bad_pattern.code == 2 and "ClusterName" in bad_pattern.err
    missing = cli("run", str(doc), "-p", f"ClusterName={CLUSTER}")
    assert missing.code == 2 and "ServiceName" in missing.err
    assert "UpdateService" not in moto.requests and _desired(service) == 2


def test_the_role_given_is_assumed_and_the_run_is_audited_as_it(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    role = "arn:aws:iam::123456789012:role/Automation"
    result = cli("--yes", "-o", "json", "run", str(doc), "-p", f"ClusterName={CLUSTER}", "-p",
                 f"ServiceName={SERVICE}", "-p", "NumberOfTasks=3", "-p",
                 f"AutomationAssumeRole={role}")  # fmt: skip
    assert result.code == 0, result.err
    assert _desired(service) == 3
    # AssumeRole came before the change, and the change was made as the role.
    assert moto.requests.index("AssumeRole") < moto.requests.index("UpdateService")
    steps = {s["name"]: s for s in json.loads(result.out)["steps"]}
    assumed = steps["assume-role"]["outputs"]["runs_as"]
    assert assumed.startswith("arn:aws:sts::123456789012:assumed-role/Automation/hybridops-")
    audit = cli("-o", "json", "audit").json()["records"]
    changed = [r for r in audit if r["operation"] == "update_service"]
    assert changed and all(r["caller_arn"] == assumed for r in changed)


def test_an_empty_role_runs_as_yourself_and_says_so(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    result = cli("--yes", "-o", "json", "run", str(doc), "-p", f"ClusterName={CLUSTER}", "-p",
                 f"ServiceName={SERVICE}", "-p", "NumberOfTasks=3")  # fmt: skip
    assert result.code == 0, result.err
    steps = {s["name"]: s for s in json.loads(result.out)["steps"]}
    assert steps["assume-role"]["outputs"]["runs_as"] == (
        "the environment's credentials (no role given)"
    )
    assert "AssumeRole" not in moto.requests


def test_a_role_that_is_not_a_role_arn_is_refused_before_any_change(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    result = cli("--yes", "run", str(doc), "-p", f"ClusterName={CLUSTER}", "-p",
                 f"ServiceName={SERVICE}", "-p", "NumberOfTasks=3", "-p",
                 "AutomationAssumeRole=admin")  # fmt: skip
    assert result.code == 2
    assert "'admin' is not an IAM role ARN" in result.err
    assert _desired(service) == 2
    assert "UpdateService" not in moto.requests


# onFailure step:X, isCritical, onCancel step:X — the control flow AWS's Resilience Hub SOPs use.
FLOW_DOCUMENT = """\
description: Change a flag; on failure restore it; on cancel clean up
schemaVersion: '0.3'
parameters:
  Fail:
    type: String
    default: 'no'
  Wait:
    type: String
    default: PT0S
mainSteps:
  - name: Change
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /flag, Value: changed, Overwrite: true}
  - name: Check
    action: aws:assertAwsResourceProperty
    onFailure: step:Restore
    onCancel: step:Cleanup
    inputs:
      Service: ssm
      Api: GetParameter
      Name: /flag
      PropertySelector: $.Parameter.Value
      DesiredValues: ['{{ Fail }}', changed]
  - name: Hold
    action: aws:sleep
    onCancel: step:Cleanup
    inputs: {Duration: '{{ Wait }}'}
  - name: Done
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /done, Value: 'yes', Type: String}
    isEnd: true
  - name: Restore
    action: aws:executeAwsApi
    isCritical: false
    onFailure: Continue
    inputs: {Service: ssm, Api: PutParameter, Name: /flag, Value: original, Overwrite: true}
    isEnd: true
  - name: Cleanup
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /flag, Value: cleaned, Overwrite: true}
"""


@pytest.fixture
def flag(moto: MotoServer, write_config: Any) -> Any:
    """SSM /flag = original on the moto server."""
    write_config(moto.url)
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/flag", Value="original", Type="String")
    moto.forget_requests()
    return ssm


def test_on_success_the_normal_path_runs_and_the_failure_paths_do_not(
    cli: Cli, flag: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path, FLOW_DOCUMENT, "Flow.yaml")
    result = cli("--yes", "-o", "json", "run", str(doc))
    assert result.code == 0, result.err
    assert (_value(flag, "/flag"), _value(flag, "/done")) == ("changed", "yes")
    status = {s["name"]: s["status"] for s in json.loads(result.out)["steps"]}
    assert status == {"change": "succeeded", "check": "succeeded", "hold": "succeeded",
                      "done": "succeeded", "restore": "skipped", "cleanup": "skipped"}  # fmt: skip


def test_on_failure_control_goes_to_the_named_step_and_the_run_fails(
    cli: Cli, flag: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path, FLOW_DOCUMENT.replace("'{{ Fail }}', changed", "'{{ Fail }}'"),
                    "Flow.yaml")  # fmt: skip
    result = cli("--yes", "-o", "json", "run", str(doc))
    assert result.code == 1  # a critical step failed: SSM reports Failed, and so do we
    assert _value(flag, "/flag") == "original"  # Restore ran: checked in AWS
    assert _value(flag, "/done") is None
    run = json.loads(result.out)
    status = {s["name"]: s["status"] for s in run["steps"]}
    assert status == {"change": "succeeded", "check": "failed", "hold": "skipped",
                      "done": "skipped", "restore": "succeeded", "cleanup": "skipped"}  # fmt: skip
    assert run["status"] == "failed"


def test_a_step_that_is_not_critical_fails_without_failing_the_run(
    cli: Cli, flag: Any, tmp_path: Path
) -> None:
    # /flag exists and Overwrite is not given: PutParameter fails (ParameterAlreadyExists).
    text = """\
description: A step allowed to fail
schemaVersion: '0.3'
mainSteps:
  - name: TryCreate
    action: aws:executeAwsApi
    onFailure: Continue
    isCritical: false
    inputs: {Service: ssm, Api: PutParameter, Name: /flag, Value: other, Type: String}
  - name: Done
    action: aws:executeAwsApi
    inputs: {Service: ssm, Api: PutParameter, Name: /done, Value: 'yes', Type: String}
"""
    doc = _document(tmp_path, text, "Tolerant.yaml")
    result = cli("--yes", "-o", "json", "run", str(doc))
    run = json.loads(result.out)
    assert result.code == 0, result.err
    assert {s["name"]: s["status"] for s in run["steps"]} == {
        "try-create": "failed",
        "done": "succeeded",
    }
    assert _value(flag, "/flag") == "original" and _value(flag, "/done") == "yes"
    assert any("step try-create failed and is not critical" in w for w in run["warnings"])
    # Said to a person too, not only in JSON.
    flag.delete_parameter(Name="/done")
    text_run = cli("--yes", "run", str(doc))
    assert text_run.code == 0
    assert "try-create failed and is not critical" in text_run.out + text_run.err
    # Critical (the default), the same failure fails the run after Done ran.
    critical = _document(tmp_path, text.replace("    isCritical: false\n", ""), "Critical.yaml")
    flag.delete_parameter(Name="/done")
    again = cli("--yes", "-o", "json", "run", str(critical))
    assert again.code == 4  # the step's AWS error is the run's
    assert json.loads(again.out)["status"] == "failed"


def test_on_cancel_the_named_step_runs_and_the_run_ends_interrupted(
    flag: Any, tmp_path: Path
) -> None:
    import signal

    from tests.test_signals import _signal_when, _start

    doc = _document(tmp_path, FLOW_DOCUMENT, "Flow.yaml")
    proc = _start("--yes", "-o", "json", "run", str(doc), "-p", "Wait=PT10M")
    _signal_when(proc, " hold: ", signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert _value(flag, "/flag") == "cleaned"  # Cleanup ran: checked in AWS
    assert _value(flag, "/done") is None
    run = json.loads(out)
    status = {s["name"]: s["status"] for s in run["steps"]}
    assert status == {"change": "succeeded", "check": "succeeded", "hold": "interrupted",
                      "done": "not_run", "restore": "not_run", "cleanup": "succeeded"}  # fmt: skip
    assert run["status"] == "interrupted"


def test_on_failure_and_on_cancel_must_name_a_later_step(cli: Cli, tmp_path: Path) -> None:
    for bad, said in (
        ("onFailure: step:Restore", "onFailure: step:Nowhere"),
        (
            "onCancel: step:Cleanup\n    inputs:\n      Service",
            "onCancel: step:Change\n    inputs:\n      Service",
        ),
    ):
        doc = _document(tmp_path, FLOW_DOCUMENT.replace(bad, said, 1), "Flow.yaml")
        result = cli("runbooks", "validate", str(doc))
        assert result.code == 2, result.err
        assert "Nowhere" in result.err or "onCancel step:Change goes back" in result.err


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("action: aws:sleep", "action: aws:runCommand"), "action aws:runCommand is not supported"),
        (("Duration: PT0S", "Duration: soon"), "is not an ISO 8601 duration"),
        (("'{{ NumberOfTasks }}'", "'{{ global:AWS_URL_SUFFIX }}'"), "global:AWS_URL_SUFFIX"),
        (("$.services[0].status", "$..status.name"), "recursive selector"),
        (("desiredCount: '{{ NumberOfTasks }}'", "desiredCount: '${{ env.notify }}'"), "'${{'"),
        (("default: ''", "default: '${{ env.profile }}'"), "the default contains '${{'"),
    ],
)
def test_what_cannot_be_run_is_named_before_anything_runs(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path, change: tuple[str, str], said: str
) -> None:
    doc = _document(tmp_path, SCALE_DOCUMENT.replace(*change, 1))
    result = cli("runbooks", "validate", str(doc))
    assert result.code == 2
    assert said in result.err and str(doc) in result.err
    assert moto.requests == []


def test_a_json_document_is_read_too(cli: Cli, tmp_path: Path) -> None:
    import yaml

    doc = tmp_path / "Scale-ECS.json"
    doc.write_text(json.dumps(yaml.safe_load(SCALE_DOCUMENT)))
    shown = cli("runbooks", "show", str(doc))
    assert shown.code == 0, shown.err
    assert "update-desired-count (changes)" in shown.out


def test_names_selectors_and_durations() -> None:
    assert runbook_name("AWS-RestartECSService") == "aws-restartecsservice"
    assert step_name("ChangeTaskDefinition") == "change-task-definition"
    assert snake("UpdateService") == "update_service"
    assert snake("DescribeDBInstances") == "describe_db_instances"
    assert selector_path("$.Services[0].DesiredCount", "x") == "Services[0].DesiredCount"
    assert seconds("PT1H2M3S", "x") == 3723
    assert seconds("P1D", "x") == 86400


def test_import_writes_a_native_runbook_that_runs_the_same(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path)
    native = tmp_path / "scale.yaml"
    result = cli("runbooks", "import", str(doc), "--out", str(native))
    assert result.code == 0, result.err
    text = native.read_text()
    assert "operation: update_service" in text and "${{ params.NumberOfTasks }}" in text
    assert cli("runbooks", "validate", str(native)).code == 0
    ran = cli("--yes", "run", str(native), "-p", f"ClusterName={CLUSTER}", "-p",
              f"ServiceName={SERVICE}", "-p", "NumberOfTasks=5")  # fmt: skip
    assert ran.code == 0, ran.err
    assert _desired(service) == 5
    not_a_document = cli("runbooks", "import", str(native))
    assert not_a_document.code == 2 and "not an SSM Automation document" in not_a_document.err


GLOBALS_DOCUMENT = """\
schemaVersion: '0.3'
description: Record when and in which account a change was made
parameters:
  Prefix: {type: String, default: /ops}
outputs:
  - Record.Version
mainSteps:
  - name: Record
    action: aws:executeAwsApi
    inputs:
      Service: ssm
      Api: PutParameter
      Name: '{{ Prefix }}/{{ global:ACCOUNT_ID }}/{{ global:REGION }}/last-change'
      Value: '{{ global:DATE_TIME }} by {{ automation:EXECUTION_ID }}'
      Type: String
      Overwrite: true
    outputs:
      - {Name: Version, Selector: $.Version, Type: Integer}
"""


def test_globals_and_document_outputs(cli: Cli, moto: MotoServer, write_config: Any,
                                      tmp_path: Path) -> None:  # fmt: skip
    write_config(moto.url)
    doc = _document(tmp_path, GLOBALS_DOCUMENT, "Record-Change.yaml")
    result = cli("--yes", "-o", "json", "run", str(doc))
    assert result.code == 0, result.err
    run = json.loads(result.out)
    name = "/ops/123456789012/eu-central-1/last-change"  # moto's account, the env's region
    value = moto.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d\.\d\d\.\d\d by " + re.escape(run["run_id"]), value)
    assert run["report"][0]["title"] == "Outputs"
    assert run["report"][0]["fields"] == {"Record.Version": 1}  # the first version


BRANCH_DOCUMENT = """\
schemaVersion: '0.3'
description: Scale up only when the service runs fewer tasks than asked
parameters:
  ClusterName: {type: String}
  ServiceName: {type: String}
  AtLeast: {type: Integer, default: 4}
  Mode: {type: String, default: apply, allowedValues: [apply, report]}
mainSteps:
  - name: GetCount
    action: aws:executeAwsApi
    inputs: {Service: ecs, Api: DescribeServices, cluster: '{{ ClusterName }}',
             services: ['{{ ServiceName }}']}
    outputs:
      - {Name: Desired, Selector: '$.services[0].desiredCount', Type: Integer}
  - name: Decide
    action: aws:branch
    inputs:
      Choices:
        - And:
            - {Variable: '{{ GetCount.Desired }}', NumericLesser: 4}
            - Not: {Variable: '{{ Mode }}', StringEquals: report}
          NextStep: ScaleUp
      Default: NothingToDo
  - name: ScaleUp
    action: aws:executeAwsApi
    inputs: {Service: ecs, Api: UpdateService, cluster: '{{ ClusterName }}',
             service: '{{ ServiceName }}', desiredCount: '{{ AtLeast }}'}
    isEnd: true
  - name: NothingToDo
    action: aws:sleep
    inputs: {Duration: PT0S}
"""


@pytest.mark.parametrize(
    ("extra", "desired", "ran"),
    [
        ([], 4, "scale-up"),
        (["-p", "Mode=report"], 2, "nothing-to-do"),
    ],
)
def test_a_branch_runs_the_chosen_steps_only(
    cli: Cli,
    moto: MotoServer,
    service: Any,
    tmp_path: Path,
    extra: list[str],
    desired: int,
    ran: str,
) -> None:
    doc = _document(tmp_path, BRANCH_DOCUMENT, "Scale-If-Needed.yaml")
    result = cli("--yes", "-o", "json", "run", str(doc), "-p", f"ClusterName={CLUSTER}", "-p",
                 f"ServiceName={SERVICE}", *extra)  # fmt: skip
    assert result.code == 0, result.err
    assert _desired(service) == desired
    statuses = {s["name"]: s["status"] for s in json.loads(result.out)["steps"]}
    other = {"scale-up", "nothing-to-do"} - {ran}
    assert statuses[ran] == "succeeded" and statuses[other.pop()] == "skipped"


def test_a_loop_is_valid_and_shown_as_a_jump_back(cli: Cli, tmp_path: Path) -> None:
    looping = BRANCH_DOCUMENT.replace("Default: NothingToDo", "Default: GetCount")
    doc = _document(tmp_path, looping, "Loop.yaml")
    assert cli("runbooks", "validate", str(doc)).code == 0
    shown = cli("runbooks", "show", str(doc))
    assert shown.code == 0
    assert "then back to get-count when" in shown.out  # tests/test_ssm_loops.py runs loops


SCRIPT_DOCUMENT = """\
schemaVersion: '0.3'
description: Scale through a Python script, as Resilience Hub SOPs do
parameters:
  ClusterName: {type: String}
  ServiceName: {type: String}
  NumberOfTasks: {type: Integer}
mainSteps:
  - name: ScaleWithScript
    action: aws:executeScript
    timeoutSeconds: 60
    inputs:
      Runtime: python3.8
      Handler: scale
      InputPayload:
        Cluster: '{{ ClusterName }}'
        Service: '{{ ServiceName }}'
        Count: '{{ NumberOfTasks }}'
      Script: |-
        import boto3
        from botocore.exceptions import ClientError


        def scale(events, context):
            import os
            assert not [k for k in os.environ if k.startswith(('AWS_', 'HYBRIDOPS_C'))], 'env'
            ecs = boto3.client('ecs')
            before = ecs.describe_services(cluster=events['Cluster'],
                                           services=[events['Service']])['services'][0]
            print('scaling from', before['desiredCount'])
            try:
                ecs.describe_services(cluster='no-such-cluster', services=['x'])
            except ClientError as error:
                print('caught', error.response['Error']['Code'])
            ecs.update_service(cluster=events['Cluster'], service=events['Service'],
                               desiredCount=int(events['Count']))
            return {'Previous': before['desiredCount'], 'Asked': int(events['Count'])}
    outputs:
      - {Name: Previous, Selector: $.Payload.Previous, Type: Integer}
"""


def _script_run(cli: Cli, doc: Path, *extra: str) -> Any:
    return cli(*extra, "-o", "json", "run", str(doc), "-p", f"ClusterName={CLUSTER}", "-p",
               f"ServiceName={SERVICE}", "-p", "NumberOfTasks=6")  # fmt: skip


def test_a_script_runs_with_its_boto3_calls_through_the_gate(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path, SCRIPT_DOCUMENT, "Scale-By-Script.yaml")
    result = _script_run(cli, doc, "--yes")
    assert result.code == 0, result.err
    assert _desired(service) == 6
    step = json.loads(result.out)["steps"][0]
    assert step["outputs"]["Previous"] == 2
    assert step["outputs"]["printed"] == "scaling from 2\ncaught ClusterNotFoundException\n"
    # A person reads what runs (the handler, its size, its input), not the script's first line.
    assert "1/1 scale-with-script mutating: python script scale() (18 lines) with" in result.err
    assert ' lines) with {"Cluster":' in result.err
    assert step["mutating"] is True
    # Running the script is a change of its own; its call inside is audited as well.
    audit = cli("-o", "json", "audit").json()["records"]
    done = [(r["operation"], r["outcome"]) for r in audit if r["outcome"] != "started"]
    assert sorted(done) == [("execute_script", "succeeded"), ("update_service", "succeeded")]


def test_a_scripts_change_is_planned_in_a_dry_run_and_refused_read_only(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    doc = _document(tmp_path, SCRIPT_DOCUMENT, "Scale-By-Script.yaml")
    planned = _script_run(cli, doc, "--dry-run")
    assert planned.code == 0, planned.err
    run = json.loads(planned.out)
    assert run["steps"][0]["status"] == "planned"
    # A script is code: a dry run plans running it and runs nothing (code could reach AWS by
    # other ways than the proxy, and a dry run promises nothing is sent).
    assert [(c["operation"], c["sent"]) for c in run["calls"]] == [("execute_script", False)]
    assert moto.requests == []
    refused = _script_run(cli, doc, "--read-only")
    assert refused.code == 3
    assert _desired(service) == 2


def test_a_scripts_failure_and_timeout_fail_the_step(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    failing = SCRIPT_DOCUMENT.replace(
        "            ecs = boto3.client('ecs')", "            raise ValueError('no capacity left')"
    )
    assert failing != SCRIPT_DOCUMENT
    doc = _document(tmp_path, failing, "Fails.yaml")
    result = _script_run(cli, doc, "--yes")
    assert result.code == 1
    assert "the script failed: ValueError: no capacity left" in json.dumps(json.loads(result.out))
    slow = SCRIPT_DOCUMENT.replace("timeoutSeconds: 60", "timeoutSeconds: 1").replace(
        "            ecs = boto3.client('ecs')",
        "            import threading\n            threading.Event().wait(30)",
    )
    result = _script_run(cli, _document(tmp_path, slow, "Slow.yaml"), "--yes")
    assert result.code == 5
    assert _desired(service) == 2


TEAM_RUNBOOK = """\
name: scale-web
description: Scale the web service to a count and wait for it
parameters:
  cluster: {type: string, default: "${{ env.cluster }}"}
  service: {type: string}
  count: {type: integer, minimum: 0, maximum: 20}
steps:
  - name: describe
    aws:
      service: ecs
      operation: describe_services
      params: {cluster: "${{ params.cluster }}", services: ["${{ params.service }}"]}
    outputs: {before: "services[0].desiredCount"}
    expect: {"services[0].status": ACTIVE}
  - name: go
    confirm: {message: "Scale ${{ params.service }} to ${{ params.count }} tasks"}
  - name: update
    aws:
      service: ecs
      operation: update_service
      params: {cluster: "${{ params.cluster }}", service: "${{ params.service }}",
               desiredCount: "${{ params.count }}"}
  - name: settle
    wait:
      aws:
        service: ecs
        operation: describe_services
        params: {cluster: "${{ params.cluster }}", services: ["${{ params.service }}"]}
      until: {"services[0].desiredCount": "${{ params.count }}"}
      timeout_s: 60
      interval_s: 0.1
  - name: breathe
    sleep: {seconds: 0}
"""


def test_export_writes_a_document_ssm_accepts_and_that_runs_back_the_same(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path, write_config: Any
) -> None:
    write_config(moto.url, cluster=CLUSTER)
    book = tmp_path / "scale-web.yaml"
    book.write_text(TEAM_RUNBOOK)
    exported = tmp_path / "Scale-Web.json"
    result = cli("runbooks", "export", str(book), "--format", "ssm", "--out", str(exported))
    assert result.code == 0, result.err
    document = json.loads(exported.read_text())
    assert document["schemaVersion"] == "0.3"
    assert document["parameters"]["cluster"]["default"] == CLUSTER  # env.* written in
    assert [s["action"] for s in document["mainSteps"]] == [
        "aws:executeScript",  # count's minimum and maximum, which SSM's types cannot say
        "aws:executeAwsApi",
        "aws:assertAwsResourceProperty",
        "aws:approve",
        "aws:executeAwsApi",
        "aws:waitForAwsResourceProperty",
        "aws:sleep",
    ]
    # SSM itself accepts it as an Automation document.
    created = moto.client("ssm").create_document(
        Content=exported.read_text(),
        Name="Scale-Web",
        DocumentType="Automation",
        DocumentFormat="JSON",
    )
    assert created["DocumentDescription"]["Status"] in ("Creating", "Active")
    # ...and it runs back through hybridops to the same end state as the original.
    approvers = "Approvers=arn:aws:iam::123456789012:role/OnCall"
    ran = cli("--yes", "run", str(exported), "-p", f"service={SERVICE}", "-p", "count=7", "-p",
              approvers)  # fmt: skip
    assert ran.code == 0, ran.err
    assert _desired(service) == 7


@pytest.mark.parametrize(
    ("runbook", "said"),
    [
        ("rollback-service", "action ecs.rollback_target (it picks the revision from hybridops'"),
    ],
)
def test_what_export_cannot_express_is_refused_by_name(
    cli: Cli, tmp_path: Path, runbook: str, said: str
) -> None:
    out = tmp_path / "doc.json"
    result = cli("runbooks", "export", runbook, "--out", str(out))
    assert result.code == 2
    assert said in result.err and "nothing was written" in result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("schemaVersion: '0.3'\nmainSteps: []\n", "mainSteps must be a non-empty list"),
        ("schemaVersion: '0.3'\nmainSteps: [hello]\n", "mainSteps[0] must be a mapping"),
        (
            "schemaVersion: '0.3'\nparameters: {X: hello}\nmainSteps:\n"
            "  - {name: S, action: 'aws:sleep', inputs: {Duration: PT0S}}\n",
            "parameters must map names to mappings",
        ),
        (
            "schemaVersion: '0.3'\nmainSteps:\n  - {action: 'aws:sleep'}\n",
            "needs a name",
        ),
        (
            "schemaVersion: '0.3'\nmainSteps:\n"
            "  - {name: S, action: 'aws:sleep', maxAttempts: abc, inputs: {Duration: PT0S}}\n",
            "maxAttempts must be an integer",
        ),
        (
            "schemaVersion: '0.3'\nmainSteps:\n  - name: B\n    action: aws:branch\n"
            "    inputs: {Choices: [5], Default: S}\n"
            "  - {name: S, action: 'aws:sleep', inputs: {Duration: PT0S}}\n",
            "malformed Automation document",
        ),
        (
            "schemaVersion: '0.3'\nmainSteps:\n  - name: B\n    action: aws:branch\n"
            "    inputs:\n      Choices:\n"
            "        - {Variable: '{{ S.X\" || `true` || \"y }}', StringEquals: a, NextStep: S}\n"
            "  - {name: S, action: 'aws:sleep', inputs: {Duration: PT0S}}\n",
            "is not a reference",
        ),
    ],
)
def test_a_malformed_document_is_one_line_exit_2(
    cli: Cli, tmp_path: Path, text: str, said: str
) -> None:
    result = cli("runbooks", "validate", str(_document(tmp_path, text, "Bad.yaml")))
    assert result.code == 2, result.err
    assert said in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) <= 2  # the error, and maybe its hint


def test_a_script_speaking_garbage_fails_its_step_cleanly(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    garbage = SCRIPT_DOCUMENT.replace(
        "            ecs = boto3.client('ecs')",
        "            os.write(int(os.environ['HYBRIDOPS_SCRIPT_REQUESTS']), b'not json\\n')\n"
        "            ecs = boto3.client('ecs')",
    )
    assert garbage != SCRIPT_DOCUMENT
    result = _script_run(cli, _document(tmp_path, garbage, "Garbage.yaml"), "--yes")
    assert result.code == 1
    assert "not a request" in result.out
    assert _desired(service) == 2


CHILD_DOCUMENT = """\
schemaVersion: '0.3'
description: Set a service's desired count
parameters:
  Cluster: {type: String}
  Service: {type: String}
  Count: {type: Integer, default: 3}
mainSteps:
  - name: Update
    action: aws:executeAwsApi
    inputs: {Service: ecs, Api: UpdateService, cluster: '{{ Cluster }}',
             service: '{{ Service }}', desiredCount: '{{ Count }}'}
"""

PARENT_DOCUMENT = """\
schemaVersion: '0.3'
description: Run the child document, then check
parameters:
  ClusterName: {type: String}
  ServiceName: {type: String}
mainSteps:
  - name: RunChild
    action: aws:executeAutomation
    inputs:
      DocumentName: Set-Count
      RuntimeParameters:
        Cluster: ['{{ ClusterName }}']
        Service: ['{{ ServiceName }}']
  - name: Check
    action: aws:assertAwsResourceProperty
    inputs: {Service: ecs, Api: DescribeServices, cluster: '{{ ClusterName }}',
             services: ['{{ ServiceName }}'], PropertySelector: '$.services[0].desiredCount',
             DesiredValues: ['3']}
"""


def test_a_nested_document_beside_it_runs_inlined(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path
) -> None:
    _document(tmp_path, CHILD_DOCUMENT, "Set-Count.yaml")
    parent = _document(tmp_path, PARENT_DOCUMENT, "Parent.yaml")
    result = cli("--yes", "-o", "json", "run", str(parent), "-p", f"ClusterName={CLUSTER}",
                 "-p", f"ServiceName={SERVICE}")  # fmt: skip
    assert result.code == 0, result.err
    assert _desired(service) == 3  # the child's default, with the parent's cluster and service
    names = [s["name"] for s in json.loads(result.out)["steps"]]
    # The child's steps, named under the parent's, then the marker that it ran.
    assert names == ["run-child-update", "run-child", "check"]
    missing = PARENT_DOCUMENT.replace("DocumentName: Set-Count", "DocumentName: Not-There")
    refused = cli("runbooks", "validate", str(_document(tmp_path, missing, "Missing.yaml")))
    assert refused.code == 2 and "document Not-There not found beside" in refused.err
    looping = PARENT_DOCUMENT.replace("DocumentName: Set-Count", "DocumentName: Loops")
    _document(tmp_path, looping, "Loops.yaml")
    cycle = cli("runbooks", "validate", str(tmp_path / "Loops.yaml"))
    assert cycle.code == 2 and "runs itself" in cycle.err


def test_a_nested_document_by_path_or_from_the_documents_folder(
    cli: Cli, moto: MotoServer, service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    _document(library, CHILD_DOCUMENT, "Set-Count.yaml")
    params = ["-p", f"ClusterName={CLUSTER}", "-p", f"ServiceName={SERVICE}"]
    by_path = PARENT_DOCUMENT.replace(
        "DocumentName: Set-Count", "DocumentName: library/Set-Count.yaml"
    )
    result = cli("--yes", "run", str(_document(tmp_path, by_path, "ByPath.yaml")), *params)
    assert result.code == 0, result.err
    assert _desired(service) == 3
    service.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=2)
    by_name = _document(tmp_path, PARENT_DOCUMENT, "ByName.yaml")
    missing = cli("runbooks", "validate", str(by_name))
    assert missing.code == 2 and "HYBRIDOPS_SSM_DOCUMENTS" in missing.err
    monkeypatch.setenv("HYBRIDOPS_SSM_DOCUMENTS", str(library))
    found = cli("--yes", "run", str(by_name), *params)
    assert found.code == 0, found.err
    assert _desired(service) == 3
