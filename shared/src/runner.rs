//! How every function binary starts: inside Lambda it serves the Runtime API; outside
//! (no `AWS_LAMBDA_RUNTIME_API`) it runs the handler once, `NAME [--event FILE|-] [--dry-run]`,
//! prints the JSON response on stdout, and exits non-zero with a one-line reason on error.

use std::future::Future;
use std::io::Read;
use std::process::ExitCode;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::config::Env;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Lambda,
    Once { event_file: Option<String> },
}

#[derive(Debug, Clone)]
pub struct Launch {
    name: &'static str,
    mode: Mode,
    /// Writes nothing to the CI server or AWS; the response lists what it would have done.
    pub dry_run: bool,
}

impl Launch {
    /// Reads the command line (outside Lambda) or `DRY_RUN` (inside). `Err` carries the
    /// text to print and the exit code (usage asked for, or a bad argument).
    pub fn from_args(name: &'static str) -> std::result::Result<Launch, ExitCode> {
        let env = Env::from_process();
        if env.get("AWS_LAMBDA_RUNTIME_API").is_some() {
            let dry_run = env
                .flag("DRY_RUN", false)
                .map_err(|e| fail_line(name, &e))?;
            return Ok(Launch {
                name,
                mode: Mode::Lambda,
                dry_run,
            });
        }
        let (event_file, dry_run) = read_command_line(std::env::args().skip(1))
            .map_err(|problem| usage(name, problem.as_deref()))?;
        Ok(Launch {
            name,
            mode: Mode::Once { event_file },
            dry_run,
        })
    }

    /// Reports a start-up failure (configuration, clients) the way the mode expects.
    pub fn fail(&self, error: &Error) -> ExitCode {
        tracing::error!(error = %error, "{} could not start", self.name);
        fail_line(self.name, error)
    }

    /// Runs `handler` on the Lambda events, or once on `--event` / `default_event`.
    pub async fn serve<F, Fut>(self, default_event: Value, handler: F) -> ExitCode
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value>> + Send,
    {
        match self.mode {
            Mode::Lambda => {
                let handler = &handler;
                let service = service_fn(move |event: LambdaEvent<Value>| async move {
                    handler(event.payload).await.map_err(|e| {
                        tracing::error!(error = %e, "invocation failed");
                        lambda_runtime::Diagnostic {
                            error_type: e.kind().to_owned(),
                            error_message: e.to_string(),
                        }
                    })
                });
                match lambda_runtime::run(service).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail_line(self.name, &Error::Failed(format!("Lambda runtime: {e}"))),
                }
            }
            Mode::Once { ref event_file } => {
                let event = match event_file {
                    None => Ok(default_event),
                    Some(file) => read_event(file),
                };
                let result = match event {
                    Ok(event) => handler(event).await,
                    Err(e) => Err(e),
                };
                match result.and_then(|response| {
                    serde_json::to_string_pretty(&response)
                        .map_err(|e| Error::Failed(e.to_string()))
                }) {
                    Ok(text) => {
                        println!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => self.fail(&e),
                }
            }
        }
    }
}

/// A function's handler: one event in, one JSON response out.
#[async_trait::async_trait]
pub trait Function: Send + Sync + 'static {
    async fn handle(&self, event: Value) -> Result<Value>;
}

/// The whole `main` of a function binary: logging, the command line or Lambda mode,
/// building the handler once (`build(dry_run)`), then serving events.
pub async fn run<H, B, Fut>(name: &'static str, default_event: Value, build: B) -> ExitCode
where
    H: Function,
    B: FnOnce(bool) -> Fut,
    Fut: Future<Output = Result<H>>,
{
    crate::telemetry::init();
    let launch = match Launch::from_args(name) {
        Ok(launch) => launch,
        Err(code) => return code,
    };
    let handler = match build(launch.dry_run).await {
        Ok(handler) => std::sync::Arc::new(handler),
        Err(e) => return launch.fail(&e),
    };
    launch
        .serve(default_event, move |event| {
            let handler = handler.clone();
            async move { handler.handle(event).await }
        })
        .await
}

/// `[--event FILE|-] [--dry-run]`, read with lexopt as every ci-fleet CLI is
/// (`--event FILE` and `--event=FILE` alike). `Err(None)`: help was asked for.
fn read_command_line(
    args: impl IntoIterator<Item = String>,
) -> std::result::Result<(Option<String>, bool), Option<String>> {
    let mut parser = lexopt::Parser::from_args(args);
    let (mut event_file, mut dry_run) = (None, false);
    while let Some(arg) = parser.next().map_err(|e| Some(e.to_string()))? {
        match arg {
            lexopt::Arg::Long("dry-run") => dry_run = true,
            lexopt::Arg::Long("event") => {
                let file = parser
                    .value()
                    .map_err(|_| Some("--event needs a file name, or - for stdin".to_owned()))?;
                event_file = Some(file.to_string_lossy().into_owned());
            }
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => return Err(None),
            lexopt::Arg::Long(other) => {
                return Err(Some(format!("unknown argument \"--{other}\"")));
            }
            lexopt::Arg::Short(other) => {
                return Err(Some(format!("unknown argument \"-{other}\"")));
            }
            lexopt::Arg::Value(other) => {
                return Err(Some(format!(
                    "unknown argument {:?}",
                    other.to_string_lossy()
                )));
            }
        }
    }
    Ok((event_file, dry_run))
}

fn read_event(file: &str) -> Result<Value> {
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| Error::Event(format!("{file}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Error::Event(format!("{file}: not JSON: {e}")))
}

fn fail_line(name: &str, error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{name}: {error}");
    ExitCode::FAILURE
}

fn usage(name: &str, problem: Option<&str>) -> ExitCode {
    if let Some(problem) = problem {
        eprintln!("{name}: {problem}");
    }
    eprintln!(
        "usage: {name} [--event FILE|-] [--dry-run]\n  Runs the handler once and prints its JSON response (outside Lambda)."
    );
    if problem.is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(event file, dry run)`, or the problem (`None`: help).
    type Expected = Result<(Option<&'static str>, bool), Option<&'static str>>;

    #[test]
    fn reads_the_command_line_in_both_spellings_and_names_mistakes() {
        let cases: [(&str, Expected); 8] = [
            ("", Ok((None, false))),
            ("--dry-run", Ok((None, true))),
            ("--event e.json --dry-run", Ok((Some("e.json"), true))),
            ("--event=e.json", Ok((Some("e.json"), false))),
            ("--event -", Ok((Some("-"), false))),
            (
                "--event",
                Err(Some("--event needs a file name, or - for stdin")),
            ),
            ("--evnt x", Err(Some("unknown argument \"--evnt\""))),
            ("-h", Err(None)),
        ];
        for (line, expected) in cases {
            let got = read_command_line(line.split_whitespace().map(str::to_owned));
            let expected = expected
                .map(|(file, dry)| (file.map(str::to_owned), dry))
                .map_err(|problem| problem.map(str::to_owned));
            assert_eq!(got, expected, "{line:?}");
        }
    }
}
