//! `fake-ci --kind jenkins|teamcity [--port N] [--state FILE.json]`
//!
//! Prints exactly `listening on http://127.0.0.1:PORT` as the first stdout line (tests
//! parse it), then logs to stderr until SIGTERM or ctrl-c.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use fake_ci::{App, FakeState, Kind, bind, router};
use lexopt::Arg;

const USAGE: &str = "usage: fake-ci --kind jenkins|teamcity [--port N] [--state FILE.json]";

struct Args {
    kind: Kind,
    port: u16,
    state: Option<String>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut kind = None;
    let mut port = 0;
    let mut state = None;
    // lexopt takes `--flag=value` and `--flag value` alike.
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let flag = spelled(&arg);
        match arg {
            Arg::Long("kind") => kind = Some(value(&mut parser, &flag)?.parse::<Kind>()?),
            Arg::Long("port") => {
                let v = value(&mut parser, &flag)?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: {v:?} is not a port number"))?;
            }
            Arg::Long("state") => state = Some(value(&mut parser, &flag)?),
            Arg::Short('h') | Arg::Long("help") => return Err(USAGE.to_owned()),
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Args {
        kind: kind.ok_or("--kind is required")?,
        port,
        state,
    })
}

/// The value after `flag` (or after its `=`).
fn value(parser: &mut lexopt::Parser, flag: &str) -> Result<String, String> {
    parser
        .value()
        .map(|v| v.to_string_lossy().into_owned())
        .map_err(|_| format!("{flag} needs a value"))
}

/// An argument as it was typed, for error messages.
fn spelled(arg: &Arg<'_>) -> String {
    match arg {
        Arg::Long(name) => format!("--{name}"),
        Arg::Short(c) => format!("-{c}"),
        Arg::Value(v) => v.to_string_lossy().into_owned(),
    }
}

fn load_state(path: Option<&str>) -> Result<FakeState, String> {
    let Some(path) = path else {
        return Ok(FakeState::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("--state {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("--state {path}: invalid state document: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("fake-ci: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let state = match load_state(args.state.as_deref()) {
        Ok(state) => state,
        Err(message) => {
            eprintln!("fake-ci: {message}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (listener, addr) = match bind(args.port).await {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("fake-ci: cannot bind 127.0.0.1:{}: {error}", args.port);
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "listening on http://{addr}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    tracing::info!(kind = ?args.kind, %addr, "fake CI server started");
    let app = App::new(args.kind, state);
    // Returning drops in-flight requests (a "hang" fault never finishes on its own).
    tokio::select! {
        result = axum::serve(listener, router(app)) => {
            if let Err(error) = result {
                eprintln!("fake-ci: server error: {error}");
                return ExitCode::FAILURE;
            }
        }
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let args =
            parse(&["--kind", "teamcity", "--port=8111", "--state", "s.json"]).expect("parses");
        assert_eq!(args.kind, Kind::TeamCity);
        assert_eq!(args.port, 8111);
        assert_eq!(args.state.as_deref(), Some("s.json"));
        assert_eq!(parse(&["--kind", "jenkins"]).expect("parses").port, 0);
        assert!(parse(&[]).is_err());
        assert!(parse(&["--kind", "gitlab"]).is_err());
        assert!(parse(&["--kind", "jenkins", "--port", "x"]).is_err());
        assert!(parse(&["--kind", "jenkins", "--bogus"]).is_err());
    }
}
