#!/usr/bin/env python3
"""Smoke deployment of template.yaml into ministack (run by infra/local/smoke-deploy.sh).

What it does, all on 127.0.0.1:
  1. starts a private ministack with every service (CloudFormation, Lambda, EventBridge,
     S3, SQS, SNS, IAM, Logs, CloudWatch, Auto Scaling, EC2, SSM, Secrets Manager) and a
     fake Jenkins holding a queue;
  2. creates what the stack expects to exist already: the CI credentials secret, and the
     pool's Auto Scaling group, by deploying infra/example-pool.yaml (a stack of its own);
  3. packages the debug binaries as Lambda zips (`bootstrap` at the root), uploads them and
     infra/pool.yaml to ministack's S3 (what `sam package` does), applies the SAM transform
     (aws-sam-translator from .venv-sam: the expansion CloudFormation does server-side) and
     creates the stack; waits for CREATE_COMPLETE, nested pool stack included;
  4. waits for EventBridge's `rate(1 minute)` rule to run publish-workload, and shows what it
     did: the invocation in its log group, the fake Jenkins' requests, and the pool's
     metrics in ministack's CloudWatch (GetMetricData).

Exit 0 when all of that happened; 1 naming the step that did not. ministack runs
`provided.al2023` functions by executing `bootstrap` directly (no Docker), so the
binaries are this machine's (x86_64 here, although the template says arm64).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
from botocore.config import Config
from samcli.yamlhelper import yaml_parse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sam_expand  # noqa: E402  (infra/local, beside this script)

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("CI_FLEET_VENV", REPO / ".venv"))
# The workspace's debug binaries (the Rust test passes its own target dir).
TARGET = Path(os.environ.get("CI_FLEET_BIN_DIR") or Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug")
RUN = REPO / ".local" / "smoke-deploy"
REGION = "us-east-1"
STACK = "ci-fleet-smoke"
# A second ci-fleet stack in the same account and region, in a VPC: stack-scoped names must
# not collide, and the VPC option must deploy.
STACK_IN_VPC = "ci-fleet-smoke-vpc"
POOL_STACK = "ci-fleet-smoke-pool"
ARTIFACTS = "ci-fleet-smoke-artifacts"
# What ministack 1.5.33 cannot create, replaced in the deployed copy by a no-op
# AWS::CloudFormation::WaitConditionHandle (same logical id, so Refs still resolve).
# Everything else is deployed as written.
def ministack_cannot_create(resource: dict) -> str | None:
    """Why ministack refuses this resource, or None."""
    if resource.get("Type") == "AWS::CloudWatch::Alarm" and "Metrics" in resource.get("Properties", {}):
        return "metric-math alarm (Properties.Metrics): ministack refuses it, 'Properties.Metrics (metric math) is not supported'"
    return None


AUTH = {"users": [{"user": "ci-fleet", "password": "smoke-password", "token": "smoke-token"}], "anonymous_read": False, "csrf": True}


def say(text: str) -> None:
    print(f"smoke-deploy: {text}", flush=True)


class Failed(Exception):
    """A step did not happen; the message names it."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """The servers this script started: each leads its own process group, stopped at exit."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
        out = open(log, "w")
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((name, proc))
        return proc

    def stop(self) -> None:
        for name, proc in reversed(self.started):
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                say(f"{name} (pid {proc.pid}) ignored SIGTERM; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_until(what: str, check, timeout: float, interval: float = 0.5):
    deadline = time.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.time() > deadline:
            raise Failed(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except Exception:
        return False


def start_fake_jenkins(procs: Processes) -> str:
    binary = TARGET / "fake-ci"
    if not binary.exists():
        raise Failed(f"{binary} missing: run cargo build --workspace --bins")
    now = int(time.time() * 1000)
    state = {
        "auth": AUTH,
        "agents": [
            {"name": "linux-1", "labels": ["linux", "docker"], "executors": 4, "running": [{"job": "app", "number": n} for n in range(1, 5)]},
            {"name": "linux-2", "labels": ["linux", "docker"], "executors": 4, "running": [{"job": "lib", "number": 7}]},
        ],
        "queue": [{"id": 100 + i, "job": f"app-{i}", "label": "linux && docker", "state": "buildable", "queued_at_ms": now - 60_000 * (i + 1)} for i in range(6)],
    }
    state_file = RUN / "jenkins-state.json"
    state_file.write_text(json.dumps(state))
    port = free_port()
    log = RUN / "fake-jenkins.log"
    proc = procs.start("fake Jenkins", [str(binary), "--kind", "jenkins", "--port", str(port), "--state", str(state_file)], dict(os.environ), log)
    url = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            raise Failed(f"fake Jenkins exited (status {proc.returncode}); see {log}")
        return http_ok(f"{url}/_fake/requests")

    wait_until("fake Jenkins answering", up, 30)
    say(f"fake Jenkins on {url}: 2 agents (8 executors, 5 busy), 6 builds queued for 'linux && docker'")
    return url


def start_ministack(procs: Processes) -> str:
    ministack = VENV / "bin" / "ministack"
    if not ministack.exists():
        raise Failed(f"{ministack} missing: run infra/local/setup-venv.sh")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    tmp = RUN / "ministack-tmp"  # its pid file and extracted function code: fresh each run
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        BIND_HOST="127.0.0.1", GATEWAY_PORT=str(port), IOT_MTLS_ENABLED="0", SFTP_ENABLED="0",
        MINISTACK_REGION=REGION, PERSIST_STATE="0", TMPDIR=str(tmp),
        # Lambdas it runs call back into this ministack (it sets their AWS_ENDPOINT_URL from its own).
        AWS_ENDPOINT_URL=url, LOG_LEVEL=os.environ.get("MINISTACK_LOG_LEVEL", "INFO"),
    )
    log = RUN / "ministack.log"
    proc = procs.start("ministack", [str(ministack)], env, log)

    def up():
        if proc.poll() is not None:
            raise Failed(f"ministack exited (status {proc.returncode}); see {log}")
        return http_ok(f"{url}/_ministack/ready")

    wait_until("ministack answering", up, 60)
    say(f"ministack (every service) on {url}, log {log.relative_to(REPO)}")
    return url


def clients(endpoint: str):
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    config = Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"})
    return lambda service: session.client(service, endpoint_url=endpoint, config=config)


def lambda_zip(binary: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16  # -rwxr-xr-x: Lambda runs it as is
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes())
    return buffer.getvalue()


def wait_for_stack(cfn, name: str, timeout: float, want: str = "CREATE_COMPLETE") -> dict:
    def done():
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        return stack if not stack["StackStatus"].endswith("_IN_PROGRESS") else None

    stack = wait_until(f"stack {name} finishing", done, timeout, 1)
    if stack["StackStatus"] != want:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        reasons = "\n".join(
            f"    {e['LogicalResourceId']} ({e['ResourceType']}): {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
            for e in reversed(events) if "FAILED" in e["ResourceStatus"]
        )
        raise Failed(f"stack {name} ended {stack['StackStatus']}: {stack.get('StackStatusReason', '')}\n{reasons}")
    return stack


def resource_summary(cfn, name: str, indent: str = "    ") -> list[str]:
    lines = []
    for resource in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]:
        lines.append(f"{indent}{resource['LogicalResourceId']:<34} {resource['ResourceType']:<34} {resource['ResourceStatus']}")
        if resource["ResourceType"] == "AWS::CloudFormation::Stack":
            lines += resource_summary(cfn, resource["PhysicalResourceId"], indent + "  ")
    return lines


def deploy_pool_group(aws, ec2) -> tuple[str, list[str]]:
    """The pool's group, from infra/example-pool.yaml: what a user without groups deploys first."""
    cfn = aws("cloudformation")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    vpc_id = vpc[0]["VpcId"] if vpc else ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]]
    if not subnets:
        subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]]
    image = ec2.describe_images(Owners=["amazon"])["Images"]
    image_id = image[0]["ImageId"] if image else "ami-0123456789abcdef0"
    aws("ssm").put_parameter(Name="/ci-fleet-smoke/agent-ami", Type="String", Value=image_id, Overwrite=True)
    body = (REPO / "infra/example-pool.yaml").read_text()
    cfn.create_stack(
        StackName=POOL_STACK, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "VpcId", "ParameterValue": vpc_id},
            {"ParameterKey": "SubnetIds", "ParameterValue": ",".join(subnets[:2])},
            {"ParameterKey": "ImageId", "ParameterValue": "/ci-fleet-smoke/agent-ami"},
            {"ParameterKey": "MinSize", "ParameterValue": "0"},
        ],
    )
    wait_for_stack(cfn, POOL_STACK, 120)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=POOL_STACK)["Stacks"][0].get("Outputs", [])}
    say(f"stack {POOL_STACK} (infra/example-pool.yaml) CREATE_COMPLETE: group {outputs.get('AutoScalingGroupName')}, pool block {outputs.get('PoolBlockParameters')}")
    for line in resource_summary(cfn, POOL_STACK):
        print(line)
    return vpc_id, subnets[:2]


def deploy_second_stack_in_vpc(endpoint: str, aws, parameters: dict, vpc_id: str, subnets: list[str]) -> None:
    """The same template as a second stack, with the VPC parameters (and the concurrency
    reservations): it must reach CREATE_COMPLETE beside the first, every function must carry
    the VPC configuration, and no alarm or dashboard name may be shared."""
    cfn, ec2, lam, cloudwatch = aws("cloudformation"), aws("ec2"), aws("lambda"), aws("cloudwatch")
    group = ec2.create_security_group(GroupName="ci-fleet-functions", Description="ci-fleet functions", VpcId=vpc_id)["GroupId"]
    vpc_parameters = {**parameters, "SubnetIds": ",".join(subnets), "SecurityGroupIds": group, "ReserveConcurrency": "true"}
    expanded = expanded_template(endpoint, local_variant("template.yaml"), vpc_parameters)
    aws("s3").put_object(Bucket=ARTIFACTS, Key="template-vpc.expanded.json", Body=json.dumps(expanded).encode())
    started = time.time()
    cfn.create_stack(
        StackName=STACK_IN_VPC, TemplateURL=f"{endpoint}/{ARTIFACTS}/template-vpc.expanded.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in vpc_parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    wait_for_stack(cfn, STACK_IN_VPC, 180)
    say(f"stack {STACK_IN_VPC} (SubnetIds={','.join(subnets)}, SecurityGroupIds={group}) CREATE_COMPLETE in {time.time() - started:.1f} s beside {STACK}")
    # ministack 1.5.33's CloudFormation creates functions without their VpcConfig (and
    # without ReservedConcurrentExecutions): cloudformation/provisioners.py _lambda_create
    # copies neither. The VPC condition is checked on the expanded template instead
    # (tests/tests/template.rs); here a function that does carry one must carry ours.
    for function in ("publish-workload", "protect-busy-agents", "handle-interruption", "advise-retry"):
        vpc = lam.get_function_configuration(FunctionName=f"{STACK_IN_VPC}-{function}").get("VpcConfig") or {}
        if vpc.get("SubnetIds") and (sorted(vpc["SubnetIds"]) != sorted(subnets) or vpc.get("SecurityGroupIds") != [group]):
            raise Failed(f"{STACK_IN_VPC}-{function} has VpcConfig {vpc}, not subnets {subnets} and group {group}")
    say("VpcConfig not applied by ministack's CloudFormation (its _lambda_create drops it): the condition is checked on the expanded template (tests/tests/template.rs)")
    alarms = [a["AlarmName"] for a in cloudwatch.describe_alarms(MaxRecords=100)["MetricAlarms"]]
    in_vpc = [a for a in alarms if a.startswith(f"{STACK_IN_VPC}-")]
    first = [a for a in alarms if a.startswith(f"{STACK}-") and a not in in_vpc]
    if not first or len(first) != len(in_vpc):
        raise Failed(f"each stack should have its own, equal set of alarms: {sorted(alarms)}")
    say(f"{len(first)} alarms per stack, side by side (e.g. {first[0]} and {in_vpc[0]})")
    dashboards = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    if not {f"{STACK}-linux", f"{STACK_IN_VPC}-linux"} <= set(dashboards):
        raise Failed(f"each stack's pool dashboard should exist side by side: {dashboards}")
    say(f"dashboards side by side: {', '.join(sorted(dashboards))}")


def local_variant(path: str) -> dict:
    """The template at `path` with what ministack cannot create stubbed."""
    template = yaml_parse((REPO / path).read_text())
    for logical_id, original in list(template["Resources"].items()):
        why = ministack_cannot_create(original)
        if not why:
            continue
        stub = {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": {"StubbedForMinistack": why, "Type": original["Type"]}}
        if "Condition" in original:
            stub["Condition"] = original["Condition"]
        template["Resources"][logical_id] = stub
        say(f"stubbed {path} {logical_id} ({original['Type']}): {why}")
    return template


def expanded_template(endpoint: str, template: dict, parameters: dict) -> dict:
    """template.yaml as `sam package` + the SAM transform would hand it to CloudFormation."""
    return sam_expand.expand(sam_expand.packaged(template, ARTIFACTS, f"{endpoint}/{ARTIFACTS}"), parameters)


def deploy(endpoint: str, aws, jenkins: str) -> None:
    cfn, s3 = aws("cloudformation"), aws("s3")
    secret = aws("secretsmanager").create_secret(Name="ci-fleet/ci-credentials", SecretString=json.dumps({"user": "ci-fleet", "token": "smoke-token"}))
    say(f"secret {secret['ARN']} holds the fake Jenkins' user and token")
    vpc_id, subnets = deploy_pool_group(aws, aws("ec2"))

    template = local_variant("template.yaml")
    binaries = list(sam_expand.functions(template).values())
    s3.create_bucket(Bucket=ARTIFACTS)
    for binary in binaries:
        path = TARGET / binary
        if not path.exists():
            raise Failed(f"{path} missing: run cargo build --workspace --bins")
        s3.put_object(Bucket=ARTIFACTS, Key=f"{binary}.zip", Body=lambda_zip(path))
    s3.put_object(Bucket=ARTIFACTS, Key="infra/pool.yaml", Body=json.dumps(local_variant("infra/pool.yaml")).encode())
    say(f"uploaded {', '.join(f'{b}.zip' for b in binaries)} (debug binaries as bootstrap) and infra/pool.yaml to s3://{ARTIFACTS}")

    parameters = {
        "CiKind": "jenkins", "CiUrl": jenkins, "CiCredentialsSecretArn": secret["ARN"],
        # Short runs: one invocation polls at 0, 5 and 10 s.
        "PollIntervalSeconds": "5", "PollWindowSeconds": "10", "LogLevel": "DEBUG",
    }
    expanded = expanded_template(endpoint, template, parameters)
    (RUN / "template.expanded.json").write_text(json.dumps(expanded, indent=1))
    s3.put_object(Bucket=ARTIFACTS, Key="template.expanded.json", Body=json.dumps(expanded).encode())
    say(f"SAM transform applied: {len(expanded['Resources'])} CloudFormation resources (.local/smoke-deploy/template.expanded.json)")

    started = time.time()
    cfn.create_stack(
        StackName=STACK, TemplateURL=f"{endpoint}/{ARTIFACTS}/template.expanded.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    wait_for_stack(cfn, STACK, 180)
    say(f"stack {STACK} CREATE_COMPLETE in {time.time() - started:.1f} s:")
    for line in resource_summary(cfn, STACK):
        print(line)

    # The README's last step for the example pool: give its agents the checkpoint bucket.
    bucket = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}["CheckpointBucketName"]
    previous = cfn.describe_stacks(StackName=POOL_STACK)["Stacks"][0]["Parameters"]
    cfn.update_stack(
        StackName=POOL_STACK, UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in previous if p["ParameterKey"] != "CheckpointBucketName"]
        + [{"ParameterKey": "CheckpointBucketName", "ParameterValue": bucket}],
    )
    wait_for_stack(cfn, POOL_STACK, 120, "UPDATE_COMPLETE")
    policies = [r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=POOL_STACK)["StackResourceSummaries"] if r["ResourceType"] == "AWS::IAM::Policy"]
    if "CheckpointPolicy" not in policies:
        raise Failed(f"stack {POOL_STACK} updated with CheckpointBucketName={bucket} but has no CheckpointPolicy ({policies})")
    say(f"stack {POOL_STACK} UPDATE_COMPLETE with CheckpointBucketName={bucket}: the agents' CheckpointPolicy exists")
    deploy_second_stack_in_vpc(endpoint, aws, parameters, vpc_id, subnets)


def metric_values(cloudwatch, namespace: str, since: datetime) -> dict:
    names = ["QueuedBuilds", "BusyExecutors", "IdleExecutors", "OnlineExecutors", "OldestQueuedSeconds", "TotalWorkload", "DesiredInstances", "MissingInstances"]
    queries = [
        {"Id": f"m{i}", "Label": name, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": "Pool", "Value": "linux"}]}, "Period": 1, "Stat": "Maximum"}}
        for i, name in enumerate(names)
    ]
    queries.append({"Id": "up", "Label": "CiServerUp", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "CiServerUp"}, "Period": 1, "Stat": "Maximum"}})
    now = datetime.now(timezone.utc)
    results = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=since, EndTime=now + timedelta(minutes=1))["MetricDataResults"]
    labels = {q["Id"]: q["Label"] for q in queries}
    return {labels[r["Id"]]: sorted(zip(r["Timestamps"], r["Values"])) for r in results if r["Values"]}


def log_lines(logs, function: str) -> list[str]:
    group = f"/aws/lambda/{function}"
    try:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    lines = []
    for stream in streams:
        lines += [e["message"].rstrip() for e in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)["events"]]
    return lines


def fake_requests(jenkins: str) -> list[dict]:
    answer = json.loads(urllib.request.urlopen(f"{jenkins}/_fake/requests", timeout=5).read())
    return answer if isinstance(answer, list) else answer.get("requests", [])


def watch_schedule(aws, jenkins: str, since: datetime, timeout: float) -> None:
    lam, logs, cloudwatch, events = aws("lambda"), aws("logs"), aws("cloudwatch"), aws("events")
    scheduled = []
    for rule in events.list_rules()["Rules"]:
        if not rule.get("ScheduleExpression"):
            continue
        targets = [t["Arn"].rsplit(":", 1)[-1] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
        scheduled += targets
        say(f"EventBridge rule {rule['Name']}: {rule['ScheduleExpression']} -> {', '.join(targets)}")
    function = f"{STACK}-publish-workload"
    if function not in scheduled:
        raise Failed(f"no schedule rule targets {function}")
    config = lam.get_function_configuration(FunctionName=function)
    say(f"function {function}: {config['Runtime']} {config.get('Architectures')}, handler {config['Handler']}, {config['CodeSize']} bytes zipped")
    say(f"waiting (up to {timeout:.0f} s) for the schedule to run it: nothing here calls Invoke")

    started = time.time()

    def published():
        values = metric_values(cloudwatch, "CIFleet", since)
        return values if "TotalWorkload" in values and "CiServerUp" in values else None

    wait_until("a scheduled publish-workload run publishing TotalWorkload to CloudWatch", published, timeout, 2)
    say(f"first metrics in CloudWatch {time.time() - started:.0f} s after CREATE_COMPLETE; waiting for the invocation to end")
    wait_until(f"the end of the invocation (a REPORT line in /aws/lambda/{function})",
               lambda: any(line.startswith("REPORT") for line in log_lines(logs, function)), 60, 2)

    values = metric_values(cloudwatch, "CIFleet", since)
    say("CloudWatch (ministack), namespace CIFleet, Pool=linux, read back with GetMetricData:")
    for name, points in values.items():
        print(f"    {name:<20} " + "  ".join(f"{t.strftime('%H:%M:%S')} {v:g}" for t, v in points))
    requests = fake_requests(jenkins)
    paths = sorted({f"{r.get('method', 'GET')} {r.get('path', '')}" for r in requests})
    say(f"the fake Jenkins served {len(requests)} requests: {', '.join(paths)}")
    if not any(r.get("path", "").startswith("/queue") for r in requests):
        raise Failed("publish-workload never read the fake Jenkins' queue")
    for target in sorted(set(scheduled)):
        lines = log_lines(logs, target)
        reports = [line for line in lines if line.startswith("REPORT")]
        errors = [line for line in lines if '"level":"ERROR"' in line.replace(" ", "") or "errorMessage" in line]
        say(f"/aws/lambda/{target}: {len(reports)} invocation(s) ended" + (f"; last: {reports[-1]}" if reports else ""))
        for line in errors[:3]:
            print(f"    error: {line[:300]}")


def failed_event_reaches_the_dead_letter_queue(aws) -> None:
    """A terminate event of our hook whose handling fails (a group no pool names) is not
    lost: handle-interruption fails it, Lambda retries it, and it lands in the stack's
    dead-letter queue (ministack models the async retries and the on-failure routing:
    services/lambda_svc.py, the async retry loop)."""
    cfn, lam, sqs = aws("cloudformation"), aws("lambda"), aws("sqs")
    template = json.loads((RUN / "template.expanded.json").read_text())
    function = f"{STACK}-handle-interruption"
    # ministack's CloudFormation creates functions without DeadLetterConfig (_lambda_create
    # copies neither it nor VpcConfig): apply the template's value as CloudFormation would.
    wanted = template["Resources"]["HandleInterruptionFunction"]["Properties"]["DeadLetterConfig"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}
    queue_url = outputs["InterruptionDeadLetterQueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if wanted != {"TargetArn": {"Fn::GetAtt": ["InterruptionDeadLetterQueue", "Arn"]}}:
        raise Failed(f"the template's DeadLetterConfig of handle-interruption is {wanted}, not the stack's queue")
    lam.update_function_configuration(FunctionName=function, DeadLetterConfig={"TargetArn": queue_arn})
    # EventBridge refuses aws.* sources from PutEvents (ministack as AWS), so the event is
    # handed to Lambda the way a rule target does: an asynchronous invocation.
    event = {
        "version": "0", "id": "smoke-lost-1", "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling", "account": "000000000000", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION, "resources": [],
        "detail": {
            "LifecycleActionToken": "smoke-token", "AutoScalingGroupName": "ci-no-pool",
            "LifecycleHookName": f"{STACK}-drain", "EC2InstanceId": "i-0123456789abcdef0",
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
        },
    }
    lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event).encode())
    say(f"invoked {function} asynchronously with a terminate event of hook {STACK}-drain on group ci-no-pool (in no pool): it must fail")

    def dead_lettered():
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1).get("Messages", [])
        return got[0] if got else None

    message = wait_until("the failed event in the dead-letter queue", dead_lettered, 60, 1)
    body = message.get("Body", "")
    if "ci-no-pool" not in body:
        raise Failed(f"the dead-letter queue holds something else: {body[:300]}")
    say(f"the failed event is in the dead-letter queue after Lambda's retries ({len(body)} bytes, names group ci-no-pool)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedule-timeout", type=float, default=150, help="seconds to wait for the scheduled run (rate(1 minute): first run about 60 s after creation)")
    args = parser.parse_args()
    RUN.mkdir(parents=True, exist_ok=True)
    procs = Processes()
    began = time.time()
    try:
        jenkins = start_fake_jenkins(procs)
        endpoint = start_ministack(procs)
        aws = clients(endpoint)
        since = datetime.now(timezone.utc) - timedelta(seconds=5)
        deploy(endpoint, aws, jenkins)
        watch_schedule(aws, jenkins, since, args.schedule_timeout)
        failed_event_reaches_the_dead_letter_queue(aws)
        say(f"ok: stack CREATE_COMPLETE and a scheduled publish-workload run seen, {time.time() - began:.0f} s in all")
        return 0
    except Failed as failure:
        say(f"FAILED: {failure}")
        say(f"logs in {RUN.relative_to(REPO)}/ (ministack.log, fake-jenkins.log)")
        return 1
    finally:
        procs.stop()


if __name__ == "__main__":
    sys.exit(main())
