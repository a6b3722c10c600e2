//! A user's stored budget snapshots (read-only: they arrive through the inbox).

use super::page::{Page, PageRequest};
use super::{Caller, Error, Result, Service};
use crate::domain::Period;
use crate::storage::{AlertStorage, SnapshotRow, StoredSnapshot};

impl<S: AlertStorage> Service<S> {
    /// The caller's snapshots, newest month first, every version.
    pub async fn snapshots(&self, caller: &Caller) -> Result<Vec<SnapshotRow>> {
        let rows = self.store.list_snapshots(caller.scope()).await?;
        Ok(rows.into_iter().filter(|r| caller.owns(&r.user_id)).collect())
    }

    /// A page of [`Service::snapshots`], newest month first.
    pub async fn snapshots_page(&self, caller: &Caller, page: &PageRequest) -> Result<Page<SnapshotRow>> {
        let rows = self.snapshots(caller).await?;
        // Newest month, then newest version, first: the key counts both down.
        page.page(rows, |r| {
            format!(
                "{}:{:06}:{:020}",
                r.user_id,
                999_999 - i64::from(r.period.year()) * 100 - i64::from(r.period.month()),
                i64::MAX - r.version
            )
        })
    }

    /// The current version of a user's snapshot of a month.
    pub async fn snapshot(&self, caller: &Caller, user: &str, period: &str) -> Result<StoredSnapshot> {
        let period = period.parse::<Period>().map_err(|_| {
            Error::invalid(
                "period",
                format!("found {period:?}; expected a month as YYYY-MM, like 2025-01"),
            )
        })?;
        let user = self.user(caller, user).await?.id;
        self.store
            .get_snapshot(&user, period)
            .await?
            .ok_or_else(|| Error::not_found("snapshot", format!("{user} {period}")))
    }
}
