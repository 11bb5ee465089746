//! The scaling policies: which alarms and step policies each compared policy runs (the
//! template's, or the CPU-style baseline's), what an invoked policy does to the group's
//! desired capacity, and the desired-instances what-if.

use crate::alarm::{AlarmSpec, Comparison, MissingData, Statistic};
use crate::params::ScalingParams;
use crate::scaling::{AdjustmentType, StepAdjustment, StepPolicy, scale_in, scale_out};

use super::environment::{Environment, PolicyKind};
use super::event::Direction;
use super::group;
use super::ids::PoolIx;
use super::world::World;

/// A pool's two alarms and the step policy each invokes.
#[derive(Debug, Clone)]
pub struct Scaling {
    pub out_alarm: AlarmSpec,
    pub out_policy: StepPolicy,
    pub in_alarm: AlarmSpec,
    pub in_policy: StepPolicy,
}

pub fn for_kind(kind: PolicyKind, params: &ScalingParams, env: &Environment) -> Scaling {
    match kind {
        PolicyKind::CpuStyle => cpu_style(params, env),
        PolicyKind::CiFleet | PolicyKind::Static | PolicyKind::DesiredInstances => {
            ci_fleet(params, env)
        }
    }
}

/// An alarm invoked its policy with these datapoints: the group gets the policy's new
/// desired capacity, if it changes.
pub fn invoke(world: &mut World, p: PoolIx, direction: Direction, datapoints: &[f64]) {
    let view = group::view(world, p);
    let policy = world.pools[p].policy(direction);
    let target = match direction {
        Direction::ScaleOut => scale_out(policy, datapoints, view),
        Direction::ScaleIn => scale_in(policy, datapoints, view),
    };
    if let Some(desired) = target {
        world.pools[p].desired = desired;
        group::reconcile(world, p);
    }
}

/// The desired-instances what-if (not the template): scale-out sets the desired capacity
/// straight to the published DesiredInstances.
pub fn follow_desired_instances(world: &mut World, p: PoolIx, desired_instances: u32) {
    let target = desired_instances.min(world.pools[p].max);
    if target > world.pools[p].desired {
        world.pools[p].desired = target;
        group::reconcile(world, p);
    }
}

/// The template's: out on MissingInstances with the ScaleOutPolicy resource's steps
/// (ChangeInCapacity), in on TotalWorkload by a percentage.
fn ci_fleet(p: &ScalingParams, env: &Environment) -> Scaling {
    let count = |name: &str| p.get(name).max(1.0) as usize;
    let warmup = p.get("InstanceWarmupSeconds");
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
    Scaling {
        out_alarm,
        out_policy,
        in_alarm,
        in_policy,
    }
}

/// The CPU-style baseline (WePay design 2): a utilisation metric — here the busy
/// fraction of online executors, which is all CPU can see of a build — averaged per
/// minute, target-tracking-like alarms (3 of 3 minutes out, 15 of 15 in).
fn cpu_style(p: &ScalingParams, env: &Environment) -> Scaling {
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
    Scaling {
        out_alarm,
        out_policy,
        in_alarm,
        in_policy,
    }
}
