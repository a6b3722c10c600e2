//! Settings: built-in defaults, then a TOML file, then `GOALKEEPER__SECTION__KEY`
//! environment variables. Validation and redaction for `check-config`.

use anyhow::{Context, bail};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The commented example configuration; its values are the built-in defaults.
pub const EXAMPLE_TOML: &str = include_str!("../config/goalkeeper.example.toml");

/// Where a configuration file is looked for when `--config` is not given.
pub const DEFAULT_PATHS: [&str; 2] = ["config/goalkeeper.toml", "/etc/goalkeeper/goalkeeper.toml"];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub inbox: InboxSettings,
    pub defaults: DefaultSettings,
    pub email: EmailSettings,
    pub schedule: ScheduleSettings,
    pub daemon: DaemonSettings,
    pub retention: RetentionSettings,
    pub log: LogSettings,
    pub http: HttpSettings,
    pub api: ApiSettings,
}

/// `[schedule]`: the daemon's jobs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// IANA zone the cron expressions are read in.
    pub timezone: String,
    /// Seconds between two inbox passes; 0 = no polling.
    pub inbox_poll_seconds: u64,
    /// Cron expression of the time-based alert pass; empty = off.
    pub evaluate: String,
    /// Cron expression of the email dispatch; empty = off.
    pub dispatch: String,
}

/// `[daemon]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// How long a SIGTERM waits for the work in progress.
    pub shutdown_timeout_seconds: u64,
}

/// `[retention]`: what the daemon prunes once a day.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days a sent or failed delivery is kept after its last change.
    pub deliveries_days: u32,
    /// Days a job run is kept (the latest run of each job is always kept).
    pub job_runs_days: u32,
    /// Days a superseded snapshot version is kept after the correction that replaced it; 0 = forever.
    pub superseded_snapshots_days: u32,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter (`info`, `info,goalkeeper=debug`); `RUST_LOG` wins.
    pub level: String,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InboxSettings {
    pub dir: PathBuf,
    pub processed_dir: PathBuf,
    pub failed_dir: PathBuf,
    pub max_file_bytes: u64,
    pub auto_create_users: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultSettings {
    pub timezone: String,
}

/// `[email]`: how alerts leave the building.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub transport: TransportKind,
    /// `Name <address>` or a bare address.
    pub from: String,
    /// Prefix for action links (`{base_url}/goals/{id}`); empty = no links.
    pub base_url: String,
    /// A `List-Unsubscribe` target (a `mailto:` or `https:` URL); empty = no header.
    pub list_unsubscribe: String,
    /// Several alerts due for one user at once go as one email.
    pub digest: bool,
    /// Attempts before a delivery that keeps failing transiently is marked failed.
    pub max_attempts: u32,
    /// First retry delay; doubles with every attempt (with jitter) up to `retry_max_seconds`.
    pub retry_initial_seconds: u64,
    pub retry_max_seconds: u64,
    pub file: FileTransportSettings,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileTransportSettings {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    /// A file holding the password (first line); or `GOALKEEPER__EMAIL__SMTP__PASSWORD`.
    pub password_file: PathBuf,
    /// Only from the environment; never printed.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// Extra CA certificates (PEM) trusted for the relay besides the bundled Mozilla roots; empty = none.
    pub ca_file: PathBuf,
    /// Bounds every connection, command and send.
    pub timeout_seconds: u64,
    /// Pooled connections kept open to the server.
    pub connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// STARTTLS, required: a server that does not offer it is an error.
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// Plain text; only allowed when the host is localhost or a loopback address.
    None,
}

/// `[http]`: the daemon's optional `/healthz` and `/metrics` endpoints.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// `HOST:PORT` to listen on, e.g. `127.0.0.1:9187`; empty = no HTTP server.
    pub listen: String,
    /// Where people reach the web pages (`https://goals.example.org`), for sign-in links; empty =
    /// `[email] base_url`, else `http://{listen}` (see [`Settings::web_base_url`]).
    #[serde(default)]
    pub base_url: String,
}

/// `[api]`: the HTTP API under `/api/v1/` on `[http] listen`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Serve the API when `[http] listen` is set (default true).
    pub enabled: bool,
}

/// Where the settings came from, for `check-config`.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    pub file: Option<PathBuf>,
}

/// Loads settings: defaults, then `explicit` (which must exist) or the first
/// default path that exists, then the environment.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    let file = match explicit {
        Some(path) => {
            if !path.is_file() {
                bail!("configuration file {} does not exist or is not a file", path.display());
            }
            Some(path.to_path_buf())
        }
        None => DEFAULT_PATHS.iter().map(PathBuf::from).find(|p| p.is_file()),
    };
    let text = match &file {
        Some(path) => Some(read_text(path)?),
        None => None,
    };
    let settings = from_layers(text.as_deref(), file.as_deref(), None)?;
    Ok(Loaded { settings, file })
}

/// The file's text; a file that is not UTF-8 is refused naming the line of the first bad byte.
fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading the configuration file {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
        anyhow::anyhow!(
            "invalid configuration ({}): line {line}: expected UTF-8 text (TOML files are UTF-8)",
            path.display()
        )
    })
}

/// Settings from the layers: defaults, then `file_text` (the file at `file`, named in messages), then the
/// `GOALKEEPER__SECTION__KEY` variables of `env` (the process environment when `None`). Values from the
/// environment are taken as text and converted to each setting's type, so a string setting keeps exactly
/// what was written (`007` stays `007`).
pub fn from_layers(
    file_text: Option<&str>,
    file: Option<&Path>,
    env: Option<std::collections::HashMap<String, String>>,
) -> anyhow::Result<Settings> {
    let mut builder =
        config::Config::builder().add_source(config::File::from_str(EXAMPLE_TOML, config::FileFormat::Toml));
    if let Some(text) = file_text {
        builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
    }
    builder = builder.add_source(
        config::Environment::with_prefix("GOALKEEPER")
            .prefix_separator("__")
            .separator("__")
            .source(env),
    );
    let merged = builder.build().map_err(|e| describe(e, file))?;
    merged.try_deserialize().map_err(|e| describe(e, file))
}

fn describe(e: config::ConfigError, file: Option<&Path>) -> anyhow::Error {
    let source = file.map_or_else(|| "defaults and environment".to_owned(), |f| f.display().to_string());
    anyhow::anyhow!("invalid configuration ({source}): {e}")
}

impl Settings {
    /// Where sign-in links point, without a trailing `/`: `[http] base_url`, else `[email]
    /// base_url`, else `http://{[http] listen}`; `None` when none is set.
    pub fn web_base_url(&self) -> Option<String> {
        [self.http.base_url.as_str(), self.email.base_url.as_str()]
            .into_iter()
            .find(|u| !u.is_empty())
            .map(|u| u.trim_end_matches('/').to_owned())
            .or_else(|| (!self.http.listen.is_empty()).then(|| format!("http://{}", self.http.listen)))
    }

    /// The built-in defaults alone (the example file), for the demo and tests.
    pub fn builtin() -> anyhow::Result<Settings> {
        toml::from_str(EXAMPLE_TOML).context("the built-in example configuration is invalid")
    }

    pub fn default_timezone(&self) -> anyhow::Result<Tz> {
        self.defaults.timezone.parse::<Tz>().map_err(|_| {
            anyhow::anyhow!(
                "defaults.timezone: {:?} is not an IANA time zone name (expected e.g. Europe/Berlin)",
                self.defaults.timezone
            )
        })
    }

    /// Checks everything that can be checked without touching the database:
    /// the URL's scheme, the zone, the folders. Returns every problem.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            problems.push(format!(
                "database.url: expected sqlite://PATH or postgres://USER@HOST/DB, found {:?}",
                redact_url(url)
            ));
        }
        if let Err(e) = self.default_timezone() {
            problems.push(e.to_string());
        }
        if self.inbox.max_file_bytes == 0 {
            problems.push("inbox.max_file_bytes: expected a size in bytes above 0".to_owned());
        }
        let dirs = [
            ("inbox.dir", &self.inbox.dir),
            ("inbox.processed_dir", &self.inbox.processed_dir),
            ("inbox.failed_dir", &self.inbox.failed_dir),
        ];
        for (key, dir) in dirs {
            if dir.as_os_str().is_empty() {
                problems.push(format!("{key}: a folder is required"));
            } else if dir.exists() && !dir.is_dir() {
                problems.push(format!("{key}: {} exists but is not a folder", dir.display()));
            } else if !dir.exists() && nearest_existing_ancestor(dir).is_none_or(|a| !a.is_dir()) {
                problems.push(format!(
                    "{key}: {} cannot be created: no parent folder exists",
                    dir.display()
                ));
            }
        }
        if self.inbox.processed_dir == self.inbox.dir || self.inbox.failed_dir == self.inbox.dir {
            problems.push("inbox.processed_dir and inbox.failed_dir must differ from inbox.dir".to_owned());
        }
        if self.inbox.processed_dir == self.inbox.failed_dir {
            problems.push("inbox.processed_dir and inbox.failed_dir must differ".to_owned());
        }
        problems.extend(self.email.validate());
        if !self.http.listen.is_empty() && self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "http.listen: expected HOST:PORT with an IP address, like 127.0.0.1:9187, or \"\" for none; found {:?}",
                self.http.listen
            ));
        }
        let base = self.http.base_url.as_str();
        if !(base.is_empty() || base.starts_with("https://") || base.starts_with("http://"))
            || base.contains(char::is_whitespace)
        {
            problems.push(format!(
                "http.base_url: expected an http(s):// URL like https://goals.example.org, or \"\" for [email] base_url; found {base:?}"
            ));
        }
        problems.extend(self.schedule.validate(None));
        if self.retention.deliveries_days == 0 {
            problems.push("retention.deliveries_days: expected at least 1 (days)".to_owned());
        }
        if self.retention.job_runs_days == 0 {
            problems.push("retention.job_runs_days: expected at least 1 (days)".to_owned());
        }
        if self.daemon.shutdown_timeout_seconds == 0 {
            problems.push("daemon.shutdown_timeout_seconds: expected at least 1".to_owned());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&self.log.level) {
            problems.push(format!(
                "log.level: expected a level (error, warn, info, debug, trace) or directives like \"info,goalkeeper=debug\", found {:?} ({e})",
                self.log.level
            ));
        }
        problems
    }

    /// [`validate`](Self::validate), and also that each cron expression fires at least once after `now`.
    pub fn validate_at(&self, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
        let mut problems = self.validate();
        let schedule_problems = self.schedule.validate(None);
        if schedule_problems.is_empty() {
            problems.extend(self.schedule.validate(Some(now)));
        }
        problems
    }

    /// The settings as TOML with secrets (database password) replaced by `***`.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let mut copy = self.clone();
        copy.database.url = redact_url(&copy.database.url);
        toml::to_string_pretty(&copy).context("printing the configuration")
    }
}

impl ScheduleSettings {
    pub fn timezone(&self) -> anyhow::Result<Tz> {
        self.timezone.parse::<Tz>().map_err(|_| {
            anyhow::anyhow!(
                "schedule.timezone: {:?} is not an IANA time zone name (expected e.g. Europe/Berlin)",
                self.timezone
            )
        })
    }

    /// The parsed cron schedule of `evaluate` or `dispatch`; `None` when blank (the job is off).
    pub fn cron(&self, key: &str) -> anyhow::Result<Option<crate::schedule::CronSchedule>> {
        let expr = match key {
            "evaluate" => &self.evaluate,
            "dispatch" => &self.dispatch,
            _ => anyhow::bail!("schedule.{key}: no such job"),
        };
        if expr.trim().is_empty() {
            return Ok(None);
        }
        let tz = self.timezone()?;
        crate::schedule::CronSchedule::parse(expr.trim(), tz)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("schedule.{key}: {e}"))
    }

    /// The interval of the inbox poll; `None` when off (0).
    pub fn inbox_poll(&self) -> Option<std::time::Duration> {
        (self.inbox_poll_seconds > 0).then(|| std::time::Duration::from_secs(self.inbox_poll_seconds))
    }

    /// Problems with the zone and the expressions; with `now`, also expressions that never fire again.
    fn validate(&self, now: Option<chrono::DateTime<chrono::Utc>>) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.timezone() {
            problems.push(e.to_string());
            return problems;
        }
        for key in ["evaluate", "dispatch"] {
            match self.cron(key) {
                Err(e) => problems.push(e.to_string()),
                Ok(Some(schedule)) => {
                    if let Some(now) = now
                        && schedule.next_after(now).is_none()
                    {
                        problems.push(format!(
                            "schedule.{key}: {:?} never fires after {now}; use \"\" to turn the job off",
                            schedule.expression()
                        ));
                    }
                }
                Ok(None) => {}
            }
        }
        problems
    }
}

impl EmailSettings {
    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!(
                "email.from: expected an address like \"goalkeeper <goals@example.org>\", found {:?}",
                self.from
            ));
        }
        if !(self.base_url.is_empty() || self.base_url.starts_with("https://") || self.base_url.starts_with("http://"))
        {
            problems.push(format!(
                "email.base_url: expected an http(s):// URL or \"\", found {:?}",
                self.base_url
            ));
        }
        let unsubscribe = &self.list_unsubscribe;
        if !(unsubscribe.is_empty() || unsubscribe.starts_with("mailto:") || unsubscribe.starts_with("https://")) {
            problems.push(format!(
                "email.list_unsubscribe: expected a mailto: or https:// URL or \"\", found {:?}",
                self.list_unsubscribe
            ));
        }
        if self.max_attempts == 0 {
            problems.push("email.max_attempts: expected at least 1".to_owned());
        }
        if self.retry_initial_seconds == 0 || self.retry_max_seconds < self.retry_initial_seconds {
            problems.push(format!(
                "email.retry_initial_seconds and email.retry_max_seconds: expected a first delay above 0 and at most the longest; found {} and {}",
                self.retry_initial_seconds, self.retry_max_seconds
            ));
        }
        match self.transport {
            TransportKind::File => {
                if self.file.dir.as_os_str().is_empty() {
                    problems.push("email.file.dir: a folder is required for transport = \"file\"".to_owned());
                }
            }
            TransportKind::Smtp => {
                let smtp = &self.smtp;
                if smtp.host.is_empty() {
                    problems.push("email.smtp.host: a host name is required for transport = \"smtp\"".to_owned());
                }
                if smtp.security == SmtpSecurity::None && !is_loopback_host(&smtp.host) {
                    problems.push(format!(
                        "email.smtp.security: \"none\" is only allowed for localhost, not {:?}; use starttls or tls",
                        smtp.host
                    ));
                }
                if smtp.timeout_seconds == 0 {
                    problems.push("email.smtp.timeout_seconds: expected at least 1".to_owned());
                }
                if smtp.connections == 0 {
                    problems.push("email.smtp.connections: expected at least 1".to_owned());
                }
                if smtp.security != SmtpSecurity::None
                    && !smtp.ca_file.as_os_str().is_empty()
                    && !smtp.ca_file.is_file()
                {
                    problems.push(format!(
                        "email.smtp.ca_file: {} does not exist or is not a file",
                        smtp.ca_file.display()
                    ));
                }
                if !smtp.password_file.as_os_str().is_empty() && !smtp.password_file.is_file() {
                    problems.push(format!(
                        "email.smtp.password_file: {} does not exist or is not a file",
                        smtp.password_file.display()
                    ));
                }
            }
        }
        problems
    }
}

/// `localhost`, `127.0.0.1`, `::1` and the rest of the loopback range.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn nearest_existing_ancestor(path: &Path) -> Option<&Path> {
    let mut p = path.parent();
    while let Some(candidate) = p {
        if candidate.as_os_str().is_empty() {
            return Some(Path::new("."));
        }
        if candidate.exists() {
            return Some(candidate);
        }
        p = candidate.parent();
    }
    None
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also a
/// `password=` query parameter. Anything else is returned as it is.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find(['/', '?']).map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let redacted: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{base}{}", redacted.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://gk:s3cr3t@db:5432/gk"),
            "postgres://gk:***@db:5432/gk"
        );
        assert_eq!(redact_url("postgres://gk@db/gk"), "postgres://gk@db/gk");
        assert_eq!(
            redact_url("postgres://db/gk?user=a&password=x"),
            "postgres://db/gk?user=a&password=***"
        );
        assert_eq!(redact_url("sqlite://var/goalkeeper.db"), "sqlite://var/goalkeeper.db");
    }

    #[test]
    fn the_example_file_is_a_complete_valid_configuration() {
        let settings: Settings = toml::from_str(EXAMPLE_TOML).unwrap();
        assert_eq!(settings.database.url, "sqlite://var/goalkeeper.db");
        assert_eq!(settings.inbox.max_file_bytes, 268_435_456);
        assert!(!settings.inbox.auto_create_users);
        assert_eq!(settings.default_timezone().unwrap(), Tz::UTC);
        assert_eq!(settings.schedule.timezone().unwrap(), Tz::UTC);
        assert_eq!(settings.schedule.inbox_poll(), Some(std::time::Duration::from_secs(30)));
        assert_eq!(
            settings.schedule.cron("evaluate").unwrap().unwrap().expression(),
            "0 0 6 * * *"
        );
        assert_eq!(
            settings.schedule.cron("dispatch").unwrap().unwrap().expression(),
            "0 * * * * *"
        );
        assert_eq!(settings.daemon.shutdown_timeout_seconds, 20);
        assert_eq!(settings.log.format, LogFormat::Text);
        assert_eq!(settings.log.level, "info");
        assert!(settings.validate().is_empty(), "{:?}", settings.validate());
    }

    #[test]
    fn schedules_are_checked_for_their_zone_their_syntax_and_whether_they_ever_fire() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let mut settings = Settings::builtin().unwrap();
        settings.schedule.evaluate = String::new();
        settings.schedule.dispatch = " ".to_owned();
        settings.schedule.inbox_poll_seconds = 0;
        assert!(settings.validate_at(now).is_empty(), "blank and 0 turn jobs off");
        assert!(settings.schedule.cron("evaluate").unwrap().is_none());
        assert_eq!(settings.schedule.inbox_poll(), None);

        settings.schedule.evaluate = "0 61 6 * * *".to_owned();
        let problems = settings.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("schedule.evaluate: cron expression \"0 61 6 * * *\""),
            "{problems:?}"
        );

        settings.schedule.evaluate = "0 0 6 1 1 * 2020".to_owned();
        assert!(settings.validate().is_empty(), "it parses");
        let problems = settings.validate_at(now);
        assert!(problems[0].contains("never fires after"), "{problems:?}");

        settings.schedule.evaluate = "0 0 6 * * *".to_owned();
        settings.schedule.timezone = "Mars/Olympus".to_owned();
        let problems = settings.validate();
        assert!(
            problems[0].starts_with("schedule.timezone: \"Mars/Olympus\""),
            "{problems:?}"
        );

        settings.schedule.timezone = "Europe/Berlin".to_owned();
        settings.daemon.shutdown_timeout_seconds = 0;
        settings.log.level = "info,=[".to_owned();
        let problems = settings.validate();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("daemon.shutdown_timeout_seconds"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("log.level"), "{problems:?}");
    }

    mod arbitrary {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashMap;

        /// Every key of the example file, dotted, with its default value.
        fn keys() -> Vec<(String, toml::Value)> {
            fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
                for (k, v) in table {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    match v {
                        toml::Value::Table(t) => walk(&key, t, out),
                        v => out.push((key, v.clone())),
                    }
                }
            }
            let mut out = Vec::new();
            walk("", &toml::from_str(EXAMPLE_TOML).unwrap(), &mut out);
            out
        }

        /// `key = value` as a TOML document, with the tables it needs.
        fn document(key: &str, value: toml::Value) -> String {
            let mut root = toml::Table::new();
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().unwrap();
            let mut table = &mut root;
            for p in parts {
                table = table
                    .entry(p)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .unwrap();
            }
            table.insert(last.to_owned(), value);
            toml::to_string(&root).unwrap()
        }

        /// The loaded value of a dotted key, as TOML.
        fn loaded(settings: &Settings, key: &str) -> Option<toml::Value> {
            let mut v = toml::Value::try_from(settings).ok()?;
            for part in key.split('.') {
                v = v.as_table()?.get(part)?.clone();
            }
            Some(v)
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "(?s).{0,30}",
                "[0-9.eE+-]{0,12}",
                "[a-z:/@._ 0-9*-]{0,30}",
                Just("007".to_owned()),
                Just("1e5".to_owned()),
                Just("TRUE".to_owned()),
                Just("-1".to_owned()),
                Just("99999999999999999999".to_owned()),
                Just(String::new()),
            ]
        }

        fn value() -> impl Strategy<Value = toml::Value> {
            prop_oneof![
                text().prop_map(toml::Value::String),
                any::<i64>().prop_map(toml::Value::Integer),
                (0i64..70_000).prop_map(toml::Value::Integer),
                any::<bool>().prop_map(toml::Value::Boolean),
                any::<f64>().prop_map(toml::Value::Float),
                Just(toml::Value::Array(vec![toml::Value::Integer(1)])),
            ]
        }

        /// A refusal, or every problem `validate` finds, must name the key that was set.
        fn assert_named(key: &str, outcome: anyhow::Result<Settings>) -> Result<Option<Settings>, TestCaseError> {
            match outcome {
                Err(e) => {
                    let text = format!("{e:#}");
                    prop_assert!(text.contains(key), "{key}: {text}");
                    Ok(None)
                }
                Ok(settings) => {
                    for p in settings.validate() {
                        prop_assert!(p.contains(key), "{key}: {p}");
                    }
                    Ok(Some(settings))
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn an_arbitrary_file_never_panics_and_a_refusal_says_where(
                bytes in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("goalkeeper.toml");
                std::fs::write(&path, &bytes).unwrap();
                if let Err(e) = load(Some(&path)) {
                    let text = format!("{e:#}");
                    prop_assert!(text.contains("goalkeeper.toml"), "{text}");
                    prop_assert!(text.contains("line") || text.contains("key") || text.contains("field"), "{text}");
                }
            }

            #[test]
            fn an_arbitrary_value_for_a_key_in_the_file_is_accepted_or_refused_naming_that_key(
                at in 0usize..64,
                value in value(),
            ) {
                let keys = keys();
                let (key, _) = &keys[at % keys.len()];
                let text = document(key, value);
                assert_named(key, from_layers(Some(&text), Some(Path::new("goalkeeper.toml")), Some(HashMap::new())))?;
            }

            #[test]
            fn an_arbitrary_value_for_a_key_in_the_environment_is_accepted_or_refused_naming_that_key(
                at in 0usize..64,
                value in text(),
            ) {
                let keys = keys();
                let (key, default) = &keys[at % keys.len()];
                let var = format!("GOALKEEPER__{}", key.replace('.', "__").to_uppercase());
                let env = HashMap::from([(var, value.clone())]);
                if let Some(settings) = assert_named(key, from_layers(None, None, Some(env)))?
                    && default.is_str()
                {
                    // A text setting is taken exactly as written.
                    prop_assert_eq!(loaded(&settings, key), Some(toml::Value::String(value)));
                }
            }
        }
    }
}
