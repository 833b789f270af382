"""DynamoDB state store: one table shared by the rotation (single-table design).

Keys (PK / SK):
  AUDIT / <at>#<id>                 audit records, in time order
  RUN / <run_id>                    run summaries (run ids start with their UTC time)
  KNOWNGOOD#<family> / <arn>        revisions seen healthy
  LOCK / <name>                     leases: conditional put, `ttl` for DynamoDB's expiry
  INCIDENT / <id>                   incident documents, with a version for conditional updates
  TIMELINE#<id> / <at>#<uuid>       timeline entries: one item each, never overwritten
  ACTION / <n, zero-padded>         action items; COUNTER / actions hands out n
  SETTING / <key>                   e.g. the active incident
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hybridops.errors import ConfigError, HybridOpsError, aws_error_code
from hybridops.state.store import (
    LockHolder,
    StateStore,
    holder_host_pid,
    iso,
    lease_abandoned,
    utcnow,
)

CONDITION_FAILED = "ConditionalCheckFailedException"


class ConflictError(HybridOpsError):
    """Someone else changed the item since it was read."""


def _code(exc: Exception) -> str | None:
    return aws_error_code(exc)


class DynamoStore(StateStore):
    """State in a DynamoDB table; every multi-writer operation is a conditional write."""

    def __init__(self, client: Any, table: str, journal_dir: Path) -> None:
        self.client = client
        self.table = table
        self.journal_dir = journal_dir
        self.conflicts = 0  # detected (and retried) concurrent incident updates

    # -- table ------------------------------------------------------------------------------
    def create_table(self, *, wait: Callable[[], None] | None = None) -> bool:
        """Create the table (on-demand, TTL on `ttl`); False if it already existed."""
        try:
            self.client.create_table(
                TableName=self.table,
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                KeySchema=[
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        except Exception as exc:
            if _code(exc) == "ResourceInUseException":
                return False
            raise
        self.client.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        self.client.update_time_to_live(
            TableName=self.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )
        return True

    def check(self) -> dict[str, Any]:
        """Describe the table and prove read and write access with a throwaway item."""
        described = self.client.describe_table(TableName=self.table)["Table"]
        probe = {"PK": {"S": "CHECK"}, "SK": {"S": uuid.uuid4().hex}}
        self.client.put_item(TableName=self.table, Item=probe)
        self.client.get_item(TableName=self.table, Key=probe, ConsistentRead=True)
        self.client.delete_item(TableName=self.table, Key=probe)
        return {
            "table": self.table,
            "status": described.get("TableStatus"),
            "items": described.get("ItemCount"),
            "billing": (described.get("BillingModeSummary") or {}).get("BillingMode"),
        }

    # -- helpers ----------------------------------------------------------------------------
    def _put(self, pk: str, sk: str, doc: Any, **extra: Any) -> None:
        item = {"PK": {"S": pk}, "SK": {"S": sk}, "doc": {"S": json.dumps(doc, default=str)}}
        item.update(extra)
        self.client.put_item(TableName=self.table, Item=item)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"PK": {"S": pk}, "SK": {"S": sk}},
            ConsistentRead=True,
        ).get("Item")
        return item

    def _query(
        self, pk: str, *, sk_from: str | None = None, newest_first: bool = False
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        if sk_from is not None:
            kwargs["KeyConditionExpression"] += " AND SK >= :from"
            kwargs["ExpressionAttributeValues"][":from"] = {"S": sk_from}
        while True:
            page = self.client.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _doc(item: dict[str, Any]) -> Any:
        return json.loads(item["doc"]["S"])

    # -- audit, runs, known-good ----------------------------------------------------------
    def append_audit(self, record: dict[str, Any]) -> None:
        """Append one audit record."""
        self._put("AUDIT", f"{record['at']}#{record.get('id') or uuid.uuid4().hex}", record)

    def list_audit(self, since: Any = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Oldest first."""
        records = [
            self._doc(i) for i in self._query("AUDIT", sk_from=iso(since) if since else None)
        ]
        return records[-limit:] if limit else records

    def record_run(self, summary: dict[str, Any]) -> None:
        """Upsert a run summary."""
        self._put("RUN", summary["run_id"], summary)

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first."""
        out = []
        for item in self._query("RUN", newest_first=True):
            out.append(self._doc(item))
            if len(out) >= limit:
                break
        return out

    def record_known_good(self, family: str, task_definition: str) -> None:
        """Remember a healthy revision."""
        self._put(f"KNOWNGOOD#{family}", task_definition, {"seen_at": iso(utcnow())})

    def known_good(self, family: str) -> set[str]:
        """Revisions seen healthy."""
        return {i["SK"]["S"] for i in self._query(f"KNOWNGOOD#{family}")}

    # -- locks ------------------------------------------------------------------------------
    def acquire_lock(self, name: str, holder: str, ttl_s: float) -> LockHolder | None:
        """Conditional put: free, or the previous lease abandoned (`lease_abandoned`)."""
        import socket

        now = utcnow()
        expires = now.timestamp() + ttl_s
        doc = {
            "name": name,
            "holder": holder,
            "acquired_at": iso(now),
            "expires_at": iso(now.fromtimestamp(expires, now.tzinfo)),
        }
        item = {
            "PK": {"S": "LOCK"},
            "SK": {"S": name},
            "doc": {"S": json.dumps(doc)},
            "holder": {"S": holder},
            "host": {"S": (holder_host_pid(holder) or ("", 0))[0]},
            "expires": {"N": f"{expires:.3f}"},
            "ttl": {"N": str(int(expires) + 3600)},
        }
        try:
            # Free, or stale by one more lease length and held from another host: a holder on
            # this host is judged by its process, below, never by the clock.
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(PK)"
                " OR (expires < :stale AND (attribute_not_exists(host) OR host <> :me))",
                ExpressionAttributeValues={
                    ":stale": {"N": f"{now.timestamp() - max(ttl_s, 0.0):.3f}"},
                    ":me": {"S": socket.gethostname()},
                },
            )
            return None
        except Exception as exc:
            if _code(exc) != CONDITION_FAILED:
                raise
        current = self._get("LOCK", name)
        if current is None:  # released between our write and our read: try once more
            return self.acquire_lock(name, holder, ttl_s)
        held = self._doc(current)
        expires_at = now.fromtimestamp(float(current["expires"]["N"]), now.tzinfo)
        if lease_abandoned(held["holder"], expires_at, now, ttl_s):
            try:  # take it over only if nobody else did meanwhile
                self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="holder = :old",
                    ExpressionAttributeValues={":old": {"S": held["holder"]}},
                )
                return None
            except Exception as exc:
                if _code(exc) != CONDITION_FAILED:
                    raise
                return self.acquire_lock(name, holder, ttl_s)
        return LockHolder(name, held["holder"], held["acquired_at"], held["expires_at"])

    def refresh_lock(self, name: str, holder: str, ttl_s: float) -> bool:
        """Extend our lease (heartbeat); False if it is no longer ours."""
        now = utcnow()
        expires = now.timestamp() + ttl_s
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"PK": {"S": "LOCK"}, "SK": {"S": name}},
                UpdateExpression="SET expires = :e, #ttl = :t",
                ConditionExpression="holder = :h",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":e": {"N": f"{expires:.3f}"},
                    ":t": {"N": str(int(expires) + 3600)},
                    ":h": {"S": holder},
                },
            )
        except Exception as exc:
            if _code(exc) == CONDITION_FAILED:
                return False
            raise
        return True

    def release_lock(self, name: str, holder: str) -> None:
        """Delete if still ours."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"PK": {"S": "LOCK"}, "SK": {"S": name}},
                ConditionExpression="holder = :h",
                ExpressionAttributeValues={":h": {"S": holder}},
            )
        except Exception as exc:
            if _code(exc) != CONDITION_FAILED:
                raise

    def lock_holder(self, name: str) -> LockHolder | None:
        """The unexpired holder."""
        item = self._get("LOCK", name)
        if item is None or float(item["expires"]["N"]) < time.time():
            return None
        doc = self._doc(item)
        return LockHolder(name, doc["holder"], doc["acquired_at"], doc["expires_at"])

    def list_locks(self) -> list[LockHolder]:
        """Every unexpired lock."""
        out = []
        for item in self._query("LOCK"):
            if float(item["expires"]["N"]) >= time.time():
                doc = self._doc(item)
                out.append(
                    LockHolder(doc["name"], doc["holder"], doc["acquired_at"], doc["expires_at"])
                )
        return out

    def force_release(self, name: str) -> LockHolder | None:
        """Remove a lock whoever holds it; returns who held it."""
        current = self.lock_holder(name)
        self.client.delete_item(TableName=self.table, Key={"PK": {"S": "LOCK"}, "SK": {"S": name}})
        return current

    # -- incidents --------------------------------------------------------------------------
    def create_incident(self, record: dict[str, Any]) -> bool:
        """Conditional insert."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "PK": {"S": "INCIDENT"},
                    "SK": {"S": record["id"]},
                    "doc": {"S": json.dumps(record, default=str)},
                    "version": {"N": "1"},
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except Exception as exc:
            if _code(exc) == CONDITION_FAILED:
                return False
            raise
        return True

    def get_incident(self, incident_id: str) -> dict[str, Any] | None:
        """One incident."""
        item = self._get("INCIDENT", incident_id)
        return self._doc(item) if item else None

    def put_incident(self, record: dict[str, Any], expected_version: int) -> int:
        """Write if nobody wrote since `expected_version`; ConflictError otherwise."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "PK": {"S": "INCIDENT"},
                    "SK": {"S": record["id"]},
                    "doc": {"S": json.dumps(record, default=str)},
                    "version": {"N": str(expected_version + 1)},
                },
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(expected_version)}},
            )
        except Exception as exc:
            if _code(exc) == CONDITION_FAILED:
                raise ConflictError(
                    f"incident {record['id']} changed concurrently (version {expected_version})"
                ) from None
            raise
        return expected_version + 1

    def update_incident(
        self, incident_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Optimistic: read with its version, change, conditional write; re-apply on conflict."""
        for _ in range(50):
            item = self._get("INCIDENT", incident_id)
            if item is None:
                return None
            version = int(item["version"]["N"])
            record = change(self._doc(item))
            try:
                self.put_incident(record, version)
                return record
            except ConflictError:
                self.conflicts += 1
        raise ConflictError(f"incident {incident_id}: too many concurrent updates")

    def list_incidents(self) -> list[dict[str, Any]]:
        """Newest first."""
        records = [self._doc(i) for i in self._query("INCIDENT")]
        return sorted(records, key=lambda r: (r["started_at"], r["id"]), reverse=True)

    def add_timeline(self, incident_id: str, entry: dict[str, Any]) -> None:
        """One item per entry: appends never overwrite each other."""
        self._put(f"TIMELINE#{incident_id}", f"{entry['at']}#{uuid.uuid4().hex}", entry)

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        """Oldest first."""
        return [self._doc(i) for i in self._query(f"TIMELINE#{incident_id}")]

    def set_active_incident(self, incident_id: str | None) -> None:
        """Remember the active incident."""
        self._put("SETTING", "active_incident", incident_id)

    def active_incident(self) -> str | None:
        """The active incident."""
        item = self._get("SETTING", "active_incident")
        value = self._doc(item) if item else None
        return str(value) if value else None

    # -- action items -----------------------------------------------------------------------
    def add_action(self, incident_id: str, item: dict[str, Any]) -> int:
        """Number from an atomic counter, then the item."""
        counter = self.client.update_item(
            TableName=self.table,
            Key={"PK": {"S": "COUNTER"}, "SK": {"S": "actions"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        number = int(counter["Attributes"]["n"]["N"])
        self._put("ACTION", f"{number:010d}", {"incident_id": incident_id} | item)
        return number

    def list_actions(self) -> list[dict[str, Any]]:
        """Oldest first."""
        return [{"n": int(i["SK"]["S"])} | self._doc(i) for i in self._query("ACTION")]

    def complete_action(self, number: int, at: str) -> dict[str, Any] | None:
        """Set done_at."""
        item = self._get("ACTION", f"{number:010d}")
        if item is None:
            return None
        doc = self._doc(item) | {"done_at": at}
        self._put("ACTION", f"{number:010d}", doc)
        return {"n": number} | doc

    # -- maintenance windows ------------------------------------------------------------------
    def open_maintenance(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The open mark first, conditionally: two machines cannot both open a window."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "PK": {"S": "MAINTENANCE_OPEN"},
                    "SK": {"S": record["env"]},
                    "doc": {"S": json.dumps(record, default=str)},
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except Exception as exc:
            if _code(exc) == CONDITION_FAILED:
                return self.open_window(record["env"]) or record
            raise
        self._put("MAINTENANCE", f"{record['started_at']}#{record['id']}", record)
        return None

    def open_window(self, env: str) -> dict[str, Any] | None:
        """The open mark holds the window."""
        item = self._get("MAINTENANCE_OPEN", env)
        return self._doc(item) if item else None

    def close_maintenance(self, record: dict[str, Any]) -> bool:
        """Remove the open mark only if it is this window's, then store the ended window."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"PK": {"S": "MAINTENANCE_OPEN"}, "SK": {"S": record["env"]}},
                ConditionExpression="contains(doc, :id)",
                ExpressionAttributeValues={":id": {"S": f'"id": "{record["id"]}"'}},
            )
        except Exception as exc:
            if _code(exc) == CONDITION_FAILED:
                return False
            raise
        self._put("MAINTENANCE", f"{record['started_at']}#{record['id']}", record)
        return True

    def list_maintenance(self) -> list[dict[str, Any]]:
        """Newest first."""
        return [self._doc(i) for i in self._query("MAINTENANCE", newest_first=True)]


def open_dynamodb(table: str | None, client: Any, journal_dir: Path) -> DynamoStore:
    """The team store; ConfigError without a table name."""
    if not table:
        raise ConfigError("state.backend dynamodb needs state.table")
    return DynamoStore(client, table, journal_dir)
