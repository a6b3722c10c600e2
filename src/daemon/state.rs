//! What the daemon knows about its own runs, shared (`Arc<State>`) between the job runner, which writes
//! it, and whoever reads it: the systemd status line today, health and metrics endpoints later. Reading
//! never waits for a job: a snapshot is copied out under a short lock.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One job's counters and its last run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct JobStats {
    /// Runs that ended (successfully or not) since the daemon started.
    pub runs: u64,
    /// Runs that ended with an error.
    pub failures: u64,
    /// Failures since the last success (0 when the last run succeeded).
    pub consecutive_failures: u64,
    /// Ticks not run: the previous run was still going, or another process held the pass lock.
    pub skipped: u64,
    /// A run is going on now.
    pub running: bool,
    pub last_started: Option<DateTime<Utc>>,
    pub last_finished: Option<DateTime<Utc>>,
    /// Whether the last finished run succeeded.
    pub last_ok: Option<bool>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_duration_ms: Option<u64>,
    /// The last successful run's counts.
    pub last_summary: Option<serde_json::Value>,
    /// The last run's one-line report ("inbox: 1 files processed, ...").
    pub last_report: Option<String>,
    /// The last failure's message.
    pub last_error: Option<String>,
}

/// A copy of the whole state at one instant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Snapshot {
    pub started_at: DateTime<Utc>,
    /// Configuration valid, migrations applied, jobs scheduled.
    pub ready: bool,
    /// A shutdown was requested.
    pub stopping: bool,
    pub jobs: BTreeMap<String, JobStats>,
}

/// The daemon's shared state. All methods take `&self`.
#[derive(Debug)]
pub struct State {
    started_at: DateTime<Utc>,
    /// Counters for `/metrics`, kept up to date as runs end.
    pub metrics: crate::metrics::Metrics,
    ready: AtomicBool,
    stopping: AtomicBool,
    jobs: Mutex<BTreeMap<String, JobStats>>,
}

impl State {
    pub fn new(started_at: DateTime<Utc>) -> State {
        State {
            started_at,
            metrics: crate::metrics::Metrics::new(),
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            jobs: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            started_at: self.started_at,
            ready: self.ready.load(Ordering::SeqCst),
            stopping: self.stopping.load(Ordering::SeqCst),
            jobs: self.with_jobs(|jobs| jobs.clone()),
        }
    }

    /// One job's stats (the defaults if it never ran).
    pub fn job(&self, name: &str) -> JobStats {
        self.with_jobs(|jobs| jobs.get(name).cloned().unwrap_or_default())
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub(super) fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    pub(super) fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Registers a job so it shows (with zero counts) before its first run.
    pub(super) fn register(&self, name: &str) {
        self.with_jobs(|jobs| {
            jobs.entry(name.to_owned()).or_default();
        });
    }

    pub(super) fn started(&self, name: &str, at: DateTime<Utc>) {
        self.update(name, |s| {
            s.running = true;
            s.last_started = Some(at);
        });
    }

    pub(super) fn skipped(&self, name: &str, ticks: u64) {
        self.update(name, |s| s.skipped += ticks);
    }

    /// A run ended without doing anything (another process held the lock): not counted as a run.
    pub(super) fn not_run(&self, name: &str) {
        self.update(name, |s| {
            s.running = false;
            s.skipped += 1;
        });
    }

    pub(super) fn succeeded(
        &self,
        name: &str,
        at: DateTime<Utc>,
        duration_ms: u64,
        summary: serde_json::Value,
        report: String,
    ) {
        self.metrics
            .job(name, true, at.timestamp() as f64, duration_ms as f64 / 1000.0);
        self.metrics.summary(name, &summary);
        self.update(name, |s| {
            s.running = false;
            s.runs += 1;
            s.consecutive_failures = 0;
            s.last_finished = Some(at);
            s.last_ok = Some(true);
            s.last_success = Some(at);
            s.last_duration_ms = Some(duration_ms);
            s.last_summary = Some(summary);
            s.last_report = Some(report);
        });
    }

    pub(super) fn failed(&self, name: &str, at: DateTime<Utc>, duration_ms: u64, error: String) {
        self.metrics
            .job(name, false, at.timestamp() as f64, duration_ms as f64 / 1000.0);
        self.update(name, |s| {
            s.running = false;
            s.runs += 1;
            s.failures += 1;
            s.consecutive_failures += 1;
            s.last_finished = Some(at);
            s.last_ok = Some(false);
            s.last_duration_ms = Some(duration_ms);
            s.last_report = Some(format!("failed: {error}"));
            s.last_error = Some(error);
        });
    }

    /// Records a successful inbox run at `at` (for tests of what reads the state).
    #[doc(hidden)]
    pub fn inbox_succeeded_for_tests(&self, at: DateTime<Utc>) {
        self.succeeded("inbox", at, 1, serde_json::json!({}), "inbox: test".to_owned());
    }

    /// One line for systemd's `STATUS=`: each job's last report.
    pub fn status_line(&self) -> String {
        self.with_jobs(|jobs| {
            let parts: Vec<String> = jobs
                .iter()
                .filter_map(|(name, s)| {
                    s.last_report.as_ref().map(|r| {
                        let r = r.strip_prefix(&format!("{name}: ")).unwrap_or(r);
                        format!("{name}: {r}")
                    })
                })
                .collect();
            if parts.is_empty() {
                "running; no job has finished yet".to_owned()
            } else {
                parts.join("; ")
            }
        })
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut JobStats)) {
        self.with_jobs(|jobs| f(jobs.entry(name.to_owned()).or_default()));
    }

    fn with_jobs<T>(&self, f: impl FnOnce(&mut BTreeMap<String, JobStats>) -> T) -> T {
        // A panic while holding the lock cannot leave the counters half-updated in a way that matters:
        // carry on with what is there.
        let mut jobs = match self.jobs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut jobs)
    }
}
