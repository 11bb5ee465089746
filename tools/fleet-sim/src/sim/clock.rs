//! Simulated time: milliseconds since the workload's start, and the queue of what happens
//! next. Events at the same millisecond happen in the order they were scheduled.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

use super::event::Event;

/// Milliseconds a second (times are whole milliseconds).
pub const SEC: f64 = 1000.0;
/// How long past the day a starved queue may keep the run going.
pub const OVERRUN_MS: u64 = 86_400_000;

pub fn ms(seconds: f64) -> u64 {
    (seconds * SEC).round().max(0.0) as u64
}

pub struct Clock {
    pub now: u64,
    /// Wall-clock time of millisecond 0.
    start: DateTime<Utc>,
    /// Where the workload's days end.
    pub horizon_ms: u64,
    scheduled: u64,
    events: BinaryHeap<Reverse<(u64, u64, Event)>>,
}

impl Clock {
    pub fn new(start: DateTime<Utc>, horizon_ms: u64) -> Clock {
        Clock {
            now: 0,
            start,
            horizon_ms,
            scheduled: 0,
            events: BinaryHeap::new(),
        }
    }

    pub fn schedule(&mut self, at: u64, event: Event) {
        self.scheduled += 1;
        self.events.push(Reverse((at, self.scheduled, event)));
    }

    pub fn schedule_in(&mut self, delay: u64, event: Event) {
        self.schedule(self.now + delay, event);
    }

    /// The wall-clock time of `t`.
    pub fn at(&self, t: u64) -> DateTime<Utc> {
        self.start + chrono::Duration::milliseconds(t as i64)
    }

    pub fn wall_now(&self) -> DateTime<Utc> {
        self.at(self.now)
    }

    /// The next event at or before `until`, with the clock moved to it.
    pub fn next_until(&mut self, until: u64) -> Option<Event> {
        let Reverse((at, _, _)) = self.events.peek()?;
        if *at > until {
            return None;
        }
        let Reverse((at, _, event)) = self.events.pop()?;
        self.now = at;
        Some(event)
    }
}
