//! What every step leaves for the run's end, in the order the steps found it: problems,
//! which fail the run once it has done all it could, and counts for CloudWatch.

use rules::Datum;

#[derive(Debug, Default)]
pub struct RunLog {
    pub errors: Vec<String>,
    pub datums: Vec<Datum>,
}

impl RunLog {
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.errors.push(problem.into());
    }

    pub fn count(&mut self, datum: Datum) {
        self.datums.push(datum);
    }
}
