//! Workloads: the two shapes of the WePay document (a busy business-hours day; a sparse,
//! spiky day) and the import of real builds from a CSV (`queued_at, started_at,
//! finished_at, label`). Generators are deterministic for a seed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use crate::rng::Rng;

pub const DAY: f64 = 86_400.0;

/// One build as it arrives in the CI queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    /// Seconds from the start of the simulation.
    pub arrival: f64,
    /// Seconds of work once it runs.
    pub duration: f64,
    /// Index into `Workload::labels`: the label expression of the executor it needs.
    pub label: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    pub name: String,
    pub labels: Vec<String>,
    /// Sorted by arrival.
    pub builds: Vec<Build>,
    /// The simulated span in seconds (whole days).
    pub horizon: f64,
    /// Wall-clock time of second 0 (midnight of the first day).
    pub start: DateTime<Utc>,
    /// Queue waits as recorded in an imported CSV (started_at - queued_at), seconds.
    #[serde(skip)]
    pub recorded_waits: Vec<f64>,
}

impl Workload {
    /// The times `label`'s builds start (+1) and end (−1) if each starts on arrival, in
    /// time order, ends before starts at the same instant: the running count of the
    /// clairvoyant bound and of the static fleet's peak.
    pub fn edges(&self, label: usize) -> Vec<(f64, i64)> {
        let mut edges: Vec<(f64, i64)> = self
            .builds
            .iter()
            .filter(|b| b.label == label)
            .flat_map(|b| [(b.arrival, 1), (b.arrival + b.duration, -1)])
            .collect();
        edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        edges
    }
}

/// How long builds take: log-normal, median 7 min, most between 2 and 25 min, clamped
/// to [30 s, 90 min].
fn duration(rng: &mut Rng) -> f64 {
    rng.lognormal(420.0, 0.7).clamp(30.0, 5400.0)
}

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Relative push rate by hour of day for the busy shape: quiet nights, a ramp from 7:00,
/// two busy spans around a lunch dip, a tail into the evening (WePay Data 1).
const BUSY_HOURS: [f64; 24] = [
    0.04, 0.03, 0.03, 0.03, 0.03, 0.05, 0.12, 0.35, 0.75, 1.0, 1.0, 0.95, 0.65, 0.85, 1.0, 1.0,
    0.9, 0.7, 0.45, 0.3, 0.2, 0.12, 0.08, 0.05,
];

fn sample_hour(rng: &mut Rng, weights: &[f64; 24]) -> f64 {
    let total: f64 = weights.iter().sum();
    let mut x = rng.uniform() * total;
    for (hour, w) in weights.iter().enumerate() {
        if x < *w {
            return (hour as f64 + x / w) * 3600.0;
        }
        x -= w;
    }
    23.999 * 3600.0
}

/// A busy business-hours day: pushes arrive by the hourly profile and each starts 1-6
/// builds at once (a build chain's fan-out), `per_day` builds a day.
pub fn busy(seed: u64, per_day: usize, days: usize) -> Workload {
    let mut rng = Rng::derive(seed, 0xB05E);
    let mut builds = Vec::with_capacity(per_day * days);
    for day in 0..days {
        let mut count = 0;
        while count < per_day {
            let at = day as f64 * DAY + sample_hour(&mut rng, &BUSY_HOURS);
            // 1 + geometric, mean ~2.
            let mut fan_out = 1;
            while fan_out < 6 && rng.uniform() < 0.5 {
                fan_out += 1;
            }
            for _ in 0..fan_out.min(per_day - count) {
                builds.push(Build {
                    arrival: at + rng.range(0.0, 20.0),
                    duration: duration(&mut rng),
                    label: 0,
                });
                count += 1;
            }
        }
    }
    finish("busy", vec!["linux".into()], builds, days)
}

/// A sparse, spiky day: a thin trickle through the working day (30 % of the builds) and
/// 6-9 bursts of different sizes (a nightly fan-out, a release, a merge train; 300
/// builds a day make bursts of about 12 to 50), each arriving within three minutes
/// (WePay Data 2).
pub fn sparse(seed: u64, per_day: usize, days: usize) -> Workload {
    let mut rng = Rng::derive(seed, 0x5BA2);
    let mut builds = Vec::with_capacity(per_day * days);
    for day in 0..days {
        let base = day as f64 * DAY;
        let trickle = per_day * 3 / 10;
        for _ in 0..trickle {
            builds.push(Build {
                arrival: base + rng.range(7.0 * 3600.0, 20.0 * 3600.0),
                duration: duration(&mut rng),
                label: 0,
            });
        }
        let spikes = 6 + rng.below(4);
        let weights: Vec<f64> = (0..spikes).map(|_| rng.range(0.5, 1.5)).collect();
        let total: f64 = weights.iter().sum();
        let in_spikes = per_day - trickle;
        let mut placed = 0;
        for (i, w) in weights.iter().enumerate() {
            let size = if i + 1 == spikes {
                in_spikes - placed
            } else {
                ((in_spikes as f64 * w / total).round() as usize).min(in_spikes - placed)
            };
            placed += size;
            let at = base + rng.range(5.0 * 3600.0, 23.0 * 3600.0);
            for _ in 0..size {
                builds.push(Build {
                    arrival: at + rng.range(0.0, 180.0),
                    duration: duration(&mut rng),
                    label: 0,
                });
            }
        }
    }
    finish("sparse", vec!["linux".into()], builds, days)
}

fn finish(name: &str, labels: Vec<String>, mut builds: Vec<Build>, days: usize) -> Workload {
    builds.sort_by(|a, b| a.arrival.total_cmp(&b.arrival));
    Workload {
        name: name.into(),
        labels,
        builds,
        horizon: days as f64 * DAY,
        start: monday(),
        recorded_waits: Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    #[error("{file}: {reason}")]
    Io { file: String, reason: String },
    #[error("{file}:{line}: column {column} ({name}): {reason}")]
    Field {
        file: String,
        line: usize,
        column: usize,
        name: &'static str,
        reason: String,
    },
    #[error(
        "{file}:{line}: expected 4 columns (queued_at, started_at, finished_at, label), found {found}"
    )]
    Columns {
        file: String,
        line: usize,
        found: usize,
    },
    #[error("{file}: no builds")]
    Empty { file: String },
}

const COLUMNS: [&str; 4] = ["queued_at", "started_at", "finished_at", "label"];

pub fn from_csv_file(path: &str) -> Result<Workload, CsvError> {
    let text = std::fs::read_to_string(path).map_err(|e| CsvError::Io {
        file: path.to_owned(),
        reason: e.to_string(),
    })?;
    from_csv(&text, path)
}

/// Parses `queued_at, started_at, finished_at, label` (a header line is optional).
/// Timestamps: RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or Unix seconds or
/// milliseconds. Arrival is `queued_at`; duration is `finished_at - started_at`.
pub fn from_csv(text: &str, file: &str) -> Result<Workload, CsvError> {
    struct Row {
        queued: f64,
        started: f64,
        finished: f64,
        label: String,
    }
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields = split_csv(line);
        if rows.is_empty()
            && fields
                .first()
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("queued_at"))
        {
            continue;
        }
        if fields.len() != 4 {
            return Err(CsvError::Columns {
                file: file.to_owned(),
                line: number,
                found: fields.len(),
            });
        }
        let field_error = |column: usize, reason: String| CsvError::Field {
            file: file.to_owned(),
            line: number,
            column: column + 1,
            name: COLUMNS[column],
            reason,
        };
        let mut times = [0.0; 3];
        for (column, slot) in times.iter_mut().enumerate() {
            *slot = parse_time(fields[column].trim()).map_err(|r| field_error(column, r))?;
        }
        let [queued, started, finished] = times;
        if started < queued {
            return Err(field_error(1, "started before it was queued".into()));
        }
        if finished < started {
            return Err(field_error(2, "finished before it started".into()));
        }
        let label = fields[3].trim();
        let label = if label.is_empty() { "any" } else { label };
        rules::LabelExpr::parse(label).map_err(|e| field_error(3, e.to_string()))?;
        rows.push(Row {
            queued,
            started,
            finished,
            label: label.to_owned(),
        });
    }
    if rows.is_empty() {
        return Err(CsvError::Empty {
            file: file.to_owned(),
        });
    }
    let first = rows.iter().map(|r| r.queued).fold(f64::MAX, f64::min);
    let last = rows.iter().map(|r| r.finished).fold(f64::MIN, f64::max);
    let midnight = (first / DAY).floor() * DAY;
    let start = Utc
        .timestamp_opt(midnight as i64, 0)
        .single()
        .unwrap_or_default();
    let mut labels: Vec<String> = Vec::new();
    let mut builds = Vec::with_capacity(rows.len());
    let mut recorded_waits = Vec::with_capacity(rows.len());
    for row in &rows {
        let label = match labels.iter().position(|l| *l == row.label) {
            Some(i) => i,
            None => {
                labels.push(row.label.clone());
                labels.len() - 1
            }
        };
        builds.push(Build {
            arrival: row.queued - midnight,
            duration: (row.finished - row.started).max(1.0),
            label,
        });
        recorded_waits.push(row.started - row.queued);
    }
    let days = ((last - midnight) / DAY).ceil().max(1.0) as usize;
    let mut workload = finish(
        &format!("csv:{}", file.rsplit('/').next().unwrap_or(file)),
        labels,
        builds,
        days,
    );
    workload.start = start;
    workload.recorded_waits = recorded_waits;
    Ok(workload)
}

fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    fields
}

/// Seconds since the Unix epoch.
fn parse_time(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Ok(number) = text.parse::<f64>() {
        if !number.is_finite() || number < 0.0 {
            return Err(format!("{text:?} is not a timestamp"));
        }
        // Jenkins exports milliseconds; anything past the year 5000 in seconds is ms.
        return Ok(if number > 1e11 {
            number / 1000.0
        } else {
            number
        });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis() as f64 / 1000.0);
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc().timestamp_millis() as f64 / 1000.0);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp() as f64);
    }
    Err(format!(
        "{text:?} is not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS, or Unix seconds/ms)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_per_seed_and_exact_in_count() {
        for make in [busy, sparse] {
            let a = make(42, 500, 2);
            let b = make(42, 500, 2);
            let c = make(43, 500, 2);
            assert_eq!(a, b);
            assert_ne!(a.builds, c.builds);
            assert_eq!(a.builds.len(), 1000);
            assert!(a.builds.windows(2).all(|w| w[0].arrival <= w[1].arrival));
            assert!(
                a.builds
                    .iter()
                    .all(|b| b.arrival >= 0.0 && b.arrival < 2.0 * DAY + 200.0)
            );
        }
    }

    #[test]
    fn the_busy_day_is_busy_in_business_hours_and_the_sparse_day_comes_in_spikes() {
        let day = busy(1, 2000, 1);
        let office = day
            .builds
            .iter()
            .filter(|b| (8.0 * 3600.0..18.0 * 3600.0).contains(&b.arrival))
            .count();
        assert!(office > 1400, "{office} of 2000 in office hours");
        let day = sparse(1, 300, 1);
        // Most builds arrive in some 3-minute window together with 10+ others.
        let crowded = day
            .builds
            .iter()
            .filter(|b| {
                day.builds
                    .iter()
                    .filter(|o| (o.arrival - b.arrival).abs() < 180.0)
                    .count()
                    > 10
            })
            .count();
        assert!(crowded > 150, "{crowded} of 300 in spikes");
    }

    #[test]
    fn imports_a_csv_in_any_usual_timestamp_format() {
        let text = "queued_at,started_at,finished_at,label\n\
            2026-03-02T09:00:00Z,2026-03-02T09:00:30Z,2026-03-02T09:10:30Z,linux\n\
            2026-03-02 09:01:00,2026-03-02 09:01:00,2026-03-02 09:03:00,\"linux && docker\"\n\
            1772442120,1772442180,1772442240,linux\n\
            1772442180000,1772442180000,1772442300000,\n";
        let w = from_csv(text, "builds.csv").expect("parses");
        assert_eq!(w.labels, vec!["linux", "linux && docker", "any"]);
        assert_eq!(w.builds.len(), 4);
        assert_eq!(w.builds[0].arrival, 9.0 * 3600.0);
        assert_eq!(w.builds[0].duration, 600.0);
        assert_eq!(w.builds[1].label, 1);
        assert_eq!(w.recorded_waits, vec![30.0, 0.0, 60.0, 0.0]);
        assert_eq!(w.horizon, DAY);
        assert_eq!(w.start.to_rfc3339(), "2026-03-02T00:00:00+00:00");
    }

    #[test]
    fn csv_errors_name_the_line_and_column() {
        let cases = [
            (
                "2026-03-02T09:00:00Z,2026-03-02T09:00:30Z,soon,linux\n",
                "b.csv:1: column 3 (finished_at): \"soon\" is not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS, or Unix seconds/ms)",
            ),
            (
                "queued_at,started_at,finished_at,label\n100,90,200,linux\n",
                "b.csv:2: column 2 (started_at): started before it was queued",
            ),
            (
                "100,150,120,linux\n",
                "b.csv:1: column 3 (finished_at): finished before it started",
            ),
            (
                "100,150,200\n",
                "b.csv:1: expected 4 columns (queued_at, started_at, finished_at, label), found 3",
            ),
            (
                "\n100,150,200,linux\n,150,200,linux\n",
                "b.csv:3: column 1 (queued_at): empty timestamp",
            ),
            (
                "100,150,200,linux &&\n",
                "b.csv:1: column 4 (label): invalid label expression \"linux &&\": expression ends too early at character 8",
            ),
            (
                "queued_at,started_at,finished_at,label\n",
                "b.csv: no builds",
            ),
        ];
        for (text, message) in cases {
            let err = from_csv(text, "b.csv").expect_err(text);
            assert_eq!(err.to_string(), message, "{text}");
        }
    }
}
