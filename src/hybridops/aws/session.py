"""The only place AWS sessions and clients are built; every client is wired to the gate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hybridops import __version__
from hybridops.errors import ConfigError
from hybridops.gate import Call, Gate
from hybridops.gate.core import current_scope, withhold_bodies
from hybridops.gate.redact import bears_secrets, response_secrets

if TYPE_CHECKING:
    from hybridops.config import EnvironmentConfig


class _PlannedHttpResponse:
    """Stands in for the HTTP response of a call the gate did not send (dry-run)."""

    status_code = 200
    headers: dict[str, str] = {}
    content = b""
    raw = None


class ClientFactory:
    """Builds boto3 clients for one environment: profile, regions, endpoint, retries, timeouts."""

    def __init__(
        self,
        settings: EnvironmentConfig,
        gate: Gate,
        *,
        extra_hooks: list[tuple[str, Callable[..., Any]]] | None = None,
    ) -> None:
        self.settings = settings
        self.gate = gate
        self.extra_hooks = list(extra_hooks or [])
        self._session: Any = None
        self._clients: dict[tuple[str, str, float | None], Any] = {}
        self._lock = threading.Lock()
        self._credentials_masked = False

    def region_for(self, which: str | None) -> str:
        """`primary`/`secondary` -> the environment's region; anything else is a region."""
        from hybridops.config import region_of

        return region_of(self.settings, which or "primary") or str(which)

    def _boto_session(self) -> Any:
        # botocore, not boto3: boto3's import (s3transfer, multiprocessing) costs ~50 ms a run
        # and hybridops uses none of what it adds (resources, S3 transfers).
        if self._session is None:
            import botocore.session

            from hybridops.aws.classify import shared_data_loader

            session = botocore.session.Session()
            if self.settings.sandbox:
                # The sandbox never needs, and must never use, real credentials.
                session.set_credentials("testing", "testing")
            elif self.settings.profile:
                if self.settings.profile not in session.available_profiles:
                    raise ConfigError(f"AWS profile {self.settings.profile!r} is not configured")
                session.set_config_variable("profile", self.settings.profile)
            # Runbook validation already parsed these service models: parsing ecs's again
            # would cost ~40 ms per run.
            session.register_component("data_loader", shared_data_loader())
            self._session = session
        return self._session

    def client(
        self, service: str, region: str | None = "primary", *, read_timeout: float | None = None
    ) -> Any:
        """A cached client for service in region (primary/secondary/name), gated."""
        name = self.region_for(region)
        key = (service, name, read_timeout)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._build(service, name, read_timeout)
                self._clients[key] = client
        return client

    def _build(self, service: str, region: str, read_timeout: float | None) -> Any:
        from botocore.config import Config

        config = Config(
            region_name=region,
            # adaptive: standard retries plus client-side rate limiting after throttling.
            retries={"mode": "adaptive", "total_max_attempts": self.settings.aws_max_attempts},
            connect_timeout=min(10.0, read_timeout or 10.0),
            read_timeout=read_timeout or self.settings.aws_read_timeout_s,
            user_agent_extra=f"hybridops/{__version__}",
            max_pool_connections=32,
        )
        kwargs: dict[str, Any] = {"config": config}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        client = self._boto_session().create_client(service, region_name=region, **kwargs)
        self._install_gate(client)
        for event, handler in self.extra_hooks:
            client.meta.events.register(event, handler)
        return client

    def _mask_credentials(self) -> None:
        """The secret key and session token in use are masked in everything shown (-vv too)."""
        if self._credentials_masked:
            return
        self._credentials_masked = True
        try:
            credentials = self._boto_session().get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
        except Exception:  # resolving them is botocore's job; its error comes with the call
            return
        if frozen is not None:
            self.gate.redact.add(frozen.secret_key)
            self.gate.redact.add(frozen.token)

    def assume_role(self, role_arn: str, session_name: str) -> dict[str, str]:
        """Use a role's credentials (STS AssumeRole) for every client from now on.

        The call is made with the current credentials and audited as a read (it changes no
        resource); the new secret and token are masked wherever anything is shown, and the
        audit's caller becomes the role.
        """
        response = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64]
        )
        credentials = response["Credentials"]
        with self._lock:
            self.gate.redact.add(credentials["SecretAccessKey"])
            self.gate.redact.add(credentials["SessionToken"])
            self._boto_session().set_credentials(
                credentials["AccessKeyId"],
                credentials["SecretAccessKey"],
                credentials["SessionToken"],
            )
            self._clients.clear()  # clients keep the credentials they were built with
        self.gate.forget_caller()
        return {
            "role": str(response.get("AssumedRoleUser", {}).get("Arn", role_arn)),
            "expires": str(credentials.get("Expiration", "")),
        }

    def credential_source(self) -> tuple[str, str] | None:
        """(how botocore found the credentials, the access key id), or None if it found none."""
        credentials = self._boto_session().get_credentials()
        if credentials is None:
            return None
        method = "sandbox (dummy keys)" if self.settings.sandbox else str(credentials.method)
        return method, str(credentials.access_key or "")

    def caller_arn(self) -> str:
        """The caller identity ARN (STS, remembered per access key), for audit records."""
        from hybridops.aws.identity import cache_key, remembered_caller
        from hybridops.paths import user_data_dir

        def lookup() -> str:
            return str(self.client("sts").get_caller_identity()["Arn"])

        credentials = self._boto_session().get_credentials()
        if credentials is None:
            return lookup()
        key = cache_key(credentials.access_key, self.settings.endpoint_url)
        return remembered_caller(user_data_dir() / "identities.json", key, lookup)

    # -- the gate, wired into botocore's event system so no call can go around it ----------
    def _install_gate(self, client: Any) -> None:
        events = client.meta.events
        service = client.meta.service_model.service_name
        region = client.meta.region_name
        gate = self.gate

        def before_params(params: Any, context: dict[str, Any], **_: Any) -> None:
            # The API parameters are only visible here; the decision waits until botocore has
            # validated them, so a malformed call is never audited as started.
            context["hybridops_params"] = dict(params)

        def before_call(model: Any, context: dict[str, Any], **_: Any) -> Any:
            from hybridops.aws.classify import to_python_name

            self._mask_credentials()
            operation = to_python_name(model.name)
            call = Call(
                service=service,
                operation=operation,
                params=context.get("hybridops_params", {}),
                mutating=gate.classify(service, operation),
                region=region,
            )
            context["hybridops_call"] = call
            scope = current_scope()
            withhold_bodies(
                bears_secrets(service, operation, call.params)
                or bool(scope is not None and scope.secret_responses)
            )
            context["hybridops_send"] = send = gate.check(call)
            if not send:
                return _PlannedHttpResponse(), {
                    "ResponseMetadata": {"HTTPStatusCode": 200, "HybridopsPlanned": True}
                }
            return None

        def after_call(http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
            withhold_bodies(False)
            call = context.get("hybridops_call")
            if call is not None:
                # Decrypted parameters, secrets, temporary credentials: masked wherever they
                # would be shown (outputs, journal, audit), without being declared secret.
                for value in response_secrets(service, call.operation, call.params, parsed):
                    gate.redact.add(value)
            if call is not None and context.get("hybridops_send"):
                ok = http_response.status_code < 300
                if not ok and isinstance(parsed, dict):
                    # A "not found" can mean the wrong region: the error translation says so.
                    parsed.setdefault("ResponseMetadata", {})["HybridopsRegion"] = region
                error = (
                    None
                    if ok
                    else str(parsed.get("Error", {}).get("Message") or parsed.get("Error"))
                )
                gate.after(call, ok=ok, error=error)

        def after_error(exception: Exception, context: dict[str, Any], **_: Any) -> None:
            withhold_bodies(False)
            call = context.get("hybridops_call")
            if call is not None and context.get("hybridops_send"):
                gate.after(call, ok=False, error=f"{type(exception).__name__}: {exception}")

        events.register("before-parameter-build", before_params)
        events.register("before-call", before_call)
        events.register("after-call", after_call)
        events.register("after-call-error", after_error)


def state_client(state: Any, settings: EnvironmentConfig) -> Any:
    """The DynamoDB client of the team state table.

    Deliberately not gated: the gate writes its audit records through this table, and
    hybridops' own bookkeeping is not a change to the estate (a dry run still records it).
    """
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    if settings.sandbox:
        session.set_credentials("testing", "testing")
    elif settings.profile:
        session.set_config_variable("profile", settings.profile)
    endpoint = state.endpoint_url or settings.endpoint_url
    return session.create_client(
        "dynamodb",
        region_name=state.region or settings.region,
        endpoint_url=endpoint,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts}
        ),
    )
