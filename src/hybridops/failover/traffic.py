"""Which region serves traffic, and how each side is doing (`hybridops failover status`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridops.runtime import Runtime


def _side(runtime: Runtime, side: str) -> dict[str, Any]:
    from hybridops.config import side_settings
    from hybridops.errors import translate
    from hybridops.health.access import raise_access_error
    from hybridops.health.probe import probe

    settings = side_settings(runtime.env.as_template_scope(), side)
    out: dict[str, Any] = {"region": settings["region"], "health": None, "running": None}
    if settings["health_url"]:
        base = settings["health_url"].rstrip("/")
        checks = probe([("health", f"{base}/health")], timeout_s=5.0)
        out["health"] = {"pass": "healthy", "warn": "degraded", "fail": "unhealthy"}[
            checks[0].status
        ]
        out["health_detail"] = checks[0].detail
    try:
        services = (
            runtime.clients.client("ecs", side)
            .describe_services(cluster=settings["cluster"], services=[settings["service"]])
            .get("services", [])
        )
        if services:
            out["running"] = services[0]["runningCount"]
            out["desired"] = services[0]["desiredCount"]
    except Exception as exc:  # a region that is down must not hide the other one...
        # ...but credentials, a profile or the endpoint are not a region being down.
        raise_access_error(exc, runtime.env.settings.profile)
        out["error"] = translate(exc).message
    return out


def status(runtime: Runtime) -> dict[str, Any]:
    """The record, its layout, which side serves, and both sides' health and task counts."""
    from hybridops.health.access import access_errors_raised

    with access_errors_raised(runtime.env.settings.profile):
        return _status(runtime)


def _status(runtime: Runtime) -> dict[str, Any]:
    from hybridops.aws import route53
    from hybridops.config import region_of
    from hybridops.errors import ConfigError

    env = runtime.env.settings
    if not env.hosted_zone_id or not env.record_name:
        raise ConfigError("the environment needs hosted_zone_id and record_name")
    layout = route53.environment_layout(runtime.clients.client("route53"), env)
    with ThreadPoolExecutor(max_workers=2) as pool:
        primary, secondary = pool.map(lambda side: _side(runtime, side), ("primary", "secondary"))
    serving_region = region_of(env, layout.serving)
    for side, info in (("primary", primary), ("secondary", secondary)):
        # Cold by design: a side scaled to 0 that does not serve is standing by, not down.
        info["standby"] = info.get("desired") == 0 and layout.serving != side
    return {
        "record": env.record_name,
        "mode": layout.mode,
        "serving": layout.serving,
        "serving_region": serving_region,
        "values": layout.values,
        "primary_check_inverted": layout.primary_check_inverted
        if layout.mode == "failover"
        else None,
        "primary": primary,
        "secondary": secondary,
    }
