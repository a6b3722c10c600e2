//! What the periodic jobs keep: the `job_runs` record of every run (for `goalkeeper status`, the
//! daemon's catch-up at start, and operators), and the pass lock that keeps two goalkeeper processes
//! on one database from working the same inbox or outbox at once.
//!
//! # The pass lock
//!
//! * **SQLite**: an exclusive `flock` on `DATABASE.lock` beside the database file (`goalkeeper.db.lock`),
//!   for every job. The kernel drops it when the holder exits, whatever the cause (`kill -9` included).
//! * **PostgreSQL**: a session advisory lock (`pg_try_advisory_lock`, keyed by schema and job) on a connection
//!   held for the run, for the inbox and the time-based pass. The dispatch takes none: instances sharing
//!   the database claim deliveries row by row (`AlertStorage::claim`), so several may send at once
//!   without sending anything twice. The connection is closed after the run, so a lock can never be
//!   left behind in the pool.

use super::Storage;
use chrono::{DateTime, Utc};
use std::future::Future;

/// The periodic jobs, as named in `job_runs.job`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Processing the inbox.
    Inbox,
    /// The time-based alert pass (deadlines, reminders).
    Evaluate,
    /// Sending the emails that are due.
    Dispatch,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::Inbox, JobKind::Evaluate, JobKind::Dispatch];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Inbox => "inbox",
            JobKind::Evaluate => "evaluate",
            JobKind::Dispatch => "dispatch",
        }
    }

    /// The second half of the job's PostgreSQL advisory lock key (the first is a hash of the schema, see
    /// [`ADVISORY_LOCK`]); `None`: the job takes no lock there.
    pub fn advisory_key(self) -> Option<i32> {
        match self {
            JobKind::Inbox => Some(1),
            JobKind::Evaluate => Some(2),
            JobKind::Dispatch => None,
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The advisory lock calls: keyed by the schema (so installations in different schemas of one database
/// do not block each other) and the job; `$1` is [`JobKind::advisory_key`].
pub(super) const ADVISORY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtext('goalkeeper:' || current_schema()), $1)";
pub(super) const ADVISORY_LOCK_WAIT: &str = "SELECT pg_advisory_lock(hashtext('goalkeeper:' || current_schema()), $1)";
const ADVISORY_UNLOCK: &str = "SELECT pg_advisory_unlock(hashtext('goalkeeper:' || current_schema()), $1)";

/// One row of `job_runs`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    /// Who ran it: host name and process id.
    pub instance: String,
    pub started_at: DateTime<Utc>,
    /// `None`: still running, or the process died during the run.
    pub finished_at: Option<DateTime<Utc>>,
    pub ok: Option<bool>,
    /// The run's counts (or its error), as JSON.
    pub summary: Option<serde_json::Value>,
}

/// A held pass lock; [`release`](PassLock::release) it when the work is done. Dropping it also
/// releases it (the file is closed; the PostgreSQL connection is closed, not returned to the pool).
#[derive(Debug)]
pub struct PassLock(pub(super) LockInner);

#[derive(Debug)]
pub(super) enum LockInner {
    /// Nothing to hold (an in-memory SQLite database, the PostgreSQL dispatch).
    Nothing,
    /// The open lock file; closing it drops the `flock`.
    File(std::fs::File),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>, i32),
}

impl PassLock {
    pub async fn release(self) {
        match self.0 {
            LockInner::Nothing => {}
            // Closing the file drops the flock.
            LockInner::File(file) => drop(file),
            LockInner::Postgres(mut conn, key) => {
                // The connection is closed when dropped (close_on_drop), which would release the lock
                // anyway; unlocking first releases it without waiting for the server to notice.
                if let Err(e) = sqlx::query(ADVISORY_UNLOCK).bind(key).execute(&mut *conn).await {
                    tracing::debug!(error = %e, "unlocking the pass lock failed; closing its connection releases it");
                }
            }
        }
    }
}

/// Job runs and the pass lock. Every method is a unit of work.
pub trait JobStorage: Storage {
    /// Records that `job` started; returns the run's id.
    fn start_run(
        &self,
        job: JobKind,
        instance: &str,
        started_at: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<i64>> + Send;

    /// Records how a run ended: `summary` is a JSON object (counts, or the error). In the same
    /// transaction, the job's runs that finished more than `kept_days` (`retention.job_runs_days`) before
    /// this one are deleted: a daemon records a run every poll, and only recent history is of use. (So
    /// `--run-once` keeps `job_runs` bounded too; the daemon's daily retention also removes runs that
    /// never finished.)
    fn finish_run(
        &self,
        id: i64,
        finished_at: DateTime<Utc>,
        ok: bool,
        summary: &serde_json::Value,
        kept_days: u32,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The latest run of each job that has run, by job name.
    fn last_runs(&self) -> impl Future<Output = anyhow::Result<Vec<JobRun>>> + Send;

    /// The latest run of each job by each instance that ran it (several daemons sharing one
    /// PostgreSQL database; a restarted daemon is a new instance): by job name, then the most
    /// recent first. Bounded by what `job_runs` keeps (`retention.job_runs_days`).
    fn last_runs_by_instance(&self) -> impl Future<Output = anyhow::Result<Vec<JobRun>>> + Send;

    /// When the latest successful run of `job` started.
    fn last_success(&self, job: JobKind) -> impl Future<Output = anyhow::Result<Option<DateTime<Utc>>>> + Send;

    /// Deletes at most `limit` deliveries that were sent or failed for good and last changed before
    /// `before` (retention); returns how many. Their alerts stay, so nothing is queued again.
    fn prune_deliveries(&self, before: DateTime<Utc>, limit: u32) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Deletes at most `limit` job runs that started (and, if they finished, finished) before `before`,
    /// keeping the latest run of each job whatever its age (`status` and the daemon's catch-up read it);
    /// returns how many. A run whose process died (never finished) goes too.
    fn prune_job_runs(&self, before: DateTime<Utc>, limit: u32) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Deletes at most `limit` superseded snapshot versions (with their lines) whose correction, the next
    /// version, was stored before `before`; returns how many. The current version of every month stays,
    /// and so does any version a progress entry still points to.
    fn prune_superseded_snapshots(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Takes the pass lock for `job`. With `wait`, waits for another process to release it; without,
    /// returns `None` at once when another process holds it. Errors are operational (the lock file's
    /// folder is gone, the database is unreachable).
    fn lock_pass(&self, job: JobKind, wait: bool) -> impl Future<Output = anyhow::Result<Option<PassLock>>> + Send;
}

/// The columns of a [`JobRun`], the summary as text.
pub(super) type JobRunTuple = (
    i64,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<bool>,
    Option<String>,
);

pub(super) fn job_run((id, job, instance, started_at, finished_at, ok, summary): JobRunTuple) -> JobRun {
    JobRun {
        id,
        job,
        instance,
        started_at,
        finished_at,
        ok,
        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
    }
}

/// Implements the record-keeping half of [`JobStorage`] for `$store` from the SQL both backends speak;
/// `$json` is the placeholder expression that stores text parameter `$3` in the summary column
/// (`CAST($3 AS JSONB)` on PostgreSQL, `$3` on SQLite), and the backend module provides `lock_pass_impl`.
macro_rules! impl_job_storage {
    ($store:ty, $db:ty, $json:literal) => {
        impl $crate::storage::JobStorage for $store {
            async fn start_run(
                &self,
                job: $crate::storage::JobKind,
                instance: &str,
                started_at: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<i64> {
                let (id,): (i64,) =
                    sqlx::query_as("INSERT INTO job_runs (job, instance, started_at) VALUES ($1, $2, $3) RETURNING id")
                        .bind(job.as_str())
                        .bind(instance)
                        .bind(started_at)
                        .fetch_one(&self.pool)
                        .await?;
                Ok(id)
            }

            async fn finish_run(
                &self,
                id: i64,
                finished_at: chrono::DateTime<chrono::Utc>,
                ok: bool,
                summary: &serde_json::Value,
                kept_days: u32,
            ) -> anyhow::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(concat!(
                    "UPDATE job_runs SET finished_at = $1, ok = $2, summary = ",
                    $json,
                    " WHERE id = $4"
                ))
                .bind(finished_at)
                .bind(ok)
                .bind(summary.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "DELETE FROM job_runs WHERE job = (SELECT job FROM job_runs WHERE id = $1) AND finished_at < $2",
                )
                .bind(id)
                .bind(finished_at - chrono::TimeDelta::days(i64::from(kept_days)))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn last_runs(&self) -> anyhow::Result<Vec<$crate::storage::JobRun>> {
                let rows: Vec<$crate::storage::jobs::JobRunTuple> = sqlx::query_as(
                    "SELECT id, job, instance, started_at, finished_at, ok, CAST(summary AS TEXT) FROM job_runs \
                     WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job) ORDER BY job",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::storage::jobs::job_run).collect())
            }

            async fn last_runs_by_instance(&self) -> anyhow::Result<Vec<$crate::storage::JobRun>> {
                let rows: Vec<$crate::storage::jobs::JobRunTuple> = sqlx::query_as(
                    "SELECT id, job, instance, started_at, finished_at, ok, CAST(summary AS TEXT) FROM job_runs \
                     WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job, instance) \
                     ORDER BY job, started_at DESC, id DESC",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::storage::jobs::job_run).collect())
            }

            async fn last_success(
                &self,
                job: $crate::storage::JobKind,
            ) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
                let row: Option<(chrono::DateTime<chrono::Utc>,)> = sqlx::query_as(
                    "SELECT started_at FROM job_runs WHERE job = $1 AND ok = $2 ORDER BY started_at DESC LIMIT 1",
                )
                .bind(job.as_str())
                .bind(true)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(t,)| t))
            }

            async fn prune_deliveries(&self, before: chrono::DateTime<chrono::Utc>, limit: u32) -> anyhow::Result<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "DELETE FROM email_deliveries WHERE id IN (SELECT id FROM email_deliveries \
                     WHERE status IN ('sent', 'failed') AND updated_at < $1 ORDER BY id LIMIT $2)",
                )
                .bind(before)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn prune_job_runs(&self, before: chrono::DateTime<chrono::Utc>, limit: u32) -> anyhow::Result<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "DELETE FROM job_runs WHERE id IN (SELECT id FROM job_runs \
                     WHERE started_at < $1 AND (finished_at IS NULL OR finished_at < $1) \
                     AND id NOT IN (SELECT MAX(id) FROM job_runs GROUP BY job) ORDER BY id LIMIT $2)",
                )
                .bind(before)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn prune_superseded_snapshots(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> anyhow::Result<u64> {
                let mut tx = self.begin_write().await?;
                // The lines go with their snapshot (ON DELETE CASCADE; SQLite connections enforce foreign keys).
                let done = sqlx::query(
                    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM snapshots s WHERE NOT s.is_current \
                     AND EXISTS (SELECT 1 FROM snapshots n WHERE n.user_id = s.user_id AND n.period = s.period \
                     AND n.version = s.version + 1 AND n.created_at < $1) \
                     AND s.id NOT IN (SELECT p.snapshot_id FROM goal_progress p WHERE p.snapshot_id IS NOT NULL) \
                     ORDER BY s.id LIMIT $2)",
                )
                .bind(before)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn lock_pass(
                &self,
                job: $crate::storage::JobKind,
                wait: bool,
            ) -> anyhow::Result<Option<$crate::storage::PassLock>> {
                self.lock_pass_impl(job, wait).await
            }
        }
    };
}

pub(super) use impl_job_storage;
