//! The job half of storage: `job_runs`, the pass lock between processes, and the outbox counts and
//! claim release the daemon needs (with a dispatch stopped midway). Every test runs on SQLite, and on PostgreSQL when
//! GOALKEEPER_TEST_POSTGRES_URL is set (always, in CI).

#[macro_use]
mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use goalkeeper::config::Settings;
use goalkeeper::dispatch::{Dispatcher, Mailer, SendFailure};
use goalkeeper::domain::alerts::{AlertType, NewAlert};
use goalkeeper::domain::card::GoalCard;
use goalkeeper::domain::{Email, Goal, GoalId, GoalType, Money, User, UserId};
use goalkeeper::stop::{Stop, StopHandle};
use goalkeeper::storage::{
    AlertStorage, DeliveryStatus, JobKind, JobStorage, PgStore, PlannedAlert, SqliteStore, Storage,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, h, m, 0).unwrap()
}

async fn every_run_is_recorded_and_the_latest_of_each_job_is_listed_with_its_summary<S: JobStorage>(store: S) {
    assert!(store.last_runs().await.unwrap().is_empty());
    assert_eq!(store.last_success(JobKind::Evaluate).await.unwrap(), None);
    let first = store.start_run(JobKind::Evaluate, "host:1", at(6, 0)).await.unwrap();
    store
        .finish_run(first, at(6, 1), true, &json!({ "new_alerts": 2 }), 30)
        .await
        .unwrap();
    let failed = store.start_run(JobKind::Evaluate, "host:1", at(7, 0)).await.unwrap();
    store
        .finish_run(failed, at(7, 0), false, &json!({ "error": "the database is down" }), 30)
        .await
        .unwrap();
    let running = store.start_run(JobKind::Inbox, "host:2", at(7, 30)).await.unwrap();
    assert!(first < failed && failed < running);

    let runs = store.last_runs().await.unwrap();
    let jobs: Vec<&str> = runs.iter().map(|r| r.job.as_str()).collect();
    assert_eq!(jobs, ["evaluate", "inbox"]);
    assert_eq!(runs[0].id, failed);
    assert_eq!(runs[0].ok, Some(false));
    assert_eq!(runs[0].summary, Some(json!({ "error": "the database is down" })));
    assert_eq!(runs[0].started_at, at(7, 0));
    assert_eq!(runs[1].instance, "host:2");
    assert_eq!(
        (runs[1].finished_at, runs[1].ok, runs[1].summary.clone()),
        (None, None, None)
    );
    // The catch-up looks at the last run that succeeded.
    assert_eq!(store.last_success(JobKind::Evaluate).await.unwrap(), Some(at(6, 0)));
    assert_eq!(store.last_success(JobKind::Inbox).await.unwrap(), None);

    // A run finishing 31 days later removes the job's runs finished more than 30 days before it.
    let much_later = at(8, 0) + chrono::TimeDelta::days(31);
    let next = store.start_run(JobKind::Evaluate, "host:1", much_later).await.unwrap();
    store.finish_run(next, much_later, true, &json!({}), 30).await.unwrap();
    assert_eq!(store.last_success(JobKind::Evaluate).await.unwrap(), Some(much_later));
    let runs = store.last_runs().await.unwrap();
    assert_eq!(runs[0].id, next);
    assert_eq!(runs[1].id, running, "other jobs' runs are kept");
    let evaluate_left = store
        .last_runs()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.job == "evaluate")
        .count();
    assert_eq!(evaluate_left, 1);
}

async fn each_instances_latest_run_of_each_job_is_listed_by_job_most_recent_first<S: JobStorage>(store: S) {
    assert!(store.last_runs_by_instance().await.unwrap().is_empty());
    let a1 = store.start_run(JobKind::Inbox, "host:1", at(6, 0)).await.unwrap();
    store
        .finish_run(a1, at(6, 1), true, &json!({ "files": 1 }), 30)
        .await
        .unwrap();
    let b1 = store.start_run(JobKind::Inbox, "host:2", at(6, 5)).await.unwrap();
    store
        .finish_run(b1, at(6, 6), true, &json!({ "files": 0 }), 30)
        .await
        .unwrap();
    let a2 = store.start_run(JobKind::Inbox, "host:1", at(6, 10)).await.unwrap();
    store
        .finish_run(a2, at(6, 11), false, &json!({ "error": "x" }), 30)
        .await
        .unwrap();
    // host:3 died during its run (never finished).
    let c1 = store.start_run(JobKind::Inbox, "host:3", at(6, 7)).await.unwrap();
    let a3 = store.start_run(JobKind::Dispatch, "host:1", at(6, 2)).await.unwrap();
    let b2 = store.start_run(JobKind::Dispatch, "host:2", at(6, 3)).await.unwrap();

    let runs = store.last_runs_by_instance().await.unwrap();
    let seen: Vec<(&str, &str, i64)> = runs
        .iter()
        .map(|r| (r.job.as_str(), r.instance.as_str(), r.id))
        .collect();
    assert_eq!(
        seen,
        [
            ("dispatch", "host:2", b2),
            ("dispatch", "host:1", a3),
            ("inbox", "host:1", a2),
            ("inbox", "host:3", c1),
            ("inbox", "host:2", b1),
        ]
    );
    assert_eq!(runs[2].ok, Some(false));
    assert_eq!(runs[3].finished_at, None);
    assert_eq!(runs[4].summary, Some(json!({ "files": 0 })));
    // The per-job view is unchanged: the latest run of each job, whoever ran it.
    let latest: Vec<i64> = store.last_runs().await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(latest, [b2, a2.max(c1)]);
}

async fn delivery_counts_cover_every_status_and_a_released_claim_is_pending_again_with_its_attempt_given_back<
    S: AlertStorage,
>(
    store: S,
) {
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|n| *n == 0), "{counts:?}");

    seed_alert(&store, "ana").await;
    assert_eq!(store.delivery_counts().await.unwrap()[&DeliveryStatus::Pending], 1);

    let due = store.due_deliveries(at(6, 0), 10).await.unwrap();
    let ids = vec![due[0].id];
    let claimed = store
        .claim(
            &[(ids.clone(), "<m1@example.org>".to_owned())],
            "host:1",
            at(6, 10),
            at(6, 0),
        )
        .await
        .unwrap();
    assert_eq!(claimed, [0]);
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts[&DeliveryStatus::Pending], counts[&DeliveryStatus::Sending]),
        (0, 1)
    );

    // Another instance cannot give back what it did not claim.
    store.release_claims(&ids, "host:2").await.unwrap();
    assert_eq!(store.delivery_counts().await.unwrap()[&DeliveryStatus::Sending], 1);
    store.release_claims(&ids, "host:1").await.unwrap();
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts[&DeliveryStatus::Pending], counts[&DeliveryStatus::Sending]),
        (1, 0)
    );
    let again = store.due_deliveries(at(6, 1), 10).await.unwrap();
    assert_eq!(again[0].attempts, 0, "the attempt that never happened is not counted");
    assert_eq!(
        again[0].message_id.as_deref(),
        Some("<m1@example.org>"),
        "same email, same Message-ID"
    );
}

/// `user` (with an email address) and a goal of theirs that raised one emailed alert: one pending delivery.
async fn seed_alert<S: AlertStorage>(store: &S, user: &str) {
    let person = User {
        id: UserId::parse(user).unwrap(),
        email: Some(Email::parse(&format!("{user}@example.org")).unwrap()),
        display_name: None,
        timezone: Tz::UTC,
    };
    store.upsert_users(&[person], at(5, 0)).await.unwrap();
    let goal = Goal::new(
        GoalId::parse(&format!("{user}-bike")).unwrap(),
        UserId::parse(user).unwrap(),
        GoalType::Custom,
        "New bike",
        Money::from_cents(100_000),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        at(5, 0),
    );
    store.add_goal(&goal).await.unwrap();
    let card = GoalCard {
        goal_name: "New bike".to_owned(),
        goal_type: "custom".to_owned(),
        target_is_percent: false,
        current: 50_000,
        target: 100_000,
        progress: 0.5,
        on_track: true,
        required_monthly: 0,
        projected_completion: None,
    };
    let alert = PlannedAlert {
        goal_id: goal.id.clone(),
        user_id: goal.user_id.clone(),
        alert: NewAlert {
            alert_type: AlertType::Milestone50,
            occurrence: String::new(),
            title: "Halfway there: New bike".to_owned(),
            message: "You are halfway.".to_owned(),
            action_url: None,
        },
        card,
        email: true,
    };
    assert_eq!(store.record_alerts(&[alert], at(5, 0)).await.unwrap(), 1);
}

/// A mailer that takes its time and, on its first send, asks the dispatch to stop.
struct StoppingMailer {
    stop: StopHandle,
    sent: std::sync::Mutex<usize>,
}

impl Mailer for StoppingMailer {
    async fn send(&self, _message: lettre::Message) -> Result<(), SendFailure> {
        self.stop.request();
        tokio::time::sleep(Duration::from_millis(300)).await;
        *self.sent.lock().unwrap() += 1;
        Ok(())
    }
}

async fn a_dispatch_asked_to_stop_finishes_the_send_under_way_and_gives_back_the_emails_not_started<S: AlertStorage>(
    store: S,
) {
    seed_alert(&store, "ana").await;
    seed_alert(&store, "ben").await;
    let settings = Settings::builtin().unwrap().email;
    let (handle, stop) = Stop::new();
    let mailer = Arc::new(StoppingMailer {
        stop: handle,
        sent: std::sync::Mutex::new(0),
    });
    let dispatcher = Dispatcher {
        mailer: mailer.clone(),
        sender: goalkeeper::email::render::Sender::from_settings(&settings).unwrap(),
        settings,
        instance: "host:1".to_owned(),
        // One send at a time: the second email waits for the first, and finds the stop requested.
        concurrency: 1,
    };
    // Noon: outside the default quiet hours (22:00-08:00).
    let summary = dispatcher.run_until(&store, at(12, 0), &stop).await.unwrap();
    assert_eq!((summary.emails_sent, summary.alerts_sent), (1, 1));
    assert_eq!(*mailer.sent.lock().unwrap(), 1);
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        (
            counts[&DeliveryStatus::Sent],
            counts[&DeliveryStatus::Pending],
            counts[&DeliveryStatus::Sending]
        ),
        (1, 1, 0)
    );
    let left = store.due_deliveries(at(12, 1), 10).await.unwrap();
    assert_eq!(left[0].attempts, 0);
    // The next dispatch sends it, once.
    let summary = dispatcher.run_until(&store, at(12, 1), &Stop::never()).await.unwrap();
    assert_eq!(summary.emails_sent, 1);
    assert_eq!(store.delivery_counts().await.unwrap()[&DeliveryStatus::Sent], 2);
}

async fn old_job_runs_are_pruned_in_batches_keeping_each_jobs_latest_and_dropping_runs_that_never_finished<
    S: JobStorage,
>(
    store: S,
) {
    let day = |d: i64| at(6, 0) + chrono::TimeDelta::days(d);
    let mut ids = Vec::new();
    for d in 0..4 {
        let id = store.start_run(JobKind::Inbox, "host:1", day(d)).await.unwrap();
        store.finish_run(id, day(d), true, &json!({}), 1000).await.unwrap();
        ids.push(id);
    }
    // A process that died during its run: never finished.
    store.start_run(JobKind::Dispatch, "host:2", day(1)).await.unwrap();
    let dispatch = store.start_run(JobKind::Dispatch, "host:2", day(2)).await.unwrap();
    store
        .finish_run(dispatch, day(2), true, &json!({}), 1000)
        .await
        .unwrap();
    // Only the evaluate job's one, old run: it stays, being its latest.
    let evaluate = store.start_run(JobKind::Evaluate, "host:1", day(0)).await.unwrap();
    store
        .finish_run(evaluate, day(0), true, &json!({}), 1000)
        .await
        .unwrap();

    // Before day 3: inbox runs of days 0..2 and the dead dispatch run, two at a time.
    assert_eq!(store.prune_job_runs(day(3), 2).await.unwrap(), 2);
    assert_eq!(store.prune_job_runs(day(3), 2).await.unwrap(), 2);
    assert_eq!(store.prune_job_runs(day(3), 2).await.unwrap(), 0);
    let mut latest: Vec<i64> = store.last_runs().await.unwrap().iter().map(|r| r.id).collect();
    latest.sort();
    let mut want = vec![ids[3], dispatch, evaluate];
    want.sort();
    assert_eq!(latest, want);
    // Everything is old now, but each job's latest run stays.
    assert_eq!(store.prune_job_runs(day(100), 500).await.unwrap(), 0);
    assert_eq!(store.last_success(JobKind::Evaluate).await.unwrap(), Some(day(0)));
}

on_both_backends!(
    old_job_runs_are_pruned_in_batches_keeping_each_jobs_latest_and_dropping_runs_that_never_finished,
    every_run_is_recorded_and_the_latest_of_each_job_is_listed_with_its_summary,
    each_instances_latest_run_of_each_job_is_listed_by_job_most_recent_first,
    delivery_counts_cover_every_status_and_a_released_claim_is_pending_again_with_its_attempt_given_back,
    a_dispatch_asked_to_stop_finishes_the_send_under_way_and_gives_back_the_emails_not_started,
);

/// Two stores on one database (two processes, as far as the lock can tell).
async fn the_pass_lock_keeps_a_second_holder_out_until_it_is_released<S: JobStorage>(
    a: S,
    b: S,
    dispatch_locked: bool,
) {
    let held = a
        .lock_pass(JobKind::Inbox, false)
        .await
        .unwrap()
        .expect("free at first");
    assert!(b.lock_pass(JobKind::Inbox, false).await.unwrap().is_none(), "held by a");
    assert_eq!(
        b.lock_pass(JobKind::Dispatch, false).await.unwrap().is_none(),
        dispatch_locked,
        "the dispatch lock"
    );
    held.release().await;
    let again = b.lock_pass(JobKind::Inbox, false).await.unwrap().expect("free again");
    // A waiting holder gets the lock as soon as it is released.
    let waiter = tokio::spawn(async move { a.lock_pass(JobKind::Inbox, true).await.unwrap().is_some() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "it waits");
    again.release().await;
    assert!(
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .unwrap()
            .unwrap()
    );
}

mod pass_lock {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_locks_every_job_with_a_file_beside_the_database() {
        let (a, dir) = common::sqlite_store().await;
        let b = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("gk.db").display()))
            .await
            .unwrap();
        the_pass_lock_keeps_a_second_holder_out_until_it_is_released(a, b, true).await;
        assert!(dir.path().join("gk.db.lock").is_file());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_locks_the_inbox_and_the_time_based_pass_with_advisory_locks_and_not_the_dispatch() {
        let Some(url) = common::postgres_url() else { return };
        let (a, schema) = common::pg_store(&url).await;
        let b = PgStore::connect(&schema.url).await.unwrap();
        the_pass_lock_keeps_a_second_holder_out_until_it_is_released(a, b.clone(), false).await;
        b.close().await;
        schema.drop().await;
    }
}
