//! The alert half of the storage interface: preferences, alerts stored once
//! with their outbox rows, and the outbox's claims and outcomes. Every test
//! runs on SQLite, and on PostgreSQL when GOALKEEPER_TEST_POSTGRES_URL is set
//! (always, in CI).

#[macro_use]
mod common;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use goalkeeper::domain::alerts::{AlertType, NewAlert};
use goalkeeper::domain::card::GoalCard;
use goalkeeper::domain::delivery::QuietHours;
use goalkeeper::domain::preferences::Preferences;
use goalkeeper::domain::{Email, Goal, GoalId, GoalType, Money, User, UserId};
use goalkeeper::storage::{AlertFilter, AlertStorage, DeliveryStatus, Outcome, PlannedAlert};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap()
}

async fn setup<S: AlertStorage>(store: &S) {
    let users: Vec<User> = ["ana", "ben"]
        .iter()
        .map(|id| User {
            id: UserId::parse(id).unwrap(),
            email: Some(Email::parse(&format!("{id}@example.org")).unwrap()),
            display_name: None,
            timezone: Tz::Europe__Berlin,
        })
        .collect();
    store.upsert_users(&users, now()).await.unwrap();
    for (id, user) in [("ana-bike", "ana"), ("ben-car", "ben")] {
        let goal = Goal::new(
            GoalId::parse(id).unwrap(),
            UserId::parse(user).unwrap(),
            GoalType::Custom,
            "Bike",
            Money::from_cents(100_000),
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            now(),
        );
        store.add_goal(&goal).await.unwrap();
    }
}

fn planned(goal: &str, user: &str, kind: AlertType, occurrence: &str, email: bool) -> PlannedAlert {
    PlannedAlert {
        goal_id: GoalId::parse(goal).unwrap(),
        user_id: UserId::parse(user).unwrap(),
        alert: NewAlert {
            alert_type: kind,
            occurrence: occurrence.into(),
            title: format!("{kind} for {goal}"),
            message: "a message".into(),
            action_url: None,
        },
        card: GoalCard {
            goal_name: "Bike".into(),
            goal_type: "custom".into(),
            target_is_percent: false,
            current: 60_000,
            target: 100_000,
            progress: 0.6,
            on_track: true,
            required_monthly: 4_000,
            projected_completion: None,
        },
        email,
    }
}

async fn preferences_are_the_defaults_until_set_and_read_back_as_set<S: AlertStorage>(store: S) {
    setup(&store).await;
    let got = store.preferences(&["ana"]).await.unwrap();
    assert_eq!(got["ana"], Preferences::default());
    let mut prefs = Preferences {
        quiet_hours: QuietHours::parse("23:30-06:15").unwrap(),
        max_per_day: 2,
        min_gap_hours: 0,
        email_enabled: false,
        ..Preferences::default()
    };
    prefs.enabled.insert(AlertType::Milestone25);
    prefs.enabled.remove(&AlertType::UpdateReminder);
    store
        .set_preferences(&UserId::parse("ana").unwrap(), &prefs, now())
        .await
        .unwrap();
    let got = store.preferences(&["ana", "ben"]).await.unwrap();
    assert_eq!(got["ana"], prefs);
    assert_eq!(got["ben"], Preferences::default());
    assert_eq!(
        got["ana"].quiet_hours.map(|q| q.start),
        NaiveTime::from_hms_opt(23, 30, 0)
    );
    prefs.quiet_hours = None;
    store
        .set_preferences(&UserId::parse("ana").unwrap(), &prefs, now())
        .await
        .unwrap();
    assert_eq!(store.preferences(&["ana"]).await.unwrap()["ana"].quiet_hours, None);
}

async fn an_alert_is_stored_once_and_gets_an_outbox_row_only_when_emailed<S: AlertStorage>(store: S) {
    setup(&store).await;
    let batch = [
        planned("ana-bike", "ana", AlertType::Milestone50, "", true),
        planned("ana-bike", "ana", AlertType::Milestone25, "", false),
        planned("ana-bike", "ana", AlertType::OffTrack, "2026-03", true),
    ];
    assert_eq!(store.record_alerts(&batch, now()).await.unwrap(), 3);
    // Again, and again within a bigger batch: nothing new, no second outbox row.
    assert_eq!(store.record_alerts(&batch, now()).await.unwrap(), 0);
    let more = [
        planned("ana-bike", "ana", AlertType::OffTrack, "2026-04", true),
        batch[0].clone(),
    ];
    assert_eq!(store.record_alerts(&more, now()).await.unwrap(), 1);
    let all = store.list_alerts(AlertFilter::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    let emailed = all.iter().filter(|a| a.delivery.is_some()).count();
    assert_eq!(emailed, 3);
    let m25 = all.iter().find(|a| a.alert_type == "milestone_25").unwrap();
    assert!(m25.delivery.is_none());
    let pending = store
        .list_alerts(AlertFilter {
            status: Some(DeliveryStatus::Pending),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 3);
    assert!(store.mark_read(m25.id, now()).await.unwrap());
    assert!(!store.mark_read(999_999, now()).await.unwrap());
}

async fn a_group_is_claimed_by_one_sender_and_its_outcome_recorded_once<S: AlertStorage>(store: S) {
    setup(&store).await;
    let batch = [
        planned("ana-bike", "ana", AlertType::Milestone50, "", true),
        planned("ana-bike", "ana", AlertType::OffTrack, "2026-03", true),
        planned("ben-car", "ben", AlertType::OffTrack, "2026-03", true),
    ];
    store.record_alerts(&batch, now()).await.unwrap();
    let due = store.due_deliveries(now(), 100).await.unwrap();
    assert_eq!(due.len(), 3);
    assert!(due.iter().all(|d| d.email.is_some() && d.card.is_some()));
    let ana: Vec<i64> = due.iter().filter(|d| d.user_id == "ana").map(|d| d.id).collect();
    let ben: Vec<i64> = due.iter().filter(|d| d.user_id == "ben").map(|d| d.id).collect();
    let groups = vec![
        (ana.clone(), "<m1@example.org>".to_owned()),
        (ben.clone(), "<m2@example.org>".to_owned()),
    ];
    let until = now() + TimeDelta::minutes(10);
    assert_eq!(store.claim(&groups, "one", until, now()).await.unwrap(), vec![0, 1]);
    // A second sender finds nothing to claim, and nothing is due while claimed.
    assert!(store.claim(&groups, "two", until, now()).await.unwrap().is_empty());
    assert!(store.due_deliveries(now(), 100).await.unwrap().is_empty());
    // ana's digest was sent; ben's failed transiently.
    let retry_at = now() + TimeDelta::minutes(1);
    store
        .finish(
            &[
                (ana.clone(), Outcome::Sent),
                (
                    ben.clone(),
                    Outcome::Retry {
                        at: retry_at,
                        error: "451 try later".into(),
                    },
                ),
            ],
            now(),
        )
        .await
        .unwrap();
    // One email to ana (two deliveries, one Message-ID), none to ben.
    let sent = store
        .sent_since(&["ana", "ben"], now() - TimeDelta::days(1))
        .await
        .unwrap();
    assert_eq!(sent.get("ana").map(Vec::len), Some(1));
    assert!(!sent.contains_key("ben"));
    // ben's is due again at its retry time, with its Message-ID and attempt count kept.
    assert!(store.due_deliveries(now(), 100).await.unwrap().is_empty());
    let again = store.due_deliveries(retry_at, 100).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id.as_deref(), Some("<m2@example.org>"));
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].status, DeliveryStatus::Deferred);
}

async fn a_claim_that_ran_out_is_due_again_and_a_deferral_waits_for_its_time<S: AlertStorage>(store: S) {
    setup(&store).await;
    store
        .record_alerts(&[planned("ana-bike", "ana", AlertType::Milestone50, "", true)], now())
        .await
        .unwrap();
    let id = store.due_deliveries(now(), 10).await.unwrap()[0].id;
    let until = now() + TimeDelta::minutes(10);
    store
        .claim(&[(vec![id], "<m@x.org>".into())], "crashed", until, now())
        .await
        .unwrap();
    // The sender crashed: when the claim runs out, the delivery is due again.
    assert!(
        store
            .due_deliveries(until - TimeDelta::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.due_deliveries(until, 10).await.unwrap();
    assert_eq!(due[0].status, DeliveryStatus::Sending);
    assert_eq!(due[0].message_id.as_deref(), Some("<m@x.org>"));
    assert_eq!(
        store
            .claim(
                &[(vec![id], "<m@x.org>".into())],
                "next",
                until + TimeDelta::minutes(10),
                until
            )
            .await
            .unwrap(),
        vec![0]
    );
    store
        .finish(
            &[(
                vec![id],
                Outcome::Failed {
                    error: "550 no such user".into(),
                },
            )],
            until,
        )
        .await
        .unwrap();
    let rows = store.list_alerts(AlertFilter::default()).await.unwrap();
    let d = rows[0].delivery.as_ref().unwrap();
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(d.attempts, 2);
    assert_eq!(d.last_error.as_deref(), Some("550 no such user"));

    store
        .record_alerts(&[planned("ben-car", "ben", AlertType::Milestone50, "", true)], now())
        .await
        .unwrap();
    let id = store.due_deliveries(now(), 10).await.unwrap()[0].id;
    let morning = now() + TimeDelta::hours(8);
    store
        .defer(&[(vec![id], morning, "quiet hours".to_owned())], now())
        .await
        .unwrap();
    assert!(
        store
            .due_deliveries(morning - TimeDelta::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.due_deliveries(morning, 10).await.unwrap().len(), 1);
    let deferred = store
        .list_alerts(AlertFilter {
            status: Some(DeliveryStatus::Deferred),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        deferred[0].delivery.as_ref().unwrap().hold_reason.as_deref(),
        Some("quiet hours")
    );
}

async fn a_users_alerts_are_listed_through_their_goals_newest_first<S: AlertStorage>(store: S) {
    setup(&store).await;
    let first = [
        planned("ana-bike", "ana", AlertType::OffTrack, "2026-02", false),
        planned("ben-car", "ben", AlertType::OffTrack, "2026-02", true),
    ];
    store.record_alerts(&first, now()).await.unwrap();
    let later = [planned("ana-bike", "ana", AlertType::OffTrack, "2026-03", true)];
    store.record_alerts(&later, now() + TimeDelta::hours(1)).await.unwrap();
    let ana = UserId::parse("ana").unwrap();
    let got = store
        .list_alerts(AlertFilter {
            user: Some(&ana),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|a| (a.goal_id.as_str(), a.occurrence.as_str()))
        .collect();
    assert_eq!(seen, [("ana-bike", "2026-03"), ("ana-bike", "2026-02")]);
    let limited = store
        .list_alerts(AlertFilter {
            user: Some(&ana),
            limit: Some(1),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].occurrence, "2026-03");
    let nobody = UserId::parse("cleo").unwrap();
    let none = store
        .list_alerts(AlertFilter {
            user: Some(&nobody),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn one_deferral_call_holds_each_delivery_until_its_own_time_and_leaves_sent_ones_alone<S: AlertStorage>(
    store: S,
) {
    setup(&store).await;
    store
        .record_alerts(
            &[
                planned("ana-bike", "ana", AlertType::Milestone25, "", true),
                planned("ana-bike", "ana", AlertType::Milestone50, "", true),
                planned("ben-car", "ben", AlertType::Milestone25, "", true),
            ],
            now(),
        )
        .await
        .unwrap();
    let due = store.due_deliveries(now(), 10).await.unwrap();
    let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 3);
    // The third is sent before the deferral arrives: a deferral never takes it back.
    store
        .claim(
            &[(vec![ids[2]], "<sent@x>".to_owned())],
            "me",
            now() + TimeDelta::minutes(10),
            now(),
        )
        .await
        .unwrap();
    store.finish(&[(vec![ids[2]], Outcome::Sent)], now()).await.unwrap();
    let morning = now() + TimeDelta::hours(8);
    let evening = now() + TimeDelta::hours(6);
    store
        .defer(
            &[
                (vec![ids[0]], morning, "quiet hours".to_owned()),
                (vec![ids[1], ids[2]], evening, "daily cap".to_owned()),
            ],
            now(),
        )
        .await
        .unwrap();
    let rows = store.list_alerts(AlertFilter::default()).await.unwrap();
    let held = |id: i64| {
        let d = rows
            .iter()
            .filter_map(|r| r.delivery.as_ref())
            .find(|d| d.id == id)
            .unwrap();
        (d.status, d.hold_reason.clone())
    };
    assert_eq!(held(ids[0]), (DeliveryStatus::Deferred, Some("quiet hours".to_owned())));
    assert_eq!(held(ids[1]), (DeliveryStatus::Deferred, Some("daily cap".to_owned())));
    assert_eq!(held(ids[2]), (DeliveryStatus::Sent, None));
    let at_evening: Vec<i64> = store
        .due_deliveries(evening, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(at_evening, [ids[1]]);
    assert_eq!(store.due_deliveries(morning, 10).await.unwrap().len(), 2);
}

on_both_backends!(
    a_users_alerts_are_listed_through_their_goals_newest_first,
    preferences_are_the_defaults_until_set_and_read_back_as_set,
    an_alert_is_stored_once_and_gets_an_outbox_row_only_when_emailed,
    a_group_is_claimed_by_one_sender_and_its_outcome_recorded_once,
    a_claim_that_ran_out_is_due_again_and_a_deferral_waits_for_its_time,
    one_deferral_call_holds_each_delivery_until_its_own_time_and_leaves_sent_ones_alone,
);
