//! Logging: one subscriber for the process, filtered by `RUST_LOG`, as text or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` when unset: passflow's own events. A line per request (`tower_http=info`) is
/// opt-in: formatting and writing it costs about a quarter of the throughput.
pub const DEFAULT_LOG_FILTER: &str = "passflow=info";

/// `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the request span's fields, for log pipelines.
    Json,
}

/// Installs the global subscriber, writing to stdout. Text has colours only on a terminal,
/// and never with `NO_COLOR` set (no-color.org): a log file or a pipeline gets plain text.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => {
            let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(ansi).init();
        }
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
