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

    /// With --run-once: check the inbox and report what would be stored and sent, changing nothing
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Log lines as text (default) or JSON, on stderr (overrides [log] format)
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<crate::config::LogFormat>,

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
    /// Run until SIGTERM or SIGINT: watch the inbox, evaluate goals and send emails on [schedule]
    Daemon,
    /// Serve the HTTP API, /healthz and /metrics on [http] listen, with no jobs (a read-mostly replica), until SIGTERM or SIGINT
    Serve,
    /// Database, inbox backlog, failed files, deliveries by status and the last run of each job
    Status(JsonFlag),
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
    /// Write a consistent copy of the SQLite database to FILE, even while the daemon runs (never overwrites; for PostgreSQL use pg_dump)
    Backup {
        /// The new file (it must not exist)
        file: PathBuf,
    },
    /// Register and list users
    #[command(subcommand)]
    Users(UsersCommand),
    /// Inspect stored budget snapshots
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
    /// Set, change and follow goals
    #[command(subcommand)]
    Goals(GoalsCommand),
    /// Record and read goal progress
    #[command(subcommand)]
    Progress(ProgressCommand),
    /// Goal templates (emergency fund, debt-free, ...)
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// A user's alert preferences: which alerts are emailed, quiet hours, caps
    #[command(subcommand)]
    Prefs(PrefsCommand),
    /// Alerts raised and their email deliveries
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// API bearer tokens: create one (shown once), list, revoke
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Every goal of a user (or of everyone) at a glance
    Dashboard {
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Args)]
pub struct GoalFields {
    /// Display name of the goal
    #[arg(long)]
    pub name: Option<String>,
    /// Target amount (a percentage for savings_rate)
    #[arg(long)]
    pub target: Option<String>,
    /// Deadline, YYYY-MM-DD
    #[arg(long, value_name = "DATE")]
    pub target_date: Option<String>,
    /// First day that counts, YYYY-MM-DD (default: today in the user's time zone)
    #[arg(long, value_name = "DATE")]
    pub start_date: Option<String>,
    /// An account the goal measures (repeatable)
    #[arg(long = "account", value_name = "ACCOUNT")]
    pub accounts: Vec<String>,
    /// A category the goal measures (repeatable)
    #[arg(long = "category", value_name = "CATEGORY")]
    pub categories: Vec<String>,
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum GoalsCommand {
    /// Create a goal; its progress is backfilled from stored snapshots
    Add {
        #[arg(long)]
        user: String,
        #[arg(long = "type", value_name = "TYPE")]
        goal_type: String,
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        fields: GoalFields,
    },
    /// List goals
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// A goal and where it stands today
    Show {
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change a goal; its progress is recomputed
    Update {
        id: String,
        #[command(flatten)]
        fields: GoalFields,
        /// Remove the deadline
        #[arg(long, conflicts_with = "target_date")]
        no_target_date: bool,
    },
    /// Stop tracking for now
    Pause { id: String },
    /// Track a paused goal again
    Resume { id: String },
    /// Mark a goal achieved
    Complete { id: String },
    /// Give a goal up
    Abandon { id: String },
    /// Delete a goal and its history
    Delete { id: String },
    /// Create or update goals from a CSV file; all or nothing
    Import { file: PathBuf },
    /// Recompute the progress of every active goal (of one user) from the stored snapshots
    Sync {
        #[arg(long)]
        user: Option<String>,
    },
    /// Create a goal from a template
    FromTemplate {
        template: String,
        #[arg(long)]
        user: String,
        /// A template parameter, e.g. --param home_price=450000 (repeatable)
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, value_name = "DATE")]
        target_date: Option<String>,
        /// Use this target instead of the template's
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProgressCommand {
    /// Record a value by hand (e.g. for custom goals)
    Record {
        goal: String,
        #[arg(long)]
        value: String,
        /// YYYY-MM (default: this month in the user's time zone)
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// A goal's progress entries
    History {
        goal: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// The available templates
    List(JsonFlag),
    /// A template's parameters, tips and timeline
    Show { id: String },
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
    /// Print a sign-in link for the web pages (valid 15 minutes, once), for an operator to pass on
    LoginLink { user: String },
    /// Sign a user out of the web pages everywhere (every session and unused sign-in link)
    Logout { user: String },
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

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token for a user (or an operator token with --admin) and print it once
    Create {
        /// The user the token acts for
        #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
        user: Option<String>,
        /// An operator token: may act on any user
        #[arg(long)]
        admin: bool,
        /// A label to recognise it by in `tokens list`, e.g. laptop
        #[arg(long, value_name = "LABEL")]
        name: Option<String>,
        /// The last day it works, YYYY-MM-DD in the user's time zone (UTC for --admin), or an RFC 3339 instant
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List tokens (never the tokens themselves): id, user, label, dates, status
    List {
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Revoke a token: it stops working at once
    Revoke {
        /// The token's id, as `tokens list` shows it
        id: i64,
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

#[derive(Debug, Subcommand)]
pub enum PrefsCommand {
    /// Show a user's preferences (the defaults until they are changed)
    Show {
        user: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change a user's preferences; what is not given stays as it is
    Set {
        user: String,
        /// Local quiet hours, HH:MM-HH:MM (may wrap midnight), or "none"
        #[arg(long, value_name = "HH:MM-HH:MM|none")]
        quiet_hours: Option<String>,
        /// Emails per local calendar day (at least 1)
        #[arg(long, value_name = "N")]
        max_per_day: Option<u32>,
        /// Hours between two emails (0 = no gap)
        #[arg(long, value_name = "H")]
        min_gap_hours: Option<u32>,
        /// Email this alert type too (repeatable)
        #[arg(long = "enable", value_name = "TYPE")]
        enable: Vec<String>,
        /// Stop emailing this alert type; it is still recorded (repeatable)
        #[arg(long = "disable", value_name = "TYPE")]
        disable: Vec<String>,
        /// Email at all
        #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
        email: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first, with where their email stands
    List {
        #[arg(long)]
        user: Option<String>,
        /// Only alerts whose email is pending, deferred, sending, sent or failed
        #[arg(long)]
        status: Option<String>,
        /// At most this many
        #[arg(long)]
        limit: Option<i64>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Send the emails that are due now (what every --run-once does after the inbox)
    Send,
    /// Mark an alert read
    Read { id: i64 },
}
