//! `fleet-sim run|sweep`: see `fleet-sim help` and tools/fleet-sim/README.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use fleet_sim::alarm::Statistic;
use fleet_sim::chart::{self, ChartData};
use fleet_sim::params::ScalingParams;
use fleet_sim::sim::Environment;
use fleet_sim::sweep::{self, Axis};
use fleet_sim::workload::{self, Workload};
use fleet_sim::{Policy, report};

const HELP: &str = "\
fleet-sim: replays a day of builds against ci-fleet's scaling rules.

USAGE
  fleet-sim run   [OPTIONS]   one workload, the policies side by side
  fleet-sim sweep [OPTIONS]   ci-fleet over a grid of parameters: the cost/p95-wait frontier

WORKLOAD
  --workload W        busy | sparse | csv:FILE  (sweep: a comma list; default busy,sparse)
  --builds N          builds a day for the generators (busy 2000, sparse 300)
  --days N            days to generate (1)
  --seed N            seed (run; default 1)      --seeds A,B,..  seeds (sweep; default 1,2,3)

TEMPLATE PARAMETERS
  --params FILE       pool.yaml to read Defaults from (default: infra/pool.yaml)
  --set Name=V        override one parameter (repeatable)
  --grid Name=V1,V2   sweep axis (repeatable; default IdleGraceSeconds and ScaleInThreshold)

ENVIRONMENT
  --executors N            executors per instance (1)
  --boot-seconds S         launch to agent registered (180, +/-15 %)
  --min-size N, --max-size N   the Auto Scaling group's limits (0, 100)
  --spot-share F           share of instances on spot (0.7)
  --spot-rate F            interruptions per spot instance-hour (0.03)
  --spot-price P, --on-demand-price P   dollars per instance-hour (0.14, 0.34)
  --no-checkpoints         retries redo the whole build
  --setup-seconds S        setup a retry redoes even with checkpoints (30)
  --drain-timeout S        handle-interruption's DRAIN_TIMEOUT_SECONDS (7200)
  --poll-interval S        publish-workload's poll interval (10)
  --aggregation A          the step policies' MetricAggregationType: average|maximum|minimum (maximum, as pool.yaml)

OUTPUT
  --policies LIST     ci-fleet,static-peak,cpu-style,clairvoyant (default), and the
                      what-if desired-instances (scale out straight to DesiredInstances)
  --json              the report as JSON on stdout
  --chart DIR         SVG and PNG charts per policy into DIR
  --threads N         sweep threads (all cores)
";

#[derive(Debug)]
struct Cli {
    command: String,
    workloads: Vec<String>,
    builds: Option<usize>,
    days: usize,
    seeds: Vec<u64>,
    params: Option<PathBuf>,
    sets: Vec<String>,
    grid: Vec<String>,
    env: Environment,
    policies: Vec<Policy>,
    json: bool,
    chart: Option<PathBuf>,
    threads: usize,
}

fn parse_args(args: &[String]) -> Result<Cli, String> {
    let mut cli = Cli {
        command: args.first().cloned().unwrap_or_else(|| "help".into()),
        workloads: Vec::new(),
        builds: None,
        days: 1,
        seeds: Vec::new(),
        params: None,
        sets: Vec::new(),
        grid: Vec::new(),
        env: Environment::default(),
        policies: Policy::DEFAULT.to_vec(),
        json: false,
        chart: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut rest = args.iter().skip(1);
    while let Some(flag) = rest.next() {
        let mut value = |what: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs {what}"))
        };
        fn number<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String> {
            v.parse::<T>()
                .map_err(|_| format!("{flag}: {v:?} is not a valid number"))
        }
        match flag.as_str() {
            "--workload" => {
                cli.workloads = value("busy|sparse|csv:FILE")?
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            "--builds" => cli.builds = Some(number(flag, value("a count")?)?),
            "--days" => cli.days = number::<usize>(flag, value("a count")?)?.max(1),
            "--seed" => cli.seeds = vec![number(flag, value("a number")?)?],
            "--seeds" => {
                cli.seeds = value("a list")?
                    .split(',')
                    .map(|s| number(flag, s.to_owned()))
                    .collect::<Result<_, _>>()?
            }
            "--params" => cli.params = Some(value("a file")?.into()),
            "--set" => cli.sets.push(value("Name=Value")?),
            "--grid" => cli.grid.push(value("Name=V1,V2")?),
            "--executors" => cli.env.executors_per_instance = number(flag, value("a count")?)?,
            "--boot-seconds" => cli.env.boot_seconds = number(flag, value("seconds")?)?,
            "--min-size" => cli.env.min_size = number(flag, value("a count")?)?,
            "--max-size" => cli.env.max_size = number(flag, value("a count")?)?,
            "--spot-share" => cli.env.spot_share = number(flag, value("a fraction")?)?,
            "--spot-rate" => cli.env.spot_interruptions_per_hour = number(flag, value("a rate")?)?,
            "--spot-price" => cli.env.spot_price = number(flag, value("dollars")?)?,
            "--on-demand-price" => cli.env.on_demand_price = number(flag, value("dollars")?)?,
            "--no-checkpoints" => cli.env.checkpoints = false,
            "--setup-seconds" => cli.env.setup_seconds = number(flag, value("seconds")?)?,
            "--drain-timeout" => cli.env.drain_timeout_seconds = number(flag, value("seconds")?)?,
            "--poll-interval" => {
                cli.env.poll_interval_seconds = number::<f64>(flag, value("seconds")?)?.max(1.0)
            }
            "--aggregation" => {
                cli.env.aggregation = match value("average|maximum|minimum")?.as_str() {
                    "average" => Statistic::Average,
                    "maximum" => Statistic::Maximum,
                    "minimum" => Statistic::Minimum,
                    other => return Err(format!("--aggregation: unknown {other:?}")),
                }
            }
            "--policies" => {
                cli.policies = value("a list")?
                    .split(',')
                    .map(|p| Policy::parse(p.trim()).ok_or_else(|| format!("--policies: unknown policy {p:?} (ci-fleet, static-peak, cpu-style, clairvoyant, desired-instances)")))
                    .collect::<Result<_, _>>()?
            }
            "--json" => cli.json = true,
            "--chart" => cli.chart = Some(value("a directory")?.into()),
            "--threads" => cli.threads = number(flag, value("a count")?)?,
            "-h" | "--help" => cli.command = "help".into(),
            other => return Err(format!("unknown option {other:?} (see fleet-sim help)")),
        }
    }
    if !(0.0..=1.0).contains(&cli.env.spot_share) {
        return Err(format!(
            "--spot-share: {} is not between 0 and 1",
            cli.env.spot_share
        ));
    }
    Ok(cli)
}

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
            std::fs::write(&svg, chart::svg(&data))
                .map_err(|e| format!("{}: {e}", svg.display()))?;
            std::fs::write(&png, chart::png(&data))
                .map_err(|e| format!("{}: {e}", png.display()))?;
        }
    }
    if cli.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
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
        if let Some(t) = &report.targets {
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
    }
    eprintln!("simulated in {:.0} ms", elapsed.as_secs_f64() * 1000.0);
    Ok(())
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse_args(&args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("fleet-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.as_str() {
        "run" => run(&cli),
        "sweep" => sweep(&cli),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?} (run, sweep, help)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
