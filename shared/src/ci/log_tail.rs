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
}
