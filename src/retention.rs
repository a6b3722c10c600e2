//! Retention: what the daemon prunes once a day (`[retention]`), in small batches so that no
//! transaction holds the write lock for long and a shutdown is never kept waiting.

use crate::config::RetentionSettings;
use crate::stop::Stop;
use crate::storage::JobStorage;
use chrono::{DateTime, Utc};

/// Rows deleted per transaction.
pub const BATCH: u32 = 500;

/// What one retention run pruned.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct RetentionSummary {
    /// Sent or failed deliveries older than `retention.deliveries_days`.
    pub deliveries: u64,
}

impl std::fmt::Display for RetentionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "retention: {} old sent or failed deliveries pruned", self.deliveries)
    }
}

impl crate::jobs::Summary for RetentionSummary {
    fn is_idle(&self) -> bool {
        self.deliveries == 0
    }
}

/// The instant before which a delivery's last change makes it prunable.
pub fn deliveries_cutoff(settings: &RetentionSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::TimeDelta::days(i64::from(settings.deliveries_days))
}

/// Prunes in batches of [`BATCH`] until nothing is left or a stop is requested (the rest waits for
/// the next run).
pub async fn run<S: JobStorage>(
    store: &S,
    settings: &RetentionSettings,
    now: DateTime<Utc>,
    stop: &Stop,
) -> anyhow::Result<RetentionSummary> {
    let before = deliveries_cutoff(settings, now);
    let mut summary = RetentionSummary::default();
    loop {
        let pruned = store.prune_deliveries(before, BATCH).await?;
        summary.deliveries += pruned;
        if pruned < u64::from(BATCH) || stop.is_requested() {
            return Ok(summary);
        }
        // Let the other jobs' transactions in between two batches.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_prunable_the_configured_number_of_days_after_their_last_change() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z").unwrap().to_utc();
        let cutoff = deliveries_cutoff(&RetentionSettings { deliveries_days: 400 }, now);
        assert_eq!(cutoff.to_rfc3339(), "2025-01-25T09:00:00+00:00");
    }
}
