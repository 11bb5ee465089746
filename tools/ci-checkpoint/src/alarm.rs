//! "Logged once": a recorder that retries every few seconds through an S3 outage must
//! not print the same error every few seconds. An alarm logs when it starts failing and
//! when it recovers, not in between.

use std::fmt::Display;

pub struct Alarm {
    what: &'static str,
    failing: bool,
}

impl Alarm {
    pub fn new(what: &'static str) -> Alarm {
        Alarm {
            what,
            failing: false,
        }
    }

    pub fn failed(&mut self, error: &dyn Display) {
        if !self.failing {
            tracing::error!("{}: {error}", self.what);
        }
        self.failing = true;
    }

    pub fn ok(&mut self) {
        if self.failing {
            tracing::info!("{}: working again", self.what);
        }
        self.failing = false;
    }

    pub fn is_failing(&self) -> bool {
        self.failing
    }
}
