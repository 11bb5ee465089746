//! Where passes come from: pass-list files (one test id per line) and JUnit reports
//! (a file, or a directory of `*.xml` such as Gradle's and Surefire's per-class reports).
//! Reads are cumulative: a test that was seen passing stays passed even if the runner
//! rewrites its report, and a file that did not change since the last read is not parsed
//! again.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use shared::checkpoint::is_test_id;

use crate::junit;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    PassList(PathBuf),
    Junit(PathBuf),
}

pub struct Sources {
    sources: Vec<Source>,
    seen: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    passed: BTreeSet<String>,
}

impl Sources {
    pub fn new(sources: Vec<Source>) -> Sources {
        Sources {
            sources,
            seen: HashMap::new(),
            passed: BTreeSet::new(),
        }
    }

    /// Every test seen passing by the reads so far.
    pub fn passed(&self) -> &BTreeSet<String> {
        &self.passed
    }

    /// Reads the sources again. A file that does not exist yet counts as empty
    /// (the runner has not started); other read errors are returned, after the readable
    /// files were taken in.
    pub fn read(&mut self) -> io::Result<&BTreeSet<String>> {
        let mut first_error = None;
        for source in self.sources.clone() {
            let result = match &source {
                Source::PassList(path) => self.take(path, pass_list),
                Source::Junit(path) if path.is_dir() => self.take_dir(path),
                Source::Junit(path) => self.take(path, junit::passed_tests),
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(&self.passed),
        }
    }

    fn take_dir(&mut self, dir: &Path) -> io::Result<()> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "xml") && p.is_file())
            .collect();
        files.sort();
        for file in files {
            self.take(&file, junit::passed_tests)?;
        }
        Ok(())
    }

    fn take(&mut self, path: &Path, parse: impl Fn(&str) -> Vec<String>) -> io::Result<()> {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(with_path(path, e)),
        };
        let stamp = (meta.len(), meta.modified().ok());
        if self.seen.get(path) == Some(&stamp) {
            return Ok(());
        }
        let bytes = fs::read(path).map_err(|e| with_path(path, e))?;
        // Lossy: a report cut inside a multi-byte character must still yield what came before.
        self.passed.extend(parse(&String::from_utf8_lossy(&bytes)));
        self.seen.insert(path.to_path_buf(), stamp);
        Ok(())
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Test ids of a pass list: complete lines only. The last line counts once its newline
/// is written, so a line caught half-written is not taken for a (different) test id.
pub fn pass_list(text: &str) -> Vec<String> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return Vec::new(),
    };
    complete
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| is_test_id(line))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_list_table() {
        let cases: [(&str, &[&str]); 6] = [
            ("", &[]),
            ("half-written", &[]),
            ("a\nb\n", &["a", "b"]),
            ("a\r\nb\r\nhalf", &["a", "b"]),
            ("a\n\n   \nt::x[1 2]\n", &["a", "t::x[1 2]"]),
            ("\n", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(pass_list(text), expected, "{text:?}");
        }
    }

    #[test]
    fn sources_accumulate_and_tolerate_missing_files() {
        let dir = std::env::temp_dir().join(format!("ci-checkpoint-src-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("reports")).expect("creates dir");
        let list = dir.join("passed.txt");
        let mut sources = Sources::new(vec![
            Source::PassList(list.clone()),
            Source::Junit(dir.join("reports")),
            Source::Junit(dir.join("missing.xml")),
        ]);
        assert!(sources.read().expect("reads").is_empty());

        fs::write(&list, "a\nb\n").expect("writes");
        fs::write(
            dir.join("reports/TEST-x.xml"),
            r#"<testsuite><testcase classname="X" name="t"/>"#,
        )
        .expect("writes");
        fs::write(dir.join("reports/notes.txt"), "<testcase name=\"no\"/>").expect("writes");
        let got: Vec<String> = sources.read().expect("reads").iter().cloned().collect();
        assert_eq!(got, ["X::t", "a", "b"]);

        // The runner rewrites its list from scratch: what passed stays passed.
        fs::write(&list, "c\n").expect("writes");
        let got: Vec<String> = sources.read().expect("reads").iter().cloned().collect();
        assert_eq!(got, ["X::t", "a", "b", "c"]);
        let _ = fs::remove_dir_all(&dir);
    }

    use proptest::prelude::*;

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn a_pass_list_is_its_complete_usable_lines(
            lines in prop::collection::vec("[^\n]{0,20}", 0..10),
            crlf in any::<bool>(),
            half_written in "[^\n]{0,10}",
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let text: String = lines.iter().map(|l| format!("{l}{end}")).collect();
            let expected: Vec<String> = lines
                .iter()
                .map(|l| if crlf { l.as_str() } else { l.strip_suffix('\r').unwrap_or(l) })
                .filter(|l| is_test_id(l))
                .map(str::to_owned)
                .collect();
            prop_assert_eq!(&pass_list(&text), &expected);
            // A line caught half-written is not read until its newline is.
            prop_assert_eq!(&pass_list(&format!("{text}{half_written}")), &expected);
        }

        #[test]
        fn any_text_gives_usable_ids(text in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            for text in [text, String::from_utf8_lossy(&bytes).into_owned()] {
                for id in pass_list(&text) {
                    prop_assert!(is_test_id(&id) && text.contains(&id), "{id:?}");
                }
            }
        }
    }
}
