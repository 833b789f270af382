"""What the operator is asked before a change: the confirmation prompts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hybridops.errors import Refused
from hybridops.plaintext import said_yes

if TYPE_CHECKING:
    from hybridops.context import Terminal
    from hybridops.gate.core import Call, Confirmer, Scope
    from hybridops.gate.redact import Redactor


def describe_call(call: Call, redactor: Redactor) -> str:
    """The call in words a person judges at a glance: what, then each parameter on a line."""
    from hybridops.plaintext import as_table

    params = redactor(call.params) if isinstance(call.params, dict) else {}
    lines = [f"step {call.step!r} will call {call.service}.{call.operation}"]
    if params:
        lines.append(as_table(params, indent="    "))
    return "\n".join(lines)


def make_confirmer(
    terminal: Terminal,
    redactor: Redactor,
    where: Callable[[str | None], str] | None = None,
    env_name: Callable[[], str] | None = None,
) -> Confirmer:
    """Ask on the terminal before a mutating call; refuse when nobody can answer."""

    def confirm(call: Call, scope: Scope) -> bool:
        name = env_name() if env_name is not None else ""
        if not terminal.interactive:
            if call.danger:
                raise Refused(
                    f"step {call.step!r} would call {call.describe()}: {call.danger};"
                    " this must be confirmed by typing the environment name on a terminal",
                    hint=f"run it on a terminal and type {name!r} when asked",
                )
            raise Refused(
                f"step {call.step!r} would call {call.describe()}: confirmation needed,"
                " but there is no terminal to ask on",
                hint="pass --yes to allow changes without a prompt",
            )
        header = f"In {where(call.region)}:" if where is not None else ""
        text = "\n".join(line for line in (header, describe_call(call, redactor)) if line)
        if call.danger:
            answer = terminal.ask(f"{text}\nDANGER: {call.danger}\nType {name!r} to continue: ")
            return answer.strip() == name
        answer = terminal.ask(f"{text}\nProceed? [y/N] ")
        return said_yes(answer)

    return confirm
