//! The wall clock, read in one place: state defaults and timestamps in responses.

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
