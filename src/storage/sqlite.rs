//! The embedded backend: one SQLite file in WAL mode. Writes take the write
//! lock up front (`BEGIN IMMEDIATE`) so a read-then-write transaction never
//! fails to upgrade; other writers wait up to the busy timeout.

use super::sql::SnapshotInsert;
use super::sql::{SNAPSHOT_ROW_SELECT, SnapshotRowTuple, impl_storage, snapshot_row};
use super::{Backend, IngestError, LineChunks, NewLine};
use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use libsqlite3_sys as ffi;
use sqlx::sqlite::{LockedSqliteHandle, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::collections::HashMap;
use std::ffi::{CStr, c_int};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection with `synchronous = NORMAL`, for the dispatcher's outcome commits only
    /// ([`Self::begin_outcome_write`]); `None` for an in-memory or read-only database.
    outcomes: Option<SqlitePool>,
    /// `DATABASE.lock` beside the database file: the pass lock (see `storage::jobs`); `None` in memory.
    lock_path: Option<std::path::PathBuf>,
    read_only: bool,
}

impl SqliteStore {
    /// Opens (creating if missing, with its folder) the database at `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("database.url {url:?} is not a valid SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit survives a power cut, so a file moved to
            // processed_dir is never one whose rows were lost.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // Checkpoints run in the background after bulk writes
            // (`schedule_checkpoint`); this is only the backstop that keeps
            // the WAL bounded (64 MiB) for writers that never ask for one.
            .pragma("wal_autocheckpoint", "16384")
            // 16 MiB of page cache (the default is 2), so a file's transaction
            // mostly stays in memory instead of spilling pages to the WAL twice.
            .pragma("cache_size", "-16384");
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
        Self::open_pool(url, options, 4, false).await
    }

    /// Opens the existing database at `url` for reading only (`--dry-run`).
    /// SQLite itself refuses every write, and such a connection never
    /// checkpoints: pages another process committed to the WAL but could not
    /// copy back yet (it crashed, or a reader still needed them) stay there,
    /// where a read-write connection's close would copy them into the file.
    pub async fn connect_read_only(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("database.url {url:?} is not a valid SQLite URL"))?
            .read_only(true)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        Self::open_pool(url, options, 2, true).await
    }

    /// Writes a consistent copy of the database to `dest` (`VACUUM INTO`, which SQLite refuses if
    /// `dest` exists and is not empty). It reads one snapshot, so other connections keep writing.
    pub async fn vacuum_into(&self, dest: &std::path::Path) -> anyhow::Result<()> {
        let path = dest
            .to_str()
            .with_context(|| format!("the backup path {} is not valid UTF-8", dest.display()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await
            .with_context(|| format!("copying the database into {}", dest.display()))?;
        Ok(())
    }

    async fn open_pool(
        url: &str,
        options: SqliteConnectOptions,
        connections: u32,
        read_only: bool,
    ) -> anyhow::Result<Self> {
        let file = options.get_filename();
        let lock_path = (file != std::path::Path::new(":memory:")).then(|| {
            let mut name = file.as_os_str().to_owned();
            name.push(".lock");
            std::path::PathBuf::from(name)
        });
        let outcome_options = options.clone().synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .with_context(|| format!("opening the SQLite database {url}"))?;
        // Connected lazily: a process that sends nothing never opens it.
        let outcomes = (lock_path.is_some() && !read_only).then(|| {
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(outcome_options)
        });
        Ok(SqliteStore {
            pool,
            outcomes,
            lock_path,
            read_only,
        })
    }

    /// The pass lock: an exclusive `flock` on the lock file (created if missing).
    async fn lock_pass_impl(&self, _job: super::JobKind, wait: bool) -> anyhow::Result<Option<super::PassLock>> {
        use super::jobs::LockInner;
        let Some(path) = self.lock_path.clone() else {
            return Ok(Some(super::PassLock(LockInner::Nothing)));
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        if flock(&file, libc::LOCK_EX | libc::LOCK_NB).with_context(|| format!("locking {}", path.display()))? {
            return Ok(Some(super::PassLock(LockInner::File(file))));
        }
        if !wait {
            return Ok(None);
        }
        tracing::info!(lock = %path.display(), "another goalkeeper process is working on this database; waiting for it");
        let locked = tokio::task::spawn_blocking(move || flock(&file, libc::LOCK_EX).map(|_| file))
            .await
            .context("the lock task stopped")?
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(Some(super::PassLock(LockInner::File(locked))))
    }

    /// Copies what the WAL holds into the database file before the pool closes. SQLite
    /// does that when its last connection closes, but when two of the pool's connections
    /// close at the same moment each sees the other still open and neither does: the
    /// process would leave its last commits only in the `-wal` file (safe, but a copy of
    /// the database file alone would miss them). PASSIVE: it never waits for another
    /// process's readers; what they still need stays in the WAL for them.
    async fn before_close(&self) {
        if let Some(outcomes) = &self.outcomes {
            outcomes.close().await;
        }
        if self.read_only {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await {
            tracing::warn!(error = %e, "the closing WAL checkpoint failed; the next process to open the database copies it");
        }
    }

    fn checkpoint_in_background(&self) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            // PASSIVE: copies what it can without blocking the writer.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::warn!(error = %e, "background WAL checkpoint failed; SQLite will retry at its backstop");
            }
        });
    }

    async fn begin_write(&self) -> anyhow::Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("starting a write transaction")
    }

    /// A write transaction for the dispatcher's outcomes (sent, retry, failed), whose commit does
    /// not wait for the disk: its connection runs `synchronous = NORMAL`, so in WAL mode the commit
    /// is written to the WAL (the operating system holds it: it survives goalkeeper being killed,
    /// by SIGKILL or the OOM killer) and reaches the disk with the next synced commit or checkpoint.
    /// Only a power cut or an operating-system crash in that moment can lose it, and losing an
    /// outcome only means that email is sent again with its Message-ID (docs/alerts.md). Every
    /// other write keeps `FULL`.
    async fn begin_outcome_write(&self) -> anyhow::Result<Transaction<'static, Sqlite>> {
        match &self.outcomes {
            Some(pool) => pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .context("starting a write transaction for send outcomes"),
            None => self.begin_write().await,
        }
    }

    /// Inserts progress entries computed for a file's snapshots inside `tx`,
    /// each with its snapshot's id from `snapshot_ids`.
    async fn insert_file_progress(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        progress: &[super::FileProgress],
        snapshot_ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), IngestError> {
        if progress.is_empty() {
            return Ok(());
        }
        let mut handle = tx.lock_handle().await.map_err(|e| IngestError::Database(e.into()))?;
        let entries = progress
            .iter()
            .map(|p| (&p.entry, snapshot_ids.get(p.snapshot).copied()));
        insert_progress_raw(&mut handle, entries, now).map_err(IngestError::Database)
    }

    /// Inserts a file's snapshot rows inside `tx`; their ids, in order.
    async fn insert_snapshots(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        file_id: i64,
        rows: &[SnapshotInsert<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, IngestError> {
        let mut handle = tx.lock_handle().await.map_err(|e| IngestError::Database(e.into()))?;
        insert_snapshots_raw(&mut handle, file_id, rows, now).map_err(IngestError::Database)
    }

    /// Stores snapshot lines inside `tx`, chunk by chunk as they are read.
    async fn insert_lines(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        ids: &[i64],
        lines: &mut LineChunks,
    ) -> Result<u64, IngestError> {
        let mut stored = 0;
        while let Some(chunk) = lines.next().await.map_err(IngestError::Source)? {
            let mut handle = tx.lock_handle().await.map_err(|e| IngestError::Database(e.into()))?;
            insert_lines_raw(&mut handle, ids, &chunk).map_err(IngestError::Database)?;
            stored += chunk.len() as u64;
        }
        Ok(stored)
    }
}

/// Bulk reads and the alert insert through SQLite's C API: going through
/// sqlx costs several microseconds per row (each value is copied under a
/// mutex and the row handed across threads), more than SQLite's own work.
impl SqliteStore {
    /// Runs `read` on the raw connection inside one read transaction: a
    /// consistent view, and no lock taken and released per statement.
    async fn read_raw<T>(
        &self,
        read: impl FnOnce(&mut LockedSqliteHandle<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut tx = self.pool.begin().await?;
        let out = {
            let mut handle = tx.lock_handle().await?;
            read(&mut handle)?
        };
        tx.commit().await?;
        Ok(out)
    }

    /// Goals through SQLite's C API: sqlx hands each row across threads, which
    /// costs more than reading it (a run loads every active goal at once).
    async fn read_goals(
        &self,
        user: Option<&crate::domain::UserId>,
        status: Option<crate::domain::GoalStatus>,
    ) -> anyhow::Result<(Vec<super::sql::GoalRow>, super::sql::LinkMap)> {
        self.read_raw(|handle| goals_raw(handle, user.map(|u| u.as_str()), status.map(|s| s.as_str())))
            .await
    }

    async fn read_progress_histories(
        &self,
        goals: &[&str],
    ) -> anyhow::Result<HashMap<String, Vec<crate::domain::goal::ProgressEntry>>> {
        if goals.is_empty() {
            return Ok(HashMap::new());
        }
        self.read_raw(|handle| progress_histories_raw(handle, goals)).await
    }

    async fn read_latest_snapshots(
        &self,
        users: &[&str],
    ) -> anyhow::Result<HashMap<String, (crate::domain::Period, crate::domain::SnapshotSummary)>> {
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        self.read_raw(|handle| latest_snapshots_raw(handle, users)).await
    }

    /// Inserts alerts not stored before, and an outbox row for each new one
    /// that is emailed, inside `tx`; returns how many were new.
    async fn insert_alerts(
        tx: &mut Transaction<'static, Sqlite>,
        alerts: &[super::PlannedAlert],
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let mut handle = tx.lock_handle().await?;
        insert_alerts_raw(&mut handle, alerts, now)
    }
}

fn goals_raw(
    handle: &mut LockedSqliteHandle<'_>,
    user: Option<&str>,
    status: Option<&str>,
) -> anyhow::Result<(Vec<super::sql::GoalRow>, super::sql::LinkMap)> {
    let date = |text: &str| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| format!("a stored date {text:?}"))
    };
    let mut rows = Vec::new();
    let sql = if user.is_some() {
        SELECT_USER_GOALS
    } else {
        SELECT_GOALS
    };
    let mut stmt = Statement::prepare(handle, sql)?;
    stmt.query(&[user.into(), status.into()], |row| {
        rows.push(super::sql::GoalRow {
            id: row.text(0)?.to_owned(),
            user_id: row.text(1)?.to_owned(),
            name: row.text(2)?.to_owned(),
            description: row.opt_text(3)?.map(str::to_owned),
            goal_type: row.text(4)?.to_owned(),
            target_value: row.int(5),
            target_date: row.opt_text(6)?.map(date).transpose()?,
            start_date: date(row.text(7)?)?,
            original_balance: row.opt_int(8),
            is_recurring: row.int(9) != 0,
            recurrence_period: row.opt_text(10)?.map(str::to_owned),
            tracking_frequency: row.text(11)?.to_owned(),
            reminder_enabled: row.int(12) != 0,
            reminder_day: row.int(13),
            status: row.text(14)?.to_owned(),
            template_id: row.opt_text(15)?.map(str::to_owned),
            completed_at: row.opt_text(16)?.map(decode_timestamp).transpose()?,
            created_at: decode_timestamp(row.text(17)?)?,
            updated_at: decode_timestamp(row.text(18)?)?,
        });
        Ok(())
    })?;
    drop(stmt);
    let mut links = super::sql::LinkMap::with_capacity(rows.len());
    let mut stmt = Statement::prepare(handle, SELECT_GOAL_LINKS)?;
    for goal in &rows {
        let mut found = crate::domain::goal::GoalLinks::default();
        stmt.query(&[goal.id.as_str().into()], |row| {
            let value = row.text(1)?.to_owned();
            if row.text(0)? == "account" {
                found.accounts.push(value);
            } else {
                found.categories.push(value);
            }
            Ok(())
        })?;
        if !found.is_empty() {
            links.insert(goal.id.clone(), found);
        }
    }
    Ok((rows, links))
}

fn progress_histories_raw(
    handle: &mut LockedSqliteHandle<'_>,
    goals: &[&str],
) -> anyhow::Result<HashMap<String, Vec<crate::domain::goal::ProgressEntry>>> {
    let mut out = HashMap::with_capacity(goals.len());
    let mut stmt = Statement::prepare(handle, SELECT_HISTORY)?;
    for goal in goals {
        let mut history = Vec::new();
        stmt.query(&[(*goal).into()], |row| {
            let entry = super::sql::ProgressRow {
                id: row.int(0),
                goal_id: (*goal).to_owned(),
                period: row.text(1)?.to_owned(),
                value: row.int(2),
                contribution: row.int(3),
                progress_ratio: row.real(4),
                on_track: row.int(5) != 0,
                off_track_streak: row.int(6),
                principal_paid: row.opt_int(7),
                interest_paid: row.opt_int(8),
                source: row.text(9)?.to_owned(),
                snapshot_id: row.opt_int(10),
                recorded_at: decode_timestamp(row.text(11)?)?,
                note: row.opt_text(12)?.map(str::to_owned),
            };
            history.push(entry.into_entry()?);
            Ok(())
        })?;
        if !history.is_empty() {
            out.insert((*goal).to_owned(), history);
        }
    }
    Ok(out)
}

fn latest_snapshots_raw(
    handle: &mut LockedSqliteHandle<'_>,
    users: &[&str],
) -> anyhow::Result<HashMap<String, (crate::domain::Period, crate::domain::SnapshotSummary)>> {
    let mut out = HashMap::with_capacity(users.len());
    let mut stmt = Statement::prepare(handle, SELECT_LATEST_SNAPSHOT)?;
    for user in users {
        let mut period = None;
        let mut lines = Vec::new();
        stmt.query(&[(*user).into()], |row| {
            if period.is_none() {
                period = Some(super::sql::parse_period(row.text(0)?)?);
            }
            // A snapshot without lines still has its (empty) summary.
            if !row.is_null(1) {
                let rate = row.opt_text(5)?.map(str::to_owned);
                lines.push(super::sql::line_from_parts(
                    row.text(1)?,
                    row.opt_text(2)?.map(str::to_owned),
                    row.text(3)?.to_owned(),
                    row.int(4),
                    rate,
                    row.opt_int(6),
                )?);
            }
            Ok(())
        })?;
        if let Some(period) = period {
            let summary = crate::domain::SnapshotSummary::of_lines(&lines)?;
            out.insert((*user).to_owned(), (period, summary));
        }
    }
    Ok(out)
}

/// `sql::GOAL_SELECT`'s columns, in its order.
/// Every user's goals (`?1`, the user, is not used; `?2` the status or NULL).
const SELECT_GOALS: &CStr = c"SELECT id, user_id, name, description, goal_type, target_value, target_date, \
    start_date, original_balance, is_recurring, recurrence_period, tracking_frequency, reminder_enabled, \
    reminder_day, status, template_id, completed_at, created_at, updated_at FROM goals \
    WHERE (?2 IS NULL OR status = ?2) ORDER BY user_id, id";

/// One user's goals, by the user index: `?1 IS NULL OR user_id = ?1` would scan every goal (SQLite
/// plans the statement once, for any `?1`), which the API's dashboard did on each request.
const SELECT_USER_GOALS: &CStr = c"SELECT id, user_id, name, description, goal_type, target_value, target_date, \
    start_date, original_balance, is_recurring, recurrence_period, tracking_frequency, reminder_enabled, \
    reminder_day, status, template_id, completed_at, created_at, updated_at FROM goals \
    WHERE user_id = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY user_id, id";

const SELECT_GOAL_LINKS: &CStr =
    c"SELECT link_kind, value FROM goal_links WHERE goal_id = ?1 ORDER BY link_kind, value";

const SELECT_HISTORY: &CStr = c"SELECT id, period, value, contribution, progress_ratio, on_track, off_track_streak, \
    principal_paid, interest_paid, source, snapshot_id, recorded_at, note FROM goal_progress WHERE goal_id = ?1 \
    ORDER BY period, source, id";

/// The lines of a user's current snapshot of their latest month.
const SELECT_LATEST_SNAPSHOT: &CStr = c"SELECT s.period, l.kind, l.account, l.category, l.amount, l.rate, \
    l.min_payment FROM snapshots s LEFT JOIN snapshot_lines l ON l.snapshot_id = s.id \
    WHERE s.user_id = ?1 AND s.is_current AND s.period = \
    (SELECT MAX(m.period) FROM snapshots m WHERE m.user_id = ?1 AND m.is_current) ORDER BY l.line_no";

const INSERT_ALERT: &CStr = c"INSERT INTO alerts (goal_id, user_id, alert_type, occurrence, priority, title, \
    message, action_url, card, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
    ON CONFLICT (goal_id, alert_type, occurrence) DO NOTHING";

const INSERT_DELIVERY: &CStr = c"INSERT INTO email_deliveries (alert_id, user_id, status, due_at, created_at, \
    updated_at) VALUES (?1, ?2, 'pending', ?3, ?3, ?3) ON CONFLICT (alert_id) DO NOTHING";

fn insert_alerts_raw(
    handle: &mut LockedSqliteHandle<'_>,
    alerts: &[super::PlannedAlert],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let now = now.to_rfc3339_opts(SecondsFormat::AutoSi, false);
    let mut new = 0;
    // New alerts that are emailed: (alert id, user).
    let mut emailed: Vec<(i64, &str)> = Vec::new();
    {
        let mut stmt = Statement::prepare(handle, INSERT_ALERT)?;
        for a in alerts {
            // Only an emailed alert keeps its card: the email is all that reads it.
            let card = a.email.then(|| serde_json::to_string(&a.card)).transpose()?;
            stmt.run(&[
                a.goal_id.as_str().into(),
                a.user_id.as_str().into(),
                a.alert.alert_type.as_str().into(),
                a.alert.occurrence.as_str().into(),
                i64::from(a.alert.alert_type.priority()).into(),
                a.alert.title.as_str().into(),
                a.alert.message.as_str().into(),
                a.alert.action_url.as_deref().into(),
                card.as_deref().into(),
                now.as_str().into(),
            ])
            .with_context(|| {
                format!(
                    "storing the {} alert of goal {}",
                    a.alert.alert_type.as_str(),
                    a.goal_id
                )
            })?;
            // Nothing changed: the alert was stored before (ON CONFLICT DO NOTHING).
            if stmt.changes() == 1 {
                new += 1;
                if a.email {
                    emailed.push((stmt.last_rowid(), a.user_id.as_str()));
                }
            }
        }
    }
    let mut stmt = Statement::prepare(handle, INSERT_DELIVERY)?;
    for (id, user) in &emailed {
        stmt.run(&[(*id).into(), (*user).into(), now.as_str().into()])
            .context("queueing an alert's email")?;
    }
    Ok(new)
}

impl_storage!(SqliteStore, Sqlite, Backend::Sqlite, MIGRATOR);
super::alert_sql::impl_alert_storage!(SqliteStore, Sqlite);
super::jobs::impl_job_storage!(SqliteStore, Sqlite, "$3");
super::tokens::impl_token_storage!(SqliteStore);
super::web::impl_web_storage!(SqliteStore);

/// `flock(2)` on `file`: `Ok(false)` when `LOCK_NB` was given and another open file holds the lock.
fn flock(file: &std::fs::File, operation: c_int) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: the descriptor is open for as long as `file` lives, which outlasts the call.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

const INSERT_LINE: &CStr = c"INSERT INTO snapshot_lines \
    (snapshot_id, line_no, kind, account, category, amount, rate, min_payment) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

const INSERT_SNAPSHOT: &CStr = c"INSERT INTO snapshots \
    (user_id, period, version, is_current, file_id, line_count, total_income, total_expenses, surplus, \
    savings_rate, total_savings, total_investment, total_assets, total_debt, net_worth, created_at) \
    VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// A value bound to a statement parameter.
#[derive(Clone, Copy)]
enum Value<'a> {
    Int(i64),
    Real(f64),
    Text(&'a str),
    Null,
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A statement prepared with SQLite's C API on a connection sqlx lends us
/// (`lock_handle`), inside the transaction sqlx began on it. Rows are bound,
/// stepped and reset one at a time, as the sqlite3 shell's `.import` does:
/// going through sqlx's arguments costs more per parameter than SQLite's
/// insert itself (see bench/ingest.sh). Finalized on drop.
struct Statement<'h> {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    _handle: std::marker::PhantomData<&'h mut LockedSqliteHandle<'h>>,
}

impl<'h> Statement<'h> {
    fn prepare(handle: &'h mut LockedSqliteHandle<'_>, sql: &CStr) -> anyhow::Result<Self> {
        let db = handle.as_raw_handle().as_ptr();
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `db` is open and locked for this thread by `handle`, which
        // outlives the statement; the SQL is NUL-terminated.
        let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut()) };
        if rc != ffi::SQLITE_OK {
            return Err(sqlite_error(db, "preparing an insert"));
        }
        Ok(Statement {
            db,
            stmt,
            _handle: std::marker::PhantomData,
        })
    }

    /// Binds `values` to parameters 1.. and runs the statement once.
    fn run(&mut self, values: &[Value<'_>]) -> anyhow::Result<()> {
        let failed = if self.bind(values)? {
            Some(sqlite_error(self.db, "binding values"))
        } else {
            // SAFETY: every parameter is bound to memory that lives until the reset.
            let rc = unsafe { ffi::sqlite3_step(self.stmt) };
            (rc != ffi::SQLITE_DONE).then(|| sqlite_error(self.db, "inserting a row"))
        };
        // SAFETY: resetting a live statement is always allowed; it releases
        // the bound text before the caller's values go away.
        unsafe { ffi::sqlite3_reset(self.stmt) };
        failed.map_or(Ok(()), Err)
    }

    /// Binds `values` and calls `each` with every row the statement returns.
    fn query(
        &mut self,
        values: &[Value<'_>],
        mut each: impl FnMut(&Row<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let result = if self.bind(values)? {
            Err(sqlite_error(self.db, "binding values"))
        } else {
            loop {
                // SAFETY: every parameter is bound to memory that lives until the reset.
                let rc = unsafe { ffi::sqlite3_step(self.stmt) };
                if rc == ffi::SQLITE_ROW {
                    let row = Row {
                        stmt: self.stmt,
                        _statement: std::marker::PhantomData,
                    };
                    if let Err(e) = each(&row) {
                        break Err(e);
                    }
                } else if rc == ffi::SQLITE_DONE {
                    break Ok(());
                } else {
                    break Err(sqlite_error(self.db, "reading rows"));
                }
            }
        };
        // SAFETY: as in `run`.
        unsafe { ffi::sqlite3_reset(self.stmt) };
        result
    }

    /// Rows the last `run` changed.
    fn changes(&self) -> i64 {
        // SAFETY: `db` is open and locked for us.
        unsafe { ffi::sqlite3_changes64(self.db) }
    }

    /// Binds `values` to parameters 1..; `true` if a bind failed (the
    /// connection's error message says why).
    fn bind(&mut self, values: &[Value<'_>]) -> anyhow::Result<bool> {
        let mut bind_failed = false;
        for (i, value) in values.iter().enumerate() {
            let i = c_int::try_from(i + 1).context("too many parameters")?;
            // SAFETY: `stmt` is live; text is only read until the reset below
            // and `values` outlives this call, so SQLite may use it in place
            // (a `None` destructor is SQLITE_STATIC).
            let rc = unsafe {
                match *value {
                    Value::Int(v) => ffi::sqlite3_bind_int64(self.stmt, i, v),
                    Value::Real(v) => ffi::sqlite3_bind_double(self.stmt, i, v),
                    Value::Null => ffi::sqlite3_bind_null(self.stmt, i),
                    Value::Text(text) => {
                        let len = c_int::try_from(text.len()).context("a text field is too long for SQLite")?;
                        ffi::sqlite3_bind_text(self.stmt, i, text.as_ptr().cast(), len, None)
                    }
                }
            };
            bind_failed |= rc != ffi::SQLITE_OK;
        }
        Ok(bind_failed)
    }

    /// The rowid of the row the last `run` inserted.
    fn last_rowid(&self) -> i64 {
        // SAFETY: `db` is open and locked for us.
        unsafe { ffi::sqlite3_last_insert_rowid(self.db) }
    }
}

/// The current row of a [`Statement::query`]; columns count from 0.
struct Row<'s> {
    stmt: *mut ffi::sqlite3_stmt,
    _statement: std::marker::PhantomData<&'s Statement<'s>>,
}

impl Row<'_> {
    fn is_null(&self, i: c_int) -> bool {
        // SAFETY: `stmt` is live and positioned on a row while `self` exists.
        unsafe { ffi::sqlite3_column_type(self.stmt, i) == ffi::SQLITE_NULL }
    }

    fn int(&self, i: c_int) -> i64 {
        // SAFETY: as in `is_null`.
        unsafe { ffi::sqlite3_column_int64(self.stmt, i) }
    }

    fn real(&self, i: c_int) -> f64 {
        // SAFETY: as in `is_null`.
        unsafe { ffi::sqlite3_column_double(self.stmt, i) }
    }

    fn opt_int(&self, i: c_int) -> Option<i64> {
        (!self.is_null(i)).then(|| self.int(i))
    }

    /// A text column ("" for NULL); valid until the next step.
    fn text(&self, i: c_int) -> anyhow::Result<&str> {
        // SAFETY: as in `is_null`; text then bytes (the order SQLite
        // documents), and the bytes stay put until the statement moves on,
        // which needs `&mut Statement` while this row borrows it.
        let bytes = unsafe {
            let ptr = ffi::sqlite3_column_text(self.stmt, i);
            let len = usize::try_from(ffi::sqlite3_column_bytes(self.stmt, i)).unwrap_or(0);
            if ptr.is_null() {
                return Ok("");
            }
            std::slice::from_raw_parts(ptr, len)
        };
        std::str::from_utf8(bytes).context("a stored text is not UTF-8")
    }

    fn opt_text(&self, i: c_int) -> anyhow::Result<Option<&str>> {
        if self.is_null(i) {
            Ok(None)
        } else {
            self.text(i).map(Some)
        }
    }
}

/// A timestamp as sqlx stores and reads it in SQLite (RFC 3339 text, or one
/// of SQLite's own date-time forms, taken as UTC).
fn decode_timestamp(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    const FORMATS: [&str; 12] = [
        "%F %T%.f",
        "%F %R",
        "%F %RZ",
        "%F %R%:z",
        "%F %T%.fZ",
        "%F %T%.f%:z",
        "%FT%R",
        "%FT%RZ",
        "%FT%R%:z",
        "%FT%T%.f",
        "%FT%T%.fZ",
        "%FT%T%.f%:z",
    ];
    for format in FORMATS {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Ok(t.with_timezone(&Utc));
        }
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    anyhow::bail!("stored timestamp {text:?} is not a date and time")
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: prepared on a connection still locked for us; finalized once, here.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

fn sqlite_error(db: *mut ffi::sqlite3, doing: &str) -> anyhow::Error {
    // SAFETY: `db` is an open connection; errmsg returns a NUL-terminated
    // string owned by SQLite, copied out before anything else runs on it.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned();
    anyhow::anyhow!("{doing}: {message}")
}

fn insert_lines_raw(handle: &mut LockedSqliteHandle<'_>, ids: &[i64], lines: &[NewLine]) -> anyhow::Result<()> {
    let mut stmt = Statement::prepare(handle, INSERT_LINE)?;
    for l in lines {
        let snapshot_id = ids
            .get(l.snapshot)
            .copied()
            .context("a line names a snapshot that was not stored")?;
        let rate = l.line.rate.map(|r| r.to_string());
        stmt.run(&[
            snapshot_id.into(),
            super::sql::to_i64(l.line_no).into(),
            l.line.kind.as_str().into(),
            l.line.account.as_deref().into(),
            l.line.category.as_str().into(),
            l.line.amount.cents().into(),
            rate.as_deref().into(),
            l.line.min_payment.map(|m| m.cents()).into(),
        ])
        .with_context(|| format!("storing line {}", l.line_no))?;
    }
    Ok(())
}

const INSERT_PROGRESS: &CStr = c"INSERT INTO goal_progress \
    (goal_id, period, source, value, contribution, progress_ratio, on_track, snapshot_id, note, recorded_at, \
    off_track_streak, debt_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING";

/// Inserts `entries`, each with its snapshot id (which replaces the entry's own).
fn insert_progress_raw<'e>(
    handle: &mut LockedSqliteHandle<'_>,
    entries: impl Iterator<Item = (&'e crate::domain::goal::NewProgress, Option<i64>)>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let recorded_at = now.to_rfc3339_opts(SecondsFormat::AutoSi, false);
    let mut stmt = Statement::prepare(handle, INSERT_PROGRESS)?;
    // A file's entries share a few periods: each is formatted once.
    let mut periods: Vec<(crate::domain::Period, String)> = Vec::new();
    for (e, snapshot_id) in entries {
        let period = match periods.iter().find(|(p, _)| *p == e.period) {
            Some((_, text)) => text.as_str(),
            None => {
                periods.push((e.period, e.period.to_string()));
                periods.last().map_or("", |(_, text)| text.as_str())
            }
        };
        let progress = if e.progress.is_finite() { e.progress } else { 0.0 };
        stmt.run(&[
            e.goal_id.as_str().into(),
            period.into(),
            e.source.as_str().into(),
            e.value.cents().into(),
            e.contribution.cents().into(),
            Value::Real(progress),
            i64::from(e.on_track).into(),
            snapshot_id.into(),
            e.note.as_deref().into(),
            recorded_at.as_str().into(),
            i64::from(e.off_track_streak).into(),
            super::sql::debt_seen_text(&e.debt_seen).as_deref().into(),
        ])
        .with_context(|| format!("storing the progress of goal {} for {period}", e.goal_id))?;
    }
    Ok(())
}

fn insert_snapshots_raw(
    handle: &mut LockedSqliteHandle<'_>,
    file_id: i64,
    rows: &[SnapshotInsert<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    // sqlx's own text form of a timestamp, so sqlx reads it back.
    let created_at = now.to_rfc3339_opts(SecondsFormat::AutoSi, false);
    let mut stmt = Statement::prepare(handle, INSERT_SNAPSHOT)?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        let t = &r.snapshot.totals;
        stmt.run(&[
            r.snapshot.user_id.as_str().into(),
            r.period.into(),
            r.version.into(),
            file_id.into(),
            super::sql::to_i64(r.snapshot.line_count).into(),
            t.income.cents().into(),
            t.expenses.cents().into(),
            t.surplus().cents().into(),
            t.savings_rate().map_or(Value::Null, Value::Real),
            t.savings.cents().into(),
            t.investment.cents().into(),
            t.assets.cents().into(),
            t.debt.cents().into(),
            t.net_worth().cents().into(),
            created_at.as_str().into(),
        ])
        .with_context(|| format!("storing the snapshot of {} {}", r.snapshot.user_id, r.period))?;
        ids.push(stmt.last_rowid());
    }
    Ok(ids)
}
