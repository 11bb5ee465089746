//! The command line, read with lexopt as every ci-fleet CLI is (`--name value` and
//! `--name=value` alike). Environment fallbacks are applied by `main` (one place reads
//! the environment).

use std::path::PathBuf;
use std::time::Duration;

use crate::source::Source;

pub const USAGE: &str = "\
ci-checkpoint: test checkpoints in S3 for builds on spot instances

USAGE:
  ci-checkpoint start   --key K                          claim this instance, print the attempt
  ci-checkpoint restore --key K                          print the skip list (one test id a line)
  ci-checkpoint record  --key K (--passlist F | --junit F)...  upload passes until stopped
  ci-checkpoint flush   --key K (--passlist F | --junit F)...  upload new passes once

OPTIONS:
  --key K            checkpoint key, stable across retries (job + commit + shard)  [CI_CHECKPOINT_KEY]
  --bucket B         S3 bucket                                                    [CHECKPOINT_BUCKET]
  --instance-id I    this instance         [CI_CHECKPOINT_INSTANCE_ID, else instance metadata]
  --slot S           the executor the build runs on, when an agent runs several builds at
                     once                  [CI_CHECKPOINT_SLOT, else Jenkins' EXECUTOR_NUMBER, else 0]
  --passlist FILE    a file of passed test ids, one a line (repeatable)
  --junit PATH       a JUnit XML report, or a directory of them (repeatable)
  --every SECS       record: upload every SECS seconds (default 5)
  --until-pid PID    record: stop (after a last upload) when process PID exits
  --strict           exit 1 when checkpointing fails (default: log it, exit 0)

Checkpointing never fails a build: errors are logged on stderr and the exit status is 0
unless --strict. Command-line mistakes exit 2.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Restore,
    Record,
    Flush,
    Help,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    pub command: Command,
    pub key: Option<String>,
    pub bucket: Option<String>,
    pub instance_id: Option<String>,
    pub slot: Option<String>,
    pub sources: Vec<Source>,
    pub every: Duration,
    pub until_pid: Option<u32>,
    pub strict: bool,
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parser = lexopt::Parser::from_args(args);
    let command = match parser.next() {
        Ok(Some(lexopt::Arg::Value(name))) => match name.to_string_lossy().as_ref() {
            "start" => Command::Start,
            "restore" => Command::Restore,
            "record" => Command::Record,
            "flush" => Command::Flush,
            "help" => Command::Help,
            other => return Err(format!("unknown command {other:?}")),
        },
        Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h')) | None) => Command::Help,
        Ok(Some(other)) => return Err(format!("unknown command {:?}", spelled(&other))),
        Err(e) => return Err(e.to_string()),
    };
    let mut parsed = Args {
        command,
        key: None,
        bucket: None,
        instance_id: None,
        slot: None,
        sources: Vec::new(),
        every: Duration::from_secs(5),
        until_pid: None,
        strict: false,
    };
    // lexopt takes `--name=value` and `--name value` alike.
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        // Owned, so the borrow of the parser that `arg` holds ends here.
        let name = spelled(&arg);
        let mut value = || {
            parser
                .value()
                .map(|v| v.to_string_lossy().into_owned())
                .map_err(|_| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--key" => parsed.key = Some(value()?),
            "--bucket" => parsed.bucket = Some(value()?),
            "--instance-id" => parsed.instance_id = Some(value()?),
            "--slot" => parsed.slot = Some(value()?),
            "--passlist" => parsed
                .sources
                .push(Source::PassList(PathBuf::from(value()?))),
            "--junit" => parsed.sources.push(Source::Junit(PathBuf::from(value()?))),
            "--every" => parsed.every = every(&value()?)?,
            "--until-pid" => {
                let raw = value()?;
                parsed.until_pid = Some(
                    raw.parse()
                        .map_err(|_| format!("--until-pid {raw:?} is not a process id"))?,
                );
            }
            "--strict" => parsed.strict = true,
            "--help" | "-h" => parsed.command = Command::Help,
            _ => return Err(format!("unknown option {name:?}")),
        }
    }
    if matches!(parsed.command, Command::Record | Command::Flush) && parsed.sources.is_empty() {
        return Err("record and flush need --passlist FILE or --junit FILE".into());
    }
    Ok(parsed)
}

/// An argument as the user typed it, for error messages.
fn spelled(arg: &lexopt::Arg<'_>) -> String {
    match arg {
        lexopt::Arg::Long(name) => format!("--{name}"),
        lexopt::Arg::Short(c) => format!("-{c}"),
        lexopt::Arg::Value(v) => v.to_string_lossy().into_owned(),
    }
}

fn every(raw: &str) -> Result<Duration, String> {
    raw.parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.1)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("--every {raw:?}: give seconds, at least 0.1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn options_in_both_spellings() {
        let args = parse_str("record --key=k --bucket b --passlist p.txt --junit=r.xml --every 2 --until-pid 42 --strict --slot=3")
            .expect("parses");
        assert_eq!(args.slot.as_deref(), Some("3"));
        assert_eq!(args.command, Command::Record);
        assert_eq!(
            (args.key.as_deref(), args.bucket.as_deref()),
            (Some("k"), Some("b"))
        );
        assert_eq!(
            args.sources,
            [
                Source::PassList("p.txt".into()),
                Source::Junit("r.xml".into())
            ]
        );
        assert_eq!(
            (args.every, args.until_pid, args.strict),
            (Duration::from_secs(2), Some(42), true)
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("launch", "unknown command"),
            ("start --kee k", "unknown option \"--kee\""),
            ("start --key", "--key needs a value"),
            ("record --key k", "need --passlist"),
            ("record --passlist p --every 0", "at least 0.1"),
            ("record --passlist p --until-pid me", "not a process id"),
        ];
        for (line, expected) in cases {
            let err = parse_str(line).err().unwrap_or_default();
            assert!(err.contains(expected), "{line}: {err}");
        }
    }

    #[test]
    fn help() {
        assert_eq!(parse_str("").map(|a| a.command), Ok(Command::Help));
        assert_eq!(parse_str("start -h").map(|a| a.command), Ok(Command::Help));
    }
}
