"""`goto`: a native runbook's jumps and loops (the engine under SSM's backward nextStep)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support import Cli, MotoServer
from tests.support import parameter_version as _version

POLL = """\
name: poll-until-healthy
parameters:
  url: {type: string}
steps:
  - name: mark
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /mark, Value: m, Type: String, Overwrite: true}}
  - name: probe
    http: {url: "${{ params.url }}/health", timeout_s: 2}
    outputs: {code: status}
  - name: again
    sleep: 0
    when: "steps.probe.outputs.code != `200`"
    goto: {step: probe, max: 3}
  - name: after
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /after, Value: a, Type: String, Overwrite: true}}
"""


def _book(tmp_path: Path, text: str = POLL, name: str = "poll.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _answers(http_server: Any, codes: list[int]) -> Any:
    answers = iter(codes)
    return http_server(lambda m, p, b: (next(answers, codes[-1]), {"status": "x"}))


def test_a_loop_runs_until_its_condition_lets_it_out(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    server = _answers(http_server, [503, 503, 200])
    result = cli("--yes", "-o", "json", "run", str(_book(tmp_path)), "-p", f"url={server.url}")
    assert result.code == 0, result.err
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["probe"]["passes"] == 3 and steps["probe"]["outputs"] == {"code": 200}
    assert steps["again"]["status"] == "skipped"  # the last pass: healthy, no jump
    ssm = moto.client("ssm")
    assert (_version(ssm, "/mark"), _version(ssm, "/after")) == (1, 1)


def test_a_loop_past_its_max_fails_the_step_and_nothing_after_runs(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    server = _answers(http_server, [503])
    result = cli("--yes", "run", str(_book(tmp_path)), "-p", f"url={server.url}")
    assert result.code == 1
    text = result.out + result.err
    assert "jumped back to probe 3 times (its goto's max); the loop did not end" in text
    assert "back to probe (pass 4 of at most 4)" in text
    assert _version(moto.client("ssm"), "/after") is None  # checked in AWS


def test_resume_runs_a_loop_again_and_reuses_what_came_before_it(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    codes = [503, 503, 503, 503, 200]
    server = _answers(http_server, codes)
    book = _book(tmp_path)
    first = cli("--yes", "-o", "json", "run", str(book), "-p", f"url={server.url}")
    assert first.code == 1
    moto.forget_requests()
    again = cli("--yes", "-o", "json", "run", str(book), "--resume", first.json()["run_id"])
    assert again.code == 0, again.err
    steps = {s["name"]: s for s in again.json()["steps"]}
    assert "reused" in steps["mark"]["detail"]
    # The loop's steps ran again (their outputs in the failed run are a pass, not a result).
    assert steps["probe"]["outputs"] == {"code": 200} and "detail" not in steps["probe"]
    assert moto.requests.count("PutParameter") == 1  # /after only: /mark was not sent again
    assert _version(moto.client("ssm"), "/mark") == 1


def test_a_forward_goto_jumps_over_steps(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    text = """\
name: jump-over
parameters:
  fast: {type: boolean, default: true}
steps:
  - name: start
    sleep: 0
    goto: {step: last, when: params.fast}
  - name: middle
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /middle, Value: m, Type: String}}
  - name: last
    sleep: 0
"""
    book = _book(tmp_path, text, "jump.yaml")
    result = cli("--yes", "-o", "json", "run", str(book))
    assert result.code == 0, result.err
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["middle"]["status"] == "skipped"
    assert steps["middle"]["detail"] == "jumped over: start went to last"
    assert steps["last"]["status"] == "succeeded"
    ssm = moto.client("ssm")
    assert _version(ssm, "/middle") is None
    slow = cli("--yes", "-o", "json", "run", str(book), "-p", "fast=false")
    assert slow.code == 0 and _version(ssm, "/middle") == 1


def test_runbooks_show_says_where_a_step_jumps(cli: Cli, tmp_path: Path) -> None:
    result = cli("runbooks", "show", str(_book(tmp_path)))
    assert result.code == 0
    assert "then back to probe (at most 3 times)" in result.out
    as_json = cli("-o", "json", "runbooks", "show", str(_book(tmp_path)))
    again = next(s for s in as_json.json()["steps"] if s["name"] == "again")
    assert again["goto"] == [{"step": "probe", "max": 3}]


def test_print_cli_asks_where_hybridops_would_jump(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", str(_book(tmp_path)), "-p", "url=http://127.0.0.1:9", "--print-cli")
    assert result.code == 0, result.err
    assert "hybridops goes on from here then back to probe" in result.out
    assert "again: hybridops would now go back to probe (at most 3 times)" in result.out
    strict = cli("runbooks", "validate", "--strict", str(_book(tmp_path)))
    assert strict.code == 2
    assert "a goto: the script runs each step once" in strict.err


def test_bad_jumps_are_refused_with_their_line(cli: Cli, tmp_path: Path) -> None:
    cases = [
        (POLL.replace("{step: probe, max: 3}", "{step: nowhere}"), "goto 'nowhere': no such step"),
        (POLL.replace("max: 3", "max: 0"), "greater than or equal to 1"),
        (
            POLL.replace(
                "    outputs: {code: status}\n",
                "    outputs: {code: status}\n    compensate: {aws: {service: ssm, operation:"
                " delete_parameter, params: {Name: /x}}}\n",
            ).replace(
                "http: {url",
                "aws: {service: ssm, operation: put_parameter, params:"
                " {Name: /x, Value: v, Type: String}}\n    #",
            ),
            "step 'probe' inside the loop has compensate",
        ),
        (POLL.replace("steps.probe.outputs.code", "steps.after.outputs.code"), "runs later"),
    ]
    for text, said in cases:
        result = cli("runbooks", "validate", str(_book(tmp_path, text, "bad.yaml")))
        assert result.code == 2, (said, result.err)
        assert said in result.err
        assert "bad.yaml:" in result.err  # named with its file (and line)


JUMPS = """\
name: jumps
parameters:
  route: {type: string, default: short, enum: [short, long, other]}
steps:
  - name: start
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /start, Value: s, Type: String, Overwrite: true}}
    outputs: {version: Version}
    goto:
      - {step: finish, when: "params.route == 'short'"}
      - {step: other, when: "params.route == 'other' && steps.start.outputs.version > `0`"}
  - name: long
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /long, Value: l, Type: String, Overwrite: true}}
    goto: finish
  - name: other
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /other, Value: o, Type: String, Overwrite: true}}
  - name: finish
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /finish, Value: f, Type: String, Overwrite: true}}
"""


def test_forward_jumps_export_to_branches_that_run_back_the_same(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    native = _book(tmp_path, JUMPS, "jumps.yaml")
    document = tmp_path / "Jumps.json"
    result = cli("runbooks", "export", str(native), "--format", "ssm", "--out", str(document))
    assert result.code == 0, result.err
    ssm = moto.client("ssm")
    ssm.create_document(Content=document.read_text(), Name="Jumps", DocumentType="Automation",
                        DocumentFormat="JSON")  # fmt: skip
    names = ["/start", "/long", "/other", "/finish"]
    for route, ran in [("short", {"/start", "/finish"}), ("long", {"/start", "/long", "/finish"}),
                       ("other", {"/start", "/other", "/finish"})]:  # fmt: skip
        for path in (native, document):
            ssm.delete_parameters(Names=names)
            run = cli("--yes", "-o", "json", "run", str(path), "-p", f"route={route}")
            assert run.code == 0, (path.name, run.err[-2000:])
            assert {n for n in names if _version(ssm, n)} == ran, (route, path.name)


def test_a_loop_or_a_jump_beside_undo_steps_is_not_exported(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    loop = cli("runbooks", "export", str(_book(tmp_path)), "--out", str(out))
    assert loop.code == 2
    assert "goto back to probe (a loop SSM would not bound)" in loop.err
    undo = JUMPS.replace(
        "    goto: finish\n",
        "    goto: finish\n    compensate: {aws: {service: ssm, operation: delete_parameter,"
        " params: {Name: /long}}}\n",
    )
    refused = cli("runbooks", "export", str(_book(tmp_path, undo, "undo.yaml")), "--out", str(out))
    assert refused.code == 2 and "goto in a runbook with undo steps" in refused.err
    assert not out.exists()


def test_forward_jumps_are_not_a_loop_and_not_bounded(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    text = """\
name: round
steps:
  - name: top
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /top, Value: t, Type: String, Overwrite: true}}
  - name: a
    sleep: 0
    goto: {step: b2, max: 1}
  - name: b1
    sleep: 0
  - name: b2
    sleep: 0
    goto: {step: top, when: "run.jumps < `6`", max: 5}
"""
    result = cli("--yes", "-o", "json", "run", str(_book(tmp_path, text, "round.yaml")))
    assert result.code == 0, result.err
    # Forward a -> b2 and back b2 -> top, three times: the forward jump's max is no bound.
    assert _version(moto.client("ssm"), "/top") == 4
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["b1"]["status"] == "skipped" and steps["a"]["passes"] == 4


def test_an_inner_loop_counts_again_on_each_pass_of_the_outer_one(
    cli: Cli, moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    codes = iter([503, 503, 200] * 4)
    server = http_server(lambda m, p, b: (next(codes), {}))
    text = """\
name: nested
parameters:
  url: {type: string}
steps:
  - name: outer
    sleep: 0
  - name: inner
    http: {url: "${{ params.url }}/health", timeout_s: 2}
    outputs: {code: status}
  - name: inner-back
    sleep: 0
    when: "steps.inner.outputs.code != `200`"
    goto: {step: inner, max: 2}
  - name: outer-back
    sleep: 0
    goto: {step: outer, when: "run.jumps < `9`", max: 3}
"""
    book = _book(tmp_path, text, "nested.yaml")
    result = cli("--yes", "-o", "json", "run", str(book), "-p", f"url={server.url}")
    # Four outer passes, each with two inner jumps back: each inner loop is within its max.
    assert result.code == 0, result.err
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["inner"]["passes"] == 12 and steps["outer"]["passes"] == 4


def test_a_failure_mid_loop_shows_the_steps_the_last_pass_never_reached(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    text = """\
name: bump
steps:
  - name: bump
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /n, Value: n, Type: String, Overwrite: true}}
    outputs: {version: Version}
  - name: check
    assert: {that: {"steps.bump.outputs.version < `2`": true}, message: too many}
  - name: note
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /note, Value: n, Type: String, Overwrite: true}}
  - name: again
    sleep: 0
    goto: {step: bump, max: 5}
  - name: after
    sleep: 0
"""
    book = _book(tmp_path, text, "bump.yaml")
    result = cli("--yes", "-o", "json", "run", str(book))
    assert result.code == 1
    steps = {s["name"]: s for s in result.json()["steps"]}
    assert steps["check"]["status"] == "failed" and steps["bump"]["passes"] == 2
    # Pass 2 stopped at check: note and again did not run in it (they did in pass 1).
    assert (steps["note"]["status"], steps["note"]["passes"]) == ("not_run", 1)
    assert steps["note"].get("outputs") is None
    assert steps["after"]["status"] == "not_run" and "passes" not in steps["after"]
    moto.client("ssm").delete_parameter(Name="/n")
    text_run = cli("--yes", "run", str(book))
    assert text_run.code == 1
    assert re.search(r"note\s+not_run \(ran once\)", text_run.out)


def test_a_goto_condition_that_errs_fails_the_step_and_undoes_the_change(
    cli: Cli, moto: MotoServer, write_config: Any, tmp_path: Path
) -> None:
    write_config(moto.url)
    text = """\
name: bad-condition
parameters:
  n: {type: integer, default: 3}
steps:
  - name: make
    aws: {service: ssm, operation: put_parameter,
          params: {Name: /made, Value: m, Type: String}}
    compensate: {aws: {service: ssm, operation: delete_parameter, params: {Name: /made}}}
  - name: a
    sleep: 0
    goto: {step: c, when: "length(params.n) > `1`"}
  - name: b
    sleep: 0
  - name: c
    sleep: 0
"""
    result = cli("--yes", "-o", "json", "run", str(_book(tmp_path, text, "bad.yaml")))
    assert result.code == 1
    run = result.json()  # one run document, not a crash
    assert run["status"] == "failed" and "JMESPathTypeError" in run["error"]["message"]
    steps = {s["name"]: s["status"] for s in run["steps"]}
    assert steps == {"make": "succeeded", "a": "failed", "b": "not_run", "c": "not_run"}
    assert _version(moto.client("ssm"), "/made") is None  # undone: checked in AWS


def test_interrupted_the_cleanup_runs_once_and_never_jumps(
    moto: MotoServer, write_config: Any, http_server: Any, tmp_path: Path
) -> None:
    import json
    import signal
    import threading

    from tests.test_signals import _signal_when, _start

    write_config(moto.url)
    release = threading.Event()
    server = http_server(lambda m, p, b: (release.wait(30), (200, {}))[1])
    text = f"""\
name: cancel
steps:
  - name: work
    http: {{url: "{server.url}/slow", timeout_s: 60}}
    on_cancel: cleanup
  - name: middle
    sleep: 0
  - name: cleanup
    aws: {{service: ssm, operation: put_parameter,
          params: {{Name: /cleanup, Value: c, Type: String, Overwrite: true}}}}
    goto: {{step: work, max: 2}}
"""
    proc = _start("--yes", "-o", "json", "run", str(_book(tmp_path, text, "cancel.yaml")))
    _signal_when(proc, "work: http", signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    release.set()
    assert proc.returncode == 143, err
    run = json.loads(out)
    steps = {s["name"]: s["status"] for s in run["steps"]}
    assert steps == {"work": "interrupted", "middle": "not_run", "cleanup": "succeeded"}
    assert moto.requests.count("PutParameter") == 1  # once: its goto was not followed
