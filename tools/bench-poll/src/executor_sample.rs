//! What the run ledger's executor sample (`executors[idle,currentExecutable[url]]`) costs
//! the poll that asks for it (protect-busy-agents', once a minute; publish-workload's polls
//! do not), measured against the same poll without it (`executors[idle]`), in the same
//! run, on the same fake, the two alternating so that the machine's drift hits both:
//! - ci-fleet's own cost: parsing both answers and computing the workloads;
//! - the whole poll: the two GETs on loopback (the fake's rendering included), the parse
//!   and the compute.

use std::time::{Duration, Instant};

use rules::{Pool, compute_workloads};
use shared::ci::jenkins::{parse_snapshot, poll_paths, poll_paths_with_runs};

pub async fn compare(url: &str, pools: &[Pool], runs: usize) -> Result<(), String> {
    let client = reqwest::Client::new();
    let [queue, before] = poll_paths();
    let [_, computers] = poll_paths_with_runs();
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
    let paths = [&before, &computers];
    let mut bodies = Vec::new();
    let mut whole: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for run in 0..=runs {
        for (variant, path) in paths.iter().enumerate() {
            let started = Instant::now();
            let (queue_body, computer_body) = tokio::try_join!(get(&queue), get(path))?;
            let snapshot =
                parse_snapshot(&queue_body, &computer_body).map_err(|e| e.to_string())?;
            std::hint::black_box(compute_workloads(pools, &snapshot, chrono::Utc::now()));
            if run > 0 {
                whole[variant].push(started.elapsed()); // the first opens the connections
            } else {
                bodies.push((queue_body, computer_body));
            }
        }
    }
    let mut parse: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..runs * 3 {
        for (variant, (queue_body, computer_body)) in bodies.iter().enumerate() {
            let started = Instant::now();
            let snapshot = parse_snapshot(queue_body, computer_body).map_err(|e| e.to_string())?;
            std::hint::black_box(compute_workloads(pools, &snapshot, chrono::Utc::now()));
            parse[variant].push(started.elapsed());
        }
    }
    println!(
        "  computers answer: {} KiB without the sample, {} KiB with it",
        bodies[0].1.len() / 1024,
        bodies[1].1.len() / 1024
    );
    line("parse + compute (ci-fleet's own cost)", &mut parse);
    line("whole poll (the fake's rendering included)", &mut whole);
    Ok(())
}

fn line(what: &str, samples: &mut [Vec<Duration>; 2]) {
    let [without, with] = samples.each_mut().map(|s| median(s));
    let slower = (ms(with) / ms(without) - 1.0) * 100.0;
    println!(
        "  {what}: median {:.1} ms without, {:.1} ms with: {slower:+.1} %  [target <= +10 %: {}]",
        ms(without),
        ms(with),
        if slower <= 10.0 { "met" } else { "MISSED" }
    );
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
