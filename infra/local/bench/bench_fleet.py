#!/usr/bin/env python3
"""Benchmarks of handle-interruption (issue 3) and protect-busy-agents (issue 4) on the
local stack, with release binaries. Run by `make bench` (infra/local/bench.sh), which
builds them, starts the stack and exports its environment.

- handle-interruption: 200 spot warnings, each for a different busy agent with a claimed
  checkpoint, delivered through the Lambda Runtime API (lambda-rie.py --timings): event
  received -> agent offline + checkpoint sealed + metric published, p50/p99. Cold start
  (process start -> first request for an event) over 20 fresh processes. Zipped bootstrap.
- protect-busy-agents: 20 pools x 200 instances, half busy; one run's wall time and the
  AWS calls it made (1 describe + 1 per 50 changes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[3]
RELEASE = REPO / "target/release"
REGION = os.environ["AWS_REGION"]
MOTO = os.environ["AWS_ENDPOINT_URL"]
JENKINS = os.environ["FAKE_JENKINS_URL"]
AUTH = {"users": [{"user": "bench", "password": "pw", "token": "bench-token"}]}
RUN = str(int(time.time()))


def aws(service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=MOTO)


def put_state(state: dict) -> None:
    request = urllib.request.Request(f"{JENKINS}/_fake/state", data=json.dumps(state).encode(), method="PUT", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=60).read()


def make_group(name: str, size: int, hook: bool) -> list[str]:
    ec2, asg = aws("ec2"), aws("autoscaling")
    ec2.create_launch_template(LaunchTemplateName=f"{name}-lt", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=size, DesiredCapacity=size, AvailabilityZones=[f"{REGION}a"],
                                  LaunchTemplate={"LaunchTemplateName": f"{name}-lt"})
    if hook:
        asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="ci-fleet-drain", LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout=600)
    pages = asg.get_paginator("describe_auto_scaling_groups").paginate(AutoScalingGroupNames=[name])
    return sorted(i["InstanceId"] for page in pages for g in page["AutoScalingGroups"] for i in g["Instances"])


def env_for(pools: list[dict], bucket: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    env.update(CI_KIND="jenkins", CI_URL=JENKINS, CI_USER="bench", CI_TOKEN="bench-token", POOLS=json.dumps(pools), CHECKPOINT_BUCKET=bucket,
               S3_FORCE_PATH_STYLE="true", METRICS_NAMESPACE="CIFleetBench", RUST_LOG="warn")
    return env


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_interruption(events: int = 200) -> None:
    group, bucket = f"bench-spot-{RUN}", f"bench-spot-{RUN}"
    ids = make_group(group, events, hook=False)
    aws("s3").create_bucket(Bucket=bucket)
    put_state({"auth": AUTH, "queue": [], "agents": [{"name": i, "labels": ["linux"], "executors": 1, "running": [{"job": "app", "number": n + 1}]} for n, i in enumerate(ids)]})
    env = env_for([{"name": "linux", "ci_label": "linux", "asg": group, "executors_per_instance": 1}], bucket)
    with tempfile.TemporaryDirectory() as tmp:
        passlist = Path(tmp, "passed.txt")
        passlist.write_text("".join(f"suite::test_{n}\n" for n in range(50)))
        checkpoint = str(RELEASE / "ci-checkpoint")
        for instance in ids:
            key = f"bench-{instance}"
            subprocess.run([checkpoint, "start", "--key", key, "--instance-id", instance], env=env, check=True, capture_output=True)
            subprocess.run([checkpoint, "flush", "--key", key, "--instance-id", instance, "--passlist", str(passlist)], env=env, check=True, capture_output=True)
        template = json.loads((REPO / "functions/handle-interruption/events/spot-interruption-warning.json").read_text())
        files = []
        for n, instance in enumerate(ids):
            template["detail"]["instance-id"] = instance
            path = Path(tmp, f"event-{n}.json")
            path.write_text(json.dumps(template))
            files.append(str(path))
        timings = Path(tmp, "timings.json")
        cmd = [sys.executable, str(REPO / "infra/local/lambda-rie.py"), "--binary", str(RELEASE / "handle-interruption"), "--quiet", "--timings", str(timings)]
        for f in files:
            cmd += ["--event", f]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"handle-interruption failed:\n{result.stderr[-2000:]}")
        latencies = json.loads(timings.read_text())["invocations_ms"]
        sealed = sum(1 for i in ids if aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"checkpoints/bench-{i}/attempts/1/interruption.json")["KeyCount"])
        print(f"handle-interruption: {len(latencies)} spot warnings (agent offline + checkpoint sealed + metric published), {sealed} interruption records written")
        print(f"  event received -> done: p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms  [target p99 <= 100 ms: {'met' if percentile(latencies, 99) <= 100 else 'MISSED'}]")

        cold = []
        unknown = str(REPO / "functions/handle-interruption/events/unknown-event.json")
        for _ in range(20):
            timings_one = Path(tmp, "cold.json")
            subprocess.run([sys.executable, str(REPO / "infra/local/lambda-rie.py"), "--binary", str(RELEASE / "handle-interruption"), "--quiet", "--timings", str(timings_one), "--event", unknown],
                           env=env, check=True, capture_output=True)
            cold += json.loads(timings_one.read_text())["cold_starts_ms"]
        print(f"  cold start (process start -> first event request, 20 processes): median {statistics.median(cold):.1f} ms, max {max(cold):.1f} ms  [target <= 20 ms: {'met' if statistics.median(cold) <= 20 else 'MISSED'}]")
        for name in ["publish-workload", "protect-busy-agents", "handle-interruption"]:
            archive = Path(tmp, f"{name}.zip")
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
                z.write(RELEASE / name, "bootstrap")
            print(f"  {name}: bootstrap {os.path.getsize(RELEASE / name) / 2**20:.1f} MiB, zipped {os.path.getsize(archive) / 2**20:.1f} MiB (x86_64 release build)")


def bench_protection(pools: int = 20, per_pool: int = 200) -> None:
    bucket = f"bench-protect-{RUN}"
    aws("s3").create_bucket(Bucket=bucket)
    specs, agents = [], []
    for p in range(pools):
        group = f"bench-pool{p}-{RUN}"
        ids = make_group(group, per_pool, hook=True)
        specs.append({"name": f"pool{p}", "ci_label": f"pool{p}", "asg": group, "executors_per_instance": 1})
        agents += [{"name": i, "labels": [f"pool{p}"], "executors": 1, "running": [{"job": "app", "number": 1}] if n % 2 == 0 else []} for n, i in enumerate(ids)]
    put_state({"auth": AUTH, "queue": [], "agents": agents})
    env = env_for(specs, bucket) | {"IDLE_GRACE_SECONDS": "0"}
    runs = []
    for n in range(3):
        started = time.perf_counter()
        result = subprocess.run([str(RELEASE / "protect-busy-agents")], env=env, capture_output=True, text=True)
        elapsed = (time.perf_counter() - started) * 1000
        if result.returncode != 0:
            raise SystemExit(f"protect-busy-agents failed: {result.stderr[-2000:]}")
        response = json.loads(result.stdout)
        changes = sum(len(p["protect"]) + len(p["unprotect"]) for p in response["pools"])
        runs.append((elapsed, changes, response["set_instance_protection_calls"]))
        print(f"protect-busy-agents run {n + 1}: {pools} pools x {per_pool} instances, {changes} protection changes, "
              f"{response['set_instance_protection_calls']} SetInstanceProtection calls + 1 DescribeAutoScalingGroups, {elapsed:.0f} ms wall (process start included)")
    first = runs[0]
    print(f"  first run (all changes): {first[0]:.0f} ms [target <= 1000 ms: {'met' if first[0] <= 1000 else 'MISSED'}]; "
          f"steady state (no changes): median {statistics.median(r[0] for r in runs[1:]):.0f} ms")


if __name__ == "__main__":
    bench_interruption()
    bench_protection()
