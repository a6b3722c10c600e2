//! The time-based pass pages through users and their goals (issue 16): however small the page,
//! it raises and stores exactly the alerts and deliveries of a pass that reads every goal at
//! once. Runs on SQLite, and on PostgreSQL when GOALKEEPER_TEST_POSTGRES_URL is set.

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use goalkeeper::domain::goal::TrackingFrequency;
use goalkeeper::domain::{Email, Goal, GoalId, GoalType, Money, User, UserId};
use goalkeeper::evaluate::time_pass_paged;
use goalkeeper::goals::Alerter;
use goalkeeper::storage::{AlertFilter, AlertStorage, Storage};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// 23 users in several zones, each with goals whose reminders are due or whose deadlines are near
/// (and some with neither).
async fn setup<S: Storage>(store: &S) {
    let zones = [
        Tz::Europe__Berlin,
        Tz::America__New_York,
        Tz::Pacific__Auckland,
        Tz::UTC,
    ];
    let users: Vec<User> = (0..23)
        .map(|i| User {
            id: UserId::parse(&format!("u{i:03}")).unwrap(),
            email: Some(Email::parse(&format!("u{i:03}@example.org")).unwrap()),
            display_name: None,
            timezone: zones[i % zones.len()],
        })
        .collect();
    store.upsert_users(&users, now()).await.unwrap();
    let mut goals = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for g in 0..(i % 3 + 1) {
            let mut goal = Goal::new(
                GoalId::parse(&format!("{}-g{g}", user.id)).unwrap(),
                user.id.clone(),
                GoalType::EmergencyFund,
                "Rainy day",
                Money::from_cents(1_000_000),
                day("2026-01-01"),
                now(),
            );
            goal.tracking_frequency = TrackingFrequency::Monthly;
            goal.reminder_enabled = (i + g) % 4 != 0;
            goal.reminder_day = [1, 5, 28][g % 3];
            goal.target_date = match (i + g) % 3 {
                0 => Some(day("2026-03-25")),
                1 => Some(day("2026-02-01")),
                _ => None,
            };
            goals.push(goal);
        }
    }
    store.upsert_goals(&goals).await.unwrap();
}

/// Every alert with its delivery, without database ids.
async fn stored<S: AlertStorage>(store: &S) -> Vec<String> {
    let mut rows: Vec<String> = store
        .list_alerts(AlertFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|a| {
            let delivery = a.delivery.map(|d| (d.status, d.due_at, d.attempts, d.hold_reason));
            format!(
                "{} {} {} {} {} {:?} {:?}",
                a.goal_id, a.alert_type, a.occurrence, a.title, a.message, a.action_url, delivery
            )
        })
        .collect();
    rows.sort();
    rows
}

async fn pass<S: AlertStorage>(store: &S, page: i64) -> (goalkeeper::evaluate::PassSummary, Vec<String>) {
    setup(store).await;
    let mut alerter = Alerter::new("https://goalkeeper.example");
    let summary = time_pass_paged(store, &mut alerter, now(), page).await.unwrap();
    (summary, stored(store).await)
}

async fn pages_of_one_and_of_everything_agree<S: AlertStorage>(small: S, whole: S) {
    let (small_summary, small_alerts) = pass(&small, 1).await;
    let (whole_summary, whole_alerts) = pass(&whole, 1_000).await;
    assert!(
        whole_summary.new_alerts > 10,
        "the scenario raises alerts: {whole_summary:?}"
    );
    assert_eq!(small_summary, whole_summary);
    assert_eq!(small_alerts, whole_alerts);
    // A second pass raises nothing new, paged or not.
    let mut alerter = Alerter::new("https://goalkeeper.example");
    let again = time_pass_paged(&small, &mut alerter, now(), 2).await.unwrap();
    assert_eq!(again.new_alerts, 0);
}

#[tokio::test]
async fn a_pass_one_user_at_a_time_stores_what_a_pass_over_every_goal_stores_on_sqlite() {
    let (small, _a) = common::sqlite_store().await;
    let (whole, _b) = common::sqlite_store().await;
    pages_of_one_and_of_everything_agree(small, whole).await;
}

#[tokio::test]
async fn a_pass_one_user_at_a_time_stores_what_a_pass_over_every_goal_stores_on_postgres() {
    let Some(url) = common::postgres_url() else { return };
    let (small, a) = common::pg_store(&url).await;
    let (whole, b) = common::pg_store(&url).await;
    pages_of_one_and_of_everything_agree(small.clone(), whole.clone()).await;
    small.close().await;
    whole.close().await;
    a.drop().await;
    b.drop().await;
}
