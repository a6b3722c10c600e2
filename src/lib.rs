//! goalkeeper keeps people's financial goals on track from monthly budget snapshots.
//!
//! A map of the modules, from the pure core outwards:
//!
//! - [`domain`]: values and rules with no I/O: money, periods, users, snapshot
//!   lines and their totals; goals, what they measure, the progress calculator,
//!   tracking, templates; alert rules, reminders' tracking periods and delivery scheduling.
//! - [`config`]: layered settings (defaults, TOML file, environment) and their validation.
//! - [`clock`]: where `now` comes from (`--now` or the wall clock).
//! - [`storage`]: the [`storage::Storage`] interface and its SQLite and PostgreSQL
//!   implementations, with embedded migrations (`migrations/<backend>/`); `storage::pg_tls`: TLS to
//!   PostgreSQL (sslmode, defaults, messages).
//! - [`goals`]: keeping goals' progress in step with snapshots (backfill, sync, resync).
//! - [`evaluate`]: the time-based alert pass (deadlines, update reminders).
//! - [`dispatch`]: the email outbox sender (quiet hours, caps, gaps, digests,
//!   retries, exactly-once claims), with its own entry point over the configured transport.
//! - [`inbox`]: the CSV snapshot inbox: scanning, streaming validation,
//!   all-or-nothing ingest, moving files to processed/failed.
//! - [`schedule`]: cron expressions read in an IANA zone, fired at the right instants across
//!   daylight-saving changes, and driven through tokio-cron-scheduler as re-armed one-shot jobs.
//! - [`tabular`]: reading CSV files with a header into checked records (shared
//!   by the inbox and `users import`).
//! - [`email`]: how alert emails look and leave: [`email::render`] builds the
//!   multipart message from templates; [`email::transport`] hands it to an SMTP
//!   relay (lettre: pooled, TLS, bounded by a timeout) or writes it to a folder
//!   as an `.eml` file, and says whether a failure is worth retrying.
//! - [`metrics`]: operators' counters in the Prometheus text format, and
//!   [`http`]: the optional `/healthz` and `/metrics` endpoints (axum).
//! - [`retention`]: the daemon's daily pruning (`[retention]`), in small batches.
//! - [`jobs`]: one run of each periodic job (inbox, time-based pass, dispatch) under the pass lock,
//!   recorded in `job_runs`; [`daemon`]: running them on `[schedule]` until a signal, with a shared
//!   [`daemon::State`] of counters and last runs, systemd notifications and a graceful shutdown;
//!   [`stop`]: the cooperative stop request long work checks between files and emails.
//! - [`auth`]: API bearer tokens (`gk_…`, stored as SHA-256): making, checking
//!   ([`auth::authenticate`] → [`auth::Principal`]), listing and revoking them, and the
//!   failed-attempt limiter per client address; storage through [`storage::TokenStorage`].
//! - [`service`]: the operations the CLI and the HTTP API share (goals, progress, the dashboard,
//!   alerts, preferences, snapshots), each taking the storage, the [`service::Caller`] (the one access
//!   check), `now` and typed inputs, and returning typed results or one [`service::Error`].
//! - [`cli`]: the command line (clap definitions) and [`commands`]: each command parses, calls
//!   [`service`] and prints. `main.rs` only parses and dispatches.
//! - [`web`]: the web pages people sign in to with an emailed link (sessions, CSRF, the sign-in
//!   rate limit, server-rendered templates and SVG), over [`service`] with the API's access check;
//!   storage through [`storage::WebStorage`].
//! - [`telemetry`]: logging setup.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod domain;
pub mod email;
pub mod evaluate;
pub mod goals;
pub mod http;
pub mod inbox;
pub mod jobs;
pub mod metrics;
pub mod retention;
pub mod schedule;
pub mod service;
pub mod stop;
pub mod storage;
pub mod tabular;
pub mod telemetry;
pub mod web;
