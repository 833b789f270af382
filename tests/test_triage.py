"""Triage on the sandbox: every scenario gets the right first command, with its evidence."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hybridops.engine.loader import load_file
from hybridops.triage.rules import evaluate
from hybridops.triage.run import Triggered, runbooks_with_triggers
from tests.support import Cli
from tests.test_readable_verdicts import plain, terminal

FIRST = {
    "bad-deploy": ("rollback-service", "deploys.failing"),
    "region-outage": ("regional-failover", "primary.down"),
    "bedrock-down": ("circuit-breaker", "bedrock.client"),
    "latency-spike": ("scale-service", "alarms.metrics"),
    "lambda-throttle": ("scale-lambda", None),
}


def _triage(cli: Cli, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("-o", "json", "triage", *args)
    return result.code, json.loads(result.out)  # exactly one document


@pytest.mark.parametrize("scenario", sorted(FIRST))
def test_each_scenario_gets_its_remedy_first_with_evidence(
    cli: Cli, sandbox_env: Any, scenario: str
) -> None:
    sandbox_env.break_(scenario)
    code, doc = _triage(cli)
    assert code == 1
    assert doc["status"] == "action"
    first = doc["recommendations"][0]
    runbook, fact = FIRST[scenario]
    assert first["runbook"] == runbook, doc["recommendations"]
    assert first["command"].startswith(f"hybridops --env sandbox run {runbook}")
    assert first["why"] and first["changes"] and first["evidence"]
    if fact:
        assert fact in [e["fact"] for e in first["evidence"]]
    # A regional outage is not a Bedrock outage: the breaker is not suggested beside it.
    assert [r["runbook"] for r in doc["recommendations"]].count(runbook) == 1


def test_the_remedies_carry_their_parameters(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("bad-deploy")
    rollback = _triage(cli)[1]["recommendations"][0]
    assert rollback["params"] == {"to": "hybrid-router:2"}  # the revision it replaced
    assert "hybrid-router:3 → hybrid-router:2" in rollback["changes"]
    sandbox_env.reset()
    sandbox_env.break_("region-outage")
    failover = _triage(cli)[1]["recommendations"][0]
    assert failover["params"] == {"to": "secondary"}
    assert "cold standby" in failover["why"]  # the backup can serve: failover warms it
    sandbox_env.reset()
    sandbox_env.break_("latency-spike")
    scale = _triage(cli)[1]["recommendations"][0]
    assert scale["params"] == {"to": "4"}  # 2 running + the report's step of 2, under the cap
    assert scale["command"] == "hybridops --env sandbox run scale-service -p to=4"
    assert "2 → 4" in scale["changes"]


def test_a_healthy_estate_gets_no_recommendation_and_exit_0(cli: Cli, sandbox_env: Any) -> None:
    code, doc = _triage(cli)
    assert (code, doc["status"], doc["recommendations"], doc["findings"]) == (0, "ok", [], [])
    assert doc["facts"]["primary"]["verdict"] == "healthy"
    assert doc["facts"]["secondary"] is None  # not read: the primary serves
    assert "secondary" in doc["facts"]["skipped"]
    text = cli("triage")
    assert text.code == 0
    assert text.out.splitlines()[-1] == "nothing needs doing: health is green and no trigger holds"


def test_dns_stale_alone_needs_nothing(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("dns-stale")  # only bites after a failover, which verifies the name
    assert _triage(cli)[0] == 0


def test_a_broken_backup_is_a_finding_and_never_a_failover(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("backup-broken")
    code, doc = _triage(cli)
    assert (code, doc["status"], doc["recommendations"]) == (1, "attention", [])
    assert doc["facts"]["secondary"]["able_to_serve"] is False
    assert any("failing over to the backup side" in f["what"] for f in doc["findings"])
    # With the primary down as well, failover is refused in words, not recommended.
    sandbox_env.break_("region-outage")
    code, doc = _triage(cli)
    assert "regional-failover" not in [r["runbook"] for r in doc["recommendations"]]
    blocked = [f["what"] for f in doc["findings"] if f["source"].startswith("regional-failover")]
    assert blocked and "failover would be refused" in blocked[0]
    assert "cache cluster unreachable" in blocked[0]


def test_text_through_a_pipe_shows_findings_commands_and_evidence(
    cli: Cli, sandbox_env: Any
) -> None:
    sandbox_env.break_("bad-deploy")
    result = cli("triage")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("triage · sandbox (eu-central-1) · health unhealthy · ")
    assert "found:" in lines
    assert any(
        line.startswith("  ✗ component hybrid-router unhealthy: deployment of hybrid-router:3")
        for line in lines
    )
    at = lines.index("do, in this order:")
    assert (
        lines[at + 1] == "  1. hybridops --env sandbox run rollback-service -p to=hybrid-router:2"
    )
    assert lines[at + 2].startswith("     why:      deployment ecs-svc/")
    assert "     evidence: deploys.failing = true (trigger: true)" in lines
    assert any(
        line.startswith("     changes:  ECS service hybrid-router-service") for line in lines
    )
    assert lines[-1] == (
        "next: hybridops --env sandbox run rollback-service -p to=hybrid-router:2"
        "   (or: hybridops --env sandbox triage --apply)"
    )
    assert result.err == ""


def test_text_on_a_terminal_reads_the_same(sandbox_env: Any) -> None:
    sandbox_env.break_("bedrock-down")
    code, shown = terminal(["--env", "sandbox", "triage"])
    text = plain(shown)
    assert code == 1
    assert "1. hybridops --env sandbox run circuit-breaker -p state=open" in text
    assert "evidence: bedrock.client = unhealthy (trigger: one of unhealthy, unreachable)" in text
    assert "\x1b[" in shown  # the rich path, coloured
    assert "rollback-service" not in text  # a Bedrock outage is not a bad deploy


def test_apply_under_dry_run_plans_and_sends_nothing(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("latency-spike")
    before = sandbox_env.controller.service("eu-central-1").desired_count
    result = cli("--dry-run", "-o", "json", "triage", "--apply")
    doc = json.loads(result.out)
    assert result.code == 0
    assert doc["applied"]["status"] == "planned"
    assert doc["applied"]["runbook"] == "scale-service"
    assert sandbox_env.controller.service("eu-central-1").desired_count == before
    assert cli("-o", "json", "audit").json()["records"] == []


def test_apply_runs_the_first_and_lands_on_the_incident_timeline(
    cli: Cli, sandbox_env: Any
) -> None:
    sandbox_env.break_("bedrock-down")
    assert cli("incident", "open", "-s", "P0", "-t", "bedrock 503").code == 0
    applied = cli("--yes", "triage", "--apply")
    assert applied.code == 0, applied.err
    assert "applying 1. hybridops --env sandbox run circuit-breaker" in applied.err
    assert sandbox_env.circuit_open()
    audit = cli("-o", "json", "audit").json()["records"]
    assert [(r["operation"], r["outcome"]) for r in audit if r["outcome"] != "started"] == [
        ("put_parameter", "succeeded")
    ]
    timeline = cli("-o", "json", "incident", "timeline").json()["entries"]
    triage_entries = [e for e in timeline if e["kind"] == "triage"]
    assert triage_entries and triage_entries[0]["text"].startswith(
        "triage: applied circuit-breaker (succeeded, exit 0) — "
    )
    assert triage_entries[0]["recommendation"].startswith("hybridops --env sandbox run circuit")
    # Mitigated: what is left is to find the cause, read-only.
    after = _triage(cli)[1]
    assert [r["runbook"] for r in after["recommendations"]] == ["bedrock-connection-failed"]


def test_apply_declined_changes_nothing(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("bedrock-down")
    cli.answers = ["n"]
    declined = cli("triage", "--apply", tty=True)
    assert declined.code == 3
    assert cli.prompts and "Proceed?" in cli.prompts[-1]
    assert not sandbox_env.circuit_open()


def test_health_and_alarms_end_with_triages_first_command(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("lambda-throttle")
    health = cli("health")
    assert health.code == 0  # degraded is not a failure by default
    assert health.out.splitlines()[-1].startswith(
        "next (triage): hybridops --env sandbox run scale-lambda -p to=50 — "
    )
    alarms = cli("alarms", "list", "--firing")
    assert alarms.out.splitlines()[-1].startswith(
        "next (triage): hybridops --env sandbox run scale-lambda -p to=50 — "
    )
    sandbox_env.reset()
    green = cli("health")
    assert "next" not in green.out  # green says nothing more
    assert cli("-o", "json", "health").json()["status"] == "healthy"


def test_drill_following_triage_mitigates_and_times_it(cli: Cli, sandbox_env: Any) -> None:
    result = cli(
        "-o", "json", "drill", "latency-spike", "--follow-triage", "--interval", "0.1",
        "--timeout", "2m",
    )  # fmt: skip
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["followed_triage"] is True
    assert [s["runbook"] for s in report["triage_steps"]] == ["scale-service"]
    assert report["triage_steps"][0]["status"] == "succeeded"
    assert report["time_to_mitigate_s"] is not None
    assert [c["call"] for c in report["changes"]] == ["ecs.update_service"]


def test_drill_following_triage_ends_when_triage_has_nothing(cli: Cli, sandbox_env: Any) -> None:
    result = cli("drill", "backup-broken", "--follow-triage", "--interval", "0.1")
    assert result.code == 1
    assert "followed triage  triage had nothing more to apply; not recovered" in result.out


# -- ordering, from evidence alone ------------------------------------------------------------


def _facts(**areas: Any) -> dict[str, Any]:
    """A healthy facts document, with `areas` replaced (dotted keys set one value)."""
    facts: dict[str, Any] = {
        "env": "prod",
        "primary": {
            "region": "eu-central-1",
            "verdict": "healthy",
            "down": False,
            "api": "ok",
            "router": {"name": "hybrid-router", "status": "healthy", "reason": None},
            "ecs": {
                "desired": 2,
                "running": 2,
                "at_cap": False,
                "max_desired": 20,
                "scale_up_to": 4,
            },
            "targets": {"healthy": 2, "total": 2},
        },
        "alarms": {"firing": [], "names": [], "metrics": []},
        "route53": {"serving": "primary", "inverted": []},
        "secondary": {"region": "us-west-2", "able_to_serve": True, "why": "cold standby"},
        "deploys": {
            "fresh": True,
            "new_revision": True,
            "rolling_out": False,
            "age_s": 900,
            "age": "15 min",
            "failing": False,
            "current_known_good": False,
            "previous": "hybrid-router:2",
            "current": "hybrid-router:3",
        },
        "lambda": {
            "function": "hybrid-router-function",
            "alias": "live",
            "throttles": 0,
            "window_minutes": 5,
            "at_cap": False,
            "provisioned": 0,
            "max_provisioned": 500,
            "scale_up_to": 50,
        },
        "bedrock": {"client": "healthy", "reason": None, "circuit": "closed"},
        "metrics": {
            m: {"fired": False} for m in ("cpu", "memory", "queue_depth", "p95_ms", "error_rate")
        },
        "unknown": {},
        "skipped": {},
    }
    for dotted, value in areas.items():
        node = facts
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return facts


def _ranked(facts: dict[str, Any]) -> list[str]:
    return [
        r.runbook for r in evaluate(runbooks_with_triggers(), facts, "prod", {}).recommendations
    ]


def test_a_fresh_bad_deploy_is_undone_before_anything_else() -> None:
    facts = _facts(
        deploys__failing=True,
        bedrock__client="unhealthy",
        metrics__cpu={"fired": True, "detail": "85"},
        lambda__throttles=12,
    )
    assert _ranked(facts) == [
        "rollback-service",
        "circuit-breaker",
        "scale-service",
        "scale-lambda",
    ]


def test_a_regional_outage_outranks_scaling() -> None:
    facts = _facts(primary__down=True, metrics__cpu={"fired": True, "detail": "85"})
    facts["primary"]["targets"]["healthy"] = 0
    assert _ranked(facts) == ["regional-failover", "scale-service"]


def test_a_probe_from_here_alone_does_not_fail_a_region_over() -> None:
    """Nothing answers this machine, but the ALB calls its targets healthy: ambiguous."""
    facts = _facts(primary__down=True)
    assert "regional-failover" not in _ranked(facts)
    facts = _facts(primary__down=True, primary__api="unreachable")
    facts["secondary"]["endpoint"] = {"reachable": False}  # nothing answers here at all
    assert "regional-failover" not in _ranked(facts)
    facts["secondary"]["endpoint"] = {"reachable": True}
    assert _ranked(facts)[0] == "regional-failover"


def test_bedrock_down_with_the_router_serving_is_the_breaker_not_a_rollback() -> None:
    facts = _facts(bedrock__client="unhealthy", deploys__fresh=True)
    assert _ranked(facts) == ["circuit-breaker"]
    # Already open: the breaker is not suggested again; finding the cause is.
    facts["bedrock"]["circuit"] = "open"
    assert _ranked(facts) == ["bedrock-connection-failed"]


def test_errors_rising_after_a_fresh_deploy_roll_it_back_unless_a_dependency_explains_them() -> (
    None
):
    rate = {"fired": True, "value": 7.5, "detail": "7.5% 5xx of 4000 requests in 5 min"}
    facts = _facts(metrics__error_rate=rate)
    assert _ranked(facts) == ["rollback-service"]
    facts = _facts(metrics__error_rate=rate, bedrock__client="unhealthy")
    assert _ranked(facts) == ["circuit-breaker"]  # Bedrock's errors, not the deploy's
    quiet = {"fired": False, "value": None, "detail": "not judged: 25 requests in 5 min"}
    assert _ranked(_facts(metrics__error_rate=quiet)) == []


def test_an_old_deploy_that_fails_now_is_not_a_rollback() -> None:
    facts = _facts(deploys__failing=True, deploys__fresh=False)
    assert "rollback-service" not in _ranked(facts)
    facts = _facts(deploys__failing=True, deploys__current_known_good=True)
    assert "rollback-service" not in _ranked(facts)  # it was seen healthy: not the deploy


def test_a_trigger_over_an_unknown_fact_is_said_not_guessed() -> None:
    # Nothing answers, but the ALB's view could not be read (credentials expired): a region
    # that might only be unreachable from here is not failed over; it is said as unknown.
    facts = _facts(primary__down=True)
    facts["primary"]["targets"] = None
    facts["unknown"]["primary.targets"] = "credentials expired (refresh them)"
    outcome = evaluate(runbooks_with_triggers(), facts, "prod", {})
    assert "regional-failover" not in [r.runbook for r in outcome.recommendations]
    assert ("regional-failover", "primary.targets") in [
        (u.runbook, u.area) for u in outcome.undecided
    ]
    assert outcome.status == "unknown" and outcome.exit_code == 1
    # The deploy unknown: a rollback might come first, so the failover is withheld, said so.
    facts = _facts(primary__down=True)
    facts["primary"]["targets"]["healthy"] = 0
    facts["deploys"] = None
    facts["unknown"]["deploys"] = "the known-good store cannot be read"
    outcome = evaluate(runbooks_with_triggers(), facts, "prod", {})
    assert outcome.recommendations == []
    said = [(u.runbook, u.area) for u in outcome.undecided]
    assert ("rollback-service", "deploys") in said and ("regional-failover", "order") in said
    # ...unless the region's ECS API is down (no rollback can be made there) and the backup
    # answers this machine: then the failover comes first.
    facts["primary"]["api"] = "unreachable"
    facts["secondary"]["endpoint"] = {"reachable": True}
    outcome = evaluate(runbooks_with_triggers(), facts, "prod", {})
    assert [r.runbook for r in outcome.recommendations] == ["regional-failover"]
    assert outcome.recommendations[0].trigger == "primary-region-api-down"
    # A known condition that fails settles it: nothing unknown is said about rollback when the
    # deploy is unknown but nothing else points at it either.
    healthy = _facts()
    healthy["primary"]["ecs"] = None
    healthy["unknown"]["primary.ecs"] = "credentials expired"
    quiet = evaluate(runbooks_with_triggers(), healthy, "prod", {})
    assert quiet.recommendations == []


def test_a_rollback_in_progress_is_never_rolled_back() -> None:
    """Rolling back from :3 to :2, the old :3 is still ACTIVE: :3 is no rollback target."""
    facts = _facts(deploys__new_revision=False, deploys__previous=None, deploys__failing=False)
    facts["deploys"]["rolling_out"] = True
    facts["metrics"]["error_rate"] = {"fired": True, "detail": "20% 5xx"}
    facts["primary"]["verdict"] = "unhealthy"
    assert _ranked(facts) == []  # judged when the rollout completes; not "unexplained"


def test_a_bad_deploy_in_a_dead_region_gives_both_in_order() -> None:
    facts = _facts(primary__down=True, deploys__failing=True)
    facts["primary"]["targets"]["healthy"] = 0
    assert _ranked(facts) == ["rollback-service", "regional-failover"]


def test_the_fallback_is_considered_only_when_nothing_else_holds() -> None:
    facts = _facts(primary__verdict="degraded")
    assert _ranked(facts) == ["recent-errors"]
    facts["metrics"]["cpu"] = {"fired": True, "detail": "85"}
    assert _ranked(facts) == ["scale-service"]


def test_a_blocked_trigger_becomes_a_finding() -> None:
    facts = _facts(primary__ecs={"desired": 20, "running": 20, "at_cap": True, "max_desired": 20})
    facts["metrics"]["cpu"] = {"fired": True, "detail": "85"}
    outcome = evaluate(runbooks_with_triggers(), facts, "prod", {"service": "svc"})
    assert outcome.recommendations == []
    assert any("runs at its cap (20/20)" in f.what for f in outcome.findings)


# -- credentials that do not work -------------------------------------------------------------


class _Expired(BaseHTTPRequestHandler):
    """Every AWS request answers as AWS does for an expired session token."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps(
            {
                "__type": "ExpiredTokenException",
                "message": "The security token included in the request is expired",
            }
        ).encode()
        self.send_response(400)
        self.send_header("x-amzn-ErrorType", "ExpiredTokenException")
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


def test_expired_credentials_are_unknown_not_a_recommendation(
    cli: Cli, write_config: Callable[..., Path], healthy_endpoint: Any
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Expired)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        write_config(f"http://127.0.0.1:{server.server_port}", healthy_endpoint.url)
        result = cli("-o", "json", "triage")
        doc = json.loads(result.out)
        assert result.code == 1
        assert doc["recommendations"] == []
        assert "expired" in doc["facts"]["unknown"]["primary.ecs"].lower()
        text = cli("triage")
        assert "? cannot judge primary.ecs: " in text.out
        assert "next:" not in text.out.splitlines()[-1] or "cannot judge" in text.out
    finally:
        server.shutdown()


# -- the format ---------------------------------------------------------------------------------


def test_triggers_are_checked_against_the_facts(cli: Cli, write_runbook: Any) -> None:
    book = write_runbook(
        """\
name: t
steps:
  - name: s
    sleep: {seconds: 0}
triggers:
  - name: x
    priority: 5
    when:
      primary.ecz.running: 0
    why: typo
"""
    )
    result = cli("runbooks", "validate", str(book))
    assert result.code == 2
    assert f"{book}:8: triggers[0].when: no such fact: primary.ecz.running" in result.err
    assert "primary has no 'ecz' (known: api, components, down, ecs" in result.err


def test_facts_are_for_triggers_only(cli: Cli, write_runbook: Any) -> None:
    book = write_runbook(
        """\
name: t
steps:
  - name: s
    http: {url: "http://127.0.0.1:1/${{ facts.env }}"}
"""
    )
    result = cli("runbooks", "validate", str(book))
    assert result.code == 2
    assert "facts.* is read by triggers only" in result.err


def test_a_trigger_must_give_required_parameters(cli: Cli, write_runbook: Any) -> None:
    book = write_runbook(
        """\
name: t
parameters:
  state: {type: string, required: true}
steps:
  - name: s
    sleep: {seconds: 0}
triggers:
  - name: x
    priority: 5
    when: {primary.down: true}
    why: down
"""
    )
    result = cli("runbooks", "validate", str(book))
    assert result.code == 2
    assert "must give required parameter 'state'" in result.err


def test_a_teams_runbook_triggers_count_with_runbook(
    cli: Cli, sandbox_env: Any, write_runbook: Any
) -> None:
    book = write_runbook(
        """\
name: page-the-db-team
description: read-only
steps:
  - name: s
    sleep: {seconds: 0}
triggers:
  - name: db
    priority: 99
    when: {primary.components.database.status: unhealthy}
    why: the database component is ${{ facts.primary.components.database.status }}
"""
    )
    sandbox_env.break_("region-outage")
    _, doc = _triage(cli, "--runbook", str(book))
    assert [r["runbook"] for r in doc["recommendations"]][:2] == [
        "page-the-db-team",
        "regional-failover",
    ]
    assert doc["recommendations"][0]["why"] == "the database component is unhealthy"
    assert doc["recommendations"][0]["changes"] == "nothing (read-only)"


def test_every_builtin_trigger_set_is_whole(tmp_path: Path) -> None:
    """The fast path reads only triggers: the full validation of each file must agree."""
    fast = {b.name: b for b in runbooks_with_triggers()}
    for book in fast.values():
        full = load_file(book.source)
        assert [t.name for t in full.triggers] == [t.name for t in book.triggers]
        assert isinstance(book, Triggered)
    assert set(fast) == {
        "rollback-service",
        "regional-failover",
        "service-recovery",
        "circuit-breaker",
        "bedrock-connection-failed",
        "recent-errors",
        "scale-lambda",
        "scale-service",
    }


def test_the_gathered_facts_are_the_documented_facts(cli: Cli, sandbox_env: Any) -> None:
    """docs/facts.md and trigger validation read engine/facts.py: the gatherer must agree."""
    from hybridops.engine.facts import FACTS

    sandbox_env.break_("region-outage")  # the second round reads the backup side too
    sandbox_env.break_("lambda-throttle")
    facts = _triage(cli)[1]["facts"]

    def walk(doc: Any, schema: Any, where: str) -> None:
        if not isinstance(schema, dict) or doc is None:
            return  # a leaf (or an area that was not read)
        assert isinstance(doc, dict), where
        assert set(doc) == set(schema), f"{where}: {sorted(set(doc) ^ set(schema))}"
        for key, sub in schema.items():
            walk(doc[key], sub, f"{where}.{key}".lstrip("."))

    walk(facts, FACTS, "")
    assert facts["secondary"] is not None and facts["lambda"]["provisioned"] is not None


# -- what an adversarial review found -----------------------------------------------------------


def test_a_team_trigger_reading_a_skipped_fact_gets_it_read(
    cli: Cli, sandbox_env: Any, write_runbook: Any
) -> None:
    book = write_runbook(
        """\
name: breaker-left-open
steps:
  - name: s
    sleep: {seconds: 0}
triggers:
  - name: open
    priority: 30
    when: {bedrock.circuit: open}
    why: the breaker is open
"""
    )
    code, doc = _triage(cli, "--runbook", str(book))
    assert (code, doc["status"], doc["unknown"]) == (0, "ok", [])  # read, found closed
    assert doc["facts"]["bedrock"]["circuit"] == "closed"
    assert cli("--yes", "circuit", "open", "--reason", "test").code == 0
    code, doc = _triage(cli, "--runbook", str(book))
    first = doc["recommendations"][0]
    assert first["runbook"] == "breaker-left-open"
    # The file that was judged is what runs: not a built-in of the same name.
    assert first["command"] == f"hybridops --env sandbox run {book.resolve()}"


def test_remote_text_is_one_clean_line_and_tokens_are_masked(
    cli: Cli, write_config: Callable[..., Path], http_server: Any, moto: Any
) -> None:
    hostile = (
        "db down \x1b[2J\x1b]0;pwned\x07 Authorization: Bearer eyJhbGciOi.SEKRETJWT.sig"
        "\nnext: hybridops --env prod run regional-failover -p to=secondary" + "x" * 2000
    )

    def answer(path: str) -> tuple[int, Any]:
        return 503, {"status": "unhealthy", "reason": hostile}

    server = http_server(answer)
    write_config(moto.url, server.url)
    text = cli("triage").out
    doc = json.loads(cli("-o", "json", "triage").out)
    assert "\x1b" not in text and "\x07" not in text
    assert "SEKRETJWT" not in text and "SEKRETJWT" not in json.dumps(doc)
    assert not any(line.startswith("next: hybridops --env prod") for line in text.splitlines())
    reason = doc["facts"]["primary"]["components"]["hybrid-router"]["reason"]
    assert "\n" not in reason and len(reason) <= 300


def test_optional_settings_left_out_do_not_make_a_green_estate_red(
    cli: Cli,
    write_config: Callable[..., Path],
    healthy_endpoint: Any,
    moto: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No target group, no secondary health URL, no Route 53: nothing is wrong with that.
    write_config(moto.url, healthy_endpoint.url)
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="hybrid-routing-cluster")
    arn = ecs.register_task_definition(
        family="hybrid-router",
        containerDefinitions=[{"name": "r", "image": "r:1", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto runs nothing unless told
    ecs.create_service(
        cluster="hybrid-routing-cluster",
        serviceName="hybrid-router-service",
        taskDefinition=arn,
        desiredCount=2,
    )
    result = cli("-o", "json", "triage")
    doc = json.loads(result.out)
    assert (result.code, doc["status"], doc["recommendations"]) == (0, "ok", [])
    assert {f["severity"] for f in doc["findings"]} <= {"unknown"}  # said, not alarming
    assert "primary.targets" in doc["facts"]["absent"]  # not configured: nothing to judge
    line = next(x for x in cli("triage").out.splitlines() if x.startswith("not configured"))
    assert "primary.targets" in line and "metrics.error_rate" in line  # no target group, no ALB
    assert not any("backup side" in f["what"] for f in doc["findings"])


def test_the_commands_keep_the_global_options_that_chose_the_estate(
    cli: Cli, sandbox_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_env.break_("latency-spike")
    doc = json.loads(cli("--region", "eu-central-1", "-o", "json", "triage").out)
    assert doc["recommendations"][0]["command"] == (
        "hybridops --env sandbox --region eu-central-1 run scale-service -p to=4"
    )


def test_a_declined_apply_is_on_the_timeline_as_not_applied(cli: Cli, sandbox_env: Any) -> None:
    sandbox_env.break_("bedrock-down")
    assert cli("incident", "open", "-s", "P1", "-t", "bedrock").code == 0
    assert cli("triage", "--apply").code == 3  # no terminal to confirm on
    timeline = cli("-o", "json", "incident", "timeline").json()["entries"]
    said = [e["text"] for e in timeline if e["kind"] == "triage"]
    assert said and said[0].startswith("triage: did not apply circuit-breaker (refused, exit 3)")
    assert not sandbox_env.circuit_open()


def test_apply_sends_the_masked_parameters_it_printed(sandbox_env: Any) -> None:
    """A token inside Bedrock's error reason must not become the breaker's SSM Description."""
    sandbox_env.break_("bedrock-down")
    from hybridops.triage.rules import Recommendation
    from hybridops.triage.run import apply as apply_recommendation

    rec = Recommendation(
        runbook="circuit-breaker",
        trigger="bedrock-failing",
        priority=80,
        command="",
        params={"state": "open", "reason": "triage: 401 Authorization: Bearer sk-SEKRET12345"},
        why="",
        evidence=[],
        changes="",
    )
    from hybridops.options import Options
    from hybridops.runtime import Runtime

    result = apply_recommendation(Runtime(Options(env="sandbox", yes=True)), rec, [])
    assert result.status == "succeeded", result.error
    ssm = sandbox_env.internal_client("ssm")
    stored = ssm.describe_parameters()["Parameters"]
    assert stored and all("SEKRET" not in str(p.get("Description")) for p in stored)
