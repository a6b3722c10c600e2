//! `goalkeeper daemon`: the inbox, the time-based alert pass and the email dispatch, each on its
//! `[schedule]`, until SIGTERM or SIGINT.
//!
//! * **Scheduling** is tokio-cron-scheduler's: the inbox poll is a repeated job, the cron jobs are
//!   re-armed one-shot jobs at instants [`crate::schedule::CronSchedule`] computes (right across
//!   daylight-saving changes). Nothing here waits in a loop of its own; an idle daemon only has the
//!   scheduler's 500 ms poll.
//! * **No overlap**: a job's tick that finds its previous run still going is skipped and logged
//!   ([`runner::Runner::tick`]). Within the process the jobs also take turns (one shared lock), and
//!   across processes the pass lock keeps two goalkeepers off the same inbox and outbox
//!   ([`crate::storage::jobs`]); a run whose pass lock another process holds is skipped and logged.
//! * **Failures** (database unreachable, SMTP down) are logged, counted in [`State`] and recorded in
//!   `job_runs`; the next tick tries again and the daemon stays up.
//! * **Catch-up**: the inbox is processed at start; a cron job whose fire time passed since its last
//!   successful run (`job_runs`) — while the daemon was down — runs once at start.
//! * **Shutdown**: the `shutdown` future passed to [`run`] (signals in the binary, anything in tests);
//!   see [`runner::Daemon::run`]. The `force` future (a second signal) ends the wait for the runs
//!   going on at once: [`Stopped::Forced`].
//! * **systemd**: `READY=1` once the jobs are scheduled (the command has validated the configuration
//!   and applied migrations before), `STATUS=` after every run, `WATCHDOG=1` when `WatchdogSec=` is set.

pub mod notify;
pub mod runner;
pub mod state;

pub use runner::{Daemon, JobSpec, Outcome, Report, Stopped, Trigger};
pub use state::State;

use crate::jobs::{JobContext, LockWait, Ran, Summary};
use crate::schedule::CronSchedule;
use crate::stop::Stop;
use crate::storage::{AlertStorage, JobKind, JobStorage};
use chrono::{DateTime, Utc};
use runner::JobWork;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Runs the daemon on `ctx`'s storage and settings until `shutdown` resolves, waiting for the runs
/// going on unless `force` resolves. `state` is shared with whoever wants to watch (status line,
/// health endpoints).
pub async fn run<S: AlertStorage + JobStorage>(
    ctx: JobContext<S>,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
    force: impl Future<Output = ()>,
) -> anyhow::Result<Stopped> {
    let settings = ctx.settings.clone();
    let now = ctx.clock.now();
    // The jobs of this process take turns: the pass lock is per process, not per job.
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    let mut jobs = Vec::new();
    if let Some(every) = settings.schedule.inbox_poll() {
        jobs.push(JobSpec {
            name: JobKind::Inbox.to_string(),
            trigger: Trigger::Every(every),
            run_at_start: true,
            work: work(&ctx, &turn, |ctx, stop| async move {
                ctx.inbox(LockWait::Skip, &stop).await
            }),
        });
    } else {
        tracing::info!("schedule.inbox_poll_seconds = 0: the inbox is not watched");
    }
    for kind in [JobKind::Evaluate, JobKind::Dispatch] {
        let Some(schedule) = settings.schedule.cron(kind.as_str())? else {
            tracing::info!(job = %kind, "schedule.{kind} is empty: the job is off");
            continue;
        };
        let last = match ctx.store.last_success(kind).await {
            Ok(last) => last,
            Err(e) => {
                tracing::warn!(job = %kind, error = %format!("{e:#}"), "cannot read the last run; catching up to be safe");
                None
            }
        };
        let missed = needs_catch_up(&schedule, last, now);
        if missed {
            tracing::info!(job = %kind, last_success = ?last, "a fire time passed since the last successful run: running once at start");
        }
        let work = match kind {
            JobKind::Evaluate => work(
                &ctx,
                &turn,
                |ctx, _stop| async move { ctx.evaluate(LockWait::Skip).await },
            ),
            _ => work(&ctx, &turn, |ctx, stop| async move {
                ctx.dispatch(LockWait::Skip, &stop).await
            }),
        };
        jobs.push(JobSpec {
            name: kind.to_string(),
            trigger: Trigger::Cron(Box::new(schedule)),
            run_at_start: missed,
            work,
        });
    }
    // Retention: at start, then once a day.
    jobs.push(JobSpec {
        name: "retention".to_owned(),
        trigger: Trigger::Every(Duration::from_secs(24 * 60 * 60)),
        run_at_start: true,
        work: work(&ctx, &turn, |ctx, stop| async move {
            let now = ctx.clock.now();
            crate::retention::run(&ctx.store, &ctx.settings.retention, now, &stop)
                .await
                .map(Ran::Done)
        }),
    });
    let daemon = Daemon {
        jobs,
        clock: ctx.clock,
        state: state.clone(),
        shutdown_timeout: Duration::from_secs(settings.daemon.shutdown_timeout_seconds),
        watchdog: notify::watchdog_interval(),
    };
    daemon
        .run(shutdown, force, || {
            tracing::info!(instance = %ctx.instance, "ready");
            notify::ready("ready; no job has finished yet");
        })
        .await
}

/// Whether a cron job runs once at start: one of its fire times passed since its last successful run
/// (the daemon was down, or the run failed), or it never succeeded. The time-based pass is idempotent,
/// so running it once too often is harmless; once too few would lose a day's reminders.
pub fn needs_catch_up(schedule: &CronSchedule, last_success: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_success.is_none_or(|t| schedule.missed_since(t, now))
}

/// A job's work: wait for this process's turn (or the stop), run, report.
fn work<S, T, F, Fut>(ctx: &JobContext<S>, turn: &Arc<tokio::sync::Mutex<()>>, run: F) -> JobWork
where
    S: AlertStorage + JobStorage,
    T: Summary + 'static,
    F: Fn(JobContext<S>, Stop) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Ran<T>>> + Send + 'static,
{
    let ctx = ctx.clone();
    let turn = turn.clone();
    let run = Arc::new(run);
    Arc::new(move |stop: Stop| {
        let (ctx, turn, run) = (ctx.clone(), turn.clone(), run.clone());
        Box::pin(async move {
            let _turn = tokio::select! {
                turn = turn.lock_owned() => turn,
                () = stop.requested() => return Ok(Outcome::NotRun("shutting down")),
            };
            match run(ctx, stop).await? {
                Ran::Done(summary) => Ok(Outcome::Done(Report {
                    summary: serde_json::to_value(&summary)?,
                    text: summary.to_string(),
                    idle: summary.is_idle(),
                })),
                Ran::Skipped => Ok(Outcome::NotRun(
                    "another goalkeeper process holds the pass lock on this database",
                )),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// `[schedule] evaluate` at 06:00 in New York, as the daemon reads it from the configuration.
    fn six_in_new_york() -> CronSchedule {
        let mut settings = crate::config::Settings::builtin().unwrap();
        settings.schedule.timezone = "America/New_York".to_owned();
        settings.schedule.cron("evaluate").unwrap().unwrap()
    }

    #[test]
    fn a_job_that_never_succeeded_is_caught_up_at_start() {
        assert!(needs_catch_up(&six_in_new_york(), None, utc("2026-03-08T00:00:00Z")));
    }

    #[test]
    fn the_catch_up_at_start_follows_the_local_time_across_spring_forward() {
        let s = six_in_new_york();
        // Last run Saturday 06:00 EST (11:00Z); Sunday's 06:00 is EDT, 10:00Z.
        let last = Some(utc("2026-03-07T11:00:00Z"));
        assert!(
            !needs_catch_up(&s, last, utc("2026-03-08T09:59:59Z")),
            "05:59 EDT: not due yet"
        );
        assert!(
            needs_catch_up(&s, last, utc("2026-03-08T10:00:00Z")),
            "06:00 EDT passed"
        );
    }

    #[test]
    fn the_catch_up_at_start_follows_the_local_time_across_fall_back() {
        let s = six_in_new_york();
        // Last run Saturday 06:00 EDT (10:00Z); Sunday's 06:00 is EST, 11:00Z.
        let last = Some(utc("2026-10-31T10:00:00Z"));
        assert!(
            !needs_catch_up(&s, last, utc("2026-11-01T10:30:00Z")),
            "05:30 EST: not due yet"
        );
        assert!(needs_catch_up(&s, last, utc("2026-11-01T11:00:00Z")));
        // Down for three days: caught up once (one run at start, not three).
        assert!(needs_catch_up(&s, last, utc("2026-11-04T12:00:00Z")));
    }

    #[test]
    fn the_daemons_evaluate_schedule_fires_at_six_local_on_both_sides_of_each_change() {
        let s = six_in_new_york();
        let fires: Vec<String> = [
            "2026-03-07T12:00:00Z",
            "2026-03-08T12:00:00Z",
            "2026-10-31T12:00:00Z",
            "2026-11-01T12:00:00Z",
        ]
        .iter()
        .map(|t| s.next_after(utc(t)).unwrap().to_rfc3339())
        .collect();
        assert_eq!(
            fires,
            [
                "2026-03-08T10:00:00+00:00",
                "2026-03-09T10:00:00+00:00",
                "2026-11-01T11:00:00+00:00",
                "2026-11-02T11:00:00+00:00"
            ]
        );
    }
}
