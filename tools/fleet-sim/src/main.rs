//! `fleet-sim run|sweep`: see `fleet-sim help` and tools/fleet-sim/README.md.

mod cli;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use fleet_sim::chart::{self, ChartData};
use fleet_sim::params::ScalingParams;
use fleet_sim::sweep::{self, Axis};
use fleet_sim::workload::{self, Workload};
use fleet_sim::{RunReport, Targets, report};

use cli::{Cli, Command, HELP, UsageError};

fn load_workload(
    spec: &str,
    builds: Option<usize>,
    days: usize,
    seed: u64,
) -> Result<Workload, String> {
    match spec {
        "busy" => Ok(workload::busy(seed, builds.unwrap_or(2000), days)),
        "sparse" => Ok(workload::sparse(seed, builds.unwrap_or(300), days)),
        other => match other.strip_prefix("csv:") {
            Some(file) => workload::from_csv_file(file).map_err(|e| e.to_string()),
            None => Err(format!(
                "--workload: unknown {other:?} (busy, sparse, csv:FILE)"
            )),
        },
    }
}

fn load_params(cli: &Cli) -> Result<ScalingParams, String> {
    let path = cli
        .params
        .clone()
        .unwrap_or_else(ScalingParams::default_path);
    let mut params = ScalingParams::load(&path).map_err(|e| e.to_string())?;
    for set in &cli.sets {
        params.set_from(set).map_err(|e| format!("--set: {e}"))?;
    }
    Ok(params)
}

fn run(cli: &Cli) -> Result<(), String> {
    let params = load_params(cli)?;
    let spec = cli.workloads.first().map_or("busy", String::as_str);
    let seed = cli.seeds.first().copied().unwrap_or(1);
    let started = Instant::now();
    let workload = load_workload(spec, cli.builds, cli.days, seed)?;
    let report = fleet_sim::run(&workload, &params, &cli.env, seed, &cli.policies);
    let elapsed = started.elapsed();
    if let Some(dir) = &cli.chart {
        write_charts(dir, &workload, &report)?;
    }
    if cli.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print_run(cli, &workload, &report, seed);
    }
    eprintln!("simulated in {:.0} ms", elapsed.as_secs_f64() * 1000.0);
    Ok(())
}

/// An SVG and a PNG chart per simulated policy.
fn write_charts(dir: &Path, workload: &Workload, report: &RunReport) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for row in report.policies.iter().filter(|r| !r.timeline.is_empty()) {
        let data = ChartData {
            title: format!(
                "{} day, {} builds: {}",
                workload.name,
                workload.builds.len(),
                row.policy
            ),
            horizon_seconds: workload.horizon,
            timeline: &row.timeline,
            clairvoyant: &report.clairvoyant_capacity,
        };
        let stem = dir.join(format!(
            "{}-{}",
            workload.name.replace([':', '/', '.'], "_"),
            row.policy
        ));
        let svg = stem.with_extension("svg");
        let png = stem.with_extension("png");
        std::fs::write(&svg, chart::svg(&data)).map_err(|e| format!("{}: {e}", svg.display()))?;
        std::fs::write(&png, chart::png(&data)).map_err(|e| format!("{}: {e}", png.display()))?;
    }
    Ok(())
}

/// The terminal's report: the run's setting, the table, builds that never ran, and the
/// targets.
fn print_run(cli: &Cli, workload: &Workload, report: &RunReport, seed: u64) {
    println!(
        "{}: {} builds over {} day(s), seed {}, {} executor(s) an instance, boot {:.0}s, spot {:.0}% at {}/h, checkpoints {}",
        workload.name,
        workload.builds.len(),
        report.days,
        seed,
        cli.env.executors_per_instance,
        cli.env.boot_seconds,
        cli.env.spot_share * 100.0,
        cli.env.spot_interruptions_per_hour,
        if cli.env.checkpoints { "on" } else { "off" },
    );
    println!();
    print!("{}", report::table(&report.policies));
    for row in &report.policies {
        if row.builds_finished < row.builds {
            println!(
                "\n{}: {} builds never ran (their wait counts to a day past the end)",
                row.policy,
                row.builds - row.builds_finished
            );
        }
    }
    if let Some(p95) = report.recorded_wait_p95_seconds {
        println!("\nas recorded in the CSV: queue wait p95 {p95:.0}s");
    }
    if let Some(targets) = &report.targets {
        print_targets(targets);
    }
}

fn print_targets(t: &Targets) {
    println!(
        "\ntargets for ci-fleet: agent-hours {:.2}x clairvoyant (<= 1.3: {}), p95 wait {:.0}s (<= boot + 60 = {:.0}s: {}), killed by scale-in {} ({}), test work redone {:.1}% of an interrupted build (<= 5 %: {}; {:.1}% with the setup each retry repeats)",
        t.agent_hours_vs_clairvoyant,
        yes(t.agent_hours_ok),
        t.wait_p95_seconds,
        t.wait_p95_limit_seconds,
        yes(t.wait_ok),
        t.builds_killed_by_scale_in,
        yes(t.killed_ok),
        t.redone_fraction * 100.0,
        yes(t.redone_ok),
        t.redone_fraction_with_setup * 100.0,
    );
}

fn yes(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn sweep(cli: &Cli) -> Result<(), String> {
    let params = load_params(cli)?;
    let seeds = if cli.seeds.is_empty() {
        vec![1, 2, 3]
    } else {
        cli.seeds.clone()
    };
    let specs = if cli.workloads.is_empty() {
        vec!["busy".to_owned(), "sparse".to_owned()]
    } else {
        cli.workloads.clone()
    };
    // Generated workloads vary with the seed: each (workload, seed) pair is its own day.
    let mut workloads = Vec::new();
    for spec in &specs {
        let days = seeds
            .iter()
            .map(|seed| load_workload(spec, cli.builds, cli.days, *seed))
            .collect::<Result<Vec<_>, _>>()?;
        workloads.push(days);
    }
    let grid = if cli.grid.is_empty() {
        vec![
            "IdleGraceSeconds=60,120,300".to_owned(),
            "ScaleInThreshold=0.5,0.7,0.85".to_owned(),
        ]
    } else {
        cli.grid.clone()
    };
    let axes = grid
        .iter()
        .map(|g| Axis::parse(g).map_err(|e| format!("--grid: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let points = sweep::sweep(&workloads, &params, &cli.env, &seeds, &axes, cli.threads);
    let elapsed = started.elapsed();
    if cli.json {
        let text = serde_json::to_string_pretty(&points).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", sweep::frontier_table(&points));
    }
    eprintln!(
        "{} grid points x {} workload(s) x {} seed(s) in {:.1} s",
        points.len(),
        workloads.len(),
        seeds.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os().skip(1).collect()) {
        Ok(cli) => cli,
        Err(UsageError(e)) => {
            eprintln!("fleet-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match &cli.command {
        Command::Run => run(&cli),
        Command::Sweep => sweep(&cli),
        Command::Help => {
            print!("{HELP}");
            Ok(())
        }
        Command::Unknown(other) => Err(format!("unknown command {other:?} (run, sweep, help)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
