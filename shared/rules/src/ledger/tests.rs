use chrono::TimeZone;

use super::*;
use crate::model::fixtures::agent;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .expect("a time")
        + Duration::minutes(minute)
}

const RUN: &str = "http://ci/job/folder/job/app/job/main/12/";

fn running(name: &str, runs: &[&str]) -> Agent {
    agent(name).running(runs)
}

fn ended(minute: i64, outcome: Outcome) -> RunState {
    RunState::Ended(RunEnd {
        at: at(minute),
        outcome,
    })
}

#[test]
fn a_run_is_asked_about_once_no_agent_runs_it_and_then_counts_for_each_agent_it_used() {
    let mut ledger = RunLedger::default();
    ledger.sample(&[running("i-1", &[RUN]), running("i-2", &[RUN])], at(0));
    ledger.sample(&[running("i-1", &[RUN]), running("i-2", &[])], at(1));
    assert!(
        ledger.to_ask(&[running("i-1", &[RUN])]).is_empty(),
        "still on i-1: not over"
    );
    let now_idle = [running("i-1", &[]), running("i-2", &[])];
    assert_eq!(ledger.to_ask(&now_idle), vec![RUN.to_owned()], "asked once");
    ledger.learn(RUN, RunState::Running);
    assert_eq!(
        ledger.to_ask(&now_idle).len(),
        1,
        "still running elsewhere: asked again later"
    );
    ledger.learn(RUN, ended(5, Outcome::Failed));
    assert!(
        ledger.to_ask(&now_idle).is_empty(),
        "ended: never asked again"
    );
    let builds = ledger.finished_builds();
    assert_eq!(
        builds
            .iter()
            .map(|b| (b.job.as_str(), b.agent.as_str(), b.outcome))
            .collect::<Vec<_>>(),
        vec![
            ("folder/app/main", "i-1", Outcome::Failed),
            ("folder/app/main", "i-2", Outcome::Failed)
        ]
    );
    assert_eq!(ledger.sightings[0].first_seen, at(0));
    assert_eq!(ledger.sightings[0].last_seen, at(1));
}

#[test]
fn a_run_the_server_no_longer_has_is_forgotten() {
    let mut ledger = RunLedger::default();
    ledger.sample(&[running("i-1", &[RUN])], at(0));
    ledger.learn(RUN, RunState::Gone);
    assert!(ledger.sightings.is_empty());
}

#[test]
fn the_ledger_stays_bounded_and_recent() {
    let mut ledger = RunLedger::default();
    ledger.sample(&[running("i-old", &["http://ci/job/a/1/"])], at(0));
    ledger.learn("http://ci/job/a/1/", ended(1, Outcome::Passed));
    ledger.sample(&[running("i-lost", &["http://ci/job/b/1/"])], at(0));
    let many: Vec<String> = (0..MAX_SIGHTINGS + 10)
        .map(|n| format!("http://ci/job/c/{n}/"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    ledger.sample(&[running("i-new", &refs)], at(60 * 30));
    ledger.prune(at(60 * 30));
    assert_eq!(ledger.sightings.len(), MAX_SIGHTINGS);
    assert!(
        ledger.sightings.iter().all(|s| s.agent == "i-new"),
        "a run gone 30 hours without an end and a run finished 30 hours ago are forgotten first"
    );
}

#[test]
fn at_most_a_pass_worth_of_runs_is_asked_about_oldest_first() {
    let mut ledger = RunLedger::default();
    for n in 0..(ENDS_PER_PASS as i64 + 5) {
        let run = format!("http://ci/job/a/{n}/");
        ledger.sample(&[running("i-1", &[run.as_str()])], at(n));
    }
    let asked = ledger.to_ask(&[]);
    assert_eq!(asked.len(), ENDS_PER_PASS);
    assert_eq!(asked[0], "http://ci/job/a/0/");
}

#[test]
fn job_names_from_run_urls() {
    let cases = [
        ("http://ci/job/app/41/", "app"),
        (
            "https://ci.example.com/jenkins/job/team/job/api/job/main/7/",
            "team/api/main",
        ),
        (
            "http://ci/job/team/job/api/job/feature%252Fx/3/",
            "team/api/feature%2Fx",
        ),
        ("http://ci/job/my%20app/2/", "my app"),
        ("http://ci/job/bad%zz/1/", "bad%zz"),
    ];
    for (url, job) in cases {
        assert_eq!(job_of_run(url), job, "{url}");
    }
    assert_eq!(number_of_run("http://ci/job/app/41/"), Some(41));
    assert_eq!(number_of_run("http://ci/job/app/41"), Some(41));
    assert_eq!(number_of_run("http://ci/job/app/lastBuild/"), None);
}
