//! The three periodic jobs — the inbox, the time-based alert pass, the email dispatch — as single runs:
//! each takes the pass lock (see [`crate::storage::jobs`]), records itself in `job_runs`, does its work
//! and says what it did. `--run-once` runs them one after the other, waiting for the lock; the daemon
//! runs each on its schedule and skips a run whose lock another process holds.

use crate::clock::Clock;
use crate::config::Settings;
use crate::dispatch::DispatchSummary;
use crate::evaluate::PassSummary;
use crate::inbox::{InboxRun, InboxSummary};
use crate::stop::Stop;
use crate::storage::{AlertStorage, JobKind, JobStorage};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::future::Future;
use std::sync::Arc;

/// Everything a job needs: storage, settings and the clock.
#[derive(Clone)]
pub struct JobContext<S> {
    pub store: S,
    pub settings: Arc<Settings>,
    /// Each run reads `now` from it when it starts (and again when it ends, for `job_runs`).
    pub clock: Clock,
    pub default_tz: Tz,
    /// Who runs the jobs (host and process), for `job_runs` and outbox claims.
    pub instance: String,
}

/// Whether to wait for the pass lock when another process holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait (`--run-once`: it has nothing else to do).
    Wait,
    /// Skip this run (the daemon: the next tick comes soon).
    Skip,
}

/// How a job run ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran<T> {
    Done(T),
    /// Another goalkeeper process held the pass lock: nothing was done.
    Skipped,
}

/// What one run of any job did, for logs, `job_runs` and the daemon's status.
pub trait Summary: serde::Serialize + std::fmt::Display + Send {
    /// Nothing happened (an empty inbox, no email due): the daemon logs such runs at debug level only.
    fn is_idle(&self) -> bool;
}

impl Summary for InboxSummary {
    fn is_idle(&self) -> bool {
        self.files == 0 && self.duplicates == 0 && self.failed == 0 && self.unreadable == 0
    }
}

impl Summary for EvaluateSummary {
    fn is_idle(&self) -> bool {
        false
    }
}

impl Summary for DispatchSummary {
    fn is_idle(&self) -> bool {
        *self == DispatchSummary::default()
    }
}

/// The time-based pass's counts, printable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EvaluateSummary(pub PassSummary);

impl std::fmt::Display for EvaluateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "evaluate: {} active goals, {} with a deadline or reminder open, {} new alerts",
            self.0.goals, self.0.candidates, self.0.new_alerts
        )
    }
}

impl<S: AlertStorage + JobStorage> JobContext<S> {
    pub fn new(store: S, settings: Arc<Settings>, clock: Clock) -> anyhow::Result<Self> {
        let default_tz = settings.default_timezone()?;
        Ok(JobContext {
            store,
            settings,
            clock,
            default_tz,
            instance: crate::email::instance_name(),
        })
    }

    /// Processes the inbox once.
    pub async fn inbox(&self, wait: LockWait, stop: &Stop) -> anyhow::Result<Ran<InboxSummary>> {
        self.guarded(JobKind::Inbox, wait, |now| async move {
            let run = InboxRun {
                settings: &self.settings.inbox,
                default_tz: self.default_tz,
                now,
                base_url: &self.settings.email.base_url,
            };
            run.process_until(&self.store, stop).await
        })
        .await
    }

    /// Raises the deadline and reminder alerts due now (idempotent).
    pub async fn evaluate(&self, wait: LockWait) -> anyhow::Result<Ran<EvaluateSummary>> {
        self.guarded(JobKind::Evaluate, wait, |now| async move {
            let mut alerter = crate::goals::Alerter::new(&self.settings.email.base_url);
            crate::evaluate::time_pass(&self.store, &mut alerter, now)
                .await
                .map(EvaluateSummary)
        })
        .await
    }

    /// Sends the emails due now.
    pub async fn dispatch(&self, wait: LockWait, stop: &Stop) -> anyhow::Result<Ran<DispatchSummary>> {
        self.guarded(JobKind::Dispatch, wait, |now| async move {
            crate::dispatch::send_due_until(&self.store, &self.settings.email, now, stop).await
        })
        .await
    }

    /// Takes the lock, records the run in `job_runs` around `work`, releases the lock. A run that could
    /// not be recorded (the database is failing) still runs; the failure to record is logged.
    async fn guarded<T: Summary, F: Future<Output = anyhow::Result<T>>>(
        &self,
        job: JobKind,
        wait: LockWait,
        work: impl FnOnce(DateTime<Utc>) -> F,
    ) -> anyhow::Result<Ran<T>> {
        let now = self.clock.now();
        let lock = match self.store.lock_pass(job, wait == LockWait::Wait).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return Ok(Ran::Skipped),
            Err(e) => {
                self.record_failure(job, now, &e).await;
                return Err(e);
            }
        };
        // `now` again once the lock is held: a run that waited for another process starts later.
        let now = self.clock.now();
        let id = match self.store.start_run(job, &self.instance, now).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(job = %job, error = %format!("{e:#}"), "could not record the run in job_runs");
                None
            }
        };
        let result = work(now).await;
        let (ok, summary) = match &result {
            Ok(summary) => (true, serde_json::to_value(summary).unwrap_or_default()),
            Err(e) => (false, serde_json::json!({ "error": format!("{e:#}") })),
        };
        if let Some(id) = id
            && let Err(e) = self
                .store
                .finish_run(
                    id,
                    self.clock.now(),
                    ok,
                    &summary,
                    self.settings.retention.job_runs_days,
                )
                .await
        {
            tracing::warn!(job = %job, error = %format!("{e:#}"), "could not record the end of the run in job_runs");
        }
        lock.release().await;
        result.map(Ran::Done)
    }

    /// Records a run that failed before it could start (the lock could not be taken), if the database allows.
    async fn record_failure(&self, job: JobKind, now: DateTime<Utc>, error: &anyhow::Error) {
        let summary = serde_json::json!({ "error": format!("{error:#}") });
        let recorded = async {
            let id = self.store.start_run(job, &self.instance, now).await?;
            self.store
                .finish_run(
                    id,
                    self.clock.now(),
                    false,
                    &summary,
                    self.settings.retention.job_runs_days,
                )
                .await
        };
        if let Err(e) = recorded.await {
            tracing::debug!(job = %job, error = %format!("{e:#}"), "could not record the failed run in job_runs");
        }
    }
}
