//! The scale-out backend: PostgreSQL, shared by several goalkeeper instances.

use super::sql::{SNAPSHOT_ROW_SELECT, SnapshotRowTuple, impl_storage, snapshot_row};
use super::{Backend, IngestError, LineChunks};
use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(15))
            .connect(url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", crate::config::redact_url(url)))?;
        Ok(PgStore { pool })
    }

    async fn begin_write(&self) -> anyhow::Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.context("starting a write transaction")
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

impl_storage!(PgStore, Postgres, Backend::Postgres, MIGRATOR);
