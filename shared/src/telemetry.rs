//! All logging setup. Logs go to stderr (stdout carries the handler's JSON response when
//! a function runs outside Lambda); JSON lines when Lambda's advanced logging asks for
//! them with `AWS_LAMBDA_LOG_FORMAT=JSON`; the level from `AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`, then `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let directive = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|level| level.to_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    // The SDK's own debug output is noisy and may echo request bodies: keep it at warn
    // unless the operator names it explicitly.
    let directive = if directive.contains("aws_") {
        directive
    } else {
        format!("{directive},aws_smithy_runtime=warn,aws_config=warn")
    };
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let installed = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
    // A second init (tests) keeps the first subscriber.
    drop(installed);
}
