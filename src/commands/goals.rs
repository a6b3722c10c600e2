//! `goals ...`, `progress ...`, `templates ...` and `dashboard`.

use super::output::{json, table};
use super::{Env, Exit};
use crate::cli::{GoalFields, GoalsCommand, ProgressCommand, TemplatesCommand};
use crate::domain::alerts::{self, Evaluation};
use crate::domain::card::GoalCard;
use crate::domain::goal::{GoalField, GoalLinks, GoalStatus, NewProgress, ProgressEntry, ProgressSource, StatusChange};
use crate::domain::progress::Summary;
use crate::domain::templates::{self, BudgetFacts};
use crate::domain::tracking::{Raised, Standing, live_summary};
use crate::domain::wording;
use crate::domain::{Goal, GoalId, GoalType, Money, Period, SnapshotSummary, User, UserId};
use crate::goals::Alerter;
use crate::storage::{AddOutcome, AlertStorage, Storage};
use crate::tabular::{HeaderSpec, Problem, Problems, Table};
use anyhow::Context;
use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

pub async fn run_goals(env: &Env, cmd: GoalsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = goals(&store, env, cmd).await;
        store.close().await;
        exit
    })
}

pub async fn run_progress(env: &Env, cmd: ProgressCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = match cmd {
            ProgressCommand::Record {
                goal,
                value,
                period,
                note,
            } => record(&store, env, &goal, &value, period.as_deref(), note).await,
            ProgressCommand::History { goal, json } => history(&store, &goal, json.json).await,
        };
        store.close().await;
        exit
    })
}

pub async fn run_dashboard(env: &Env, user: Option<String>, as_json: bool) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = dashboard(&store, env, user.as_deref(), as_json).await;
        store.close().await;
        exit
    })
}

pub fn run_templates(cmd: TemplatesCommand) -> anyhow::Result<Exit> {
    match cmd {
        TemplatesCommand::List(flag) => {
            if flag.json {
                let list: Vec<serde_json::Value> = templates::TEMPLATES
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id, "name": t.name, "type": t.goal_type.as_str(), "description": t.description,
                            "suggested_timeline_months": t.suggested_timeline_months,
                            "parameters": t.parameters.iter().map(|p| serde_json::json!({
                                "name": p.name, "label": p.label, "kind": p.kind.as_str(), "default": p.default,
                            })).collect::<Vec<_>>(),
                            "tips": t.tips, "recurring": t.is_recurring,
                        })
                    })
                    .collect();
                json(&list)?;
            } else {
                let rows: Vec<Vec<String>> = templates::TEMPLATES
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_owned(),
                            t.goal_type.to_string(),
                            t.name.to_owned(),
                            t.description.to_owned(),
                        ]
                    })
                    .collect();
                print!("{}", table(&["TEMPLATE", "TYPE", "NAME", "DESCRIPTION"], &rows));
            }
            Ok(Exit::Ok)
        }
        TemplatesCommand::Show { id } => {
            let Some(t) = templates::find(&id) else {
                let ids: Vec<&str> = templates::TEMPLATES.iter().map(|t| t.id).collect();
                eprintln!("unknown template {id:?}; expected one of {}", ids.join(", "));
                return Ok(Exit::Rejected);
            };
            println!("{} ({}): {}\n{}", t.name, t.id, t.goal_type, t.description);
            if let Some(m) = t.suggested_timeline_months {
                println!("Suggested timeline: {m} months");
            }
            if !t.parameters.is_empty() {
                println!("\nParameters (--param NAME=VALUE):");
                for p in t.parameters {
                    let default = p.default.map(|d| format!(" (default {d})")).unwrap_or_default();
                    println!("  {:<22} {} [{}]{default}", p.name, p.label, p.kind.as_str());
                }
            }
            if !t.tips.is_empty() {
                println!("\nTips:");
                for tip in t.tips {
                    println!("  - {tip}");
                }
            }
            Ok(Exit::Ok)
        }
    }
}

fn parse_date(what: &str, s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{what}: found {s:?}; expected a date as YYYY-MM-DD"))
}

/// A target, or what was expected instead (callers say where and quote it).
fn parse_target(goal_type: GoalType, s: &str) -> Result<Money, String> {
    let m = s.parse::<Money>().map_err(|e| e.to_string())?;
    if goal_type.target_is_percent() && m.cents() > 10_000 {
        return Err("expected a percentage of income from 0 to 100".to_owned());
    }
    Ok(m)
}

/// Today in the user's time zone.
fn today_for(user: &User, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&user.timezone).date_naive()
}

fn new_goal(id: GoalId, user: &User, goal_type: GoalType, now: DateTime<Utc>) -> Goal {
    Goal::new(
        id,
        user.id.clone(),
        goal_type,
        "",
        Money::ZERO,
        today_for(user, now),
        now,
    )
}

/// Applies the flags to `goal`; every problem, not just the first.
fn apply_fields(goal: &mut Goal, f: &GoalFields, no_target_date: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(name) = &f.name {
        goal.name = name.clone();
    }
    if let Some(t) = &f.target {
        match parse_target(goal.goal_type, t) {
            Ok(m) => goal.target = m,
            Err(e) => problems.push(format!("--target: found {t:?}; {e}")),
        }
    }
    if let Some(d) = &f.target_date {
        match parse_date("--target-date", d) {
            Ok(d) => goal.target_date = Some(d),
            Err(e) => problems.push(e),
        }
    }
    if no_target_date {
        goal.target_date = None;
    }
    if let Some(d) = &f.start_date {
        match parse_date("--start-date", d) {
            Ok(d) => goal.start_date = d,
            Err(e) => problems.push(e),
        }
    }
    if !f.accounts.is_empty() {
        goal.links.accounts = f.accounts.clone();
    }
    if !f.categories.is_empty() {
        goal.links.categories = f.categories.clone();
    }
    if let Some(d) = &f.description {
        goal.description = Some(d.clone());
    }
    if goal.goal_type.is_debt() {
        goal.original_balance = Some(goal.target);
    }
    problems
}

async fn unique_id<S: AlertStorage>(store: &S, user: &UserId, goal_type: GoalType) -> anyhow::Result<GoalId> {
    let existing = store.list_goals(Some(user), None).await?;
    for n in 1.. {
        let id = GoalId::from_trusted(format!("{user}-{goal_type}-{n}"));
        if !existing.iter().any(|g| g.id == id) {
            return Ok(id);
        }
    }
    anyhow::bail!("no free goal id")
}

async fn user_or_reject<S: AlertStorage>(store: &S, id: &str) -> anyhow::Result<Option<User>> {
    let user = match UserId::parse(id) {
        Ok(u) => store.get_user(&u).await?,
        Err(_) => None,
    };
    if user.is_none() {
        eprintln!("unknown user {id:?}: register it with `goalkeeper users add` first");
    }
    Ok(user)
}

async fn goal_or_reject<S: AlertStorage>(store: &S, id: &str) -> anyhow::Result<Option<Goal>> {
    let goal = store.get_goal(&GoalId::from_trusted(id.to_owned())).await?;
    if goal.is_none() {
        eprintln!("no goal {id:?}");
    }
    Ok(goal)
}

/// The command-line flag a goal problem is about.
fn flag_of(field: GoalField) -> &'static str {
    match field {
        GoalField::Name => "--name",
        GoalField::Target => "--target",
        GoalField::TargetDate => "--target-date",
        GoalField::Accounts => "--account",
        GoalField::Categories => "--category",
        GoalField::ReminderDay => "reminder day",
    }
}

/// Prints a goal's problems as flag errors; `true` if there were any.
fn reject_problems(goal: &Goal) -> bool {
    let problems = goal.problems();
    for p in &problems {
        eprintln!("{}: expected {}", flag_of(p.field), p.expected);
    }
    !problems.is_empty()
}

async fn create<S: AlertStorage>(store: &S, env: &Env, goal: Goal) -> anyhow::Result<Exit> {
    if reject_problems(&goal) {
        return Ok(Exit::Rejected);
    }
    if store.add_goal(&goal).await? == AddOutcome::AlreadyExists {
        eprintln!("a goal with id {} exists already", goal.id);
        return Ok(Exit::Rejected);
    }
    let done = crate::goals::resync(
        store,
        &mut Alerter::new(&env.settings.email.base_url),
        &goal,
        env.clock.now(),
    )
    .await?;
    println!(
        "added goal {} ({}, {}): {} progress entries from stored snapshots{}",
        goal.id,
        goal.goal_type,
        goal.name,
        done.entries,
        if done.completed { "; already completed" } else { "" }
    );
    Ok(Exit::Ok)
}

async fn goals<S: AlertStorage>(store: &S, env: &Env, cmd: GoalsCommand) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    match cmd {
        GoalsCommand::Add {
            user,
            goal_type,
            id,
            fields,
        } => {
            let Some(user) = user_or_reject(store, &user).await? else {
                return Ok(Exit::Rejected);
            };
            let goal_type = match goal_type.parse::<GoalType>() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("--type: found {goal_type:?}; {e}");
                    return Ok(Exit::Rejected);
                }
            };
            let id = match id {
                Some(id) => match GoalId::parse(&id) {
                    Ok(id) => id,
                    Err(e) => {
                        eprintln!("--id: {e}");
                        return Ok(Exit::Rejected);
                    }
                },
                None => unique_id(store, &user.id, goal_type).await?,
            };
            let mut goal = new_goal(id, &user, goal_type, now);
            let mut problems = apply_fields(&mut goal, &fields, false);
            if fields.name.is_none() {
                problems.push("--name: a name is required".to_owned());
            }
            if fields.target.is_none() {
                problems.push("--target: a target is required".to_owned());
            }
            if !problems.is_empty() {
                for p in problems {
                    eprintln!("{p}");
                }
                return Ok(Exit::Rejected);
            }
            create(store, env, goal).await
        }
        GoalsCommand::List {
            user,
            status,
            json: flag,
        } => {
            let status = match status.as_deref().map(str::parse::<GoalStatus>).transpose() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("--status: {e}");
                    return Ok(Exit::Rejected);
                }
            };
            let user = user.map(UserId::from_trusted);
            let goals = store.list_goals(user.as_ref(), status).await?;
            if flag.json {
                json(&goals)?;
            } else {
                let rows: Vec<Vec<String>> = goals
                    .iter()
                    .map(|g| {
                        vec![
                            g.id.to_string(),
                            g.user_id.to_string(),
                            g.goal_type.to_string(),
                            g.name.clone(),
                            target_text(g),
                            g.target_date.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                            g.status.to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["GOAL", "USER", "TYPE", "NAME", "TARGET", "BY", "STATUS"], &rows)
                );
            }
            Ok(Exit::Ok)
        }
        GoalsCommand::Show { id, json: flag } => {
            let Some(goal) = goal_or_reject(store, &id).await? else {
                return Ok(Exit::Rejected);
            };
            let view = view(store, &goal, now).await?;
            if flag.json {
                json(&view.json)?;
            } else {
                print!("{}", view.text);
            }
            Ok(Exit::Ok)
        }
        GoalsCommand::Update {
            id,
            fields,
            no_target_date,
        } => {
            let Some(mut goal) = goal_or_reject(store, &id).await? else {
                return Ok(Exit::Rejected);
            };
            let problems = apply_fields(&mut goal, &fields, no_target_date);
            for p in &problems {
                eprintln!("{p}");
            }
            if reject_problems(&goal) || !problems.is_empty() {
                return Ok(Exit::Rejected);
            }
            goal.updated_at = now;
            store.update_goal(&goal).await?;
            let done = crate::goals::resync(store, &mut Alerter::new(&env.settings.email.base_url), &goal, now).await?;
            println!("updated goal {}: {} progress entries recomputed", goal.id, done.entries);
            Ok(Exit::Ok)
        }
        GoalsCommand::Pause { id } => change_status(store, env, &id, StatusChange::Pause, now).await,
        GoalsCommand::Resume { id } => change_status(store, env, &id, StatusChange::Resume, now).await,
        GoalsCommand::Complete { id } => change_status(store, env, &id, StatusChange::Complete, now).await,
        GoalsCommand::Abandon { id } => change_status(store, env, &id, StatusChange::Abandon, now).await,
        GoalsCommand::Delete { id } => {
            if store.delete_goal(&GoalId::from_trusted(id.clone())).await? {
                println!("deleted goal {id} and its history");
                Ok(Exit::Ok)
            } else {
                eprintln!("no goal {id:?} (deleted already?)");
                Ok(Exit::Rejected)
            }
        }
        GoalsCommand::Import { file } => import(store, env, &file).await,
        GoalsCommand::Sync { user } => {
            let users: Vec<UserId> = match user {
                Some(u) => vec![UserId::from_trusted(u)],
                None => store.list_users().await?.into_iter().map(|u| u.id).collect(),
            };
            let done =
                crate::goals::sync_users(store, &mut Alerter::new(&env.settings.email.base_url), &users, now).await?;
            println!(
                "goals: {} progress entries for {} goals, {} completed",
                done.entries, done.goals, done.completed
            );
            Ok(Exit::Ok)
        }
        GoalsCommand::FromTemplate {
            template,
            user,
            params,
            target_date,
            target,
            id,
        } => {
            from_template(
                store,
                env,
                &template,
                &user,
                &params,
                target_date.as_deref(),
                target.as_deref(),
                id,
            )
            .await
        }
    }
}

async fn change_status<S: AlertStorage>(
    store: &S,
    env: &Env,
    id: &str,
    change: StatusChange,
    now: DateTime<Utc>,
) -> anyhow::Result<Exit> {
    let Some(mut goal) = store.get_goal(&GoalId::from_trusted(id.to_owned())).await? else {
        eprintln!("no goal {id:?}; a deleted goal cannot change status");
        return Ok(Exit::Rejected);
    };
    match goal.status.apply(change) {
        Ok(status) => {
            goal.status = status;
            goal.updated_at = now;
            if status == GoalStatus::Completed {
                goal.completed_at = Some(now);
            }
            store.update_goal(&goal).await?;
            if change == StatusChange::Resume {
                crate::goals::resync(store, &mut Alerter::new(&env.settings.email.base_url), &goal, now).await?;
            }
            println!("goal {id} is now {status}");
            Ok(Exit::Ok)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(Exit::Rejected)
        }
    }
}

fn target_text(g: &Goal) -> String {
    if g.goal_type.target_is_percent() {
        format!("{} %", g.target)
    } else {
        g.target.grouped()
    }
}

/// A decimal amount as a string with two places ("1125.00").
fn two_places(d: Decimal) -> String {
    format!(
        "{:.2}",
        d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    )
}

fn grouped(d: Decimal) -> String {
    Money::from_decimal(d).grouped()
}

struct View {
    json: serde_json::Value,
    text: String,
    summary: Summary,
}

/// The latest snapshot of the goal's user, summarised.
async fn latest_snapshot<S: AlertStorage>(
    store: &S,
    goal: &Goal,
    history: &[ProgressEntry],
) -> anyhow::Result<Option<SnapshotSummary>> {
    // From the last entry's month if there is one; else the user's latest
    // snapshot whenever it is (a goal may start after it).
    let from = history.last().map_or(Period::MIN, |e| e.period);
    Ok(store
        .user_snapshots(&goal.user_id, from)
        .await?
        .pop()
        .map(|(_, _, s)| s))
}

async fn view<S: AlertStorage>(store: &S, goal: &Goal, now: DateTime<Utc>) -> anyhow::Result<View> {
    let history = store.progress_history(&goal.id).await?;
    let latest = latest_snapshot(store, goal, &history).await?;
    let user = store.get_user(&goal.user_id).await?;
    let today = user.as_ref().map_or(now.date_naive(), |u| today_for(u, now));
    let s = live_summary(goal, &history, latest.as_ref(), today);
    let percent = (s.progress * 100.0).clamp(0.0, 100.0);
    let json = serde_json::json!({
        "id": goal.id.as_str(),
        "user_id": goal.user_id.as_str(),
        "name": goal.name,
        "type": goal.goal_type.as_str(),
        "status": goal.status.as_str(),
        "target_value": goal.target.to_string(),
        "target_date": goal.target_date.map(|d| d.to_string()),
        "start_date": goal.start_date.to_string(),
        "current_value": two_places(s.current_value),
        "progress_percent": (percent * 100.0).round() / 100.0,
        "on_track": s.on_track,
        "days_elapsed": s.days_elapsed,
        "days_remaining": s.days_remaining,
        "required_monthly_contribution": two_places(s.required_monthly_contribution),
        "current_monthly_pace": two_places(s.current_monthly_pace),
        "projected_completion_date": s.projected_completion_date.map(|d| d.to_string()),
        "projected_final_value": s.projected_final_value.map(two_places),
    });
    let mut text = format!(
        "{} ({}) — {} for {}, {}\n",
        goal.name, goal.id, goal.goal_type, goal.user_id, goal.status
    );
    // The card in the goal type's words first, then the details.
    let words = wording::of_summary(goal.goal_type, goal.target, &s);
    for fact in std::iter::once(&words.standing).chain(&words.needed) {
        text.push_str(&format!("  {}\n", fact.line));
    }
    text.push_str(&format!(
        "  target        {}{}\n",
        target_text(goal),
        goal.target_date.map(|d| format!(" by {d}")).unwrap_or_default()
    ));
    text.push_str(&format!(
        "  progress      {}, {}\n",
        wording::progress_percent(s.progress),
        if s.on_track { "on track" } else { "OFF TRACK" }
    ));
    text.push_str(&format!("  pace          {}/month\n", grouped(s.current_monthly_pace)));
    text.push_str(&format!(
        "  completion    {}\n",
        s.projected_completion_date
            .map_or_else(|| "not at this pace".to_owned(), |d| d.to_string())
    ));
    if let Some(note) = &s.note {
        text.push_str(&format!("  note          {note}\n"));
    }
    text.push_str(&format!("  entries       {}\n", history.len()));
    Ok(View { json, text, summary: s })
}

const GOALS_SPEC: HeaderSpec = HeaderSpec {
    required: &["goal_id", "user_id", "type", "name", "target_value"],
    optional: &["target_date", "start_date", "accounts", "categories"],
};

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) async fn import<S: AlertStorage>(store: &S, env: &Env, file: &Path) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut problems = Problems::default();
    let users: BTreeMap<String, User> = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u))
        .collect();
    let existing: BTreeMap<String, Goal> = store
        .list_goals(None, None)
        .await?
        .into_iter()
        .map(|g| (g.id.to_string(), g))
        .collect();
    let mut goals: Vec<Goal> = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    match Table::open(std::io::BufReader::new(input), &GOALS_SPEC) {
        Err(ps) => problems.extend(ps),
        Ok(mut t) => {
            while let Some(row) = t.next_row() {
                let row = match row {
                    Ok(r) => r,
                    Err(p) => {
                        problems.push(p);
                        continue;
                    }
                };
                let Some(f) = row.fields::<9>(&mut problems) else {
                    continue;
                };
                let bad = |i: usize, expected: String| Problem::field(row.line, row.column(i), f[i], expected);
                let mut row_problems = Vec::new();
                let id = GoalId::parse(f[0])
                    .map_err(|e| row_problems.push(bad(0, format!("a goal id: {e}"))))
                    .ok();
                if let Some(first) = seen.insert(f[0].to_owned(), row.line) {
                    row_problems.push(bad(0, format!("each goal once; it is already on line {first}")));
                }
                let user = users.get(f[1]);
                if user.is_none() {
                    row_problems.push(bad(1, "a registered user".to_owned()));
                }
                let goal_type = f[2].parse::<GoalType>().map_err(|e| row_problems.push(bad(2, e))).ok();
                let target =
                    goal_type.and_then(|t| parse_target(t, f[4]).map_err(|e| row_problems.push(bad(4, e))).ok());
                let target_date = match f[5] {
                    "" => None,
                    d => parse_date("target_date", d)
                        .map_err(|_| row_problems.push(bad(5, "a date as YYYY-MM-DD or empty".into())))
                        .ok(),
                };
                let start_date = match f[6] {
                    "" => None,
                    d => parse_date("start_date", d)
                        .map_err(|_| row_problems.push(bad(6, "a date as YYYY-MM-DD or empty".into())))
                        .ok(),
                };
                if let (Some(id), Some(user), Some(goal_type), Some(target)) = (id, user, goal_type, target) {
                    let mut goal = match existing.get(id.as_str()) {
                        Some(old) if old.goal_type == goal_type => old.clone(),
                        _ => new_goal(id, user, goal_type, now),
                    };
                    goal.user_id = user.id.clone();
                    goal.name = f[3].to_owned();
                    goal.target = target;
                    goal.target_date = target_date;
                    if let Some(start) = start_date {
                        goal.start_date = start;
                    }
                    goal.links = GoalLinks {
                        accounts: split_list(f[7]),
                        categories: split_list(f[8]),
                    };
                    goal.original_balance = goal_type.is_debt().then_some(target);
                    goal.updated_at = now;
                    for p in goal.problems() {
                        let column = match p.field {
                            GoalField::Name => Some(3),
                            GoalField::Target => Some(4),
                            GoalField::TargetDate => Some(5),
                            GoalField::Accounts => Some(7),
                            GoalField::Categories => Some(8),
                            GoalField::ReminderDay => None,
                        };
                        row_problems.push(match column {
                            Some(i) => bad(i, p.expected),
                            None => Problem::line(row.line, p.expected),
                        });
                    }
                    goals.push(goal);
                }
                problems.extend(row_problems);
            }
        }
    }
    if !problems.is_empty() {
        let (listed, total) = problems.into_listed();
        for p in &listed {
            eprintln!("{}: {p}", file.display());
        }
        eprintln!("{}: nothing imported ({total} problems)", file.display());
        return Ok(Exit::Rejected);
    }
    let counts = store.upsert_goals(&goals).await?;
    let mut entries = 0;
    for goal in &goals {
        entries += crate::goals::resync(store, &mut Alerter::new(&env.settings.email.base_url), goal, now)
            .await?
            .entries;
    }
    println!(
        "imported {} goals from {} ({} created, {} updated); {entries} progress entries from stored snapshots",
        goals.len(),
        file.display(),
        counts.created,
        counts.updated
    );
    Ok(Exit::Ok)
}

#[allow(clippy::too_many_arguments)]
async fn from_template<S: AlertStorage>(
    store: &S,
    env: &Env,
    template: &str,
    user: &str,
    params: &[String],
    target_date: Option<&str>,
    target: Option<&str>,
    id: Option<String>,
) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    let Some(t) = templates::find(template) else {
        let ids: Vec<&str> = templates::TEMPLATES.iter().map(|t| t.id).collect();
        eprintln!("unknown template {template:?}; expected one of {}", ids.join(", "));
        return Ok(Exit::Rejected);
    };
    let Some(user) = user_or_reject(store, user).await? else {
        return Ok(Exit::Rejected);
    };
    let mut values = BTreeMap::new();
    for p in params {
        match p.split_once('=') {
            Some((k, v)) => {
                values.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            None => {
                eprintln!("--param: found {p:?}; expected NAME=VALUE");
                return Ok(Exit::Rejected);
            }
        }
    }
    let today = today_for(&user, now);
    let latest = store.user_snapshots(&user.id, Period::MIN).await?.pop();
    let facts = latest.as_ref().map(|(_, _, s)| BudgetFacts::from_summary(s));
    let made = match templates::instantiate(t, &values, facts.as_ref()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Exit::Rejected);
        }
    };
    let id = match id {
        Some(id) => GoalId::from_trusted(id),
        None => unique_id(store, &user.id, t.goal_type).await?,
    };
    let mut goal = new_goal(id, &user, t.goal_type, now);
    goal.name = t.name.to_owned();
    goal.description = Some(t.description.to_owned());
    goal.template_id = Some(t.id.to_owned());
    goal.target = made.target;
    if let Some(custom) = target {
        match parse_target(t.goal_type, custom) {
            Ok(m) => goal.target = m,
            Err(e) => {
                eprintln!("--target: found {custom:?}; {e}");
                return Ok(Exit::Rejected);
            }
        }
    }
    goal.target_date = match target_date {
        Some(d) => match parse_date("--target-date", d) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("{e}");
                return Ok(Exit::Rejected);
            }
        },
        None => made
            .suggested_months
            .and_then(|m| today.checked_add_months(Months::new(m))),
    };
    goal.links = GoalLinks {
        accounts: made.link_accounts.clone(),
        categories: made.link_categories.clone(),
    };
    goal.is_recurring = t.is_recurring;
    goal.recurrence_period = t.recurrence_period;
    if t.goal_type.is_debt() {
        goal.original_balance = Some(goal.target);
    }
    let exit = create(store, env, goal.clone()).await?;
    if exit == Exit::Ok {
        // How the target was derived, and what it takes (seed 10.1).
        let v = view(store, &goal, now).await?;
        match v.summary.months_left.filter(|m| *m > 0 && !t.is_recurring) {
            Some(months) => println!(
                "{}; {}/month for {months} months",
                made.explanation,
                grouped(v.summary.required_monthly_contribution)
            ),
            None => println!("{}", made.explanation),
        }
    }
    Ok(exit)
}

async fn record<S: AlertStorage>(
    store: &S,
    env: &Env,
    goal: &str,
    value: &str,
    period: Option<&str>,
    note: Option<String>,
) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    let Some(mut goal) = goal_or_reject(store, goal).await? else {
        return Ok(Exit::Rejected);
    };
    let (negative, digits) = value.strip_prefix('-').map_or((false, value), |d| (true, d));
    let value = match digits.parse::<Money>() {
        Ok(m) => Money::from_cents(if negative { -m.cents() } else { m.cents() }),
        Err(e) => {
            eprintln!("--value: found {value:?}; {e}");
            return Ok(Exit::Rejected);
        }
    };
    let user = store.get_user(&goal.user_id).await?;
    let today = user.as_ref().map_or(now.date_naive(), |u| today_for(u, now));
    let period = match period {
        Some(p) => match p.parse::<Period>() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("--period: found {p:?}; {e}");
                return Ok(Exit::Rejected);
            }
        },
        None => match Period::of_date(today) {
            Some(p) => p,
            None => anyhow::bail!("today is outside the supported years"),
        },
    };
    let mut history = store.progress_history(&goal.id).await?;
    // The contribution is against the months before, never against a value
    // this one replaces; the alerts compare with the entry before it.
    let before = history.iter().rev().find(|e| e.period < period);
    let previous = before.map(|e| e.value);
    // A custom goal is measured by manual entries only: before its first
    // one it stood at nothing, so a first entry crosses milestones.
    let previous_standing = before
        .map(|e| Standing {
            progress: e.progress,
            on_track: e.on_track,
            off_track_streak: e.off_track_streak,
        })
        .or((goal.goal_type == GoalType::Custom).then_some(Standing {
            progress: 0.0,
            on_track: true,
            off_track_streak: 0,
        }));
    let contribution = previous.map_or(Money::ZERO, |p| value.checked_sub(p).unwrap_or(Money::ZERO));
    history.retain(|e| e.period <= period && !(e.period == period && e.source == ProgressSource::Manual));
    history.push(ProgressEntry {
        id: 0,
        goal_id: goal.id.clone(),
        period,
        value,
        contribution,
        progress: 0.0,
        on_track: true,
        off_track_streak: 0,
        principal_paid: None,
        interest_paid: None,
        source: ProgressSource::Manual,
        snapshot_id: None,
        recorded_at: now,
        note: note.clone(),
    });
    let s = live_summary(&goal, &history, None, period.last_day());
    let standing = Standing::next(previous_standing, s.progress, s.on_track);
    let entry = NewProgress {
        goal_id: goal.id.clone(),
        period,
        value,
        contribution,
        progress: s.progress,
        on_track: s.on_track,
        off_track_streak: standing.off_track_streak,
        source: ProgressSource::Manual,
        snapshot_id: None,
        note,
        debt_seen: Default::default(),
    };
    let evaluation = Evaluation::from_summary(period, contribution, &s);
    let prior = previous_standing.map(|p| Evaluation::previous(p.progress, p.on_track));
    let mut alerter = Alerter::new(&env.settings.email.base_url);
    let card = GoalCard::new(&goal, value, &evaluation);
    let raised = alerts::on_progress(
        &goal,
        prior.as_ref(),
        &evaluation,
        standing.off_track_streak,
        &alerter.base_url,
    )
    .into_iter()
    .map(|alert| {
        (
            goal.id.clone(),
            goal.user_id.clone(),
            Raised {
                period,
                alert,
                card: card.clone(),
            },
        )
    })
    .collect();
    let planned = alerter.plan(store, raised).await?;
    store.add_progress(&entry, &planned, now).await?;
    println!(
        "recorded {} for {} in {period} ({})",
        value.grouped(),
        goal.id,
        wording::progress_percent(s.progress)
    );
    if goal.status == GoalStatus::Active && !goal.goal_type.is_recurring() && s.progress >= 1.0 {
        goal.status = GoalStatus::Completed;
        goal.completed_at = Some(now);
        goal.updated_at = now;
        store.update_goal(&goal).await?;
        println!("goal {} completed", goal.id);
    }
    Ok(Exit::Ok)
}

async fn history<S: AlertStorage>(store: &S, goal: &str, as_json: bool) -> anyhow::Result<Exit> {
    let Some(goal) = goal_or_reject(store, goal).await? else {
        return Ok(Exit::Rejected);
    };
    let entries = store.progress_history(&goal.id).await?;
    if as_json {
        json(&entries)?;
    } else {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                vec![
                    e.period.to_string(),
                    e.source.to_string(),
                    e.value.grouped(),
                    e.contribution.grouped(),
                    wording::progress_percent(e.progress),
                    if e.on_track { "yes".into() } else { "no".into() },
                    e.note.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &[
                    "PERIOD",
                    "SOURCE",
                    "VALUE",
                    "CONTRIBUTION",
                    "PROGRESS",
                    "ON TRACK",
                    "NOTE"
                ],
                &rows
            )
        );
    }
    Ok(Exit::Ok)
}

/// A progress bar with milestone marks at 25, 50 and 75 %.
fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0)) * width as f64).round() as usize;
    (0..width)
        .map(|i| {
            let at_mark = [1, 2, 3].iter().any(|q| i == q * width / 4);
            match (i < filled, at_mark) {
                (true, _) => '█',
                (false, true) => '┆',
                (false, false) => '░',
            }
        })
        .collect()
}

pub(super) async fn dashboard<S: AlertStorage>(
    store: &S,
    env: &Env,
    user: Option<&str>,
    as_json: bool,
) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    let user = user.map(|u| UserId::from_trusted(u.to_owned()));
    let goals = store.list_goals(user.as_ref(), None).await?;
    let color = !as_json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut views = Vec::new();
    for goal in goals.iter().filter(|g| g.status != GoalStatus::Abandoned) {
        views.push((goal, view(store, goal, now).await?));
    }
    if as_json {
        let list: Vec<&serde_json::Value> = views.iter().map(|(_, v)| &v.json).collect();
        json(&list)?;
        return Ok(Exit::Ok);
    }
    if views.is_empty() {
        println!("no goals yet: add one with `goalkeeper goals add` or `goals from-template`");
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|(g, v)| {
            let s = &v.summary;
            let mark = match (g.status, s.on_track) {
                (GoalStatus::Completed, _) => "done".to_owned(),
                (GoalStatus::Paused, _) => "paused".to_owned(),
                (_, true) if color => "\x1b[32m✓ on track\x1b[0m".to_owned(),
                (_, true) => "✓ on track".to_owned(),
                (_, false) if color => "\x1b[31m✗ behind\x1b[0m".to_owned(),
                (_, false) => "✗ behind".to_owned(),
            };
            // The coloured mark goes last, so its escape codes cannot upset the alignment.
            vec![
                g.user_id.to_string(),
                g.name.clone(),
                bar(s.progress, 20),
                // Right-aligned to the width of "100.0 %".
                format!("{:>7}", wording::progress_percent(s.progress)),
                wording::of_summary(g.goal_type, g.target, s).short,
                s.projected_completion_date
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
                mark,
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "USER",
                "GOAL",
                "PROGRESS (┆ = 25/50/75 %)",
                "",
                "NEEDED",
                "PROJECTED",
                "STATUS"
            ],
            &rows
        )
    );
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bar_fills_by_fraction_and_marks_the_milestones() {
        assert_eq!(super::bar(0.0, 8), "░░┆░┆░┆░");
        assert_eq!(super::bar(0.5, 8), "████┆░┆░");
        assert_eq!(super::bar(1.7, 8), "████████");
    }
}
