//! The command line: every flag and subcommand, parsed by clap.

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "goalkeeper",
    version,
    about = "Keeps people's financial goals on track from monthly budget snapshots"
)]
pub struct Cli {
    /// Configuration file (default: ./config/goalkeeper.toml, else /etc/goalkeeper/goalkeeper.toml, if present)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Use this instant instead of the wall clock, e.g. 2026-03-01T09:00:00Z
    #[arg(long, global = true, env = "GOALKEEPER_NOW", value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,

    /// Process the inbox once and exit (same as the run-once command)
    #[arg(long)]
    pub run_once: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 instant like 2026-03-01T09:00:00Z ({e})"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process the inbox once and exit: exit 0 if every file was stored, 1 if any failed, 2 on an operational error
    RunOnce,
    /// Show goalkeeper at work on the sample data in fixtures/, in a folder of its own
    Demo {
        /// Folder for the demo's database and inbox (re-created on every run)
        #[arg(long, default_value = "var/demo")]
        dir: PathBuf,
        /// Where the sample users.csv, inbox/ and invalid/ are
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
    },
    /// Validate the configuration and print it, secrets redacted
    CheckConfig,
    /// Print the commented example configuration (all defaults)
    DefaultConfig,
    /// Apply database migrations and exit
    Migrate,
    /// Register and list users
    #[command(subcommand)]
    Users(UsersCommand),
    /// Inspect stored budget snapshots
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Register one user
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin (default: [defaults] timezone)
        #[arg(long)]
        timezone: Option<String>,
    },
    /// Create or update users from a CSV file (user_id,email,display_name,timezone); all or nothing
    Import { file: PathBuf },
    /// List registered users
    List(JsonFlag),
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// List stored snapshots, newest month first, every version
    List {
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show a user's current snapshot for a month, with its totals
    Show {
        user: String,
        /// YYYY-MM
        period: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Clone, Copy, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
