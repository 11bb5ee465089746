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
- Warm pools with `InstanceReusePolicy.ReuseOnScaleIn`: a scale-in returns instances to
  the warm pool (through `Warmed:Pending:Wait` when the group has terminate hooks) instead
  of terminating them; DescribeWarmPool lists the pool's instances.
- Fault injection: `POST /_ext/faults` makes one operation (DescribeInstances,
  GetSecretValue, GetObject, ...) answer AWS's own throttling or server-error document, or
  answer late; `GET` lists the rules and how often each fired, `DELETE` clears them.
- `GET /_ext/lifecycle-actions`, `GET /_ext/warm-pool`, `POST /_ext/warm-pool/return`,
  `GET|POST|DELETE /_ext/faults`, `POST /_ext/reset`: inspection and control, no AWS auth.

infra/local/README.md ("moto extension") documents the behaviour and the reasons.
Everything not listed here is moto's own code and behaviour.
"""

from __future__ import annotations

import datetime as _dt
import http
import io
import json
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape as xml_escape

import moto
import moto.server
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    InstanceState,
    TerminateInstanceActivity,
    autoscaling_backends,
)
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.models import EC2Backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

TESTED_MOTO_VERSION = "5.2.5"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
WAIT_STATE = "Terminating:Wait"
# An instance that a scale-in returns to the warm pool waits here for the terminate hooks,
# not in Terminating:Wait (User Guide, warm-pool-instance-lifecycle.html; the states of
# "Instances scaling back into the warm pool" in manage-retained-instances.html).
WARM_WAIT_STATE = "Warmed:Pending:Wait"
# The Origin / Destination of a lifecycle action event (warm-pools-eventbridge-events.html):
# AutoScalingGroup -> WarmPool on a return to the warm pool, AutoScalingGroup -> EC2 on a
# termination (the scale-in example of ec2-auto-scaling-event-reference.html).
ORIGIN_GROUP = "AutoScalingGroup"
DESTINATION_EC2 = "EC2"
DESTINATION_WARM_POOL = "WarmPool"
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
    origin: str = ORIGIN_GROUP
    destination: str = DESTINATION_EC2  # DESTINATION_WARM_POOL: CONTINUE returns it to the pool

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
            "origin": self.origin,
            "destination": self.destination,
            "heartbeat_timeout": self.heartbeat_timeout,
            "default_result": self.default_result,
            "started": _iso(self.started),
            "heartbeat_deadline": _iso(self.heartbeat_deadline),
            "global_deadline": _iso(self.global_deadline),
            "finished": _iso(self.finished),
            "account": self.account,
            "region": self.region,
        }


@dataclass
class WarmInstance:
    """An instance in a group's warm pool. moto's own record of it (an InstanceState, which
    DescribeWarmPool serialises like DescribeAutoScalingGroups' instances) leaves the
    group's list while it is in the pool: AWS lists warm pool instances only through
    DescribeWarmPool (API reference, DescribeAutoScalingGroups)."""

    state: InstanceState  # lifecycle_state Warmed:Stopped | Warmed:Running | Warmed:Hibernated
    entered: float

    @property
    def instance_id(self) -> str:
        return self.state.instance.id

    @property
    def group(self) -> str:
        return self.state.auto_scaling_group_name

    def to_json(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "lifecycle_state": self.state.lifecycle_state,
            "group": self.group,
            "entered": _iso(self.entered),
        }


# --------------------------------------------------------------------------------------
# The registries (lifecycle actions, warm pool instances). They live on the Auto Scaling
# backend object itself, so moto's own `POST /moto-api/reset` (which wipes each backend's
# __dict__ and re-runs __init__) clears them together with the groups they refer to.


def _actions(backend: AutoScalingBackend) -> list[LifecycleAction]:
    return backend.__dict__.setdefault("_ext_lifecycle_actions", [])


def _warm(backend: AutoScalingBackend) -> list[WarmInstance]:
    return backend.__dict__.setdefault("_ext_warm_pool", [])


def _warm_of(backend: AutoScalingBackend, group_name: str) -> list[WarmInstance]:
    return [w for w in _warm(backend) if w.group == group_name]


def _reuses_on_scale_in(group: FakeAutoScalingGroup) -> bool:
    # getattr: moto's FakeAutoScalingGroup.__init__ sizes the group before it sets warm_pool.
    pool = getattr(group, "warm_pool", None)
    if pool is None:
        return False
    reuse = (pool.instance_reuse_policy or {}).get("ReuseOnScaleIn")
    return reuse is True or str(reuse).lower() == "true"


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


def _begin_wait(backend: AutoScalingBackend, state, hooks: list, destination: str = DESTINATION_EC2) -> None:
    """Take an instance out of service into Terminating:Wait (Warmed:Pending:Wait when it
    goes back to the warm pool), one action per hook."""
    state.lifecycle_state = WARM_WAIT_STATE if destination == DESTINATION_WARM_POOL else WAIT_STATE
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
                destination=destination,
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


def _enter_warm_pool(backend: AutoScalingBackend, group: FakeAutoScalingGroup, state) -> None:
    """The instance leaves the group for its warm pool, in the pool's state.

    Not a detach: moto's detach deletes the aws:autoscaling:groupName tag (AWS does on
    detach, ec2-auto-scaling-tagging.html), but a warm pool instance still belongs to the
    group, so the tag stays. Hibernated is modelled as a plain EC2 stop (moto has no
    hibernation)."""
    group.instance_states = [s for s in group.instance_states if s is not state]
    pool_state = group.warm_pool.pool_state or "Stopped"
    if pool_state != "Running":
        try:
            backend.ec2_backend.stop_instances([state.instance.id])
        except InvalidInstanceIdError:
            return  # gone from EC2 meanwhile: nothing to keep
    state.lifecycle_state = f"Warmed:{pool_state}"
    _warm(backend).append(WarmInstance(state=state, entered=_now()))


def _proceed(backend: AutoScalingBackend, action: LifecycleAction) -> None:
    """Every action of the instance has ended: on to its destination.

    A return to the warm pool needs CONTINUE; a failed (ABANDON) or interrupted (no result)
    one terminates the instance: "Without a policy, Amazon EC2 Auto Scaling terminates
    instances immediately when hooks fail" (instance-lifecycle-policy.html; instance
    retention, Warmed:Pending:Retained, is not modelled). A pool deleted meanwhile
    leaves nowhere to return to."""
    group = backend.autoscaling_groups.get(action.group)
    if action.destination == DESTINATION_WARM_POOL and action.result == "CONTINUE" and group is not None:
        state = next((s for s in group.instance_states if s.instance.id == action.instance_id), None)
        if state is not None and group.warm_pool is not None:
            return _enter_warm_pool(backend, group, state)
    _terminate_now(backend, action.group, action.instance_id)


def _finish(
    backend: AutoScalingBackend,
    action: LifecycleAction,
    state: str,
    result: str | None,
    proceed: bool = True,
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
    if proceed and not others:
        _proceed(backend, action)


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
    # "If you want to return instances to the warm pool instead, you can specify an instance
    # reuse policy" (ec2-auto-scaling-warm-pools.html, Instance reuse policy; API_InstanceReusePolicy:
    # "returned to the warm pool on scale in").
    reuse = _reuses_on_scale_in(self)
    # moto picks scale-in victims from *all* instance states; AWS only ever scales in
    # InService instances. Hide the others (Terminating:Wait, Standby) while moto chooses,
    # or an instance already waiting could be chosen (and killed) a second time.
    others = [s for s in self.instance_states if s.lifecycle_state != "InService"]
    in_service = [s for s in self.instance_states if s.lifecycle_state == "InService"]
    self.instance_states = in_service
    _local.deferred = [] if hooks or reuse else None
    try:
        _orig_set_desired_capacity(self, new_capacity)
    finally:
        chosen = set(_local.deferred or [])
        _local.deferred = None
        victims = [s for s in in_service if s.instance.id in chosen]
        # moto dropped the victims from the group; they stay, as Terminating:Wait (or
        # Warmed:Pending:Wait) until their actions end.
        self.instance_states = others + self.instance_states + victims
    for state in victims:
        if not reuse:
            _begin_wait(backend, state, hooks)
        elif hooks:
            _begin_wait(backend, state, hooks, destination=DESTINATION_WARM_POOL)
        else:
            _enter_warm_pool(backend, self, state)


# --------------------------------------------------------------------------------------
# TerminateInstanceInAutoScalingGroup: moto detaches and terminates at once.
#
# A reuse policy does not apply here: the instance is terminated, never returned to the
# warm pool. The documentation ties reuse to scale in ("returned to the warm pool on scale
# in", API_InstanceReusePolicy), and a scale in event is a new desired capacity below the
# group's current capacity (as-instance-termination.html); AWS does not say what a manual
# termination does with reuse on. Indirect evidence: jenkinsci/ec2-fleet-plugin#519 stops
# calling it and lifts scale-in protection instead so that the group returns the instance
# to the warm pool.

_orig_terminate_instance = AutoScalingBackend.terminate_instance


def _terminate_instance(self: AutoScalingBackend, instance_id: str, should_decrement: bool):
    state = next(
        (s for g in self.autoscaling_groups.values() for s in g.instance_states if s.instance.id == instance_id),
        None,
    )
    warm = next((w for w in _warm(self) if w.instance_id == instance_id), None)
    if warm is not None or (state is not None and state.lifecycle_state.startswith("Warmed:")):
        # "This operation cannot be called on instances in a warm pool" (API reference,
        # TerminateInstanceInAutoScalingGroup). AWS's error message for it is not known.
        where = warm.state if warm is not None else state
        raise ValidationError(
            f"Instance {instance_id} is in the warm pool of {where.auto_scaling_group_name} "
            f"({where.lifecycle_state}): TerminateInstanceInAutoScalingGroup cannot be called on warm pool instances"
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
    # The warm pool goes with the group (moto drops its configuration with the group object).
    _drop_warm_pool(self, group_name)


# --------------------------------------------------------------------------------------
# DeleteWarmPool: moto forgets the configuration. The instances in the pool, and those on
# their way into it (Warmed:Pending:Wait), are terminated and their actions end, as AWS's
# --force-delete does ("This option also terminates the Amazon EC2 instances and any
# outstanding lifecycle actions", examples-warm-pools-aws-cli.html); without it AWS refuses
# or waits while the pool holds instances, which is not modelled.

_orig_delete_warm_pool = AutoScalingBackend.delete_warm_pool


def _drop_warm_pool(backend: AutoScalingBackend, group_name: str) -> None:
    leaving = _warm_of(backend, group_name)
    backend.__dict__["_ext_warm_pool"] = [w for w in _warm(backend) if w.group != group_name]
    for warm in leaving:
        try:
            _orig_ec2_terminate_instances(backend.ec2_backend, [warm.instance_id])
        except InvalidInstanceIdError:
            pass  # already gone from EC2


def _delete_warm_pool(self: AutoScalingBackend, group_name: str) -> None:
    _orig_delete_warm_pool(self, group_name)
    for action in _actions(self):
        if action.state == "pending" and action.group == group_name and action.destination == DESTINATION_WARM_POOL:
            _finish(self, action, "abandoned", None)  # no result: terminated, not returned
    _drop_warm_pool(self, group_name)


# --------------------------------------------------------------------------------------
# DescribeWarmPool: moto answers `Instances: []` always. The pool's instances are moto
# InstanceStates, serialised like DescribeAutoScalingGroups' instances, with the lifecycle
# states of the warm-pool-health-checks example (Warmed:Stopped, ...). No pagination.


def describe_warm_pool(self: AutoScalingResponse):
    group_name = self._get_param("AutoScalingGroupName")
    pool = self.autoscaling_backend.describe_warm_pool(group_name=group_name)
    instances = [w.state for w in _warm_of(self.autoscaling_backend, group_name)]
    return ActionResult({"WarmPoolConfiguration": pool, "Instances": instances})


# --------------------------------------------------------------------------------------
# EC2 TerminateInstances on an instance that is waiting: moto's own notification removes
# it from its group; its lifecycle actions end with it (nothing left to complete).
# The same for an instance in a warm pool.

_orig_notify_terminate_instances = AutoScalingBackend.notify_terminate_instances


def _notify_terminate_instances(self: AutoScalingBackend, instance_ids: list[str]) -> None:
    with _LOCK:
        _orig_notify_terminate_instances(self, instance_ids)
        for instance_id in instance_ids:
            for action in _pending(self, instance_id):
                _finish(self, action, "abandoned", None, proceed=False)
        # A terminated warm pool instance leaves the pool (AWS would launch a replacement
        # into the pool to keep its size; refilling is not modelled).
        self.__dict__["_ext_warm_pool"] = [w for w in _warm(self) if w.instance_id not in instance_ids]


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


class _ExtError(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------
# Fault injection (issue 13): throttling, errors and delays per operation, so that
# end-to-end tests can see what ci-fleet does when AWS pushes back. Rules live in one
# process-wide table (they are about the server, not an account or region), under their own
# lock: the table is consulted on every request and must not wait for Auto Scaling work.
#
# The error documents are those each protocol really uses, so that an SDK parses and
# classifies them as it would AWS's (sources in infra/local/README.md, "Fault injection"):
#
# - EC2 (ec2Query): <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
#   </Response> -- the shape of botocore's EC2QueryParser and of the Rust SDK's
#   ec2_query_errors.rs. Throttling is RequestLimitExceeded with HTTP 503: the pair
#   botocore's _retry.json matches for EC2 ("request_limit_exceeded").
# - awsQuery (Auto Scaling and the other query services): <ErrorResponse><Error><Type/>
#   <Code/><Message/></Error><RequestId/></ErrorResponse> -- the Rust SDK's
#   rest_xml_wrapped_errors.rs, botocore's QueryParser. Auto Scaling throttles with
#   Throttling / "Rate exceeded" / HTTP 400 (aws/aws-sdk-go#3108, #3119).
# - awsJson (X-Amz-Target: Secrets Manager, EventBridge, ...): {"__type": ..., "message":
#   ...}; the Rust SDK's json_errors.rs reads __type (or code) and message.
# - S3 (restXml, unwrapped): <Error><Code/><Message/><RequestId/><HostId/></Error>; SlowDown
#   is S3's throttle, HTTP 503.
#
# `error` is every service's generic server failure: EC2 InternalError, the query and JSON
# services' InternalFailure (each API reference's Common Errors), S3 InternalError; HTTP 500.

_FAULTS_LOCK = threading.Lock()
FAULT_MODES = ("throttle", "error", "delay")
MAX_FAULT_DELAY_MS = 300_000  # a typo of a few zeros must not hang a test run for hours

# The namespace of Auto Scaling's documents (every real error body seen carries it). Other
# query services get no xmlns: the SDKs match local names only.
_QUERY_XMLNS = {"autoscaling": "http://autoscaling.amazonaws.com/doc/2011-01-01/"}
# The query APIs' Version, for a request that carries no SigV4 credential scope.
_SERVICE_BY_QUERY_VERSION = {"2016-11-15": "ec2", "2011-01-01": "autoscaling"}

# code, message, HTTP status for each protocol family and mode.
_FAULT_ANSWERS = {
    ("ec2", "throttle"): ("RequestLimitExceeded", "Request limit exceeded.", 503),
    ("ec2", "error"): ("InternalError", "An internal error has occurred.", 500),
    ("query", "throttle"): ("Throttling", "Rate exceeded", 400),
    ("query", "error"): (
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
        500,
    ),
    ("json", "throttle"): ("ThrottlingException", "Rate exceeded", 400),
    ("json", "error"): (
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
        500,
    ),
    ("s3", "throttle"): ("SlowDown", "Please reduce your request rate.", 503),
    ("s3", "error"): ("InternalError", "We encountered an internal error. Please try again.", 500),
}

# Query parameters that do not change which S3 operation a request is (anything else is a
# sub-resource such as ?tagging or ?uploads, i.e. another operation, which is not matched).
_S3_PLAIN_PARAMS = frozenset(
    {
        "versionId",
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "encoding-type",
        "fetch-owner",
        "marker",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    }
)


@dataclass
class FaultRule:
    action: str
    mode: str
    service: str | None = None
    times: int | None = None  # None: until cleared
    delay_ms: int = 0
    code: str | None = None  # overrides of the protocol's answer (throttle / error only)
    message: str | None = None
    status: int | None = None
    retry_after_ms: int | None = None
    fired: int = 0
    created: float = 0.0

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.fired, 0)

    def to_json(self) -> dict:
        return {
            "action": self.action,
            "service": self.service,
            "mode": self.mode,
            "times": self.times,
            "fired": self.fired,
            "remaining": self.remaining,
            "active": self.remaining != 0,
            "delay_ms": self.delay_ms,
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retry_after_ms": self.retry_after_ms,
            "created": _iso(self.created),
        }


_FAULTS: dict[tuple[str, str | None], FaultRule] = {}


def _clear_faults(action: str | None = None, service: str | None = None) -> int:
    with _FAULTS_LOCK:
        keys = [
            k for k in _FAULTS if (action is None or k[0] == action) and (service is None or k[1] == service)
        ]
        for key in keys:
            del _FAULTS[key]
        return len(keys)


def _fault_rule_from_json(body: bytes) -> FaultRule:
    try:
        spec = json.loads(body or b"null")
    except ValueError as err:
        raise _ExtError("400 Bad Request", f"the body is not JSON: {err}") from None
    if not isinstance(spec, dict):
        raise _ExtError(
            "400 Bad Request",
            'the body must be a JSON object such as {"action": "DescribeInstances", "mode": "throttle"}',
        )
    known = {"action", "mode", "service", "times", "delay_ms", "code", "message", "status", "retry_after_ms"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise _ExtError("400 Bad Request", f"unknown field(s) {unknown}; known: {sorted(known)}")

    def integer(name: str, low: int, high: int | None = None) -> int | None:
        value = spec.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise _ExtError("400 Bad Request", f"{name} must be an integer {bound}, got {value!r}")
        return value

    action = spec.get("action")
    if not isinstance(action, str) or not action.isalnum():
        raise _ExtError(
            "400 Bad Request", f"action must be an operation name such as DescribeInstances, got {action!r}"
        )
    mode = spec.get("mode")
    if mode not in FAULT_MODES:
        raise _ExtError("400 Bad Request", f"mode must be one of {list(FAULT_MODES)}, got {mode!r}")
    service = spec.get("service")
    if service is not None and (not isinstance(service, str) or not service or service != service.lower()):
        raise _ExtError(
            "400 Bad Request", f"service must be a SigV4 signing name such as ec2 or autoscaling, got {service!r}"
        )
    times = integer("times", 1)
    delay_ms = integer("delay_ms", 0, MAX_FAULT_DELAY_MS) or 0
    if mode == "delay":
        if delay_ms == 0:
            raise _ExtError("400 Bad Request", "mode delay needs delay_ms > 0")
        overrides = [k for k in ("code", "message", "status", "retry_after_ms") if spec.get(k) is not None]
        if overrides:
            raise _ExtError(
                "400 Bad Request",
                f"{overrides} apply to modes throttle and error only (delay passes the request on)",
            )
    for name in ("code", "message"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise _ExtError("400 Bad Request", f"{name} must be a string, got {spec[name]!r}")
    return FaultRule(
        action=action,
        mode=mode,
        service=service,
        times=times,
        delay_ms=delay_ms,
        code=spec.get("code"),
        message=spec.get("message"),
        status=integer("status", 400, 599),
        retry_after_ms=integer("retry_after_ms", 0),
        created=_now(),
    )


def _signing_service(environ) -> str | None:
    """The service of the SigV4 credential scope (header or presigned query), lower case."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = None
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        scope = _one(query, "X-Amz-Credential")
    parts = (scope or "").split("/")
    # AKID/date/region/service/aws4_request
    return parts[3].lower() if len(parts) == 5 else None


def _form_params(environ) -> dict[str, list[str]]:
    """The parameters of a query-protocol request: query string, then the form body.

    The body is read once and put back as a fresh stream of the same bytes (CONTENT_LENGTH
    unchanged), exactly as moto's own dispatcher does when it sniffs a body, so that moto
    reads the request intact. Only a body with a Content-Length is read: a chunked form
    body (no SDK sends one) is left alone, unmatched."""
    params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return params
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return params
    if length <= 0:
        return params
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    for key, values in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items():
        params.setdefault(key, []).extend(values)
    return params


def _s3_operation(environ) -> str | None:
    """The S3 operation of a path-style request, or None if it is not one of those below.
    The Rust SDK names some operations itself (?x-id=GetObject, PutObject, DeleteObject)."""
    method = environ.get("REQUEST_METHOD", "GET")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    named = _one(query, "x-id")
    if named:
        return named
    bucket, _, key = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    plain = not (set(query) - _S3_PLAIN_PARAMS)
    if not bucket:
        return "ListBuckets" if method == "GET" and plain else None
    if key:
        if not plain:
            return None
        if method == "PUT":
            return "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method)
    if method == "POST" and set(query) == {"delete"}:
        return "DeleteObjects"
    if not plain:
        return None
    if method == "GET":
        return "ListObjectsV2" if _one(query, "list-type") == "2" else "ListObjects"
    return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)


def _identify(environ) -> tuple[str | None, str | None, str | None, str | None]:
    """(operation, service, protocol family, awsQuery Version) of an AWS request."""
    service = _signing_service(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        # JSON protocols: X-Amz-Target is "<service prefix>.<Operation>".
        return target.rsplit(".", 1)[-1], service, "json", None
    if service == "s3":
        return _s3_operation(environ), service, "s3", None
    params = _form_params(environ)
    action = _one(params, "Action")
    if not action:
        return None, service, None, None
    version = _one(params, "Version")
    service = service or _SERVICE_BY_QUERY_VERSION.get(version or "")
    return action, service, "ec2" if service == "ec2" else "query", version


def _take_fault(operation: str, service: str | None) -> tuple[FaultRule, int] | None:
    """The rule for this operation (a service-specific one first), counted as fired; None
    when there is none or it is used up. Counting under the lock keeps `times` exact with
    concurrent requests."""
    with _FAULTS_LOCK:
        for key in ((operation, service), (operation, None)):
            rule = _FAULTS.get(key)
            if rule is not None and rule.remaining != 0:
                rule.fired += 1
                return rule, rule.fired
    return None


def _fault_answer(rule: FaultRule, family: str, service: str | None, environ):
    code, message, status = _FAULT_ANSWERS[(family, rule.mode)]
    code, message, status = rule.code or code, rule.message or message, rule.status or status
    request_id = str(uuid.uuid4())
    if family == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        # The protocol version the request spoke (awsJson1_0 or 1_1).
        content_type = environ.get("CONTENT_TYPE", "")
        if not content_type.startswith("application/x-amz-json-"):
            content_type = "application/x-amz-json-1.1"
        headers = [("Content-Type", content_type), ("x-amzn-RequestId", request_id)]
    else:
        esc = xml_escape
        if family == "ec2":
            doc = (
                f"<Response><Errors><Error><Code>{esc(code)}</Code><Message>{esc(message)}</Message></Error>"
                f"</Errors><RequestID>{request_id}</RequestID></Response>"
            )
            headers = [("x-amzn-RequestId", request_id)]
        elif family == "s3":
            doc = (
                f"<Error><Code>{esc(code)}</Code><Message>{esc(message)}</Message>"
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
            )
            headers = [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
        else:
            xmlns = _QUERY_XMLNS.get(service or "")
            root = f'<ErrorResponse xmlns="{xmlns}">' if xmlns else "<ErrorResponse>"
            # Sender for the client's fault (throttling), Receiver for the server's.
            fault_type = "Sender" if status < 500 else "Receiver"
            doc = (
                f"{root}<Error><Type>{fault_type}</Type>"
                f"<Code>{esc(code)}</Code><Message>{esc(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            headers = [("x-amzn-RequestId", request_id)]
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n{doc}'.encode()
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""  # a HEAD answer has no body (S3's HeadObject errors are status-only)
        headers.append(("Content-Type", "application/xml" if family == "s3" else "text/xml"))
    if rule.retry_after_ms is not None:
        headers.append(("x-amz-retry-after", str(rule.retry_after_ms)))
    headers.append(("Content-Length", str(len(body))))
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:  # a status override without a standard name, e.g. 499
        phrase = "Error"
    return f"{status} {phrase}", headers, body


def _get_faults(query: dict, body: bytes):
    with _FAULTS_LOCK:
        return [r.to_json() for r in sorted(_FAULTS.values(), key=lambda r: r.created)]


def _post_faults(query: dict, body: bytes):
    rule = _fault_rule_from_json(body)
    with _FAULTS_LOCK:
        replaced = _FAULTS.pop((rule.action, rule.service), None) is not None
        _FAULTS[(rule.action, rule.service)] = rule
        return {"rule": rule.to_json(), "replaced": replaced}


def _delete_faults(query: dict, body: bytes):
    return {"cleared": _clear_faults(_one(query, "action"), _one(query, "service"))}


def _one(query: dict, key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _lookup_group(name: str | None) -> tuple[AutoScalingBackend, FakeAutoScalingGroup]:
    if not name:
        raise _ExtError("400 Bad Request", "missing ?group=<Auto Scaling group name>")
    found = [(b, b.autoscaling_groups[name]) for b in _all_backends() if name in b.autoscaling_groups]
    if not found:
        raise _ExtError("404 Not Found", f"no Auto Scaling group named {name!r} (in any account or region)")
    if len(found) > 1:
        places = ", ".join(f"{b.account_id}/{b.region_name}" for b, _ in found)
        raise _ExtError("409 Conflict", f"Auto Scaling group {name!r} exists in several places: {places}")
    return found[0]


def _get_lifecycle_actions(query: dict, body: bytes):
    listed = []
    for backend in _all_backends():
        _expire_due(backend)
        listed.extend(_actions(backend))
    # Optional filters: ?group=…&state=…&instance_id=…&hook=…
    for key in ("group", "state", "instance_id", "hook"):
        if key in query:
            listed = [a for a in listed if getattr(a, key) in query[key]]
    listed.sort(key=lambda a: a.started)
    return [a.to_json() for a in listed]


def _get_warm_pool(query: dict, body: bytes):
    for backend in _all_backends():
        _expire_due(backend)
    if "group" in query:
        backend, group = _lookup_group(_one(query, "group"))
        listed = _warm_of(backend, group.name)
    else:
        listed = [w for backend in _all_backends() for w in _warm(backend)]
    listed.sort(key=lambda w: w.entered)
    return [w.to_json() for w in listed]


def _post_warm_pool_return(query: dict, body: bytes):
    """What AWS does on a scale-out by one when the warm pool has an instance: it leaves the
    pool and counts toward the desired capacity (ec2-auto-scaling-warm-pools.html, "Warm
    pool"), with the group's scale-in protection setting (ec2-auto-scaling-instance-protection.html).
    Launch hooks (Pending:Wait) are not modelled: the instance is InService at once."""
    for backend in _all_backends():
        _expire_due(backend)
    backend, group = _lookup_group(_one(query, "group"))
    instance_id = _one(query, "instance")
    pool = _warm_of(backend, group.name)
    if instance_id:
        pool = [w for w in pool if w.instance_id == instance_id]
    if not pool:
        if instance_id:
            raise _ExtError("404 Not Found", f"instance {instance_id} is not in the warm pool of group {group.name!r}")
        raise _ExtError("404 Not Found", f"the warm pool of group {group.name!r} is empty")
    if group.desired_capacity >= group.max_size:
        raise _ExtError(
            "409 Conflict",
            f"group {group.name!r} is at its maximum size ({group.max_size}): "
            "no scale-out can take an instance from its warm pool",
        )
    warm = min(pool, key=lambda w: w.entered)
    backend.__dict__["_ext_warm_pool"] = [w for w in _warm(backend) if w is not warm]
    if not warm.state.instance.is_running():
        backend.ec2_backend.start_instances([warm.instance_id])
    state = warm.state
    state.lifecycle_state = "InService"
    state.protected_from_scale_in = group.new_instances_protected_from_scale_in
    group.instance_states.append(state)
    group.desired_capacity += 1
    backend.update_attached_elbs(group.name)
    backend.update_attached_target_groups(group.name)
    return {
        "instance_id": warm.instance_id,
        "lifecycle_state": state.lifecycle_state,
        "group": group.name,
        "desired_capacity": group.desired_capacity,
    }


def _post_reset(query: dict, body: bytes):
    cleared = warm = 0
    for backend in _all_backends():
        cleared += len(_actions(backend))
        _actions(backend).clear()
        warm += len(_warm(backend))
        _warm(backend).clear()
    return {"cleared": cleared, "warm_pool_cleared": warm, "faults_cleared": _clear_faults()}


_ENDPOINTS = {
    ("GET", "/_ext/lifecycle-actions"): _get_lifecycle_actions,
    ("GET", "/_ext/warm-pool"): _get_warm_pool,
    ("POST", "/_ext/warm-pool/return"): _post_warm_pool_return,
    ("GET", "/_ext/faults"): _get_faults,
    ("POST", "/_ext/faults"): _post_faults,
    ("DELETE", "/_ext/faults"): _delete_faults,
    ("POST", "/_ext/reset"): _post_reset,
}


def _ext_app(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))

    def reply(status: str, body) -> list[bytes]:
        data = json.dumps(body, indent=1).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    if path in ("/_ext", "/_ext/") and method == "GET":
        return reply(
            "200 OK",
            {
                "extension": "ci-fleet moto_ext",
                "moto": moto.__version__,
                "endpoints": [f"{m} {p}" for m, p in _ENDPOINTS],
            },
        )
    handler = _ENDPOINTS.get((method, path))
    if handler is None:
        return reply("404 Not Found", {"error": f"no such endpoint: {method} {path}"})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    request_body = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        with _LOCK:
            answer = handler(query, request_body)
    except _ExtError as err:
        return reply(err.status, {"error": str(err)})
    return reply("200 OK", answer)


class ExtDispatcher(DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_ext" or path.startswith("/_ext/"):
            return _ext_app(environ, start_response)
        if path.startswith("/moto-api"):
            # moto's reset clears the fault table too, like the registries on its backends:
            # a rule left behind by one test must not throttle the next.
            if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
                _clear_faults()
            return super().__call__(environ, start_response)
        if _FAULTS:  # unlocked peek: with no rule, a request is not even looked at
            operation, service, family, _ = _identify(environ)
            taken = _take_fault(operation, service) if operation else None
            if taken is not None:
                rule, nth = taken
                limit = "" if rule.times is None else f"/{rule.times}"
                print(
                    f"moto_ext: fault {rule.mode} on {service or '?'}:{operation} ({nth}{limit})",
                    file=sys.stderr,
                    flush=True,
                )
                if rule.delay_ms:
                    time.sleep(rule.delay_ms / 1000)  # this request's thread only
                if rule.mode != "delay" and family is not None:
                    status, headers, body = _fault_answer(rule, family, service, environ)
                    start_response(status, headers)
                    return [body]
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
    AutoScalingBackend.delete_warm_pool = _delete_warm_pool
    AutoScalingResponse.describe_warm_pool = describe_warm_pool
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
