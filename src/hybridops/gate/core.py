"""The one gate every outbound call passes: read-only, dry-run, confirmation, audit."""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hybridops.errors import Refused
from hybridops.gate.classify import (
    aws_mutates,
    effective,
    http_mutates,
    removes_all_capacity,
)
from hybridops.gate.redact import Redactor
from hybridops.state.store import StateStore, iso, login_name, utcnow


@dataclass(frozen=True)
class GateMode:
    """How the operator asked mutations to be handled."""

    dry_run: bool = False
    read_only: bool = False
    assume_yes: bool = False


@dataclass
class Call:
    """One outbound call as the gate sees it."""

    service: str
    operation: str
    params: Any
    mutating: bool
    region: str | None = None
    step: str | None = None
    audit_id: str | None = None
    # What the call breaks if it removes all capacity (then it is confirmed by typing).
    danger: str | None = None
    # The run it belongs to, kept on the call: its audit may be completed after the scope ended.
    runbook: str | None = None
    run_id: str | None = None

    def describe(self) -> str:
        """`ecs.update_service (eu-central-1)`."""
        where = f" ({self.region})" if self.region else ""
        return f"{self.service}.{self.operation}{where}"


@dataclass
class Scope:
    """The step (or command) on whose behalf calls are made."""

    name: str
    # A runbook's `mutating: true`: raises the class of every call in the scope, never lowers.
    mutating_override: bool | None = None
    authorized: bool = False
    # Undoing a change already made: it is sent even when its audit record cannot be written.
    undo: bool = False
    # The step declares secret outputs: its responses are secrets until proven otherwise.
    secret_responses: bool = False
    runbook: str | None = None
    run_id: str | None = None
    calls: list[Call] = field(default_factory=list)


_SCOPE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "hybridops_scope", default=None
)


# True while a call whose response carries secrets is on the wire in this context: -vv logs
# of its raw body are withheld (botocore logs them before anyone could learn the values).
_WITHHOLD_BODIES: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hybridops_withhold_bodies", default=False
)


def withholding_bodies() -> bool:
    """Whether raw response bodies must not be logged right now (this thread/context)."""
    return _WITHHOLD_BODIES.get()


def withhold_bodies(on: bool) -> None:
    """Start or stop withholding raw bodies from the logs in this context."""
    _WITHHOLD_BODIES.set(on)


def current_scope() -> Scope | None:
    """The active gate scope in this context, if any."""
    return _SCOPE.get()


Confirmer = Callable[[Call, Scope], bool]


class Gate:
    """Decides, for every outbound call, whether it is sent, planned or refused; audits it."""

    def __init__(
        self,
        mode: GateMode,
        *,
        store: StateStore | None = None,
        redactor: Redactor | None = None,
        env_name: str = "",
        confirmer: Confirmer | None = None,
        identity: Callable[[], str] | None = None,
    ) -> None:
        self.mode = mode
        self.store = store
        self.redact = redactor or Redactor()
        self.env_name = env_name
        self.confirmer = confirmer
        self._identity = identity
        self._caller: str | None = None
        self._lock = threading.Lock()
        self.planned: list[Call] = []
        self.sent: list[Call] = []
        self._authorize_all = False
        # Sent mutating calls with no outcome yet: completed as "interrupted" by `close`.
        self._in_flight: dict[str, Call] = {}
        # Checks run before any mutating call is sent (e.g. "this run still holds its lock").
        self.guards: list[Callable[[Call], None]] = []
        # Audit records the store could not take (it failed after a change was made): kept
        # here so the run can still undo, and reported instead of lost.
        self.unrecorded: list[dict[str, Any]] = []
        self.store_error: BaseException | None = None

    # -- scopes -------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(
        self,
        name: str,
        *,
        mutating_override: bool | None = None,
        authorized: bool = False,
        runbook: str | None = None,
        run_id: str | None = None,
        undo: bool = False,
        secret_responses: bool = False,
    ) -> Iterator[Scope]:
        """Attribute the calls made inside to a step; `authorized` skips the prompt."""
        parent = _SCOPE.get()
        scope = Scope(
            name,
            mutating_override,
            authorized,
            undo,
            secret_responses,
            runbook or (parent.runbook if parent else None),
            run_id or (parent.run_id if parent else None),
        )
        token = _SCOPE.set(scope)
        try:
            yield scope
        finally:
            _SCOPE.reset(token)

    def authorize_all(self) -> None:
        """The operator confirmed the whole run (e.g. an explicit confirm step)."""
        self._authorize_all = True

    # -- decisions ----------------------------------------------------------------------
    def classify(self, service: str, operation: str) -> bool:
        """Whether an AWS call mutates: from the operation; a scope's `mutating: true` raises it."""
        return effective(aws_mutates(service, operation), self._declared())

    def classify_http(self, method: str) -> bool:
        """Whether an HTTP request mutates: any unsafe method; `mutating: true` raises it."""
        return effective(http_mutates(method), self._declared())

    @staticmethod
    def _declared() -> bool | None:
        scope = _SCOPE.get()
        return scope.mutating_override if scope is not None else None

    def check(self, call: Call) -> bool:
        """True: send the call. False: dry-run, record it as planned. Raise Refused otherwise."""
        scope = _SCOPE.get()
        call.step = scope.name if scope else None
        if scope is not None:
            scope.calls.append(call)
            call.runbook, call.run_id = scope.runbook, scope.run_id
        if not call.mutating:
            return True
        if self.mode.read_only:
            self._audit(call, "refused", error="read-only mode")
            raise Refused(
                f"read-only: refusing {call.describe()}"
                + (f" in step {call.step!r}" if call.step else ""),
                hint="drop --read-only to allow changes",
            )
        if self.mode.dry_run:
            with self._lock:
                self.planned.append(call)
            return False
        if scope is None:
            self._audit(call, "refused", error="mutating call outside a gate scope")
            raise Refused(f"refusing {call.describe()}: mutating call outside a runbook step")
        # A call that removes all capacity is confirmed by typing, --yes or not.
        danger = (
            None
            if scope.authorized or self._authorize_all
            else removes_all_capacity(call.service, call.operation, call.params)
        )
        call.danger = danger
        if danger or not (scope.authorized or self._authorize_all or self.mode.assume_yes):
            if self.confirmer is None or not self.confirmer(call, scope):
                self._audit(call, "refused", error="not confirmed")
                raise Refused(
                    f"not confirmed: {call.describe()} in step {call.step!r}",
                    hint="confirm at the prompt, or pass --yes",
                )
            scope.authorized = True
        for guard in self.guards:
            guard(call)
        call.audit_id = uuid.uuid4().hex[:12]
        # The intent is on disk before anything is sent; if it cannot be, nothing is sent
        # (an undo is the exception: leaving the change made would be worse).
        self._audit(call, "started", tolerate=scope.undo)
        with self._lock:
            self.sent.append(call)
            self._in_flight[call.audit_id] = call
        return True

    def after(self, call: Call, *, ok: bool, error: str | None = None) -> None:
        """Record the outcome of a sent mutating call."""
        if call.mutating and call.audit_id:
            with self._lock:
                self._in_flight.pop(call.audit_id, None)
            self._audit(call, "succeeded" if ok else "failed", error=error, tolerate=True)

    def close(self, outcome: str = "interrupted") -> None:
        """Complete the audit of calls sent but never answered (a signal, a crash of the step)."""
        with self._lock:
            pending = list(self._in_flight.values())
            self._in_flight.clear()
        for call in pending:
            self._audit(
                call,
                outcome,
                error="no answer before the run stopped: it may have been applied",
                tolerate=True,
            )

    def where(self, region: str | None) -> str:
        """`sandbox (123456789012, eu-central-1)`: what a confirmation names first."""
        arn = self.caller()
        parts = arn.split(":")
        account = parts[4] if arn.startswith("arn:") and len(parts) > 4 else "account unknown"
        # Whose credentials make the change, when they are a role's (SSO, an assumed role).
        role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0] if ":assumed-role/" in arn else ""
        inside = ", ".join(p for p in (account, region, f"as {role}" if role else "") if p)
        return f"{self.env_name or 'this environment'} ({inside})"

    # -- audit --------------------------------------------------------------------------
    def forget_caller(self) -> None:
        """The credentials changed (a role was assumed): look the caller up again."""
        self._caller = None

    def caller(self) -> str:
        """The STS caller ARN (looked up once), or why it is unknown."""
        if self._caller is None:
            if self._identity is None:
                self._caller = "unknown"
            else:
                try:
                    self._caller = self._identity()
                except Exception as exc:  # identity must never block an audited call
                    self._caller = f"unknown ({type(exc).__name__})"
        return self._caller

    def _audit(
        self, call: Call, outcome: str, *, error: str | None = None, tolerate: bool = True
    ) -> None:
        """Write one audit record; `tolerate`: keep it in memory if the store cannot take it."""
        if self.store is None:
            return
        scope = _SCOPE.get()
        user = login_name()
        record = {
            "id": call.audit_id or uuid.uuid4().hex[:12],
            "at": iso(utcnow()),
            "phase": "before" if outcome == "started" else "after",
            "outcome": outcome,
            "caller_arn": self.caller(),
            "user": user,
            "host": socket.gethostname(),
            "env": self.env_name,
            "runbook": call.runbook or (scope.runbook if scope else None),
            "run_id": call.run_id or (scope.run_id if scope else None),
            "step": call.step,
            "service": call.service,
            "operation": call.operation,
            "region": call.region,
            "params": self.redact(call.params),
            "error": self.redact(error) if error else None,
        }
        try:
            self.store.append_audit(record)
        except Exception as exc:
            if self.store_error is None:
                self.store_error = exc
            if not tolerate:
                raise
            with self._lock:
                self.unrecorded.append(record)
