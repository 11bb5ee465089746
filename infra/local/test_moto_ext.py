#!/usr/bin/env python3
"""Tests of moto_ext.py through boto3 against a real server process.

    .venv/bin/python infra/local/test_moto_ext.py [-v]

Starts `moto_ext.py` on a free loopback port (stopped at the end). The Rust tests in
tests/tests/moto_lifecycle.rs cover the same ground through the SDK ci-fleet uses; these
cover the corners (expiry, ABANDON, EC2 termination, group deletion, resets).
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
import urllib.request
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
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


class LifecycleTest(unittest.TestCase):
    def setUp(self) -> None:
        kw = dict(
            region_name="us-east-1",
            endpoint_url=URL,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        self.ec2 = boto3.client("ec2", **kw)
        self.asg = boto3.client("autoscaling", **kw)

    # -- helpers -------------------------------------------------------------------------

    def group(self, size: int, hook: dict | None = None) -> tuple[str, list[str]]:
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

    # -- tests ---------------------------------------------------------------------------

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


if __name__ == "__main__":
    unittest.main()
