#!/usr/bin/env python3
"""Tests of moto_ext.py through boto3 against a real server process.

    .venv/bin/python infra/local/test_moto_ext.py [-v]

Starts `moto_ext.py` on a free loopback port (stopped at the end). The Rust tests in
tests/tests/moto_lifecycle.rs cover the same ground through the SDK ci-fleet uses; these
cover the corners (expiry, ABANDON, EC2 termination, group deletion, resets) and the
warm pool (WarmPoolTest). Neither `make test` nor cargo runs this file: run it by hand
after changing moto_ext.py or moto.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
WARM_WAIT = "Warmed:Pending:Wait"
_names = itertools.count(1)

server: subprocess.Popen | None = None
URL = ""


def setUpModule() -> None:
    global server, URL
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    URL = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, str(HERE / "moto_ext.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{URL}/_ext/", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            raise RuntimeError(f"moto_ext.py did not start: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)


def tearDownModule() -> None:
    if server is not None:
        server.terminate()
        server.wait(10)


def ext(path: str, method: str = "GET"):
    req = urllib.request.Request(f"{URL}{path}", method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def ext_error(path: str, method: str = "GET", body: dict | None = None) -> tuple[int, str]:
    """The HTTP status and `error` message of a request that must fail."""
    try:
        ext(path, method) if body is None else ext_post(path, body)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)["error"]
    raise AssertionError(f"{method} {path} succeeded")


def ext_post(path: str, body: dict):
    req = urllib.request.Request(
        f"{URL}{path}", method="POST", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def client(service: str, attempts: int | None = None):
    """A boto3 client at the server; `attempts`: standard retry mode with that many attempts
    in all (1 = no retry), else botocore's default."""
    config = Config(s3={"addressing_style": "path"})
    if attempts is not None:
        config = config.merge(Config(retries={"mode": "standard", "total_max_attempts": attempts}))
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=URL,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )


class AsgTestCase(unittest.TestCase):
    """Clients and helpers; the tests are in the subclasses."""

    def setUp(self) -> None:
        self.ec2 = client("ec2")
        self.asg = client("autoscaling")

    # -- helpers -------------------------------------------------------------------------

    def group(self, size: int, hook: dict | None = None, warm_pool: dict | None = None) -> tuple[str, list[str]]:
        n = next(_names)
        name = f"py-ext-{n}-{os.getpid()}"
        self.ec2.create_launch_template(
            LaunchTemplateName=f"{name}-lt",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
        )
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            MinSize=0,
            MaxSize=10,
            DesiredCapacity=size,
            LaunchTemplate={"LaunchTemplateName": f"{name}-lt"},
            AvailabilityZones=["us-east-1a"],
        )
        if hook is not None:
            self.asg.put_lifecycle_hook(
                AutoScalingGroupName=name,
                LifecycleHookName="drain",
                LifecycleTransition=TERMINATING,
                **hook,
            )
        if warm_pool is not None:
            self.asg.put_warm_pool(AutoScalingGroupName=name, **warm_pool)
        return name, sorted(self.instances(name))

    def instances(self, name: str) -> dict[str, str]:
        g = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        return {i["InstanceId"]: i["LifecycleState"] for i in g[0]["Instances"]} if g else {}

    def ec2_state(self, instance_id: str) -> str:
        r = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        return r[0]["Instances"][0]["State"]["Name"]

    def actions(self, name: str) -> list[dict]:
        return ext(f"/_ext/lifecycle-actions?group={name}")

    def complete(self, name: str, instance_id: str, result: str = "CONTINUE", **kw) -> None:
        self.asg.complete_lifecycle_action(
            AutoScalingGroupName=name,
            LifecycleHookName="drain",
            InstanceId=instance_id,
            LifecycleActionResult=result,
            **kw,
        )

    def assert_no_active_action(self, call, *args, **kwargs) -> str:
        with self.assertRaises(ClientError) as err:
            call(*args, **kwargs)
        error = err.exception.response["Error"]
        self.assertEqual(error["Code"], "ValidationError")
        self.assertTrue(error["Message"].startswith("No active Lifecycle Action found with"), error)
        return error["Message"]


class LifecycleTest(AsgTestCase):
    def test_scale_in_waits_skips_protected_then_continue_terminates(self) -> None:
        name, ids = self.group(3, {"HeartbeatTimeout": 600, "DefaultResult": "CONTINUE"})
        self.asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[ids[0]], ProtectedFromScaleIn=True)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)

        states = self.instances(name)
        self.assertEqual(states[ids[0]], "InService")
        self.assertEqual({i: states[i] for i in ids[1:]}, {i: "Terminating:Wait" for i in ids[1:]})
        self.assertEqual(len(states), 3, "no replacement: the group is shrinking")
        for i in ids[1:]:
            self.assertEqual(self.ec2_state(i), "running", "waiting instances keep running")
        actions = self.actions(name)
        self.assertEqual(sorted(a["instance_id"] for a in actions), ids[1:])
        self.assertTrue(all(a["state"] == "pending" and a["hook"] == "drain" for a in actions))

        self.complete(name, ids[1])
        self.assertEqual(self.ec2_state(ids[1]), "terminated")
        self.assertNotIn(ids[1], self.instances(name))
        message = self.assert_no_active_action(self.complete, name, ids[1])
        self.assertEqual(message, f"No active Lifecycle Action found with instance ID {ids[1]}")

        # By token (ci-fleet sends both).
        token = next(a["token"] for a in self.actions(name) if a["instance_id"] == ids[2])
        self.complete(name, ids[2], LifecycleActionToken=token)
        self.assertEqual(self.instances(name), {ids[0]: "InService"})
        done = {a["instance_id"]: (a["state"], a["result"]) for a in self.actions(name)}
        self.assertEqual(done, {ids[1]: ("completed", "CONTINUE"), ids[2]: ("completed", "CONTINUE")})

    def test_heartbeat_extends_deadline_and_needs_a_pending_action(self) -> None:
        name, ids = self.group(1, {"HeartbeatTimeout": 4, "DefaultResult": "ABANDON"})
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=True)
        (before,) = self.actions(name)
        time.sleep(2.5)
        self.asg.record_lifecycle_action_heartbeat(
            AutoScalingGroupName=name, LifecycleHookName="drain", LifecycleActionToken=before["token"]
        )
        time.sleep(2.5)  # past the first deadline (4 s), not the extended one (6.5 s)
        (after,) = self.actions(name)
        self.assertEqual((after["state"], after["heartbeats"]), ("pending", 1))
        self.assertGreater(after["heartbeat_deadline"], before["heartbeat_deadline"])
        message = self.assert_no_active_action(
            self.asg.record_lifecycle_action_heartbeat,
            AutoScalingGroupName=name,
            LifecycleHookName="drain",
            LifecycleActionToken="00000000-0000-0000-0000-000000000000",
        )
        self.assertIn("with token 00000000-0000-0000-0000-000000000000", message)
        self.assert_no_active_action(
            self.asg.record_lifecycle_action_heartbeat,
            AutoScalingGroupName=name,
            LifecycleHookName="other-hook",
            InstanceId=ids[0],
        )

    def test_expired_heartbeat_applies_default_result_lazily(self) -> None:
        name, ids = self.group(2, {"HeartbeatTimeout": 1, "DefaultResult": "ABANDON"})
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        waiting = [i for i, s in self.instances(name).items() if s == "Terminating:Wait"]
        self.assertEqual(len(waiting), 1)
        time.sleep(1.5)
        # The next Auto Scaling call sees the deadline passed.
        self.assertNotIn(waiting[0], self.instances(name))
        self.assertEqual(self.ec2_state(waiting[0]), "terminated")
        (action,) = self.actions(name)
        self.assertEqual((action["state"], action["result"]), ("expired", "ABANDON"))
        self.assert_no_active_action(self.complete, name, waiting[0])

    def test_abandon_terminates_too(self) -> None:
        name, ids = self.group(1, {"HeartbeatTimeout": 600})
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=True)
        self.complete(name, ids[0], "ABANDON")
        self.assertEqual(self.ec2_state(ids[0]), "terminated")
        self.assertEqual(self.instances(name), {})
        (action,) = self.actions(name)
        self.assertEqual((action["state"], action["result"]), ("abandoned", "ABANDON"))

    def test_terminate_instance_waits_and_replaces_unless_decremented(self) -> None:
        name, ids = self.group(2, {"HeartbeatTimeout": 600})
        # Protection does not stop an explicit termination (AWS semantics).
        self.asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[ids[0]], ProtectedFromScaleIn=True)
        activity = self.asg.terminate_instance_in_auto_scaling_group(
            InstanceId=ids[0], ShouldDecrementDesiredCapacity=False
        )["Activity"]
        self.assertIn(ids[0], activity["Description"])
        states = self.instances(name)
        self.assertEqual(states[ids[0]], "Terminating:Wait")
        self.assertEqual(len(states), 3, "a replacement is launched at once")
        # Asking again creates no second action.
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=False)
        self.assertEqual(len(self.actions(name)), 1)

        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[1], ShouldDecrementDesiredCapacity=True)
        desired = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        self.assertEqual(desired["DesiredCapacity"], 1)
        self.assertEqual(sorted(self.instances(name).values()), ["InService", "Terminating:Wait", "Terminating:Wait"])

    def test_unknown_instance_is_a_validation_error(self) -> None:
        with self.assertRaises(ClientError) as err:
            self.asg.terminate_instance_in_auto_scaling_group(
                InstanceId="i-00000000000000000", ShouldDecrementDesiredCapacity=False
            )
        self.assertEqual(err.exception.response["Error"]["Code"], "ValidationError")

    def test_unprotecting_lets_an_oversized_group_shrink(self) -> None:
        name, ids = self.group(2, {"HeartbeatTimeout": 600})
        self.asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=ids, ProtectedFromScaleIn=True)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.assertEqual(self.instances(name), {i: "InService" for i in ids})  # all protected
        self.assertEqual(self.actions(name), [])
        self.asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[ids[1]], ProtectedFromScaleIn=False)
        self.assertEqual(self.instances(name), {ids[0]: "InService", ids[1]: "Terminating:Wait"})

    def test_without_a_hook_moto_terminates_at_once(self) -> None:
        name, ids = self.group(2)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        (gone,) = [i for i in ids if i not in self.instances(name)]
        self.assertEqual(self.ec2_state(gone), "terminated")
        self.assertEqual(self.actions(name), [])

    def test_ec2_termination_of_a_waiting_instance_ends_its_action(self) -> None:
        name, ids = self.group(1, {"HeartbeatTimeout": 600})
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=True)
        self.ec2.terminate_instances(InstanceIds=[ids[0]])
        self.assertEqual(self.instances(name), {})
        (action,) = self.actions(name)
        self.assertEqual((action["state"], action["result"]), ("abandoned", None))

    def test_deleting_the_group_terminates_waiting_instances(self) -> None:
        name, ids = self.group(2, {"HeartbeatTimeout": 600})
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.assertEqual(set(self.instances(name).values()), {"Terminating:Wait"})
        self.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        self.assertEqual([self.ec2_state(i) for i in ids], ["terminated", "terminated"])
        self.assertEqual({a["state"] for a in self.actions(name)}, {"abandoned"})

    def test_global_timeout_is_reported_like_aws(self) -> None:
        name, _ = self.group(0, {"HeartbeatTimeout": 60})
        (hook,) = self.asg.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"]
        self.assertEqual(hook["GlobalTimeout"], 6000)

    def test_resets_clear_the_registry(self) -> None:
        name, ids = self.group(1, {"HeartbeatTimeout": 600})
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=True)
        self.assertEqual(len(self.actions(name)), 1)
        self.assertGreaterEqual(ext("/_ext/reset", "POST")["cleared"], 1)
        self.assertEqual(ext("/_ext/lifecycle-actions"), [])
        # moto's own reset drops the registry with the groups.
        name, ids = self.group(1, {"HeartbeatTimeout": 600})
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=True)
        urllib.request.urlopen(urllib.request.Request(f"{URL}/moto-api/reset", method="POST", data=b""))
        self.assertEqual(ext("/_ext/lifecycle-actions"), [])


REUSE = {"PoolState": "Stopped", "InstanceReusePolicy": {"ReuseOnScaleIn": True}}


class WarmPoolTest(AsgTestCase):
    def warm_pool(self, name: str) -> dict[str, str]:
        instances = self.asg.describe_warm_pool(AutoScalingGroupName=name)["Instances"]
        return {i["InstanceId"]: i["LifecycleState"] for i in instances}

    def tags(self, instance_id: str) -> dict[str, str]:
        tags = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])["Tags"]
        return {t["Key"]: t["Value"] for t in tags}

    def desired(self, name: str) -> int:
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0][
            "DesiredCapacity"
        ]

    def test_scale_in_with_reuse_waits_in_warmed_pending_wait_then_continue_stops_it_into_the_pool(self) -> None:
        name, ids = self.group(3, {"HeartbeatTimeout": 600, "DefaultResult": "ABANDON"}, REUSE)
        self.asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[ids[0]], ProtectedFromScaleIn=True)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)

        # Still listed by DescribeAutoScalingGroups while waiting (not confirmed for AWS: README).
        self.assertEqual(self.instances(name), {ids[0]: "InService", ids[1]: WARM_WAIT, ids[2]: WARM_WAIT})
        for i in ids[1:]:
            self.assertEqual(self.ec2_state(i), "running", "waiting instances keep running")
        actions = self.actions(name)
        self.assertEqual(sorted(a["instance_id"] for a in actions), ids[1:])
        for a in actions:
            self.assertEqual((a["state"], a["transition"]), ("pending", TERMINATING))
            self.assertEqual((a["origin"], a["destination"]), ("AutoScalingGroup", "WarmPool"))
        self.assertEqual(self.warm_pool(name), {}, "not in the pool before its actions end")
        self.assertEqual(ext(f"/_ext/warm-pool?group={name}"), [])

        self.complete(name, ids[1])
        token = next(a["token"] for a in actions if a["instance_id"] == ids[2])
        self.complete(name, ids[2], LifecycleActionToken=token)
        self.assertEqual(self.instances(name), {ids[0]: "InService"})
        self.assertEqual(self.warm_pool(name), {ids[1]: "Warmed:Stopped", ids[2]: "Warmed:Stopped"})
        for i in ids[1:]:
            self.assertEqual(self.ec2_state(i), "stopped")
            self.assertEqual(self.tags(i).get("aws:autoscaling:groupName"), name, "a warm pool instance keeps its tag")
        listed = ext(f"/_ext/warm-pool?group={name}")
        self.assertEqual(
            [(w["instance_id"], w["lifecycle_state"], w["group"]) for w in listed],
            [(ids[1], "Warmed:Stopped", name), (ids[2], "Warmed:Stopped", name)],
        )
        done = {a["instance_id"]: (a["state"], a["result"]) for a in self.actions(name)}
        self.assertEqual(done, {i: ("completed", "CONTINUE") for i in ids[1:]})
        self.assert_no_active_action(self.complete, name, ids[1])
        self.assertEqual(self.desired(name), 1)

    def test_expiry_with_default_continue_returns_to_a_running_pool(self) -> None:
        pool = {"PoolState": "Running", "InstanceReusePolicy": {"ReuseOnScaleIn": True}}
        name, ids = self.group(2, {"HeartbeatTimeout": 1, "DefaultResult": "CONTINUE"}, pool)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        (waiting,) = [i for i, s in self.instances(name).items() if s == WARM_WAIT]
        time.sleep(1.5)
        self.assertEqual(self.warm_pool(name), {waiting: "Warmed:Running"})
        self.assertEqual(self.ec2_state(waiting), "running")
        (action,) = self.actions(name)
        self.assertEqual((action["state"], action["result"]), ("expired", "CONTINUE"))

    def test_abandon_terminates_instead_of_returning(self) -> None:
        name, ids = self.group(1, {"HeartbeatTimeout": 600}, REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.assertEqual(self.instances(name), {ids[0]: WARM_WAIT})
        self.complete(name, ids[0], "ABANDON")
        self.assertEqual(self.ec2_state(ids[0]), "terminated")
        self.assertEqual((self.instances(name), self.warm_pool(name)), ({}, {}))

    def test_reuse_without_a_hook_goes_straight_to_the_pool(self) -> None:
        name, ids = self.group(2, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        (gone,) = [i for i in ids if i not in self.instances(name)]
        self.assertEqual(self.warm_pool(name), {gone: "Warmed:Stopped"})
        self.assertEqual(self.ec2_state(gone), "stopped")
        self.assertEqual(self.actions(name), [])

    def test_return_starts_the_oldest_instance_in_service(self) -> None:
        name, ids = self.group(3, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)
        (first,) = [i for i in ids if i not in self.instances(name)]
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        (second,) = [i for i in ids if i not in self.instances(name) and i != first]
        (kept,) = self.instances(name)

        returned = ext(f"/_ext/warm-pool/return?group={name}", "POST")
        self.assertEqual(
            returned, {"instance_id": first, "lifecycle_state": "InService", "group": name, "desired_capacity": 2}
        )
        self.assertEqual(self.ec2_state(first), "running")
        self.assertEqual(self.instances(name), {kept: "InService", first: "InService"})
        self.assertEqual(self.warm_pool(name), {second: "Warmed:Stopped"})
        self.assertEqual(self.desired(name), 2)

        status, error = ext_error(f"/_ext/warm-pool/return?group={name}&instance={first}", "POST")
        self.assertEqual((status, error), (404, f"instance {first} is not in the warm pool of group '{name}'"))
        self.assertEqual(ext(f"/_ext/warm-pool/return?group={name}&instance={second}", "POST")["instance_id"], second)
        status, error = ext_error(f"/_ext/warm-pool/return?group={name}", "POST")
        self.assertEqual((status, error), (404, f"the warm pool of group '{name}' is empty"))
        status, error = ext_error("/_ext/warm-pool/return?group=no-such-group", "POST")
        self.assertEqual(status, 404)
        self.assertEqual(error, "no Auto Scaling group named 'no-such-group' (in any account or region)")
        self.assertEqual(ext_error("/_ext/warm-pool?group=no-such-group")[0], 404)

    def test_return_refuses_a_group_at_its_maximum(self) -> None:
        name, ids = self.group(2, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        self.asg.update_auto_scaling_group(AutoScalingGroupName=name, MaxSize=1)
        status, error = ext_error(f"/_ext/warm-pool/return?group={name}", "POST")
        self.assertEqual(status, 409)
        self.assertIn(f"group '{name}' is at its maximum size (1)", error)

    def test_terminate_instance_in_group_still_terminates(self) -> None:
        name, ids = self.group(2, {"HeartbeatTimeout": 600}, REUSE)
        self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[0], ShouldDecrementDesiredCapacity=True)
        self.assertEqual(self.instances(name)[ids[0]], "Terminating:Wait")
        (action,) = self.actions(name)
        self.assertEqual((action["origin"], action["destination"]), ("AutoScalingGroup", "EC2"))
        self.complete(name, ids[0])
        self.assertEqual(self.ec2_state(ids[0]), "terminated")
        self.assertEqual(self.warm_pool(name), {})

        # Not on an instance on its way to (or in) the warm pool.
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.assertEqual(self.instances(name), {ids[1]: WARM_WAIT})
        with self.assertRaises(ClientError) as err:
            self.asg.terminate_instance_in_auto_scaling_group(InstanceId=ids[1], ShouldDecrementDesiredCapacity=False)
        self.assertEqual(err.exception.response["Error"]["Code"], "ValidationError")
        self.assertIn("cannot be called on warm pool instances", err.exception.response["Error"]["Message"])

    def test_a_group_without_a_warm_pool_or_without_reuse_terminates_as_before(self) -> None:
        for pool in (None, {"PoolState": "Stopped"}, {"InstanceReusePolicy": {"ReuseOnScaleIn": False}}):
            with self.subTest(pool=pool):
                name, ids = self.group(2, {"HeartbeatTimeout": 600}, pool)
                self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
                (waiting,) = [i for i, s in self.instances(name).items() if s == "Terminating:Wait"]
                (action,) = self.actions(name)
                self.assertEqual((action["origin"], action["destination"]), ("AutoScalingGroup", "EC2"))
                self.complete(name, waiting)
                self.assertEqual(self.ec2_state(waiting), "terminated")
                self.assertEqual(self.warm_pool(name), {})
                self.assertEqual(ext(f"/_ext/warm-pool?group={name}"), [])

    def test_deleting_the_pool_or_the_group_terminates_pool_instances(self) -> None:
        name, ids = self.group(3, {"HeartbeatTimeout": 600}, REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
        waiting = sorted(i for i, s in self.instances(name).items() if s == WARM_WAIT)
        self.complete(name, waiting[0])
        self.assertEqual(self.warm_pool(name), {waiting[0]: "Warmed:Stopped"})
        self.asg.delete_warm_pool(AutoScalingGroupName=name, ForceDelete=True)
        # In the pool, and on its way there: both terminated, the pending action ended.
        self.assertEqual([self.ec2_state(i) for i in waiting], ["terminated", "terminated"])
        self.assertEqual(len(self.instances(name)), 1)
        self.assertEqual(ext(f"/_ext/warm-pool?group={name}"), [])
        ended = next(a for a in self.actions(name) if a["instance_id"] == waiting[1])
        self.assertEqual((ended["state"], ended["result"]), ("abandoned", None))

        name, ids = self.group(1, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        self.assertEqual(self.ec2_state(ids[0]), "terminated")
        self.assertEqual([w for w in ext("/_ext/warm-pool") if w["group"] == name], [])

    def test_ec2_termination_of_a_pool_instance_removes_it(self) -> None:
        name, ids = self.group(1, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.ec2.terminate_instances(InstanceIds=ids)
        self.assertEqual(self.warm_pool(name), {})

    def test_resets_clear_the_warm_pool(self) -> None:
        name, ids = self.group(1, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.assertGreaterEqual(ext("/_ext/reset", "POST")["warm_pool_cleared"], 1)
        self.assertEqual(ext("/_ext/warm-pool"), [])
        self.assertEqual(self.warm_pool(name), {})
        # moto's own reset drops the pool with the groups.
        name, ids = self.group(1, warm_pool=REUSE)
        self.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
        self.assertEqual(len(ext("/_ext/warm-pool")), 1)
        urllib.request.urlopen(urllib.request.Request(f"{URL}/moto-api/reset", method="POST", data=b""))
        self.assertEqual(ext("/_ext/warm-pool"), [])


class FaultTest(AsgTestCase):
    """POST /_ext/faults: AWS's own throttling and error documents, and delays, per operation."""

    def setUp(self) -> None:
        super().setUp()
        ext("/_ext/faults", "DELETE")
        self.addCleanup(ext, "/_ext/faults", "DELETE")  # the other test classes share the server
        # One attempt: the first answer is what the test sees.
        self.ec2_1 = client("ec2", attempts=1)
        self.asg_1 = client("autoscaling", attempts=1)

    def fault(self, **rule) -> dict:
        return ext_post("/_ext/faults", rule)["rule"]

    def rules(self) -> dict[str, dict]:
        return {r["action"]: r for r in ext("/_ext/faults")}

    def error_of(self, call, *args, **kwargs) -> tuple[dict, int, dict]:
        """(Error, HTTP status, ResponseMetadata) of a call that must fail."""
        with self.assertRaises(ClientError) as err:
            call(*args, **kwargs)
        response = err.exception.response
        return response["Error"], response["ResponseMetadata"]["HTTPStatusCode"], response["ResponseMetadata"]

    def test_throttling_is_each_services_own_throttle(self) -> None:
        self.fault(action="DescribeAutoScalingGroups", mode="throttle")
        self.fault(action="DescribeInstances", mode="throttle")
        error, status, meta = self.error_of(self.asg_1.describe_auto_scaling_groups)
        self.assertEqual(
            (error["Code"], error["Message"], error["Type"], status), ("Throttling", "Rate exceeded", "Sender", 400)
        )
        self.assertTrue(meta["RequestId"])
        error, status, meta = self.error_of(self.ec2_1.describe_instances)
        self.assertEqual(
            (error["Code"], error["Message"], status), ("RequestLimitExceeded", "Request limit exceeded.", 503)
        )
        self.assertTrue(meta["RequestId"], "EC2's <RequestID> is parsed")
        fired = {a: r["fired"] for a, r in self.rules().items()}
        self.assertEqual(fired, {"DescribeAutoScalingGroups": 1, "DescribeInstances": 1})

    def test_error_mode_is_a_500_in_the_same_shape(self) -> None:
        self.fault(action="DescribeLifecycleHooks", mode="error")
        self.fault(action="DescribeInstances", mode="error")
        error, status, _ = self.error_of(self.asg_1.describe_lifecycle_hooks, AutoScalingGroupName="any")
        self.assertEqual((error["Code"], error["Type"], status), ("InternalFailure", "Receiver", 500))
        error, status, _ = self.error_of(self.ec2_1.describe_instances)
        self.assertEqual((error["Code"], status), ("InternalError", 500))

    def test_times_then_moto_answers_again(self) -> None:
        name, ids = self.group(1)
        self.fault(action="DescribeAutoScalingGroups", mode="throttle", times=2)
        for _ in range(2):
            error, _, _ = self.error_of(self.asg_1.describe_auto_scaling_groups, AutoScalingGroupNames=[name])
            self.assertEqual(error["Code"], "Throttling")
        groups = self.asg_1.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        self.assertEqual([i["InstanceId"] for i in groups[0]["Instances"]], ids)
        rule = self.rules()["DescribeAutoScalingGroups"]
        self.assertEqual((rule["times"], rule["fired"], rule["remaining"], rule["active"]), (2, 2, 0, False))

    def test_an_sdk_retries_through_fewer_throttles_than_its_attempts(self) -> None:
        self.fault(action="DescribeInstances", mode="throttle", times=2)
        client("ec2", attempts=3).describe_instances()  # throttled, throttled, answered
        self.assertEqual(self.rules()["DescribeInstances"]["fired"], 2)

    def test_delay_delays_then_passes_on(self) -> None:
        name, ids = self.group(1)
        self.fault(action="DescribeAutoScalingGroups", mode="delay", delay_ms=700, times=1)
        start = time.monotonic()
        groups = self.asg_1.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        self.assertGreaterEqual(time.monotonic() - start, 0.7)
        self.assertEqual(groups[0]["AutoScalingGroupName"], name)
        start = time.monotonic()
        self.asg_1.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        self.assertLess(time.monotonic() - start, 0.7, "times=1: only the first call waits")
        # A delay before a throttle.
        self.fault(action="DescribeInstances", mode="throttle", delay_ms=500)
        start = time.monotonic()
        self.assertEqual(self.error_of(self.ec2_1.describe_instances)[0]["Code"], "RequestLimitExceeded")
        self.assertGreaterEqual(time.monotonic() - start, 0.5)

    def test_clearing_restores_normal_answers(self) -> None:
        self.fault(action="DescribeInstances", mode="throttle")
        self.fault(action="DescribeAutoScalingGroups", mode="throttle")
        self.assertEqual(ext("/_ext/faults?action=DescribeInstances", "DELETE"), {"cleared": 1})
        self.ec2_1.describe_instances()
        self.assertEqual(list(self.rules()), ["DescribeAutoScalingGroups"])
        self.assertEqual(ext("/_ext/faults", "DELETE"), {"cleared": 1})
        self.asg_1.describe_auto_scaling_groups()
        # Both resets clear the table too.
        self.fault(action="DescribeInstances", mode="throttle")
        self.assertEqual(ext("/_ext/reset", "POST")["faults_cleared"], 1)
        self.ec2_1.describe_instances()
        self.fault(action="DescribeInstances", mode="throttle")
        urllib.request.urlopen(urllib.request.Request(f"{URL}/moto-api/reset", method="POST", data=b""))
        self.assertEqual(ext("/_ext/faults"), [])
        self.ec2_1.describe_instances()

    def test_a_request_body_reaches_moto_intact_when_no_rule_matches(self) -> None:
        self.fault(action="DescribeInstances", mode="throttle")  # with a rule, every request is read
        name, ids = self.group(3)  # CreateLaunchTemplate, CreateAutoScalingGroup: form bodies
        self.asg_1.set_instance_protection(AutoScalingGroupName=name, InstanceIds=ids[1:], ProtectedFromScaleIn=True)
        instances = self.asg_1.describe_auto_scaling_instances(InstanceIds=ids)["AutoScalingInstances"]
        self.assertEqual(
            {i["InstanceId"]: i["ProtectedFromScaleIn"] for i in instances}, {ids[0]: False, ids[1]: True, ids[2]: True}
        )
        self.assertEqual(self.rules()["DescribeInstances"]["fired"], 0)

    def test_service_disambiguates_and_a_new_rule_replaces_the_old(self) -> None:
        # DescribeTags is an operation of both Auto Scaling and EC2.
        first = ext_post("/_ext/faults", {"action": "DescribeTags", "service": "autoscaling", "mode": "error"})
        self.assertFalse(first["replaced"])
        again = ext_post("/_ext/faults", {"action": "DescribeTags", "service": "autoscaling", "mode": "throttle"})
        self.assertTrue(again["replaced"])
        self.assertEqual(self.error_of(self.asg_1.describe_tags)[0]["Code"], "Throttling")
        self.ec2_1.describe_tags()
        (rule,) = ext("/_ext/faults")
        self.assertEqual((rule["service"], rule["mode"], rule["fired"]), ("autoscaling", "throttle", 1))

    def test_json_and_s3_protocols(self) -> None:
        secrets, s3 = client("secretsmanager", attempts=1), client("s3", attempts=1)
        secrets.create_secret(Name="py-ext-fault", SecretString="x")
        s3.create_bucket(Bucket="py-ext-fault")
        self.fault(action="GetSecretValue", mode="throttle")
        error, status, _ = self.error_of(secrets.get_secret_value, SecretId="py-ext-fault")
        self.assertEqual((error["Code"], error["Message"], status), ("ThrottlingException", "Rate exceeded", 400))
        for action, call in [
            ("PutObject", lambda: s3.put_object(Bucket="py-ext-fault", Key="a/b", Body=b"1")),
            ("GetObject", lambda: s3.get_object(Bucket="py-ext-fault", Key="a/b")),
            ("ListObjectsV2", lambda: s3.list_objects_v2(Bucket="py-ext-fault", Prefix="a/")),
        ]:
            with self.subTest(action=action):
                call()  # no rule yet: moto answers
                self.fault(action=action, mode="throttle", times=1)
                error, status, _ = self.error_of(call)
                self.assertEqual((error["Code"], status), ("SlowDown", 503))
        ext("/_ext/faults", "DELETE")
        self.assertEqual(secrets.get_secret_value(SecretId="py-ext-fault")["SecretString"], "x")

    def test_overrides_and_retry_after(self) -> None:
        self.fault(
            action="DescribeWarmPool", mode="error", code="AccessDenied", status=403, message="no", retry_after_ms=5
        )
        error, status, meta = self.error_of(self.asg_1.describe_warm_pool, AutoScalingGroupName="any")
        self.assertEqual((error["Code"], error["Message"], error["Type"]), ("AccessDenied", "no", "Sender"))
        self.assertEqual(status, 403)
        self.assertEqual(meta["HTTPHeaders"]["x-amz-retry-after"], "5")

    def test_the_raw_documents(self) -> None:
        """The bytes on the wire, for unsigned requests (the service then comes from Version)."""
        self.fault(action="DescribeAutoScalingGroups", mode="throttle")
        self.fault(action="DescribeInstances", mode="error", status=499)

        def post(form: str) -> tuple[int, dict, ET.Element]:
            req = urllib.request.Request(
                f"{URL}/",
                method="POST",
                data=form.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
            try:
                urllib.request.urlopen(req, timeout=10)
            except urllib.error.HTTPError as err:
                return err.code, dict(err.headers), ET.fromstring(err.read())
            raise AssertionError(f"{form} succeeded")

        status, headers, root = post("Action=DescribeAutoScalingGroups&Version=2011-01-01")
        ns = "{http://autoscaling.amazonaws.com/doc/2011-01-01/}"
        self.assertEqual((status, root.tag), (400, f"{ns}ErrorResponse"))
        fields = {child.tag.removeprefix(ns): child.text for child in root.find(f"{ns}Error")}
        self.assertEqual(fields, {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"})
        self.assertEqual(root.find(f"{ns}RequestId").text, headers["x-amzn-RequestId"])

        status, headers, root = post("Action=DescribeInstances&Version=2016-11-15")
        self.assertEqual((status, root.tag), (499, "Response"))
        self.assertEqual(root.find("Errors/Error/Code").text, "InternalError")
        self.assertEqual(root.find("RequestID").text, headers["x-amzn-RequestId"])

    def test_invalid_rules_are_refused_naming_the_field(self) -> None:
        for rule, expected in [
            ({"mode": "throttle"}, "action must be an operation name"),
            ({"action": "DescribeInstances", "mode": "slow"}, "mode must be one of"),
            ({"action": "DescribeInstances", "mode": "delay"}, "mode delay needs delay_ms > 0"),
            ({"action": "DescribeInstances", "mode": "throttle", "times": 0}, "times must be an integer >= 1"),
            ({"action": "DescribeInstances", "mode": "throttle", "time": 3}, "unknown field(s) ['time']"),
            ({"action": "DescribeInstances", "mode": "delay", "delay_ms": 5, "code": "X"}, "throttle and error only"),
            ({"action": "DescribeInstances", "mode": "throttle", "service": "EC2"}, "service must be a SigV4 signing"),
        ]:
            with self.subTest(rule=rule):
                status, error = ext_error("/_ext/faults", "POST", rule)
                self.assertEqual(status, 400)
                self.assertIn(expected, error)
        self.assertEqual(ext("/_ext/faults"), [])
        self.assertIn("POST /_ext/faults", ext("/_ext/")["endpoints"])


if __name__ == "__main__":
    unittest.main()
