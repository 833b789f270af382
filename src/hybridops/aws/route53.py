"""Route 53 for regional failover: which side serves, and the change that moves traffic.

Two layouts are supported. *failover*: a PRIMARY/SECONDARY record pair with health checks;
traffic is forced to the SECONDARY by inverting the PRIMARY's health check (and back by
un-inverting it), which leaves the records themselves untouched. *simple*: one CNAME or alias
A record whose value is switched between the environment's `primary_target` and
`secondary_target`; the previous record set is kept so failback restores it exactly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hybridops.errors import CheckFailed, ConfigError


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def records_for(route53: Any, zone_id: str, name: str) -> list[dict[str, Any]]:
    """Every record set named exactly `name` (all types, all set identifiers)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": name}
    while True:
        page = route53.list_resource_record_sets(**kwargs)
        for record in page.get("ResourceRecordSets", []):
            if _fqdn(record["Name"]) == _fqdn(name):
                found.append(record)
            elif found:
                return found  # sorted by name: past ours
        if not page.get("IsTruncated"):
            return found
        kwargs["StartRecordName"] = page["NextRecordName"]
        kwargs["StartRecordType"] = page.get("NextRecordType")


def _value(record: dict[str, Any]) -> str | None:
    if "AliasTarget" in record:
        return str(record["AliasTarget"]["DNSName"]).rstrip(".").lower()
    values = record.get("ResourceRecords") or []
    return str(values[0]["Value"]).rstrip(".").lower() if values else None


@dataclass
class Layout:
    """What the records look like, and which side they send traffic to."""

    mode: str  # failover | simple
    records: list[dict[str, Any]]
    serving: str  # primary | secondary | unknown
    primary_check: str | None = None
    primary_check_inverted: bool = False
    values: dict[str, str | None] = field(default_factory=dict)


def layout(
    route53: Any,
    zone_id: str,
    name: str,
    primary_target: str | None,
    secondary_target: str | None,
) -> Layout:
    """Read the records of `name` and tell which side serves; CheckFailed if not as expected."""
    records = records_for(route53, zone_id, name)
    if not records:
        raise CheckFailed(f"no Route 53 record {name} in hosted zone {zone_id}")
    failover: dict[str, dict[str, Any]] = {r["Failover"]: r for r in records if r.get("Failover")}
    if failover:
        if set(failover) != {"PRIMARY", "SECONDARY"}:
            raise CheckFailed(
                f"{name}: failover routing needs a PRIMARY and a SECONDARY record,"
                f" found {', '.join(sorted(failover))}"
            )
        check_id = failover["PRIMARY"].get("HealthCheckId")
        if not check_id:
            raise CheckFailed(f"{name}: the PRIMARY record has no health check to fail over with")
        config = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]
        inverted = bool(config["HealthCheckConfig"].get("Inverted"))
        return Layout(
            "failover",
            records,
            "secondary" if inverted else "primary",
            check_id,
            inverted,
            {"PRIMARY": _value(failover["PRIMARY"]), "SECONDARY": _value(failover["SECONDARY"])},
        )
    routable = [r for r in records if r["Type"] in ("CNAME", "A", "AAAA")]
    if len(routable) != 1:
        raise CheckFailed(
            f"{name}: expected one CNAME or alias record (or a failover pair),"
            f" found {len(routable)}"
        )
    if not primary_target or not secondary_target:
        raise ConfigError(
            "a simple (non-failover) record needs primary_target and secondary_target in the"
            " environment"
        )
    value = _value(routable[0])
    serving = {
        primary_target.rstrip(".").lower(): "primary",
        secondary_target.rstrip(".").lower(): "secondary",
    }.get(value or "", "unknown")
    return Layout("simple", routable, serving, values={"record": value})


def switch_batch(current: Layout, target_value: str) -> dict[str, Any]:
    """The UPSERT that points the simple record at `target_value`."""
    record = copy.deepcopy(current.records[0])
    if "AliasTarget" in record:
        record["AliasTarget"]["DNSName"] = target_value
    else:
        record["ResourceRecords"] = [{"Value": target_value}]
    return {
        "Comment": "hybridops failover",
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}],
    }


def restore_batch(current: Layout) -> dict[str, Any]:
    """The UPSERT that puts the simple record back exactly as it was."""
    return {
        "Comment": "hybridops failback",
        "Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": copy.deepcopy(r)} for r in current.records
        ],
    }


def environment_layout(route53: Any, settings: Any) -> Layout:
    """The layout of an environment's public record (its hosted_zone_id and record_name)."""
    return layout(
        route53,
        settings.hosted_zone_id,
        settings.record_name,
        settings.primary_target,
        settings.secondary_target,
    )
