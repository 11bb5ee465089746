//! Real builds from a CSV anyone can export from Jenkins or TeamCity: `queued_at,
//! started_at, finished_at, label`; arrival is `queued_at`, duration `finished_at -
//! started_at`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::day::{Build, DAY, Workload, finish};

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
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields = split_csv(line);
        let is_header = fields
            .first()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("queued_at"));
        if rows.is_empty() && is_header {
            continue;
        }
        rows.push(parse_row(&fields, file, index + 1)?);
    }
    if rows.is_empty() {
        return Err(CsvError::Empty {
            file: file.to_owned(),
        });
    }
    Ok(workload(&rows, file))
}

/// One build as the CSV records it: Unix seconds, and its label expression.
struct Row {
    queued: f64,
    started: f64,
    finished: f64,
    label: String,
}

fn parse_row(fields: &[String], file: &str, line: usize) -> Result<Row, CsvError> {
    if fields.len() != 4 {
        return Err(CsvError::Columns {
            file: file.to_owned(),
            line,
            found: fields.len(),
        });
    }
    let field_error = |column: usize, reason: String| CsvError::Field {
        file: file.to_owned(),
        line,
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
    Ok(Row {
        queued,
        started,
        finished,
        label: label.to_owned(),
    })
}

/// The days the rows span, from the midnight before the first is queued; one label per
/// distinct expression, in order of appearance.
fn workload(rows: &[Row], file: &str) -> Workload {
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
    for row in rows {
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
    workload
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
