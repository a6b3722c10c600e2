//! Logging setup: lines on stderr (stdout is kept for command output), human-readable or JSON
//! (`--log-format json`, `[log] format`), filtered by `RUST_LOG` if set, else by `[log] level`
//! with tokio-cron-scheduler's own chatter held to warnings.

pub use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is not set: `level` (e.g. `info`), with `tokio_cron_scheduler=warn`.
pub fn default_filter(level: &str) -> String {
    format!("{level},tokio_cron_scheduler=warn")
}

/// Installs the global subscriber. `level`: the filter when `RUST_LOG` is not set (`[log] level`;
/// the demo, which prints its own story, uses `warn`).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter(level)))
        .unwrap_or_else(|_| EnvFilter::new(default_filter("info")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests calling dispatch twice) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
