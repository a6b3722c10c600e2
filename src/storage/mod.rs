//! Storage: one interface ([`Storage`]), one implementation per backend
//! ([`SqliteStore`], [`PgStore`]), both generated from the same SQL in
//! [`sql`] with per-backend hooks where the databases differ.

mod alert_sql;
mod alerts;
pub mod backup;
mod goal_sql;
pub mod jobs;
pub mod pg_tls;
mod postgres;
mod rows;
mod sql;
mod sqlite;
pub mod tokens;
pub mod web;

pub use alerts::{
    AlertFilter, AlertRow, AlertStorage, DeliveryRow, DeliveryStatus, DueDelivery, Outcome, PlannedAlert,
};
pub use jobs::{JobKind, JobRun, JobStorage, PassLock};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use tokens::{NewToken, RevokeOutcome, TokenRow, TokenStorage};
pub use web::{LoginLinkRow, SessionRow, WebStorage};

use crate::domain::goal::{GoalStatus, NewProgress, ProgressEntry};
use crate::domain::snapshot::Totals;
use crate::domain::{Goal, GoalId};
use crate::domain::{Period, SnapshotLine, SnapshotSummary, User, UserId};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::future::Future;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or `None` for an unknown scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Whether `users add` created the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Created,
    AlreadyExists,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub created: usize,
    pub updated: usize,
}

/// A file already stored, recognised by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedFile {
    pub id: i64,
    pub file_name: String,
    pub ingested_at: DateTime<Utc>,
}

/// The file-level facts stored with an ingest.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub sha256: String,
    pub file_name: String,
    pub size_bytes: u64,
    pub line_count: u64,
}

/// One `(user, period)` snapshot of a file, with totals computed while validating.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub user_id: UserId,
    pub period: Period,
    pub totals: Totals,
    pub line_count: u64,
}

/// A validated line, tagged with the index of its snapshot in the `NewSnapshot` slice.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub snapshot: usize,
    pub line_no: u64,
    pub line: SnapshotLine,
}

/// Produces a file's validated lines in chunks, so memory stays flat.
pub trait LineSource {
    /// Replaces `buf`'s contents with up to `max` lines; an empty `buf` means the end.
    fn next_chunk(&mut self, buf: &mut Vec<NewLine>, max: usize) -> anyhow::Result<()>;
}

/// Lines per chunk handed from a [`LineSource`] to storage.
pub const LINE_CHUNK: usize = 4_096;

enum Chunk {
    Lines(Vec<NewLine>),
    End,
}

/// A [`LineSource`] running on a blocking thread, so reading and parsing the
/// next chunk overlaps with storing the current one. The stream ends with an
/// explicit marker: a producer that stops without it (a panic) is an error,
/// never a short file.
pub struct LineChunks {
    rx: tokio::sync::mpsc::Receiver<anyhow::Result<Chunk>>,
}

impl LineChunks {
    pub fn spawn<S: LineSource + Send + 'static>(mut source: S) -> LineChunks {
        // Room to read ahead while storage does its per-file work (versions,
        // snapshot rows): up to 8 chunks of lines, a few megabytes.
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::task::spawn_blocking(move || {
            loop {
                let mut buf = Vec::with_capacity(LINE_CHUNK);
                let message = match source.next_chunk(&mut buf, LINE_CHUNK) {
                    Ok(()) if buf.is_empty() => Ok(Chunk::End),
                    Ok(()) => Ok(Chunk::Lines(buf)),
                    Err(e) => Err(e),
                };
                let last = !matches!(message, Ok(Chunk::Lines(_)));
                // A closed channel means storage gave up: stop reading.
                if tx.blocking_send(message).is_err() || last {
                    return;
                }
            }
        });
        LineChunks { rx }
    }

    /// The next chunk, or `None` at the end of the lines.
    pub async fn next(&mut self) -> anyhow::Result<Option<Vec<NewLine>>> {
        match self.rx.recv().await {
            Some(Ok(Chunk::Lines(lines))) => Ok(Some(lines)),
            Some(Ok(Chunk::End)) => Ok(None),
            Some(Err(e)) => Err(e),
            None => Err(anyhow::anyhow!("reading the file stopped unexpectedly")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    pub file_id: i64,
    pub snapshots: usize,
    pub corrections: usize,
    pub lines: u64,
}

/// Why an ingest stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Another run stored the same content first.
    #[error("this content was already ingested")]
    AlreadyIngested,
    /// The file could not be read back as validated (changed, unreadable).
    #[error("{0:#}")]
    Source(anyhow::Error),
    /// The database failed: an operational error, not the file's fault.
    #[error("database error: {0:#}")]
    Database(anyhow::Error),
}

/// Everything stored with one file, besides its lines.
#[derive(Debug, Clone, Copy)]
pub struct IngestBatch<'a> {
    pub file: &'a NewFile,
    /// Users the file names that do not exist yet (`auto_create_users`).
    pub create_users: &'a [User],
    pub snapshots: &'a [NewSnapshot],
    /// Goals' progress entries for these snapshots.
    pub progress: &'a [FileProgress],
    /// Goals these entries complete.
    pub completed: &'a [GoalId],
    /// Alerts the entries raise (stored once, with their outbox rows).
    pub alerts: &'a [PlannedAlert],
}

/// The goal writes stored with a file after its lines: progress entries for
/// its snapshots, the goals they complete, the alerts they raise.
pub trait GoalWrites: Send {
    fn progress(&self) -> &[FileProgress];
    fn completed(&self) -> &[GoalId];
    fn alerts(&self) -> &[PlannedAlert];
}

/// The goal writes an [`IngestBatch`] carries.
pub struct BatchGoals<'a> {
    pub progress: &'a [FileProgress],
    pub completed: &'a [GoalId],
    pub alerts: &'a [PlannedAlert],
}

impl GoalWrites for BatchGoals<'_> {
    fn progress(&self) -> &[FileProgress] {
        self.progress
    }

    fn completed(&self) -> &[GoalId] {
        self.completed
    }

    fn alerts(&self) -> &[PlannedAlert] {
        self.alerts
    }
}

/// A progress entry computed for a snapshot of the file being stored.
#[derive(Debug, Clone)]
pub struct FileProgress {
    /// Index into the file's `NewSnapshot`s; its id becomes the entry's `snapshot_id`.
    pub snapshot: usize,
    pub entry: NewProgress,
}

/// What sync needs to know of a goal's stored progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncState {
    /// The latest budget_sync entries, oldest first: (period, value, contribution), at most 3.
    pub recent: Vec<(Period, crate::domain::Money, crate::domain::Money)>,
    /// The value of the first budget_sync entry (an expense reduction's baseline).
    pub first_value: Option<crate::domain::Money>,
    /// Where the newest budget_sync entry left the goal (for the alert rules).
    pub last_standing: Option<crate::domain::tracking::Standing>,
    /// Debt goals: the linked debts the newest budget_sync entry had seen.
    pub debt_seen: crate::domain::measure::DebtSeen,
}

/// A snapshot as listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SnapshotRow {
    pub id: i64,
    pub user_id: UserId,
    pub period: Period,
    pub version: i64,
    pub is_current: bool,
    pub file_name: String,
    pub line_count: i64,
    pub total_income: crate::domain::Money,
    pub total_expenses: crate::domain::Money,
    pub net_worth: crate::domain::Money,
    pub created_at: DateTime<Utc>,
}

/// The current snapshot of a user's month, with its lines and summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredSnapshot {
    #[serde(flatten)]
    pub row: SnapshotRow,
    /// How many versions exist (1 + corrections).
    pub versions: i64,
    pub lines: Vec<SnapshotLine>,
    pub summary: SnapshotSummary,
}

/// Everything goalkeeper keeps. Implemented once per backend; every method is
/// a unit of work (its own transaction where it writes).
pub trait Storage: Clone + Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations that have not run yet.
    fn migrate(&self) -> impl Future<Output = anyhow::Result<()>> + Send;

    fn close(&self) -> impl Future<Output = ()> + Send;

    fn add_user(&self, user: &User, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<AddOutcome>> + Send;

    /// Creates or updates every user in one transaction.
    fn upsert_users(
        &self,
        users: &[User],
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<UpsertCounts>> + Send;

    fn list_users(&self) -> impl Future<Output = anyhow::Result<Vec<User>>> + Send;

    /// Up to `limit` users whose id sorts after `after` (`""` for the first page), by id: a run
    /// that looks at every user pages through them with this instead of reading them all at once.
    fn users_after(&self, after: &str, limit: i64) -> impl Future<Output = anyhow::Result<Vec<User>>> + Send;

    fn get_user(&self, id: &UserId) -> impl Future<Output = anyhow::Result<Option<User>>> + Send;

    /// Which of `ids` are registered.
    fn known_user_ids(&self, ids: &[&str]) -> impl Future<Output = anyhow::Result<HashSet<String>>> + Send;

    fn find_ingested_file(&self, sha256: &str) -> impl Future<Output = anyhow::Result<Option<IngestedFile>>> + Send;

    /// Stores a validated file in one transaction: the file record, the users
    /// to create, its snapshots (superseding current versions), every line
    /// `lines` yields, the goals' progress entries for its snapshots and the
    /// goals they completed. On any error nothing is stored.
    fn ingest_file(
        &self,
        batch: IngestBatch<'_>,
        lines: &mut LineChunks,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<IngestOutcome, IngestError>> + Send;

    /// [`ingest_file`](Storage::ingest_file) with the goal writes computed
    /// while the lines are stored: `planned` is awaited once the lines are in,
    /// and its writes replace the batch's `progress`, `completed` and
    /// `alerts` (which are not used). An error from it stores nothing.
    /// Returns the writes with the outcome.
    fn ingest_file_planned<P: GoalWrites, F: Future<Output = anyhow::Result<P>> + Send>(
        &self,
        batch: IngestBatch<'_>,
        lines: &mut LineChunks,
        planned: F,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(IngestOutcome, P), IngestError>> + Send;

    /// Snapshots, newest period first; every version, current or not.
    fn list_snapshots(&self, user: Option<&UserId>) -> impl Future<Output = anyhow::Result<Vec<SnapshotRow>>> + Send;

    /// The current version of a user's snapshot for a month.
    fn get_snapshot(
        &self,
        user: &UserId,
        period: Period,
    ) -> impl Future<Output = anyhow::Result<Option<StoredSnapshot>>> + Send;

    /// A user's current snapshots from `from` on, oldest first, summarised.
    fn user_snapshots(
        &self,
        user: &UserId,
        from: Period,
    ) -> impl Future<Output = anyhow::Result<Vec<(i64, Period, SnapshotSummary)>>> + Send;

    /// The current snapshots of these (user, month) pairs that are stored,
    /// with their ids, summarised (pairs without one are absent).
    fn snapshots_at(
        &self,
        months: &[(&str, Period)],
    ) -> impl Future<Output = anyhow::Result<std::collections::HashMap<(String, Period), (i64, SnapshotSummary)>>> + Send;

    fn add_goal(&self, goal: &Goal) -> impl Future<Output = anyhow::Result<AddOutcome>> + Send;

    /// Users with at least one goal in this status.
    fn users_with_goals(&self, status: GoalStatus) -> impl Future<Output = anyhow::Result<HashSet<String>>> + Send;

    /// The goals of these users that are in this status.
    fn goals_of(&self, users: &[&str], status: GoalStatus) -> impl Future<Output = anyhow::Result<Vec<Goal>>> + Send;

    /// Each goal's [`SyncState`] (goals without entries are absent).
    fn sync_states(
        &self,
        goals: &[&str],
    ) -> impl Future<Output = anyhow::Result<std::collections::HashMap<String, SyncState>>> + Send;

    /// Creates or replaces every goal (and its links) in one transaction.
    fn upsert_goals(&self, goals: &[Goal]) -> impl Future<Output = anyhow::Result<UpsertCounts>> + Send;

    /// Saves a changed goal (and its links); `false` if it does not exist.
    fn update_goal(&self, goal: &Goal) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Deletes a goal with its links and progress; `false` if it did not exist.
    fn delete_goal(&self, id: &GoalId) -> impl Future<Output = anyhow::Result<bool>> + Send;

    fn get_goal(&self, id: &GoalId) -> impl Future<Output = anyhow::Result<Option<Goal>>> + Send;

    /// Goals of one user or all, in one status or all, by user then id.
    fn list_goals(
        &self,
        user: Option<&UserId>,
        status: Option<GoalStatus>,
    ) -> impl Future<Output = anyhow::Result<Vec<Goal>>> + Send;

    /// A goal's progress entries, oldest period first; within a period, budget_sync before manual.
    fn progress_history(&self, goal: &GoalId) -> impl Future<Output = anyhow::Result<Vec<ProgressEntry>>> + Send;

    /// [`progress_history`](Storage::progress_history) of each of these goals
    /// (goals without entries are absent).
    fn progress_histories(
        &self,
        goals: &[&str],
    ) -> impl Future<Output = anyhow::Result<std::collections::HashMap<String, Vec<ProgressEntry>>>> + Send;

    /// Each of these users' current snapshot of their latest month, summarised
    /// (users without snapshots are absent).
    fn latest_snapshots(
        &self,
        users: &[&str],
    ) -> impl Future<Output = anyhow::Result<std::collections::HashMap<String, (Period, SnapshotSummary)>>> + Send;

    /// Stores a manual progress entry (one recorded earlier for the same goal
    /// and month is replaced) and the alerts it raises, in one transaction.
    fn add_progress(
        &self,
        entry: &NewProgress,
        alerts: &[PlannedAlert],
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Replaces a goal's budget_sync entries for `from` and later with
    /// `entries`, marks the goal completed at `completed_at` if given and
    /// not completed already, and stores the alerts raised, in one transaction.
    fn replace_sync_progress(
        &self,
        goal: &GoalId,
        from: Period,
        entries: &[NewProgress],
        alerts: &[PlannedAlert],
        completed_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Opens the database a URL names and evaluates the body with it as `store` (`with_storage!(url, |store| ...)`);
/// `with_storage!(read_only url, |store| ...)` opens it for reading only. Migrations are the body's business.
#[macro_export]
macro_rules! with_storage {
    ($url:expr, |$store:ident| $body:expr) => {
        $crate::with_storage!(@open connect, $url, |$store| $body)
    };
    (read_only $url:expr, |$store:ident| $body:expr) => {
        $crate::with_storage!(@open connect_read_only, $url, |$store| $body)
    };
    (@open $connect:ident, $url:expr, |$store:ident| $body:expr) => {{
        match $crate::storage::Backend::of_url($url) {
            Some($crate::storage::Backend::Sqlite) => {
                let $store = $crate::storage::SqliteStore::$connect($url).await?;
                $body
            }
            Some($crate::storage::Backend::Postgres) => {
                let $store = $crate::storage::PgStore::$connect($url).await?;
                $body
            }
            None => Err(anyhow::anyhow!(
                "database.url: expected sqlite://PATH or postgres://USER@HOST/DB, found {:?}",
                $crate::config::redact_url($url)
            )),
        }
    }};
}
