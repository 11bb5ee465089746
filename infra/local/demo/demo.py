#!/usr/bin/env python3
"""The ci-fleet demo on the local stack (run by `make demo`).

Act 1, publish-workload: a fake Jenkins holds two pools and a queue that changes while the
real publish-workload binary runs through the Lambda Runtime API (lambda-rie.py); then
the demo reads back from the CloudWatch emulator what was published, per pool, per poll.

Expects the stack to be up (stack.sh up) and its environment exported (stack.sh env).
Standard library plus the boto3 that moto brings into the project venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[3]
JENKINS = os.environ["FAKE_JENKINS_URL"]
NAMESPACE = f"CIFleetDemo{int(time.time())}"
POOLS = [
    {"name": "linux", "ci_label": "linux && docker", "asg": "ci-linux", "executors_per_instance": 4},
    {"name": "gpu", "ci_label": "gpu", "asg": "ci-gpu", "executors_per_instance": 1},
]
POLL_INTERVAL = 3
POLLS = 4


def say(text: str) -> None:
    print(text, flush=True)


def put_state(state: dict) -> None:
    request = urllib.request.Request(f"{JENKINS}/_fake/state", data=json.dumps(state).encode(), method="PUT", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()


def agents(linux_busy: list[int], gpu_busy: int) -> list[dict]:
    linux = [
        {"name": f"linux-{n + 1}", "labels": ["linux", "docker"], "executors": 4, "running": [{"job": "app", "number": 100 + n * 10 + b} for b in range(busy)]}
        for n, busy in enumerate(linux_busy)
    ]
    gpu = [{"name": "gpu-1", "labels": ["linux", "gpu"], "executors": 1, "running": [{"job": "train", "number": 7}] * gpu_busy}]
    return linux + gpu


def queue(linux: int, gpu: int) -> list[dict]:
    now = int(time.time() * 1000)
    items = [{"id": 1000 + i, "job": f"app-{i}", "label": "linux && docker", "state": "buildable", "queued_at_ms": now - 30_000 * (i + 1)} for i in range(linux)]
    items += [{"id": 2000 + i, "job": "train", "label": "gpu", "state": "buildable", "label_exposed": False, "queued_at_ms": now - 45_000} for i in range(gpu)]
    return items


AUTH = {"users": [{"user": "ci-fleet", "password": "demo-password", "token": "demo-token"}], "anonymous_read": False, "csrf": True}
# What the Jenkins looks like at each poll: a quiet start, a rush, the rush absorbed, quiet again.
SCENES = [
    ("quiet: 2 linux agents idle, nothing queued", {"auth": AUTH, "agents": agents([0, 0], 0), "queue": queue(0, 0)}),
    ("rush: 9 linux builds and 2 GPU trainings arrive", {"auth": AUTH, "agents": agents([4, 3], 1), "queue": queue(9, 2)}),
    ("absorbing: every executor busy, 2 still queued", {"auth": AUTH, "agents": agents([4, 4], 1), "queue": queue(2, 1)}),
    ("quiet again: builds done", {"auth": AUTH, "agents": agents([1, 0], 0), "queue": queue(0, 0)}),
]


def change_scenes(started: float) -> None:
    """Moves the fake Jenkins to the next scene half way between polls."""
    for n, (title, state) in enumerate(SCENES):
        if n > 0:
            time.sleep(max(0.0, started + (n - 0.5) * POLL_INTERVAL - time.time()))
        put_state(state)
        say(f"  t={time.time() - started:4.1f}s  Jenkins: {title}")


def run_publisher() -> None:
    env = dict(os.environ)
    env.update(
        CI_KIND="jenkins", CI_URL=JENKINS, CI_USER="ci-fleet", CI_TOKEN="demo-token", POOLS=json.dumps(POOLS),
        METRICS_NAMESPACE=NAMESPACE, POLL_INTERVAL_SECONDS=str(POLL_INTERVAL), POLL_WINDOW_SECONDS=str(POLL_INTERVAL * (POLLS - 1)),
        AWS_LAMBDA_LOG_FORMAT="JSON", RUST_LOG="warn",
    )
    binary = REPO / "target/debug/publish-workload"
    say(f"publish-workload runs through the Lambda Runtime API (infra/local/lambda-rie.py), polling every {POLL_INTERVAL} s for {POLLS} polls:")
    started = time.time()
    mover = threading.Thread(target=change_scenes, args=(started,), daemon=True)
    put_state(SCENES[0][1])
    mover.start()
    result = subprocess.run(
        [sys.executable, str(REPO / "infra/local/lambda-rie.py"), "--binary", str(binary), "--timeout", "60"],
        env=env, capture_output=True, text=True, check=False,
    )
    mover.join()
    if result.returncode != 0:
        say(result.stderr[-3000:])
        raise SystemExit(f"publish-workload failed (exit {result.returncode})")
    response = json.loads(result.stdout[result.stdout.index("{"):])
    say(f"  invocation done: {len(response['polls'])} polls, {response['put_metric_data_calls']} PutMetricData calls\n")


def show_metrics() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=os.environ["AWS_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL_CLOUDWATCH"])
    metrics = ["QueuedBuilds", "BusyExecutors", "IdleExecutors", "OnlineExecutors", "OldestQueuedSeconds", "TotalWorkload", "DesiredInstances"]
    now = datetime.now(timezone.utc)
    queries = [
        {"Id": f"m{p}x{m}", "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": [{"Name": "Pool", "Value": pool["name"]}]}, "Period": 1, "Stat": "Maximum"}}
        for p, pool in enumerate(POOLS) for m, name in enumerate(metrics)
    ]
    queries.append({"Id": "up", "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": "CiServerUp"}, "Period": 1, "Stat": "Maximum"}})
    results = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))["MetricDataResults"]
    series = {r["Id"]: sorted(zip(r["Timestamps"], r["Values"])) for r in results}
    say(f"What CloudWatch (the emulator) now holds in namespace {NAMESPACE}, read back with GetMetricData:")
    up = series.get("up", [])
    say("  CiServerUp: " + " ".join(f"{v:g}" for _, v in up))
    for p, pool in enumerate(POOLS):
        say(f"\n  pool {pool['name']} (label '{pool['ci_label']}', {pool['executors_per_instance']} executors per instance)")
        header = "    poll at   " + "".join(f"{name:>20}" for name in metrics)
        say(header)
        times = [t for t, _ in series.get(f"m{p}x0", [])]
        for i, t in enumerate(times):
            row = "".join(f"{series[f'm{p}x{m}'][i][1]:>20g}" if i < len(series.get(f"m{p}x{m}", [])) else f"{'-':>20}" for m in range(len(metrics)))
            say(f"    {t.strftime('%H:%M:%S')}  {row}")
    say("\nTotalWorkload = (busy + queued) / online executors: above 1 the scale-out alarm fires; DesiredInstances is what the pool needs now.")


def main() -> None:
    say("\n=== Act 1: publish-workload ===")
    run_publisher()
    show_metrics()


if __name__ == "__main__":
    main()
