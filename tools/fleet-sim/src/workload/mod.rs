//! Workloads: the two shapes of the WePay document (a busy business-hours day; a sparse,
//! spiky day) and the import of real builds from a CSV (`queued_at, started_at,
//! finished_at, label`). Generators are deterministic for a seed.

mod csv;
mod day;
mod generate;

pub use csv::{CsvError, from_csv, from_csv_file};
pub use day::{Build, DAY, Workload};
pub use generate::{busy, sparse};

#[cfg(test)]
mod tests;
