use super::*;

fn ladder_policy() -> RetryPolicy {
    RetryPolicy::parse(
        r#"{"memory_ladder":{"parameter":"AGENT_LABEL","steps":["linux-8g","linux-16g","linux-32g"]},
            "on_demand":{"after_spot_interruptions":2,"parameter":"POOL","value":"on-demand"}}"#,
    )
    .expect("valid policy")
}

fn history(retries: &[(FailureClass, u32)], failures: &[(FailureClass, u32)]) -> History {
    History {
        retries: retries.iter().map(|(_, n)| n).sum(),
        retries_by_class: retries.iter().copied().collect(),
        failures_by_class: failures.iter().copied().collect(),
    }
}

/// (case, class, parameters, history, Ok((overrides, attempt)) or Err(reason fragment))
type Case = (
    &'static str,
    FailureClass,
    BTreeMap<String, String>,
    History,
    Result<(BTreeMap<String, String>, u32), String>,
);

#[test]
fn decides_by_policy() {
    use FailureClass::*;
    let policy = ladder_policy();
    let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let retry =
        |pairs: &[(&str, &str)], attempt| -> Result<(BTreeMap<String, String>, u32), String> {
            Ok((params(pairs), attempt))
        };
    let cases: Vec<Case> = vec![
        (
            "oom without the parameter: the default is the first step",
            Oom,
            params(&[("MODULE", "core")]),
            History::default(),
            retry(&[("AGENT_LABEL", "linux-16g")], 1),
        ),
        (
            "oom one step up",
            Oom,
            params(&[("AGENT_LABEL", "linux-16g")]),
            history(&[(Oom, 1)], &[(Oom, 1)]),
            retry(&[("AGENT_LABEL", "linux-32g")], 2),
        ),
        (
            "oom at the top",
            Oom,
            params(&[("AGENT_LABEL", "linux-32g")]),
            history(&[(Oom, 1)], &[(Oom, 1)]),
            Err("already at the top of the memory ladder (AGENT_LABEL=linux-32g)".into()),
        ),
        (
            "oom off the ladder",
            Oom,
            params(&[("AGENT_LABEL", "gpu")]),
            History::default(),
            Err("AGENT_LABEL=gpu is not on the memory ladder".into()),
        ),
        (
            "first spot interruption: same parameters",
            SpotInterruption,
            params(&[("AGENT_LABEL", "linux-8g")]),
            History::default(),
            retry(&[], 1),
        ),
        (
            "second spot interruption: on-demand",
            SpotInterruption,
            params(&[("AGENT_LABEL", "linux-8g")]),
            history(&[(SpotInterruption, 1)], &[(SpotInterruption, 1)]),
            retry(&[("POOL", "on-demand")], 2),
        ),
        (
            "agent lost: same parameters",
            AgentLost,
            params(&[]),
            history(&[(SpotInterruption, 1)], &[(SpotInterruption, 1)]),
            retry(&[], 2),
        ),
        (
            "infrastructure once",
            Infrastructure,
            params(&[]),
            History::default(),
            retry(&[], 1),
        ),
        (
            "infrastructure twice is denied",
            Infrastructure,
            params(&[]),
            history(&[(Infrastructure, 1)], &[(Infrastructure, 1)]),
            Err("infrastructure: 1 of 1 infrastructure retries used".into()),
        ),
        (
            "deterministic never",
            Deterministic,
            params(&[]),
            History::default(),
            Err("deterministic: a retry would fail the same way".into()),
        ),
        (
            "timeout never",
            Timeout,
            params(&[]),
            History::default(),
            Err("timeout: a retry would run out of time again".into()),
        ),
        (
            "the total budget bounds every class",
            SpotInterruption,
            params(&[]),
            history(
                &[(Oom, 2), (Infrastructure, 1)],
                &[(Oom, 2), (Infrastructure, 1)],
            ),
            Err("retry budget exhausted: 3 of 3 retries used".into()),
        ),
    ];
    for (name, class, parameters, history, expected) in cases {
        let decision = decide(&policy, class, &parameters, &history);
        match (&decision, &expected) {
            (
                Decision::Retry {
                    overrides, attempt, ..
                },
                Ok((want, want_attempt)),
            ) => assert_eq!((overrides, attempt), (want, want_attempt), "{name}"),
            (Decision::Deny { reason }, Err(fragment)) => {
                assert!(reason.contains(fragment.as_str()), "{name}: {reason:?}")
            }
            _ => panic!("{name}: got {decision:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn default_policy_denies_oom_without_a_ladder() {
    let decision = decide(
        &RetryPolicy::default(),
        FailureClass::Oom,
        &BTreeMap::new(),
        &History::default(),
    );
    assert!(
        matches!(&decision, Decision::Deny { reason } if reason.contains("no memory ladder")),
        "{decision:?}"
    );
}
