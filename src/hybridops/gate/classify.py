"""What changes something: decided from the operation alone, never from the runbook author.

An AWS operation is read-only when its API name starts with a reading verb (Describe, List,
Get, ...) or it is on the short allow-list below of calls that change nothing despite their
names. Everything else mutates. An HTTP request is read-only only for the safe methods of RFC
9110 (GET, HEAD, OPTIONS). A runbook's `mutating: true` may raise a step's class; nothing lowers
it (`mutating: false` on a writing call is a validation error).
"""

from __future__ import annotations

from typing import Any

READ_ONLY_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Filter",
    "Lookup",
    "Search",
    "Simulate",
    "Validate",
    "Check",
)
# Not "Test": TestInvokeMethod (API Gateway) calls the backend and TestRepositoryTriggers
# (CodeCommit) fires the triggers. The Test* calls that only read are on the allow-list.

# (service, API operation) pairs that read although their names do not say so. Keep this list
# short and justified: every entry is a call a dry run and --read-only will send.
READ_ONLY_ALLOW_LIST: dict[tuple[str, str], str] = {
    ("logs", "StartQuery"): "starts a Logs Insights query: it reads log data",
    ("logs", "StopQuery"): "cancels such a read (one of ours that timed out)",
    ("logs", "TestMetricFilter"): "matches a pattern against sample lines it is given",
    ("sts", "AssumeRole"): "returns temporary credentials; changes no resource",
    ("route53", "TestDNSAnswer"): "asks Route 53 what it would answer",
    ("events", "TestEventPattern"): "matches a pattern against an event it is given",
}

_ALLOWED = frozenset((service, op.lower()) for service, op in READ_ONLY_ALLOW_LIST)

SAFE_HTTP_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def to_api_name(operation: str) -> str:
    """`describe_services` -> `DescribeServices` (API names pass through unchanged)."""
    if "_" not in operation and operation[:1].isupper():
        return operation
    return "".join(part[:1].upper() + part[1:] for part in operation.split("_"))


def is_read_only(operation: str, service: str | None = None) -> bool:
    """True for operations that only read: Describe*/List*/Get*/... and the allow-list."""
    api = to_api_name(operation)
    # A whole word: Checkout* (license-manager) and Checkpoint* (lambda) write.
    for prefix in READ_ONLY_PREFIXES:
        rest = api[len(prefix) :]
        if api.startswith(prefix) and (not rest or rest[0].isupper()):
            return True
    # Compared case-blind: boto3's names lose the acronyms' case (TestDNSAnswer: test_dns_answer).
    key = api.lower()
    if service is not None:
        return (service, key) in _ALLOWED
    return any(op == key for _, op in _ALLOWED)


def aws_mutates(service: str, operation: str) -> bool:
    """Whether an AWS call changes something."""
    return not is_read_only(operation, service)


def http_mutates(method: str) -> bool:
    """Whether an HTTP request may change something (anything but GET/HEAD/OPTIONS)."""
    return method.upper() not in SAFE_HTTP_METHODS


def removes_all_capacity(service: str, operation: str, params: Any) -> str | None:
    """What a call breaks when it takes away all serving capacity (None: it does not).

    Such a call needs the environment's name typed on a terminal, `--yes` or not (a runbook's
    typed `confirm:` step counts), as failing over to an unhealthy side does.
    """
    if not isinstance(params, dict):
        return None
    if service == "ecs" and operation == "update_service" and params.get("desiredCount") == 0:
        return f"service {params.get('service', '?')} will run no task: nothing will serve"
    if service == "ecs" and operation == "delete_service":
        return f"service {params.get('service', '?')} will be deleted: nothing will serve"
    return None


def effective(operation_mutates: bool, declared: bool | None) -> bool:
    """A call's class: `mutating: true` raises it; nothing may lower it."""
    return operation_mutates or bool(declared)
