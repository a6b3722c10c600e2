//! The way snapshot files arrive does not change what goalkeeper says (issue 19).
//!
//! A property test generates users with a year of monthly snapshots (gaps,
//! late months, duplicates, corrections of earlier months, several months in
//! one file, a loan that appears mid-year, a card that is paid off and
//! disappears, a linked account that never appears), goals of every type
//! added, updated, paused and resumed mid-year, and processes them three ways,
//! each in a database of its own, through the same library calls as
//! `--run-once` (the inbox, the time-based pass and the dispatcher, one
//! `JobContext` per run, so every run reads its state back from storage):
//!
//! 1. **one run per file**, the goal changes between the runs where they happen;
//! 2. **all files in one run**: every stretch of files between two goal changes
//!    in a single run (the whole year when nothing changes mid-year);
//! 3. **backfill**: every file first, then the goals added (as they ended up).
//!
//! Ways 1 and 2 must store identical progress entries, goals, alerts,
//! deliveries and sent emails. Way 3 must store the same progress entries and
//! goal outcomes for every goal it can be compared on; its alerts differ by
//! design (a backfill raises what the newest entry shows, not the history:
//! docs/alerts.md), so they are not compared.
//!
//! Every run happens at 03:00 UTC on 2025-01-01: inside the users' quiet
//! hours, so dispatching defers every email to 08:00 and a last dispatch at
//! 09:00 sends them; before any goal starts and more than 30 days before any
//! target date, so the time-based pass (which depends on when runs happen, not
//! on how files arrive) has nothing to raise. Entries are judged as of their
//! month's last day, whatever the clock says.
//!
//! Cases: [`CASES_SQLITE`] on SQLite and [`CASES_POSTGRES`] on PostgreSQL
//! (`GOALKEEPER_ARRIVAL_CASES` overrides both).

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use goalkeeper::clock::Clock;
use goalkeeper::config::{Settings, TransportKind};
use goalkeeper::domain::goal::{GoalLinks, StatusChange};
use goalkeeper::domain::{Goal, GoalId, GoalStatus, GoalType, Money, User, UserId};
use goalkeeper::goals::Alerter;
use goalkeeper::jobs::{JobContext, LockWait, Ran};
use goalkeeper::stop::Stop;
use goalkeeper::storage::{AlertFilter, AlertStorage, JobStorage, Storage};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

const CASES_SQLITE: u32 = 24;
const CASES_POSTGRES: u32 = 12;

/// The months generated: the month before the earliest start, then 2025.
const MONTHS: usize = 13;

fn month(i: usize) -> String {
    if i == 0 {
        "2024-12".to_owned()
    } else {
        format!("2025-{i:02}")
    }
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, h, 0, 0).unwrap()
}

// ---------------------------------------------------------------- scenario

/// One user's year: a base and month-by-month changes.
#[derive(Debug, Clone)]
struct UserPlan {
    /// Months without a snapshot.
    gaps: Vec<bool>,
    income: Vec<i64>,
    dining: Vec<i64>,
    /// Change of the emergency fund each month (may be negative).
    efund_steps: Vec<i64>,
    /// Paid off the card each month.
    card_payments: Vec<i64>,
    card_start: i64,
    /// The month the loan's first statement arrives, if it does.
    loan_from: Option<usize>,
    loan_amount: i64,
}

impl UserPlan {
    /// The snapshot lines of month `m`; `variant` > 0 is a correction.
    fn lines(&self, u: usize, m: usize, variant: u8) -> String {
        let user = format!("u{u:05}");
        let period = month(m);
        let fix = i64::from(variant) * 1_234;
        let mut out = String::new();
        let mut line = |kind: &str, account: &str, category: &str, cents: i64, rate: &str| {
            let cents = cents.max(0);
            out.push_str(&format!(
                "{user},{period},{kind},{account},{category},{}.{:02},{rate},\n",
                cents / 100,
                cents % 100
            ));
        };
        line("income", "", "salary", self.income[m] + fix, "");
        line("expense", "", "housing", 150_000, "");
        line("expense", "", "dining", self.dining[m] + fix / 4, "");
        let efund: i64 = 200_000 + self.efund_steps[..=m].iter().sum::<i64>();
        line("savings", "efund", "emergency_fund", efund + fix, "4.1");
        line("savings", "trip", "vacation", 10_000 * m as i64, "");
        line("savings", "house", "down_payment", 500_000 + 40_000 * m as i64, "");
        line("investment", "401k", "retirement", 2_000_000 + 25_000 * m as i64, "7");
        line(
            "investment",
            "brokerage",
            "stocks",
            300_000 + 9_000 * m as i64 - fix,
            "",
        );
        line("asset", "car", "vehicle", 900_000 - 5_000 * m as i64, "");
        let card = self.card_start - self.card_payments[..=m].iter().sum::<i64>() - fix;
        // Once paid off the card leaves the snapshots.
        if card > 0 {
            line("debt", "card", "credit_card", card, "21.9");
        }
        if self.loan_from.is_some_and(|from| m >= from) && variant != 2 {
            line("debt", "loan", "auto_loan", self.loan_amount - 20_000 * m as i64, "6.5");
        }
        out
    }
}

fn user_plan() -> impl Strategy<Value = UserPlan> {
    (
        prop::collection::vec(prop::bool::weighted(0.12), MONTHS),
        prop::collection::vec(0i64..600_000, MONTHS),
        prop::collection::vec(15_000i64..40_000, MONTHS),
        prop::collection::vec(-30_000i64..90_000, MONTHS),
        prop::collection::vec(0i64..90_000, MONTHS),
        100_000i64..700_000,
        prop::option::weighted(0.6, 1usize..MONTHS),
        400_000i64..900_000,
    )
        .prop_map(
            |(gaps, income, dining, efund_steps, card_payments, card_start, loan_from, loan_amount)| UserPlan {
                gaps,
                income,
                dining,
                efund_steps,
                card_payments,
                card_start,
                loan_from,
                loan_amount,
            },
        )
}

/// What a goal is for, by type; accounts and categories are the users' lines above.
#[derive(Debug, Clone, Copy)]
enum Kind {
    EmergencyFund,
    Vacation,
    DownPayment,
    Trip,
    Card,
    MistypedCard,
    NewLoan,
    DebtFree,
    Brokerage,
    Retirement,
    SavingsRate,
    Dining,
    NetWorth,
    Custom,
}

const KINDS: [Kind; 14] = [
    Kind::EmergencyFund,
    Kind::Vacation,
    Kind::DownPayment,
    Kind::Trip,
    Kind::Card,
    Kind::MistypedCard,
    Kind::NewLoan,
    Kind::DebtFree,
    Kind::Brokerage,
    Kind::Retirement,
    Kind::SavingsRate,
    Kind::Dining,
    Kind::NetWorth,
    Kind::Custom,
];

impl Kind {
    /// Type, target in hundredths, accounts, categories.
    fn terms(self) -> (GoalType, i64, &'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::EmergencyFund => (GoalType::EmergencyFund, 600_000, &[], &[]),
            Kind::Vacation => (GoalType::SavingsTarget, 80_000, &[], &["vacation"]),
            Kind::DownPayment => (GoalType::DownPayment, 1_000_000, &[], &[]),
            Kind::Trip => (GoalType::MajorPurchase, 60_000, &["trip"], &[]),
            Kind::Card => (GoalType::DebtPayoff, 500_000, &["card"], &[]),
            Kind::MistypedCard => (GoalType::DebtPayoff, 200_000, &["crd"], &[]),
            Kind::NewLoan => (GoalType::DebtPayoff, 800_000, &["loan"], &[]),
            Kind::DebtFree => (GoalType::DebtFree, 1_200_000, &[], &[]),
            Kind::Brokerage => (GoalType::InvestmentTarget, 400_000, &["brokerage"], &[]),
            Kind::Retirement => (GoalType::RetirementSavings, 2_300_000, &[], &[]),
            Kind::SavingsRate => (GoalType::SavingsRate, 2_000, &[], &[]),
            Kind::Dining => (GoalType::ExpenseReduction, 24_000, &[], &["dining"]),
            Kind::NetWorth => (GoalType::NetWorthTarget, 4_000_000, &[], &[]),
            Kind::Custom => (GoalType::Custom, 100_000, &[], &[]),
        }
    }
}

/// A goal, when it is added and what happens to it. Positions are fractions
/// (0–255) of the way through the files.
#[derive(Debug, Clone)]
struct GoalPlan {
    user: usize,
    kind: Kind,
    /// Start: the 2nd of month 1–6 of 2025.
    start_month: u32,
    target_date: Option<NaiveDate>,
    added_at: u8,
    /// When, and the new target as a percentage of the old one (and a new start month).
    update: Option<(u8, i64, Option<u32>)>,
    /// When paused, and when resumed (if it is).
    pause: Option<(u8, Option<u8>)>,
}

fn goal_plan(users: usize) -> impl Strategy<Value = GoalPlan> {
    let dates = [
        None,
        NaiveDate::from_ymd_opt(2025, 9, 30),
        NaiveDate::from_ymd_opt(2025, 12, 31),
        NaiveDate::from_ymd_opt(2026, 6, 30),
    ];
    (
        0..users,
        prop::sample::select(KINDS.to_vec()),
        1u32..=6,
        prop::sample::select(dates.to_vec()),
        // Most goals exist before the first file; some are added mid-year.
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        prop::option::weighted(0.25, (any::<u8>(), 40i64..160, prop::option::of(1u32..=6))),
        prop::option::weighted(0.2, (any::<u8>(), prop::option::weighted(0.7, any::<u8>()))),
    )
        .prop_map(
            |(user, kind, start_month, target_date, added_at, update, pause)| GoalPlan {
                user,
                kind,
                start_month,
                target_date,
                added_at,
                update,
                pause: pause.map(|(p, r)| (p, r.map(|r| r.max(p)))),
            },
        )
}

/// One inbox file: its snapshots as (user, month, variant); a copy of an
/// earlier file has the same bytes.
type FilePlan = Vec<(usize, usize, u8)>;

#[derive(Debug, Clone)]
struct Scenario {
    users: Vec<UserPlan>,
    files: Vec<FilePlan>,
    goals: Vec<GoalPlan>,
}

/// Changes made to the plain "one file a month, in order" arrival.
#[derive(Debug, Clone)]
struct Arrival {
    /// Adjacent files swapped (a month arriving late), by position.
    swaps: Vec<u8>,
    /// Adjacent files merged into one (several months in a file).
    merges: Vec<u8>,
    /// A file sent again (position of the original, position of the copy).
    duplicates: Vec<(u8, u8)>,
    /// A month corrected later: (user, month, variant, position).
    corrections: Vec<(u8, usize, u8, u8)>,
}

fn arrival() -> impl Strategy<Value = Arrival> {
    (
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..3),
        prop::collection::vec((any::<u8>(), any::<u8>()), 0..2),
        prop::collection::vec((any::<u8>(), 0..MONTHS, 1u8..=2, any::<u8>()), 0..3),
    )
        .prop_map(|(swaps, merges, duplicates, corrections)| Arrival {
            swaps,
            merges,
            duplicates,
            corrections,
        })
}

fn scaled(fraction: u8, len: usize) -> usize {
    usize::from(fraction) * len / 256
}

fn files_of(users: &[UserPlan], arrival: &Arrival) -> Vec<FilePlan> {
    let mut files: Vec<Vec<(usize, usize, u8)>> = (0..MONTHS)
        .map(|m| {
            (0..users.len())
                .filter(|&u| !users[u].gaps[m])
                .map(|u| (u, m, 0))
                .collect::<Vec<_>>()
        })
        .filter(|f| !f.is_empty())
        .collect();
    for &s in &arrival.swaps {
        let i = scaled(s, files.len());
        if i + 1 < files.len() {
            files.swap(i, i + 1);
        }
    }
    for &m in &arrival.merges {
        let i = scaled(m, files.len());
        if i + 1 < files.len() {
            let next = files.remove(i + 1);
            files[i].extend(next);
        }
    }
    let mut plans: Vec<FilePlan> = files;
    for &(user, m, variant, pos) in &arrival.corrections {
        let u = usize::from(user) % users.len();
        if users[u].gaps[m] {
            continue;
        }
        let i = scaled(pos, plans.len() + 1);
        plans.insert(i, vec![(u, m, variant)]);
    }
    for &(of, pos) in &arrival.duplicates {
        let original = scaled(of, plans.len());
        let at = (original + 1 + scaled(pos, plans.len())).min(plans.len());
        if let Some(copy) = plans.get(original).cloned() {
            plans.insert(at, copy);
        }
    }
    plans
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=2)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(user_plan(), n),
                arrival(),
                prop::collection::vec(goal_plan(n), 2..=7),
            )
        })
        .prop_map(|(users, arrival, goals)| {
            let files = files_of(&users, &arrival);
            Scenario { users, files, goals }
        })
}

// ---------------------------------------------------------------- goal changes

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Add,
    Update,
    Pause,
    Resume,
}

impl Scenario {
    fn goal_id(&self, g: usize) -> GoalId {
        GoalId::parse(&format!("u{:05}-g{g}", self.goals[g].user)).unwrap()
    }

    /// The goal as first added.
    fn goal(&self, g: usize) -> Goal {
        let plan = &self.goals[g];
        let (goal_type, target, accounts, categories) = plan.kind.terms();
        let start = NaiveDate::from_ymd_opt(2025, plan.start_month, 2).unwrap();
        let user = UserId::parse(&format!("u{:05}", plan.user)).unwrap();
        let mut goal = Goal::new(
            self.goal_id(g),
            user,
            goal_type,
            format!("{:?}", plan.kind),
            Money::from_cents(target),
            start,
            at(3),
        );
        goal.target_date = plan.target_date;
        goal.links = GoalLinks {
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            categories: categories.iter().map(|s| s.to_string()).collect(),
        };
        if goal_type.is_debt() {
            goal.original_balance = Some(goal.target);
        }
        goal
    }

    /// The goal with its update applied (what `goals update` would store).
    fn updated(&self, g: usize, mut goal: Goal) -> Goal {
        if let Some((_, percent, start_month)) = self.goals[g].update {
            let mut target = goal.target.cents() * percent / 100;
            if goal.goal_type.target_is_percent() {
                target = target.min(10_000);
            }
            goal.target = Money::from_cents(target);
            if goal.goal_type.is_debt() {
                goal.original_balance = Some(goal.target);
            }
            if let Some(m) = start_month {
                goal.start_date = NaiveDate::from_ymd_opt(2025, m, 2).unwrap();
            }
        }
        goal
    }

    /// Goal changes by position (0 = before the first file, `files.len()` = after the last).
    fn changes(&self) -> BTreeMap<usize, Vec<(usize, Change)>> {
        let n = self.files.len();
        let mut by_position: BTreeMap<usize, Vec<(usize, Change)>> = BTreeMap::new();
        let place = |f: u8| scaled(f, n + 1);
        for (g, plan) in self.goals.iter().enumerate() {
            let added = place(plan.added_at);
            let mut push = |pos: usize, change| by_position.entry(pos.max(added)).or_default().push((g, change));
            push(added, Change::Add);
            if let Some((when, _, _)) = plan.update {
                push(place(when), Change::Update);
            }
            if let Some((paused, resumed)) = plan.pause {
                push(place(paused), Change::Pause);
                if let Some(resumed) = resumed {
                    push(place(resumed).max(place(paused)), Change::Resume);
                }
            }
        }
        for changes in by_position.values_mut() {
            changes.sort_by_key(|(g, c)| (*c, *g));
        }
        by_position
    }
}

// ---------------------------------------------------------------- the three ways

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    OneRunPerFile,
    AllFilesInOneRun,
    Backfill,
}

/// Everything compared, keyed so that ids given by the database do not matter.
#[derive(Debug, Default, PartialEq)]
struct Observed {
    /// Goal → (period, value, contribution, progress, on track, streak, source, snapshot, note).
    entries: BTreeMap<String, Vec<String>>,
    /// Goal → status and completion time.
    goals: BTreeMap<String, String>,
    /// (goal, type, occurrence) → the alert and its delivery.
    alerts: BTreeMap<(String, String, String), String>,
    /// The emails sent: recipient, subject and text, sorted.
    emails: Vec<String>,
    /// Goals way 3 cannot be compared on (still paused at the end, changed
    /// after completing, or completed by a month since corrected below the target).
    incomparable: BTreeSet<String>,
}

struct Install {
    dir: tempfile::TempDir,
    settings: Arc<Settings>,
}

impl Install {
    fn new(db_url: &str) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let mut settings: Settings = toml::from_str(goalkeeper::config::EXAMPLE_TOML).unwrap();
        settings.database.url = db_url.to_owned();
        settings.inbox.dir = dir.path().join("inbox");
        settings.inbox.processed_dir = dir.path().join("processed");
        settings.inbox.failed_dir = dir.path().join("failed");
        settings.email.transport = TransportKind::File;
        settings.email.file.dir = dir.path().join("outbox");
        settings.email.base_url = "https://goals.example.org".to_owned();
        settings.defaults.timezone = "UTC".to_owned();
        for d in [&settings.inbox.dir, &settings.email.file.dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        Install {
            dir,
            settings: Arc::new(settings),
        }
    }

    fn drop_file(&self, scenario: &Scenario, index: usize) {
        let mut body = String::from("user_id,period,kind,account,category,amount,rate,min_payment\n");
        for &(u, m, variant) in &scenario.files[index] {
            body.push_str(&scenario.users[u].lines(u, m, variant));
        }
        std::fs::write(self.settings.inbox.dir.join(format!("f{index:03}.csv")), body).unwrap();
    }

    /// One `--run-once`: the inbox, the time-based pass, the dispatcher.
    async fn run_once<S: AlertStorage + JobStorage>(&self, store: &S) {
        let ctx = JobContext::new(store.clone(), self.settings.clone(), Clock::Fixed(at(3))).unwrap();
        let stop = Stop::never();
        let Ran::Done(inbox) = ctx.inbox(LockWait::Wait, &stop).await.unwrap() else {
            panic!("the pass lock was not taken")
        };
        assert_eq!(inbox.failed, 0, "{inbox}");
        let Ran::Done(pass) = ctx.evaluate(LockWait::Wait).await.unwrap() else {
            panic!("the pass lock was not taken")
        };
        assert_eq!(
            pass.0.new_alerts, 0,
            "the time-based pass has nothing to raise at this hour"
        );
        let Ran::Done(sent) = ctx.dispatch(LockWait::Wait, &stop).await.unwrap() else {
            panic!("the pass lock was not taken")
        };
        assert_eq!(
            (sent.emails_sent, sent.failed),
            (0, 0),
            "nothing is sent in quiet hours"
        );
    }

    /// The dispatcher once quiet hours are over.
    async fn send<S: AlertStorage + JobStorage>(&self, store: &S) {
        let ctx = JobContext::new(store.clone(), self.settings.clone(), Clock::Fixed(at(9))).unwrap();
        ctx.dispatch(LockWait::Wait, &Stop::never()).await.unwrap();
    }
}

/// A goal change as the `goals` commands make it.
async fn change<S: AlertStorage>(store: &S, goal: Goal, change: Change, observed: &mut Observed) {
    let now = at(3);
    let mut alerter = Alerter::new("https://goals.example.org");
    match change {
        Change::Add => {
            store.add_goal(&goal).await.unwrap();
            goalkeeper::goals::resync(store, &mut alerter, &goal, now)
                .await
                .unwrap();
        }
        Change::Update => {
            let stored = store.get_goal(&goal.id).await.unwrap().unwrap();
            if stored.status == GoalStatus::Completed {
                observed.incomparable.insert(goal.id.to_string());
            }
            let goal = Goal {
                status: stored.status,
                completed_at: stored.completed_at,
                ..goal
            };
            store.update_goal(&goal).await.unwrap();
            goalkeeper::goals::resync(store, &mut alerter, &goal, now)
                .await
                .unwrap();
        }
        Change::Pause | Change::Resume => {
            let mut stored = store.get_goal(&goal.id).await.unwrap().unwrap();
            let wanted = if change == Change::Pause {
                StatusChange::Pause
            } else {
                StatusChange::Resume
            };
            // A change the status does not allow is refused, as `goals pause` refuses it.
            if let Ok(status) = stored.status.apply(wanted) {
                stored.status = status;
                store.update_goal(&stored).await.unwrap();
                if change == Change::Resume {
                    goalkeeper::goals::resync(store, &mut alerter, &stored, now)
                        .await
                        .unwrap();
                }
            }
        }
    }
}

async fn process<S: AlertStorage + JobStorage>(store: S, db_url: &str, scenario: &Scenario, way: Way) -> Observed {
    let install = Install::new(db_url);
    let users: Vec<User> = (0..scenario.users.len())
        .map(|u| User {
            id: UserId::parse(&format!("u{u:05}")).unwrap(),
            email: Some(goalkeeper::domain::Email::parse(&format!("u{u:05}@example.org")).unwrap()),
            display_name: None,
            timezone: chrono_tz::UTC,
        })
        .collect();
    store.upsert_users(&users, at(3)).await.unwrap();
    let mut observed = Observed::default();
    let changes = scenario.changes();
    // Goal g as it is at each point: first as added, then as updated.
    let version = |g: usize, c: Change| match c {
        Change::Add => scenario.goal(g),
        _ => scenario.updated(g, scenario.goal(g)),
    };
    let n = scenario.files.len();
    match way {
        Way::OneRunPerFile | Way::AllFilesInOneRun => {
            let mut pending = false;
            for position in 0..=n {
                if let Some(list) = changes.get(&position) {
                    if pending {
                        install.run_once(&store).await;
                        pending = false;
                    }
                    for &(g, c) in list {
                        // Pausing and resuming keep the goal as it is.
                        let goal = match c {
                            Change::Add | Change::Update => version(g, c),
                            _ => store.get_goal(&scenario.goal_id(g)).await.unwrap().unwrap(),
                        };
                        change(&store, goal, c, &mut observed).await;
                    }
                }
                if position < n {
                    install.drop_file(scenario, position);
                    pending = true;
                    if way == Way::OneRunPerFile {
                        install.run_once(&store).await;
                        pending = false;
                    }
                }
            }
            if pending {
                install.run_once(&store).await;
            }
        }
        Way::Backfill => {
            for i in 0..n {
                install.drop_file(scenario, i);
            }
            install.run_once(&store).await;
            for g in 0..scenario.goals.len() {
                let goal = scenario.updated(g, scenario.goal(g));
                change(&store, goal, Change::Add, &mut observed).await;
            }
        }
    }
    install.send(&store).await;
    observe(&store, &install, &mut observed).await;
    drop(install.dir);
    observed
}

async fn observe<S: AlertStorage>(store: &S, install: &Install, observed: &mut Observed) {
    let goals = store.list_goals(None, None).await.unwrap();
    for g in &goals {
        if g.status == GoalStatus::Paused {
            observed.incomparable.insert(g.id.to_string());
        }
        observed
            .goals
            .insert(g.id.to_string(), format!("{} {:?}", g.status, g.completed_at));
        let history = store.progress_history(&g.id).await.unwrap();
        // A completion is never taken back: when a correction takes the month
        // that completed a goal below its target, the goal stays completed,
        // while a goal added after the corrected files never completes.
        if g.status == GoalStatus::Completed && history.last().is_some_and(|e| e.progress < 1.0) {
            observed.incomparable.insert(g.id.to_string());
        }
        let rows = history
            .iter()
            .map(|e| {
                format!(
                    "{} value {} contribution {} progress {:?} on_track {} streak {} {} snapshot {:?} note {:?}",
                    e.period,
                    e.value,
                    e.contribution,
                    e.progress,
                    e.on_track,
                    e.off_track_streak,
                    e.source,
                    e.snapshot_id,
                    e.note
                )
            })
            .collect();
        observed.entries.insert(g.id.to_string(), rows);
    }
    let alerts = store.list_alerts(AlertFilter::default()).await.unwrap();
    for a in alerts {
        let delivery = a.delivery.map(|d| {
            format!(
                "{} due {} attempts {} hold {:?} error {:?} sent {:?}",
                d.status, d.due_at, d.attempts, d.hold_reason, d.last_error, d.sent_at
            )
        });
        observed.alerts.insert(
            (a.goal_id, a.alert_type, a.occurrence),
            format!(
                "priority {} | {} | {} | {:?} | {} | read {:?} | {:?}",
                a.priority, a.title, a.message, a.action_url, a.created_at, a.read_at, delivery
            ),
        );
    }
    observed.emails = emails_in(&install.settings.email.file.dir);
}

/// Each sent email as recipient, subject and plain text.
fn emails_in(dir: &Path) -> Vec<String> {
    let mut emails: Vec<String> = common::emails_in(dir)
        .into_iter()
        .map(|e| format!("to {} | {} | {}", e.to, e.subject, e.text))
        .collect();
    emails.sort();
    emails
}

/// Way 3 agrees with way 1 on every goal it can be compared on.
fn backfill_agrees(one: &Observed, backfill: &Observed) -> Result<(), TestCaseError> {
    for (goal, entries) in &one.entries {
        if one.incomparable.contains(goal) {
            continue;
        }
        prop_assert_eq!(Some(entries), backfill.entries.get(goal), "entries of {}", goal);
        prop_assert_eq!(one.goals.get(goal), backfill.goals.get(goal), "status of {}", goal);
        let completed = |o: &Observed| {
            o.alerts
                .contains_key(&(goal.clone(), "goal_completed".to_owned(), String::new()))
        };
        prop_assert_eq!(completed(one), completed(backfill), "goal_completed alert of {}", goal);
    }
    Ok(())
}

fn compare(one: &Observed, all: &Observed, backfill: &Observed) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        &one.entries,
        &all.entries,
        "progress entries: one run per file vs all in one run"
    );
    prop_assert_eq!(&one.goals, &all.goals, "goals: one run per file vs all in one run");
    prop_assert_eq!(&one.alerts, &all.alerts, "alerts: one run per file vs all in one run");
    prop_assert_eq!(&one.emails, &all.emails, "emails: one run per file vs all in one run");
    backfill_agrees(one, backfill)
}

fn cases(default: u32) -> u32 {
    std::env::var("GOALKEEPER_ARRIVAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // Each shrinking step runs the three ways again.
        max_shrink_iters: 200,
        // A failure prints the smallest scenario found; no regression file is written.
        failure_persistence: None,
        ..Config::default()
    })
}

fn report(backend: &str, cases: u32, started: std::time::Instant) {
    eprintln!(
        "arrival order on {backend}: {cases} generated cases, 3 ways each, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_way_files_arrive_does_not_change_progress_alerts_or_emails_on_sqlite() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = cases(CASES_SQLITE);
    let started = std::time::Instant::now();
    let result = runner(n).run(&scenario(), |s| {
        rt.block_on(async {
            let mut seen = Vec::new();
            for way in [Way::OneRunPerFile, Way::AllFilesInOneRun, Way::Backfill] {
                let (store, dir) = common::sqlite_store().await;
                let url = format!("sqlite://{}", dir.path().join("gk.db").display());
                seen.push(process(store.clone(), &url, &s, way).await);
                store.close().await;
            }
            compare(&seen[0], &seen[1], &seen[2])
        })
    });
    report("SQLite", n, started);
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_way_files_arrive_does_not_change_progress_alerts_or_emails_on_postgresql() {
    let Some(admin) = common::postgres_url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = cases(CASES_POSTGRES);
    let started = std::time::Instant::now();
    let result = runner(n).run(&scenario(), |s| {
        rt.block_on(async {
            // The three ways at once, each in a schema of its own: they wait on the server, not the CPU.
            let way = |way| {
                let (admin, s) = (&admin, &s);
                async move {
                    let (store, schema) = common::pg_store(admin).await;
                    let seen = process(store.clone(), &schema.url, s, way).await;
                    store.close().await;
                    schema.drop().await;
                    seen
                }
            };
            let (one, all, backfill) =
                tokio::join!(way(Way::OneRunPerFile), way(Way::AllFilesInOneRun), way(Way::Backfill));
            compare(&one, &all, &backfill)
        })
    });
    report("PostgreSQL", n, started);
    if let Err(e) = result {
        panic!("{e}");
    }
}
