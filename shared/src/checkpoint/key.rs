//! Names that become S3 key segments: the build's checkpoint key, the instance id, and
//! test ids. Validated here so a bad value is refused with a clear message before any
//! S3 call, and so no value can escape its segment (a `/` or `..` in a key would).

use std::fmt;

use crate::error::{Error, Result};

/// The longest checkpoint key accepted, in bytes. Encoded it is at most three times
/// longer, which keeps every object key well inside S3's 1024-byte limit.
pub const MAX_KEY_BYTES: usize = 256;

/// The longest test id kept; longer ones are dropped (the test simply runs again).
pub const MAX_TEST_ID_BYTES: usize = 4096;

/// A build's checkpoint key (stable across retries: job + commit + shard, say) and its
/// encoding as one S3 key segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointKey {
    raw: String,
    encoded: String,
}

impl CheckpointKey {
    /// Trims surrounding whitespace (a key built from shell variables often carries a
    /// newline) and refuses empty or over-long keys.
    pub fn parse(raw: &str) -> Result<CheckpointKey> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Error::Failed(
                "checkpoint key is empty: set --key or CI_CHECKPOINT_KEY (e.g. job + commit + shard)"
                    .into(),
            ));
        }
        if raw.len() > MAX_KEY_BYTES {
            return Err(Error::Failed(format!(
                "checkpoint key is {} bytes long, more than {MAX_KEY_BYTES}: use a shorter key (e.g. hash the job name)",
                raw.len()
            )));
        }
        Ok(CheckpointKey {
            raw: raw.to_owned(),
            encoded: encode(raw),
        })
    }

    /// The key as the user gave it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The key as one S3 key segment.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }
}

impl fmt::Display for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Letters, digits, `-`, `_` and `.` stay as they are (keys stay readable in the S3
/// console); every other byte becomes `!XX` (hex). `!` is itself escaped, so the
/// encoding is one-to-one, and a leading `.` is escaped so no segment is `.` or `..`.
fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for (i, byte) in raw.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
        if plain && !(i == 0 && byte == b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("!{byte:02X}"));
        }
    }
    out
}

/// Instance ids name the claim object: letters, digits and `-`, at most 64 characters
/// (real ones look like `i-0123456789abcdef0`).
pub fn validate_instance_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "instance id {id:?} is not an EC2 instance id (letters, digits and '-', at most 64)"
        )))
    }
}

/// The highest executor number a claim may name (Jenkins' `EXECUTOR_NUMBER` starts at 0).
pub const MAX_SLOT: u32 = 255;

/// The executor slot a claim is for: the executor's number, 0 to `MAX_SLOT`, as Jenkins'
/// `EXECUTOR_NUMBER` gives it. A number, so the seal can read an instance's claims
/// directly (slots 0 to executors − 1) instead of listing them.
pub fn validate_slot(slot: &str) -> Result<u32> {
    slot.parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_SLOT && n.to_string() == slot)
        .ok_or_else(|| {
            Error::Failed(format!(
                "executor slot {slot:?} is not an executor number (0 to {MAX_SLOT}, as Jenkins' EXECUTOR_NUMBER)"
            ))
        })
}

/// A test id can go in the one-per-line pass and skip lists: not blank, no line break,
/// not absurdly long.
pub fn is_test_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= MAX_TEST_ID_BYTES && !id.contains(['\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_to_one_safe_segment() {
        let cases = [
            ("app-main-3f2a1c-shard-1", "app-main-3f2a1c-shard-1"),
            ("  app_1.2  \n", "app_1.2"),
            ("folder/job", "folder!2Fjob"),
            ("a b", "a!20b"),
            ("x!y", "x!21y"),
            ("..", "!2E."),
            (".hidden", "!2Ehidden"),
            ("café", "caf!C3!A9"),
        ];
        for (raw, encoded) in cases {
            let key = CheckpointKey::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(key.encoded(), encoded, "{raw:?}");
            assert_eq!(key.as_str(), raw.trim(), "{raw:?}");
        }
    }

    #[test]
    fn distinct_keys_stay_distinct() {
        let a = CheckpointKey::parse("a/b").map(|k| k.encoded().to_owned());
        let b = CheckpointKey::parse("a!2Fb").map(|k| k.encoded().to_owned());
        assert_ne!(a.ok(), b.ok());
    }

    #[test]
    fn empty_and_long_keys_are_refused_with_the_reason() {
        for raw in ["", "   ", "\n"] {
            let err = CheckpointKey::parse(raw).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains("empty")),
                "{raw:?}: {err:?}"
            );
        }
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        let err = CheckpointKey::parse(&long).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("more than 256")),
            "{err:?}"
        );
        assert!(CheckpointKey::parse(&"k".repeat(MAX_KEY_BYTES)).is_ok());
    }

    #[test]
    fn instance_ids() {
        for ok in ["i-0123456789abcdef0", "i-test1"] {
            assert!(validate_instance_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "i-1/../x", "i 1", &"i".repeat(65)] {
            assert!(validate_instance_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slots() {
        for (ok, n) in [("0", 0), ("3", 3), ("255", 255)] {
            assert_eq!(validate_slot(ok).ok(), Some(n), "{ok}");
        }
        for bad in ["", "-1", "01", "+1", "256", "gpu-1", "1/2", " 1"] {
            assert!(validate_slot(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn test_ids() {
        assert!(is_test_id("tests/test_a.py::test_x[a b]"));
        for bad in ["", "  ", "a\nb", "a\r", &"t".repeat(MAX_TEST_ID_BYTES + 1)] {
            assert!(!is_test_id(bad), "{bad:?}");
        }
    }
}
