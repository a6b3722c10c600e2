//! Counters for operators, in the Prometheus text format (`GET /metrics`):
//! files by outcome, snapshots, progress entries, alerts by type, emails by
//! outcome, and per job its runs, failures, last success and last duration.
//! Cheap to update from any task (atomics); rendered on request.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

fn label(key: &str, value: &str) -> Labels {
    vec![(key.to_owned(), value.to_owned())]
}

struct Inner {
    registry: Registry,
    files: Family<Labels, Counter>,
    snapshots: Counter,
    progress_entries: Counter,
    alerts: Family<Labels, Gauge>,
    emails: Family<Labels, Counter>,
    rows_pruned: Family<Labels, Counter>,
    job_runs: Family<Labels, Counter>,
    job_failures: Family<Labels, Counter>,
    job_last_success: Family<Labels, FloatGauge>,
    job_duration: Family<Labels, FloatGauge>,
}

/// The process's metrics; clones share them.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("goalkeeper");
        let files = Family::<Labels, Counter>::default();
        registry.register(
            "files",
            "Inbox files by outcome (stored, duplicate, failed, unreadable)",
            files.clone(),
        );
        let snapshots = Counter::default();
        registry.register(
            "snapshots_stored",
            "Snapshots stored (corrections included)",
            snapshots.clone(),
        );
        let progress_entries = Counter::default();
        registry.register(
            "progress_entries",
            "Goal progress entries written by sync",
            progress_entries.clone(),
        );
        let alerts = Family::<Labels, Gauge>::default();
        registry.register(
            "alerts_stored",
            "Alerts generated and stored so far, by type",
            alerts.clone(),
        );
        let emails = Family::<Labels, Counter>::default();
        registry.register(
            "emails",
            "Alert deliveries by outcome (sent, deferred, retrying, failed)",
            emails.clone(),
        );
        let rows_pruned = Family::<Labels, Counter>::default();
        registry.register(
            "rows_pruned",
            "Rows deleted by retention ([retention]), by table",
            rows_pruned.clone(),
        );
        let job_runs = Family::<Labels, Counter>::default();
        registry.register("job_runs", "Job runs, by job", job_runs.clone());
        let job_failures = Family::<Labels, Counter>::default();
        registry.register("job_failures", "Job runs that failed, by job", job_failures.clone());
        let job_last_success = Family::<Labels, FloatGauge>::default();
        registry.register(
            "job_last_success_timestamp_seconds",
            "When each job last succeeded (Unix time)",
            job_last_success.clone(),
        );
        let job_duration = Family::<Labels, FloatGauge>::default();
        registry.register(
            "job_last_duration_seconds",
            "How long each job's last run took",
            job_duration.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                files,
                snapshots,
                progress_entries,
                alerts,
                emails,
                rows_pruned,
                job_runs,
                job_failures,
                job_last_success,
                job_duration,
            }),
        }
    }

    /// What an inbox pass did.
    pub fn inbox(&self, s: &crate::inbox::InboxSummary) {
        let i = &self.inner;
        i.files
            .get_or_create(&label("outcome", "stored"))
            .inc_by(s.files as u64);
        i.files
            .get_or_create(&label("outcome", "duplicate"))
            .inc_by(s.duplicates as u64);
        i.files
            .get_or_create(&label("outcome", "failed"))
            .inc_by(s.failed as u64);
        i.files
            .get_or_create(&label("outcome", "unreadable"))
            .inc_by(s.unreadable as u64);
        i.snapshots.inc_by(s.snapshots as u64);
        i.progress_entries.inc_by(s.progress_entries as u64);
    }

    /// Alerts stored so far, by type (read from the database at scrape time).
    pub fn alert_totals(&self, totals: &[(String, i64)]) {
        for (alert_type, n) in totals {
            self.inner.alerts.get_or_create(&label("type", alert_type)).set(*n);
        }
    }

    /// What a job's successful run reported (its summary, as serialized for
    /// `job_runs`), counted.
    pub fn summary(&self, job: &str, summary: &serde_json::Value) {
        match job {
            "inbox" => {
                if let Ok(s) = serde_json::from_value(summary.clone()) {
                    self.inbox(&s);
                }
            }
            "dispatch" => {
                if let Ok(s) = serde_json::from_value(summary.clone()) {
                    self.dispatch(&s);
                }
            }
            "retention" => {
                if let Ok(s) = serde_json::from_value::<crate::retention::RetentionSummary>(summary.clone()) {
                    for (table, n) in [
                        ("email_deliveries", s.deliveries),
                        ("job_runs", s.job_runs),
                        ("snapshots", s.snapshots),
                    ] {
                        self.inner.rows_pruned.get_or_create(&label("table", table)).inc_by(n);
                    }
                }
            }
            _ => {}
        }
    }

    /// What a dispatch did.
    pub fn dispatch(&self, s: &crate::dispatch::DispatchSummary) {
        let i = &self.inner;
        i.emails
            .get_or_create(&label("outcome", "sent"))
            .inc_by(s.alerts_sent as u64);
        i.emails
            .get_or_create(&label("outcome", "deferred"))
            .inc_by(s.deferred as u64);
        i.emails
            .get_or_create(&label("outcome", "retrying"))
            .inc_by(s.retrying as u64);
        i.emails
            .get_or_create(&label("outcome", "failed"))
            .inc_by(s.failed as u64);
    }

    /// A job run ended at `finished` (Unix seconds) after `duration_seconds`.
    pub fn job(&self, job: &str, ok: bool, finished: f64, duration_seconds: f64) {
        let i = &self.inner;
        let l = label("job", job);
        i.job_runs.get_or_create(&l).inc();
        if ok {
            i.job_last_success.get_or_create(&l).set(finished);
        } else {
            i.job_failures.get_or_create(&l).inc();
        }
        i.job_duration.get_or_create(&l).set(duration_seconds);
    }

    /// The text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an error would only come from a
        // metric's own encoder, and then the partial text is still useful.
        if let Err(e) = encode(&mut out, &self.inner.registry) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_the_prometheus_text_format_with_their_labels() {
        let m = Metrics::new();
        m.inbox(&crate::inbox::InboxSummary {
            files: 2,
            snapshots: 8,
            duplicates: 1,
            progress_entries: 16,
            ..Default::default()
        });
        m.alert_totals(&[("milestone_50".to_owned(), 3)]);
        let one_stored_one_failed = crate::inbox::InboxSummary {
            files: 1,
            failed: 1,
            unreadable: 2,
            ..Default::default()
        };
        m.summary("inbox", &serde_json::to_value(one_stored_one_failed).unwrap());
        m.dispatch(&crate::dispatch::DispatchSummary {
            emails_sent: 1,
            alerts_sent: 2,
            deferred: 1,
            ..Default::default()
        });
        m.job("inbox", true, 1_780_000_000.0, 0.25);
        m.job("dispatch", false, 1_780_000_000.0, 1.5);
        let text = m.render();
        for line in [
            "goalkeeper_files_total{outcome=\"stored\"} 3",
            "goalkeeper_files_total{outcome=\"failed\"} 1",
            "goalkeeper_files_total{outcome=\"unreadable\"} 2",
            "goalkeeper_files_total{outcome=\"duplicate\"} 1",
            "goalkeeper_snapshots_stored_total 8",
            "goalkeeper_progress_entries_total 16",
            "goalkeeper_alerts_stored{type=\"milestone_50\"} 3",
            "goalkeeper_emails_total{outcome=\"sent\"} 2",
            "goalkeeper_emails_total{outcome=\"deferred\"} 1",
            "goalkeeper_job_runs_total{job=\"inbox\"} 1",
            "goalkeeper_job_failures_total{job=\"dispatch\"} 1",
            "goalkeeper_job_last_success_timestamp_seconds{job=\"inbox\"} 1780000000.0",
            "goalkeeper_job_last_duration_seconds{job=\"dispatch\"} 1.5",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
