"""Assembles what a command needs (config, environment, state, gate, clients) from options."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hybridops.config import LoadedConfig, Overrides, ResolvedEnvironment, load_config
from hybridops.context import Terminal
from hybridops.gate.core import Confirmer, Gate, GateMode
from hybridops.gate.redact import Redactor
from hybridops.options import Options

if TYPE_CHECKING:
    from hybridops.aws.session import ClientFactory
    from hybridops.http.client import HttpClientFactory
    from hybridops.state.store import StateStore


@dataclass
class Runtime:
    """Lazily built services for one command invocation."""

    options: Options
    terminal: Terminal = field(default_factory=Terminal)
    confirmer: Confirmer | None = None
    extra_aws_hooks: list[tuple[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @cached_property
    def loaded_config(self) -> LoadedConfig:
        """The configuration file (or defaults)."""
        return load_config(self.options.config)

    @cached_property
    def env(self) -> ResolvedEnvironment:
        """The selected environment with overrides applied."""
        from hybridops.config import resolve_environment

        o = self.options
        return resolve_environment(
            self.loaded_config, Overrides(o.env, o.profile, o.region, o.endpoint_url)
        )

    @cached_property
    def mode(self) -> GateMode:
        """Dry-run / read-only / assume-yes."""
        o = self.options
        return GateMode(dry_run=o.dry_run, read_only=o.read_only, assume_yes=o.yes)

    @cached_property
    def redactor(self) -> Redactor:
        """Masks secrets everywhere output leaves the process."""
        return Redactor()

    @cached_property
    def store(self) -> StateStore:
        """The state store (SQLite by default)."""
        from hybridops.config import state_path
        from hybridops.state.store import open_store

        state = self.loaded_config.config.state

        def client() -> Any:
            from hybridops.aws.session import state_client

            return state_client(state, self.env.settings)

        return open_store(
            state.backend, state_path(self.loaded_config), table=state.table, client=client
        )

    @property
    def built_gate(self) -> Gate | None:
        """The gate if the command used one (what was sent), without building it."""
        found = self.__dict__.get("gate")  # where cached_property keeps it
        return found if isinstance(found, Gate) else None

    @cached_property
    def gate(self) -> Gate:
        """The one gate for every mutating call of this invocation."""
        return Gate(
            self.mode,
            store=self.store,
            redactor=self.redactor,
            env_name=self.env.name,
            confirmer=self.confirmer,
            identity=lambda: self.clients.caller_arn(),
        )

    @cached_property
    def clients(self) -> ClientFactory:
        """The AWS client factory for the selected environment."""
        from hybridops.aws.session import ClientFactory

        return ClientFactory(self.env.settings, self.gate, extra_hooks=self.extra_aws_hooks)

    @cached_property
    def http(self) -> HttpClientFactory:
        """The HTTP client factory."""
        from hybridops.http.client import HttpClientFactory

        return HttpClientFactory(self.gate, timeout_s=self.env.settings.http_timeout_s)

    def close(self) -> None:
        """Release clients and the store."""
        if "http" in self.__dict__:
            self.http.close()
        if "store" in self.__dict__:
            self.store.close()
