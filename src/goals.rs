//! Keeping goals' progress in step with stored snapshots: the shell around
//! [`crate::domain::tracking`]. A goal's budget_sync entries are always what
//! tracking its user's current snapshots from its start gives, so creating a
//! goal backfills, and a correction or an out-of-order month recomputes.

use crate::domain::goal::{Goal, GoalStatus};
use crate::domain::tracking::{Prior, SnapshotAt, track};
use crate::domain::{Period, UserId};
use crate::storage::Storage;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What a resync did to one goal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resynced {
    pub entries: usize,
    pub completed: bool,
}

/// Recomputes a goal's budget_sync entries from its start (an active goal
/// only: paused, completed and abandoned goals are not synced).
pub async fn resync<S: Storage>(store: &S, goal: &Goal, now: DateTime<Utc>) -> anyhow::Result<Resynced> {
    if goal.status != GoalStatus::Active {
        return Ok(Resynced::default());
    }
    let Some(start) = Period::of_date(goal.start_date) else {
        return Ok(Resynced::default());
    };
    // One month earlier too: the first entry's contribution is measured from it.
    let from = start.add_months(-1).unwrap_or(start);
    let snapshots = store.user_snapshots(&goal.user_id, from).await?;
    let at: Vec<SnapshotAt<'_>> = snapshots
        .iter()
        .map(|(id, period, summary)| SnapshotAt {
            snapshot_id: Some(*id),
            period: *period,
            summary,
        })
        .collect();
    let tracked = track(goal, Prior::default(), &at);
    let completed_at = tracked.completed_in.map(|_| now);
    store
        .replace_sync_progress(&goal.id, start, &tracked.entries, completed_at, now)
        .await?;
    if let Some(period) = tracked.completed_in {
        tracing::info!(goal = %goal.id, %period, "goal completed");
    }
    Ok(Resynced {
        entries: tracked.entries.len(),
        completed: tracked.completed_in.is_some(),
    })
}

/// After snapshots were stored: every active goal of each user gets its
/// entries recomputed (which covers a new month, a correction and a month
/// arriving out of order alike).
pub async fn sync_users<S: Storage>(store: &S, users: &[UserId], now: DateTime<Utc>) -> anyhow::Result<SyncSummary> {
    let mut summary = SyncSummary::default();
    for user in users {
        for goal in store.list_goals(Some(user), Some(GoalStatus::Active)).await? {
            let done = resync(store, &goal, now).await?;
            summary.goals += 1;
            summary.entries += done.entries;
            summary.completed += usize::from(done.completed);
        }
    }
    Ok(summary)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncSummary {
    pub goals: usize,
    pub entries: usize,
    pub completed: usize,
}

/// Distinct users in `snapshots`, in order.
pub fn users_of(snapshots: &[(UserId, Period)]) -> Vec<UserId> {
    let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
    snapshots
        .iter()
        .filter(|(u, _)| seen.insert(u.as_str(), ()).is_none())
        .map(|(u, _)| u.clone())
        .collect()
}
