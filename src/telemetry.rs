//! Logging: one subscriber for the process, filtered by `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` when unset: passflow's own events. A line per request (`tower_http=info`) is
/// opt-in: formatting and writing it costs about a quarter of the throughput.
pub const DEFAULT_LOG_FILTER: &str = "passflow=info";

/// Installs the global subscriber, writing to stdout. Colours only on a terminal, and never
/// with `NO_COLOR` set (no-color.org): a log file or a pipeline gets plain text.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .init();
}
