use super::console::byte_range;
use super::split_job;

#[test]
fn ranges_and_job_paths() {
    assert_eq!(byte_range("bytes=-4", 10), Some((6, 9)));
    assert_eq!(byte_range("bytes=-40", 10), Some((0, 9)));
    assert_eq!(byte_range("bytes=2-", 10), Some((2, 9)));
    assert_eq!(byte_range("bytes=2-3", 10), Some((2, 3)));
    assert_eq!(byte_range("bytes=12-", 10), None);
    assert_eq!(byte_range("items=1-2", 10), None);
    let segs = ["job", "folder", "job", "app", "41", "api", "json"];
    let (job, rest) = split_job(&segs).expect("splits");
    assert_eq!((job.len(), rest), (4, &["41", "api", "json"][..]));
    assert_eq!(split_job(&["job", "app"]), None, "nothing after the job");
    assert_eq!(split_job(&["computer", "x"]), None);
}

fn pairs(text: &[(&str, &str)]) -> Vec<(String, String)> {
    text.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn declared() -> std::collections::BTreeMap<String, String> {
    [("AGENT_LABEL", "linux-8g"), ("SHARD", "")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into()
}

#[test]
fn build_with_parameters_reads_only_declared_names() {
    use super::trigger::kept_parameters;
    let kept = kept_parameters(
        &declared(),
        &pairs(&[
            ("CI_FLEET_RETRY_REASON", "oom"),
            ("SHARD", "3"),
            ("delay", "0sec"),
        ]),
    )
    .expect("kept");
    assert_eq!(
        kept.into_iter().collect::<Vec<_>>(),
        pairs(&[("AGENT_LABEL", "linux-8g"), ("SHARD", "3")]),
        "undeclared dropped, a missing one takes its default"
    );
    let twice = kept_parameters(&declared(), &pairs(&[("SHARD", "1"), ("SHARD", "2")]));
    assert_eq!(twice.map(|_| ()).map_err(|r| r.status.as_u16()), Err(500));
}

#[test]
fn build_of_a_parameterized_job_needs_its_form() {
    use super::trigger::submitted_form;
    let status = |sent: &[(&str, &str)]| {
        submitted_form(&declared(), &pairs(sent))
            .map(|kept| kept.into_iter().collect::<Vec<_>>())
            .map_err(|r| r.status.as_u16())
    };
    assert_eq!(status(&[]), Err(400), "Nothing is submitted");
    assert_eq!(status(&[("delay", "0sec")]), Err(400));
    assert_eq!(status(&[("json", "")]), Err(400));
    assert_eq!(
        status(&[("json", "{}")]),
        Ok(Vec::new()),
        "no parameter entries"
    );
    assert_eq!(
        status(&[("json", r#"{"parameter":{"name":"SHARD","value":"2"}}"#)]),
        Ok(pairs(&[("SHARD", "2")])),
        "one object, no defaults filled"
    );
    assert_eq!(
        status(&[("json", r#"{"parameter":[{"name":"OLD","value":"x"}]}"#)]),
        Err(500),
        "No such parameter definition"
    );
    assert_eq!(
        status(&[("json", r#"{"parameter":[{"value":"x"}]}"#)]),
        Err(500)
    );
    assert_eq!(status(&[("json", "not json")]), Err(500));
}
