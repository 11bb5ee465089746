//! The webhook's authentication: HMAC-SHA256 over `timestamp + "." + body` with a shared
//! key, sent as `X-CI-Fleet-Timestamp: <unix seconds>` and
//! `X-CI-Fleet-Signature: sha256=<hex>`. The comparison is constant-time (`hmac`'s
//! `verify_slice`); a correctly signed request whose timestamp is outside the window is
//! refused as a replay.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-ci-fleet-timestamp";
pub const SIGNATURE_HEADER: &str = "x-ci-fleet-signature";

type HmacSha256 = Hmac<Sha256>;

/// Why a request is not authenticated. Every variant is a 401; the message says which
/// (it reveals nothing a sender with the key does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Unsigned(&'static str),
    Malformed(&'static str),
    BadSignature,
    Replay { skew_seconds: i64, window: u64 },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Unsigned(header) => write!(f, "unsigned request: no {header} header"),
            Rejection::Malformed(what) => write!(f, "malformed {what}"),
            Rejection::BadSignature => {
                f.write_str("bad signature: HMAC-SHA256 of timestamp + \".\" + body does not match")
            }
            Rejection::Replay {
                skew_seconds,
                window,
            } => {
                let (by, when) = if *skew_seconds < 0 {
                    (skew_seconds.unsigned_abs(), "old")
                } else {
                    (skew_seconds.unsigned_abs(), "in the future")
                };
                write!(
                    f,
                    "timestamp is {by} s {when}, outside the {window} s replay window (a replay, or a clock off)"
                )
            }
        }
    }
}

fn mac(key: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `sha256=<hex>` for `timestamp` and `body`: what a sender puts in the signature header.
#[cfg(test)]
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(key, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("sha256={}", hex::encode(digest))
}

/// The 32 bytes of an HMAC-SHA256 in hex; `None` for anything else.
fn digest_of(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok().filter(|bytes| bytes.len() == 32)
}

/// Checks the two headers against `body` at `now` (unix seconds).
pub fn verify(
    key: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
    window: u64,
) -> Result<(), Rejection> {
    let timestamp = timestamp
        .map(str::trim)
        .ok_or(Rejection::Unsigned("X-CI-Fleet-Timestamp"))?;
    let signature = signature
        .map(str::trim)
        .ok_or(Rejection::Unsigned("X-CI-Fleet-Signature"))?;
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Rejection::Malformed(
            "X-CI-Fleet-Timestamp (unix seconds expected)",
        ));
    }
    let digits = signature
        .strip_prefix("sha256=")
        .ok_or(Rejection::Malformed(
            "X-CI-Fleet-Signature (sha256=<hex> expected)",
        ))?;
    let expected = digest_of(digits).ok_or(Rejection::Malformed(
        "X-CI-Fleet-Signature (64 hex digits expected)",
    ))?;
    mac(key, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| Rejection::BadSignature)?;
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| Rejection::Malformed("X-CI-Fleet-Timestamp"))?;
    let skew_seconds = sent - now;
    if skew_seconds.unsigned_abs() > window {
        return Err(Rejection::Replay {
            skew_seconds,
            window,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_795_000_000;

    #[test]
    fn known_answer() {
        // Same as: printf '%s' '1795000000.{"a":1}' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
        assert_eq!(
            sign(KEY, NOW, br#"{"a":1}"#),
            "sha256=7833cde52f3d744876a6b0ce5b50b775d9e19c11d9bac94a9e0f9adfd5ee7b8a"
        );
    }

    #[test]
    fn accepts_only_what_the_key_signed_within_the_window() {
        let body = br#"{"build":{"number":41}}"#;
        let good = sign(KEY, NOW, body);
        let ts = NOW.to_string();
        let check = |key: &[u8], ts: Option<&str>, sig: Option<&str>, body: &[u8], now: i64| {
            verify(key, ts, sig, body, now, 300)
        };
        let cases: Vec<(&str, Result<(), Rejection>)> = vec![
            ("good", check(KEY, Some(&ts), Some(&good), body, NOW)),
            (
                "good, 299 s later",
                check(KEY, Some(&ts), Some(&good), body, NOW + 299),
            ),
            ("no timestamp", check(KEY, None, Some(&good), body, NOW)),
            ("no signature", check(KEY, Some(&ts), None, body, NOW)),
            (
                "tampered body",
                check(
                    KEY,
                    Some(&ts),
                    Some(&good),
                    br#"{"build":{"number":42}}"#,
                    NOW,
                ),
            ),
            (
                "other key",
                check(
                    b"another key of enough length!!",
                    Some(&ts),
                    Some(&good),
                    body,
                    NOW,
                ),
            ),
            (
                "timestamp changed (it is signed too)",
                check(KEY, Some("1795000001"), Some(&good), body, NOW),
            ),
            (
                "replayed 301 s later",
                check(KEY, Some(&ts), Some(&good), body, NOW + 301),
            ),
            (
                "from the future",
                check(KEY, Some(&ts), Some(&good), body, NOW - 400),
            ),
            (
                "no algorithm prefix",
                check(KEY, Some(&ts), Some(&good[7..]), body, NOW),
            ),
            (
                "short hex",
                check(KEY, Some(&ts), Some("sha256=abcd"), body, NOW),
            ),
            (
                "not a number",
                check(KEY, Some("yesterday"), Some(&good), body, NOW),
            ),
        ];
        let expected = [
            Ok(()),
            Ok(()),
            Err(Rejection::Unsigned("X-CI-Fleet-Timestamp")),
            Err(Rejection::Unsigned("X-CI-Fleet-Signature")),
            Err(Rejection::BadSignature),
            Err(Rejection::BadSignature),
            Err(Rejection::BadSignature),
            Err(Rejection::Replay {
                skew_seconds: -301,
                window: 300,
            }),
            Err(Rejection::Replay {
                skew_seconds: 400,
                window: 300,
            }),
            Err(Rejection::Malformed(
                "X-CI-Fleet-Signature (sha256=<hex> expected)",
            )),
            Err(Rejection::Malformed(
                "X-CI-Fleet-Signature (64 hex digits expected)",
            )),
            Err(Rejection::Malformed(
                "X-CI-Fleet-Timestamp (unix seconds expected)",
            )),
        ];
        assert_eq!(cases.len(), expected.len());
        for ((name, got), want) in cases.into_iter().zip(expected) {
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn says_which_way_the_clock_is_off() {
        let old = Rejection::Replay {
            skew_seconds: -301,
            window: 300,
        };
        assert_eq!(
            old.to_string(),
            "timestamp is 301 s old, outside the 300 s replay window (a replay, or a clock off)"
        );
        let ahead = Rejection::Replay {
            skew_seconds: 400,
            window: 300,
        };
        assert!(
            ahead
                .to_string()
                .starts_with("timestamp is 400 s in the future")
        );
    }

    #[test]
    fn decodes_hex_strictly() {
        let digest = format!("00ff10{}", "0".repeat(58));
        assert_eq!(
            digest_of(&digest).map(|bytes| bytes[..3].to_vec()),
            Some(vec![0, 255, 16])
        );
        assert_eq!(digest_of("0"), None);
        assert_eq!(digest_of(&"zz".repeat(32)), None);
        assert_eq!(
            digest_of(&format!("é1{}", "0".repeat(61))),
            None,
            "non-ASCII is refused, not split"
        );
        assert_eq!(digest_of("00ff10"), None, "a digest is 32 bytes");
    }

    use proptest::prelude::*;

    /// Unix seconds as a sender's clock gives them: up to the 12 digits the header takes.
    fn seconds() -> impl Strategy<Value = i64> {
        prop_oneof![1_700_000_000i64..1_900_000_000, 0i64..=999_999_999_999]
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn digests_are_32_bytes_of_hex_in_either_case(
            bytes in prop::collection::vec(any::<u8>(), 0..40),
            upper in any::<bool>(),
            text in prop_oneof![".{0,80}", "[0-9a-fA-FxX ]{60,68}"],
        ) {
            let digits = if upper { hex::encode_upper(&bytes) } else { hex::encode(&bytes) };
            prop_assert_eq!(digest_of(&digits), (bytes.len() == 32).then(|| bytes.clone()));
            if let Some(digest) = digest_of(&text) {
                prop_assert!(digest.len() == 32 && hex::encode(digest.as_slice()) == text.to_ascii_lowercase());
            }
        }

        #[test]
        fn what_the_key_signed_passes_within_the_window_and_nothing_else(
            key in prop::collection::vec(any::<u8>(), 0..80),
            body in prop::collection::vec(any::<u8>(), 0..300),
            sent in seconds(),
            skew in -1_000i64..1_000,
            window in 0u64..900,
            padding in prop::sample::select(vec!["", " ", "\t", "\r\n"]),
            upper in any::<bool>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let signed = sign(&key, sent, &body);
            let signature = if upper { format!("sha256={}", signed[7..].to_ascii_uppercase()) } else { signed };
            let (ts, sig) = (format!("{padding}{sent}{padding}"), format!("{padding}{signature}"));
            let now = sent - skew;
            let expected = if skew.unsigned_abs() <= window {
                Ok(())
            } else {
                Err(Rejection::Replay { skew_seconds: skew, window })
            };
            prop_assert_eq!(verify(&key, Some(&ts), Some(&sig), &body, now, window), expected);
            // One bit changed anywhere in the body, or another second: refused.
            let mut tampered = body.clone();
            if tampered.is_empty() {
                tampered.push(0);
            } else {
                tampered[flip.index(body.len())] ^= 1;
            }
            prop_assert_eq!(verify(&key, Some(&ts), Some(&sig), &tampered, sent, window), Err(Rejection::BadSignature));
            let other = (sent + 1).to_string();
            if other.len() <= 12 {
                prop_assert_eq!(verify(&key, Some(&other), Some(&sig), &body, sent, window), Err(Rejection::BadSignature));
            }
        }

        #[test]
        fn any_headers_are_refused_with_a_reason_or_were_signed(
            timestamp in proptest::option::of(prop_oneof![".{0,20}", "[0-9 ]{0,14}", "-?[0-9]{1,12}"]),
            signature in proptest::option::of(prop_oneof![".{0,80}", "sha256=[0-9a-fA-F]{0,70}", " ?sha256=[0-9a-f]{64} ?"]),
            body in prop::collection::vec(any::<u8>(), 0..64),
            now in seconds(),
            window in any::<u64>(),
        ) {
            match verify(KEY, timestamp.as_deref(), signature.as_deref(), &body, now, window) {
                Err(rejection) => prop_assert!(!rejection.to_string().is_empty()),
                Ok(()) => {
                    // Only a signature of this body at this timestamp passes.
                    let sent: i64 = timestamp.as_deref().unwrap_or_default().trim().parse().expect("a timestamp");
                    let signature = signature.unwrap_or_default().trim().to_ascii_lowercase();
                    prop_assert_eq!(signature, sign(KEY, sent, &body));
                }
            }
        }
    }
}
