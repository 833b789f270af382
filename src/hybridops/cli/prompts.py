"""What the operator is asked before a change: the confirmation prompts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hybridops.errors import Refused

if TYPE_CHECKING:
    from hybridops.context import Environment
    from hybridops.gate.core import Call, Confirmer, Scope
    from hybridops.gate.redact import Redactor


def make_confirmer(environment: Environment, redactor: Redactor) -> Confirmer:
    """Ask on the terminal before a mutating call; refuse when nobody can answer."""

    def confirm(call: Call, scope: Scope) -> bool:
        if not environment.interactive:
            raise Refused(
                f"step {call.step!r} would call {call.describe()}: confirmation needed,"
                " but there is no terminal to ask on",
                hint="pass --yes to allow changes without a prompt",
            )
        params = json.dumps(redactor(call.params), default=str, separators=(",", ":"))
        answer = environment.ask(
            f"Step {call.step!r} will call {call.describe()} {params}\nProceed? [y/N] "
        )
        return answer.strip().lower() in ("y", "yes")

    return confirm
