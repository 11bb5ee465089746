use super::*;

fn parse_line(line: &str) -> Result<Cli, UsageError> {
    parse(line.split_whitespace().map(OsString::from).collect())
}

fn error(line: &str) -> String {
    parse_line(line).expect_err(line).0
}

#[test]
fn flag_value_and_flag_equals_value_mean_the_same() {
    let spaced = parse_line(
        "run --workload sparse --seed 7 --set ScaleInPercent=20 --spot-rate 0.5 --aggregation average --chart out",
    )
    .expect("valid");
    let joined = parse_line(
        "run --workload=sparse --seed=7 --set=ScaleInPercent=20 --spot-rate=0.5 --aggregation=average --chart=out",
    )
    .expect("valid");
    for cli in [&spaced, &joined] {
        assert_eq!(cli.command, Command::Run);
        assert_eq!(cli.workloads, vec!["sparse"]);
        assert_eq!(cli.seeds, vec![7]);
        assert_eq!(cli.sets, vec!["ScaleInPercent=20"]);
        assert_eq!(cli.env.spot_interruptions_per_hour, 0.5);
        assert_eq!(cli.env.aggregation, Statistic::Average);
        assert_eq!(cli.chart, Some(PathBuf::from("out")));
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let cli = parse_line("sweep").expect("valid");
    assert_eq!(cli.command, Command::Sweep);
    assert_eq!((cli.days, cli.builds, cli.json), (1, None, false));
    assert!(cli.workloads.is_empty() && cli.seeds.is_empty() && cli.grid.is_empty());
    assert_eq!(cli.policies, Policy::DEFAULT.to_vec());
    assert_eq!(cli.env, Environment::default());
    assert!(cli.threads >= 1);
    assert_eq!(parse_line("").expect("valid").command, Command::Help);
    assert_eq!(parse_line("run -h").expect("valid").command, Command::Help);
    assert_eq!(
        parse_line("frobnicate").expect("refused later").command,
        Command::Unknown("frobnicate".into())
    );
}

#[test]
fn lists_and_clamped_values() {
    let cli = parse_line(
        "sweep --seeds 1,2,3 --grid IdleGraceSeconds=60,120 --grid ScaleInThreshold=0.7 --days 0 --poll-interval 0.2 --no-checkpoints --policies ci-fleet,desired-instances --json",
    )
    .expect("valid");
    assert_eq!(cli.seeds, vec![1, 2, 3]);
    assert_eq!(cli.grid.len(), 2);
    assert_eq!(cli.days, 1, "at least one day");
    assert_eq!(cli.env.poll_interval_seconds, 1.0, "at least a second");
    assert!(!cli.env.checkpoints && cli.json);
    assert_eq!(
        cli.policies,
        vec![Policy::CiFleet, Policy::DesiredInstances]
    );
}

#[test]
fn errors_name_the_option() {
    let cases = [
        (
            "run --bogus",
            "unknown option \"--bogus\" (see fleet-sim help)",
        ),
        (
            "run --bogus=1",
            "unknown option \"--bogus\" (see fleet-sim help)",
        ),
        ("run -x", "unknown option \"-x\" (see fleet-sim help)"),
        ("run stray", "unknown option \"stray\" (see fleet-sim help)"),
        ("run --seed", "--seed needs a number"),
        ("run --seed x", "--seed: \"x\" is not a valid number"),
        ("run --seed=x", "--seed: \"x\" is not a valid number"),
        ("sweep --seeds 1,x", "--seeds: \"x\" is not a valid number"),
        (
            "run --spot-share 2",
            "--spot-share: 2 is not between 0 and 1",
        ),
        (
            "run --aggregation median",
            "--aggregation: unknown \"median\"",
        ),
        (
            "run --policies ci-fleet,nope",
            "--policies: unknown policy \"nope\" (ci-fleet, static-peak, cpu-style, clairvoyant, desired-instances)",
        ),
    ];
    for (line, message) in cases {
        assert_eq!(error(line), message, "{line}");
    }
    assert!(
        error("run --json=yes").contains("--json"),
        "a switch takes no value"
    );
}
