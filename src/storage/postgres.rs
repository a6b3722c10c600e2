//! The scale-out backend: PostgreSQL, shared by several goalkeeper instances.

use super::Backend;
use super::sql::{SNAPSHOT_ROW_SELECT, SnapshotRowTuple, impl_storage, snapshot_row};
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
            .with_context(|| {
                format!(
                    "connecting to PostgreSQL at {}",
                    crate::config::redact_url(url)
                )
            })?;
        Ok(PgStore { pool })
    }

    async fn begin_write(&self) -> anyhow::Result<Transaction<'static, Postgres>> {
        self.pool
            .begin()
            .await
            .context("starting a write transaction")
    }
}

impl_storage!(PgStore, Postgres, Backend::Postgres, MIGRATOR);
