//! The goal half of the storage interface: goals with their links, and
//! progress entries. Every test runs on SQLite, and on PostgreSQL when
//! GOALKEEPER_TEST_POSTGRES_URL is set (always, in CI).

#[macro_use]
mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use goalkeeper::domain::goal::{
    GoalLinks, NewProgress, ProgressEntry, ProgressSource, RecurrencePeriod, TrackingFrequency,
};
use goalkeeper::domain::{Email, Goal, GoalId, GoalStatus, GoalType, Money, Period, User, UserId};
use goalkeeper::storage::{AddOutcome, Storage};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap()
}

fn later() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 15).unwrap()
}

fn user(id: &str) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        email: Some(Email::parse(&format!("{id}@example.org")).unwrap()),
        display_name: Some(format!("User {id}")),
        timezone: Tz::Europe__Berlin,
    }
}

async fn users<S: Storage>(store: &S, ids: &[&str]) {
    let all: Vec<User> = ids.iter().map(|id| user(id)).collect();
    store.upsert_users(&all, now()).await.unwrap();
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn period(s: &str) -> Period {
    s.parse().unwrap()
}

fn gid(id: &str) -> GoalId {
    GoalId::parse(id).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A plain active goal: no links, no deadline, defaults everywhere.
fn goal(id: &str, user: &str, goal_type: GoalType) -> Goal {
    let user = UserId::parse(user).unwrap();
    Goal::new(
        gid(id),
        user,
        goal_type,
        format!("Goal {id}"),
        Money::from_cents(1_000_000),
        day(2025, 1, 1),
        now(),
    )
}

/// A goal with every optional field set and every default changed.
fn everything(id: &str, user: &str) -> Goal {
    Goal {
        id: gid(id),
        user_id: UserId::parse(user).unwrap(),
        name: "Credit card paid off".into(),
        description: Some("Pay the card down to zero, then keep it there".into()),
        goal_type: GoalType::DebtPayoff,
        target: Money::from_cents(420_000),
        target_date: Some(day(2026, 3, 31)),
        start_date: day(2025, 1, 15),
        // Links are a set: they come back sorted, so they are given sorted here.
        links: GoalLinks {
            accounts: strings(&["card"]),
            categories: strings(&["credit_card", "dining"]),
        },
        original_balance: Some(Money::from_cents(420_000)),
        is_recurring: true,
        recurrence_period: Some(RecurrencePeriod::Quarterly),
        tracking_frequency: TrackingFrequency::Biweekly,
        reminder_enabled: false,
        reminder_day: 28,
        status: GoalStatus::Paused,
        completed_at: Some(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap()),
        template_id: Some("debt_free".into()),
        created_at: Utc.with_ymd_and_hms(2025, 1, 15, 8, 0, 1).unwrap(),
        updated_at: later(),
    }
}

fn entry(goal: &str, p: &str, cents: i64, source: ProgressSource) -> NewProgress {
    NewProgress {
        goal_id: gid(goal),
        period: period(p),
        value: Money::from_cents(cents),
        contribution: Money::from_cents(cents / 10),
        progress: cents as f64 / 1_000_000.0,
        on_track: cents % 2 == 0,
        off_track_streak: u32::from(cents % 2 != 0),
        source,
        snapshot_id: None,
        note: None,
        debt_seen: Default::default(),
    }
}

fn sync(goal: &str, p: &str, cents: i64) -> NewProgress {
    entry(goal, p, cents, ProgressSource::BudgetSync)
}

fn manual(goal: &str, p: &str, cents: i64) -> NewProgress {
    entry(goal, p, cents, ProgressSource::Manual)
}

/// (period, source, value in cents) of each entry, in the order stored.
fn steps(history: &[ProgressEntry]) -> Vec<(String, &'static str, i64)> {
    history
        .iter()
        .map(|e| (e.period.to_string(), e.source.as_str(), e.value.cents()))
        .collect()
}

fn ids(goals: &[Goal]) -> Vec<&str> {
    goals.iter().map(|g| g.id.as_str()).collect()
}

async fn a_goal_reads_back_with_its_links_and_every_field<S: Storage>(store: S) {
    users(&store, &["ana", "ben"]).await;
    let full = everything("ana-card", "ana");
    let plain = goal("ben-fund", "ben", GoalType::EmergencyFund);
    assert_eq!(store.add_goal(&full).await.unwrap(), AddOutcome::Created);
    assert_eq!(store.add_goal(&plain).await.unwrap(), AddOutcome::Created);

    assert_eq!(store.get_goal(&gid("ana-card")).await.unwrap(), Some(full.clone()));
    assert_eq!(store.get_goal(&gid("ben-fund")).await.unwrap(), Some(plain.clone()));
    assert_eq!(store.get_goal(&gid("nobody")).await.unwrap(), None);
    assert_eq!(store.list_goals(None, None).await.unwrap(), [full, plain]);

    // Percent targets (savings_rate, in hundredths) and large amounts are kept exactly.
    let mut rate = goal("ana-rate", "ana", GoalType::SavingsRate);
    rate.target = Money::from_cents(2_050);
    rate.recurrence_period = Some(RecurrencePeriod::Monthly);
    let mut big = goal("ana-big", "ana", GoalType::RetirementSavings);
    big.target = Money::from_cents(99_999_999_999_999_999);
    big.links.accounts = strings(&["401k", "ira", "pension"]);
    for g in [&rate, &big] {
        store.add_goal(g).await.unwrap();
        assert_eq!(store.get_goal(&g.id).await.unwrap().as_ref(), Some(g));
    }
}

async fn a_goal_added_twice_is_refused_and_the_first_kept<S: Storage>(store: S) {
    users(&store, &["ana"]).await;
    let first = everything("ana-card", "ana");
    store.add_goal(&first).await.unwrap();
    let mut second = goal("ana-card", "ana", GoalType::SavingsTarget);
    second.links.accounts = strings(&["efund"]);
    assert_eq!(store.add_goal(&second).await.unwrap(), AddOutcome::AlreadyExists);
    assert_eq!(store.get_goal(&gid("ana-card")).await.unwrap(), Some(first));
    assert_eq!(store.list_goals(None, None).await.unwrap().len(), 1);
}

async fn upserting_goals_creates_new_ones_and_replaces_existing_ones_with_their_links<S: Storage>(store: S) {
    users(&store, &["ana", "ben"]).await;
    let mut old = goal("ana-house", "ana", GoalType::DownPayment);
    old.links = GoalLinks {
        accounts: strings(&["house", "savings"]),
        categories: strings(&["down_payment"]),
    };
    store.add_goal(&old).await.unwrap();

    let mut changed = old.clone();
    changed.name = "Bigger house".into();
    changed.target = Money::from_cents(9_000_000);
    changed.target_date = Some(day(2028, 12, 31));
    changed.links = GoalLinks {
        accounts: strings(&["brokerage"]),
        categories: vec![],
    };
    changed.updated_at = later();
    let new = everything("ben-card", "ben");
    let counts = store.upsert_goals(&[changed.clone(), new.clone()]).await.unwrap();
    assert_eq!((counts.created, counts.updated), (1, 1));
    // The links were replaced, not merged.
    assert_eq!(store.get_goal(&gid("ana-house")).await.unwrap(), Some(changed.clone()));
    assert_eq!(store.get_goal(&gid("ben-card")).await.unwrap(), Some(new.clone()));

    // Upserting the same goals again only updates; dropping every link is a change too.
    changed.links = GoalLinks::default();
    let counts = store.upsert_goals(&[changed.clone(), new.clone()]).await.unwrap();
    assert_eq!((counts.created, counts.updated), (0, 2));
    assert_eq!(store.list_goals(None, None).await.unwrap(), [changed, new]);

    let counts = store.upsert_goals(&[]).await.unwrap();
    assert_eq!((counts.created, counts.updated), (0, 0));
}

async fn updating_a_goal_saves_it_and_a_missing_goal_is_reported_not_created<S: Storage>(store: S) {
    users(&store, &["ana"]).await;
    let missing = goal("ana-ghost", "ana", GoalType::Custom);
    assert!(!store.update_goal(&missing).await.unwrap());
    assert_eq!(store.get_goal(&gid("ana-ghost")).await.unwrap(), None);
    assert_eq!(store.list_goals(None, None).await.unwrap(), []);

    let mut g = goal("ana-fund", "ana", GoalType::EmergencyFund);
    g.links.categories = strings(&["emergency_fund"]);
    store.add_goal(&g).await.unwrap();
    g.status = GoalStatus::Completed;
    g.completed_at = Some(later());
    g.updated_at = later();
    g.links = GoalLinks {
        accounts: strings(&["efund"]),
        categories: vec![],
    };
    assert!(store.update_goal(&g).await.unwrap());
    assert_eq!(store.get_goal(&gid("ana-fund")).await.unwrap(), Some(g));
}

async fn deleting_a_goal_removes_it_with_its_links_and_progress<S: Storage>(store: S) {
    users(&store, &["ana"]).await;
    let mut doomed = goal("ana-doomed", "ana", GoalType::SavingsTarget);
    doomed.links = GoalLinks {
        accounts: strings(&["efund"]),
        categories: strings(&["vacation"]),
    };
    let kept = goal("ana-kept", "ana", GoalType::SavingsTarget);
    store.add_goal(&doomed).await.unwrap();
    store.add_goal(&kept).await.unwrap();
    for id in ["ana-doomed", "ana-kept"] {
        store
            .replace_sync_progress(
                &gid(id),
                period("2025-01"),
                &[sync(id, "2025-01", 100)],
                &[],
                None,
                now(),
            )
            .await
            .unwrap();
        store
            .add_progress(&manual(id, "2025-02", 200), &[], now())
            .await
            .unwrap();
    }

    assert!(store.delete_goal(&gid("ana-doomed")).await.unwrap());
    assert_eq!(store.get_goal(&gid("ana-doomed")).await.unwrap(), None);
    assert_eq!(store.progress_history(&gid("ana-doomed")).await.unwrap(), []);
    assert!(!store.delete_goal(&gid("ana-doomed")).await.unwrap());
    // The other goal keeps its entries.
    assert_eq!(
        steps(&store.progress_history(&gid("ana-kept")).await.unwrap()),
        [
            ("2025-01".to_owned(), "budget_sync", 100),
            ("2025-02".to_owned(), "manual", 200)
        ]
    );
    // Nothing of it is left behind: the same id starts afresh.
    let again = goal("ana-doomed", "ana", GoalType::SavingsTarget);
    assert_eq!(store.add_goal(&again).await.unwrap(), AddOutcome::Created);
    assert_eq!(store.get_goal(&gid("ana-doomed")).await.unwrap(), Some(again));
    assert_eq!(store.progress_history(&gid("ana-doomed")).await.unwrap(), []);
    assert_eq!(
        ids(&store.list_goals(None, None).await.unwrap()),
        ["ana-doomed", "ana-kept"]
    );
}

async fn goals_are_listed_by_user_then_id_and_filtered_by_user_and_status<S: Storage>(store: S) {
    users(&store, &["ana", "ben", "chen"]).await;
    let with = |id: &str, user: &str, status: GoalStatus| {
        let mut g = goal(id, user, GoalType::SavingsTarget);
        g.status = status;
        g
    };
    let goals = [
        with("z-ben-active", "ben", GoalStatus::Active),
        with("ana-paused", "ana", GoalStatus::Paused),
        with("b-ana-active", "ana", GoalStatus::Active),
        with("a-ben-done", "ben", GoalStatus::Completed),
        with("a-ana-gone", "ana", GoalStatus::Abandoned),
    ];
    for g in &goals {
        store.add_goal(g).await.unwrap();
    }
    let ana = UserId::parse("ana").unwrap();
    let ben = UserId::parse("ben").unwrap();
    let chen = UserId::parse("chen").unwrap();
    let list = |user: Option<&UserId>, status: Option<GoalStatus>| {
        let store = store.clone();
        let user = user.cloned();
        async move {
            store
                .list_goals(user.as_ref(), status)
                .await
                .unwrap()
                .into_iter()
                .map(|g| g.id.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(None, None).await,
        ["a-ana-gone", "ana-paused", "b-ana-active", "a-ben-done", "z-ben-active"]
    );
    assert_eq!(
        list(Some(&ana), None).await,
        ["a-ana-gone", "ana-paused", "b-ana-active"]
    );
    assert_eq!(
        list(None, Some(GoalStatus::Active)).await,
        ["b-ana-active", "z-ben-active"]
    );
    assert_eq!(list(Some(&ben), Some(GoalStatus::Completed)).await, ["a-ben-done"]);
    assert_eq!(list(Some(&ana), Some(GoalStatus::Paused)).await, ["ana-paused"]);
    assert_eq!(list(Some(&ben), Some(GoalStatus::Paused)).await, Vec::<String>::new());
    assert_eq!(list(Some(&chen), None).await, Vec::<String>::new());
    assert_eq!(
        list(Some(&UserId::parse("nobody").unwrap()), None).await,
        Vec::<String>::new()
    );
    // Links come with listed goals too.
    let mut linked = with("chen-401k", "chen", GoalStatus::Active);
    linked.links.accounts = strings(&["401k"]);
    store.add_goal(&linked).await.unwrap();
    assert_eq!(store.list_goals(Some(&chen), None).await.unwrap(), [linked]);
}

async fn progress_entries_come_back_by_period_with_a_months_manual_value_last<S: Storage>(store: S) {
    users(&store, &["ana"]).await;
    store
        .add_goal(&goal("ana-bike", "ana", GoalType::Custom))
        .await
        .unwrap();
    let g = gid("ana-bike");
    let mut first = manual("ana-bike", "2025-03", 300_000);
    first.note = Some("birthday money".into());
    first.contribution = Money::from_cents(-12_345);
    first.progress = 0.3;
    first.on_track = false;
    first.off_track_streak = 1;
    store.add_progress(&first, &[], now()).await.unwrap();
    store
        .add_progress(&manual("ana-bike", "2025-01", 100_000), &[], now())
        .await
        .unwrap();
    store
        .replace_sync_progress(
            &g,
            period("2025-03"),
            &[sync("ana-bike", "2025-03", 350_000)],
            &[],
            None,
            later(),
        )
        .await
        .unwrap();
    store
        .add_progress(&manual("ana-bike", "2025-02", 200_000), &[], now())
        .await
        .unwrap();

    let history = store.progress_history(&g).await.unwrap();
    assert_eq!(
        steps(&history),
        [
            ("2025-01".to_owned(), "manual", 100_000),
            ("2025-02".to_owned(), "manual", 200_000),
            // Within a month the sync entry comes first, so a value recorded
            // by hand is the month's latest word.
            ("2025-03".to_owned(), "budget_sync", 350_000),
            ("2025-03".to_owned(), "manual", 300_000),
        ]
    );
    // Every field of an entry reads back as stored.
    let e = &history[3];
    assert_eq!(
        e,
        &ProgressEntry {
            id: e.id,
            goal_id: gid("ana-bike"),
            period: period("2025-03"),
            value: Money::from_cents(300_000),
            contribution: Money::from_cents(-12_345),
            progress: 0.3,
            on_track: false,
            off_track_streak: 1,
            principal_paid: None,
            interest_paid: None,
            source: ProgressSource::Manual,
            snapshot_id: None,
            recorded_at: now(),
            note: Some("birthday money".into()),
        }
    );
    // The sync entry, recorded later, is the month's first.
    assert_eq!(history[2].recorded_at, later());
    // Ids grow in the order recorded.
    let by_id: Vec<i64> = {
        let mut v: Vec<(i64, i64)> = history.iter().map(|e| (e.id, e.value.cents())).collect();
        v.sort();
        v.into_iter().map(|(_, c)| c).collect()
    };
    assert_eq!(by_id, [300_000, 100_000, 350_000, 200_000]);
    assert_eq!(store.progress_history(&gid("nobody")).await.unwrap(), []);
}

async fn a_sync_replaces_only_budget_sync_entries_from_its_period_on<S: Storage>(store: S) {
    users(&store, &["ana"]).await;
    store
        .add_goal(&goal("ana-fund", "ana", GoalType::EmergencyFund))
        .await
        .unwrap();
    let g = gid("ana-fund");
    let first: Vec<NewProgress> = ["2025-01", "2025-02", "2025-03", "2025-04"]
        .iter()
        .enumerate()
        .map(|(i, p)| sync("ana-fund", p, 100_000 * (i as i64 + 1)))
        .collect();
    store
        .replace_sync_progress(&g, period("2025-01"), &first, &[], None, now())
        .await
        .unwrap();
    store
        .add_progress(&manual("ana-fund", "2025-02", 222_222), &[], now())
        .await
        .unwrap();
    store
        .add_progress(&manual("ana-fund", "2025-04", 444_444), &[], now())
        .await
        .unwrap();

    // From March on: March and a new May replace March and April; the manual
    // entries and the sync entries before March stay.
    let mut march = sync("ana-fund", "2025-03", 333_000);
    march.note = Some("recomputed after a correction".into());
    store
        .replace_sync_progress(
            &g,
            period("2025-03"),
            &[march, sync("ana-fund", "2025-05", 555_000)],
            &[],
            None,
            later(),
        )
        .await
        .unwrap();
    let history = store.progress_history(&g).await.unwrap();
    assert_eq!(
        steps(&history),
        [
            ("2025-01".to_owned(), "budget_sync", 100_000),
            ("2025-02".to_owned(), "budget_sync", 200_000),
            ("2025-02".to_owned(), "manual", 222_222),
            ("2025-03".to_owned(), "budget_sync", 333_000),
            ("2025-04".to_owned(), "manual", 444_444),
            ("2025-05".to_owned(), "budget_sync", 555_000),
        ]
    );
    let recorded: Vec<DateTime<Utc>> = history.iter().map(|e| e.recorded_at).collect();
    assert_eq!(recorded, [now(), now(), now(), later(), now(), later()]);
    assert_eq!(history[3].note.as_deref(), Some("recomputed after a correction"));

    // Nothing from January on: only the manual entries are left.
    store
        .replace_sync_progress(&g, period("2025-01"), &[], &[], None, later())
        .await
        .unwrap();
    assert_eq!(
        steps(&store.progress_history(&g).await.unwrap()),
        [
            ("2025-02".to_owned(), "manual", 222_222),
            ("2025-04".to_owned(), "manual", 444_444),
        ]
    );
    // No completion asked for: the goal is untouched.
    let stored = store.get_goal(&g).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.completed_at), (GoalStatus::Active, None));
}

async fn a_sync_marks_completion_only_for_an_active_goal<S: Storage>(store: S) {
    users(&store, &["ana"]).await;
    let earlier = Utc.with_ymd_and_hms(2025, 11, 30, 12, 0, 0).unwrap();
    let with = |id: &str, status: GoalStatus| {
        let mut g = goal(id, "ana", GoalType::SavingsTarget);
        g.status = status;
        if status == GoalStatus::Completed {
            g.completed_at = Some(earlier);
        }
        g
    };
    let goals = [
        with("active", GoalStatus::Active),
        with("paused", GoalStatus::Paused),
        with("completed", GoalStatus::Completed),
        with("abandoned", GoalStatus::Abandoned),
    ];
    for g in &goals {
        store.add_goal(g).await.unwrap();
        store
            .replace_sync_progress(
                &g.id,
                period("2025-01"),
                &[sync(g.id.as_str(), "2025-01", 1_000_000)],
                &[],
                Some(now()),
                later(),
            )
            .await
            .unwrap();
        // The entries are stored whatever the status.
        assert_eq!(
            steps(&store.progress_history(&g.id).await.unwrap()),
            [("2025-01".to_owned(), "budget_sync", 1_000_000)],
            "{}",
            g.id
        );
    }
    let mut done = goals[0].clone();
    done.status = GoalStatus::Completed;
    done.completed_at = Some(now());
    done.updated_at = later();
    assert_eq!(store.get_goal(&gid("active")).await.unwrap(), Some(done));
    // Not active: nothing changes, not even completed_at of a completed goal.
    for g in &goals[1..] {
        assert_eq!(store.get_goal(&g.id).await.unwrap().as_ref(), Some(g), "{}", g.id);
    }
}

on_both_backends!(
    a_goal_reads_back_with_its_links_and_every_field,
    a_goal_added_twice_is_refused_and_the_first_kept,
    upserting_goals_creates_new_ones_and_replaces_existing_ones_with_their_links,
    updating_a_goal_saves_it_and_a_missing_goal_is_reported_not_created,
    deleting_a_goal_removes_it_with_its_links_and_progress,
    goals_are_listed_by_user_then_id_and_filtered_by_user_and_status,
    progress_entries_come_back_by_period_with_a_months_manual_value_last,
    a_sync_replaces_only_budget_sync_entries_from_its_period_on,
    a_sync_marks_completion_only_for_an_active_goal,
);
