"""Seed the simulated hybrid-routing estate in both regions, through real boto3 calls."""

from __future__ import annotations

import functools
import io
import json
import random
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

ACCOUNT = "123456789012"
PRIMARY = "eu-central-1"
SECONDARY = "us-west-2"
CLUSTER = "hybrid-routing-cluster"
BACKUP_CLUSTER = "hybrid-routing-cluster-backup"
SERVICE = "hybrid-router-service"
FAMILY = "hybrid-router"
FUNCTION = "hybrid-router-function"
ZONE = "example.com"
RECORD = "api.example.com"
LOG_GROUPS = ["/aws/ecs/hybrid-routing", "/aws/lambda/hybrid-router"]
IMAGES = {
    1: f"{ACCOUNT}.dkr.ecr.{PRIMARY}.amazonaws.com/hybrid-router:1.4.2",
    2: f"{ACCOUNT}.dkr.ecr.{PRIMARY}.amazonaws.com/hybrid-router:1.5.0",
    3: f"{ACCOUNT}.dkr.ecr.{PRIMARY}.amazonaws.com/hybrid-router:1.6.0-rc1",
}
ROUTES = ["/v1/route", "/v1/route/batch", "/v1/models", "/v1/health"]


@dataclass
class Estate:
    """Identifiers of what was created, for the environment record and the controller."""

    endpoint_url: str
    target_groups: dict[str, str] = field(default_factory=dict)
    albs: dict[str, str] = field(default_factory=dict)
    alb_dns: dict[str, str] = field(default_factory=dict)
    hosted_zone_id: str = ""
    health_checks: dict[str, str] = field(default_factory=dict)
    topic_arn: str = ""
    bedrock_role_arn: str = ""
    circuit_parameter: str = "/hybrid-routing/circuit-breaker/bedrock"


@functools.cache
def _client(endpoint: str, service: str, region: str) -> Any:
    # Kept across resets: a client is stateless, and building ~20 of them cost 0.1 s a reset.
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def task_definition(revision_image: str, version: str) -> dict[str, Any]:
    """A realistic container definition for the hybrid router."""
    return {
        "name": "hybrid-router",
        "image": revision_image,
        "cpu": 512,
        "memory": 1024,
        "essential": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [
            {"name": "APP_VERSION", "value": version},
            {"name": "BEDROCK_REGION", "value": PRIMARY},
            {"name": "ROUTING_MODE", "value": "hybrid"},
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": LOG_GROUPS[0], "awslogs-region": PRIMARY},
        },
    }


def seed(endpoint: str, *, log_hours: int = 24, log_every_s: int = 120) -> Estate:
    """Create the whole estate; return its identifiers."""
    estate = Estate(endpoint)
    _seed_iam(estate)
    for region, cluster, desired in ((PRIMARY, CLUSTER, 2), (SECONDARY, BACKUP_CLUSTER, 0)):
        _seed_network_and_alb(estate, region)
        _seed_ecs(estate, region, cluster, desired)
    _seed_lambda(estate)
    _seed_logs(estate, log_hours, log_every_s)
    _seed_metrics(estate)
    _seed_route53(estate)
    _seed_alarms(estate)
    sns = _client(endpoint, "sns", PRIMARY)
    estate.topic_arn = sns.create_topic(Name="hybrid-routing-incidents")["TopicArn"]
    ssm = _client(endpoint, "ssm", PRIMARY)
    ssm.put_parameter(Name=estate.circuit_parameter, Value="closed", Type="String")
    return estate


def _seed_iam(estate: Estate) -> None:
    iam = _client(estate.endpoint_url, "iam", PRIMARY)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="BedrockClientRole", AssumeRolePolicyDocument=json.dumps(trust))
    estate.bedrock_role_arn = role["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="BedrockClientRole",
        PolicyName="bedrock-invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "InvokeModels",
                        "Effect": "Allow",
                        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    lambda_trust = dict(trust)
    lambda_trust["Statement"] = [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    iam.create_role(
        RoleName="hybrid-router-lambda", AssumeRolePolicyDocument=json.dumps(lambda_trust)
    )


def _seed_network_and_alb(estate: Estate, region: str) -> None:
    ec2 = _client(estate.endpoint_url, "ec2", region)
    subnets = ec2.describe_subnets()["Subnets"]
    vpc_id = subnets[0]["VpcId"]
    elb = _client(estate.endpoint_url, "elbv2", region)
    alb = elb.create_load_balancer(
        Name="hybrid-routing-alb", Subnets=[s["SubnetId"] for s in subnets[:2]], Type="application"
    )["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="hybrid-routing",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc_id,
        TargetType="ip",
        HealthCheckPath="/health",
    )["TargetGroups"][0]
    elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )
    if region == PRIMARY:
        elb.register_targets(
            TargetGroupArn=tg["TargetGroupArn"],
            Targets=[{"Id": "10.0.1.10", "Port": 8080}, {"Id": "10.0.2.10", "Port": 8080}],
        )
    estate.albs[region] = alb["LoadBalancerArn"]
    estate.alb_dns[region] = alb["DNSName"]
    estate.target_groups[region] = tg["TargetGroupArn"]


def _seed_ecs(estate: Estate, region: str, cluster: str, desired: int) -> None:
    ecs = _client(estate.endpoint_url, "ecs", region)
    ecs.create_cluster(clusterName=cluster)
    for revision, version in ((1, "1.4.2"), (2, "1.5.0")):
        ecs.register_task_definition(
            family=FAMILY,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="512",
            memory="1024",
            containerDefinitions=[task_definition(IMAGES[revision], version)],
        )
    ecs.create_service(
        cluster=cluster,
        serviceName=SERVICE,
        taskDefinition=f"{FAMILY}:2",
        desiredCount=desired,
        launchType="FARGATE",
        loadBalancers=[
            {
                "targetGroupArn": estate.target_groups[region],
                "containerName": "hybrid-router",
                "containerPort": 8080,
            }
        ],
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
    )


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()


def _seed_lambda(estate: Estate) -> None:
    lam = _client(estate.endpoint_url, "lambda", PRIMARY)
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/hybrid-router-lambda",
        Handler="index.handler",
        Code={"ZipFile": _zip_bytes()},
        Timeout=30,
        MemorySize=512,
    )
    version = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version)


def log_event(
    rng: random.Random,
    when_ms: int,
    *,
    status: int | None = None,
    latency: float | None = None,
    level: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """One structured request log line of the hybrid router."""
    status = status if status is not None else (500 if rng.random() < 0.003 else 200)
    latency = latency if latency is not None else round(rng.lognormvariate(4.9, 0.45), 1)
    level = level or ("ERROR" if status >= 500 else "INFO")
    return {
        "timestamp": when_ms,
        "message": json.dumps(
            {
                "level": level,
                "message": message or ("upstream error" if status >= 500 else "request completed"),
                "route": rng.choice(ROUTES),
                "status": status,
                "latency_ms": latency,
                "request_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "provider": rng.choice(["bedrock", "local"]),
            },
            separators=(",", ":"),
        ),
    }


def _seed_logs(estate: Estate, hours: int, every_s: int) -> None:
    logs = _client(estate.endpoint_url, "logs", PRIMARY)
    rng = random.Random(42)
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - hours * 3600 * 1000
    streams = {
        LOG_GROUPS[0]: ["ecs/hybrid-router/task-a1", "ecs/hybrid-router/task-b2"],
        LOG_GROUPS[1]: ["2026/11/29/[$LATEST]seed"],
    }
    for group, names in streams.items():
        logs.create_log_group(logGroupName=group)
        logs.put_retention_policy(logGroupName=group, retentionInDays=14)
        for name in names:
            logs.create_log_stream(logGroupName=group, logStreamName=name)
            events = [log_event(rng, t) for t in range(start_ms, now_ms, every_s * 1000)]
            for i in range(0, len(events), 5000):
                logs.put_log_events(
                    logGroupName=group, logStreamName=name, logEvents=events[i : i + 5000]
                )


def _seed_metrics(estate: Estate) -> None:
    cw = _client(estate.endpoint_url, "cloudwatch", PRIMARY)
    rng = random.Random(7)
    now = time.time()
    dims_ecs = [
        {"Name": "ClusterName", "Value": CLUSTER},
        {"Name": "ServiceName", "Value": SERVICE},
    ]
    data = []
    for minute in range(60, 0, -1):
        ts = now - minute * 60
        data.extend(
            [
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dims_ecs,
                    "Timestamp": ts,
                    "Value": rng.uniform(25, 45),
                    "Unit": "Percent",
                },
                {
                    "MetricName": "MemoryUtilization",
                    "Dimensions": dims_ecs,
                    "Timestamp": ts,
                    "Value": rng.uniform(40, 60),
                    "Unit": "Percent",
                },
            ]
        )
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/ECS", MetricData=data[i : i + 500])
    alb_dim = [{"Name": "LoadBalancer", "Value": estate.albs[PRIMARY].split(":loadbalancer/")[-1]}]
    trt = [
        {
            "MetricName": "TargetResponseTime",
            "Dimensions": alb_dim,
            "Timestamp": now - m * 60,
            "Value": rng.uniform(0.12, 0.35),
            "Unit": "Seconds",
        }
        for m in range(60, 0, -1)
    ]
    cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=trt)
    queue = [
        {
            "MetricName": "QueueDepth",
            "Dimensions": [{"Name": "Service", "Value": SERVICE}],
            "Timestamp": now - m * 60,
            "Value": rng.uniform(5, 30),
            "Unit": "Count",
        }
        for m in range(60, 0, -1)
    ]
    cw.put_metric_data(Namespace="HybridRouting", MetricData=queue)


ALARMS = {
    "hybrid-router-cpu-high": ("AWS/ECS", "CPUUtilization", 70.0, "Average"),
    "hybrid-router-memory-high": ("AWS/ECS", "MemoryUtilization", 80.0, "Average"),
    "hybrid-router-p95-latency": ("AWS/ApplicationELB", "TargetResponseTime", 2.0, "Average"),
    "hybrid-router-5xx": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", 50.0, "Sum"),
    "hybrid-router-lambda-throttles": ("AWS/Lambda", "Throttles", 10.0, "Sum"),
}


def _seed_alarms(estate: Estate) -> None:
    cw = _client(estate.endpoint_url, "cloudwatch", PRIMARY)
    for name, (namespace, metric, threshold, statistic) in ALARMS.items():
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace=namespace,
            MetricName=metric,
            Statistic=statistic,
            Period=60,
            EvaluationPeriods=5,
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[],
        )
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="seeded")


def _seed_route53(estate: Estate) -> None:
    r53 = _client(estate.endpoint_url, "route53", PRIMARY)
    zone = r53.create_hosted_zone(Name=ZONE, CallerReference=str(uuid.uuid4()))
    estate.hosted_zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    for role, region in (("primary", PRIMARY), ("secondary", SECONDARY)):
        check = r53.create_health_check(
            CallerReference=str(uuid.uuid4()),
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": estate.alb_dns[region],
                "ResourcePath": "/health",
                "Port": 443,
                "RequestInterval": 30,
                "FailureThreshold": 3,
            },
        )
        estate.health_checks[role] = check["HealthCheck"]["Id"]
    changes = []
    for role, region, failover in (
        ("primary", PRIMARY, "PRIMARY"),
        ("secondary", SECONDARY, "SECONDARY"),
    ):
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": RECORD,
                    "Type": "CNAME",
                    "SetIdentifier": role,
                    "Failover": failover,
                    "TTL": 60,
                    "HealthCheckId": estate.health_checks[role],
                    "ResourceRecords": [{"Value": estate.alb_dns[region]}],
                },
            }
        )
    r53.change_resource_record_sets(
        HostedZoneId=estate.hosted_zone_id, ChangeBatch={"Changes": changes}
    )
