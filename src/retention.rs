//! Retention: what the daemon prunes once a day (`[retention]`), in small batches so that no
//! transaction holds the write lock for long and a shutdown is never kept waiting.

use crate::config::RetentionSettings;
use crate::stop::Stop;
use crate::storage::JobStorage;
use chrono::{DateTime, Utc};

/// Rows deleted per transaction.
pub const BATCH: u32 = 500;
/// Snapshot versions deleted per transaction: each takes its lines along (tens to hundreds of rows).
pub const SNAPSHOT_BATCH: u32 = 50;

/// What one retention run pruned.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetentionSummary {
    /// Sent or failed deliveries older than `retention.deliveries_days`.
    pub deliveries: u64,
    /// Job runs older than `retention.job_runs_days`.
    #[serde(default)]
    pub job_runs: u64,
    /// Superseded snapshot versions older than `retention.superseded_snapshots_days`.
    #[serde(default)]
    pub snapshots: u64,
}

impl std::fmt::Display for RetentionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "retention: {} old sent or failed deliveries, {} job runs and {} superseded snapshot versions pruned",
            self.deliveries, self.job_runs, self.snapshots
        )
    }
}

impl crate::jobs::Summary for RetentionSummary {
    fn is_idle(&self) -> bool {
        *self == RetentionSummary::default()
    }
}

/// The instants before which each kind of row is prunable; `None`: that kind is kept forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// A sent or failed delivery's last change.
    pub deliveries: DateTime<Utc>,
    /// A job run's start (and end).
    pub job_runs: DateTime<Utc>,
    /// The correction that superseded a snapshot version.
    pub snapshots: Option<DateTime<Utc>>,
}

impl Cutoffs {
    pub fn new(settings: &RetentionSettings, now: DateTime<Utc>) -> Cutoffs {
        let days = |n: u32| now - chrono::TimeDelta::days(i64::from(n));
        Cutoffs {
            deliveries: days(settings.deliveries_days),
            job_runs: days(settings.job_runs_days),
            snapshots: (settings.superseded_snapshots_days > 0).then(|| days(settings.superseded_snapshots_days)),
        }
    }
}

/// Calls `batch` until it prunes fewer than `size` rows or a stop is requested; the total.
async fn drain<F, Fut>(size: u32, stop: &Stop, mut batch: F) -> anyhow::Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u64>>,
{
    let mut total = 0;
    loop {
        let pruned = batch().await?;
        total += pruned;
        if pruned < u64::from(size) || stop.is_requested() {
            return Ok(total);
        }
        // Let the other jobs' transactions in between two batches.
        tokio::task::yield_now().await;
    }
}

/// Prunes in batches until nothing is left or a stop is requested (the rest waits for the next run).
pub async fn run<S: JobStorage>(
    store: &S,
    settings: &RetentionSettings,
    now: DateTime<Utc>,
    stop: &Stop,
) -> anyhow::Result<RetentionSummary> {
    let cut = Cutoffs::new(settings, now);
    let mut summary = RetentionSummary {
        deliveries: drain(BATCH, stop, || store.prune_deliveries(cut.deliveries, BATCH)).await?,
        ..RetentionSummary::default()
    };
    if stop.is_requested() {
        return Ok(summary);
    }
    summary.job_runs = drain(BATCH, stop, || store.prune_job_runs(cut.job_runs, BATCH)).await?;
    if let Some(before) = cut.snapshots
        && !stop.is_requested()
    {
        summary.snapshots = drain(SNAPSHOT_BATCH, stop, || {
            store.prune_superseded_snapshots(before, SNAPSHOT_BATCH)
        })
        .await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_prunable_its_configured_number_of_days_after_and_0_keeps_snapshots_forever() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z").unwrap().to_utc();
        let mut settings = RetentionSettings {
            deliveries_days: 400,
            job_runs_days: 30,
            superseded_snapshots_days: 0,
        };
        let cut = Cutoffs::new(&settings, now);
        assert_eq!(cut.deliveries.to_rfc3339(), "2025-01-25T09:00:00+00:00");
        assert_eq!(cut.job_runs.to_rfc3339(), "2026-01-30T09:00:00+00:00");
        assert_eq!(cut.snapshots, None);
        settings.superseded_snapshots_days = 365;
        let cut = Cutoffs::new(&settings, now);
        assert_eq!(
            cut.snapshots.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-03-01T09:00:00+00:00")
        );
    }
}
