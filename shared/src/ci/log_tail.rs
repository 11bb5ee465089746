//! A bounded tail of a build log, read from a streamed response: both servers' log
//! endpoints may send far more than the tail advise-retry reads.

use crate::ci::error::{CiError, Problem};
use crate::ports::builds::LogTail;

/// Reads a text body keeping only its last `keep` bytes; refuses (TooLarge) a body of
/// more than `scan_limit` bytes. `mid_log`: the body starts inside the log (a range or
/// an offset was asked for). A cut start is dropped up to the next line.
pub(crate) async fn read_tail(
    mut response: reqwest::Response,
    keep: usize,
    scan_limit: usize,
    mid_log: bool,
    fail: impl Fn(Problem) -> CiError,
) -> Result<LogTail, CiError> {
    let mut tail = TailBuffer::new(keep, scan_limit);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => tail.push(&chunk).map_err(&fail)?,
            Ok(None) => return Ok(tail.finish(mid_log)),
            Err(e) => return Err(fail(Problem::Unreachable(format!("log cut off: {e}")))),
        }
    }
}

/// The last `keep` bytes of a stream, in at most twice that much memory.
pub(crate) struct TailBuffer {
    keep: usize,
    scan_limit: usize,
    kept: Vec<u8>,
    total: usize,
}

impl TailBuffer {
    pub(crate) fn new(keep: usize, scan_limit: usize) -> TailBuffer {
        TailBuffer {
            keep,
            scan_limit,
            kept: Vec::new(),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), Problem> {
        self.total += chunk.len();
        if self.total > self.scan_limit {
            return Err(Problem::TooLarge {
                limit: self.scan_limit,
            });
        }
        self.kept.extend_from_slice(chunk);
        if self.kept.len() > self.keep.saturating_mul(2).max(64 * 1024) {
            // One byte more than the tail: it tells whether the tail starts a line.
            self.kept.drain(..self.kept.len() - self.keep - 1);
        }
        Ok(())
    }

    pub(crate) fn finish(mut self, mid_log: bool) -> LogTail {
        let truncated = mid_log || self.total > self.keep;
        // Whether the kept text begins a line: known when the byte before it was kept.
        let starts_line = match self.kept.len().checked_sub(self.keep + 1) {
            Some(before) => self.kept[before] == b'\n',
            None => !truncated,
        };
        if self.kept.len() > self.keep {
            self.kept.drain(..self.kept.len() - self.keep);
        }
        let text = String::from_utf8_lossy(&self.kept).into_owned();
        let text = match (starts_line, text.find('\n')) {
            (false, Some(newline)) => text[newline + 1..].to_owned(),
            _ => text,
        };
        LogTail { text, truncated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_of_a_stream_from_a_whole_line() {
        let mut tail = TailBuffer::new(10, 1_000_000);
        for _ in 0..20_000 {
            tail.push(b"line one\n").expect("under the limit");
        }
        tail.push(b"last line\n").expect("under the limit");
        assert!(tail.kept.len() <= 64 * 1024, "bounded memory");
        assert_eq!(
            tail.finish(false),
            LogTail {
                text: "last line\n".into(),
                truncated: true
            }
        );

        let mut short = TailBuffer::new(100, 1000);
        short.push(b"whole log\n").expect("fits");
        assert_eq!(
            short.finish(false),
            LogTail {
                text: "whole log\n".into(),
                truncated: false
            }
        );
        for (keep, text) in [(10, ""), (12, "second line\n"), (14, "second line\n")] {
            let mut cut = TailBuffer::new(keep, 1_000_000);
            cut.push(b"first line\nsecond line\n").expect("fits");
            assert_eq!(
                cut.finish(false).text,
                text,
                "keep {keep}: only whole lines"
            );
        }
        let mut ranged = TailBuffer::new(100, 1000);
        ranged.push(b"ut line\nnext\n").expect("fits");
        assert_eq!(
            ranged.finish(true).text,
            "next\n",
            "a range starts mid-line"
        );

        let mut huge = TailBuffer::new(10, 25);
        huge.push(&[b'x'; 20]).expect("fits");
        assert_eq!(huge.push(&[b'x'; 20]), Err(Problem::TooLarge { limit: 25 }));
    }

    use proptest::prelude::*;

    /// Log bytes: lines, long runs without a newline, multi-byte characters to cut in half,
    /// invalid UTF-8; now and then past the 64 KiB the buffer holds before it trims.
    fn log_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"\n".to_vec()),
            Just("é€𝄞".as_bytes().to_vec()),
            Just(vec![0xff, 0xc3]),
            prop::collection::vec(any::<u8>(), 0..40),
            "[ -~]{0,40}\n?".prop_map(String::into_bytes),
        ];
        let body = prop::collection::vec(piece, 0..30).prop_map(|p| p.concat());
        (
            body,
            prop_oneof![4 => Just(0usize), 1 => 60_000usize..140_000],
        )
            .prop_map(|(body, filler)| {
                let mut log = vec![b'x'; filler];
                if filler > 0 {
                    log.push(b'\n');
                }
                log.extend(body);
                log
            })
    }

    /// The tail `finish` must give, from the whole log at once: the last `keep` bytes,
    /// from the first whole line in them unless they start one.
    fn expected(log: &[u8], keep: usize, mid_log: bool) -> LogTail {
        let truncated = mid_log || log.len() > keep;
        let from = log.len().saturating_sub(keep);
        let starts_line = if from > 0 {
            log[from - 1] == b'\n'
        } else {
            !truncated
        };
        let text = String::from_utf8_lossy(&log[from..]).into_owned();
        let text = match (starts_line, text.find('\n')) {
            (false, Some(newline)) => text[newline + 1..].to_owned(),
            _ => text,
        };
        LogTail { text, truncated }
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_tail_does_not_depend_on_chunk_boundaries(
            log in log_bytes(),
            keep in prop_oneof![0usize..64, 64usize..4096, Just(65_536)],
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            mid_log in any::<bool>(),
        ) {
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(log.len() + 1)).collect();
            at.extend([0, log.len()]);
            at.sort_unstable();
            let mut tail = TailBuffer::new(keep, usize::MAX);
            for pair in at.windows(2) {
                tail.push(&log[pair[0]..pair[1]]).expect("no scan limit");
                // Memory stays bounded whatever the chunks.
                prop_assert!(tail.kept.len() <= keep.saturating_mul(2).max(64 * 1024), "{}", tail.kept.len());
            }
            let got = tail.finish(mid_log);
            let want = expected(&log, keep, mid_log);
            prop_assert_eq!(&got, &want);
            // The text is the end of the log's last `keep` bytes.
            let window = String::from_utf8_lossy(&log[log.len().saturating_sub(keep)..]).into_owned();
            prop_assert!(window.ends_with(&got.text));
            if log.is_ascii() {
                prop_assert!(got.text.len() <= keep && log.ends_with(got.text.as_bytes()));
            }
        }

        #[test]
        fn a_stream_past_the_scan_limit_is_refused(
            chunks in prop::collection::vec(0usize..300, 0..10),
            keep in 0usize..200,
            scan_limit in 0usize..1500,
        ) {
            let mut tail = TailBuffer::new(keep, scan_limit);
            let mut total = 0usize;
            for len in chunks {
                total += len;
                let pushed = tail.push(&vec![b'a'; len]);
                if total > scan_limit {
                    prop_assert_eq!(pushed, Err(Problem::TooLarge { limit: scan_limit }));
                    return Ok(());
                }
                prop_assert_eq!(pushed, Ok(()));
            }
            prop_assert!(tail.finish(false).text.len() <= keep);
        }
    }
}
