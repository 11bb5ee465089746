//! The command line: `fleet-sim COMMAND [OPTIONS]`, parsed with lexopt, so `--flag value`
//! and `--flag=value` mean the same. The command comes first, as the help shows.

use std::ffi::OsString;
use std::path::PathBuf;

use fleet_sim::Policy;
use fleet_sim::alarm::Statistic;
use fleet_sim::sim::Environment;
use lexopt::{Arg, Parser};

pub const HELP: &str = "\
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run,
    Sweep,
    Help,
    /// Refused after the options are read, so that an option's error comes first.
    Unknown(String),
}

#[derive(Debug)]
pub struct Cli {
    pub command: Command,
    pub workloads: Vec<String>,
    pub builds: Option<usize>,
    pub days: usize,
    pub seeds: Vec<u64>,
    pub params: Option<PathBuf>,
    pub sets: Vec<String>,
    pub grid: Vec<String>,
    pub env: Environment,
    pub policies: Vec<Policy>,
    pub json: bool,
    pub chart: Option<PathBuf>,
    pub threads: usize,
}

/// Why the arguments were refused, in a sentence naming the option.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl Cli {
    fn new(command: Command) -> Cli {
        Cli {
            command,
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
        }
    }
}

/// `args` without the program name.
pub fn parse(args: Vec<OsString>) -> Result<Cli, UsageError> {
    let mut args = args.into_iter();
    let command = match args.next() {
        None => Command::Help,
        Some(first) => match first.to_string_lossy().as_ref() {
            "run" => Command::Run,
            "sweep" => Command::Sweep,
            "help" | "-h" | "--help" => Command::Help,
            other => Command::Unknown(other.to_owned()),
        },
    };
    let mut cli = Cli::new(command);
    let mut parser = Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(usage)? {
        let flag = match arg {
            Arg::Long(name) => format!("--{name}"),
            Arg::Short(letter) => format!("-{letter}"),
            Arg::Value(value) => return Err(unknown(&value.to_string_lossy())),
        };
        let known = apply_output_flag(&mut cli, &flag, &mut parser)?
            || apply_workload_flag(&mut cli, &flag, &mut parser)?
            || apply_environment_flag(&mut cli.env, &flag, &mut parser)?;
        if !known {
            return Err(unknown(&flag));
        }
    }
    if !(0.0..=1.0).contains(&cli.env.spot_share) {
        let share = cli.env.spot_share;
        return Err(UsageError(format!(
            "--spot-share: {share} is not between 0 and 1"
        )));
    }
    Ok(cli)
}

fn usage(error: lexopt::Error) -> UsageError {
    UsageError(error.to_string())
}

fn unknown(flag: &str) -> UsageError {
    UsageError(format!("unknown option {flag:?} (see fleet-sim help)"))
}

/// The flag's value, as `--flag value` or `--flag=value`.
fn value(parser: &mut Parser, flag: &str, what: &str) -> Result<String, UsageError> {
    let value = parser
        .value()
        .map_err(|_| UsageError(format!("{flag} needs {what}")))?;
    value
        .into_string()
        .map_err(|v| UsageError(format!("{flag}: {v:?} is not valid UTF-8")))
}

fn number<T: std::str::FromStr>(
    parser: &mut Parser,
    flag: &str,
    what: &str,
) -> Result<T, UsageError> {
    parse_number(flag, &value(parser, flag, what)?)
}

fn parse_number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, UsageError> {
    text.parse::<T>()
        .map_err(|_| UsageError(format!("{flag}: {text:?} is not a valid number")))
}

fn list(parser: &mut Parser, flag: &str, what: &str) -> Result<Vec<String>, UsageError> {
    Ok(value(parser, flag, what)?
        .split(',')
        .map(str::to_owned)
        .collect())
}

/// `--workload`, `--builds`, `--days`, `--seed(s)`, `--params`, `--set`, `--grid`.
fn apply_workload_flag(cli: &mut Cli, flag: &str, parser: &mut Parser) -> Result<bool, UsageError> {
    match flag {
        "--workload" => cli.workloads = list(parser, flag, "busy|sparse|csv:FILE")?,
        "--builds" => cli.builds = Some(number(parser, flag, "a count")?),
        "--days" => cli.days = number::<usize>(parser, flag, "a count")?.max(1),
        "--seed" => cli.seeds = vec![number(parser, flag, "a number")?],
        "--seeds" => {
            cli.seeds = list(parser, flag, "a list")?
                .iter()
                .map(|seed| parse_number(flag, seed))
                .collect::<Result<_, _>>()?
        }
        "--params" => cli.params = Some(value(parser, flag, "a file")?.into()),
        "--set" => cli.sets.push(value(parser, flag, "Name=Value")?),
        "--grid" => cli.grid.push(value(parser, flag, "Name=V1,V2")?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The options of the simulated world (`Environment`).
fn apply_environment_flag(
    env: &mut Environment,
    flag: &str,
    parser: &mut Parser,
) -> Result<bool, UsageError> {
    match flag {
        "--executors" => env.executors_per_instance = number(parser, flag, "a count")?,
        "--boot-seconds" => env.boot_seconds = number(parser, flag, "seconds")?,
        "--min-size" => env.min_size = number(parser, flag, "a count")?,
        "--max-size" => env.max_size = number(parser, flag, "a count")?,
        "--spot-share" => env.spot_share = number(parser, flag, "a fraction")?,
        "--spot-rate" => env.spot_interruptions_per_hour = number(parser, flag, "a rate")?,
        "--spot-price" => env.spot_price = number(parser, flag, "dollars")?,
        "--on-demand-price" => env.on_demand_price = number(parser, flag, "dollars")?,
        "--no-checkpoints" => env.checkpoints = false,
        "--setup-seconds" => env.setup_seconds = number(parser, flag, "seconds")?,
        "--drain-timeout" => env.drain_timeout_seconds = number(parser, flag, "seconds")?,
        "--poll-interval" => {
            env.poll_interval_seconds = number::<f64>(parser, flag, "seconds")?.max(1.0)
        }
        "--aggregation" => env.aggregation = aggregation(&value(parser, flag, AGGREGATIONS)?)?,
        _ => return Ok(false),
    }
    Ok(true)
}

const AGGREGATIONS: &str = "average|maximum|minimum";

fn aggregation(name: &str) -> Result<Statistic, UsageError> {
    match name {
        "average" => Ok(Statistic::Average),
        "maximum" => Ok(Statistic::Maximum),
        "minimum" => Ok(Statistic::Minimum),
        other => Err(UsageError(format!("--aggregation: unknown {other:?}"))),
    }
}

/// `--policies`, `--json`, `--chart`, `--threads`, `-h`/`--help`.
fn apply_output_flag(cli: &mut Cli, flag: &str, parser: &mut Parser) -> Result<bool, UsageError> {
    match flag {
        "--policies" => {
            cli.policies = list(parser, flag, "a list")?
                .iter()
                .map(|name| policy(name))
                .collect::<Result<_, _>>()?
        }
        "--json" => cli.json = true,
        "--chart" => cli.chart = Some(value(parser, flag, "a directory")?.into()),
        "--threads" => cli.threads = number(parser, flag, "a count")?,
        "-h" | "--help" => cli.command = Command::Help,
        _ => return Ok(false),
    }
    Ok(true)
}

fn policy(name: &str) -> Result<Policy, UsageError> {
    Policy::parse(name.trim()).ok_or_else(|| {
        UsageError(format!(
            "--policies: unknown policy {name:?} (ci-fleet, static-peak, cpu-style, clairvoyant, desired-instances)"
        ))
    })
}

#[cfg(test)]
mod tests;
