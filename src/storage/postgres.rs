//! The scale-out backend: PostgreSQL, shared by several goalkeeper instances.

use super::sql::SnapshotInsert;
use super::sql::{SNAPSHOT_ROW_SELECT, SnapshotRowTuple, impl_storage, snapshot_row};
use super::{Backend, IngestError, LineChunks};
use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::open_pool(url, Self::options(url)?, 8).await
    }

    /// Connects for reading only (`--dry-run`): every transaction of the
    /// session is read-only, so PostgreSQL refuses any write.
    pub async fn connect_read_only(url: &str) -> anyhow::Result<Self> {
        let options = Self::options(url)?.options([("default_transaction_read_only", "on")]);
        Self::open_pool(url, options, 2).await
    }

    /// The URL's options, with goalkeeper's default TLS mode for the host ([`super::pg_tls`]).
    fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
        Self::parse(url).map(|options| super::pg_tls::apply_default(url, options).0)
    }

    /// The URL's options as written.
    pub fn parse(url: &str) -> anyhow::Result<PgConnectOptions> {
        PgConnectOptions::from_str(url).with_context(|| {
            format!(
                "database.url {} is not a valid PostgreSQL URL",
                crate::config::redact_url(url)
            )
        })
    }

    async fn open_pool(url: &str, options: PgConnectOptions, connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(options.clone())
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "connecting to PostgreSQL at {} (sslmode={}): {}",
                    crate::config::redact_url(url),
                    super::pg_tls::mode_name(options.get_ssl_mode()),
                    super::pg_tls::explain(&e, url, &options)
                )
            })?;
        Ok(PgStore { pool })
    }

    /// Nothing to finish before the pool closes.
    async fn before_close(&self) {}

    /// The pass lock: a session advisory lock on a connection of its own (see `storage::jobs`).
    async fn lock_pass_impl(&self, job: super::JobKind, wait: bool) -> anyhow::Result<Option<super::PassLock>> {
        use super::jobs::LockInner;
        let Some(key) = job.advisory_key() else {
            return Ok(Some(super::PassLock(LockInner::Nothing)));
        };
        let mut conn = self.pool.acquire().await.context("connecting for the pass lock")?;
        // Never back to the pool: a connection still holding the lock would keep it for whoever got it next.
        conn.close_on_drop();
        let (locked,): (bool,) = sqlx::query_as(super::jobs::ADVISORY_LOCK)
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .context("taking the pass lock")?;
        if !locked {
            if !wait {
                return Ok(None);
            }
            tracing::info!(job = %job, "another goalkeeper process is running this job on the database; waiting for it");
            sqlx::query(super::jobs::ADVISORY_LOCK_WAIT)
                .bind(key)
                .execute(&mut *conn)
                .await
                .context("waiting for the pass lock")?;
        }
        Ok(Some(super::PassLock(LockInner::Postgres(conn, key))))
    }

    /// PostgreSQL checkpoints on its own.
    fn checkpoint_in_background(&self) {}

    async fn begin_write(&self) -> anyhow::Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.context("starting a write transaction")
    }

    /// A write transaction for the dispatcher's outcomes (sent, retry, failed) whose commit does
    /// not wait for the server's WAL flush (`synchronous_commit = off` for this transaction only):
    /// goalkeeper being killed loses nothing the server has; only a crash of the database server
    /// itself can lose the last moments' outcomes, and a lost outcome only means that email is
    /// sent again with its Message-ID (docs/alerts.md). Every other write keeps the server's setting.
    async fn begin_outcome_write(&self) -> anyhow::Result<Transaction<'static, Postgres>> {
        let mut tx = self.begin_write().await?;
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await
            .context("setting synchronous_commit for send outcomes")?;
        Ok(tx)
    }

    /// Inserts progress entries computed for a file's snapshots inside `tx`,
    /// each with its snapshot's id from `snapshot_ids`.
    async fn insert_file_progress(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        progress: &[super::FileProgress],
        snapshot_ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), IngestError> {
        let entries: Vec<crate::domain::goal::NewProgress> = progress
            .iter()
            .map(|p| {
                let mut e = p.entry.clone();
                e.snapshot_id = snapshot_ids.get(p.snapshot).copied();
                e
            })
            .collect();
        Self::insert_progress(tx, &entries, now)
            .await
            .map_err(IngestError::Database)
    }

    /// Inserts a file's snapshot rows inside `tx`, as arrays in one
    /// statement; their ids, in the order of `rows`.
    async fn insert_snapshots(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        file_id: i64,
        rows: &[SnapshotInsert<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, IngestError> {
        let db = |e: sqlx::Error| IngestError::Database(e.into());
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(super::LINE_CHUNK) {
            let n = chunk.len();
            let mut user = Vec::with_capacity(n);
            let mut period = Vec::with_capacity(n);
            let mut version = Vec::with_capacity(n);
            let mut line_count = Vec::with_capacity(n);
            let mut money: [Vec<i64>; 8] = Default::default();
            let mut rate = Vec::with_capacity(n);
            for r in chunk {
                let t = &r.snapshot.totals;
                user.push(r.snapshot.user_id.as_str());
                period.push(r.period);
                version.push(r.version);
                line_count.push(super::sql::to_i64(r.snapshot.line_count));
                let values = [
                    t.income,
                    t.expenses,
                    t.surplus(),
                    t.savings,
                    t.investment,
                    t.assets,
                    t.debt,
                    t.net_worth(),
                ];
                for (column, value) in money.iter_mut().zip(values) {
                    column.push(value.cents());
                }
                rate.push(t.savings_rate());
            }
            let [income, expenses, surplus, savings, investment, assets, debt, net_worth] = &money;
            // WITH ORDINALITY numbers the rows so the ids come back in order.
            let returned: Vec<(i64, i64)> = sqlx::query_as(
                "WITH input AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], \
                 $5::bigint[], $6::bigint[], $7::bigint[], $8::float8[], $9::bigint[], $10::bigint[], \
                 $11::bigint[], $12::bigint[], $13::bigint[]) WITH ORDINALITY \
                 AS t(user_id, period, version, line_count, income, expenses, surplus, rate, savings, \
                 investment, assets, debt, net_worth, n)), \
                 inserted AS (INSERT INTO snapshots (user_id, period, version, is_current, file_id, line_count, \
                 total_income, total_expenses, surplus, savings_rate, total_savings, total_investment, \
                 total_assets, total_debt, net_worth, created_at) \
                 SELECT user_id, period, version, TRUE, $14, line_count, income, expenses, surplus, rate, \
                 savings, investment, assets, debt, net_worth, $15 FROM input ORDER BY n \
                 RETURNING id, user_id, period) \
                 SELECT input.n, inserted.id FROM inserted \
                 JOIN input ON input.user_id = inserted.user_id AND input.period = inserted.period \
                 ORDER BY input.n",
            )
            .bind(&user)
            .bind(&period)
            .bind(&version)
            .bind(&line_count)
            .bind(income)
            .bind(expenses)
            .bind(surplus)
            .bind(&rate)
            .bind(savings)
            .bind(investment)
            .bind(assets)
            .bind(debt)
            .bind(net_worth)
            .bind(file_id)
            .bind(now)
            .fetch_all(&mut **tx)
            .await
            .map_err(db)?;
            if returned.len() != n {
                return Err(IngestError::Database(anyhow::anyhow!(
                    "stored {} snapshots of {n}",
                    returned.len()
                )));
            }
            ids.extend(returned.into_iter().map(|(_, id)| id));
        }
        Ok(ids)
    }

    /// Stores snapshot lines inside `tx`: one statement per chunk, its columns
    /// sent as eight arrays, so the statement has one shape whatever the
    /// chunk's size and stays prepared.
    async fn insert_lines(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        ids: &[i64],
        lines: &mut LineChunks,
    ) -> Result<u64, IngestError> {
        let mut stored = 0;
        while let Some(chunk) = lines.next().await.map_err(IngestError::Source)? {
            let n = chunk.len();
            let mut snapshot = Vec::with_capacity(n);
            let mut line_no = Vec::with_capacity(n);
            let mut kind = Vec::with_capacity(n);
            let mut account = Vec::with_capacity(n);
            let mut category = Vec::with_capacity(n);
            let mut amount = Vec::with_capacity(n);
            let mut rate = Vec::with_capacity(n);
            let mut min_payment = Vec::with_capacity(n);
            for l in &chunk {
                let id = ids.get(l.snapshot).copied().ok_or_else(|| {
                    IngestError::Database(anyhow::anyhow!("a line names a snapshot that was not stored"))
                })?;
                snapshot.push(id);
                line_no.push(super::sql::to_i64(l.line_no));
                kind.push(l.line.kind.as_str());
                account.push(l.line.account.as_deref());
                category.push(l.line.category.as_str());
                amount.push(l.line.amount.cents());
                rate.push(l.line.rate.map(|r| r.to_string()));
                min_payment.push(l.line.min_payment.map(|m| m.cents()));
            }
            sqlx::query(
                "INSERT INTO snapshot_lines \
                 (snapshot_id, line_no, kind, account, category, amount, rate, min_payment) \
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                 $6::bigint[], $7::text[], $8::bigint[])",
            )
            .bind(&snapshot)
            .bind(&line_no)
            .bind(&kind)
            .bind(&account)
            .bind(&category)
            .bind(&amount)
            .bind(&rate)
            .bind(&min_payment)
            .execute(&mut **tx)
            .await
            .map_err(|e| IngestError::Database(e.into()))?;
            stored += n as u64;
        }
        Ok(stored)
    }
}

impl PgStore {
    async fn read_goals(
        &self,
        user: Option<&crate::domain::UserId>,
        status: Option<crate::domain::GoalStatus>,
    ) -> anyhow::Result<(Vec<super::sql::GoalRow>, super::sql::LinkMap)> {
        self.sqlx_goals(user, status).await
    }

    async fn read_progress_histories(
        &self,
        goals: &[&str],
    ) -> anyhow::Result<std::collections::HashMap<String, Vec<crate::domain::goal::ProgressEntry>>> {
        self.sqlx_progress_histories(goals).await
    }

    async fn read_latest_snapshots(
        &self,
        users: &[&str],
    ) -> anyhow::Result<std::collections::HashMap<String, (crate::domain::Period, crate::domain::SnapshotSummary)>>
    {
        self.sqlx_latest_snapshots(users).await
    }

    /// Inserts alerts (and their outbox rows) inside `tx`; how many were new.
    async fn insert_alerts(
        tx: &mut Transaction<'static, Postgres>,
        alerts: &[super::PlannedAlert],
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        Self::insert_alerts_sql(tx, alerts, now).await
    }
}

impl_storage!(PgStore, Postgres, Backend::Postgres, MIGRATOR);
super::alert_sql::impl_alert_storage!(PgStore, Postgres);
super::jobs::impl_job_storage!(PgStore, Postgres, "CAST($3 AS JSONB)");
super::tokens::impl_token_storage!(PgStore);
super::web::impl_web_storage!(PgStore);
