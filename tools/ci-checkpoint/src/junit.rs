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

    use proptest::prelude::*;

    /// Characters XML allows in an attribute value (control characters other than tab and
    /// line breaks are not XML at all).
    const XML_TEXT: &str = "[ -~\t\n\r\u{a0}-\u{d7ff}\u{e000}-\u{fffd}\u{10000}-\u{10ffff}]{0,12}";

    /// An attribute value as a report writer escapes it; tabs and line breaks as character
    /// references so they survive attribute-value normalisation.
    fn escape(raw: &str) -> String {
        let mut out = String::new();
        for c in raw.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", u32::from(c))),
                c => out.push(c),
            }
        }
        out
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Outcome {
        Passed,
        Flaky,
        Failed,
        Errored,
        Skipped,
    }

    #[derive(Debug, Clone)]
    struct Written {
        name: Option<String>,
        classname: Option<String>,
        outcome: Outcome,
        self_closing: bool,
        output: bool,
    }

    impl Written {
        fn xml(&self) -> String {
            let mut tag = String::from("<testcase");
            for (attribute, value) in [("classname", &self.classname), ("name", &self.name)] {
                if let Some(value) = value {
                    tag.push_str(&format!(" {attribute}=\"{}\"", escape(value)));
                }
            }
            tag.push_str(" time=\"0.01\"");
            let child = match self.outcome {
                Outcome::Passed => "",
                Outcome::Flaky => "<flakyFailure message=\"once\"/>",
                Outcome::Failed => "<failure message=\"boom\">assert failed</failure>",
                Outcome::Errored => "<error type=\"panic\"/>",
                Outcome::Skipped => "<skipped/>",
            };
            // Output that mentions a failure, inside another element: not the case's own.
            let output = if self.output {
                "<system-out><![CDATA[<failure>]]></system-out><system-err><failure/></system-err>"
            } else {
                ""
            };
            if self.self_closing && child.is_empty() && output.is_empty() {
                format!("{tag}/>")
            } else {
                format!("{tag}>{child}{output}</testcase>")
            }
        }

        /// The id this case must give, if it passed and its id is usable.
        fn id(&self) -> Option<String> {
            if !matches!(self.outcome, Outcome::Passed | Outcome::Flaky) {
                return None;
            }
            let name = self.name.clone().filter(|n| !n.is_empty())?;
            let id = match self.classname.clone().filter(|c| !c.is_empty()) {
                Some(class) => format!("{class}::{name}"),
                None => name,
            };
            is_test_id(&id).then_some(id)
        }
    }

    fn written() -> impl Strategy<Value = Written> {
        let outcome = prop::sample::select(vec![
            Outcome::Passed,
            Outcome::Flaky,
            Outcome::Failed,
            Outcome::Errored,
            Outcome::Skipped,
        ]);
        (
            proptest::option::of(XML_TEXT),
            proptest::option::of(XML_TEXT),
            outcome,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(name, classname, outcome, self_closing, output)| Written {
                name,
                classname,
                outcome,
                self_closing,
                output,
            })
    }

    /// A report of `cases` inside `depth` nested suites.
    fn report(cases: &[Written], depth: usize) -> String {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>");
        xml.push_str(&"<testsuite name=\"s\">".repeat(depth));
        for case in cases {
            xml.push_str(&case.xml());
            xml.push('\n');
        }
        xml.push_str(&"</testsuite>".repeat(depth));
        xml.push_str("</testsuites>\n");
        xml
    }

    /// Tag soup: the pieces of a report in any order, with stray text.
    fn soup() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "<testcase",
                " name=\"",
                " classname=\"",
                "\"",
                "/>",
                ">",
                "</testcase>",
                "<failure/>",
                "<skipped>",
                "</skipped>",
                "<testsuite>",
                "</testsuite>",
                "&amp;",
                "&#",
                "&#x",
                ";",
                "<![CDATA[",
                "]]>",
                "<!--",
                "-->",
                "<?xml ",
                "?>",
                "<!DOCTYPE x>",
                "<a:testcase",
                "xmlns:a=\"u\"",
            ])
            .prop_map(str::to_owned),
            ".{0,8}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn a_report_yields_its_passed_cases_in_order_and_any_cut_a_prefix_of_them(
            cases in prop::collection::vec(written(), 0..12),
            depth in 0usize..3,
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        ) {
            let xml = report(&cases, depth);
            let expected: Vec<String> = cases.iter().filter_map(Written::id).collect();
            prop_assert_eq!(&passed_tests(&xml), &expected);
            for cut in cuts {
                let mut at = cut.index(xml.len() + 1);
                while !xml.is_char_boundary(at) {
                    at -= 1;
                }
                let passed = passed_tests(&xml[..at]);
                prop_assert!(expected.starts_with(&passed), "cut at {at}: {passed:?}");
            }
        }

        #[test]
        fn any_text_gives_usable_ids_or_none(text in soup(), raw in ".{0,200}") {
            for xml in [text.as_str(), raw.as_str()] {
                for id in passed_tests(xml) {
                    prop_assert!(is_test_id(&id), "{id:?}");
                }
            }
        }

        #[test]
        fn unescape_undoes_escaping_and_reads_every_character_reference(
            raw in ".{0,40}",
            code in prop_oneof![any::<u32>(), 0u32..0x11_0000],
            upper in any::<bool>(),
            junk in "[&#;a-zA-Z0-9x ]{0,30}",
        ) {
            prop_assert_eq!(unescape(&escape(&raw)), raw.clone());
            let written = [format!("&#{code};"), if upper { format!("&#x{code:X};") } else { format!("&#x{code:x};") }];
            for reference in written {
                let want = char::from_u32(code).map_or_else(|| reference.clone(), String::from);
                prop_assert_eq!(unescape(&reference), want);
            }
            // Literal tabs and line breaks are spaces; text without `&` is otherwise unchanged.
            let plain: String = raw.chars().filter(|&c| c != '&').collect();
            prop_assert_eq!(unescape(&plain), plain.replace(['\t', '\n', '\r'], " "));
            let _ = unescape(&junk);
        }
    }
}
