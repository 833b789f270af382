"""A throwaway estate for benches: a moto server seeded like production, a config, a home."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.common import ROOT

CLUSTER = "hybrid-routing-cluster"
SERVICE = "hybrid-router-service"
FAMILY = "hybrid-router"
REGION = "eu-central-1"


@dataclass
class Estate:
    """What a bench drives: the moto URL, the env vars for child processes, the config."""

    moto_url: str
    env: dict[str, str]
    config: Path
    revisions: list[str]


@contextmanager
def slow_health_server(delay_ms: float) -> Iterator[str]:
    """Start bench/slow_health.py in its own process; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "slow_health.py"), str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def estate(health_url: str, components: list[str]) -> Iterator[Estate]:
    """A moto server with the cluster, three revisions and the service on the newest."""
    import boto3

    home = Path(tempfile.mkdtemp(prefix="hybridops-bench-"))
    creds = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    os.environ.update(creds)
    # The moto server runs in its own process: the data it holds must not count towards the
    # bench process (a forked child's peak RSS starts from its parent's).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # moto reports runningCount 0 unless told; production runs its desired count.
        env={**os.environ, **creds, "MOTO_ECS_SERVICE_RUNNING": "2"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the bench's moto server did not start") from None
            time.sleep(0.1)
    try:
        ecs = boto3.client("ecs", region_name=REGION, endpoint_url=url)
        ecs.create_cluster(clusterName=CLUSTER)
        revisions = []
        for tag in ("1.0.0", "1.1.0", "1.2.0"):
            registered = ecs.register_task_definition(
                family=FAMILY,
                containerDefinitions=[
                    {"name": "router", "image": f"router:{tag}", "memory": 512, "essential": True}
                ],
            )
            revisions.append(registered["taskDefinition"]["taskDefinitionArn"])
        ecs.create_service(
            cluster=CLUSTER, serviceName=SERVICE, taskDefinition=revisions[-1], desiredCount=2
        )
        config = home / "hybridops.yaml"
        settings = {
            "sandbox": True,
            "region": REGION,
            "endpoint_url": url,
            "health_url": health_url,
            "components": components,
        }
        config.write_text(
            yaml.safe_dump({"default_env": "bench", "environments": {"bench": settings}})
        )
        env = {
            **os.environ,
            **creds,
            "HYBRIDOPS_HOME": str(home / "home"),
            "HYBRIDOPS_CONFIG": str(config),
            "NO_COLOR": "1",
        }
        yield Estate(url, env, config, revisions)
    finally:
        server.terminate()
        server.wait()
