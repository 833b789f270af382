"""AWS's published Automation documents, run as they are against moto (issue 21's corpus).

Each document comes from a public repository (tests/data/ssm_corpus/*/SOURCES.json: repository,
commit, path). Each runs twice: with --dry-run, where the server must count zero mutating
requests, and for real, where the end state the document promises is checked in AWS — never in
hybridops' output. A document that cannot run here says why in NOT_RUN (and counts as not run
in the README's result line, which test_readme_states_the_corpus_result keeps true).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from hybridops.gate.classify import is_read_only
from tests.support import Cli, MotoServer

CORPUS = Path(__file__).parent / "data" / "ssm_corpus"
ROLE = "arn:aws:iam::123456789012:role/AutomationRole"
REGION = "eu-central-1"


@dataclass
class Case:
    """One published document: what it needs in AWS, and the end state it promises."""

    document: str
    setup: Callable[[MotoServer], dict[str, str]]
    check: Callable[[MotoServer, dict[str, str]], None]


def _sources() -> dict[str, dict[str, Any]]:
    out = {}
    for sources in CORPUS.glob("*/SOURCES.json"):
        for entry in json.loads(sources.read_text()):
            out[entry["document"]] = {**entry, "dir": sources.parent}
    return out


# -- EventBridge ------------------------------------------------------------------------------
def _rule(moto: MotoServer) -> dict[str, str]:
    events = moto.client("events")
    events.put_rule(Name="nightly", ScheduleExpression="rate(5 minutes)", State="ENABLED")
    return {"RuleName": "nightly"}


def _rule_disabled(moto: MotoServer, p: dict[str, str]) -> None:
    assert moto.client("events").describe_rule(Name=p["RuleName"])["State"] == "DISABLED"


def _opsitem_rule(moto: MotoServer) -> dict[str, str]:
    params = _rule(moto)
    moto.client("events").put_targets(
        Rule="nightly",
        Targets=[{"Id": "ops", "Arn": f"arn:aws:ssm:{REGION}:123456789012:opsitem"}],
    )
    return {**params, "DedupString": "router-5xx"}


def _dedup_added(moto: MotoServer, p: dict[str, str]) -> None:
    (target,) = moto.client("events").list_targets_by_rule(Rule=p["RuleName"])["Targets"]
    template = json.loads(
        target["InputTransformer"]["InputTemplate"].replace("<", '"<').replace(">", '>"')
    )
    assert template["operationalData"]["/aws/dedup"]["value"] == '{"dedupString":"router-5xx"}'


# -- SNS --------------------------------------------------------------------------------------
def _topic_and_queue(moto: MotoServer) -> dict[str, str]:
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic = sns.create_topic(Name="oncall")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    arn = queue["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    dlq = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    return {
        "TopicArn": topic,
        "QueueUrl": url,
        "SubscriptionArn": sub,
        "DeadLetterQueueArn": dlq_arn["QueueArn"],
    }


def _publish(moto: MotoServer) -> dict[str, str]:
    made = _topic_and_queue(moto)
    return {
        "TopicArn": made["TopicArn"],
        "Message": "router failed over",
        "_queue": made["QueueUrl"],
    }


def _published(moto: MotoServer, p: dict[str, str]) -> None:
    got = moto.client("sqs").receive_message(QueueUrl=p["_queue"], MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"])["Message"] for m in got.get("Messages", [])]
    assert bodies == ["router failed over"]


def _encrypt(moto: MotoServer) -> dict[str, str]:
    made = _topic_and_queue(moto)
    key = moto.client("kms").create_key()["KeyMetadata"]["Arn"]
    return {"TopicArn": made["TopicArn"], "KmsKeyArn": key, "AutomationAssumeRole": ROLE}


def _encrypted(moto: MotoServer, p: dict[str, str]) -> None:
    attributes = moto.client("sns").get_topic_attributes(TopicArn=p["TopicArn"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == p["KmsKeyArn"]


def _dlq(moto: MotoServer) -> dict[str, str]:
    made = _topic_and_queue(moto)
    return {
        "SubscriptionArn": made["SubscriptionArn"],
        "DeadLetterQueueArn": made["DeadLetterQueueArn"],
        "AutomationAssumeRole": ROLE,
        "Dryrun": "false",
    }


def _dlq_set(moto: MotoServer, p: dict[str, str]) -> None:
    sns = moto.client("sns")
    attributes = sns.get_subscription_attributes(SubscriptionArn=p["SubscriptionArn"])
    policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == p["DeadLetterQueueArn"]


# -- Load balancers ---------------------------------------------------------------------------
def _clb(moto: MotoServer) -> dict[str, str]:
    moto.client("elb").create_load_balancer(
        LoadBalancerName="edge",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}],
        AvailabilityZones=[f"{REGION}a"],
    )
    return {"LoadBalancerName": "edge"}


def _clb_attributes(moto: MotoServer, name: str) -> dict[str, Any]:
    elb = moto.client("elb")
    return dict(
        elb.describe_load_balancer_attributes(LoadBalancerName=name)["LoadBalancerAttributes"]
    )


def _draining(moto: MotoServer, p: dict[str, str]) -> None:
    draining = _clb_attributes(moto, p["LoadBalancerName"])["ConnectionDraining"]
    assert draining == {"Enabled": True, "Timeout": 120}


def _cross_zone(moto: MotoServer, p: dict[str, str]) -> None:
    attributes = _clb_attributes(moto, p["LoadBalancerName"])
    assert attributes["CrossZoneLoadBalancing"] == {"Enabled": True}


def _subnets(moto: MotoServer) -> list[str]:
    ec2 = moto.client("ec2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    return sorted(s["SubnetId"] for s in subnets["Subnets"])[:2]


def _alb(moto: MotoServer) -> dict[str, str]:
    elbv2 = moto.client("elbv2")
    arn = elbv2.create_load_balancer(Name="router", Subnets=_subnets(moto))["LoadBalancers"][0]
    return {"LoadBalancerArn": arn["LoadBalancerArn"]}


def _alb_attribute(moto: MotoServer, arn: str, key: str) -> str:
    found = moto.client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=arn)
    return next(a["Value"] for a in found["Attributes"] if a["Key"] == key)


def _desync(moto: MotoServer) -> dict[str, str]:
    return {**_alb(moto), "DesyncMitigationMode": "strictest"}


def _desync_set(moto: MotoServer, p: dict[str, str]) -> None:
    mode = _alb_attribute(moto, p["LoadBalancerArn"], "routing.http.desync_mitigation_mode")
    assert mode == "strictest"


def _drop_headers(moto: MotoServer) -> dict[str, str]:
    return {**_alb(moto), "AutomationAssumeRole": ROLE}


def _headers_dropped(moto: MotoServer, p: dict[str, str]) -> None:
    key = "routing.http.drop_invalid_header_fields.enabled"
    assert _alb_attribute(moto, p["LoadBalancerArn"], key) == "true"


# -- Auto Scaling -----------------------------------------------------------------------------
def _image(ec2: Any) -> str:
    """An AMI of this account (moto's public ones are not loaded: MOTO_EC2_LOAD_DEFAULT_AMIS)."""
    return str(ec2.register_image(Name="router-base", RootDeviceName="/dev/xvda")["ImageId"])


def _asg(moto: MotoServer, size: int = 2) -> str:
    ec2, autoscaling = moto.client("ec2"), moto.client("autoscaling")
    image = _image(ec2)
    ec2.create_launch_template(
        LaunchTemplateName="router-lt",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="router-asg",
        LaunchTemplate={"LaunchTemplateName": "router-lt", "Version": "$Latest"},
        MinSize=1,
        MaxSize=size,
        DesiredCapacity=size,
        VPCZoneIdentifier=",".join(_subnets(moto)),
    )
    return "router-asg"


def _group(moto: MotoServer, name: str) -> dict[str, Any]:
    found = moto.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return dict(found["AutoScalingGroups"][0])


def _elb_health(moto: MotoServer) -> dict[str, str]:
    arn = _group(moto, _asg(moto))["AutoScalingGroupARN"]
    return {"AutoScalingGroupARN": arn, "AutomationAssumeRole": ROLE, "_name": "router-asg"}


def _elb_health_on(moto: MotoServer, p: dict[str, str]) -> None:
    group = _group(moto, p["_name"])
    assert (group["HealthCheckType"], group["HealthCheckGracePeriod"]) == ("ELB", 300)


def _scale_out(moto: MotoServer) -> dict[str, str]:
    return {"AutoScalingGroupName": _asg(moto), "AutomationAssumeRole": ROLE, "Dryrun": "false"}


def _scaled_out(moto: MotoServer, p: dict[str, str]) -> None:
    group = _group(moto, p["AutoScalingGroupName"])
    assert group["DesiredCapacity"] == 3  # ceil(1.5 x 2), as the document computes
    assert group["MaxSize"] >= 3


def _remove_az(moto: MotoServer) -> dict[str, str]:
    name = _asg(moto)
    zone = moto.client("ec2").describe_subnets(SubnetIds=_subnets(moto)[:1])["Subnets"][0]
    return {
        "AvailabilityZone": zone["AvailabilityZone"],
        "AutoscalingGroupName": name,
        "AutomationAssumeRole": ROLE,
        "Duration": "0",
        "_subnets": ",".join(_subnets(moto)),
    }


def _az_restored(moto: MotoServer, p: dict[str, str]) -> None:
    # The document removes the zone's subnets for Duration minutes, then puts them back.
    group = _group(moto, p["AutoscalingGroupName"])
    assert sorted(group["VPCZoneIdentifier"].split(",")) == p["_subnets"].split(",")
    assert moto.requests.count("UpdateAutoScalingGroup") == 2


def _scale_load_balanced(moto: MotoServer) -> dict[str, str]:
    return {"SubnetId": _subnets(moto)[0]}


def _load_balanced(moto: MotoServer, p: dict[str, str]) -> None:
    groups = moto.client("elbv2").describe_target_groups()["TargetGroups"]
    assert [g["TargetGroupName"] for g in groups] == ["TutorialScaleLoadBalancer"]
    # AWS's document names the group "AutoScalingGroupName" (it ignores its own parameter).
    assert _group(moto, "AutoScalingGroupName")["TargetGroupARNs"] == [groups[0]["TargetGroupArn"]]


# -- CloudWatch -------------------------------------------------------------------------------
def _instance(moto: MotoServer) -> str:
    ec2 = moto.client("ec2")
    image = _image(ec2)
    made = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    return str(made["Instances"][0]["InstanceId"])


def _cw_alarm(moto: MotoServer) -> dict[str, str]:
    instance = _instance(moto)
    return {
        "ResourceARNs": f"arn:aws:ec2:{REGION}:123456789012:instance/{instance}",
        "MetricName": "CPUUtilization",
        "Statistic": "Average",
        "Threshold": "80",
        "ComparisonOperator": "GreaterThanThreshold",
        "Period": "300",
        "_instance": instance,
    }


def _cw_alarm_made(moto: MotoServer, p: dict[str, str]) -> None:
    alarms = moto.client("cloudwatch").describe_alarms()["MetricAlarms"]
    (alarm,) = [a for a in alarms if p["_instance"] in a["AlarmName"]]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("CPUUtilization", 80.0)
    assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": p["_instance"]}]


def _ebs(moto: MotoServer) -> dict[str, str]:
    volume = moto.client("ec2").create_volume(
        AvailabilityZone=f"{REGION}a", Size=100, VolumeType="gp2"
    )
    return {
        "ResourceId": volume["VolumeId"],
        "StartTime": "2026-11-29T00:00:00",
        "EndTime": "2026-11-29T06:00:00",
    }


def _dashboard(moto: MotoServer, p: dict[str, str]) -> None:
    names = [
        d["DashboardName"] for d in moto.client("cloudwatch").list_dashboards()["DashboardEntries"]
    ]
    assert len(names) == 1 and names[0].startswith(f"AWSSupport-{p['ResourceId']}-EBS-Performance-")


# -- ECS and Lambda ---------------------------------------------------------------------------
def _ecs(moto: MotoServer) -> dict[str, str]:
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="hybrid-routing-cluster")
    task = ecs.register_task_definition(
        family="router",
        containerDefinitions=[{"name": "router", "image": "router:1", "memory": 256}],
        cpu="256",
        memory="512",
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="hybrid-routing-cluster",
        serviceName="hybrid-router-service",
        taskDefinition=task,
        desiredCount=2,
        launchType="EC2",
    )
    # The new revision given (moto's task definitions lack registeredAt, which the document's
    # copy-with-new-CPU path reads).
    new = ecs.register_task_definition(
        family="router",
        containerDefinitions=[{"name": "router", "image": "router:2", "memory": 256}],
    )["taskDefinition"]["taskDefinitionArn"]
    return {
        "ClusterName": "hybrid-routing-cluster",
        "ServiceName": "hybrid-router-service",
        "NumberOfTasks": "4",
        "NewTaskDefinitionArn": new,
        "AutomationAssumeRole": ROLE,
    }


def _ecs_scaled(moto: MotoServer, p: dict[str, str]) -> None:
    service = moto.client("ecs").describe_services(
        cluster=p["ClusterName"], services=[p["ServiceName"]]
    )["services"][0]
    assert (service["desiredCount"], service["taskDefinition"]) == (4, p["NewTaskDefinitionArn"])


def _function(moto: MotoServer) -> str:
    iam, lam = moto.client("iam"), moto.client("lambda")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName="router-fn", AssumeRolePolicyDocument=json.dumps(trust))
    code = BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    made = lam.create_function(
        FunctionName="hybrid-router-function",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        MemorySize=512,
    )
    return str(made["FunctionArn"])


def _concurrency(moto: MotoServer) -> dict[str, str]:
    return {
        "LambdaARN": _function(moto),
        "NewReservedConcurrentExecutions": "25",
        "AutomationAssumeRole": ROLE,
    }


def _concurrency_set(moto: MotoServer, p: dict[str, str]) -> None:
    found = moto.client("lambda").get_function_concurrency(FunctionName=p["LambdaARN"])
    assert found["ReservedConcurrentExecutions"] == 25


def _memory(moto: MotoServer) -> dict[str, str]:
    return {
        "LambdaARN": _function(moto),
        "NewMemorySizeValue": "1024",
        "AutomationAssumeRole": ROLE,
    }


def _memory_set(moto: MotoServer, p: dict[str, str]) -> None:
    found = moto.client("lambda").get_function_configuration(FunctionName=p["LambdaARN"])
    assert found["MemorySize"] == 1024


def _deletion_protected(moto: MotoServer, p: dict[str, str]) -> None:
    key = "deletion_protection.enabled"
    assert _alb_attribute(moto, p["LoadBalancerArn"], key) == "true"


def _clb_desync(moto: MotoServer) -> dict[str, str]:
    return {**_clb(moto), "DesyncMitigationMode": "strictest"}


def _clb_desync_set(moto: MotoServer, p: dict[str, str]) -> None:
    extra = _clb_attributes(moto, p["LoadBalancerName"])["AdditionalAttributes"]
    assert {"Key": "elb.http.desyncmitigationmode", "Value": "strictest"} in extra


def _timeout(moto: MotoServer) -> dict[str, str]:
    return {
        "LambdaARN": _function(moto),
        "NewTimeoutValueSeconds": "42",
        "AutomationAssumeRole": ROLE,
    }


def _timeout_set(moto: MotoServer, p: dict[str, str]) -> None:
    found = moto.client("lambda").get_function_configuration(FunctionName=p["LambdaARN"])
    assert found["Timeout"] == 42


def _alias(moto: MotoServer) -> dict[str, str]:
    arn = _function(moto)
    lam = moto.client("lambda")
    first = lam.publish_version(FunctionName=arn)["Version"]
    lam.update_function_configuration(FunctionName=arn, MemorySize=768)
    second = lam.publish_version(FunctionName=arn)["Version"]
    lam.create_alias(FunctionName=arn, Name="live", FunctionVersion=first)
    return {
        "LambdaARN": arn,
        "AliasName": "live",
        "LambdaVersion": second,
        "AutomationAssumeRole": ROLE,
    }


def _alias_switched(moto: MotoServer, p: dict[str, str]) -> None:
    alias = moto.client("lambda").get_alias(FunctionName=p["LambdaARN"], Name=p["AliasName"])
    assert alias["FunctionVersion"] == p["LambdaVersion"]


def _delete_function(moto: MotoServer) -> dict[str, str]:
    _function(moto)
    return {"LambdaFunctionName": "hybrid-router-function", "AutomationAssumeRole": ROLE}


def _function_deleted(moto: MotoServer, p: dict[str, str]) -> None:
    names = [f["FunctionName"] for f in moto.client("lambda").list_functions()["Functions"]]
    assert p["LambdaFunctionName"] not in names


# Lambda's REST calls, as the server labels them.
THROTTLE = r"^PUT /[^ ]*/functions/[^ ]*/concurrency$"
UNTHROTTLE = r"^DELETE /[^ ]*/functions/[^ ]*/concurrency$"


def _alarm_state(name: str, state: str) -> Callable[[], None]:
    """CloudWatch's own doing, which moto does not compute: the alarm follows the fault."""

    def consequence() -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends["123456789012"][REGION]
        backend.set_alarm_state(name, "the function is throttled", "{}", state)

    return consequence


def _throttling(moto: MotoServer) -> dict[str, str]:
    arn = _function(moto)
    moto.client("cloudwatch").put_metric_alarm(
        AlarmName="router-throttles",
        MetricName="Throttles",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "FunctionName", "Value": "hybrid-router-function"}],
    )
    moto.client("cloudwatch").set_alarm_state(
        AlarmName="router-throttles", StateValue="OK", StateReason="quiet"
    )
    # Throttled (concurrency 0), the alarm goes red; the limit removed, green again.
    moto.app.after[THROTTLE] = _alarm_state("router-throttles", "ALARM")
    moto.app.after[UNTHROTTLE] = _alarm_state("router-throttles", "OK")
    return {
        "LambdaARN": arn,
        "ThrottlesAlarmName": "router-throttles",
        "AutomationAssumeRole": ROLE,
    }


def _throttling_tested(moto: MotoServer, p: dict[str, str]) -> None:
    lam = moto.client("lambda")
    # The test throttled the function, saw the alarm go red, and put it back as it was.
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(
        FunctionName=p["LambdaARN"]
    )
    assert [r for r in moto.requests if re.search(THROTTLE, r)] != []
    assert len([r for r in moto.requests if re.search(UNTHROTTLE, r)]) == 1
    alarm = moto.client("cloudwatch").describe_alarms(AlarmNames=[p["ThrottlesAlarmName"]])
    assert alarm["MetricAlarms"][0]["StateValue"] == "OK"


CASES = [
    Case("AWS-DisableEventBridgeRule.json", _rule, _rule_disabled),
    Case("AWS-AddOpsItemDedupStringToEventBridgeRule.json", _opsitem_rule, _dedup_added),
    Case("AWS-PublishSNSNotification.json", _publish, _published),
    Case("AWSConfigRemediation-EncryptSNSTopic.json", _encrypt, _encrypted),
    Case("AWSResilienceHub-EnableSNSTopicDLQSOP_2020-11-26.json", _dlq, _dlq_set),
    Case(
        "AWS-EnableCLBConnectionDraining.json",
        lambda m: {**_clb(m), "ConnectionTimeout": "120"},
        _draining,
    ),
    Case(
        "AWSConfigRemediation-EnableCLBCrossZoneLoadBalancing.json",
        lambda m: {**_clb(m), "AutomationAssumeRole": ROLE},
        _cross_zone,
    ),
    Case("AWS-UpdateALBDesyncMitigationMode.json", _desync, _desync_set),
    Case("AWSConfigRemediation-DropInvalidHeadersForALB.json", _drop_headers, _headers_dropped),
    Case(
        "AWSConfigRemediation-EnableAutoScalingGroupELBHealthCheck.json",
        _elb_health,
        _elb_health_on,
    ),
    Case("AWSResilienceHub-ScaleOutAsgSOP_2020-07-01.json", _scale_out, _scaled_out),
    Case("RemoveAZFromAsgWithSsm.yaml", _remove_az, _az_restored),
    Case("AWSDocs-ScaleLoadBalanced.json", _scale_load_balanced, _load_balanced),
    Case("AWS-EnableCWAlarm.json", _cw_alarm, _cw_alarm_made),
    Case("AWSSupport-CalculateEBSPerformanceMetrics.json", _ebs, _dashboard),
    Case("AWSResilienceHub-ScaleECSServiceSOP_2020-04-01.json", _ecs, _ecs_scaled),
    Case(
        "AWSResilienceHub-ChangeLambdaConcurrencyLimitSOP_2020-10-26.json",
        _concurrency,
        _concurrency_set,
    ),
    Case("AWSResilienceHub-ChangeLambdaMemorySizeSOP_2020-10-26.json", _memory, _memory_set),
    Case(
        "AWSConfigRemediation-EnableELBDeletionProtection.json", _drop_headers, _deletion_protected
    ),
    Case("AWS-UpdateCLBDesyncMitigationMode.json", _clb_desync, _clb_desync_set),
    Case(
        "AWSResilienceHub-ChangeLambdaExecutionTimeLimitSOP_2020-10-26.json", _timeout, _timeout_set
    ),
    Case("AWSResilienceHub-SwitchLambdaVersionInAliasSOP_2020-10-26.json", _alias, _alias_switched),
    Case("AWSConfigRemediation-DeleteLambdaFunction.json", _delete_function, _function_deleted),
    Case(
        "AWSResilienceHub-ForceLambdaThrottlingTest_2020-10-26.json",
        _throttling,
        _throttling_tested,
    ),
]
# In the corpus, and why it does not run here (counted as not run in the README's line).
NOT_RUN = {
    "AWS-ECSRunTask.json": "moto cannot start a task: no container instance (EC2), a crash"
    " inside moto (Fargate)",
    "AWSConfigRemediation-EnableNLBCrossZoneLoadBalancing.json": "moto names a network load"
    " balancer loadbalancer/app/..., which the document's allowedPattern (.../net/...) refuses"
    " before anything runs, as SSM would",
    "AWSResilienceHub-ChangeLambdaProvisionedConcurrencySOP_2020-10-26.json": "moto does not"
    " implement PutProvisionedConcurrencyConfig",
}


def _run(cli: Cli, case: Case, params: dict[str, str], *extra: str) -> Any:
    found = _sources().get(case.document)
    path = found["dir"] / case.document if found else Path(case.document)
    args = [x for k, v in params.items() if not k.startswith("_") for x in ("-p", f"{k}={v}")]
    return cli("--yes", "-o", "json", *extra, "run", str(path), *args)


@pytest.mark.parametrize("case", CASES, ids=[c.document for c in CASES])
def test_a_published_document_reaches_its_end_state_and_plans_without_changing(
    cli: Cli, moto: MotoServer, write_config: Any, case: Case
) -> None:
    write_config(moto.url)
    params = case.setup(moto)
    moto.forget_requests()
    planned = _run(cli, case, params, "--dry-run")
    assert planned.code == 0, planned.err
    mutating = [r for r in moto.requests if not is_read_only(r)]
    assert mutating == []  # counted at the server
    moto.forget_requests()
    result = _run(cli, case, params)
    assert result.code == 0, result.err[-3000:]
    case.check(moto, params)  # in AWS, not in hybridops' output


def test_every_document_has_its_source_and_is_run_or_says_why() -> None:
    sources = _sources()
    assert len(sources) >= 20
    for name, entry in sources.items():
        assert entry["repository"].startswith("https://github.com/"), name
        assert len(entry["commit"]) == 40 and entry["path"], name
        assert (entry["dir"] / name).is_file(), name
    published = {p.name for p in (CORPUS / "published").iterdir() if p.name != "SOURCES.json"}
    assert published == {c.document for c in CASES} | set(NOT_RUN)


def test_readme_states_the_corpus_result() -> None:
    """The README's line is the test's count, not a number written once."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    total = (
        len(list((CORPUS / "published").glob("*.json")))
        + len(list((CORPUS / "published").glob("*.yaml")))
        - 1
    )  # SOURCES.json
    assert f"**The corpus: {len(CASES)} of {total} published documents run**" in readme
    for name in NOT_RUN:
        assert name.rsplit(".", 1)[0].split("_")[0] in readme, name


def test_a_published_document_cancelled_runs_its_own_rollback(
    moto: MotoServer, write_config: Any
) -> None:
    """SIGTERM during RemoveAZFromAsgWithSsm's wait: its onCancel puts the subnets back."""
    import signal

    from tests.test_signals import _signal_when, _start

    write_config(moto.url)
    params = _remove_az(moto)
    params["Duration"] = "30"  # minutes: it is cancelled long before
    group = _group(moto, params["AutoscalingGroupName"])
    assert sorted(group["VPCZoneIdentifier"].split(",")) == params["_subnets"].split(",")
    path = CORPUS / "published" / "RemoveAZFromAsgWithSsm.yaml"
    args = [x for k, v in params.items() if not k.startswith("_") for x in ("-p", f"{k}={v}")]
    proc = _start("--yes", "-o", "json", "run", str(path), *args)
    _signal_when(proc, " wait-for-duration: ", signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    # Removed, then restored by the document's own Rollback step: checked in AWS.
    assert moto.requests.count("UpdateAutoScalingGroup") == 2
    group = _group(moto, params["AutoscalingGroupName"])
    assert sorted(group["VPCZoneIdentifier"].split(",")) == params["_subnets"].split(",")
    status = {s["name"]: s["status"] for s in json.loads(out)["steps"]}
    assert status["wait-for-duration"] == "interrupted"
    assert status["rollback"] == "succeeded"


@pytest.mark.parametrize(
    "document",
    [
        "AWSConfigRemediation-EncryptSNSTopic.json",
        "AWSResilienceHub-ChangeLambdaMemorySizeSOP_2020-10-26.json",
        "AWS-EnableCWAlarm.json",
    ],
)
def test_import_then_export_keeps_what_the_document_does(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path, document: str
) -> None:
    """Imported, exported back: SSM accepts it and it reaches the same end state."""
    write_config(moto.url)
    case = next(c for c in CASES if c.document == document)
    native = tmp_path / "imported.yaml"
    source = _sources()[document]["dir"] / document
    assert cli("runbooks", "import", str(source), "--out", str(native)).code == 0
    again = tmp_path / "Again.json"
    exported = cli("runbooks", "export", str(native), "--out", str(again))
    assert exported.code == 0, exported.err
    original = json.loads(source.read_text())
    doc = json.loads(again.read_text())

    def bare(text: Any) -> str:
        return str(text or "").replace(" ", "")

    assert bare(doc.get("assumeRole")) == bare(original.get("assumeRole"))
    assert [s["action"] for s in doc["mainSteps"]] == [s["action"] for s in original["mainSteps"]]
    params = case.setup(moto)
    ran = _run(cli, Case(str(again), case.setup, case.check), params)
    assert ran.code == 0, ran.err[-3000:]
    case.check(moto, params)


def test_every_running_document_exports_back_or_says_why(cli: Cli, tmp_path: Path) -> None:
    """What does not export back is named (an imported branch or failure path), never a crash."""
    exported = []
    for case in CASES:
        source = _sources()[case.document]["dir"] / case.document
        native = tmp_path / f"{source.stem}.yaml"
        assert cli("runbooks", "import", str(source), "--out", str(native)).code == 0
        result = cli("runbooks", "export", str(native), "--out", str(tmp_path / "x.json"))
        if result.code == 0:
            exported.append(case.document)
        else:
            assert result.code == 2 and "cannot be expressed" in result.err, result.err
    assert len(exported) >= 12, exported
