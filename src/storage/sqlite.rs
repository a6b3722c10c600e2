//! The embedded backend: one SQLite file in WAL mode. Writes take the write
//! lock up front (`BEGIN IMMEDIATE`) so a read-then-write transaction never
//! fails to upgrade; other writers wait up to the busy timeout.

use super::sql::{SNAPSHOT_ROW_SELECT, SnapshotRowTuple, impl_storage, snapshot_row};
use super::{Backend, IngestError, LineChunks, NewLine};
use anyhow::Context;
use libsqlite3_sys as ffi;
use sqlx::sqlite::{LockedSqliteHandle, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::ffi::{CStr, c_int};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
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
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("opening the SQLite database {url}"))?;
        Ok(SqliteStore { pool })
    }

    async fn begin_write(&self) -> anyhow::Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("starting a write transaction")
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

impl_storage!(SqliteStore, Sqlite, Backend::Sqlite, MIGRATOR);

const INSERT_LINE: &CStr = c"INSERT INTO snapshot_lines \
    (snapshot_id, line_no, kind, account, category, amount, rate, min_payment) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Finalizes a prepared statement however the insert ends.
struct Statement(*mut ffi::sqlite3_stmt);

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on a connection that is still
        // locked for us, and is finalized exactly once, here.
        unsafe { ffi::sqlite3_finalize(self.0) };
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

/// Inserts lines with SQLite's C API on the transaction's own connection: one
/// prepared statement, bound, stepped and reset per row, as the sqlite3
/// shell's `.import` does. Going through sqlx's arguments costs more per
/// parameter than SQLite's insert itself (see bench/ingest.sh).
fn insert_lines_raw(handle: &mut LockedSqliteHandle<'_>, ids: &[i64], lines: &[NewLine]) -> anyhow::Result<()> {
    let db = handle.as_raw_handle().as_ptr();
    let mut raw = std::ptr::null_mut();
    // SAFETY: `db` is open and locked for this thread by `handle`; the SQL is a
    // NUL-terminated constant.
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, INSERT_LINE.as_ptr(), -1, &mut raw, std::ptr::null_mut()) };
    if rc != ffi::SQLITE_OK {
        return Err(sqlite_error(db, "preparing the line insert"));
    }
    let stmt = Statement(raw);
    for l in lines {
        let snapshot_id = ids
            .get(l.snapshot)
            .copied()
            .context("a line names a snapshot that was not stored")?;
        let rate = l.line.rate.map(|r| r.to_string());
        let ints = [
            (1, Some(snapshot_id)),
            (2, Some(super::sql::to_i64(l.line_no))),
            (6, Some(l.line.amount.cents())),
            (8, l.line.min_payment.map(|m| m.cents())),
        ];
        let texts = [
            (3, Some(l.line.kind.as_str())),
            (4, l.line.account.as_deref()),
            (5, Some(l.line.category.as_str())),
            (7, rate.as_deref()),
        ];
        let mut bind_failed = false;
        for (i, value) in ints {
            // SAFETY: `stmt` is a live prepared statement with 8 parameters.
            let rc = unsafe {
                match value {
                    Some(v) => ffi::sqlite3_bind_int64(stmt.0, i, v),
                    None => ffi::sqlite3_bind_null(stmt.0, i),
                }
            };
            bind_failed |= rc != ffi::SQLITE_OK;
        }
        for (i, value) in texts {
            let rc = match value {
                Some(text) => {
                    let len = c_int::try_from(text.len()).context("a text field is too long for SQLite")?;
                    // SAFETY: `text` outlives the step below and is not changed
                    // before the statement is reset, so SQLite may use it in
                    // place (a `None` destructor is SQLITE_STATIC).
                    unsafe { ffi::sqlite3_bind_text(stmt.0, i, text.as_ptr().cast(), len, None) }
                }
                // SAFETY: as for the integers above.
                None => unsafe { ffi::sqlite3_bind_null(stmt.0, i) },
            };
            bind_failed |= rc != ffi::SQLITE_OK;
        }
        if bind_failed {
            return Err(sqlite_error(db, "binding a snapshot line"));
        }
        // SAFETY: every parameter is bound to memory that lives until the reset.
        let rc = unsafe { ffi::sqlite3_step(stmt.0) };
        let failed = (rc != ffi::SQLITE_DONE).then(|| sqlite_error(db, &format!("storing line {}", l.line_no)));
        // SAFETY: resetting a live statement is always allowed; it releases the
        // bound text before that text is dropped.
        unsafe { ffi::sqlite3_reset(stmt.0) };
        if let Some(err) = failed {
            return Err(err);
        }
    }
    Ok(())
}
