//! ci-checkpoint: run by a build on a CI agent. Records the tests that pass to S3 as they
//! pass, and prints them back as a skip list when the build is retried after a spot
//! interruption. Wiring only; the layout and the rules are `shared::checkpoint`.
//!
//! Checkpointing never fails a build: every checkpoint error is logged on stderr in one
//! line and the exit status is 0 (1 with `--strict`). Only command-line mistakes exit 2.

mod alarm;
mod args;
mod imds;
mod junit;
mod record;
mod source;
mod stop;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use chrono::Utc;
use shared::aws::load_sdk_config;
use shared::aws::store::S3Store;
use shared::checkpoint::{self, CheckpointKey, validate_instance_id, validate_slot};
use shared::config::Env;
use shared::{Error, Result, telemetry};

use crate::args::{Args, Command, USAGE};
use crate::imds::Imds;
use crate::record::Recording;
use crate::source::Sources;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    telemetry::init();
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("ci-checkpoint: {e}; see `ci-checkpoint --help`");
            return ExitCode::from(2);
        }
    };
    if args.command == Command::Help {
        // Not println!: `ci-checkpoint --help | head` must not panic on the closed pipe.
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let env = Env::from_process();
    let strict = args.strict || env.flag("CI_CHECKPOINT_STRICT", false).unwrap_or(false);
    let ok = match args.command {
        Command::Restore => restore(&args, &env).await,
        command => match run(command, &args, &env).await {
            Ok(ok) => ok,
            Err(e) => {
                tracing::error!("checkpoint {}: {e}", name(command));
                false
            }
        },
    };
    if ok || !strict {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The executor slot of the claim: several builds on one agent (Jenkins executors) each
/// claim their own, so an interruption seals all of them.
fn slot(args: &Args, env: &Env) -> Result<String> {
    let slot = args
        .slot
        .as_deref()
        .or(env.get("CI_CHECKPOINT_SLOT"))
        .or(env.get("EXECUTOR_NUMBER"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("0")
        .to_owned();
    validate_slot(&slot)?;
    Ok(slot)
}

fn name(command: Command) -> &'static str {
    match command {
        Command::Start => "start",
        Command::Restore => "restore",
        Command::Record => "record",
        Command::Flush => "flush",
        Command::Help => "help",
    }
}

/// start, record, flush. `Err` is a failure not logged yet; `Ok(false)` one that was.
async fn run(command: Command, args: &Args, env: &Env) -> Result<bool> {
    let key = key(args, env)?;
    let store = store(args, env).await?;
    let imds = Arc::new(Imds::new(env.get("CI_CHECKPOINT_IMDS_URL")));
    let instance_id = match args
        .instance_id
        .as_deref()
        .or(env.get("CI_CHECKPOINT_INSTANCE_ID"))
    {
        Some(id) => id.to_owned(),
        None => imds.instance_id().await.map_err(|e| {
            Error::Failed(format!(
                "no instance id: set --instance-id or CI_CHECKPOINT_INSTANCE_ID off EC2 ({e})"
            ))
        })?,
    };
    validate_instance_id(&instance_id)?;
    let slot = slot(args, env)?;
    match command {
        Command::Start => {
            let claim = checkpoint::start(&store, &instance_id, &slot, &key, Utc::now()).await?;
            let _ = writeln!(std::io::stdout(), "{}", claim.attempt);
            tracing::info!(key = %key, attempt = claim.attempt, instance = %instance_id, slot = %slot, "claimed this executor for the build");
            Ok(true)
        }
        Command::Flush => {
            if !args.sources.iter().any(|s| match s {
                source::Source::PassList(p) | source::Source::Junit(p) => p.exists(),
            }) {
                tracing::warn!("none of the pass lists or reports exists yet: nothing to upload");
            }
            let mut recording = Recording::new(
                &store,
                instance_id,
                slot,
                key,
                Sources::new(args.sources.clone()),
            );
            Ok(recording.flush("flush").await)
        }
        Command::Record => {
            let recording = Recording::new(
                &store,
                instance_id,
                slot,
                key,
                Sources::new(args.sources.clone()),
            );
            record::record(recording, imds, args.every, args.until_pid)
                .await
                .map_err(|e| Error::Failed(format!("cannot watch for signals: {e}")))
        }
        Command::Restore | Command::Help => Ok(true),
    }
}

/// Prints the skip list. Any failure prints an empty list: the build then runs every
/// test, which is slower but never wrong.
async fn restore(args: &Args, env: &Env) -> bool {
    let restored = async {
        let key = key(args, env)?;
        let store = store(args, env).await?;
        checkpoint::restore(&store, &key).await
    }
    .await;
    match restored {
        Ok(restored) => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for test in &restored.tests {
                let _ = writeln!(out, "{test}");
            }
            let _ = out.flush();
            tracing::info!(tests = restored.tests.len(), "restored the skip list");
            true
        }
        Err(e) => {
            tracing::warn!(
                "checkpoint restore failed: {e}; the skip list is empty (every test runs)"
            );
            false
        }
    }
}

fn key(args: &Args, env: &Env) -> Result<CheckpointKey> {
    CheckpointKey::parse(
        args.key
            .as_deref()
            .or(env.get("CI_CHECKPOINT_KEY"))
            .unwrap_or(""),
    )
}

/// The SDK's own configuration (region, credentials, `AWS_ENDPOINT_URL`), with fewer
/// retries and short timeouts: a build waits on `restore`, and an S3 outage should cost
/// it seconds, not minutes.
async fn store(args: &Args, env: &Env) -> Result<S3Store> {
    let bucket = args
        .bucket
        .as_deref()
        .or(env.get("CHECKPOINT_BUCKET"))
        .ok_or_else(|| Error::config("CHECKPOINT_BUCKET", "not set (nor --bucket)"))?;
    let sdk = load_sdk_config()
        .await
        .into_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    Ok(S3Store::new(S3Store::client(&sdk), bucket))
}
