//! EC2 Auto Scaling step-scaling policies: step adjustments relative to the alarm
//! threshold, `PercentChangeInCapacity` with its rounding and `MinAdjustmentMagnitude`,
//! `ChangeInCapacity`, and the instance warm-up.
//!
//! Sources (see README): EC2 Auto Scaling User Guide, "Step and simple scaling policies"
//! (step bounds, adjustment types and rounding, instance warm-up: warming instances are
//! not current capacity when scaling out, so repeated breaches in one step make one
//! activity; terminating instances are current capacity when scaling in; a scale-in
//! cannot start while a scale-out is in progress) and "Set the default instance warmup"
//! (scale-in activities are blocked until new instances finish warming up).

use serde::Serialize;

use crate::alarm::Statistic;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepAdjustment {
    /// Relative to the alarm threshold; `None` is minus infinity.
    pub lower: Option<f64>,
    /// Relative to the alarm threshold; `None` is plus infinity.
    pub upper: Option<f64>,
    /// Percent of current capacity (PercentChangeInCapacity) or instances
    /// (ChangeInCapacity), as the policy's `adjustment_type` says.
    pub adjustment: f64,
}

/// The policy's AdjustmentType (ExactCapacity is not used by the template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AdjustmentType {
    PercentChangeInCapacity,
    ChangeInCapacity,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepPolicy {
    pub adjustment_type: AdjustmentType,
    pub threshold: f64,
    pub steps: Vec<StepAdjustment>,
    pub min_adjustment_magnitude: u32,
    /// MetricAggregationType: how the alarm's recent datapoints are reduced to the value
    /// the steps are compared with (Average unless the policy says otherwise).
    pub aggregation: Statistic,
    pub estimated_instance_warmup_seconds: f64,
}

impl StepPolicy {
    /// The step whose interval holds `metric`. Above the threshold the lower bound is
    /// inclusive and the upper exclusive; below it, the other way round.
    pub fn step_for(&self, metric: f64) -> Option<&StepAdjustment> {
        let d = metric - self.threshold;
        self.steps.iter().find(|s| {
            let lower = s.lower.unwrap_or(f64::NEG_INFINITY);
            let upper = s.upper.unwrap_or(f64::INFINITY);
            if d > 0.0 {
                lower <= d && d < upper
            } else if d < 0.0 {
                lower < d && d <= upper
            } else {
                lower <= d && d <= upper
            }
        })
    }

    /// The change in capacity for `datapoints` at `current` capacity, or None when no
    /// step matches the aggregated value.
    pub fn change(&self, datapoints: &[f64], current: u32) -> Option<i64> {
        let value = self.aggregation.of(datapoints)?;
        let step = self.step_for(value)?;
        Some(match self.adjustment_type {
            AdjustmentType::PercentChangeInCapacity => {
                percent_change(step.adjustment, current, self.min_adjustment_magnitude)
            }
            // Whole instances; MinAdjustmentMagnitude applies to percentages only.
            AdjustmentType::ChangeInCapacity => step.adjustment.trunc() as i64,
        })
    }
}

/// PercentChangeInCapacity: values above 1 round down, between 0 and 1 round to 1,
/// between -1 and 0 round to -1, below -1 round up (towards zero); then at least
/// `min_magnitude` in the adjustment's direction.
pub fn percent_change(percent: f64, current: u32, min_magnitude: u32) -> i64 {
    let raw = f64::from(current) * percent / 100.0;
    let rounded = if raw > 1.0 {
        raw.floor()
    } else if raw > 0.0 {
        1.0
    } else if raw < -1.0 {
        raw.ceil()
    } else if raw < 0.0 {
        -1.0
    } else {
        0.0
    } as i64;
    let min = i64::from(min_magnitude);
    if percent > 0.0 && rounded < min {
        min
    } else if percent < 0.0 && rounded > -min {
        -min
    } else {
        rounded
    }
}

/// What the group looks like to a policy at the moment it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupView {
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    /// InService instances past their warm-up (scale-out's current capacity).
    pub warmed: u32,
    /// InService instances, warming or not, including those terminating (scale-in's).
    pub in_service_or_terminating: u32,
    /// Instances still launching or warming up: scale-in is blocked meanwhile.
    pub warming_or_pending: u32,
}

/// The new desired capacity after a scale-out policy invocation, if it changes.
pub fn scale_out(policy: &StepPolicy, datapoints: &[f64], group: GroupView) -> Option<u32> {
    let change = policy.change(datapoints, group.warmed)?;
    let target =
        (i64::from(group.warmed) + change).clamp(i64::from(group.min), i64::from(group.max)) as u32;
    (target > group.desired).then_some(target)
}

/// The new desired capacity after a scale-in policy invocation, if it changes.
pub fn scale_in(policy: &StepPolicy, datapoints: &[f64], group: GroupView) -> Option<u32> {
    if group.warming_or_pending > 0 {
        return None;
    }
    let current = group.in_service_or_terminating;
    let change = policy.change(datapoints, current)?;
    let target =
        (i64::from(current) + change).clamp(i64::from(group.min), i64::from(group.max)) as u32;
    (target < group.desired).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out_policy() -> StepPolicy {
        StepPolicy {
            adjustment_type: AdjustmentType::PercentChangeInCapacity,
            threshold: 1.0,
            steps: vec![
                StepAdjustment {
                    lower: Some(0.0),
                    upper: Some(1.0),
                    adjustment: 25.0,
                },
                StepAdjustment {
                    lower: Some(1.0),
                    upper: None,
                    adjustment: 100.0,
                },
            ],
            min_adjustment_magnitude: 1,
            aggregation: Statistic::Maximum,
            estimated_instance_warmup_seconds: 240.0,
        }
    }

    fn in_policy() -> StepPolicy {
        StepPolicy {
            adjustment_type: AdjustmentType::PercentChangeInCapacity,
            threshold: 0.5,
            steps: vec![StepAdjustment {
                lower: None,
                upper: Some(0.0),
                adjustment: -20.0,
            }],
            min_adjustment_magnitude: 1,
            aggregation: Statistic::Maximum,
            estimated_instance_warmup_seconds: 240.0,
        }
    }

    fn group(desired: u32, warmed: u32, in_service: u32, warming: u32) -> GroupView {
        GroupView {
            desired,
            min: 0,
            max: 50,
            warmed,
            in_service_or_terminating: in_service,
            warming_or_pending: warming,
        }
    }

    #[test]
    fn percent_rounding_as_documented() {
        // (percent, current, min magnitude, change)
        let cases = [
            (10.0, 10, 0, 1),
            (30.0, 11, 0, 3),   // 3.3 rounds down
            (127.0, 10, 0, 12), // 12.7 rounds down
            (6.7, 10, 0, 1),    // 0.67 rounds to 1
            (-5.8, 10, 0, -1),  // -0.58 rounds to -1
            (-66.7, 10, 0, -6), // -6.67 rounds up to -6
            (-10.0, 14, 0, -1), // 1.4 rounds to 1
            (-30.0, 13, 0, -3), // 3.9 rounds to 3
            (25.0, 4, 2, 2),    // MinAdjustmentMagnitude 2 beats 25 % of 4
            (25.0, 0, 1, 1),    // from zero: the minimum magnitude
            (-20.0, 0, 1, -1),
            (100.0, 7, 1, 7),
        ];
        for (percent, current, min, change) in cases {
            assert_eq!(
                percent_change(percent, current, min),
                change,
                "{percent}% of {current}, min {min}"
            );
        }
    }

    #[test]
    fn steps_are_chosen_by_breach_size_with_documented_bounds() {
        let p = out_policy();
        let adj = |m: f64| p.step_for(m).map(|s| s.adjustment);
        assert_eq!(
            adj(1.0),
            Some(25.0),
            "lower bound inclusive at the threshold"
        );
        assert_eq!(adj(1.5), Some(25.0));
        assert_eq!(adj(2.0), Some(100.0), "upper bound exclusive above");
        assert_eq!(adj(9.0), Some(100.0));
        assert_eq!(adj(0.9), None, "below the threshold: no scale-out step");
        let p = in_policy();
        assert_eq!(
            p.step_for(0.5).map(|s| s.adjustment),
            Some(-20.0),
            "upper inclusive below"
        );
        assert_eq!(p.step_for(0.1).map(|s| s.adjustment), Some(-20.0));
        assert_eq!(p.step_for(0.6), None);
    }

    #[test]
    fn the_aggregated_datapoints_choose_the_step() {
        let mut p = out_policy();
        p.aggregation = Statistic::Average;
        // Max 3.0 would be the large step; the average 1.6 is the small one.
        assert_eq!(p.change(&[0.8, 1.0, 3.0], 8), Some(2));
        // Average of 2-of-3 breaching datapoints can fall under the threshold: no step.
        assert_eq!(p.change(&[0.2, 1.2, 1.2], 8), None);
        p.aggregation = Statistic::Maximum;
        assert_eq!(p.change(&[0.8, 1.0, 3.0], 8), Some(8));
    }

    #[test]
    fn warm_up_makes_repeated_breaches_one_activity() {
        let p = out_policy();
        // The user guide's example, in this policy's numbers: 10 warmed, desired 10.
        assert_eq!(scale_out(&p, &[1.5], group(10, 10, 10, 0)), Some(12));
        // The same breach again while the 2 new instances warm up: current is still 10.
        assert_eq!(scale_out(&p, &[1.5], group(12, 10, 10, 2)), None);
        // A larger breach meanwhile adds only the difference: 10 + 100 % = 20.
        assert_eq!(scale_out(&p, &[2.5], group(12, 10, 10, 2)), Some(20));
        // Once they are warm, the same breach scales again from 12.
        assert_eq!(scale_out(&p, &[1.5], group(12, 12, 12, 0)), Some(15));
        // Capped at the group's maximum.
        assert_eq!(scale_out(&p, &[5.0], group(40, 40, 40, 0)), Some(50));
        // From zero, the minimum magnitude: one instance, and only one while it warms.
        assert_eq!(scale_out(&p, &[9.0], group(0, 0, 0, 0)), Some(1));
        assert_eq!(scale_out(&p, &[9.0], group(1, 0, 0, 1)), None);
    }

    /// MissingInstances ≥ 1 with one step per instance up to 3, then +3.
    fn missing_policy() -> StepPolicy {
        let step = |lower: f64, upper: Option<f64>, adjustment: f64| StepAdjustment {
            lower: Some(lower),
            upper,
            adjustment,
        };
        StepPolicy {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            threshold: 1.0,
            steps: vec![
                step(0.0, Some(1.0), 1.0),
                step(1.0, Some(2.0), 2.0),
                step(2.0, None, 3.0),
            ],
            min_adjustment_magnitude: 0,
            aggregation: Statistic::Maximum,
            estimated_instance_warmup_seconds: 180.0,
        }
    }

    #[test]
    fn change_in_capacity_starts_an_empty_group_at_the_size_its_queue_needs() {
        let p = missing_policy();
        // 2 instances missing from an empty group: 2 at once, not 1 per warm-up.
        assert_eq!(scale_out(&p, &[2.0], group(0, 0, 0, 0)), Some(2));
        // Still missing while they boot (their agents are not online): no more.
        assert_eq!(scale_out(&p, &[2.0], group(2, 0, 0, 2)), None);
        // A third build arrives meanwhile: only the difference is added.
        assert_eq!(scale_out(&p, &[3.0], group(2, 0, 0, 2)), Some(3));
        // Beyond the last step's bound the last step applies.
        assert_eq!(scale_out(&p, &[40.0], group(0, 0, 0, 0)), Some(3));
        // Added to the warmed capacity, not the desired one.
        assert_eq!(scale_out(&p, &[1.0], group(5, 5, 5, 0)), Some(6));
        // Below the threshold no step matches.
        assert_eq!(scale_out(&p, &[0.0], group(5, 5, 5, 0)), None);
    }

    #[test]
    fn scale_in_counts_terminating_and_waits_for_warm_up() {
        let p = in_policy();
        assert_eq!(scale_in(&p, &[0.2], group(10, 10, 10, 0)), Some(8));
        // Two of them still terminating (draining): current is still 10, no further change.
        assert_eq!(scale_in(&p, &[0.2], group(8, 8, 10, 0)), None);
        // Protected instances keep current up; desired does not run away below it.
        assert_eq!(scale_in(&p, &[0.2], group(8, 10, 10, 0)), None);
        // Blocked while an instance launches or warms up.
        assert_eq!(scale_in(&p, &[0.2], group(10, 9, 10, 1)), None);
        // Never below the minimum.
        let mut g = group(1, 1, 1, 0);
        g.min = 1;
        assert_eq!(scale_in(&p, &[0.0], g), None);
    }
}
