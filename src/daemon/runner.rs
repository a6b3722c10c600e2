//! The job runner: named jobs, each on a trigger (every N seconds, or a [`CronSchedule`]), run by
//! tokio-cron-scheduler; what happens around every run (no overlap, a span, counts, the shared
//! [`State`], systemd's status line); and the graceful shutdown. It knows nothing of goalkeeper's
//! jobs: [`super::run`] gives it the inbox, the time-based pass and the dispatch as [`JobSpec`]s, and the
//! tests give it slow and failing ones.

use super::notify;
use super::state::State;
use crate::clock::Clock;
use crate::schedule::{CronSchedule, CronTask, arm};
use crate::stop::Stop;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::Instrument;

/// What a run did, for the log, the state and the status line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The counts, as JSON.
    pub summary: serde_json::Value,
    /// One line for people ("inbox: 1 files processed, ...").
    pub text: String,
    /// Nothing happened: logged at debug level, so an idle daemon's log stays quiet.
    pub idle: bool,
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(Report),
    /// Nothing was done, for this reason (another process held the pass lock; shutting down).
    NotRun(&'static str),
}

pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send>>;

/// One run of a job. It is handed the daemon's [`Stop`], to check between units of work.
pub type JobWork = Arc<dyn Fn(Stop) -> JobFuture + Send + Sync>;

/// When a job runs.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// Every so often (whole seconds), counted from the start.
    Every(Duration),
    /// At the fire times of a cron expression in its zone, daylight-saving changes included.
    Cron(Box<CronSchedule>),
}

/// A job as the runner sees it.
pub struct JobSpec {
    pub name: String,
    pub trigger: Trigger,
    /// Run once as soon as the daemon is ready (the inbox; a cron job that missed a fire time).
    pub run_at_start: bool,
    pub work: JobWork,
}

/// How a tick ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    Ran,
    Failed,
    /// The job did nothing (see [`Outcome::NotRun`]).
    NotRun,
    /// Skipped: the previous run of the job was still going.
    Busy,
    /// Not started: the daemon is shutting down.
    Stopping,
}

/// One job and what keeps its runs apart.
pub struct Runner {
    name: String,
    work: JobWork,
    /// Held for the whole of a run: a tick that cannot take it is skipped, and shutdown waits on it.
    busy: Arc<tokio::sync::Mutex<()>>,
    state: Arc<State>,
    clock: Clock,
    stop: Stop,
}

impl Runner {
    pub fn new(name: &str, work: JobWork, state: Arc<State>, clock: Clock, stop: Stop) -> Runner {
        state.register(name);
        Runner {
            name: name.to_owned(),
            work,
            busy: Arc::new(tokio::sync::Mutex::new(())),
            state,
            clock,
            stop,
        }
    }

    /// Runs the job now, unless its previous run is still going (the tick is then skipped and logged)
    /// or the daemon is shutting down. A failure is logged and counted; the next tick tries again.
    pub async fn tick(&self) -> Tick {
        if self.stop.is_requested() {
            tracing::debug!(job = %self.name, "tick not run: shutting down");
            return Tick::Stopping;
        }
        let Ok(_running) = self.busy.try_lock() else {
            tracing::info!(job = %self.name, "tick skipped: the previous run is still going");
            self.state.skipped(&self.name, 1);
            return Tick::Busy;
        };
        let started_at = self.clock.now();
        self.state.started(&self.name, started_at);
        let span = tracing::info_span!("job_run", job = %self.name);
        let started = Instant::now();
        let result = (self.work)(self.stop.clone()).instrument(span.clone()).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let finished_at = self.clock.now();
        let tick = match result {
            Ok(Outcome::Done(report)) => {
                if report.idle {
                    tracing::debug!(parent: &span, duration_ms, summary = %report.summary, "{}", report.text);
                } else {
                    tracing::info!(parent: &span, duration_ms, summary = %report.summary, "{}", report.text);
                }
                self.state
                    .succeeded(&self.name, finished_at, duration_ms, report.summary, report.text);
                Tick::Ran
            }
            Ok(Outcome::NotRun(reason)) => {
                tracing::info!(parent: &span, duration_ms, "run skipped: {reason}");
                self.state.not_run(&self.name);
                Tick::NotRun
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::error!(parent: &span, duration_ms, %error, "run failed; the next tick tries again");
                self.state.failed(&self.name, finished_at, duration_ms, error);
                Tick::Failed
            }
        };
        notify::status(&self.state.status_line());
        tick
    }

    /// A cron tick due at `due`: [`tick`](Self::tick), then counts the fire times that passed while it ran
    /// (they are skipped, not run late: see [`crate::schedule`]).
    async fn tick_cron(&self, schedule: &CronSchedule, due: chrono::DateTime<chrono::Utc>) -> Tick {
        let tick = self.tick().await;
        let now = self.clock.now();
        let mut missed = 0u64;
        let mut at = due;
        while let Some(next) = schedule.next_after(at).filter(|t| *t <= now) {
            missed += 1;
            at = next;
            if missed >= 100_000 {
                break;
            }
        }
        if missed > 0 {
            tracing::info!(job = %self.name, skipped = missed, "fire times skipped: the run was still going");
            self.state.skipped(&self.name, missed);
        }
        tick
    }

    /// Waits until no run of this job is going on.
    async fn idle(&self) {
        let _idle = self.busy.lock().await;
    }
}

/// How a daemon's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every run going on finished.
    Clean,
    /// The shutdown timeout passed: the runs still going were abandoned.
    TimedOut,
    /// Forced (a second signal): the runs still going were abandoned at once. The caller should exit
    /// without waiting for anything (closing a pool would wait for the abandoned transaction).
    Forced,
}

/// What abandoning a run of `job` in the middle costs, for the log.
fn abandoned(job: &str) -> &'static str {
    match job {
        "inbox" => "the file being stored is rolled back and stays in the inbox for the next run",
        "dispatch" => {
            "emails claimed but not recorded stay in the outbox; one being sent may be sent again, with the same Message-ID"
        }
        "evaluate" => "the time-based pass's uncommitted alerts are raised by the next pass",
        _ => "its open transaction is rolled back",
    }
}

/// The daemon's jobs and how it runs them.
pub struct Daemon {
    pub jobs: Vec<JobSpec>,
    pub clock: Clock,
    pub state: Arc<State>,
    /// How long a shutdown waits for the runs going on.
    pub shutdown_timeout: Duration,
    /// Ping systemd's watchdog this often.
    pub watchdog: Option<Duration>,
}

impl Daemon {
    /// Schedules the jobs, calls `ready` (systemd's `READY=1`), runs the start-up runs, and runs until
    /// `shutdown` resolves. Then: no new run starts, the runs going on are asked to stop between units
    /// of work and waited for, at most `shutdown_timeout`, or until `force` resolves (an operator's
    /// second signal). Errors are the scheduler's (it cannot start).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()>,
        force: impl Future<Output = ()>,
        ready: impl FnOnce(),
    ) -> anyhow::Result<Stopped> {
        let (stop_handle, stop) = Stop::new();
        let mut scheduler = JobScheduler::new().await?;
        let mut runners = Vec::with_capacity(self.jobs.len());
        let mut at_start = Vec::new();
        for spec in self.jobs {
            let runner = Arc::new(Runner::new(
                &spec.name,
                spec.work,
                self.state.clone(),
                self.clock,
                stop.clone(),
            ));
            match spec.trigger {
                Trigger::Every(every) => {
                    let every = every.max(Duration::from_secs(1));
                    let r = runner.clone();
                    scheduler
                        .add(Job::new_repeated_async(every, move |_, _| {
                            let r = r.clone();
                            Box::pin(async move {
                                r.tick().await;
                            })
                        })?)
                        .await?;
                    tracing::info!(job = %spec.name, every_s = every.as_secs(), "scheduled");
                }
                Trigger::Cron(schedule) => {
                    let r = runner.clone();
                    let s = (*schedule).clone();
                    let task = Arc::new(CronTask {
                        name: spec.name.clone(),
                        schedule: (*schedule).clone(),
                        work: Arc::new(move |due| {
                            let (r, s) = (r.clone(), s.clone());
                            Box::pin(async move {
                                r.tick_cron(&s, due).await;
                            })
                        }),
                    });
                    let next = arm(scheduler.clone(), task, self.clock, self.clock.now()).await?;
                    tracing::info!(
                        job = %spec.name,
                        expression = schedule.expression(),
                        timezone = %schedule.timezone(),
                        next = ?next,
                        "scheduled"
                    );
                }
            }
            if spec.run_at_start {
                at_start.push(runner.clone());
            }
            runners.push(runner);
        }
        if let Some(every) = self.watchdog {
            scheduler
                .add(Job::new_repeated_async(every, |_, _| {
                    Box::pin(async {
                        notify::watchdog();
                    })
                })?)
                .await?;
        }
        scheduler.start().await?;
        self.state.set_ready();
        ready();
        if self.watchdog.is_some() {
            notify::watchdog();
        }
        // The start-up runs, one after the other, in the order of the jobs (inbox first).
        let start_up = tokio::spawn(async move {
            for runner in at_start {
                runner.tick().await;
            }
        });

        shutdown.await;
        tracing::info!(
            timeout_s = self.shutdown_timeout.as_secs(),
            "shutting down: no new runs; waiting for the runs going on"
        );
        stop_handle.request();
        self.state.set_stopping();
        notify::stopping();
        if let Err(e) = scheduler.shutdown().await {
            tracing::warn!(error = %e, "stopping the scheduler");
        }
        let all_idle = async {
            for runner in &runners {
                runner.idle().await;
            }
        };
        let running = || -> Vec<&str> {
            runners
                .iter()
                .filter(|r| r.busy.try_lock().is_err())
                .map(|r| r.name.as_str())
                .collect()
        };
        let stopped = tokio::select! {
            waited = tokio::time::timeout(self.shutdown_timeout, all_idle) => match waited {
                Ok(()) => {
                    tracing::info!("stopped");
                    Stopped::Clean
                }
                Err(_) => {
                    tracing::warn!(
                        jobs = ?running(),
                        "shutdown timeout: abandoning the runs still going (a transaction in progress is rolled back, an unsent email stays in the outbox)"
                    );
                    Stopped::TimedOut
                }
            },
            () = force => {
                let jobs = running();
                if jobs.is_empty() {
                    tracing::warn!("forced stop: exiting at once; nothing was running");
                }
                for job in jobs {
                    tracing::warn!(job, abandoned = abandoned(job), "forced stop: exiting at once, abandoning this run");
                }
                Stopped::Forced
            }
        };
        start_up.abort();
        Ok(stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A job that takes `pause`, counting how many of its runs ever overlapped.
    struct Probe {
        runs: AtomicUsize,
        active: AtomicUsize,
        max_active: AtomicUsize,
        fail_first: AtomicUsize,
    }

    impl Probe {
        fn new(fail_first: usize) -> Arc<Probe> {
            Arc::new(Probe {
                runs: AtomicUsize::new(0),
                active: AtomicUsize::new(0),
                max_active: AtomicUsize::new(0),
                fail_first: AtomicUsize::new(fail_first),
            })
        }

        fn work(self: &Arc<Self>, pause: Duration) -> JobWork {
            let probe = self.clone();
            Arc::new(move |_stop| {
                let probe = probe.clone();
                Box::pin(async move {
                    let now = probe.active.fetch_add(1, Ordering::SeqCst) + 1;
                    probe.max_active.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(pause).await;
                    probe.active.fetch_sub(1, Ordering::SeqCst);
                    let run = probe.runs.fetch_add(1, Ordering::SeqCst);
                    if run < probe.fail_first.load(Ordering::SeqCst) {
                        anyhow::bail!("the database is briefly unreachable (run {run})");
                    }
                    Ok(Outcome::Done(Report {
                        summary: serde_json::json!({ "run": run }),
                        text: format!("probe: run {run}"),
                        idle: false,
                    }))
                })
            })
        }
    }

    fn runner(work: JobWork, state: &Arc<State>, stop: Stop) -> Arc<Runner> {
        Arc::new(Runner::new("probe", work, state.clone(), Clock::System, stop))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tick_that_finds_the_previous_run_still_going_is_skipped_and_counted() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(0);
        let r = runner(probe.work(Duration::from_millis(300)), &state, Stop::never());
        let first = tokio::spawn({
            let r = r.clone();
            async move { r.tick().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(r.tick().await, Tick::Busy);
        assert_eq!(first.await.unwrap(), Tick::Ran);
        assert_eq!(r.tick().await, Tick::Ran, "free again once the run ended");
        let stats = state.job("probe");
        assert_eq!((stats.runs, stats.skipped, stats.failures), (2, 1, 0));
        assert_eq!(probe.max_active.load(Ordering::SeqCst), 1);
        assert_eq!(stats.last_report.as_deref(), Some("probe: run 1"));
    }

    #[tokio::test]
    async fn a_failing_run_is_counted_and_the_next_tick_runs_again() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(2);
        let r = runner(probe.work(Duration::ZERO), &state, Stop::never());
        assert_eq!(r.tick().await, Tick::Failed);
        assert_eq!(r.tick().await, Tick::Failed);
        let stats = state.job("probe");
        assert_eq!((stats.failures, stats.consecutive_failures), (2, 2));
        assert!(stats.last_error.unwrap().contains("briefly unreachable (run 1)"));
        assert_eq!(r.tick().await, Tick::Ran);
        let stats = state.job("probe");
        assert_eq!((stats.runs, stats.failures, stats.consecutive_failures), (3, 2, 0));
        assert_eq!(stats.last_ok, Some(true));
        assert_eq!(stats.last_summary, Some(serde_json::json!({ "run": 2 })));
    }

    #[tokio::test]
    async fn no_run_starts_once_a_stop_is_requested() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(0);
        let (handle, stop) = Stop::new();
        let r = runner(probe.work(Duration::ZERO), &state, stop);
        handle.request();
        assert_eq!(r.tick().await, Tick::Stopping);
        assert_eq!(probe.runs.load(Ordering::SeqCst), 0);
    }

    /// A daemon with one job.
    /// A job that starts at once and takes 30 s: still running whenever a test asks the daemon to stop.
    fn thirty_second_run_at_start(probe: &Arc<Probe>) -> JobSpec {
        JobSpec {
            name: "probe".to_owned(),
            trigger: Trigger::Every(Duration::from_secs(60)),
            run_at_start: true,
            work: probe.work(Duration::from_secs(30)),
        }
    }

    fn daemon(spec: JobSpec, state: &Arc<State>, timeout: Duration) -> Daemon {
        Daemon {
            jobs: vec![spec],
            clock: Clock::System,
            state: state.clone(),
            shutdown_timeout: timeout,
            watchdog: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_cron_job_never_overlaps_itself_and_its_passed_fire_times_are_skipped_and_counted() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(0);
        // Every second, each run taking 2.2 s: fire times pass while it runs.
        let spec = JobSpec {
            name: "probe".to_owned(),
            trigger: Trigger::Cron(Box::new(
                CronSchedule::parse("* * * * * *", chrono_tz::Tz::UTC).unwrap(),
            )),
            run_at_start: true,
            work: probe.work(Duration::from_millis(2200)),
        };
        let d = daemon(spec, &state, Duration::from_secs(10));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let daemon = tokio::spawn(d.run(
            async {
                let _ = stop_rx.await;
            },
            std::future::pending(),
            || {},
        ));
        tokio::time::sleep(Duration::from_millis(5500)).await;
        let _ = stop_tx.send(());
        tokio::time::timeout(Duration::from_secs(10), daemon)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(probe.max_active.load(Ordering::SeqCst), 1, "never two runs at once");
        let stats = state.job("probe");
        assert!(stats.runs >= 2, "{stats:?}");
        assert!(stats.skipped >= 2, "fire times passed during 2.2 s runs: {stats:?}");
        assert!(!stats.running, "shutdown waited for the run going on: {stats:?}");
        assert_eq!(probe.active.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_waits_for_the_run_going_on_and_starts_nothing_new() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(0);
        let spec = JobSpec {
            name: "probe".to_owned(),
            trigger: Trigger::Every(Duration::from_secs(1)),
            run_at_start: true,
            work: probe.work(Duration::from_millis(1500)),
        };
        let d = daemon(spec, &state, Duration::from_secs(10));
        let ready = Arc::new(AtomicUsize::new(0));
        let ready_seen = ready.clone();
        let started = Instant::now();
        // Shut down 300 ms in: the start-up run is going on.
        let stopped = d
            .run(
                tokio::time::sleep(Duration::from_millis(300)),
                std::future::pending(),
                move || {
                    ready_seen.fetch_add(1, Ordering::SeqCst);
                },
            )
            .await
            .unwrap();
        assert_eq!(stopped, Stopped::Clean);
        assert_eq!(ready.load(Ordering::SeqCst), 1);
        assert!(started.elapsed() >= Duration::from_millis(1500), "waited for the run");
        assert_eq!(probe.runs.load(Ordering::SeqCst), 1, "and started no other");
        assert_eq!(state.job("probe").runs, 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            probe.runs.load(Ordering::SeqCst),
            1,
            "nothing ran after the daemon returned"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_gives_up_on_a_run_that_outlasts_the_timeout() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(0);
        let spec = thirty_second_run_at_start(&probe);
        let d = daemon(spec, &state, Duration::from_millis(500));
        let started = Instant::now();
        let stopped = d
            .run(
                tokio::time::sleep(Duration::from_millis(200)),
                std::future::pending(),
                || {},
            )
            .await
            .unwrap();
        assert_eq!(stopped, Stopped::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(state.snapshot().stopping);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_forced_stop_during_the_shutdown_wait_returns_at_once_without_the_run_going_on() {
        let state = Arc::new(State::new(chrono::Utc::now()));
        let probe = Probe::new(0);
        let spec = thirty_second_run_at_start(&probe);
        let d = daemon(spec, &state, Duration::from_secs(60));
        let started = Instant::now();
        let stopped = d
            .run(
                tokio::time::sleep(Duration::from_millis(200)),
                tokio::time::sleep(Duration::from_millis(400)),
                || {},
            )
            .await
            .unwrap();
        assert_eq!(stopped, Stopped::Forced);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
