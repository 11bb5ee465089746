//! Reading a log nobody controls: only its tail, without console notes and colours, and
//! the exit code it reports.

/// The classifier reads at most this many bytes from the end of a log; callers fetch less.
pub const MAX_LOG_TAIL_BYTES: usize = 256 * 1024;

/// The last `max` bytes of `text`, starting on a character boundary and, when cut, at
/// the next whole line.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    match cut.find('\n') {
        Some(newline) => &cut[newline + 1..],
        None => cut,
    }
}

/// Removes Jenkins console notes (`ESC[8mha:…ESC[0m`, which progressive text carries for
/// Pipeline builds), ANSI colour sequences and carriage returns.
pub fn clean_log(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(esc) = rest.find('\u{1b}') {
        out.push_str(&rest[..esc]);
        rest = &rest[esc..];
        if let Some(note) = rest.strip_prefix("\u{1b}[8m") {
            rest = match note.find("\u{1b}[0m") {
                Some(end) => &note[end + 4..],
                None => "",
            };
        } else if let Some(seq) = rest.strip_prefix("\u{1b}[") {
            let end = seq
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or(seq.len(), |i| i + 1);
            rest = &seq[end..];
        } else {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out.retain(|c| c != '\r');
    out
}

/// The last exit code the log reports, in the words of Jenkins' `sh` step, TeamCity,
/// make, shells and Python's subprocess.
pub fn exit_code_in(log: &str) -> Option<i32> {
    const MARKERS: &[&str] = &[
        "exit code ",
        "exited with code ",
        "exit status ",
        "exit status: ",
        "] error ",
    ];
    let lowered = log.to_ascii_lowercase();
    MARKERS
        .iter()
        .filter_map(|marker| {
            let at = lowered.rfind(marker)?;
            let digits: String = lowered[at + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok().map(|code| (at, code))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exit_codes_in_several_words() {
        let cases = [
            ("script returned exit code 137", Some(137)),
            (
                "Process exited with code 1\nProcess exited with code 143",
                Some(143),
            ),
            ("make: *** [all] Error 2", Some(2)),
            (
                "subprocess.CalledProcessError: ... returned non-zero exit status 137.",
                Some(137),
            ),
            ("exit code 1\nlater: exit status 137", Some(137)),
            ("no codes here", None),
        ];
        for (log, code) in cases {
            assert_eq!(exit_code_in(log), code, "{log}");
        }
    }

    #[test]
    fn strips_console_notes_and_colours() {
        assert_eq!(
            clean_log("a\u{1b}[8mha:////AAAA\u{1b}[0mb\u{1b}[1;31mred\u{1b}[0m\r\n"),
            "abred\n"
        );
        assert_eq!(clean_log("unterminated \u{1b}[8mha:xx"), "unterminated ");
    }
}
