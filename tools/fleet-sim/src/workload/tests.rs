use super::*;

#[test]
fn generators_are_deterministic_per_seed_and_exact_in_count() {
    for make in [busy, sparse] {
        let a = make(42, 500, 2);
        let b = make(42, 500, 2);
        let c = make(43, 500, 2);
        assert_eq!(a, b);
        assert_ne!(a.builds, c.builds);
        assert_eq!(a.builds.len(), 1000);
        assert!(a.builds.windows(2).all(|w| w[0].arrival <= w[1].arrival));
        assert!(
            a.builds
                .iter()
                .all(|b| b.arrival >= 0.0 && b.arrival < 2.0 * DAY + 200.0)
        );
    }
}

#[test]
fn the_busy_day_is_busy_in_business_hours_and_the_sparse_day_comes_in_spikes() {
    let day = busy(1, 2000, 1);
    let office = day
        .builds
        .iter()
        .filter(|b| (8.0 * 3600.0..18.0 * 3600.0).contains(&b.arrival))
        .count();
    assert!(office > 1400, "{office} of 2000 in office hours");
    let day = sparse(1, 300, 1);
    // Most builds arrive in some 3-minute window together with 10+ others.
    let crowded = day
        .builds
        .iter()
        .filter(|b| {
            day.builds
                .iter()
                .filter(|o| (o.arrival - b.arrival).abs() < 180.0)
                .count()
                > 10
        })
        .count();
    assert!(crowded > 150, "{crowded} of 300 in spikes");
}

#[test]
fn imports_a_csv_in_any_usual_timestamp_format() {
    let text = "queued_at,started_at,finished_at,label\n\
        2026-03-02T09:00:00Z,2026-03-02T09:00:30Z,2026-03-02T09:10:30Z,linux\n\
        2026-03-02 09:01:00,2026-03-02 09:01:00,2026-03-02 09:03:00,\"linux && docker\"\n\
        1772442120,1772442180,1772442240,linux\n\
        1772442180000,1772442180000,1772442300000,\n";
    let w = from_csv(text, "builds.csv").expect("parses");
    assert_eq!(w.labels, vec!["linux", "linux && docker", "any"]);
    assert_eq!(w.builds.len(), 4);
    assert_eq!(w.builds[0].arrival, 9.0 * 3600.0);
    assert_eq!(w.builds[0].duration, 600.0);
    assert_eq!(w.builds[1].label, 1);
    assert_eq!(w.recorded_waits, vec![30.0, 0.0, 60.0, 0.0]);
    assert_eq!(w.horizon, DAY);
    assert_eq!(w.start.to_rfc3339(), "2026-03-02T00:00:00+00:00");
}

#[test]
fn csv_errors_name_the_line_and_column() {
    let cases = [
        (
            "2026-03-02T09:00:00Z,2026-03-02T09:00:30Z,soon,linux\n",
            "b.csv:1: column 3 (finished_at): \"soon\" is not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS, or Unix seconds/ms)",
        ),
        (
            "queued_at,started_at,finished_at,label\n100,90,200,linux\n",
            "b.csv:2: column 2 (started_at): started before it was queued",
        ),
        (
            "100,150,120,linux\n",
            "b.csv:1: column 3 (finished_at): finished before it started",
        ),
        (
            "100,150,200\n",
            "b.csv:1: expected 4 columns (queued_at, started_at, finished_at, label), found 3",
        ),
        (
            "\n100,150,200,linux\n,150,200,linux\n",
            "b.csv:3: column 1 (queued_at): empty timestamp",
        ),
        (
            "100,150,200,linux &&\n",
            "b.csv:1: column 4 (label): invalid label expression \"linux &&\": expression ends too early at character 8",
        ),
        (
            "queued_at,started_at,finished_at,label\n",
            "b.csv: no builds",
        ),
    ];
    for (text, message) in cases {
        let err = from_csv(text, "b.csv").expect_err(text);
        assert_eq!(err.to_string(), message, "{text}");
    }
}
