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
# Yesterday's build: the jobs exist even when nothing runs (publish-workload checks that
# its user sees a job at all: a Jenkins user without Job/Read sees an empty queue).
HISTORY = [{"job": "app", "number": 99, "result": "SUCCESS", "agent": "linux-1", "duration_ms": 60_000}]
# What the Jenkins looks like at each poll: a quiet start, a rush, the rush absorbed, quiet again.
SCENES = [
    ("quiet: 2 linux agents idle, nothing queued", {"auth": AUTH, "agents": agents([0, 0], 0), "queue": queue(0, 0), "builds": HISTORY}),
    ("rush: 9 linux builds and 2 GPU trainings arrive", {"auth": AUTH, "agents": agents([4, 3], 1), "queue": queue(9, 2), "builds": HISTORY}),
    ("absorbing: every executor busy, 2 still queued", {"auth": AUTH, "agents": agents([4, 4], 1), "queue": queue(2, 1), "builds": HISTORY}),
    ("quiet again: builds done", {"auth": AUTH, "agents": agents([1, 0], 0), "queue": queue(0, 0), "builds": HISTORY}),
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
    metrics = ["QueuedBuilds", "BusyExecutors", "IdleExecutors", "OnlineExecutors", "OldestQueuedSeconds", "TotalWorkload", "DesiredInstances", "MissingInstances"]
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
    say("\nMissingInstances = instances the pool lacks beyond its online agents: from 1 the scale-out alarm fires and adds about 1.5x that many;")
    say("TotalWorkload = (busy + queued) / online executors: below ScaleInThreshold the scale-in alarm fires; DesiredInstances is what the pool needs now.")


# ---------------------------------------------------------------- acts 2 and 3
REGION = os.environ["AWS_REGION"]
MOTO = os.environ["AWS_ENDPOINT_URL"]


def aws(service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=MOTO)


def fleet_env(group: str, bucket: str) -> dict:
    env = dict(os.environ)
    pools = [{"name": "linux", "ci_label": "linux", "asg": group, "executors_per_instance": 1}]
    env.update(CI_KIND="jenkins", CI_URL=JENKINS, CI_USER="ci-fleet", CI_TOKEN="demo-token", POOLS=json.dumps(pools),
               CHECKPOINT_BUCKET=bucket, S3_FORCE_PATH_STYLE="true", METRICS_NAMESPACE=NAMESPACE, RUST_LOG="warn")
    return env


def run_binary(name: str, env: dict, event: dict | None = None, args: list[str] | None = None) -> dict:
    cmd = [str(REPO / "target/debug" / name)] + (args or [])
    if event is not None:
        cmd += ["--event", "-"]
    env = {k: v for k, v in env.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    result = subprocess.run(cmd, input=json.dumps(event) if event else None, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{name} failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
    return json.loads(result.stdout) if result.stdout.strip().startswith("{") else {"stdout": result.stdout}


def make_group(name: str, size: int) -> list[str]:
    ec2, asg = aws("ec2"), aws("autoscaling")
    ec2.create_launch_template(LaunchTemplateName=f"{name}-lt", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=10, DesiredCapacity=size, AvailabilityZones=[f"{REGION}a"],
                                  LaunchTemplate={"LaunchTemplateName": f"{name}-lt"}, NewInstancesProtectedFromScaleIn=True)
    asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="ci-fleet-drain", LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
                           HeartbeatTimeout=600, DefaultResult="CONTINUE")
    return sorted(i["InstanceId"] for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"])


def group_table(name: str, roles: dict[str, str]) -> None:
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    states = {i["InstanceId"]: i for i in group["Instances"]}
    ec2 = aws("ec2").describe_instances(InstanceIds=list(roles))["Reservations"]
    ec2_state = {i["InstanceId"]: i["State"]["Name"] for r in ec2 for i in r["Instances"]}
    say(f"    {'instance':<22}{'agent':<14}{'protected':<11}{'lifecycle':<20}ec2")
    for instance, role in roles.items():
        i = states.get(instance, {})
        say(f"    {instance:<22}{role:<14}{str(i.get('ProtectedFromScaleIn', '-')):<11}{i.get('LifecycleState', '(left the group)'):<20}{ec2_state.get(instance, '?')}")


def jenkins_agents(busy: dict[str, bool]) -> dict:
    agents = [{"name": i, "labels": ["linux"], "executors": 1, "running": [{"job": "app", "number": 40 + n}] if b else []} for n, (i, b) in enumerate(busy.items())]
    return {"auth": AUTH, "agents": agents, "queue": []}


def act_scale_in() -> None:
    say("\n=== Act 2: a scale-in that spares the busy agent (protect-busy-agents, handle-interruption) ===")
    group, bucket = f"demo-linux-{int(time.time())}", f"ci-fleet-demo-{int(time.time())}"
    ids = make_group(group, 3)
    aws("s3").create_bucket(Bucket=bucket)
    roles = {ids[0]: "busy (build)", ids[1]: "idle", ids[2]: "idle"}
    put_state(jenkins_agents({ids[0]: True, ids[1]: False, ids[2]: False}))
    env = fleet_env(group, bucket) | {"IDLE_GRACE_SECONDS": "0"}
    say(f"  group {group}: 3 instances, all protected at launch (NewInstancesProtectedFromScaleIn), one agent busy")
    group_table(group, roles)
    response = run_binary("protect-busy-agents", env)
    changes = response["pools"][0]
    say(f"\n  protect-busy-agents: unprotects {[c['instance_id'] for c in changes['unprotect']]} (idle past grace), keeps the busy one")
    group_table(group, roles)
    aws("autoscaling").set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)
    say("\n  the scale-in alarm fires: desired capacity 3 -> 1. Auto Scaling may only take unprotected instances:")
    group_table(group, roles)
    actions = json.loads(urllib.request.urlopen(f"{MOTO}/_ext/lifecycle-actions?group={group}&state=pending", timeout=5).read())
    for action in actions:
        event = json.loads((REPO / "functions/handle-interruption/events/terminate-lifecycle-action.json").read_text())
        event["detail"].update(EC2InstanceId=action["instance_id"], AutoScalingGroupName=group, LifecycleActionToken=action["token"])
        result = run_binary("handle-interruption", env, event)
        say(f"  handle-interruption, terminate hook for {action['instance_id']}: agent {result.get('offline')}, lifecycle {result.get('lifecycle')}")
    say("")
    group_table(group, roles)
    say("  The busy agent's build never noticed: its instance was never a scale-in candidate.")


def act_spot() -> None:
    say("\n=== Act 3: a spot interruption on a busy agent (handle-interruption, ci-checkpoint) ===")
    group, bucket = f"demo-spot-{int(time.time())}", f"ci-fleet-demo-spot-{int(time.time())}"
    ids = make_group(group, 2)
    aws("s3").create_bucket(Bucket=bucket)
    put_state(jenkins_agents({ids[0]: True, ids[1]: False}))
    env = fleet_env(group, bucket)
    key = "app/main@3f2a9c1#shard-2"
    passlist = REPO / ".local" / "demo-passed.txt"
    passlist.write_text("tests/test_billing.py::test_invoice\ntests/test_billing.py::test_refund\ntests/test_payroll.py::test_run\n")
    checkpoint = lambda *args: subprocess.run([str(REPO / "target/debug/ci-checkpoint"), *args], env=env, capture_output=True, text=True, check=True).stdout
    attempt = checkpoint("start", "--key", key, "--instance-id", ids[0]).strip()
    checkpoint("flush", "--key", key, "--instance-id", ids[0], "--passlist", str(passlist))
    say(f"  build {key} runs on {ids[0]} (attempt {attempt}); 3 tests have passed and are checkpointed in S3")
    event = json.loads((REPO / "functions/handle-interruption/events/spot-interruption-warning.json").read_text())
    event["detail"]["instance-id"] = ids[0]
    event["time"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.time()
    result = run_binary("handle-interruption", env, event)
    say(f"  EC2 Spot Instance Interruption Warning -> handle-interruption ({(time.time() - started) * 1000:.0f} ms, process start included):")
    say(f"    agent {result['agent']}: {result['offline']}; checkpoint {result['checkpoint']['outcome']} with {result['checkpoint']['record']['passed']} passed tests")
    node = json.loads(urllib.request.urlopen(urllib.request.Request(f"{JENKINS}/computer/{ids[0]}/api/json?tree=temporarilyOffline,offlineCauseReason",
                      headers={"Authorization": "Basic " + __import__("base64").b64encode(b"ci-fleet:demo-token").decode()}), timeout=5).read())
    say(f"    Jenkins now shows the agent offline: \"{node['offlineCauseReason']}\"")
    again = run_binary("handle-interruption", env, event)
    say(f"  the same event delivered again: agent {again['offline']}, checkpoint {again['checkpoint']['outcome']} (nothing toggled back online)")
    attempt = checkpoint("start", "--key", key, "--instance-id", ids[1]).strip()
    skip = checkpoint("restore", "--key", key, "--instance-id", ids[1]).split()
    say(f"  the retry (attempt {attempt} on {ids[1]}) restores its skip list: {skip}")
    say("  it runs only what had not passed: the interruption cost the setup time, not the finished work.")


# ---------------------------------------------------------------- dashboard picture
DEMO_STARTED = datetime.now(timezone.utc)


def render_dashboard() -> None:
    """Renders each pool's dashboard (infra/pool.yaml PoolDashboard) from what the demo
    published, to .local/dashboard/ (infra/local/render-dashboard.py)."""
    out = REPO / ".local/dashboard"
    command = [sys.executable, str(REPO / "infra/local/render-dashboard.py"), "--namespace", NAMESPACE, "--period", "1", "--out", str(out),
               "--start", (DEMO_STARTED - timedelta(seconds=2)).isoformat(), "--end", (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()]
    for pool in POOLS:
        command += ["--pool", pool["name"], "--asg", pool["asg"]]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"render-dashboard failed: {result.stderr.strip()}")
    say("\nThe pools' dashboards (infra/pool.yaml's widgets, thresholds dashed), drawn from these metrics:")
    for path in result.stdout.split():
        say(f"  {Path(path).relative_to(REPO)}")
    if result.stderr.strip():
        say(f"  ({result.stderr.strip()})")


def act_recycle() -> None:
    say("\n=== Act 4: a botched agent is replaced (protect-busy-agents recycling) ===")
    group, bucket = f"demo-recycle-{int(time.time())}", f"ci-fleet-demo-recycle-{int(time.time())}"
    ids = make_group(group, 3)
    aws("s3").create_bucket(Bucket=bucket)
    bad, good = ids[0], ids[1]
    env = fleet_env(group, bucket) | {"IDLE_GRACE_SECONDS": "0"}
    roles = {bad: "botched", ids[1]: "healthy", ids[2]: "healthy"}
    builds: list[dict] = []

    def jenkins(running: dict[str, dict]) -> None:
        agents = [{"name": i, "labels": ["linux"], "executors": 1, "running": [running[i]] if i in running else []} for i in ids]
        put_state({"auth": AUTH, "agents": agents, "builds": builds, "queue": []})

    say(f"  {bad} and {good} each run api, web, cli. protect-busy-agents, once a minute, notes which run each")
    say("  executor runs (its run ledger: a Pipeline run names no agent, the executor running it does),")
    say("  and reads how each run ended once it left its executor:")
    number = 0
    for job in ["api", "web", "cli"]:
        runs = {}
        for agent in (good, bad):
            number += 1
            runs[agent] = {"job": job, "number": number, "id": number}
        jenkins(runs)
        run_binary("protect-busy-agents", env)
        now = int(time.time() * 1000)
        for agent, run in runs.items():
            result = "SUCCESS" if agent == good else "FAILURE"
            builds.append({"job": job, "number": run["number"], "id": run["number"], "result": result, "agent": agent, "started_at_ms": now - 1000, "duration_ms": 500})
        say(f"    {job}: passes on {good}, fails on {bad}")
    jenkins({bad: {"job": "deploy", "number": 90, "id": 90}})
    say(f"  {bad} failed api, web and cli in a row; the same jobs passed on {good}. It is running a deploy now.")
    first = run_binary("protect-busy-agents", env)["recycling"]["recycles"]
    say(f"  protect-busy-agents: {[(r['instance_id'], r['reason'], r['step']) for r in first]} - no new work; its deploy finishes")
    state = json.loads(urllib.request.urlopen(f"{JENKINS}/_fake/state", timeout=5).read())
    state["agents"][0]["running"] = []
    state["queue"] = [{"id": 700, "job": "app", "label": "linux"}]
    put_state(state)
    second = run_binary("protect-busy-agents", env)["recycling"]["recycles"]
    say(f"  the deploy ended, work is queued: {[(r['instance_id'], r['step']) for r in second]} (terminated keeping desired capacity, so a fresh instance launches)")
    actions = json.loads(urllib.request.urlopen(f"{MOTO}/_ext/lifecycle-actions?group={group}&state=pending", timeout=5).read())
    for action in actions:
        event = json.loads((REPO / "functions/handle-interruption/events/terminate-lifecycle-action.json").read_text())
        event["detail"].update(EC2InstanceId=action["instance_id"], AutoScalingGroupName=group, LifecycleActionToken=action["token"])
        result = run_binary("handle-interruption", env, event)
        say(f"  handle-interruption, terminate hook for {action['instance_id']}: lifecycle {result.get('lifecycle')}")
    current = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["Instances"]
    for instance in current:
        roles.setdefault(instance["InstanceId"], "replacement")
    group_table(group, roles)


def act_from_zero() -> None:
    say("\n=== Act 5: a pool at zero starts again on its Pipeline queue (protect-busy-agents, publish-workload) ===")
    group, bucket = f"demo-zero-{int(time.time())}", f"ci-fleet-demo-zero-{int(time.time())}"
    make_group(group, 0)
    aws("s3").create_bucket(Bucket=bucket)
    gone = "i-0000000000000dead"
    say(f"  group {group} is at zero; its last agent's instance ({gone}) is gone, its node offline.")
    say("  Jenkins has 0 executors on the built-in node; a multibranch Pipeline waits for a 'linux' node.")
    put_state({"auth": AUTH, "builtin_executors": 0, "pipeline_jobs": ["platform/app/main"],
               "agents": [{"name": gone, "labels": ["linux"], "executors": 1, "connected": False}],
               "queue": [{"id": 3000, "job": "platform/app/main", "label": "linux", "label_exposed": False, "state": "buildable"}]})
    env = fleet_env(group, bucket)
    removed = run_binary("protect-busy-agents", env)["dead_agents_removed"]
    say(f"  protect-busy-agents removes dead agents but keeps a pool's last node: removed {removed}")
    polled = run_binary("publish-workload", env | {"POLL_WINDOW_SECONDS": "0"}, args=["--dry-run"])["polls"][0]
    pool = polled["pools"][0]
    say(f"  publish-workload: QueuedBuilds {pool['queued_builds']}, MissingInstances {pool['missing_instances']} "
        f"(Jenkins says why: the kept node carries the label): the scale-out alarm starts the pool")
    put_state({"auth": AUTH, "builtin_executors": 0, "pipeline_jobs": ["platform/app/main"], "agents": [],
               "queue": [{"id": 3000, "job": "platform/app/main", "label": "linux", "label_exposed": False, "state": "buildable"}]})
    polled = run_binary("publish-workload", env | {"POLL_WINDOW_SECONDS": "0"}, args=["--dry-run"])["polls"][0]
    say(f"  had the node been deleted (a Swarm agent without -keepDisconnectedClients): QueuedBuilds "
        f"{polled['pools'][0]['queued_builds']}, {polled['unattributed_builds']} unattributed ('Waiting for next available executor' names no label)")


def main() -> None:
    say("\n=== Act 1: publish-workload ===")
    run_publisher()
    show_metrics()
    act_scale_in()
    act_spot()
    act_recycle()
    act_from_zero()
    render_dashboard()


if __name__ == "__main__":
    main()
