"""The gate: the one place that decides whether an outbound call is sent, planned or refused.

Read this package for the security review: `classify` says which AWS operations and HTTP
methods change something (from the operation alone, never from the runbook), `core` applies
dry-run / read-only / confirmation and writes the audit records, `redact` keeps secrets out of
everything that leaves the process. `aws/` and `http/` wire every client through it.
"""

from hybridops.gate.core import Call, Confirmer, Gate, GateMode, Scope, current_scope

__all__ = ["Call", "Confirmer", "Gate", "GateMode", "Scope", "current_scope"]
