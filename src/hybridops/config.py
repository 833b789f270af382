"""hybridops.yaml: lookup, schema and precedence (flags > environment > file > defaults)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from hybridops import paths
from hybridops.errors import ConfigError
from hybridops.yamlsource import load_yaml_file, pydantic_error_message

CONFIG_FILENAME = "hybridops.yaml"


class _Strict(BaseModel):
    # .inf and .nan are YAML floats: an infinite timeout or a NaN threshold is never meant.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# botocore's own test of an endpoint's host name (botocore.utils.is_valid_endpoint_url): what
# passes here, boto3 takes, instead of failing later with a Python error.
_DNS_NAME = re.compile(
    r"^((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))$", re.IGNORECASE
)
# httpx also takes underscores (container names such as my_service).
_HTTP_HOST = re.compile(r"^[A-Z\d_.-]{1,255}$", re.IGNORECASE)


def check_url(value: str, *, aws: bool = False) -> str:
    """An http(s) URL with a host (and a valid port); raise ValueError naming the value."""
    problem = f"expected an http(s) URL such as https://api.example.com, got {value!r}"
    if any(c in value for c in " \t\r\n"):
        raise ValueError(problem)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number from 0 to 65535 raises here
    except ValueError:
        raise ValueError(problem) from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(problem)
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValueError(problem) from None
    elif not (_DNS_NAME if aws else _HTTP_HOST).match(host.removesuffix(".")):
        raise ValueError(problem)
    return value


def _http_url(value: str | None) -> str | None:
    return None if value is None else check_url(value)


def _aws_endpoint(value: str | None) -> str | None:
    return None if value is None else check_url(value, aws=True)


HttpUrl = Annotated[str | None, AfterValidator(_http_url)]
AwsEndpoint = Annotated[str | None, AfterValidator(_aws_endpoint)]

# AWS takes 32-bit integers for counts (desiredCount, ProvisionedConcurrentExecutions).
AWS_INT_MAX = 2**31 - 1


def _duration(value: str) -> str:
    from hybridops.errors import BadInput
    from hybridops.timeparse import parse_duration

    try:
        parse_duration(value, option="")
    except BadInput as exc:  # pydantic reports ValueError only, with the field's file:line
        raise ValueError(str(exc)) from None
    return value


def _moment(value: str) -> str:
    from hybridops.errors import BadInput
    from hybridops.timeparse import parse_moment

    try:
        parse_moment(value, option="")
    except BadInput as exc:
        raise ValueError(str(exc)) from None
    return value


Duration = Annotated[str, AfterValidator(_duration)]
Moment = Annotated[str, AfterValidator(_moment)]


class Limits(_Strict):
    """Guardrail caps for scaling."""

    max_desired_count: int = Field(20, ge=0, le=AWS_INT_MAX)
    max_provisioned_concurrency: int = Field(500, ge=0, le=AWS_INT_MAX)


# A trigger sustained over more than a day is no scale-up trigger; and CloudWatch keeps
# one-minute data for 15 days, so a longer window could not be read anyway.
MAX_WINDOW_MINUTES = 1440


class ScalingConfig(_Strict):
    """Scale-up triggers (the runbook report's numbers) and step sizes."""

    cpu_percent: float = 70.0
    cpu_minutes: int = Field(5, ge=1, le=MAX_WINDOW_MINUTES)
    memory_percent: float = 80.0
    memory_minutes: int = Field(5, ge=1, le=MAX_WINDOW_MINUTES)
    p95_ms: float = 2000.0
    p95_minutes: int = Field(10, ge=1, le=MAX_WINDOW_MINUTES)
    queue_depth: float = 100.0
    queue_minutes: int = Field(5, ge=1, le=MAX_WINDOW_MINUTES)
    queue_namespace: str = "HybridRouting"
    queue_metric: str = "QueueDepth"
    ecs_step: int = Field(2, ge=1, le=AWS_INT_MAX)
    lambda_step: int = Field(50, ge=1, le=AWS_INT_MAX)


class LogFields(_Strict):
    """Field names of the service's structured (JSON) request logs."""

    latency: str = "latency_ms"
    status: str = "status"
    level: str = "level"
    message: str = "message"
    request_id: str = "request_id"


class SloTargets(_Strict):
    """Service level objectives the daily report checks (the runbook report's defaults)."""

    p95_ms: float = Field(2000.0, gt=0)
    error_rate_pct: float = Field(1.0, ge=0, le=100)
    availability_pct: float = Field(99.9, ge=0, le=100)


class LogsConfig(_Strict):
    """Log search, Insights and the daily review."""

    fields: LogFields = Field(default_factory=LogFields)
    insights: bool = Field(
        True, description="Logs Insights is available here (engine auto uses it, else local)"
    )
    slo: SloTargets = Field(default_factory=SloTargets)
    daily_since: Moment = "yesterday 18:00 UTC"
    daily_until: Moment = "today 09:00 UTC"
    insights_timeout_s: float = Field(300.0, gt=0, le=3600)
    slow_request_ms: float = Field(2000.0, gt=0)


class BedrockConfig(_Strict):
    """The Bedrock dependency: the model the router calls and the role it calls it as."""

    model_id: str = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    role_arn: str | None = Field(None, description="ARN of BedrockClientRole")
    component: str = "bedrock-client"


# A week: response targets are minutes to hours; the bound keeps `opened + target` a date.
MAX_INCIDENT_MINUTES = 7 * 24 * 60


class SeverityRule(_Strict):
    """Response and escalation targets of one severity (minutes; None: next business day / none)."""

    respond_min: int | None = Field(None, ge=1, le=MAX_INCIDENT_MINUTES)
    escalate_min: int | None = Field(None, ge=1, le=MAX_INCIDENT_MINUTES)
    description: str = ""


def _matrix() -> dict[str, SeverityRule]:
    # The runbook report's severity classification.
    return {
        "P0": SeverityRule(
            respond_min=5, escalate_min=15, description="Complete outage, data loss"
        ),
        "P1": SeverityRule(
            respond_min=15, escalate_min=60, description="Partial degradation, security"
        ),
        "P2": SeverityRule(
            respond_min=60, escalate_min=240, description="Minor issues, monitoring alerts"
        ),
        "P3": SeverityRule(description="Cosmetic issues, enhancements"),
    }


class IncidentsConfig(_Strict):
    """The incident process: severity matrix, escalation chain, business hours."""

    severities: dict[str, SeverityRule] = Field(default_factory=_matrix)
    escalation: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Severity -> who to escalate to, in order (names or handles; none built in)",
    )
    business_day_start_utc: int = Field(9, ge=0, le=23)
    status_page_url: HttpUrl = None
    templates_dir: str | None = Field(
        None, description="Editable initial.txt / update.txt (default: <config dir>/templates)"
    )


class NotifyConfig(_Strict):
    """Incident channels. Secrets are named by environment variable, never written here."""

    slack_webhook_url_env: str | None = None
    webhook_url_env: str | None = None
    sns_topic_arn: str | None = None
    pagerduty_routing_key_env: str | None = None
    pagerduty_url: HttpUrl = Field(None, description="Default: the PagerDuty Events API v2")


class StateConfig(_Strict):
    """Where incidents, audit records, journals and locks are kept."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    path: str | None = None
    table: str | None = None
    region: str | None = None
    endpoint_url: AwsEndpoint = None


REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d+$"


Severity = Literal["P0", "P1", "P2", "P3"]
ALARM_SEVERITIES: dict[str, Severity] = {
    "cpu-high": "P2",
    "memory-high": "P2",
    "p95-latency": "P1",
    "queue-depth": "P2",
    "error-rate": "P1",
    "availability": "P0",
    "health-check": "P0",
}


class AlarmsConfig(_Strict):
    """The CloudWatch alarms the runbooks assume (`hybridops alarms sync` keeps them so)."""

    prefix: str = Field("hybrid-router", description="Alarm names start with it")
    severities: dict[str, Severity] = Field(
        default_factory=lambda: dict(ALARM_SEVERITIES),
        description="Alarm (without the prefix) -> severity; merged over the defaults",
    )
    commands: dict[str, str] = Field(
        default_factory=dict,
        description="Alarm (without the prefix) -> the hybridops command to run; over the defaults",
    )
    notify: bool = Field(True, description="Send alarm state changes to notify.sns_topic_arn")


class MaintenanceConfig(_Strict):
    """Maintenance windows: the checklist and how long a window lasts by default."""

    checklist: str | None = Field(
        None, description="YAML file: a list of checklist items (text), ticked in order"
    )
    duration: Duration = Field("1h", description="Default window length, e.g. 1h, 90m")


class TrendMetric(_Strict):
    """One extra metric of the weekly trend (cache, database, network, ...)."""

    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = Field("Average", description="Average, Maximum, Minimum, Sum or pNN")
    higher_is_better: bool = Field(False, description="e.g. a cache hit rate")


class ReportsConfig(_Strict):
    """Weekly trends and monthly capacity planning."""

    trend_metrics: list[TrendMetric] = Field(default_factory=list)
    regression_percent: float = Field(
        10.0, ge=0, description="Week-over-week change (in the bad direction) called a regression"
    )
    cpu_target_percent: float | None = Field(
        None, description="Peak CPU to plan for (default: the scale-up trigger, 70)"
    )
    memory_target_percent: float | None = Field(
        None, description="Peak memory to plan for (default: the scale-up trigger, 80)"
    )
    lambda_target_utilization: float = Field(
        0.7, gt=0, le=1, description="Peak concurrency / provisioned concurrency to plan for"
    )


# One request waiting longer than 15 minutes is a hang, not a slow answer (and Lambda's own
# limit); a bigger number, like inf, would let a command wait forever.
MAX_TIMEOUT_S = 900


class EnvironmentConfig(_Strict):
    """One deployment of the hybrid routing service (defaults: the runbook report's names)."""

    region: str = Field("eu-central-1", pattern=REGION_PATTERN)
    secondary_region: str = Field("us-west-2", pattern=REGION_PATTERN)
    profile: str | None = None
    endpoint_url: AwsEndpoint = None
    cluster: str = "hybrid-routing-cluster"
    service: str = "hybrid-router-service"
    backup_cluster: str = "hybrid-routing-cluster-backup"
    backup_service: str = "hybrid-router-service"
    target_group_arn: str | None = None
    secondary_target_group_arn: str | None = None
    lambda_function: str = "hybrid-router-function"
    lambda_alias: str = "live"
    log_groups: list[str] = Field(
        default_factory=lambda: ["/aws/ecs/hybrid-routing", "/aws/lambda/hybrid-router"]
    )
    health_url: HttpUrl = None
    secondary_health_url: HttpUrl = None
    public_url: HttpUrl = Field(
        None, description="The public name's base URL; a failover is verified through it"
    )
    components: list[str] = Field(
        default_factory=lambda: ["hybrid-router", "bedrock-client", "cache", "database"]
    )
    hosted_zone_id: str | None = None
    record_name: str | None = None
    primary_target: str | None = None
    secondary_target: str | None = None
    limits: Limits = Field(default_factory=Limits)
    scaling: ScalingConfig = Field(default_factory=ScalingConfig)
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    logs: LogsConfig = Field(default_factory=LogsConfig)
    bedrock: BedrockConfig = Field(default_factory=BedrockConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    circuits: dict[str, str] = Field(
        default_factory=lambda: {"bedrock": "/hybrid-routing/circuit-breaker/bedrock"},
        description="Circuit breaker name -> the SSM parameter holding its state",
    )
    load_balancer: str | None = Field(
        None, description="ALB dimension value, app/NAME/ID, for TargetResponseTime"
    )
    http_timeout_s: float = Field(5.0, gt=0, le=MAX_TIMEOUT_S)
    aws_max_attempts: int = Field(
        5, ge=1, le=20, description="attempts per AWS call, the first one included"
    )
    aws_read_timeout_s: float = Field(30.0, gt=0, le=MAX_TIMEOUT_S)
    # Sandbox environments use dummy credentials so no real account is ever touched.
    sandbox: bool = False
    vars: dict[str, Any] = Field(default_factory=dict)


class Config(_Strict):
    """The whole configuration file."""

    default_env: str = "prod"
    state: StateConfig = Field(default_factory=StateConfig)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)


@dataclass
class LoadedConfig:
    """A validated configuration and the file it came from (None: defaults only)."""

    config: Config
    source: Path | None


def find_config_file(explicit: str | None) -> Path | None:
    """Lookup order: --config, $HYBRIDOPS_CONFIG, ./hybridops.yaml, the user config dir."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"--config {explicit}: no such file")
        return path
    from_env = os.environ.get("HYBRIDOPS_CONFIG")
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"HYBRIDOPS_CONFIG={from_env}: no such file")
        return path
    for candidate in (Path.cwd() / CONFIG_FILENAME, paths.user_config_dir() / CONFIG_FILENAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | None = None) -> LoadedConfig:
    """Find, parse and validate the configuration (defaults when there is no file)."""
    path = find_config_file(explicit)
    if path is None:
        return LoadedConfig(Config(), None)
    data = load_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys")
    try:
        return LoadedConfig(Config.model_validate(data), path)
    except ValidationError as exc:
        raise ConfigError(pydantic_error_message(str(path), data, exc)) from None


def sandbox_environment() -> EnvironmentConfig:
    """The `sandbox` environment, read from the record a running sandbox leaves."""
    record_path = paths.sandbox_record_path()
    try:
        record = json.loads(record_path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            "environment 'sandbox': no sandbox is running",
            hint="start one with `hybridops sandbox up --detach`",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{record_path}: unreadable sandbox record: {exc}") from None
    return EnvironmentConfig.model_validate(record["environment"])


@dataclass
class Overrides:
    """Values given as flags; None means not given."""

    env: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


@dataclass
class ResolvedEnvironment:
    """The environment a command runs against, after precedence is applied."""

    name: str
    settings: EnvironmentConfig
    # Where each resolved value came from (`--region`, `HYBRIDOPS_REGION`, the file, ...).
    sources: dict[str, str] = field(default_factory=dict)

    def as_template_scope(self) -> dict[str, Any]:
        """The `env.*` namespace of runbook templates."""
        scope = self.settings.model_dump()
        scope["name"] = self.name
        return scope


# An environment's two sides: the env.* setting each of a side's values comes from.
SIDES: dict[str, dict[str, str]] = {
    "primary": {
        "region": "region",
        "cluster": "cluster",
        "service": "service",
        "health_url": "health_url",
        "target_group_arn": "target_group_arn",
    },
    "secondary": {
        "region": "secondary_region",
        "cluster": "backup_cluster",
        "service": "backup_service",
        "health_url": "secondary_health_url",
        "target_group_arn": "secondary_target_group_arn",
    },
}
_OPTIONAL_SIDE_VALUES = ("health_url", "target_group_arn")


def region_of(env: Any, side: str | None) -> str | None:
    """The region of an environment's side (settings or its env.* mapping); None: no side."""
    if side not in SIDES:
        return None
    name = SIDES[side]["region"]
    return env[name] if isinstance(env, Mapping) else getattr(env, name)


def side_settings(env: Mapping[str, Any], side: str) -> dict[str, Any]:
    """Region, ECS service, health URL and target group of one side of an environment."""
    fields = SIDES["primary" if side == "primary" else "secondary"]
    return {
        key: env.get(name) if key in _OPTIONAL_SIDE_VALUES else env[name]
        for key, name in fields.items()
    }


def resolve_environment(loaded: LoadedConfig, overrides: Overrides) -> ResolvedEnvironment:
    """Pick the environment and apply the precedence documented in docs/configuration.md.

    Flags > HYBRIDOPS_* variables > the environment in the file > (region only) AWS_REGION,
    AWS_DEFAULT_REGION, the AWS profile's region > the built-in defaults.
    """
    config = loaded.config
    file = str(loaded.source) if loaded.source else "no config file"
    sources: dict[str, str] = {}
    if overrides.env:
        name, sources["env"] = overrides.env, "--env"
    elif os.environ.get("HYBRIDOPS_ENV"):
        name, sources["env"] = os.environ["HYBRIDOPS_ENV"], "HYBRIDOPS_ENV"
    else:
        name = config.default_env
        sources["env"] = f"default_env in {file}" if loaded.source else "default"
    if name in config.environments:
        settings = config.environments[name]
        given = set(settings.model_fields_set)
        origin = f"environments.{name} in {file}"
    elif name == "sandbox":
        settings = sandbox_environment()
        given = set(settings.model_fields_set)
        origin = f"the running sandbox ({paths.sandbox_record_path()})"
    elif not config.environments and name == "prod":
        settings = EnvironmentConfig()
        given, origin = set(), "default"
    else:
        known = ", ".join(sorted({*config.environments, "sandbox"}))
        where = f" in {loaded.source}" if loaded.source else ""
        raise ConfigError(f"unknown environment {name!r}{where} (known: {known})")
    for key in ("profile", "region", "secondary_region", "endpoint_url"):
        sources[key] = origin if key in given else "default"
    updates: dict[str, Any] = {}
    for key in ("profile", "region", "endpoint_url"):
        flag = getattr(overrides, key)
        from_env = os.environ.get(f"HYBRIDOPS_{key.upper()}")
        if flag is not None:
            updates[key], sources[key] = flag, f"--{key.replace('_', '-')}"
        elif from_env:
            updates[key], sources[key] = from_env, f"HYBRIDOPS_{key.upper()}"
    if "region" not in updates and "region" not in given:
        fallback = _aws_region(updates.get("profile") or settings.profile)
        if fallback is not None:
            updates["region"], sources["region"] = fallback
    if updates:
        try:
            settings = EnvironmentConfig.model_validate(settings.model_dump() | updates)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            field_name = ".".join(str(p) for p in problem["loc"])
            message = str(problem["msg"]).removeprefix("Value error, ")
            source = sources.get(field_name, "")
            if source.startswith(("--", "HYBRIDOPS_")):
                where = f"--{field_name.replace('_', '-')} / HYBRIDOPS_{field_name.upper()}"
            else:  # e.g. a region from AWS_REGION or the AWS profile
                where = f"{field_name} from {source}"
            raise ConfigError(f"{where}: {message}") from None
    if not settings.profile and os.environ.get("AWS_PROFILE"):
        sources["profile"] = "AWS_PROFILE (read by botocore)"
    aws_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if aws_endpoint and not settings.endpoint_url:
        # boto3 reads it itself, and would fail on a bad one with a bare ValueError.
        try:
            check_url(aws_endpoint, aws=True)
        except ValueError as exc:
            raise ConfigError(f"AWS_ENDPOINT_URL: {exc}") from None
        sources["endpoint_url"] = "AWS_ENDPOINT_URL (read by botocore)"
    return ResolvedEnvironment(name, settings, sources)


def _aws_region(profile: str | None) -> tuple[str, str] | None:
    """The region the AWS CLI would use when the environment names none, and where it is set."""
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(variable):
            return os.environ[variable], variable
    # The profile's `region` in the AWS config file, read without importing botocore.
    import configparser

    profile = profile or os.environ.get("AWS_PROFILE") or "default"
    path = Path(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()
    parser = configparser.RawConfigParser()
    try:
        parser.read(path)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    section = "default" if profile == "default" else f"profile {profile}"
    if parser.has_option(section, "region"):
        return parser.get(section, "region"), f"profile {profile} in {path}"
    return None


def state_path(loaded: LoadedConfig) -> Path:
    """The SQLite state file: HYBRIDOPS_STATE_PATH > state.path > default."""
    from_env = os.environ.get("HYBRIDOPS_STATE_PATH")
    if from_env:
        return Path(from_env).expanduser()
    if loaded.config.state.path:
        return Path(loaded.config.state.path).expanduser()
    return paths.default_state_path()
