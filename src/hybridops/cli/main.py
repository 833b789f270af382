"""Entry point: global options, command groups, and the one error -> exit code ladder."""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from typing import Annotated, Any

import typer

from hybridops import __version__
from hybridops.cli import completion
from hybridops.cli.invocation import Invocation
from hybridops.context import Terminal
from hybridops.errors import CREDENTIALS_FIX, ExitCode, HybridOpsError, translate
from hybridops.options import Options


class OutputFormat(str, enum.Enum):
    """Output modes."""

    text = "text"
    json = "json"


HELP = """Executable, guarded runbooks for the hybrid routing service.

Every change passes one gate: --dry-run plans it, --read-only refuses it, and without --yes
you are asked first. Exit codes: 0 ok, 1 check/step failed, 2 bad input, 3 refused by a
guardrail, 4 AWS/HTTP error, 5 timed out, 130 interrupted (143 SIGTERM, 129 SIGHUP).
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hybridops {__version__}")
        raise typer.Exit(0)


def root(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="Environment name from the config (HYBRIDOPS_ENV).",
            autocompletion=completion.environments,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", help="Config file (HYBRIDOPS_CONFIG; default ./hybridops.yaml)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile (HYBRIDOPS_PROFILE).")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Primary AWS region (HYBRIDOPS_REGION).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url", help="AWS endpoint URL (HYBRIDOPS_ENDPOINT_URL, AWS_ENDPOINT_URL)."
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output",
            "-o",
            envvar="HYBRIDOPS_OUTPUT",
            help="text, or json: one JSON document on stdout.",
        ),
    ] = OutputFormat.text,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Run read-only steps, print every change instead of making it."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Make changes without asking.")] = False,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse every change (exit 3).")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show a traceback for errors.")
    ] = False,
    incident: Annotated[
        str | None,
        typer.Option(
            "--incident",
            envvar="HYBRIDOPS_INCIDENT",
            help="Record this command on an incident's timeline (default: the active one).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Executable, guarded runbooks for the hybrid routing service."""
    invocation = ctx.find_root().obj
    if not isinstance(invocation, Invocation):
        invocation = Invocation(Terminal())
        ctx.find_root().obj = invocation
    invocation.options = Options(
        env=env,
        config=config,
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        output=output.value,
        dry_run=dry_run,
        yes=yes,
        read_only=read_only,
        verbose=verbose,
        quiet=quiet,
        traceback=traceback,
        incident=incident,
    )
    if incident and ctx.invoked_subcommand not in UNRECORDED:
        from hybridops.incidents.lifecycle import check_incident_exists

        # Before the command runs: an unknown id is exit 2 with nothing done or written.
        check_incident_exists(invocation.runtime().store, incident)
    if verbose:
        import logging

        from hybridops.gate.redact import RedactingFilter, Redactor

        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            stream=invocation.terminal.stderr,
            format="%(levelname)s %(name)s: %(message)s",
            force=True,
        )
        # botocore and httpx log headers, URLs and bodies at -vv: secrets pass the same
        # redactor as every other output (it learns secret values as the command runs).
        fallback = Redactor()
        masking = RedactingFilter(
            lambda: (
                invocation.built_runtime.redactor
                if invocation.built_runtime is not None
                else fallback
            )
        )
        for handler in logging.getLogger().handlers:
            handler.addFilter(masking)


# Top-level command -> (module, attribute, group?). Only the invoked command's module is
# imported and turned into a click command: building all of them costs ~50 ms a run.
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "run": ("run", "run", False),
    "runbooks": ("runbooks", "app", True),
    "sandbox": ("sandbox", "app", True),
    "audit": ("audit", "audit", False),
    "demo": ("demo", "demo", False),
    "drill": ("drill", "drill", False),
    "doctor": ("doctor", "doctor", False),
    "config": ("config_cmd", "config", False),
    "reference": ("reference", "reference", False),
    "health": ("health", "health", False),
    "triage": ("triage", "triage", False),
    "rollback": ("rollback", "rollback", False),
    "scale": ("scale", "app", True),
    "logs": ("logs", "app", True),
    "failover": ("failover", "app", True),
    "circuit": ("circuit", "app", True),
    "incident": ("incident", "app", True),
    "alarms": ("alarms", "app", True),
    "maintenance": ("maintenance", "app", True),
    "state": ("state_cmd", "app", True),
    "lock": ("state_cmd", "lock_app", True),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer application: every command, or only `only` (the one being run)."""
    import importlib

    app = typer.Typer(
        name="hybridops",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    app.callback()(root)
    for name, (module_name, attribute, is_group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"hybridops.cli.{module_name}"), attribute)
        if is_group:
            app.add_typer(target, name=name)
        else:
            app.command(name, help=target.__doc__)(target)
    return app


def _only_command(args: list[str]) -> str | None:
    """The top-level command being run, if the parse needs no other (not help, completion)."""
    if "_HYBRIDOPS_COMPLETE" in os.environ:
        return None  # shell completion offers every command
    words = command_words(args)
    return words[0] if words and words[0] in COMMANDS else None


def _root_options() -> dict[str, tuple[Any, Any, set[str]]]:
    """The root callback's options: parameter -> (type, OptionInfo, its names on the line)."""
    import inspect
    import typing

    out = {}
    for name, param in inspect.signature(root, eval_str=True).parameters.items():
        kind, *extras = typing.get_args(param.annotation) or (None,)
        info = next((e for e in extras if isinstance(e, typer.models.OptionInfo)), None)
        if info is not None:
            # In Annotated form Typer reads a first argument like "--env" as a name.
            first = [info.default] if str(info.default).startswith("-") else []
            out[name] = (kind, info, {str(d) for d in [*first, *(info.param_decls or ())]})
    return out


def _global_options() -> tuple[set[str], set[str]]:
    """(options that take a value, flags) of the root callback: its signature is the one list."""
    values: set[str] = set()
    flags: set[str] = set()
    for kind, info, names in _root_options().values():
        if not info.is_eager:  # --version acts before any command
            (flags if kind is bool or info.count else values).update(names)
    return values, flags


# Options accepted after the subcommand too (`hybridops run x --output json`).
GLOBAL_VALUE_OPTIONS, GLOBAL_FLAG_OPTIONS = _global_options()
# --output's names and variable, for an error before the options were applied.
_, _OUTPUT, OUTPUT_NAMES = _root_options()["output"]


def hoist_global_options(command: Any, argv: list[str]) -> list[str]:
    """Move global options given after the subcommand in front of it.

    The leaf command's own options are known from its definition, so their values are
    never mistaken for global options.
    """
    i, node, prefix = 0, command, []
    # Root options and the command path.
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return argv
        if token.startswith("-"):
            prefix.append(token)
            if (
                token.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS
                and "=" not in token
                and i + 1 < len(argv)
            ):
                prefix.append(argv[i + 1])
                i += 1
            i += 1
            continue
        sub = getattr(node, "commands", {}).get(token)
        prefix.append(token)
        i += 1
        if sub is None:
            break
        node = sub
        if not hasattr(node, "commands"):
            break
    own_with_value = set()
    own = set()
    for param in getattr(node, "params", []):
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            own.add(opt)
            if (
                not getattr(param, "is_flag", False)
                and not getattr(param, "count", False)
                and param.param_type_name == "option"
            ):
                own_with_value.add(opt)
    hoisted: list[str] = []
    rest: list[str] = []
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest.extend(argv[i:])
            break
        name = token.split("=", 1)[0]
        if name in own:
            rest.append(token)
            if name in own_with_value and "=" not in token and i + 1 < len(argv):
                rest.append(argv[i + 1])
                i += 1
        elif name in GLOBAL_VALUE_OPTIONS:
            hoisted.append(token)
            if "=" not in token and i + 1 < len(argv):
                hoisted.append(argv[i + 1])
                i += 1
        elif name in GLOBAL_FLAG_OPTIONS:
            hoisted.append(token)
        else:
            rest.append(token)
        i += 1
    if not hoisted:
        return argv
    # Root options must precede the first command name.
    first_cmd = next(
        (
            k
            for k, t in enumerate(prefix)
            if not t.startswith("-") and (k == 0 or prefix[k - 1] not in GLOBAL_VALUE_OPTIONS)
        ),
        len(prefix),
    )
    return prefix[:first_cmd] + hoisted + prefix[first_cmd:] + rest


def main(argv: list[str] | None = None, terminal: Terminal | None = None) -> int:
    """Run the CLI; return (and as a script, exit with) the exit code."""
    standalone = argv is None and terminal is None
    args = list(sys.argv[1:] if argv is None else argv)
    terminal = terminal or Terminal()
    invocation = Invocation(terminal, argv=args)
    command = typer.main.get_command(build_app(_only_command(args)))
    _carry_interrupts(command)
    from hybridops.cli.examples import attach

    attach(command)
    code: int = ExitCode.FAILED
    restore = _deliver_signals_as_interrupts(terminal)
    try:
        args = hoist_global_options(command, args)
        # Help and usage text are written by Typer to sys.stdout/sys.stderr: bind those to the
        # injected terminal so tests (and embedding programs) see everything.
        with (
            contextlib.redirect_stdout(terminal.stdout),
            contextlib.redirect_stderr(terminal.stderr),
        ):
            result = command.main(
                args=args, prog_name="hybridops", standalone_mode=False, obj=invocation
            )
        code = result if isinstance(result, int) else 0
    except Exception as exc:
        code = _handle(exc, invocation)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP delivered as one
        code = _handle(exc, invocation)
    finally:
        try:
            _record_on_timeline(invocation, args, int(code))
            invocation.close()
        except KeyboardInterrupt:  # a second signal during cleanup: the first one's code stands
            pass
        restore()
    if standalone:
        exit_now(int(code))
    return int(code)


# Commands that are not part of handling an incident (or write their own entries).
UNRECORDED = {
    "incident",
    "sandbox",
    "runbooks",
    "demo",
    "drill",
    "audit",
    "state",
    "lock",
    "doctor",
    "config",
}


def command_words(args: list[str]) -> list[str]:
    """The command words of an argv, global options (and their values) left out."""
    words, skip = [], False
    for token in args:
        if skip:
            skip = False
        elif token in GLOBAL_VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-"):
            words.append(token)
    return words


def _masked_params(args: list[str], code: int) -> list[str]:
    """`-p NAME=VALUE` with the value masked when it may be a secret nobody declared yet.

    A runbook that did not load (a typo in NAME, a missing file: exit 2) never told the
    redactor which parameters are secret; names that look secret are masked always.
    """
    from hybridops.gate.redact import MASK, SECRET_KEY_RE

    out, masking = [], False
    for token in args:
        if masking:
            name, sep, _value = token.partition("=")
            if sep and (code == ExitCode.BAD_INPUT or SECRET_KEY_RE.search(name)):
                token = f"{name}={MASK}"
            masking = False
        elif token in ("-p", "--param"):
            masking = True
        elif token.startswith("--param="):
            name, sep, _value = token.removeprefix("--param=").partition("=")
            if sep and (code == ExitCode.BAD_INPUT or SECRET_KEY_RE.search(name)):
                token = f"--param={name}={MASK}"
        out.append(token)
    return out


def _record_on_timeline(invocation: Invocation, args: list[str], code: int) -> None:
    """Every command run during an incident goes on its timeline, with its outcome."""
    runtime = invocation.built_runtime
    words = command_words(args)
    # A dry run writes nothing, its timeline entry included.
    if runtime is None or not words or words[0] in UNRECORDED or invocation.options.dry_run:
        return
    try:
        store = runtime.store
        incident_id = invocation.options.incident or store.active_incident()
        # An unknown --incident was refused up front: nothing goes on a timeline of nothing.
        if not incident_id or store.get_incident(incident_id) is None:
            return
        from hybridops.incidents.lifecycle import add_entry

        gate = runtime.built_gate
        outcome = "ok" if code == 0 else f"exit {code}"
        if invocation.options.dry_run:
            outcome += " (dry run)"
        add_entry(
            store,
            incident_id,
            "command",
            " ".join(words[:2]),
            command=runtime.redactor.text("hybridops " + " ".join(_masked_params(args, code))),
            outcome=outcome,
            # A change actually made (not planned): the post-mortem's time to mitigate.
            mutating=bool(gate and gate.sent),
        )
    except Exception:  # the timeline must never break the command it records
        import logging

        logging.getLogger(__name__).debug("timeline entry failed", exc_info=True)


class _CarriedInterrupt(Exception):
    """Ctrl-C/SIGTERM/SIGHUP wrapped past Typer, which would turn it into a silent exit 130."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__(str(interrupt))
        self.interrupt = interrupt


def _carry_interrupts(command: Any) -> None:
    """Wrap every command callback so an interrupt reaches `_handle` (JSON document, code)."""
    import functools

    callback = getattr(command, "callback", None)
    if callback is not None and not getattr(callback, "_carries", False):

        @functools.wraps(callback)
        def carrying(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except KeyboardInterrupt as exc:
                raise _CarriedInterrupt(exc) from exc

        carrying._carries = True  # type: ignore[attr-defined]
        command.callback = carrying
    for sub in getattr(command, "commands", {}).values():
        _carry_interrupts(sub)


def _deliver_signals_as_interrupts(terminal: Terminal) -> Any:
    """SIGTERM and SIGHUP take Ctrl-C's path: journal, audit, undo rules, lock, one JSON document.

    Returns the function that puts the previous handlers back. Signals can only be handled
    in the main thread; an embedding program calling `main` from another thread keeps its own.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    from hybridops.errors import Signalled

    def on_signal(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if signum == getattr(signal, "SIGHUP", None):
            _detach_terminal(terminal)
        raise Signalled(name)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, on_signal)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _detach_terminal(terminal: Terminal) -> None:
    """The terminal is gone: nobody can answer a prompt, and writing to it would fail (EIO)."""
    terminal.stdin_isatty = False
    for stream, attr in ((terminal.stderr, "stderr_isatty"), (terminal.stdout, "stdout_isatty")):
        if getattr(terminal, attr):
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)


def exit_now(code: int) -> None:
    """End the process without the interpreter's teardown, once output is flushed.

    Freeing every botocore model and module at exit costs ~0.1 s — a fifth of a whole
    rollback. Everything that must outlive us is already closed (state store, journal) and the
    streams are flushed here, so the teardown does no work anyone sees.
    """
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or coverage tool writes its data at normal exit
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (e.g. `| head`) has nothing left to flush.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _wants_json(invocation: Invocation) -> bool:
    """JSON mode, even when parsing stopped before the root options were applied."""
    if invocation.json:
        return True
    args, value = invocation.argv, None
    for index, token in enumerate(args):
        if token == "--":
            break
        name, _, attached = token.partition("=")
        if token in OUTPUT_NAMES and index + 1 < len(args):
            value = args[index + 1]
        elif name in OUTPUT_NAMES and name.startswith("--"):
            value = attached
        elif any(token.startswith(n) for n in OUTPUT_NAMES if len(n) == 2) and len(token) > 2:
            value = token[2:]  # -ojson
    if value is None:
        value = os.environ.get(str(_OUTPUT.envvar))
    return value == "json"


def _emit_error(terminal: Terminal, kind: str, message: str, code: int, hint: str | None) -> None:
    """The one JSON document of a failed command (unless the command already wrote its own)."""
    from hybridops.cli.render import emit_json

    if terminal.json_written:
        return
    error: dict[str, Any] = {"type": kind, "message": message, "exit_code": code}
    if hint:
        error["hint"] = hint
    status = "interrupted" if kind == "Interrupted" else "error"
    emit_json(terminal, {"status": status, "error": error})


def _handle(exc: BaseException, invocation: Invocation) -> int:
    """The one place an exception becomes a message and an exit code."""
    terminal = invocation.terminal
    if isinstance(exc, _CarriedInterrupt):
        exc = exc.interrupt
    # Typer/click usage errors and exits (duck-typed: typer vendors its own click).
    if type(exc).__name__ == "Abort":  # click's word for Ctrl-C (or our SIGTERM/SIGHUP)
        cause = exc.__cause__ or exc.__context__
        exc = cause if isinstance(cause, KeyboardInterrupt) else KeyboardInterrupt()
    if hasattr(exc, "exit_code") and type(exc).__name__ == "Exit":
        return int(exc.exit_code)
    if type(exc).__name__ == "NoArgsIsHelpError":
        # `hybridops` or `hybridops incident` alone: the help, as `--help` prints it.
        terminal.stdout.write(str(exc.format_message()).rstrip() + "\n")  # type: ignore[attr-defined]
        return ExitCode.OK
    elif hasattr(exc, "show") and hasattr(exc, "exit_code"):
        # A usage error: one line naming the option, then where to look (not click's usage
        # block, which pushes the actual problem to the last line).
        from hybridops.cli.render import print_error

        context = getattr(exc, "ctx", None)
        where = f"{context.command_path} --help" if context is not None else "hybridops --help"
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        print_error(terminal, message, f"see `{where}`")
        code = int(exc.exit_code)
        if _wants_json(invocation):
            _emit_error(terminal, "UsageError", message, code, f"see `{where}`")
        return code
    error = translate(exc)
    if error.hint == CREDENTIALS_FIX and invocation.built_runtime is not None:
        # Name the profile in the fix (`aws sso login --profile oncall`), not NAME.
        from hybridops.health.access import credentials_fix, profile_in_use

        with contextlib.suppress(Exception):
            error.hint = credentials_fix(
                profile_in_use(invocation.built_runtime.env.settings.profile)
            )
    if invocation.options.traceback:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=terminal.stderr)
    from hybridops.cli.render import print_error

    built = invocation.built_runtime
    message = built.redactor.text(error.message) if built is not None else error.message
    print_error(terminal, message, error.hint)
    if _wants_json(invocation):
        _emit_error(terminal, type(error).__name__, message, int(error.exit_code), error.hint)
    if (
        not isinstance(exc, HybridOpsError)
        and not invocation.options.traceback
        and invocation.options.verbose
    ):
        terminal.stderr.write("(run with --traceback for details)\n")
    return int(error.exit_code)
