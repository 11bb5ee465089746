#!/usr/bin/env python3
"""moto server, plus the Auto Scaling lifecycle-hook behaviour ci-fleet's drain logic needs.

Usage (the same command line as `moto_server`):

    .venv/bin/python infra/local/moto_ext.py -H 127.0.0.1 -p 5510

moto 5.2.5 stores terminate lifecycle hooks but never acts on them: scale-in and
TerminateInstanceInAutoScalingGroup kill instances at once, and CompleteLifecycleAction /
RecordLifecycleActionHeartbeat answer HTTP 500 (NotImplementedError). ci-fleet's drain
(handle-interruption, protect-busy-agents) lives in exactly that gap, so this launcher
patches moto in-process and then starts moto's own server unchanged:

- An instance Auto Scaling chooses to terminate in a group with an
  `autoscaling:EC2_INSTANCE_TERMINATING` hook goes to `Terminating:Wait` with one pending
  lifecycle action per such hook, instead of being terminated.
- CompleteLifecycleAction (by token or instance id) ends the action; CONTINUE and ABANDON
  both terminate the instance (AWS semantics for terminate hooks).
- RecordLifecycleActionHeartbeat pushes the heartbeat deadline back.
- A passed deadline applies the hook's DefaultResult, lazily, on the next Auto Scaling call.
- SetInstanceProtection(false) lets the group shrink to its desired capacity (AWS does;
  moto leaves the group oversized).
- `GET /_ext/lifecycle-actions`, `POST /_ext/reset`: inspection and control, no AWS auth.

infra/local/README.md ("moto extension") documents the behaviour and the reasons.
Everything not listed here is moto's own code and behaviour.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass

import moto
import moto.server
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    TerminateInstanceActivity,
    autoscaling_backends,
)
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import EmptyResult
from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.models import EC2Backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

TESTED_MOTO_VERSION = "5.2.5"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
WAIT_STATE = "Terminating:Wait"
# AWS caps a lifecycle action at 100 heartbeat timeouts or 48 hours, whichever is smaller.
MAX_GLOBAL_TIMEOUT_SECS = 48 * 3600

# moto's werkzeug server runs each request in its own thread. Everything this module does
# to a group (and its registry of actions) happens under this lock, so that a scale-in,
# a completion and an expiry never interleave. Re-entrant: patched methods call each other.
_LOCK = threading.RLock()

# Per-request switches (see _scale_with_hooks and _delete_auto_scaling_group). Thread-local
# because they must only affect the request that set them.
_local = threading.local()


def _now() -> float:
    return time.time()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class LifecycleAction:
    """One pending (or finished) terminate lifecycle action; what AWS would announce in
    the `EC2 Instance-terminate Lifecycle Action` event, plus its outcome."""

    account: str
    region: str
    group: str
    hook: str
    instance_id: str
    token: str
    heartbeat_timeout: int
    default_result: str
    started: float
    heartbeat_deadline: float
    global_deadline: float
    state: str = "pending"  # pending | completed | abandoned | expired
    result: str | None = None  # CONTINUE | ABANDON once applied; None if it ended without one
    heartbeats: int = 0
    finished: float | None = None

    def to_json(self) -> dict:
        return {
            "group": self.group,
            "hook": self.hook,
            "instance_id": self.instance_id,
            "token": self.token,
            "state": self.state,
            "result": self.result,
            "heartbeats": self.heartbeats,
            "transition": TERMINATING,
            "heartbeat_timeout": self.heartbeat_timeout,
            "default_result": self.default_result,
            "started": _iso(self.started),
            "heartbeat_deadline": _iso(self.heartbeat_deadline),
            "global_deadline": _iso(self.global_deadline),
            "finished": _iso(self.finished),
            "account": self.account,
            "region": self.region,
        }


# --------------------------------------------------------------------------------------
# The registry. It lives on the Auto Scaling backend object itself, so moto's own
# `POST /moto-api/reset` (which wipes each backend's __dict__ and re-runs __init__)
# clears it together with the groups it refers to.


def _actions(backend: AutoScalingBackend) -> list[LifecycleAction]:
    return backend.__dict__.setdefault("_ext_lifecycle_actions", [])


def _all_backends() -> list[AutoScalingBackend]:
    # Iterate without indexing: BackendDict.__getitem__ would create backends.
    return [b for regions in list(autoscaling_backends.values()) for b in list(regions.values())]


def _pending(backend: AutoScalingBackend, instance_id: str) -> list[LifecycleAction]:
    return [a for a in _actions(backend) if a.state == "pending" and a.instance_id == instance_id]


def _terminating_hooks(backend: AutoScalingBackend, group_name: str) -> list:
    return [
        h
        for h in backend.lifecycle_hooks.values()
        if h.auto_scaling_group_name == group_name and h.lifecycle_transition == TERMINATING
    ]


def _global_timeout(heartbeat_timeout: int) -> int:
    return min(100 * heartbeat_timeout, MAX_GLOBAL_TIMEOUT_SECS)


def _begin_wait(backend: AutoScalingBackend, state, hooks: list) -> None:
    """Take an instance out of service into Terminating:Wait, one action per hook."""
    state.lifecycle_state = WAIT_STATE
    now = _now()
    for hook in hooks:
        timeout = int(hook.heartbeat_timeout)
        global_deadline = now + _global_timeout(timeout)
        _actions(backend).append(
            LifecycleAction(
                account=backend.account_id,
                region=backend.region_name,
                group=state.auto_scaling_group_name,
                hook=hook.name,
                instance_id=state.instance.id,
                token=str(uuid.uuid4()),
                heartbeat_timeout=timeout,
                default_result=hook.default_result,
                started=now,
                heartbeat_deadline=min(now + timeout, global_deadline),
                global_deadline=global_deadline,
            )
        )


def _terminate_now(backend: AutoScalingBackend, group_name: str, instance_id: str) -> None:
    """The end of Terminating:Proceed: the instance leaves the group and EC2 terminates it.

    The group is not re-evaluated: a waiting instance no longer counted towards capacity,
    so its replacement (if any) was launched when it started waiting, as AWS does."""
    group = backend.autoscaling_groups.get(group_name)
    if group is not None:
        group.instance_states = [s for s in group.instance_states if s.instance.id != instance_id]
    try:
        _orig_ec2_terminate_instances(backend.ec2_backend, [instance_id])
    except InvalidInstanceIdError:
        pass  # already gone from EC2 (e.g. a reset of EC2 alone); nothing left to terminate


def _finish(
    backend: AutoScalingBackend,
    action: LifecycleAction,
    state: str,
    result: str | None,
    terminate: bool = True,
) -> None:
    action.state = state
    action.result = result
    action.finished = _now()
    others = _pending(backend, action.instance_id)
    if result == "ABANDON":
        # ABANDON stops the instance's remaining lifecycle actions (other hooks) as well.
        for other in others:
            other.state, other.result, other.finished = "abandoned", "ABANDON", action.finished
        others = []
    # With several terminate hooks the instance waits for all of them.
    if terminate and not others:
        _terminate_now(backend, action.group, action.instance_id)


def _expire_due(backend: AutoScalingBackend) -> None:
    """Apply DefaultResult to actions whose heartbeat (or global) deadline has passed.

    AWS does this on its own clock; an emulator without a scheduler does it lazily, before
    serving the next Auto Scaling call (and before /_ext/lifecycle-actions answers), which
    is indistinguishable for a client that can only observe through those calls."""
    now = _now()
    for action in list(_actions(backend)):
        if action.state == "pending" and now >= min(action.heartbeat_deadline, action.global_deadline):
            _finish(backend, action, "expired", action.default_result)


def _find_action(
    backend: AutoScalingBackend,
    group: str,
    hook: str,
    token: str | None,
    instance_id: str | None,
) -> LifecycleAction:
    if not token and not instance_id:
        # Our wording: AWS needs one of the two, but its message for this case is not known here.
        raise ValidationError("Either LifecycleActionToken or InstanceId must be specified.")
    for action in _actions(backend):
        if action.state != "pending" or action.group != group or action.hook != hook:
            continue
        if token and action.token != token:
            continue
        if instance_id and action.instance_id != instance_id:
            continue
        return action
    # The real AWS messages (seen in CLI/SDK error reports). ci-fleet matches on
    # "No active Lifecycle Action" to treat "already completed / expired / gone" as done.
    if token:
        raise ValidationError(f"No active Lifecycle Action found with token {token}")
    raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")


# --------------------------------------------------------------------------------------
# Scale-in: FakeAutoScalingGroup.set_desired_capacity is where every path that changes
# capacity ends up (SetDesiredCapacity, UpdateAutoScalingGroup, policies, detach, standby).
# Rather than re-implementing it, we let moto decide how many instances go and which ones
# (its mixed-instances arithmetic and its "only unprotected instances" filter), and only
# change what happens to the chosen ones: moto terminates them through
# EC2Backend.terminate_instances, which we defer while the group has a terminate hook.

_orig_set_desired_capacity = FakeAutoScalingGroup.set_desired_capacity
_orig_ec2_terminate_instances = EC2Backend.terminate_instances


def _ec2_terminate_instances(self: EC2Backend, instance_ids: list[str]):
    deferred = getattr(_local, "deferred", None)
    if deferred is not None:
        # Inside a scale-in of a group with a terminate hook: remember the choice instead.
        # moto's caller ignores the return value.
        deferred.extend(instance_ids)
        return []
    return _orig_ec2_terminate_instances(self, instance_ids)


def _scale_with_hooks(self: FakeAutoScalingGroup, new_capacity: int | None) -> None:
    if getattr(_local, "bypass_hooks", False):
        return _orig_set_desired_capacity(self, new_capacity)
    backend = self.autoscaling_backend
    hooks = _terminating_hooks(backend, self.name)
    # moto picks scale-in victims from *all* instance states; AWS only ever scales in
    # InService instances. Hide the others (Terminating:Wait, Standby) while moto chooses,
    # or an instance already waiting could be chosen (and killed) a second time.
    others = [s for s in self.instance_states if s.lifecycle_state != "InService"]
    in_service = [s for s in self.instance_states if s.lifecycle_state == "InService"]
    self.instance_states = in_service
    _local.deferred = [] if hooks else None
    try:
        _orig_set_desired_capacity(self, new_capacity)
    finally:
        chosen = set(_local.deferred or [])
        _local.deferred = None
        victims = [s for s in in_service if s.instance.id in chosen]
        # moto dropped the victims from the group; they stay, as Terminating:Wait.
        self.instance_states = others + self.instance_states + victims
    for state in victims:
        _begin_wait(backend, state, hooks)


# --------------------------------------------------------------------------------------
# TerminateInstanceInAutoScalingGroup: moto detaches and terminates at once.

_orig_terminate_instance = AutoScalingBackend.terminate_instance


def _terminate_instance(self: AutoScalingBackend, instance_id: str, should_decrement: bool):
    state = next(
        (s for g in self.autoscaling_groups.values() for s in g.instance_states if s.instance.id == instance_id),
        None,
    )
    if state is None:
        # moto raises StopIteration here (HTTP 500); this is AWS's answer.
        raise ValidationError(f"Instance Id not found - No managed instance found for instance ID {instance_id}")
    group = state.instance.autoscaling_group
    hooks = _terminating_hooks(self, group.name)
    if not hooks:
        return _orig_terminate_instance(self, instance_id, should_decrement)
    original_size = group.desired_capacity
    if state.lifecycle_state.startswith("Terminating"):
        # Already on its way out: a repeated request changes nothing (no second action).
        return TerminateInstanceActivity(state.instance, original_size)
    _begin_wait(self, state, hooks)
    if should_decrement:
        group.desired_capacity -= 1
    # The waiting instance no longer counts: without the decrement this launches its
    # replacement now, as AWS does.
    group.set_desired_capacity(group.desired_capacity)
    return TerminateInstanceActivity(state.instance, original_size)


# --------------------------------------------------------------------------------------
# SetInstanceProtection(false): AWS decrements desired capacity even when every instance is
# protected, keeps the protected ones, and terminates the excess once protection is lifted.
# moto gets the first two right but never catches up, so re-evaluate the group here.

_orig_set_instance_protection = AutoScalingBackend.set_instance_protection


def _set_instance_protection(self: AutoScalingBackend, group_name, instance_ids, protected_from_scale_in):
    _orig_set_instance_protection(self, group_name, instance_ids, protected_from_scale_in)
    if not protected_from_scale_in:
        group = self.autoscaling_groups[group_name]
        group.set_desired_capacity(group.desired_capacity)


# --------------------------------------------------------------------------------------
# DeleteAutoScalingGroup: moto scales the group to 0 and drops it. With a hook that scale-in
# would park every instance in Terminating:Wait of a group that no longer exists. AWS's
# ForceDelete terminates the instances and drops outstanding lifecycle actions (and the
# group's hooks go with the group), so do that.

_orig_delete_auto_scaling_group = AutoScalingBackend.delete_auto_scaling_group


def _delete_auto_scaling_group(self: AutoScalingBackend, group_name: str) -> None:
    if group_name in self.autoscaling_groups:
        for action in [a for a in _actions(self) if a.state == "pending" and a.group == group_name]:
            if action.state == "pending":  # an ABANDON above may have closed it already
                _finish(self, action, "abandoned", None)
    _local.bypass_hooks = True
    try:
        _orig_delete_auto_scaling_group(self, group_name)
    finally:
        _local.bypass_hooks = False
    for key in [k for k, h in self.lifecycle_hooks.items() if h.auto_scaling_group_name == group_name]:
        del self.lifecycle_hooks[key]


# --------------------------------------------------------------------------------------
# EC2 TerminateInstances on an instance that is waiting: moto's own notification removes
# it from its group; its lifecycle actions end with it (nothing left to complete).

_orig_notify_terminate_instances = AutoScalingBackend.notify_terminate_instances


def _notify_terminate_instances(self: AutoScalingBackend, instance_ids: list[str]) -> None:
    with _LOCK:
        _orig_notify_terminate_instances(self, instance_ids)
        for instance_id in instance_ids:
            for action in _pending(self, instance_id):
                _finish(self, action, "abandoned", None, terminate=False)


# --------------------------------------------------------------------------------------
# PutLifecycleHook: moto reports GlobalTimeout 172800 whatever the heartbeat timeout; AWS
# reports min(100 x HeartbeatTimeout, 172800), the same cap this module enforces.

_orig_create_lifecycle_hook = AutoScalingBackend.create_lifecycle_hook


def _create_lifecycle_hook(self: AutoScalingBackend, *args, **kwargs):
    hook = _orig_create_lifecycle_hook(self, *args, **kwargs)
    hook.global_timeout = _global_timeout(int(hook.heartbeat_timeout))
    return hook


# --------------------------------------------------------------------------------------
# The two missing API actions. moto dispatches `Action=CompleteLifecycleAction` to a method
# named complete_lifecycle_action on the response class, if there is one.

_orig_call_action = AutoScalingResponse.call_action


def _call_action(self: AutoScalingResponse):
    with _LOCK:
        _expire_due(self.autoscaling_backend)
        return _orig_call_action(self)


def complete_lifecycle_action(self: AutoScalingResponse):
    result = self._get_param("LifecycleActionResult")
    if result not in ("CONTINUE", "ABANDON"):
        raise ValidationError(f"Invalid LifecycleActionResult: {result!r} (valid: CONTINUE, ABANDON)")
    action = _find_action(
        self.autoscaling_backend,
        group=self._get_param("AutoScalingGroupName"),
        hook=self._get_param("LifecycleHookName"),
        token=self._get_param("LifecycleActionToken"),
        instance_id=self._get_param("InstanceId"),
    )
    _finish(self.autoscaling_backend, action, "completed" if result == "CONTINUE" else "abandoned", result)
    return EmptyResult()


def record_lifecycle_action_heartbeat(self: AutoScalingResponse):
    action = _find_action(
        self.autoscaling_backend,
        group=self._get_param("AutoScalingGroupName"),
        hook=self._get_param("LifecycleHookName"),
        token=self._get_param("LifecycleActionToken"),
        instance_id=self._get_param("InstanceId"),
    )
    action.heartbeats += 1
    # A heartbeat restarts the heartbeat timer; it never extends past the global timeout.
    action.heartbeat_deadline = min(_now() + action.heartbeat_timeout, action.global_deadline)
    return EmptyResult()


# --------------------------------------------------------------------------------------
# /_ext/ endpoints, answered before moto's dispatcher sees the request (which would try to
# work out an AWS service from the path or the signature and fail).


def _ext_app(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))

    def reply(status: str, body) -> list[bytes]:
        data = json.dumps(body, indent=1).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    with _LOCK:
        if path in ("/_ext", "/_ext/") and method == "GET":
            return reply(
                "200 OK",
                {
                    "extension": "ci-fleet moto_ext",
                    "moto": moto.__version__,
                    "endpoints": ["GET /_ext/lifecycle-actions", "POST /_ext/reset"],
                },
            )
        if path == "/_ext/lifecycle-actions" and method == "GET":
            listed = []
            for backend in _all_backends():
                _expire_due(backend)
                listed.extend(_actions(backend))
            # Optional filters: ?group=…&state=…&instance_id=…&hook=…
            for key in ("group", "state", "instance_id", "hook"):
                if key in query:
                    listed = [a for a in listed if getattr(a, key) in query[key]]
            listed.sort(key=lambda a: a.started)
            return reply("200 OK", [a.to_json() for a in listed])
        if path == "/_ext/reset" and method == "POST":
            cleared = 0
            for backend in _all_backends():
                cleared += len(_actions(backend))
                _actions(backend).clear()
            return reply("200 OK", {"cleared": cleared})
    return reply("404 Not Found", {"error": f"no such endpoint: {method} {path}"})


class ExtDispatcher(DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_ext" or path.startswith("/_ext/"):
            return _ext_app(environ, start_response)
        return super().__call__(environ, start_response)


# --------------------------------------------------------------------------------------


def install() -> None:
    """Apply every patch. Idempotent; fails loudly if moto's internals have moved."""
    if getattr(AutoScalingResponse, "_ci_fleet_ext", False):
        return
    if moto.__version__ != TESTED_MOTO_VERSION:
        print(
            f"moto_ext: WARNING: written against moto {TESTED_MOTO_VERSION}, running {moto.__version__}; "
            "check infra/local/README.md (moto extension) before trusting lifecycle behaviour",
            file=sys.stderr,
        )
    for cls, name in [
        (AutoScalingResponse, "complete_lifecycle_action"),
        (AutoScalingResponse, "record_lifecycle_action_heartbeat"),
    ]:
        if hasattr(cls, name):
            # A newer moto implements it: ours would silently replace the real thing.
            sys.exit(f"moto_ext: moto {moto.__version__} already has {cls.__name__}.{name}; revisit moto_ext.py")
    FakeAutoScalingGroup.set_desired_capacity = _scale_with_hooks
    EC2Backend.terminate_instances = _ec2_terminate_instances
    AutoScalingBackend.terminate_instance = _terminate_instance
    AutoScalingBackend.set_instance_protection = _set_instance_protection
    AutoScalingBackend.delete_auto_scaling_group = _delete_auto_scaling_group
    AutoScalingBackend.notify_terminate_instances = _notify_terminate_instances
    AutoScalingBackend.create_lifecycle_hook = _create_lifecycle_hook
    AutoScalingResponse.call_action = _call_action
    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action
    AutoScalingResponse.record_lifecycle_action_heartbeat = record_lifecycle_action_heartbeat
    AutoScalingResponse._ci_fleet_ext = True
    # moto.server.main() builds its WSGI app from this module-level name.
    moto.server.DomainDispatcherApplication = ExtDispatcher


def main(argv: list[str] | None = None) -> None:
    install()
    moto.server.main(argv)


if __name__ == "__main__":
    main()
