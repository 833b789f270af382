"""One or two examples for every command, shown at the end of its --help."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, list[str]] = {
    "": ["hybridops --env sandbox health", "hybridops --dry-run rollback"],
    "run": [
        "hybridops run service-status",
        "hybridops --dry-run run scale-service -p by=2",
    ],
    "audit": ["hybridops audit --since 1h", "hybridops -o json audit --since 'yesterday 18:00'"],
    "demo": ["hybridops demo"],
    "drill": ["hybridops --env sandbox drill bad-deploy", "hybridops sandbox scenarios"],
    "doctor": ["hybridops doctor", "hybridops --env prod -o json doctor"],
    "config": ["hybridops config", "hybridops --env prod --region us-east-1 config"],
    "reference": ["hybridops reference --out docs"],
    "health": ["hybridops health", "hybridops health --watch --interval 5"],
    "triage": ["hybridops triage", "hybridops --dry-run triage --apply"],
    "rollback": ["hybridops --dry-run rollback", "hybridops rollback --to 41 --yes"],
    "runbooks": ["hybridops runbooks list", "hybridops runbooks show rollback-service"],
    "runbooks list": ["hybridops runbooks list"],
    "runbooks show": ["hybridops runbooks show scale-service"],
    "runbooks validate": [
        "hybridops runbooks validate",
        "hybridops runbooks validate --strict my.yaml",
    ],
    "runbooks schema": ["hybridops runbooks schema --out runbook.schema.json"],
    "runbooks export": ["hybridops --env prod runbooks export my-runbook.yaml --out my.json"],
    "runbooks import": ["hybridops runbooks import AWS-RestartECSService.json --out restart.yaml"],
    "runbooks docs": ["hybridops runbooks docs --check"],
    "sandbox": ["hybridops sandbox up --detach", "hybridops sandbox break bad-deploy"],
    "sandbox up": ["hybridops sandbox up --detach"],
    "sandbox down": ["hybridops sandbox down"],
    "sandbox status": ["hybridops sandbox status"],
    "sandbox scenarios": ["hybridops sandbox scenarios"],
    "sandbox break": ["hybridops sandbox break bad-deploy", "hybridops sandbox break bedrock-down"],
    "sandbox reset": ["hybridops sandbox reset"],
    "scale": ["hybridops scale check", "hybridops scale service --by +2"],
    "scale service": [
        "hybridops scale service --by +2",
        "hybridops --dry-run scale service --to 6",
    ],
    "scale lambda": ["hybridops scale lambda --by 50", "hybridops scale lambda --to 200 --yes"],
    "scale check": ["hybridops scale check", "hybridops scale check --apply --dry-run"],
    "logs": ["hybridops logs search --since 10m --grep ERROR", "hybridops logs query latency"],
    "logs search": [
        "hybridops logs search --since 10m --grep ERROR",
        "hybridops logs search --since 23:40 --until '5 minutes ago' --request-id abc123",
    ],
    "logs query": ["hybridops logs query latency --since 1h", "hybridops logs query errors"],
    "logs report": ["hybridops logs report daily", "hybridops logs report weekly"],
    "logs report daily": ["hybridops logs report daily --format markdown"],
    "logs report weekly": ["hybridops logs report weekly"],
    "logs report monthly": ["hybridops logs report monthly -o json"],
    "failover": ["hybridops failover status", "hybridops --dry-run failover --to secondary"],
    "failover status": ["hybridops failover status"],
    "circuit": ["hybridops circuit status", "hybridops circuit open --reason 'bedrock 503s' --yes"],
    "circuit open": ["hybridops circuit open --reason 'bedrock 503s'"],
    "circuit close": ["hybridops circuit close --target bedrock"],
    "circuit status": ["hybridops circuit status"],
    "incident": [
        "hybridops incident open -s P1 -t 'router slow'",
        "hybridops incident list --open",
    ],
    "incident open": ["hybridops incident open -s P0 -t 'Hybrid router down' --commander kim"],
    "incident notify": ["hybridops incident notify"],
    "incident ack": ["hybridops incident ack", "hybridops incident ack INC-20261130-014500"],
    "incident update": [
        "hybridops incident update --status identified --note 'bad deploy'",
        "hybridops incident update --severity P1 --commander lee",
    ],
    "incident note": [
        "hybridops incident note 'cache saturated'",
        "hybridops incident note INC-20261130-014500 'rolled back'",
    ],
    "incident escalate": [
        "hybridops incident escalate",
        "hybridops incident escalate --to sre-lead",
    ],
    "incident resolve": ["hybridops incident resolve --note 'rolled back to revision 41'"],
    "incident list": ["hybridops incident list --open"],
    "incident show": ["hybridops incident show"],
    "incident timeline": ["hybridops incident timeline | less"],
    "incident postmortem": ["hybridops incident postmortem --out postmortem.md"],
    "incident action": ["hybridops incident action list --overdue"],
    "incident action add": [
        "hybridops incident action add INC-20261130-014500 'alarm on P95'"
        " --owner kim --due 2026-12-15"
    ],
    "incident action list": ["hybridops incident action list --overdue"],
    "incident action done": ["hybridops incident action done 3"],
    "alarms": ["hybridops alarms list --firing", "hybridops alarms sync --dry-run"],
    "alarms sync": ["hybridops alarms sync --dry-run", "hybridops alarms sync --prune --yes"],
    "alarms list": ["hybridops alarms list --firing"],
    "maintenance": ["hybridops maintenance start --reason 'db upgrade'"],
    "maintenance start": ["hybridops maintenance start --reason 'db upgrade' --duration 2h"],
    "maintenance end": ["hybridops maintenance end"],
    "maintenance status": ["hybridops maintenance status"],
    "maintenance checklist": ["hybridops maintenance checklist"],
    "state": ["hybridops state check"],
    "state init": ["hybridops --env prod state init"],
    "state check": ["hybridops state check"],
    "state migrate": ["hybridops state migrate --from sqlite --to dynamodb --dry-run"],
    "lock": ["hybridops lock list"],
    "lock list": ["hybridops lock list"],
    "lock release": ["hybridops lock release service:prod --force"],
}


def epilog(path: str) -> str | None:
    """The examples block of a command (`\\b` keeps click from rewrapping the lines)."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def attach(command: Any, path: str = "") -> None:
    """Give every command in the tree its examples."""
    text = epilog(path)
    if text is not None:
        command.epilog = text
    for name, sub in getattr(command, "commands", {}).items():
        attach(sub, f"{path} {name}".strip())
