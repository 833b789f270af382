"""What hybridops resolved, and where each value came from (`hybridops config`, `doctor`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hybridops.runtime import Runtime


@dataclass
class Setting:
    """One resolved value and its origin."""

    name: str
    value: str
    source: str

    def as_dict(self) -> dict[str, str]:
        """JSON shape."""
        return {"name": self.name, "value": self.value, "source": self.source}


def _config_file_source(runtime: Runtime) -> Setting:
    source = runtime.loaded_config.source
    if runtime.options.config:
        origin = "--config"
    elif os.environ.get("HYBRIDOPS_CONFIG"):
        origin = "HYBRIDOPS_CONFIG"
    elif source is not None:
        origin = "found (./hybridops.yaml, then the user config dir)"
    else:
        origin = "none found: built-in defaults"
    return Setting("config file", str(source) if source else "-", origin)


def _state(runtime: Runtime) -> Setting:
    from hybridops.config import state_path

    state = runtime.loaded_config.config.state
    if state.backend == "dynamodb":
        where = f"{state.region or runtime.env.settings.region}"
        return Setting("state", f"dynamodb table {state.table} ({where})", "state.backend")
    if os.environ.get("HYBRIDOPS_STATE_PATH"):
        origin = "HYBRIDOPS_STATE_PATH"
    elif state.path:
        origin = "state.path"
    elif os.environ.get("HYBRIDOPS_HOME"):
        origin = "HYBRIDOPS_HOME"
    else:
        origin = "default (user data dir)"
    return Setting("state", f"sqlite {state_path(runtime.loaded_config)}", origin)


def resolved_settings(runtime: Runtime, *, credentials: bool = True) -> list[Setting]:
    """Environment, config file, profile, regions, endpoint, credentials and state backend."""
    env = runtime.env
    sources = env.sources
    settings = env.settings
    rows = [
        Setting("environment", env.name, sources.get("env", "")),
        _config_file_source(runtime),
        Setting(
            "profile",
            settings.profile or os.environ.get("AWS_PROFILE") or "-",
            sources.get("profile", "default")
            if settings.profile or os.environ.get("AWS_PROFILE")
            else "not set (botocore's default chain)",
        ),
        Setting("region", settings.region, sources.get("region", "default")),
        Setting(
            "secondary region",
            settings.secondary_region,
            sources.get("secondary_region", "default"),
        ),
        Setting(
            "endpoint",
            settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "-",
            sources.get("endpoint_url", "default")
            if settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
            else "AWS's public endpoints",
        ),
    ]
    if credentials:
        rows.append(_credentials(runtime))
    rows.append(_state(runtime))
    return rows


def _credentials(runtime: Runtime) -> Setting:
    """Which credentials botocore found (access key masked), as `aws configure list` says."""
    from hybridops.errors import HybridOpsError, translate

    try:
        found = runtime.clients.credential_source()
    except Exception as exc:  # a broken profile is shown here, not raised
        error = exc if isinstance(exc, HybridOpsError) else translate(exc)
        return Setting("credentials", "unusable", error.message)
    if found is None:
        return Setting("credentials", "none found", "env, shared files, SSO, instance role")
    method, key = found
    return Setting("credentials", f"****{key[-4:]}" if key else "-", method)
