//! The discrete-event simulation: builds arrive in the CI queue and run on agents'
//! executors; agents live on instances of one Auto Scaling group per pool; the publisher
//! reads the CI server every poll interval and computes the pool's metrics with
//! `rules::compute_workloads`; CloudWatch alarms evaluate those metrics and invoke
//! step-scaling policies; scale-in takes only instances unprotected by
//! `rules::protection::decide`; a terminating instance's build is drained through
//! `rules::drain::next_step`; spot instances get interrupted, with or without
//! test checkpoints.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rules::drain::{DrainAgent, DrainRecord, DrainStep, next_step};
use rules::protection::{AgentView, Graces, InstanceView, decide, next_idle_since};
use rules::{
    Agent, CiSnapshot, Demand, LabelExpr, Pool, PoolSpec, QueuedBuild, Waiting, compute_workloads,
};
use serde::Serialize;

use crate::alarm::{Alarm, AlarmSpec, Comparison, MissingData, Statistic};
use crate::params::ScalingParams;
use crate::rng::Rng;
use crate::scaling::{AdjustmentType, GroupView, StepAdjustment, StepPolicy, scale_in, scale_out};
use crate::workload::Workload;

/// Everything about the world that is not a template parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    pub executors_per_instance: u32,
    /// Launch to agent registered, mean seconds, and its spread (± fraction, uniform).
    pub boot_seconds: f64,
    pub boot_jitter: f64,
    /// Launch to InService (EC2 pending); the warm-up counts from here.
    pub in_service_seconds: f64,
    pub min_size: u32,
    pub max_size: u32,
    /// Share of instances on spot (the mixed-instances policy keeps it on every launch).
    pub spot_share: f64,
    /// Interruptions per spot instance-hour.
    pub spot_interruptions_per_hour: f64,
    pub spot_notice_seconds: f64,
    pub spot_price: f64,
    pub on_demand_price: f64,
    /// ci-checkpoint on the agents: a retry redoes setup plus the work since the last upload.
    pub checkpoints: bool,
    pub setup_seconds: f64,
    pub checkpoint_every_seconds: f64,
    /// publish-workload's POLL_INTERVAL_SECONDS.
    pub poll_interval_seconds: f64,
    /// protect-busy-agents' schedule (RUN_INTERVAL_SECONDS).
    pub protect_every_seconds: f64,
    /// handle-interruption's DRAIN_TIMEOUT_SECONDS.
    pub drain_timeout_seconds: f64,
    /// EventBridge to handler to agent offline (spot warning, terminate hook).
    pub event_delay_seconds: f64,
    /// advise-retry re-queues a build killed with its agent this long after.
    pub retry_delay_seconds: f64,
    /// The step policies' MetricAggregationType (infra/pool.yaml sets Maximum; AWS's
    /// default when unset is Average).
    pub aggregation: Statistic,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            executors_per_instance: 1,
            boot_seconds: 180.0,
            boot_jitter: 0.15,
            in_service_seconds: 30.0,
            min_size: 0,
            max_size: 500,
            spot_share: 0.7,
            spot_interruptions_per_hour: 0.03,
            spot_notice_seconds: 120.0,
            spot_price: 0.14,
            on_demand_price: 0.34,
            checkpoints: true,
            setup_seconds: 30.0,
            checkpoint_every_seconds: 5.0,
            poll_interval_seconds: 10.0,
            protect_every_seconds: 60.0,
            drain_timeout_seconds: 7200.0,
            event_delay_seconds: 0.5,
            retry_delay_seconds: 10.0,
            aggregation: Statistic::Maximum,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// The template's alarms and step policies (out on MissingInstances, in on
    /// TotalWorkload), with protection and drains.
    CiFleet,
    /// A fixed group sized for the peak.
    Static,
    /// Scales on the busy fraction only (a CPU-style metric), no protection, no drain hook.
    CpuStyle,
    /// What-if, not in the template: scale-out sets the desired capacity to the published
    /// DesiredInstances at every poll (as buildkite-agent-scaler does); scale-in, protection
    /// and drains as ci-fleet.
    DesiredInstances,
}

impl PolicyKind {
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::CiFleet => "ci-fleet",
            PolicyKind::Static => "static-peak",
            PolicyKind::CpuStyle => "cpu-style",
            PolicyKind::DesiredInstances => "desired-instances",
        }
    }

    /// ci-fleet's protection, drain hook and scale-in.
    fn protects(self) -> bool {
        matches!(self, PolicyKind::CiFleet | PolicyKind::DesiredInstances)
    }
}

/// The chart's samples, one a minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub t: f64,
    pub queued: u32,
    /// Instances billed: launching, in service or terminating.
    pub instances: u32,
    pub online_agents: u32,
    pub busy_executors: u32,
    pub desired: u32,
}

/// What one run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub instance_seconds: f64,
    pub spot_instance_seconds: f64,
    pub busy_executor_seconds: f64,
    /// Total time each build spent in the queue (over its attempts), seconds.
    pub waits: Vec<f64>,
    pub builds: usize,
    pub builds_finished: usize,
    pub attempts: usize,
    pub builds_killed_by_scale_in: u32,
    pub redone_after_scale_in_seconds: f64,
    pub spot_interruptions: u32,
    pub builds_killed_by_spot: u32,
    pub redone_after_spot_seconds: f64,
    /// What the same kills would have cost without checkpoints.
    pub lost_without_checkpoints_seconds: f64,
    /// Per build interrupted by spot: all its lost work (setup included) over its duration.
    pub redone_fractions: Vec<f64>,
    /// Per build interrupted by spot: the test work it ran again over its test work (the
    /// checkpoint's share; the setup a retry repeats is retry overhead, counted above).
    pub redone_test_fractions: Vec<f64>,
    pub launches: u32,
    /// The most launches in one clock hour (the template's TooManyLaunches alarm).
    pub max_launches_per_hour: u32,
    pub scale_in_terminations: u32,
    /// Instances scale-in chose while protected: must stay 0.
    pub protected_terminations: u32,
    pub drains: u32,
    /// Drains ended by DRAIN_TIMEOUT_SECONDS with the build still running.
    pub drains_timed_out: u32,
    /// Lifecycle actions that expired without a heartbeat (must stay 0).
    pub hook_timeouts: u32,
    pub peak_instances: u32,
    pub end_seconds: f64,
    pub scale_out_invocations: u32,
    pub scale_in_invocations: u32,
    #[serde(skip)]
    pub timeline: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival(u32),
    Enqueue(u32),
    Finish(u32, u32),
    InService(u32),
    Registered(u32),
    Poll,
    AlarmEval(u16, bool),
    ProtectRun,
    HookHandled(u32),
    HookTimeout(u32, u32),
    SpotNotice(u32),
    SpotOffline(u32),
    SpotTerminate(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildState {
    NotArrived,
    Queued,
    Running(u32),
    Retrying,
    Done,
}

#[derive(Debug, Clone)]
struct BuildRun {
    duration_ms: u64,
    label: usize,
    state: BuildState,
    enqueued_at: u64,
    attempt: u32,
    attempt_started: u64,
    checkpointed_ms: u64,
    wait_ms: u64,
    finishes: u32,
    redone_spot_ms: u64,
    redone_tests_spot_ms: u64,
    killed_by_spot: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InstState {
    Pending,
    InService,
    Terminating,
    Terminated,
}

#[derive(Debug, Clone)]
struct Instance {
    pool: usize,
    spot: bool,
    launched_at: u64,
    warm_at: u64,
    state: InstState,
    registered: bool,
    offline: bool,
    running: Vec<u32>,
    protected: bool,
    idle_since: Option<DateTime<Utc>>,
    drain: Option<DrainRecord>,
    heartbeats: u32,
    terminated_at: Option<u64>,
    agent_slot: Option<usize>,
}

struct PoolRun {
    pool: Pool,
    agent_labels: Vec<String>,
    desired: u32,
    min: u32,
    max: u32,
    active: Vec<u32>,
    out_alarm: Option<Alarm>,
    in_alarm: Option<Alarm>,
    out_policy: StepPolicy,
    in_policy: StepPolicy,
    /// Labels whose builds this pool's agents can run.
    labels: Vec<usize>,
}

struct LabelRun {
    demand: Demand,
    queue: VecDeque<u32>,
    pools: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    ScaleIn,
    Spot,
}

pub struct Sim<'a> {
    env: &'a Environment,
    kind: PolicyKind,
    now: u64,
    seq: u64,
    events: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    builds: Vec<BuildRun>,
    instances: Vec<Instance>,
    pools: Vec<PoolRun>,
    labels: Vec<LabelRun>,
    shared_pools: Vec<Pool>,
    snapshot: CiSnapshot,
    agent_owner: Vec<u32>,
    queue_owner: Vec<(u32, u32)>,
    rng: Rng,
    start: DateTime<Utc>,
    horizon_ms: u64,
    unfinished: usize,
    graces: Graces,
    heartbeat_timeout_s: u32,
    out: Outcome,
    polls: u64,
    last_finish: u64,
    launches_by_hour: Vec<u32>,
}

const SEC: f64 = 1000.0;
const OVERRUN_MS: u64 = 86_400_000;

fn ms(seconds: f64) -> u64 {
    (seconds * SEC).round().max(0.0) as u64
}

/// The peak number of instances each label's builds need if every build starts on arrival.
pub fn peak_instances(workload: &Workload, executors: u32) -> Vec<u32> {
    (0..workload.labels.len())
        .map(|label| {
            let mut running = 0i64;
            let mut peak = 0i64;
            for (_, d) in workload.edges(label) {
                running += d;
                peak = peak.max(running);
            }
            (peak as u32).div_ceil(executors.max(1))
        })
        .collect()
}

fn ci_fleet_policies(
    p: &ScalingParams,
    env: &Environment,
) -> (AlarmSpec, StepPolicy, AlarmSpec, StepPolicy) {
    let count = |name: &str| p.get(name).max(1.0) as usize;
    let warmup = p.get("InstanceWarmupSeconds");
    // MissingInstances >= 1, ChangeInCapacity with the ScaleOutPolicy resource's steps.
    let out_alarm = AlarmSpec {
        period_seconds: p.get("ScaleOutPeriodSeconds") as u64,
        evaluation_periods: count("ScaleOutEvaluationPeriods"),
        datapoints_to_alarm: count("ScaleOutDatapointsToAlarm"),
        threshold: 1.0,
        comparison: Comparison::GreaterThanOrEqualToThreshold,
        statistic: Statistic::Maximum,
        missing: MissingData::NotBreaching,
    };
    let out_policy = match p.percent_scale_out() {
        None => StepPolicy {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            threshold: out_alarm.threshold,
            steps: p.scale_out_steps().to_vec(),
            min_adjustment_magnitude: 0,
            aggregation: env.aggregation,
            estimated_instance_warmup_seconds: warmup,
        },
        Some(percent) => StepPolicy {
            adjustment_type: AdjustmentType::PercentChangeInCapacity,
            threshold: out_alarm.threshold,
            steps: vec![StepAdjustment {
                lower: Some(0.0),
                upper: None,
                adjustment: percent,
            }],
            min_adjustment_magnitude: 1,
            aggregation: env.aggregation,
            estimated_instance_warmup_seconds: warmup,
        },
    };
    let in_alarm = AlarmSpec {
        period_seconds: p.get("ScaleInPeriodSeconds") as u64,
        evaluation_periods: count("ScaleInEvaluationPeriods"),
        datapoints_to_alarm: count("ScaleInDatapointsToAlarm"),
        threshold: p.get("ScaleInThreshold"),
        comparison: Comparison::LessThanThreshold,
        statistic: Statistic::Maximum,
        missing: MissingData::NotBreaching,
    };
    let in_policy = StepPolicy {
        adjustment_type: AdjustmentType::PercentChangeInCapacity,
        threshold: in_alarm.threshold,
        steps: vec![StepAdjustment {
            lower: None,
            upper: Some(0.0),
            adjustment: -p.get("ScaleInPercent"),
        }],
        min_adjustment_magnitude: 1,
        aggregation: env.aggregation,
        estimated_instance_warmup_seconds: warmup,
    };
    (out_alarm, out_policy, in_alarm, in_policy)
}

/// The CPU-style baseline (WePay design 2): a utilisation metric — here the busy
/// fraction of online executors, which is all CPU can see of a build — averaged per
/// minute, target-tracking-like alarms (3 of 3 minutes out, 15 of 15 in).
fn cpu_policies(
    p: &ScalingParams,
    env: &Environment,
) -> (AlarmSpec, StepPolicy, AlarmSpec, StepPolicy) {
    let warmup = p.get("InstanceWarmupSeconds");
    let out_alarm = AlarmSpec {
        period_seconds: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        threshold: 0.75,
        comparison: Comparison::GreaterThanThreshold,
        statistic: Statistic::Average,
        missing: MissingData::NotBreaching,
    };
    let out_policy = StepPolicy {
        adjustment_type: AdjustmentType::PercentChangeInCapacity,
        threshold: 0.75,
        steps: vec![
            StepAdjustment {
                lower: Some(0.0),
                upper: Some(0.2),
                adjustment: 25.0,
            },
            StepAdjustment {
                lower: Some(0.2),
                upper: None,
                adjustment: 100.0,
            },
        ],
        min_adjustment_magnitude: 1,
        aggregation: env.aggregation,
        estimated_instance_warmup_seconds: warmup,
    };
    let in_alarm = AlarmSpec {
        period_seconds: 60,
        evaluation_periods: 15,
        datapoints_to_alarm: 15,
        threshold: 0.35,
        comparison: Comparison::LessThanThreshold,
        statistic: Statistic::Average,
        missing: MissingData::NotBreaching,
    };
    let in_policy = StepPolicy {
        adjustment_type: AdjustmentType::PercentChangeInCapacity,
        threshold: 0.35,
        steps: vec![StepAdjustment {
            lower: None,
            upper: Some(0.0),
            adjustment: -20.0,
        }],
        min_adjustment_magnitude: 1,
        aggregation: env.aggregation,
        estimated_instance_warmup_seconds: warmup,
    };
    (out_alarm, out_policy, in_alarm, in_policy)
}

impl<'a> Sim<'a> {
    pub fn run(
        workload: &Workload,
        params: &ScalingParams,
        env: &'a Environment,
        kind: PolicyKind,
        seed: u64,
    ) -> Outcome {
        let mut sim = Sim::new(workload, params, env, kind, seed);
        sim.main_loop();
        sim.finish()
    }

    fn new(
        workload: &Workload,
        params: &ScalingParams,
        env: &'a Environment,
        kind: PolicyKind,
        seed: u64,
    ) -> Sim<'a> {
        let e = env.executors_per_instance.max(1);
        let peaks = peak_instances(workload, e);
        let (out_spec, out_policy, in_spec, in_policy) = match kind {
            PolicyKind::CpuStyle => cpu_policies(params, env),
            _ => ci_fleet_policies(params, env),
        };
        let mut shared_pools = Vec::new();
        let mut pools = Vec::new();
        for (i, label) in workload.labels.iter().enumerate() {
            let spec = PoolSpec {
                name: label.clone(),
                ci_label: label.clone(),
                asg: format!("ci-{i}"),
                executors_per_instance: e,
                max_builds_per_agent: None,
            };
            // Labels were checked when the workload was read.
            let pool = Pool::jenkins(spec.clone()).unwrap_or_else(|_| Pool::teamcity(spec));
            let agent_labels = match &pool.selector {
                rules::PoolSelector::Labels(expr) => expr
                    .required_atoms()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                rules::PoolSelector::AgentPool(name) => vec![name.clone()],
            };
            let (min, max, desired) = match kind {
                PolicyKind::Static => (peaks[i], peaks[i], peaks[i]),
                // A busy fraction of an empty group is 0: it cannot start from nothing.
                PolicyKind::CpuStyle => (env.min_size.max(1), env.max_size, env.min_size.max(1)),
                PolicyKind::CiFleet | PolicyKind::DesiredInstances => {
                    (env.min_size, env.max_size, env.min_size)
                }
            };
            let scaled = kind != PolicyKind::Static;
            shared_pools.push(pool.clone());
            pools.push(PoolRun {
                pool,
                agent_labels,
                desired,
                min,
                max,
                active: Vec::new(),
                out_alarm: (scaled && kind != PolicyKind::DesiredInstances)
                    .then(|| Alarm::new(out_spec.clone())),
                in_alarm: scaled.then(|| Alarm::new(in_spec.clone())),
                out_policy: out_policy.clone(),
                in_policy: in_policy.clone(),
                labels: Vec::new(),
            });
        }
        let mut labels = Vec::new();
        for label in &workload.labels {
            let expr = LabelExpr::parse(label).unwrap_or(LabelExpr::Atom(label.clone()));
            let demand = Demand::Expression(expr.clone());
            let eligible: Vec<usize> = pools
                .iter()
                .enumerate()
                .filter(|(_, p)| expr.matches(|l| p.agent_labels.iter().any(|a| a == l)))
                .map(|(i, _)| i)
                .collect();
            labels.push(LabelRun {
                demand,
                queue: VecDeque::new(),
                pools: eligible,
            });
        }
        for (l, label) in labels.iter().enumerate() {
            for p in &label.pools {
                pools[*p].labels.push(l);
            }
        }
        let builds: Vec<BuildRun> = workload
            .builds
            .iter()
            .map(|b| BuildRun {
                duration_ms: ms(b.duration).max(1),
                label: b.label,
                state: BuildState::NotArrived,
                enqueued_at: 0,
                attempt: 0,
                attempt_started: 0,
                checkpointed_ms: 0,
                wait_ms: 0,
                finishes: 0,
                redone_spot_ms: 0,
                redone_tests_spot_ms: 0,
                killed_by_spot: false,
            })
            .collect();
        let mut sim = Sim {
            env,
            kind,
            now: 0,
            seq: 0,
            events: BinaryHeap::new(),
            unfinished: builds.len(),
            builds,
            instances: Vec::new(),
            pools,
            labels,
            shared_pools,
            snapshot: CiSnapshot::default(),
            agent_owner: Vec::new(),
            queue_owner: Vec::new(),
            rng: Rng::derive(seed, 0xF1EE7),
            start: workload.start,
            horizon_ms: ms(workload.horizon),
            graces: Graces {
                boot: Duration::from_secs_f64(params.get("BootGraceSeconds").max(0.0)),
                idle: Duration::from_secs_f64(params.get("IdleGraceSeconds").max(0.0)),
            },
            heartbeat_timeout_s: params.get("DrainHeartbeatTimeoutSeconds").max(30.0) as u32,
            out: Outcome {
                builds: workload.builds.len(),
                ..Outcome::default()
            },
            polls: 0,
            last_finish: 0,
            launches_by_hour: Vec::new(),
        };
        for (i, b) in workload.builds.iter().enumerate() {
            sim.schedule(ms(b.arrival), Ev::Arrival(i as u32));
        }
        // The group starts at its desired size, agents registered and warm.
        for p in 0..sim.pools.len() {
            for _ in 0..sim.pools[p].desired {
                sim.launch(p, true);
            }
        }
        sim.schedule(0, Ev::Poll);
        if kind != PolicyKind::Static {
            for p in 0..sim.pools.len() {
                for out in [true, false] {
                    sim.schedule(5_000, Ev::AlarmEval(p as u16, out));
                }
            }
        }
        if kind.protects() {
            sim.schedule(30_000, Ev::ProtectRun);
        }
        sim
    }

    fn schedule(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, ev)));
    }

    fn at(&self, t: u64) -> DateTime<Utc> {
        self.start + chrono::Duration::milliseconds(t as i64)
    }

    /// Periodic work continues until the day is over and every build has finished, or
    /// a day after that: a build nothing will ever run (a starved queue) ends the run
    /// with its wait counted to the end.
    fn running(&self) -> bool {
        self.now < self.horizon_ms
            || (self.unfinished > 0 && self.now < self.horizon_ms + OVERRUN_MS)
    }

    fn main_loop(&mut self) {
        self.main_loop_until(u64::MAX);
    }

    /// Processes events up to and including time `until` (ms).
    fn main_loop_until(&mut self, until: u64) {
        while let Some(Reverse((at, _, _))) = self.events.peek() {
            if *at > until {
                return;
            }
            let Some(Reverse((at, _, ev))) = self.events.pop() else {
                return;
            };
            self.now = at;
            match ev {
                Ev::Arrival(b) => self.enqueue(b),
                Ev::Enqueue(b) => self.enqueue(b),
                Ev::Finish(b, attempt) => self.finish_build(b, attempt),
                Ev::InService(i) => {
                    if self.instances[i as usize].state == InstState::Pending {
                        self.instances[i as usize].state = InstState::InService;
                    }
                }
                Ev::Registered(i) => self.register(i),
                Ev::Poll => self.poll(),
                Ev::AlarmEval(p, out) => self.evaluate_alarm(p as usize, out),
                Ev::ProtectRun => self.protect_run(),
                Ev::HookHandled(i) => self.hook_handled(i),
                Ev::HookTimeout(i, n) => {
                    let inst = &self.instances[i as usize];
                    if inst.state == InstState::Terminating && inst.heartbeats == n {
                        self.out.hook_timeouts += 1;
                        self.terminate(i, Kill::ScaleIn);
                    }
                }
                Ev::SpotNotice(i) => {
                    if self.instances[i as usize].state != InstState::Terminated && self.running() {
                        self.out.spot_interruptions += 1;
                        let delay = ms(self.env.event_delay_seconds);
                        self.schedule(self.now + delay, Ev::SpotOffline(i));
                        let notice = ms(self.env.spot_notice_seconds);
                        self.schedule(self.now + notice, Ev::SpotTerminate(i));
                    }
                }
                Ev::SpotOffline(i) => self.take_offline(i),
                Ev::SpotTerminate(i) => {
                    if self.instances[i as usize].state != InstState::Terminated {
                        self.terminate(i, Kill::Spot);
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Outcome {
        // The day, or longer if builds were still running at its end.
        let end = if self.unfinished > 0 {
            self.horizon_ms + OVERRUN_MS
        } else {
            self.last_finish.max(self.horizon_ms)
        };
        for build in &mut self.builds {
            if build.state == BuildState::Queued {
                build.wait_ms += end.saturating_sub(build.enqueued_at);
            }
        }
        for inst in &self.instances {
            let until = inst.terminated_at.unwrap_or(end).min(end);
            let seconds = until.saturating_sub(inst.launched_at) as f64 / SEC;
            self.out.instance_seconds += seconds;
            if inst.spot {
                self.out.spot_instance_seconds += seconds;
            }
        }
        self.out.end_seconds = end as f64 / SEC;
        self.out.max_launches_per_hour = self.launches_by_hour.iter().copied().max().unwrap_or(0);
        self.out.waits = self.builds.iter().map(|b| b.wait_ms as f64 / SEC).collect();
        self.out.builds_finished = self.builds.iter().filter(|b| b.finishes == 1).count();
        self.out.redone_fractions = self
            .builds
            .iter()
            .filter(|b| b.killed_by_spot)
            .map(|b| b.redone_spot_ms as f64 / b.duration_ms as f64)
            .collect();
        let setup = ms(self.env.setup_seconds);
        self.out.redone_test_fractions = self
            .builds
            .iter()
            .filter(|b| b.killed_by_spot && b.duration_ms > setup)
            .map(|b| b.redone_tests_spot_ms as f64 / (b.duration_ms - setup) as f64)
            .collect();
        for pool in &self.pools {
            if let Some(a) = &pool.out_alarm {
                self.out.scale_out_invocations += a.invocations;
            }
            if let Some(a) = &pool.in_alarm {
                self.out.scale_in_invocations += a.invocations;
            }
        }
        self.out
    }

    // ---- CI server -------------------------------------------------------------------

    fn enqueue(&mut self, b: u32) {
        let build = &mut self.builds[b as usize];
        build.state = BuildState::Queued;
        build.enqueued_at = self.now;
        let label = build.label;
        let attempt = build.attempt;
        // The queue of a label is non-empty only while none of its executors is free.
        if self.labels[label].queue.is_empty() {
            let mut free: Vec<u32> = Vec::new();
            for &p in &self.labels[label].pools {
                free.extend(
                    self.pools[p]
                        .active
                        .iter()
                        .copied()
                        .filter(|i| self.takes_work(*i)),
                );
            }
            if !free.is_empty() {
                // Jenkins spreads builds over agents (consistent hashing): any free one.
                let pick = free[self.rng.below(free.len())];
                self.start_build(b, pick);
                return;
            }
        }
        self.snapshot.queue.push(QueuedBuild {
            id: b.to_string(),
            demand: self.labels[label].demand.clone(),
            waiting: Waiting::ForExecutor,
            stuck: false,
            queued_since: Some(self.at(self.now)),
        });
        self.queue_owner.push((b, attempt));
        self.labels[label].queue.push_back(b);
    }

    fn takes_work(&self, i: u32) -> bool {
        let inst = &self.instances[i as usize];
        inst.registered
            && !inst.offline
            && inst.state != InstState::Terminated
            && (inst.running.len() as u32) < self.env.executors_per_instance
    }

    /// A free executor on `i` takes the oldest build it can run.
    fn feed(&mut self, i: u32) {
        while self.takes_work(i) {
            let pool = self.instances[i as usize].pool;
            let next = self.pools[pool]
                .labels
                .iter()
                .filter_map(|l| {
                    self.labels[*l]
                        .queue
                        .front()
                        .map(|b| (self.builds[*b as usize].enqueued_at, *l))
                })
                .min();
            let Some((_, label)) = next else { return };
            let Some(b) = self.labels[label].queue.pop_front() else {
                return;
            };
            self.start_build(b, i);
        }
    }

    fn attempt_length(&self, b: u32) -> u64 {
        let build = &self.builds[b as usize];
        if !self.env.checkpoints {
            return build.duration_ms;
        }
        let setup = ms(self.env.setup_seconds).min(build.duration_ms);
        let tests = build.duration_ms - setup;
        setup + tests.saturating_sub(build.checkpointed_ms)
    }

    fn start_build(&mut self, b: u32, i: u32) {
        let length = self.attempt_length(b);
        let now = self.now;
        let build = &mut self.builds[b as usize];
        build.wait_ms += now - build.enqueued_at;
        build.state = BuildState::Running(i);
        build.attempt_started = now;
        let attempt = build.attempt;
        self.out.attempts += 1;
        self.instances[i as usize].running.push(b);
        self.sync_agent(i);
        self.schedule(now + length, Ev::Finish(b, attempt));
    }

    fn finish_build(&mut self, b: u32, attempt: u32) {
        let build = &self.builds[b as usize];
        let BuildState::Running(i) = build.state else {
            return;
        };
        if build.attempt != attempt {
            return;
        }
        self.out.busy_executor_seconds += (self.now - build.attempt_started) as f64 / SEC;
        let build = &mut self.builds[b as usize];
        build.state = BuildState::Done;
        build.finishes += 1;
        self.unfinished -= 1;
        self.last_finish = self.now;
        self.instances[i as usize].running.retain(|x| *x != b);
        self.sync_agent(i);
        self.feed(i);
    }

    /// The instance died under its builds: each is retried (advise-retry), redoing what
    /// its checkpoint did not keep.
    fn kill_builds(&mut self, i: u32, cause: Kill) {
        let running = std::mem::take(&mut self.instances[i as usize].running);
        let setup = ms(self.env.setup_seconds);
        let every = ms(self.env.checkpoint_every_seconds).max(1);
        for b in running {
            let now = self.now;
            let build = &mut self.builds[b as usize];
            let elapsed = now - build.attempt_started;
            self.out.busy_executor_seconds += elapsed as f64 / SEC;
            let tests_run = elapsed.saturating_sub(setup.min(build.duration_ms));
            let kept = if self.env.checkpoints {
                tests_run / every * every
            } else {
                0
            };
            let redone = elapsed - kept;
            let redone_tests = tests_run - kept;
            let lost_without = elapsed + build.checkpointed_ms;
            build.checkpointed_ms += kept;
            build.attempt += 1;
            build.state = BuildState::Retrying;
            match cause {
                Kill::Spot => {
                    self.out.builds_killed_by_spot += 1;
                    self.out.redone_after_spot_seconds += redone as f64 / SEC;
                    self.out.lost_without_checkpoints_seconds += lost_without as f64 / SEC;
                    build.redone_spot_ms += redone;
                    build.redone_tests_spot_ms += redone_tests;
                    build.killed_by_spot = true;
                }
                Kill::ScaleIn => {
                    self.out.builds_killed_by_scale_in += 1;
                    self.out.redone_after_scale_in_seconds += redone as f64 / SEC;
                }
            }
            let at = now + ms(self.env.retry_delay_seconds);
            self.schedule(at, Ev::Enqueue(b));
        }
    }

    fn register(&mut self, i: u32) {
        let inst = &mut self.instances[i as usize];
        if inst.state == InstState::Terminated {
            return;
        }
        inst.registered = true;
        // An instance already terminating registers but is taken offline at once.
        if inst.state == InstState::Terminating {
            inst.offline = true;
        }
        let slot = self.snapshot.agents.len();
        let pool = inst.pool;
        inst.agent_slot = Some(slot);
        self.snapshot.agents.push(Agent {
            name: format!("i-{i:08x}"),
            labels: self.pools[pool].agent_labels.clone(),
            executors: self.env.executors_per_instance,
            busy_executors: 0,
            connected: true,
            accepting_tasks: true,
            offline_reason: String::new(),
        });
        self.agent_owner.push(i);
        self.sync_agent(i);
        self.feed(i);
    }

    fn sync_agent(&mut self, i: u32) {
        let inst = &self.instances[i as usize];
        if let Some(slot) = inst.agent_slot {
            let agent = &mut self.snapshot.agents[slot];
            agent.busy_executors = inst.running.len() as u32;
            agent.accepting_tasks = !inst.offline;
        }
    }

    fn remove_agent(&mut self, i: u32) {
        if let Some(slot) = self.instances[i as usize].agent_slot.take() {
            self.snapshot.agents.swap_remove(slot);
            self.agent_owner.swap_remove(slot);
            if let Some(&moved) = self.agent_owner.get(slot) {
                self.instances[moved as usize].agent_slot = Some(slot);
            }
        }
    }

    fn take_offline(&mut self, i: u32) {
        if self.instances[i as usize].state == InstState::Terminated {
            return;
        }
        self.instances[i as usize].offline = true;
        self.sync_agent(i);
    }

    // ---- Auto Scaling group ----------------------------------------------------------

    fn launch(&mut self, p: usize, ready: bool) {
        let id = self.instances.len() as u32;
        let active = &self.pools[p].active;
        let spots = active
            .iter()
            .filter(|i| self.instances[**i as usize].spot)
            .count();
        let target = (self.env.spot_share * (active.len() + 1) as f64).round() as usize;
        let spot = spots < target;
        let now = self.now;
        let jitter = 1.0 + self.env.boot_jitter * self.rng.range(-1.0, 1.0);
        let boot = ms(self.env.boot_seconds * jitter);
        let in_service = ms(self.env.in_service_seconds).min(boot);
        let warmup = ms(self.pools[p].out_policy.estimated_instance_warmup_seconds);
        self.instances.push(Instance {
            pool: p,
            spot,
            launched_at: now,
            warm_at: if ready {
                now
            } else {
                now + in_service + warmup
            },
            state: if ready {
                InstState::InService
            } else {
                InstState::Pending
            },
            registered: false,
            offline: false,
            running: Vec::new(),
            protected: false,
            idle_since: None,
            drain: None,
            heartbeats: 0,
            terminated_at: None,
            agent_slot: None,
        });
        self.pools[p].active.push(id);
        if ready {
            self.register(id);
        } else {
            self.out.launches += 1;
            let hour = (now / 3_600_000) as usize;
            if self.launches_by_hour.len() <= hour {
                self.launches_by_hour.resize(hour + 1, 0);
            }
            self.launches_by_hour[hour] += 1;
            self.schedule(now + in_service, Ev::InService(id));
            self.schedule(now + boot, Ev::Registered(id));
        }
        if spot && self.env.spot_interruptions_per_hour > 0.0 {
            let at = now
                + ms(self
                    .rng
                    .exponential(3600.0 / self.env.spot_interruptions_per_hour));
            if at < self.horizon_ms + 12 * 3_600_000 {
                self.schedule(at, Ev::SpotNotice(id));
            }
        }
        let billed = self.pools.iter().map(|p| p.active.len() as u32).sum();
        self.out.peak_instances = self.out.peak_instances.max(billed);
    }

    /// The instance is gone. After a spot interruption the group replaces it; after a
    /// scale-in it does not (the group is already at its desired size).
    fn terminate(&mut self, i: u32, cause: Kill) {
        self.kill_builds(i, cause);
        self.remove_agent(i);
        let inst = &mut self.instances[i as usize];
        inst.state = InstState::Terminated;
        inst.terminated_at = Some(self.now);
        inst.drain = None;
        let p = inst.pool;
        self.pools[p].active.retain(|x| *x != i);
        if cause == Kill::Spot {
            self.reconcile(p);
        }
    }

    fn counted(&self, p: usize) -> Vec<u32> {
        self.pools[p]
            .active
            .iter()
            .copied()
            .filter(|i| {
                matches!(
                    self.instances[*i as usize].state,
                    InstState::Pending | InstState::InService
                )
            })
            .collect()
    }

    /// The group moves towards its desired capacity: launches, or terminates instances
    /// that are not protected from scale-in.
    fn reconcile(&mut self, p: usize) {
        let counted = self.counted(p);
        let desired = self.pools[p].desired as usize;
        if counted.len() < desired {
            for _ in counted.len()..desired {
                self.launch(p, false);
            }
            return;
        }
        let mut excess = counted.len() - desired;
        if excess == 0 {
            return;
        }
        let mut candidates: Vec<u32> = counted
            .iter()
            .copied()
            .filter(|i| {
                let inst = &self.instances[*i as usize];
                inst.state == InstState::InService && !inst.protected
            })
            .collect();
        let mut spots = counted
            .iter()
            .filter(|i| self.instances[**i as usize].spot)
            .count();
        let mut remaining = counted.len();
        while excess > 0 && !candidates.is_empty() {
            // Default termination policy: first keep the on-demand/spot split, then any.
            let target = (self.env.spot_share * (remaining - 1) as f64).round() as usize;
            let want_spot = spots > target;
            let typed: Vec<usize> = (0..candidates.len())
                .filter(|k| self.instances[candidates[*k] as usize].spot == want_spot)
                .collect();
            let k = if typed.is_empty() {
                self.rng.below(candidates.len())
            } else {
                typed[self.rng.below(typed.len())]
            };
            let i = candidates.swap_remove(k);
            spots -= usize::from(self.instances[i as usize].spot);
            remaining -= 1;
            excess -= 1;
            self.begin_termination(i);
        }
    }

    fn begin_termination(&mut self, i: u32) {
        self.out.scale_in_terminations += 1;
        if self.instances[i as usize].protected {
            self.out.protected_terminations += 1;
        }
        match self.kind {
            PolicyKind::CiFleet | PolicyKind::DesiredInstances => {
                self.instances[i as usize].state = InstState::Terminating;
                let delay = ms(self.env.event_delay_seconds);
                self.schedule(self.now + delay, Ev::HookHandled(i));
            }
            // No lifecycle hook: the instance goes, with whatever runs on it.
            PolicyKind::Static | PolicyKind::CpuStyle => self.terminate(i, Kill::ScaleIn),
        }
    }

    /// handle-interruption on the terminate lifecycle action: agent offline first, then
    /// complete at once when idle, or record a drain when busy.
    fn hook_handled(&mut self, i: u32) {
        if self.instances[i as usize].state != InstState::Terminating {
            return;
        }
        self.take_offline(i);
        if self.instances[i as usize].running.is_empty() {
            self.terminate(i, Kill::ScaleIn);
            return;
        }
        self.out.drains += 1;
        let started = self.at(self.now);
        let deadline =
            started + chrono::Duration::milliseconds(ms(self.env.drain_timeout_seconds) as i64);
        let name = format!("i-{i:08x}");
        let inst = &mut self.instances[i as usize];
        inst.drain = Some(DrainRecord {
            instance_id: name.clone(),
            pool: self.pools[inst.pool].pool.name().to_owned(),
            group: self.pools[inst.pool].pool.spec.asg.clone(),
            hook: "ci-fleet-drain".into(),
            token: None,
            agent_names: vec![name],
            started_at: started,
            deadline,
            heartbeat_timeout_seconds: self.heartbeat_timeout_s,
            last_heartbeat_at: started,
        });
        let n = inst.heartbeats;
        let timeout = u64::from(self.heartbeat_timeout_s) * 1000;
        self.schedule(self.now + timeout, Ev::HookTimeout(i, n));
    }

    // ---- publish-workload, alarms, policies ------------------------------------------

    fn poll(&mut self) {
        // Drop queue entries that have started since the last poll.
        let mut keep = 0;
        for k in 0..self.queue_owner.len() {
            let (b, attempt) = self.queue_owner[k];
            let build = &self.builds[b as usize];
            if build.state == BuildState::Queued && build.attempt == attempt {
                self.queue_owner.swap(keep, k);
                self.snapshot.queue.swap(keep, k);
                keep += 1;
            }
        }
        self.queue_owner.truncate(keep);
        self.snapshot.queue.truncate(keep);

        let now_dt = self.at(self.now);
        let workloads = compute_workloads(&self.shared_pools, &self.snapshot, now_dt);
        for (p, w) in workloads.pools.iter().enumerate() {
            let (out_value, in_value) = match self.kind {
                PolicyKind::CpuStyle => {
                    let busy = f64::from(w.busy_executors) / f64::from(w.online_executors.max(1));
                    (busy, busy)
                }
                _ => (f64::from(w.missing_instances), w.total_workload),
            };
            let now = self.now;
            if self.kind == PolicyKind::DesiredInstances {
                let target = w.desired_instances.min(self.pools[p].max);
                if target > self.pools[p].desired {
                    self.pools[p].desired = target;
                    self.reconcile(p);
                }
            }
            let pool = &mut self.pools[p];
            if let Some(a) = pool.out_alarm.as_mut() {
                a.record(now, out_value);
            }
            if let Some(a) = pool.in_alarm.as_mut() {
                a.record(now, in_value);
            }
        }
        let per_minute = (60.0 / self.env.poll_interval_seconds).round().max(1.0) as u64;
        if self.polls.is_multiple_of(per_minute) {
            self.sample(&workloads);
        }
        self.polls += 1;
        if self.running() {
            let next = self.now + ms(self.env.poll_interval_seconds).max(1);
            self.schedule(next, Ev::Poll);
        }
    }

    fn sample(&mut self, workloads: &rules::Workloads) {
        let mut s = Sample {
            t: self.now as f64 / SEC,
            queued: 0,
            instances: 0,
            online_agents: 0,
            busy_executors: 0,
            desired: 0,
        };
        for (p, w) in workloads.pools.iter().enumerate() {
            s.queued += w.queued_builds;
            s.desired += self.pools[p].desired;
            s.instances += self.pools[p].active.len() as u32;
        }
        for inst in &self.instances {
            if inst.state != InstState::Terminated && inst.registered {
                s.busy_executors += inst.running.len() as u32;
                s.online_agents += u32::from(!inst.offline);
            }
        }
        self.out.timeline.push(s);
    }

    fn group_view(&self, p: usize) -> GroupView {
        let pool = &self.pools[p];
        let mut view = GroupView {
            desired: pool.desired,
            min: pool.min,
            max: pool.max,
            warmed: 0,
            in_service_or_terminating: 0,
            warming_or_pending: 0,
        };
        for i in &pool.active {
            let inst = &self.instances[*i as usize];
            match inst.state {
                InstState::Pending => view.warming_or_pending += 1,
                InstState::InService => {
                    view.in_service_or_terminating += 1;
                    if inst.warm_at <= self.now {
                        view.warmed += 1;
                    } else {
                        view.warming_or_pending += 1;
                    }
                }
                InstState::Terminating => view.in_service_or_terminating += 1,
                InstState::Terminated => {}
            }
        }
        view
    }

    fn evaluate_alarm(&mut self, p: usize, out: bool) {
        let now = self.now;
        let pool = &mut self.pools[p];
        let alarm = if out {
            pool.out_alarm.as_mut()
        } else {
            pool.in_alarm.as_mut()
        };
        let Some(alarm) = alarm else { return };
        let interval = alarm.spec.evaluation_interval_ms();
        let invocation = alarm.evaluate(now);
        if let Some(invocation) = invocation {
            let view = self.group_view(p);
            let pool = &self.pools[p];
            let target = if out {
                scale_out(&pool.out_policy, &invocation.datapoints, view)
            } else {
                scale_in(&pool.in_policy, &invocation.datapoints, view)
            };
            if let Some(desired) = target {
                self.pools[p].desired = desired;
                self.reconcile(p);
            }
        }
        if self.running() {
            self.schedule(now + interval, Ev::AlarmEval(p as u16, out));
        }
    }

    // ---- protect-busy-agents ---------------------------------------------------------

    fn protect_run(&mut self) {
        let now_dt = self.at(self.now);
        let every = Duration::from_secs_f64(self.env.protect_every_seconds);
        for p in 0..self.pools.len() {
            for k in 0..self.pools[p].active.len() {
                let i = self.pools[p].active[k];
                let inst = &self.instances[i as usize];
                if inst.state != InstState::InService {
                    continue;
                }
                let agent = if !inst.registered {
                    AgentView::NotRegistered
                } else if inst.offline {
                    AgentView::Offline
                } else if !inst.running.is_empty() {
                    AgentView::Busy
                } else {
                    AgentView::Idle
                };
                let view = InstanceView {
                    protected: inst.protected,
                    since: self.at(inst.launched_at),
                    agent,
                    idle_since: inst.idle_since,
                };
                let verdict = decide(&view, self.graces, now_dt);
                let inst = &mut self.instances[i as usize];
                inst.protected = verdict.protect;
                inst.idle_since = next_idle_since(agent, inst.idle_since, now_dt);
            }
        }
        // Drains.
        let draining: Vec<u32> = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, inst)| inst.state == InstState::Terminating && inst.drain.is_some())
            .map(|(i, _)| i as u32)
            .collect();
        for i in draining {
            let inst = &self.instances[i as usize];
            let Some(record) = &inst.drain else { continue };
            let agent = if inst.running.is_empty() {
                DrainAgent::Done
            } else {
                DrainAgent::Busy
            };
            match next_step(record, agent, true, now_dt, every) {
                DrainStep::Wait => {}
                DrainStep::Heartbeat => {
                    let inst = &mut self.instances[i as usize];
                    inst.heartbeats += 1;
                    if let Some(r) = inst.drain.as_mut() {
                        r.last_heartbeat_at = now_dt;
                    }
                    let n = inst.heartbeats;
                    let timeout = u64::from(self.heartbeat_timeout_s) * 1000;
                    self.schedule(self.now + timeout, Ev::HookTimeout(i, n));
                }
                DrainStep::CompleteTimedOut => {
                    self.out.drains_timed_out += 1;
                    self.terminate(i, Kill::ScaleIn);
                }
                DrainStep::Complete | DrainStep::CompleteVanished => {
                    self.terminate(i, Kill::ScaleIn);
                }
            }
        }
        for p in 0..self.pools.len() {
            self.reconcile(p);
        }
        if self.running() {
            let next = self.now + ms(self.env.protect_every_seconds).max(1);
            self.schedule(next, Ev::ProtectRun);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Build, DAY};

    fn params() -> ScalingParams {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml");
        ScalingParams::load(&path).expect("pool.yaml")
    }

    fn one_build_day(at: f64, duration: f64) -> Workload {
        Workload {
            name: "one".into(),
            labels: vec!["linux".into()],
            builds: vec![Build {
                arrival: at,
                duration,
                label: 0,
            }],
            horizon: DAY,
            start: chrono::Utc::now(),
            recorded_waits: vec![],
        }
    }

    #[test]
    fn a_build_on_an_empty_pool_waits_for_one_poll_and_a_boot() {
        let env = Environment {
            boot_jitter: 0.0,
            spot_interruptions_per_hour: 0.0,
            ..Environment::default()
        };
        let out = Sim::run(
            &one_build_day(3600.0, 600.0),
            &params(),
            &env,
            PolicyKind::CiFleet,
            1,
        );
        assert_eq!((out.builds_finished, out.attempts), (1, 1));
        // MissingInstances 1 adds exactly one; a full pool is not scaled out further.
        assert_eq!(out.launches, 1);
        // Seen by the next poll, alarm on its first datapoint (1 of 1), then the boot.
        let wait = out.waits[0];
        assert!(
            wait > env.boot_seconds && wait < env.boot_seconds + 30.0,
            "{wait}"
        );
        // The instance goes again once idle: nowhere near a day of instance time.
        assert!(out.instance_seconds < 3600.0, "{}", out.instance_seconds);
        assert_eq!(out.builds_killed_by_scale_in, 0);
    }

    #[test]
    fn a_burst_on_an_empty_pool_gets_its_instances_in_one_step() {
        // Twelve builds at once: MissingInstances 12 adds floor(1.5 x 12) = 18 at once
        // (ChangeInCapacity), not one instance per warm-up as a percentage of zero would.
        let mut day = one_build_day(3600.0, 600.0);
        day.builds = (0..12)
            .map(|k| Build {
                // Between two polls, so that one poll sees all twelve.
                arrival: 3602.0 + f64::from(k) * 0.1,
                duration: 600.0,
                label: 0,
            })
            .collect();
        let env = Environment {
            boot_jitter: 0.0,
            spot_interruptions_per_hour: 0.0,
            ..Environment::default()
        };
        let out = Sim::run(&day, &params(), &env, PolicyKind::CiFleet, 1);
        assert_eq!(out.builds_finished, 12);
        assert_eq!(out.launches, 18, "one activity of floor(1.5 x 12)");
        let longest = out.waits.iter().copied().fold(0.0, f64::max);
        assert!(longest < env.boot_seconds + 30.0, "{longest}");
        assert_eq!(out.builds_killed_by_scale_in, 0);
    }

    #[test]
    fn a_build_longer_than_the_drain_timeout_is_not_cut_while_protected() {
        let env = Environment {
            spot_interruptions_per_hour: 0.0,
            ..Environment::default()
        };
        let out = Sim::run(
            &one_build_day(600.0, 3.0 * 3600.0),
            &params(),
            &env,
            PolicyKind::CiFleet,
            3,
        );
        assert_eq!((out.builds_killed_by_scale_in, out.builds_finished), (0, 1));
        assert_eq!((out.protected_terminations, out.hook_timeouts), (0, 0));
    }

    #[test]
    fn the_cpu_style_policy_kills_what_it_scales_in() {
        // Ten long builds and a burst of thirty short ones: once the burst is done the
        // busy fraction is low and scale-in takes any instance, busy or not.
        let mut day = one_build_day(600.0, 3.0 * 3600.0);
        day.builds.clear();
        for k in 0..40 {
            day.builds.push(Build {
                arrival: 600.0 + f64::from(k),
                duration: if k < 10 { 3.0 * 3600.0 } else { 600.0 },
                label: 0,
            });
        }
        let env = Environment {
            spot_interruptions_per_hour: 0.0,
            ..Environment::default()
        };
        let out = Sim::run(&day, &params(), &env, PolicyKind::CpuStyle, 5);
        assert_eq!(out.builds_finished, 40);
        assert!(
            out.builds_killed_by_scale_in > 0,
            "{}",
            out.builds_killed_by_scale_in
        );
        let out = Sim::run(&day, &params(), &env, PolicyKind::CiFleet, 5);
        assert_eq!(
            (out.builds_finished, out.builds_killed_by_scale_in),
            (40, 0)
        );
    }

    #[test]
    fn checkpoints_keep_all_but_setup_and_the_last_five_seconds() {
        let env = Environment {
            spot_interruptions_per_hour: 0.0,
            ..Environment::default()
        };
        let mut sim = Sim::new(
            &one_build_day(0.0, 1200.0),
            &params(),
            &env,
            PolicyKind::Static,
            1,
        );
        sim.main_loop_until(1);
        // The build started at 0 on the static fleet's instance; kill it at 612.3 s.
        sim.now = 612_300;
        sim.kill_builds(0, Kill::Spot);
        // Setup 30 s, then tests; uploads every 5 s: 580 s kept, 32.3 s redone.
        assert_eq!(sim.builds[0].checkpointed_ms, 580_000);
        assert!((sim.out.redone_after_spot_seconds - 32.3).abs() < 1e-9);
        assert!((sim.out.lost_without_checkpoints_seconds - 612.3).abs() < 1e-9);
        // The retry is setup plus what the checkpoint did not keep.
        assert_eq!(sim.attempt_length(0), 30_000 + (1_170_000 - 580_000));
    }
}
