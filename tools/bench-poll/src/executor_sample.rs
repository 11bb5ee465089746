//! What the run ledger's executor sample (`executors[idle,currentExecutable[url]]`) costs
//! one poll, measured against the same poll without it (`executors[idle]`), in the same
//! run, on the same fake: the two GETs, the parse and the compute, median of `runs`.

use std::time::{Duration, Instant};

use rules::{Pool, compute_workloads};
use shared::ci::jenkins::{parse_snapshot, poll_paths};

/// The computers' `tree=` as it was before the sample (percent-encoded, as sent).
fn without_sample(computers: &str) -> String {
    computers.replace(",currentExecutable%5Burl%5D", "")
}

pub async fn compare(url: &str, pools: &[Pool], runs: usize) -> Result<(), String> {
    let client = reqwest::Client::new();
    let [queue, computers] = poll_paths();
    let before = without_sample(&computers);
    if before == computers {
        return Err("the computers' tree has no executor sample to leave out".into());
    }
    let get = |path: &str| {
        let request = client
            .get(format!("{url}{path}"))
            .basic_auth("bench", Some("bench-token"))
            .header("Accept-Language", "en");
        async move {
            let body = request.send().await.map_err(|e| e.to_string())?;
            body.bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string())
        }
    };
    let mut medians = Vec::new();
    for (what, path) in [
        ("without the sample", &before),
        ("with the sample", &computers),
    ] {
        let mut samples = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..=runs {
            let started = Instant::now();
            let (queue_body, computer_body) = tokio::try_join!(get(&queue), get(path))?;
            let snapshot =
                parse_snapshot(&queue_body, &computer_body).map_err(|e| e.to_string())?;
            std::hint::black_box(compute_workloads(pools, &snapshot, chrono::Utc::now()));
            samples.push(started.elapsed());
            size = computer_body.len();
        }
        samples.remove(0); // the first opens the connections
        samples.sort_unstable();
        let median = samples[samples.len() / 2];
        println!(
            "  poll {what}: median {:.1} ms, computers {} KiB",
            ms(median),
            size / 1024
        );
        medians.push(median);
    }
    let slower = (ms(medians[1]) / ms(medians[0]) - 1.0) * 100.0;
    println!(
        "  the executor sample costs {slower:+.1} % of a poll  [target <= +10 %: {}]",
        if slower <= 10.0 { "met" } else { "MISSED" }
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
