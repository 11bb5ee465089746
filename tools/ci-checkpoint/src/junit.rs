//! Passed tests in a JUnit XML report, including one the test runner is still writing.
//!
//! A pass is a `<testcase>` that is closed (self-closing or with its end tag) and has no
//! `<failure>`, `<error>` or `<skipped>` child; its id is `classname::name` (just `name`
//! when there is no classname). `<flakyFailure>`/`<rerunFailure>` (Surefire, nextest)
//! mean it passed on a rerun, so it counts. A report cut off mid-write yields every
//! test case before the cut; the one being written is not counted until it is closed.

use shared::checkpoint::is_test_id;
use xmlparser::{ElementEnd, Token, Tokenizer};

#[derive(Default)]
struct Case {
    name: Option<String>,
    classname: Option<String>,
    failed: bool,
}

impl Case {
    fn id(self) -> Option<String> {
        if self.failed {
            return None;
        }
        let name = self.name.filter(|n| !n.is_empty())?;
        let id = match self.classname.filter(|c| !c.is_empty()) {
            Some(class) => format!("{class}::{name}"),
            None => name,
        };
        is_test_id(&id).then_some(id)
    }
}

pub fn passed_tests(xml: &str) -> Vec<String> {
    let mut passed = Vec::new();
    let mut depth = 0usize;
    // A <testcase> whose start tag is being read, and one whose content is (with the
    // depth inside it, to tell its direct children).
    let mut starting: Option<Case> = None;
    let mut open: Option<(usize, Case)> = None;
    for token in Tokenizer::from(xml) {
        let Ok(token) = token else {
            break; // truncated or malformed from here on: keep what came before
        };
        match token {
            Token::ElementStart { local, .. } => {
                if let Some((inside, case)) = open.as_mut() {
                    if depth == *inside && matches!(local.as_str(), "failure" | "error" | "skipped")
                    {
                        case.failed = true;
                    }
                } else if local.as_str() == "testcase" {
                    starting = Some(Case::default());
                }
            }
            Token::Attribute { local, value, .. } => {
                if let Some(case) = starting.as_mut() {
                    match local.as_str() {
                        "name" => case.name = Some(unescape(value.as_str())),
                        "classname" => case.classname = Some(unescape(value.as_str())),
                        _ => {}
                    }
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Empty => {
                    if let Some(case) = starting.take() {
                        passed.extend(case.id());
                    }
                }
                ElementEnd::Open => {
                    depth += 1;
                    if let Some(case) = starting.take() {
                        open = Some((depth, case));
                    }
                }
                ElementEnd::Close(_, local) => {
                    if local.as_str() == "testcase"
                        && let Some((inside, _)) = open.as_ref()
                        && *inside == depth
                        && let Some((_, case)) = open.take()
                    {
                        passed.extend(case.id());
                    }
                    depth = depth.saturating_sub(1);
                }
            },
            _ => {}
        }
    }
    passed
}

/// Attribute value as an XML parser would hand it over: literal whitespace normalised to
/// spaces, the five named entities and numeric character references decoded. Unknown
/// references are kept as written.
fn unescape(raw: &str) -> String {
    let raw = raw.replace(['\t', '\n', '\r'], " ");
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw.as_str();
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let ch = match &rest[1..semi] {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                other => other
                    .strip_prefix("#x")
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| other.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((ch, semi + 1))
        });
        match decoded {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="7" failures="1" errors="1">
  <testsuite name="app::unit" tests="7">
    <testcase name="parses" classname="app::unit" time="0.01"/>
    <testcase name="fails" classname="app::unit"><failure message="boom">assert failed</failure></testcase>
    <testcase name="errs" classname="app::unit"><error type="panic"/></testcase>
    <testcase name="ignored" classname="app::unit"><skipped/></testcase>
    <testcase name="flaky" classname="app::unit"><flakyFailure message="once"/><system-out><![CDATA[<failure>]]></system-out></testcase>
    <testcase name="cmp[a&lt;b &amp; &quot;c&quot;]" classname="tests.test_x.TestY"><system-out>ok</system-out></testcase>
    <testcase name="no_class"></testcase>
  </testsuite>
</testsuites>
"#;

    #[test]
    fn passes_are_closed_cases_without_failure_error_or_skipped() {
        assert_eq!(
            passed_tests(REPORT),
            [
                "app::unit::parses",
                "app::unit::flaky",
                "tests.test_x.TestY::cmp[a<b & \"c\"]",
                "no_class",
            ]
        );
    }

    #[test]
    fn a_report_cut_anywhere_yields_the_cases_closed_before_the_cut() {
        // Every prefix of the report: never a panic, never a case that is not closed yet,
        // and the passes only grow as the report grows.
        let mut previous = Vec::new();
        for cut in (0..=REPORT.len()).filter(|&i| REPORT.is_char_boundary(i)) {
            let passed = passed_tests(&REPORT[..cut]);
            assert!(
                passed.starts_with(&previous),
                "cut {cut}: {passed:?} after {previous:?}"
            );
            previous = passed;
        }
        assert_eq!(previous.len(), 4);

        let cases = [
            // Cut inside the start tag of a case.
            (
                r#"<testsuite><testcase name="a"/><testcase name="b" classna"#,
                vec!["a"],
            ),
            // Open case, its failure not written yet: not a pass yet.
            (
                r#"<testsuite><testcase name="a"/><testcase name="b">"#,
                vec!["a"],
            ),
            (
                r#"<testsuite><testcase name="a"/><testcase name="b"><failure"#,
                vec!["a"],
            ),
            // Closed case, report not closed.
            (r#"<testsuite><testcase name="a"></testcase>"#, vec!["a"]),
            ("", vec![]),
            ("not xml at all", vec![]),
        ];
        for (xml, expected) in cases {
            assert_eq!(passed_tests(xml), expected, "{xml}");
        }
    }

    #[test]
    fn unusable_ids_are_dropped() {
        let xml = r#"<testsuite><testcase classname="c"/><testcase name=""/><testcase name="a&#10;b"/><testcase name="ok&#x21;"/></testsuite>"#;
        assert_eq!(passed_tests(xml), ["ok!"]);
    }

    #[test]
    fn unescape_table() {
        let cases = [
            ("plain", "plain"),
            ("a&amp;b", "a&b"),
            ("&lt;&gt;&apos;&quot;", "<>'\""),
            ("&#65;&#x42;", "AB"),
            ("&unknown; & &#xZZ;", "&unknown; & &#xZZ;"),
            ("tab\there", "tab here"),
        ];
        for (raw, expected) in cases {
            assert_eq!(unescape(raw), expected, "{raw}");
        }
    }
}
