//! The retry classifier reads logs nobody controls: any bytes (console notes cut in half,
//! multi-byte characters at the tail's edge, escape sequences) give a verdict, never a
//! panic, and only the tail is read.

use proptest::prelude::*;
use rules::retry::{
    BuildStatus, FailureFacts, MAX_LOG_TAIL_BYTES, classify, clean_log, exit_code_in,
    instance_id_in, tail,
};

/// Log-like text: fragments the classifier looks for, escapes and wide characters.
fn log_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\u{1b}[8mha:////AAAA".to_owned()),
        Just("\u{1b}[0m".to_owned()),
        Just("\u{1b}[".to_owned()),
        Just("exit code ".to_owned()),
        Just("137".to_owned()),
        Just("java.lang.OutOfMemoryError".to_owned()),
        Just("Build timed out (after".to_owned()),
        Just("i-0123abcd".to_owned()),
        Just("\n".to_owned()),
        Just("é€𝄞".to_owned()),
        "[ -~]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn classifying_any_log_never_panics(log in log_text(), status_text in log_text(), status in 0u8..5, max in 0usize..64) {
        let status = [
            BuildStatus::Success,
            BuildStatus::Unstable,
            BuildStatus::Failure,
            BuildStatus::Aborted,
            BuildStatus::NotBuilt,
        ][usize::from(status)];
        let _ = classify(&FailureFacts {
            status,
            log_tail: &log,
            status_text: &status_text,
            interruption: None,
            agent_disconnected: false,
            exit_code: None,
        });
        let cut = tail(&log, max);
        prop_assert!(cut.len() <= max);
        prop_assert!(log.ends_with(cut));
        let cleaned = clean_log(&log);
        prop_assert!(!cleaned.contains('\r'));
        let _ = exit_code_in(&log);
        if let Some(id) = instance_id_in(&log) {
            prop_assert!(id.starts_with("i-") && log.contains(id));
        }
        prop_assert!(tail(&log, MAX_LOG_TAIL_BYTES).len() <= MAX_LOG_TAIL_BYTES);
    }
}
