"""`hybridops rollback --no-wait` against the same three calls pasted as `aws` CLI commands.

Both run against one moto server holding three revisions of the task definition. The pasted
procedure is what the runbook report implies: find the current revision
(`describe-services`), find the previous one (`list-task-definitions --sort DESC`), then
`update-service --task-definition`. hybridops does the same plus a task-definition diff,
confirmation (`--yes`), the gate's audit records and its run history. `--no-wait` because
the pasted commands do not wait for the rollout either (moto never rolls deployments).
Target (issue 4): at least 3x faster end to end, i.e. ratio <= 0.33x.
"""

from __future__ import annotations

import json
import subprocess

from bench.common import BIN, Row, median, peer_venv, run_timed
from bench.estate import CLUSTER, FAMILY, REGION, SERVICE, estate, slow_health_server

REPS = 7
TARGET = 1 / 3


def run() -> list[Row]:
    """Interleave hybridops and the pasted commands, resetting the service before each."""
    import boto3

    aws = str(peer_venv("awscli", ["awscli"]) / "aws")
    with slow_health_server(0) as base, estate(base, ["hybrid-router"]) as bench:
        ecs = boto3.client("ecs", region_name=REGION, endpoint_url=bench.moto_url)

        def reset() -> None:
            ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=bench.revisions[-1])

        ours_cmd = [str(BIN / "hybridops"), "rollback", "--yes", "--no-wait", "--output", "json"]
        reset()
        done = subprocess.run(ours_cmd, env=bench.env, capture_output=True, text=True)
        doc = json.loads(done.stdout or "{}")
        if done.returncode != 0 or not str(doc.get("to_task_definition")).endswith(":2"):
            raise SystemExit(f"rollback bench setup broken: rc={done.returncode} {done.stderr}")
        common = [aws, "--endpoint-url", bench.moto_url, "--region", REGION, "ecs"]
        pasted = " && ".join(
            " ".join(argv)
            for argv in (
                [*common, "describe-services", "--cluster", CLUSTER, "--services", SERVICE],
                [*common, "list-task-definitions", "--family-prefix", FAMILY, "--sort", "DESC"],
                [
                    *common,
                    "update-service",
                    "--cluster",
                    CLUSTER,
                    "--service",
                    SERVICE,
                    "--task-definition",
                    f"{FAMILY}:2",
                ],
            )
        )
        ours, peer = [], []
        for _ in range(REPS):
            reset()
            ours.append(run_timed(ours_cmd, env=bench.env).seconds)
            reset()
            sample = run_timed(["bash", "-c", pasted], env=bench.env)
            if sample.returncode != 0:
                raise SystemExit("the pasted aws commands failed")
            peer.append(sample.seconds)
    ratio = median(ours) / median(peer)
    return [
        Row(
            "`hybridops rollback --no-wait` end to end",
            ours,
            "3 pasted `aws ecs` commands",
            peer,
            "<= 0.33x",
            ratio <= TARGET,
            ratio,
            note="same moto server; hybridops also diffs the two revisions, audits and records the run",
        )
    ]
