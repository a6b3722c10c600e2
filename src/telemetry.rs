//! Logging setup: human-readable lines on stderr, filtered by `RUST_LOG`
//! (default `info`). stdout is kept for command output.

use tracing_subscriber::EnvFilter;

/// `default`: the filter when `RUST_LOG` is not set (`info`; the demo, which
/// prints its own story, uses `warn`).
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A second init (tests calling dispatch twice) is harmless: keep the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
