"""Run a validated runbook: gate every mutation, retry, time out, compensate, journal."""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hybridops.engine import matching
from hybridops.engine.events import (
    CompensationFinished,
    CompensationStarted,
    EventBus,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
    StepNote,
    StepRecord,
    StepStarted,
)
from hybridops.engine.templating import iter_references, render
from hybridops.errors import (
    CheckFailed,
    ExitCode,
    HybridOpsError,
    Interrupted,
    LeaseLost,
    Refused,
    RemoteError,
    StateStoreFailed,
    StepFailed,
    translate,
)
from hybridops.gate.core import Gate, GateMode, current_scope
from hybridops.gate.redact import Redactor
from hybridops.plaintext import said_yes
from hybridops.state.store import actor, holder_alive, iso, utcnow
from hybridops.steps.base import StepContext
from hybridops.steps.registry import load_kinds, step_is_mutating

if TYPE_CHECKING:
    from collections.abc import Callable

    from hybridops.aws.session import ClientFactory
    from hybridops.engine.models import Runbook, Step
    from hybridops.http.client import HttpClientFactory
    from hybridops.state.store import StateStore

RETRYABLE = (CheckFailed, StepFailed, RemoteError)
STATUS_FOR_ERROR = {ExitCode.REFUSED: "refused", ExitCode.TIMED_OUT: "timed_out"}
# A condition reading a step's outputs (its status is known in a dry run too).
_STEP_IN_PATH = re.compile(r"\bsteps\.(\"?)([A-Za-z0-9_-]+)\1(?![\w-])(?!\.(?:status|jumps)\b)")
# A lock is a lease: a live run renews it every LOCK_HEARTBEAT_S; a crashed run's lease runs
# out after LOCK_TTL_S and the next run may take it over.
LOCK_TTL_S = 120.0
LOCK_HEARTBEAT_S = 30.0


def _reruns(step: Step) -> bool:
    """A step a resumed run does again (its effect is on the process: assumed credentials)."""
    from hybridops.steps.registry import ACTIONS

    return step.action is not None and ACTIONS[step.action.name].rerun_on_resume


_KEEP: Any = object()


def _done(completed: list[tuple[Step, StepRecord]], step: Step, record: StepRecord) -> None:
    """A step that succeeded, once however many passes of a loop it ran."""
    if all(done.name != step.name for done, _ in completed):
        completed.append((step, record))


def holder_run(holder: str) -> str | None:
    """The run id in a lock holder string (`user@host pid N run ID (arn)`)."""
    match = re.search(r" run (\S+)", holder)
    return match.group(1) if match else None


def new_run_id() -> str:
    """A sortable, unique run id."""
    return f"{utcnow().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def error_dict(exc: HybridOpsError) -> dict[str, Any]:
    """The JSON shape of an error."""
    out: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": exc.message,
        "exit_code": int(exc.exit_code),
    }
    if exc.hint:
        out["hint"] = exc.hint
    return out


class _PlannedOutputs(dict[str, str]):
    """Outputs of a planned step: every name renders as a visible placeholder."""

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"<planned: steps.{self.step}.outputs.{key}>"


def _leaves(value: Any) -> list[str]:
    """Every scalar inside a value, as text (a secret output may be a list or an object)."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


@dataclass
class Services:
    """What the executor calls out through."""

    clients: ClientFactory
    http: HttpClientFactory
    gate: Gate
    store: StateStore | None = None


@dataclass
class Executor:
    """Executes one runbook once."""

    runbook: Runbook
    params: dict[str, Any]
    env_name: str
    env_scope: dict[str, Any]
    services: Services
    mode: GateMode
    bus: EventBus
    redactor: Redactor = field(default_factory=Redactor)
    interactive: bool = False
    # Asked each time: a terminal can go away mid-run (SIGHUP), and then nobody can answer.
    terminal: Callable[[], bool] | None = None
    ask: Callable[[str], str] | None = None
    run_id: str = field(default_factory=new_run_id)
    sleeper: Callable[[float], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    # Resuming: outputs of steps that succeeded in an earlier run, reused instead of re-run.
    reuse: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed_from: str | None = None

    def __post_init__(self) -> None:
        self.kinds = load_kinds()
        self.outputs: dict[str, dict[str, Any]] = {}
        self.scope: dict[str, Any] = {
            "params": self.params,
            "steps": self.outputs,
            "env": self.env_scope,
            "run": {
                "id": self.run_id,
                "runbook": self.runbook.name,
                "env": self.env_name,
                "jumped_to": None,
                "jumps": 0,
            },
        }
        self._jumps: dict[tuple[str, int], int] = {}  # (step, goto) -> times taken back
        # In a dry run, the step whose loop was not gone round again (None: none yet).
        self._loop_not_followed: int | None = None
        # In a dry run, steps after a planned change would observe the unchanged estate.
        self._planned_change = False
        self._planned_steps: set[str] = set()
        self._run_over = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._lease: tuple[Any, str, str] | None = None
        self._lease_lost: str | None = None

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Execute every step in order; compensate on failure; always finish the journal."""
        result = RunResult(
            run_id=self.run_id,
            runbook=self.runbook.name,
            env=self.env_name,
            params=self.redactor(self.params),
            started_at=iso(utcnow()),
            dry_run=self.mode.dry_run,
            steps=[StepRecord(s.name, s.kind, step_is_mutating(s)) for s in self.runbook.steps],
        )
        self._records = result.steps
        started = time.monotonic()
        self.bus.emit(RunStarted(result, len(self.runbook.steps)))
        failure: HybridOpsError | None = None
        completed: list[tuple[Step, StepRecord]] = []
        lock = None
        try:
            try:
                lock = self._take_lock()
            except Refused as exc:
                failure = exc
                for record in result.steps:
                    record.status = "not_run"
            steps = [] if failure else list(zip(self.runbook.steps, result.steps, strict=True))
            # An interruption during a step with `on_cancel`: the steps it names run (the
            # cleanup its author wrote), nothing else, and the run ends interrupted.
            cancelled: HybridOpsError | None = None
            cancel_path: list[str] | None = None
            # Control moves down the list; a `goto` moves it elsewhere (back: a loop).
            index = 0
            while index < len(steps):
                step, record = steps[index]
                here, index = index, index + 1
                if cancel_path is not None and step.name not in cancel_path:
                    record.status = "not_run"
                    continue
                if self._reusable(step):
                    record.status = "succeeded"
                    record.outputs = self.reuse[step.name]
                    record.detail = f"done in run {self.resumed_from}: outputs reused"
                    self._ended(step.name, "succeeded", record.outputs)
                    completed.append((step, record))
                    self.bus.emit(StepFinished(self.run_id, record))
                    try:
                        index = self._next(step, record, index, cancelled=cancel_path is not None)
                    except HybridOpsError as exc:  # its goto's condition failed
                        failure = exc
                        record.status = "failed"
                        record.error = self.redactor(error_dict(exc))
                        break
                    continue
                try:
                    error = self._run_step(step, record, here)
                except KeyboardInterrupt as exc:
                    if step.on_cancel is None or cancelled is not None:
                        raise
                    cancelled = translate(exc)
                    cancel_path = list(step.on_cancel)
                    record.status = "interrupted"
                    record.detail = f"interrupted: on_cancel runs {', '.join(step.on_cancel)}"
                    self._ended(step.name, "interrupted")
                    self.bus.emit(StepFinished(self.run_id, record))
                    continue
                # How it ended, for a later `when` (steps.NAME.status): a branch on failure.
                self._ended(step.name, record.status)
                if error is None and self.services.gate.store_error is not None:
                    # The change was made but its record could not be kept: stop here and undo.
                    error = translate(self.services.gate.store_error)
                    if record.status == "succeeded":
                        _done(completed, step, record)
                if isinstance(error, StateStoreFailed) or self.services.gate.store_error:
                    # What is left to write (undo records, lock release, journal) gets the
                    # space the store kept for this moment.
                    self._free_reserve()
                if error is None:
                    if record.status == "succeeded":
                        _done(completed, step, record)
                elif step.on_failure == "continue" and not isinstance(error, Refused):
                    if step.critical:
                        failure = failure or error
                    else:
                        result.warnings.append(
                            f"step {step.name} failed and is not critical: "
                            + self.redactor.text(error.message)
                        )
                    error = None
                if error is None:
                    try:
                        index = self._next(step, record, index, cancelled=cancel_path is not None)
                        continue
                    except HybridOpsError as exc:  # a loop past its bound, a bad condition
                        record.status = "failed"
                        record.error = self.redactor(error_dict(exc))
                        self._ended(step.name, "failed")
                        error = exc
                if failure is None:
                    failure = error
                for rest in result.steps[here + 1 :]:
                    if rest.status in ("pending", "running"):
                        rest.status = "not_run"
                break
            if cancelled is not None:
                # The on_cancel path ran; what else was changed is offered for undo as after
                # any interruption (asked, or --yes), never undone behind the operator's back.
                failure = cancelled
                self._offer_undo(completed)
            elif failure is not None:
                if isinstance(failure, LeaseLost):
                    # Another run may hold the lock now: undoing could overwrite its change.
                    self._leave_undone(completed, f"not undone: {failure.message}")
                else:
                    self._compensate(completed)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (see cli.main)
            failure = translate(exc)
            for record in result.steps:
                if record.status in ("pending", "running"):
                    record.status = "interrupted" if record.status == "running" else "not_run"
            self._offer_undo(completed)
        finally:
            self._run_over.set()
            gate = self.services.gate
            gate.close()
            if self._check_lease in gate.guards:
                gate.guards.remove(self._check_lease)
            if lock is not None and self.services.store is not None:
                try:
                    self.services.store.release_lock(*lock)
                except Exception as exc:  # the lease runs out by itself; say so, go on
                    result.warnings.append(f"lock {lock[0]!r} not released: {exc}")
            if gate.unrecorded:
                result.warnings.append(
                    f"{len(gate.unrecorded)} audit record(s) could not be written to the state"
                    f" store ({gate.store_error}): they are in this output's `unrecorded_audit`"
                )
                result.unrecorded_audit = list(gate.unrecorded)
            result.duration_s = time.monotonic() - started
            result.finished_at = iso(utcnow())
            result.calls = self._calls()
            if failure is None:
                result.status = "planned" if self.mode.dry_run else "succeeded"
                result.exit_code = 0
            else:
                result.error = self.redactor(error_dict(failure))
                result.exit_code = int(failure.exit_code)
                result.status = (
                    "interrupted"
                    if isinstance(failure, Interrupted)
                    else "refused"
                    if isinstance(failure, Refused)
                    else "failed"
                )
            from hybridops.engine.report import resolve_report

            # What the run found, as the runbook says to show it (never raises).
            result.report = resolve_report(self.runbook, self.scope, self.redactor)
            self.bus.emit(RunFinished(result))
        return result

    def _take_lock(self) -> tuple[str, str] | None:
        """Hold the runbook's lock (per environment) for the run; Refused naming the holder."""
        store = self.services.store
        # Every runbook that changes something holds a lock: its declared target, else its name.
        target = self.runbook.lock or (
            self.runbook.name if any(step_is_mutating(s) for s in self.runbook.steps) else None
        )
        if target is None or self.mode.dry_run or self.mode.read_only or store is None:
            return None
        import os

        name = f"{target}:{self.env_name}"
        caller = self.services.gate.caller() if self.services.gate else "unknown"
        holder = f"{actor()} pid {os.getpid()} run {self.run_id} ({caller})"
        current = store.acquire_lock(name, holder, LOCK_TTL_S)
        if (
            current is not None
            and self.resumed_from
            and holder_run(current.holder) == (self.resumed_from)
        ):
            alive = holder_alive(current.holder)
            if alive is not False:
                # Its lease is live: that run may still be making changes. Two runs of one
                # runbook at once is exactly what the lock is for.
                why = "is still running" if alive else "may still be running (another host)"
                raise Refused(
                    f"run {self.resumed_from} {why}: it holds lock {name!r}"
                    f" until {current.expires_at}",
                    hint="let it finish or stop it first; a holder that is gone: "
                    f"`hybridops lock release {name} --force`",
                )
            # The run being resumed died holding the lock: its continuation takes it over.
            store.force_release(name)
            current = store.acquire_lock(name, holder, LOCK_TTL_S)
        if current is not None:
            raise Refused(
                f"lock {name!r} is held by {current.holder} since {current.acquired_at}",
                hint=f"wait for that run to finish (its lease expires at {current.expires_at});"
                f" a holder that is gone: `hybridops lock release {name} --force`",
            )
        self._lease = (store, name, holder)
        self.services.gate.guards.append(self._check_lease)
        self._heartbeat = threading.Thread(
            target=self._renew, args=(store, name, holder), daemon=True, name="lock-heartbeat"
        )
        self._heartbeat.start()
        return name, holder

    def _free_reserve(self) -> None:
        store = self.services.store
        if store is not None and store.release_reserve():
            import logging

            logging.getLogger(__name__).info("state store full: freed its reserve to finish")

    def _renew(self, store: Any, name: str, holder: str) -> None:
        """Renew the lease while the run lives (a thread; the run's end stops it)."""
        while not self._run_over.wait(LOCK_HEARTBEAT_S):
            try:
                if not store.refresh_lock(name, holder, LOCK_TTL_S):
                    self._lease_lost = f"lock {name!r} was taken over by another run"
                    return
            except Exception:  # a missed heartbeat is retried; the lease has slack
                continue

    def _check_lease(self, call: Any) -> None:
        """Before every change: this run must still hold its lock (renewed right here)."""
        if self._lease is None:
            return
        store, name, holder = self._lease
        if self._lease_lost is None:
            try:
                if not store.refresh_lock(name, holder, LOCK_TTL_S):
                    self._lease_lost = f"lock {name!r} was taken over by another run"
            except Exception:
                # The store failed (full, read-only): the lease is still ours until it runs
                # out. An undo goes ahead; anything else is not sent (the store's error).
                scope = current_scope()
                if scope is not None and scope.undo:
                    return
                raise
        if self._lease_lost is not None:
            raise LeaseLost(
                f"{self._lease_lost}: stopped before {call.describe()}",
                hint=f"see `hybridops lock list`; then resume with --resume {self.run_id}",
            )

    def _calls(self) -> list[dict[str, Any]]:
        """Mutating calls of this run: planned (not sent) first, then sent, redacted."""
        gate = self.services.gate
        return [
            {
                "step": call.step,
                "service": call.service,
                "operation": call.operation,
                "region": call.region,
                "params": self.redactor(call.params),
                "mutating": call.mutating,
                "sent": sent,
            }
            for calls, sent in ((gate.planned, False), (gate.sent, True))
            for call in calls
        ]

    # -- one step ---------------------------------------------------------------------------
    def _context(self, step_name: str, timeout_s: float | None) -> StepContext:
        return StepContext(
            run_id=self.run_id,
            step_name=step_name,
            clients=self.services.clients,
            http=self.services.http,
            gate=self.services.gate,
            mode=self.mode,
            scope=self.scope,
            emit=self.bus.emit,
            interactive=self.terminal() if self.terminal is not None else self.interactive,
            ask=self.ask,
            deadline=(time.monotonic() + timeout_s) if timeout_s else None,
            timeout_s=timeout_s,
            stop=self.stop,
            sleeper=self.sleeper,
            store=self.services.store,
        )

    def _ended(self, name: str, status: str, outputs: Any = _KEEP) -> None:
        """How a step ended, for later conditions: its status, and after how many jumps."""
        entry = self.outputs.setdefault(name, {"outputs": None})
        if outputs is not _KEEP:
            entry["outputs"] = outputs
        entry["status"] = status
        # An imported SSM document's flow tests that a step ran since the last jump.
        entry["jumps"] = self.scope["run"]["jumps"]

    def _reusable(self, step: Step) -> bool:
        """Resuming: a step done in the earlier run whose outputs stand (not one in a loop)."""
        return (
            step.name in self.reuse
            and not _reruns(step)
            and step.name not in self.runbook.loop_steps
        )

    def _next(
        self, step: Step, record: StepRecord, following: int, *, cancelled: bool = False
    ) -> int:
        """Where control goes after a step that ran: its first `goto` that holds, else on."""
        if not step.goto or record.status in ("skipped", "not_run") or cancelled:
            # Interrupted, the cleanup runs once, in order: it never jumps (or loops) again.
            return following
        position = {s.name: i for i, s in enumerate(self.runbook.steps)}
        here = position[step.name]
        for number, jump in enumerate(step.goto):
            if not self._holds(jump.when):
                continue
            target = position[jump.step]
            back = target <= here
            if back and self.mode.dry_run:
                # What a loop waits for is what the run would change: a plan goes round once.
                note = f"a dry run goes through the loop once (then back to {jump.step})"
                record.detail = f"{record.detail}; {note}" if record.detail else note
                self._loop_not_followed = here
                return following
            self.scope["run"]["jumped_to"] = jump.step
            self.scope["run"]["jumps"] += 1
            if back:
                self._loop_back(step, number, jump, target, here)
            for over, skipped in enumerate(self.runbook.steps[following:target], following):
                record_over = self._records[over]
                record_over.status = "skipped"
                record_over.detail = f"jumped over: {step.name} went to {jump.step}"
                self.outputs[skipped.name] = {"outputs": None}
                self._ended(skipped.name, "skipped")
                self.bus.emit(StepFinished(self.run_id, record_over))
            return target
        return following

    def _loop_back(self, step: Step, number: int, jump: Any, target: int, here: int) -> None:
        """Count a jump back against its bound; the steps of the pass it ends start again."""
        key = (step.name, number)
        self._jumps[key] = self._jumps.get(key, 0) + 1
        if self._jumps[key] > jump.max:
            raise StepFailed(
                f"step {step.name}: jumped back to {jump.step} {jump.max} times (its goto's"
                " max); the loop did not end",
                hint="raise the goto's max if the loop needs more passes",
            )
        # A loop inside this one is entered afresh on this pass: its bound counts again.
        position = {s.name: i for i, s in enumerate(self.runbook.steps)}
        for inner, count in list(self._jumps.items()):
            source = self.runbook.steps[position[inner[0]]]
            inner_target = position[source.goto[inner[1]].step] if source.goto else -1
            if target <= position[inner[0]] < here and inner_target >= target and count:
                self._jumps[inner] = 0
        passes = f"pass {self._jumps[key] + 1} of at most {jump.max + 1}"
        self.bus.emit(StepNote(self.run_id, step.name, f"back to {jump.step} ({passes})"))
        # What the last pass did is history: a step this pass does not reach is not run.
        for record in self._records[target : here + 1]:
            record.status = "pending"

    def _holds(self, condition: str | None) -> bool:
        """A `when` (of a step, a jump, a compensation) over the run's scope; none holds."""
        return condition is None or matching.holds(condition, self.scope)

    def _run_step(self, step: Step, record: StepRecord, index: int) -> HybridOpsError | None:
        kind = self.kinds[step.kind]
        if record.passes:  # a loop's next pass: what the last one left is not this one's
            record.outputs, record.error, record.detail, record.attempts = {}, None, None, 0
        record.started_at = iso(utcnow())
        started = time.monotonic()
        self.outputs[step.name] = {"outputs": None}
        undecided = False
        try:
            if not self._holds(step.when):
                if self._loop_not_followed is None or index <= self._loop_not_followed:
                    record.status = "skipped"
                    record.detail = f"when: {step.when}"
                    return None
                # A dry run went round a loop once: control may well reach this step when
                # the loop ends, so what it would change is planned too.
                undecided = True
            record.passes += 1
            if self.mode.dry_run and self._uses_planned_outputs(step):
                self._plan_without_running(step, record)
                return None
            body = render(step.body.model_dump(by_alias=True, exclude_none=True), self.scope)
            if self.mode.dry_run and self._planned_change and kind.waits(step):
                record.status = "planned"
                record.detail = "not polled in a dry run: it waits on planned changes"
                # What it would observe is unknown: steps reading its outputs are planned too.
                self._planned_steps.add(step.name)
                return None
            error: HybridOpsError | None = None
            for attempt in range(step.retries + 1):
                record.attempts = attempt + 1
                record.status = "running"
                self.bus.emit(
                    StepStarted(
                        self.run_id,
                        record,
                        index,
                        len(self.runbook.steps),
                        self.redactor.text(kind.describe(step, self.redactor(body))),
                    )
                )
                try:
                    self._attempt(step, record, body)
                    return None
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    error = translate(exc)
                    if (
                        self.mode.dry_run
                        and self._planned_change
                        and isinstance(error, CheckFailed)
                    ):
                        record.status = "unverified"
                        record.detail = f"after planned changes: {error.message}"
                        return None
                    if not isinstance(error, RETRYABLE) or attempt == step.retries:
                        break
                    self._sleep(step.retry_delay_s)
            assert error is not None
            record.status = STATUS_FOR_ERROR.get(error.exit_code, "failed")
            record.error = self.redactor(error_dict(error))
            return error
        except HybridOpsError as exc:  # rendering / when-evaluation problems
            record.status = "failed"
            record.error = self.redactor(error_dict(exc))
            return exc
        finally:
            record.duration_s = time.monotonic() - started
            if undecided:
                note = (
                    "planned in case it runs: whether it does is decided when the loop before it"
                    " ends (a dry run goes round once)"
                )
                record.detail = f"{record.detail}; {note}" if record.detail else note
            if record.status != "running":
                self.bus.emit(StepFinished(self.run_id, record))

    def _uses_planned_outputs(self, step: Step) -> bool:
        raw = step.body.model_dump(by_alias=True, exclude_none=True)
        if any(
            ref[0] == "steps" and len(ref) > 1 and ref[1] in self._planned_steps
            for ref in iter_references([raw, step.when, step.expect])
        ):
            return True
        # JMESPath (assert keys, a plain `when`) names steps without ${{ }}.
        asserted = list(raw.get("that") or {}) if step.kind == "assert" else []
        paths = [step.when or "", *asserted]
        return any(
            match.group(2) in self._planned_steps
            for path in paths
            for match in _STEP_IN_PATH.finditer(path)
        )

    def _plan_without_running(self, step: Step, record: StepRecord) -> None:
        """A dry-run step whose inputs come from planned steps: record what it would do."""
        placeholders = {name: {"outputs": _PlannedOutputs(name)} for name in self._planned_steps}
        scope = {**self.scope, "steps": {**self.outputs, **placeholders}}
        body = render(step.body.model_dump(by_alias=True, exclude_none=True), scope)
        kind = self.kinds[step.kind]
        planner = getattr(kind, "planned_call", None)
        if planner is not None and record.mutating:
            ctx = self._context(step.name, step.timeout_s)
            with self.services.gate.scope(step.name, runbook=self.runbook.name, run_id=self.run_id):
                self.services.gate.check(planner(step, body, ctx))
        self._planned_steps.add(step.name)
        self._planned_change = True
        record.status = "planned"
        record.detail = "inputs come from planned steps"

    def _attempt(self, step: Step, record: StepRecord, body: dict[str, Any]) -> None:
        kind = self.kinds[step.kind]
        gate = self.services.gate
        ctx = self._context(step.name, step.timeout_s)
        with gate.scope(
            step.name,
            mutating_override=step.mutating,
            runbook=self.runbook.name,
            run_id=self.run_id,
            secret_responses=bool(step.secret_outputs),
        ) as scope:
            result = kind.run(step, body, ctx)
        planned = self.mode.dry_run and any(c.mutating for c in scope.calls)
        if planned or (self.mode.dry_run and record.mutating):
            self._planned_change = True
            self._planned_steps.add(step.name)
            record.status = "planned"
            record.outputs = {}
            self.outputs[step.name] = {"outputs": None}
            return
        # Output paths may carry ${{ }} references (e.g. a filter on a parameter).
        paths = render(step.outputs, self.scope)
        outputs = {name: matching.search(path, result) for name, path in paths.items()}
        for name in step.secret_outputs:
            for value in _leaves(outputs.get(name)):
                self.redactor.add(value)
        self.outputs[step.name] = {"outputs": outputs}
        record.outputs = self.redactor(outputs)
        if step.expect:
            expectations = render(step.expect, self.scope)
            mismatches = matching.evaluate(result, expectations)
            if mismatches:
                raise CheckFailed(f"step {step.name}: " + "; ".join(str(m) for m in mismatches))
        record.status = "succeeded"

    def _sleep(self, seconds: float) -> None:
        if self.sleeper is not None:
            self.sleeper(seconds)
        else:
            self.stop.wait(seconds)

    # -- compensation -----------------------------------------------------------------------
    def _offer_undo(self, completed: list[tuple[Step, StepRecord]]) -> None:
        """After Ctrl-C: undo the completed changes with --yes, or if the operator says so."""
        undoable = [(s, r) for s, r in completed if s.compensate is not None]
        if not undoable or self.mode.dry_run:
            return
        try:
            if not self.mode.assume_yes:
                ctx = self._context(undoable[-1][0].name, None)
                if not (ctx.interactive and ctx.ask is not None):
                    self._leave_undone(
                        undoable,
                        "interrupted with nobody to ask (and no --yes): undo by hand",
                    )
                    return
                names = ", ".join(s.name for s, _ in undoable)
                answer = ctx.ask(f"Interrupted. Undo the changes made by {names}? [y/N] ")
                if not said_yes(answer):
                    self._leave_undone(undoable, "left changed at the operator's word")
                    return
            self._compensate(completed)
        except (KeyboardInterrupt, EOFError):
            # A second signal, or the terminal gone at the question: stop undoing, and leave
            # what is still changed with its undo command instead of silence.
            still_changed = [
                (s, r)
                for s, r in undoable
                if (r.compensation or {}).get("status") not in ("succeeded", "skipped")
            ]
            self._leave_undone(
                still_changed,
                "interrupted again before it was undone (an undo in flight may be partly"
                " applied): check, then undo by hand",
            )

    def _leave_undone(self, completed: list[tuple[Step, StepRecord]], reason: str) -> None:
        """Record, for each change left made, why and the command that undoes it."""
        for step, record in reversed(completed):
            if step.compensate is None:
                continue
            record.compensation = {"status": "skipped", "reason": reason}
            command = self._undo_command(step)
            if command:
                record.compensation["undo"] = command
            self.bus.emit(
                CompensationFinished(
                    self.run_id,
                    step.name,
                    "skipped",
                    reason + (f"; undo with: {command}" if command else ""),
                )
            )

    def _undo_command(self, step: Step) -> str | None:
        """The compensation of a step as a command line to paste, secrets masked."""
        from hybridops.shell.script import undo_command

        assert step.compensate is not None
        kind_name = step.compensate.kind
        try:
            body = render(
                getattr(step.compensate, kind_name).model_dump(by_alias=True, exclude_none=True),
                self.scope,
            )
            return self.redactor.text(undo_command(step.name, kind_name, body, self.env_scope))
        except Exception:  # a command we cannot write must not hide the reason
            return None

    def _compensation_declined(self, step: Step) -> str | None:
        """Why a conditional compensation is not run (None: run it)."""
        assert step.compensate is not None
        condition, question = step.compensate.when, step.compensate.ask
        if condition is None:
            return None
        try:
            automatic = self._holds(condition)
        except HybridOpsError as exc:
            return f"when: {exc.message}"
        if automatic:
            return None
        ctx = self._context(step.name, step.timeout_s)
        if question and ctx.interactive and ctx.ask is not None:
            question_text = str(render(question, self.scope))
            answer = ctx.ask(f"{question_text} [y/N] ")
            if said_yes(answer):
                return None
            return "declined by the operator"
        return f"not automatic (when: {condition}) and nobody to ask"

    def _compensate(self, completed: list[tuple[Step, StepRecord]]) -> None:
        """Undo completed steps that declare `compensate`, newest first."""
        if self.mode.dry_run:
            return
        for step, record in reversed(completed):
            if step.compensate is None or (record.compensation or {}).get("status") == "succeeded":
                continue  # nothing to undo, or already undone (a second pass after a signal)
            kind_name = step.compensate.kind
            kind = self.kinds[kind_name]
            description = f"{kind_name} compensation of {step.name}"
            skipped = self._compensation_declined(step)
            if skipped:
                record.compensation = {"status": "skipped", "reason": skipped}
                self.bus.emit(CompensationFinished(self.run_id, step.name, "skipped", skipped))
                continue
            try:
                body = render(
                    getattr(step.compensate, kind_name).model_dump(
                        by_alias=True, exclude_none=True
                    ),
                    self.scope,
                )
                description = self.redactor.text(kind.describe(step, self.redactor(body)))
                self.bus.emit(CompensationStarted(self.run_id, step.name, description))
                ctx = self._context(step.name, step.timeout_s)
                # The operator authorised the step; undoing it needs no second prompt.
                with self.services.gate.scope(
                    f"{step.name}:compensate",
                    authorized=True,
                    undo=True,
                    runbook=self.runbook.name,
                    run_id=self.run_id,
                ):
                    kind.run(step, body, ctx)
                record.compensation = {"status": "succeeded", "call": description}
                self.bus.emit(CompensationFinished(self.run_id, step.name, "succeeded"))
            except Exception as exc:  # keep undoing the others
                error = translate(exc)
                record.compensation = {"status": "failed", "error": self.redactor(error.message)}
                self.bus.emit(CompensationFinished(self.run_id, step.name, "failed", error.message))
