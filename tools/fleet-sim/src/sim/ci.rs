//! The CI server: builds queue per label expression and run on the executors of online
//! agents whose labels satisfy them; a free executor takes the oldest build it can run;
//! the snapshot publish-workload reads follows agents and queue.

use rules::{Agent, QueuedBuild, Waiting};

use super::checkpoint;
use super::clock::{SEC, ms};
use super::event::{Attempt, Event};
use super::ids::{BuildIx, InstanceIx};
use super::state::{BuildState, InstanceState, Kill};
use super::world::World;

/// A build joins its label's queue, or starts at once on a free executor.
pub fn enqueue(world: &mut World, b: BuildIx) {
    let now = world.clock.now;
    let build = &mut world.builds[b];
    build.state = BuildState::Queued;
    build.enqueued_at = now;
    let label = build.label;
    let attempt = build.attempt;
    // The queue of a label is non-empty only while none of its executors is free.
    if world.labels[label].queue.is_empty() {
        let free: Vec<InstanceIx> = world.labels[label]
            .pools
            .iter()
            .flat_map(|p| world.pools[*p].active.iter().copied())
            .filter(|i| takes_work(world, *i))
            .collect();
        if !free.is_empty() {
            // Jenkins spreads builds over agents (consistent hashing): any free one.
            let pick = free[world.rng.below(free.len())];
            start_build(world, b, pick);
            return;
        }
    }
    world.ci.snapshot.queue.push(QueuedBuild {
        id: b.to_string(),
        demand: world.labels[label].demand.clone(),
        waiting: Waiting::ForExecutor,
        stuck: false,
        queued_since: Some(world.clock.at(now)),
    });
    world.ci.queue_owner.push((b, attempt));
    world.labels[label].queue.push_back(b);
}

fn takes_work(world: &World, i: InstanceIx) -> bool {
    let inst = &world.instances[i];
    inst.agent.registered
        && !inst.agent.offline
        && inst.state != InstanceState::Terminated
        && (inst.agent.running.len() as u32) < world.env.executors_per_instance
}

/// A free executor on `i` takes the oldest build it can run.
fn feed(world: &mut World, i: InstanceIx) {
    while takes_work(world, i) {
        let pool = world.instances[i].pool;
        let oldest = world.pools[pool]
            .labels
            .iter()
            .filter_map(|l| {
                let front = world.labels[*l].queue.front()?;
                Some((world.builds[*front].enqueued_at, *l))
            })
            .min();
        let Some((_, label)) = oldest else { return };
        let Some(b) = world.labels[label].queue.pop_front() else {
            return;
        };
        start_build(world, b, i);
    }
}

fn start_build(world: &mut World, b: BuildIx, i: InstanceIx) {
    let length = checkpoint::attempt_length(&world.builds[b], world.env);
    let now = world.clock.now;
    let build = &mut world.builds[b];
    build.wait_ms += now - build.enqueued_at;
    build.state = BuildState::Running(i);
    build.attempt_started = now;
    let attempt = build.attempt;
    world.out.attempts += 1;
    world.instances[i].agent.running.push(b);
    sync_agent(world, i);
    world
        .clock
        .schedule(now + length, Event::Finish(b, attempt));
}

/// The build's attempt ends (unless it was killed meanwhile) and its executor takes the
/// next build.
pub fn finish_build(world: &mut World, b: BuildIx, attempt: Attempt) {
    let build = &world.builds[b];
    let BuildState::Running(i) = build.state else {
        return;
    };
    if build.attempt != attempt {
        return;
    }
    let now = world.clock.now;
    world.out.busy_executor_seconds += (now - build.attempt_started) as f64 / SEC;
    let build = &mut world.builds[b];
    build.state = BuildState::Done;
    build.finishes += 1;
    world.unfinished -= 1;
    world.last_finish = now;
    world.instances[i].agent.running.retain(|x| *x != b);
    sync_agent(world, i);
    feed(world, i);
}

/// The instance died under its builds: each is retried (advise-retry), redoing what
/// its checkpoint did not keep.
pub fn kill_builds(world: &mut World, i: InstanceIx, cause: Kill) {
    let running = std::mem::take(&mut world.instances[i].agent.running);
    let now = world.clock.now;
    for b in running {
        let elapsed = now - world.builds[b].attempt_started;
        let loss = checkpoint::loss(&world.builds[b], elapsed, world.env);
        world.out.busy_executor_seconds += elapsed as f64 / SEC;
        let build = &mut world.builds[b];
        build.checkpointed_ms += loss.kept;
        build.attempt += 1;
        build.state = BuildState::Retrying;
        match cause {
            Kill::Spot => {
                world.out.builds_killed_by_spot += 1;
                world.out.redone_after_spot_seconds += loss.redone as f64 / SEC;
                world.out.lost_without_checkpoints_seconds +=
                    loss.lost_without_checkpoints as f64 / SEC;
                build.redone_spot_ms += loss.redone;
                build.redone_tests_spot_ms += loss.redone_tests;
                build.killed_by_spot = true;
            }
            Kill::ScaleIn => {
                world.out.builds_killed_by_scale_in += 1;
                world.out.redone_after_scale_in_seconds += loss.redone as f64 / SEC;
            }
        }
        let retry_at = now + ms(world.env.retry_delay_seconds);
        world.clock.schedule(retry_at, Event::Retry(b));
    }
}

/// The booted instance's agent registers and takes work (offline at once if its
/// instance is already terminating).
pub fn register(world: &mut World, i: InstanceIx) {
    let inst = &mut world.instances[i];
    if inst.state == InstanceState::Terminated {
        return;
    }
    inst.agent.registered = true;
    if inst.state == InstanceState::Terminating {
        inst.agent.offline = true;
    }
    inst.agent.slot = Some(world.ci.snapshot.agents.len());
    let pool = inst.pool;
    world.ci.snapshot.agents.push(Agent {
        name: i.instance_id(),
        labels: world.pools[pool].agent_labels.clone(),
        executors: world.env.executors_per_instance,
        busy_executors: 0,
        connected: true,
        accepting_tasks: true,
        offline_reason: String::new(),
        runs: Vec::new(),
    });
    world.ci.agent_owner.push(i);
    sync_agent(world, i);
    feed(world, i);
}

fn sync_agent(world: &mut World, i: InstanceIx) {
    let agent = &world.instances[i].agent;
    if let Some(slot) = agent.slot {
        let shown = &mut world.ci.snapshot.agents[slot];
        shown.busy_executors = agent.running.len() as u32;
        shown.accepting_tasks = !agent.offline;
    }
}

/// The terminated instance's agent leaves the CI server.
pub fn remove_agent(world: &mut World, i: InstanceIx) {
    let Some(slot) = world.instances[i].agent.slot.take() else {
        return;
    };
    world.ci.snapshot.agents.swap_remove(slot);
    world.ci.agent_owner.swap_remove(slot);
    if let Some(&moved) = world.ci.agent_owner.get(slot) {
        world.instances[moved].agent.slot = Some(slot);
    }
}

/// The agent stops taking builds (a drain, a spot notice); running ones go on.
pub fn take_offline(world: &mut World, i: InstanceIx) {
    if world.instances[i].state == InstanceState::Terminated {
        return;
    }
    world.instances[i].agent.offline = true;
    sync_agent(world, i);
}

/// Drops the snapshot's queue entries whose builds have started since the last poll.
pub fn forget_started(world: &mut World) {
    let ci = &mut world.ci;
    let mut keep = 0;
    for k in 0..ci.queue_owner.len() {
        let (b, attempt) = ci.queue_owner[k];
        let build = &world.builds[b];
        if build.state == BuildState::Queued && build.attempt == attempt {
            ci.queue_owner.swap(keep, k);
            ci.snapshot.queue.swap(keep, k);
            keep += 1;
        }
    }
    ci.queue_owner.truncate(keep);
    ci.snapshot.queue.truncate(keep);
}
