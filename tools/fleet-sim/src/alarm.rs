//! CloudWatch metric alarms as the template configures them: a statistic per period,
//! "M out of N" datapoints to alarm, missing-data treatment, evaluation every 10 s for
//! high-resolution periods (10 s, 30 s) and every minute otherwise, and the Auto Scaling
//! action re-invoked once a minute while the alarm stays in ALARM.
//!
//! Sources (see README): CloudWatch User Guide, "Using Amazon CloudWatch alarms" —
//! evaluation periods, datapoints to alarm, "How alarm state is evaluated when data is
//! missing", high-resolution alarms; "Alarm actions" — Auto Scaling actions repeat once per
//! minute while the alarm remains in the new state.

use std::collections::VecDeque;

use serde::Serialize;

pub const MINUTE_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Statistic {
    Maximum,
    Minimum,
    Average,
}

impl Statistic {
    pub fn of(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match self {
            Statistic::Maximum => values.iter().copied().fold(f64::MIN, f64::max),
            Statistic::Minimum => values.iter().copied().fold(f64::MAX, f64::min),
            Statistic::Average => values.iter().sum::<f64>() / values.len() as f64,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

/// The treatments the template can use. (`missing` and `ignore` depend on whether data
/// stopped flowing before or after the alarm changed state; the template does not use them.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MissingData {
    NotBreaching,
    Breaching,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlarmState {
    InsufficientData,
    Ok,
    Alarm,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmSpec {
    pub period_seconds: u64,
    pub evaluation_periods: usize,
    pub datapoints_to_alarm: usize,
    pub threshold: f64,
    pub comparison: Comparison,
    pub statistic: Statistic,
    pub missing: MissingData,
}

impl AlarmSpec {
    pub fn breaches(&self, value: f64) -> bool {
        match self.comparison {
            Comparison::GreaterThanThreshold => value > self.threshold,
            Comparison::GreaterThanOrEqualToThreshold => value >= self.threshold,
            Comparison::LessThanThreshold => value < self.threshold,
            Comparison::LessThanOrEqualToThreshold => value <= self.threshold,
        }
    }

    /// High-resolution alarms (10 s and 30 s periods) are evaluated every 10 s, the others
    /// once a minute.
    pub fn evaluation_interval_ms(&self) -> u64 {
        if self.period_seconds < 60 {
            10_000
        } else {
            MINUTE_MS
        }
    }
}

/// One period's datapoints, reduced as they arrive.
#[derive(Debug, Clone, Copy)]
struct PeriodAgg {
    index: u64,
    max: f64,
    min: f64,
    sum: f64,
    count: u32,
}

impl PeriodAgg {
    fn value(&self, statistic: Statistic) -> f64 {
        match statistic {
            Statistic::Maximum => self.max,
            Statistic::Minimum => self.min,
            Statistic::Average => self.sum / f64::from(self.count),
        }
    }
}

/// What the alarm sends Auto Scaling when it invokes the policy: the datapoints it
/// evaluated (StateReasonData's recent datapoints; missing ones are not sent).
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub datapoints: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Alarm {
    pub spec: AlarmSpec,
    periods: VecDeque<PeriodAgg>,
    pub state: AlarmState,
    last_action_ms: Option<u64>,
    pub transitions_to_alarm: u32,
    pub invocations: u32,
}

impl Alarm {
    pub fn new(spec: AlarmSpec) -> Alarm {
        Alarm {
            spec,
            periods: VecDeque::new(),
            state: AlarmState::InsufficientData,
            last_action_ms: None,
            transitions_to_alarm: 0,
            invocations: 0,
        }
    }

    fn period_ms(&self) -> u64 {
        self.spec.period_seconds * 1000
    }

    /// The number of most recent periods CloudWatch retrieves to evaluate (the
    /// "evaluation range"): more than N, so a few missing datapoints can be skipped.
    fn evaluation_range(&self) -> usize {
        self.spec.evaluation_periods + 2
    }

    /// A datapoint published with timestamp `at_ms`.
    pub fn record(&mut self, at_ms: u64, value: f64) {
        let index = at_ms / self.period_ms();
        match self.periods.back_mut() {
            Some(last) if last.index == index => {
                last.max = last.max.max(value);
                last.min = last.min.min(value);
                last.sum += value;
                last.count += 1;
            }
            _ => self.periods.push_back(PeriodAgg {
                index,
                max: value,
                min: value,
                sum: value,
                count: 1,
            }),
        }
        let keep = self.evaluation_range() + 1;
        while self.periods.len() > keep {
            self.periods.pop_front();
        }
    }

    /// The evaluation at `now_ms`: the new state and the datapoints evaluated. Only
    /// periods that have ended by `now_ms` are evaluated.
    pub fn assess(&self, now_ms: u64) -> (AlarmState, Vec<f64>) {
        let period = self.period_ms();
        let n = self.spec.evaluation_periods;
        // Index of the last complete period, and the first of the evaluation range.
        let Some(last) = (now_ms / period).checked_sub(1) else {
            return (self.state, Vec::new());
        };
        let first = (last + 1).saturating_sub(self.evaluation_range() as u64);
        let existing: Vec<f64> = self
            .periods
            .iter()
            .filter(|p| p.index >= first && p.index <= last)
            .map(|p| p.value(self.spec.statistic))
            .collect();
        // Enough real datapoints: the most recent N. Otherwise every real one, and the
        // rest filled with the missing-data treatment, as few times as possible.
        let evaluated: Vec<f64> = existing[existing.len().saturating_sub(n)..].to_vec();
        let filled = n.saturating_sub(evaluated.len());
        let mut breaching = evaluated.iter().filter(|v| self.spec.breaches(**v)).count();
        if self.spec.missing == MissingData::Breaching {
            breaching += filled;
        }
        let state = if breaching >= self.spec.datapoints_to_alarm {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        };
        (state, evaluated)
    }

    /// Evaluates and returns the policy invocation, if any: on the change to ALARM, then
    /// once a minute while the alarm stays in ALARM.
    pub fn evaluate(&mut self, now_ms: u64) -> Option<Invocation> {
        let (state, datapoints) = self.assess(now_ms);
        let previous = self.state;
        self.state = state;
        if state != AlarmState::Alarm {
            self.last_action_ms = None;
            return None;
        }
        let due = match (previous, self.last_action_ms) {
            (AlarmState::Alarm, Some(last)) => now_ms >= last + MINUTE_MS,
            _ => true,
        };
        if previous != AlarmState::Alarm {
            self.transitions_to_alarm += 1;
        }
        if !due {
            return None;
        }
        self.last_action_ms = Some(now_ms);
        self.invocations += 1;
        Some(Invocation { datapoints })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize, m: usize, missing: MissingData) -> AlarmSpec {
        AlarmSpec {
            period_seconds: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 1.0,
            comparison: Comparison::GreaterThanThreshold,
            statistic: Statistic::Maximum,
            missing,
        }
    }

    /// `pattern` oldest to newest over the last 5 periods: `X` breaching, `0` not, `-` missing.
    fn assess(pattern: &str, n: usize, m: usize, missing: MissingData) -> AlarmState {
        let mut alarm = Alarm::new(spec(n, m, missing));
        for (i, c) in pattern.chars().enumerate() {
            let at = (i as u64 + 10) * 60_000;
            match c {
                'X' => alarm.record(at, 2.0),
                '0' => alarm.record(at, 0.5),
                _ => {}
            }
        }
        alarm.assess((pattern.len() as u64 + 10) * 60_000).0
    }

    #[test]
    fn m_of_n_with_missing_data_as_in_the_cloudwatch_tables() {
        use AlarmState::{Alarm as A, Ok as O};
        use MissingData::{Breaching as B, NotBreaching as NB};
        // The CloudWatch user guide's tables (3 of 3, then 2 of 3), columns BREACHING and
        // NOT BREACHING.
        let cases = [
            ("0-X-X", 3, 3, O, O),
            ("0----", 3, 3, O, O),
            ("-----", 3, 3, A, O),
            ("0XX-X", 3, 3, A, A),
            ("----X", 3, 3, A, O),
            ("X----", 3, 3, A, O),
            ("0-X-X", 3, 2, A, A),
            ("00X0X", 3, 2, A, A),
            ("0-X--", 3, 2, A, O),
            ("----0", 3, 2, A, O),
            ("----X", 3, 2, A, O),
        ];
        for (pattern, n, m, breaching, not_breaching) in cases {
            assert_eq!(
                assess(pattern, n, m, B),
                breaching,
                "{pattern} {m}/{n} breaching"
            );
            assert_eq!(
                assess(pattern, n, m, NB),
                not_breaching,
                "{pattern} {m}/{n} notBreaching"
            );
        }
    }

    #[test]
    fn statistic_reduces_each_period() {
        let mut s = spec(1, 1, MissingData::NotBreaching);
        s.period_seconds = 60;
        let mut alarm = Alarm::new(s.clone());
        for (t, v) in [(0, 0.2), (10, 1.5), (20, 0.4)] {
            alarm.record(t * 1000, v);
        }
        assert_eq!(alarm.assess(60_000), (AlarmState::Alarm, vec![1.5]));
        s.statistic = Statistic::Average;
        let mut alarm = Alarm::new(s);
        for (t, v) in [(0, 0.2), (10, 1.5), (20, 0.4)] {
            alarm.record(t * 1000, v);
        }
        assert_eq!(alarm.assess(60_000).0, AlarmState::Ok);
    }

    #[test]
    fn the_current_period_is_not_evaluated_until_it_ends() {
        let mut alarm = Alarm::new(AlarmSpec {
            period_seconds: 10,
            ..spec(1, 1, MissingData::NotBreaching)
        });
        alarm.record(20_000, 5.0);
        assert_eq!(alarm.assess(25_000).0, AlarmState::Ok);
        assert_eq!(alarm.assess(30_000).0, AlarmState::Alarm);
    }

    #[test]
    fn invokes_on_the_change_then_once_a_minute() {
        let mut alarm = Alarm::new(AlarmSpec {
            period_seconds: 10,
            ..spec(3, 2, MissingData::NotBreaching)
        });
        let mut invoked_at = Vec::new();
        for tick in 0..20u64 {
            let now = tick * 10_000 + 5_000;
            // Breaching from t = 20 s to t = 120 s, then fine.
            let value = if (20_000..=120_000).contains(&(now - 5_000)) {
                3.0
            } else {
                0.0
            };
            alarm.record(now - 5_000, value);
            if alarm.evaluate(now).is_some() {
                invoked_at.push(now / 1000);
            }
        }
        // Periods [20,30) and [30,40) breach: ALARM at the 45 s evaluation, again 60 s later.
        assert_eq!(invoked_at, vec![45, 105]);
        assert_eq!(alarm.state, AlarmState::Ok);
        assert_eq!(alarm.transitions_to_alarm, 1);
    }
}
