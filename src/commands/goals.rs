//! `goals ...`, `progress ...`, `templates ...` and `dashboard`: parse, call [`crate::service`], print.

use super::output::{json, table};
use super::{Env, Exit, operator, refused};
use crate::cli::{GoalFields, GoalsCommand, ProgressCommand, TemplatesCommand};
use crate::domain::goal::{GoalStatus, StatusChange};
use crate::domain::templates;
use crate::domain::wording;
use crate::domain::{Goal, Money, User};
use crate::service::goals::{GoalChanges, GoalFilter, NewGoal, TemplateRequest};
use crate::service::progress::{GoalView, ManualEntry};
use crate::service::{Caller, Service};
use crate::storage::{AlertStorage, Storage};
use anyhow::Context;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

pub(super) fn service<S: AlertStorage>(store: &S, env: &Env) -> Service<S> {
    Service::new(store.clone(), &env.settings.email.base_url)
}

pub async fn run_goals(env: &Env, cmd: GoalsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = goals(&service(&store, env), env, cmd).await;
        store.close().await;
        exit
    })
}

pub async fn run_progress(env: &Env, cmd: ProgressCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let svc = service(&store, env);
        let exit = match cmd {
            ProgressCommand::Record {
                goal,
                value,
                period,
                note,
            } => record(&svc, env, &goal, ManualEntry { value, period, note }).await,
            ProgressCommand::History { goal, json } => history(&svc, &goal, json.json).await,
        };
        store.close().await;
        exit
    })
}

pub async fn run_dashboard(env: &Env, user: Option<String>, as_json: bool) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = dashboard(&service(&store, env), env, user.as_deref(), as_json).await;
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

/// The flags as changes: an empty list leaves the links as they are.
fn changes(f: GoalFields, no_target_date: bool) -> GoalChanges {
    GoalChanges {
        name: f.name,
        target_value: f.target,
        target_date: if no_target_date {
            Some(None)
        } else {
            f.target_date.map(Some)
        },
        start_date: f.start_date,
        accounts: (!f.accounts.is_empty()).then_some(f.accounts),
        categories: (!f.categories.is_empty()).then_some(f.categories),
        description: f.description,
    }
}

fn unknown_user(_: &str, id: &str) -> String {
    format!("unknown user {id:?}: register it with `goalkeeper users add` first")
}

fn no_goal(what: &str, id: &str) -> String {
    format!("no {what} {id:?}")
}

async fn goals<S: AlertStorage>(svc: &Service<S>, env: &Env, cmd: GoalsCommand) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    match cmd {
        GoalsCommand::Add {
            user,
            goal_type,
            id,
            fields,
        } => {
            let new = NewGoal {
                goal_type,
                id,
                fields: changes(fields, false),
            };
            match svc.add_goal(&operator(Some(&user)), now, new).await {
                Ok(done) => {
                    let goal = &done.goal;
                    println!(
                        "added goal {} ({}, {}): {} progress entries from stored snapshots{}",
                        goal.id,
                        goal.goal_type,
                        goal.name,
                        done.resynced.entries,
                        if done.resynced.completed {
                            "; already completed"
                        } else {
                            ""
                        }
                    );
                    Ok(Exit::Ok)
                }
                Err(e) => refused(e, unknown_user),
            }
        }
        GoalsCommand::List {
            user,
            status,
            json: flag,
        } => {
            let filter = GoalFilter {
                status,
                goal_type: None,
            };
            let goals = match svc.goals(&operator(user.as_deref()), &filter).await {
                Ok(g) => g,
                Err(e) => return refused(e, no_goal),
            };
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
            let (goal, view) = match svc.summary(&Caller::OPERATOR, now, &id).await {
                Ok(v) => v,
                Err(e) => return refused(e, no_goal),
            };
            if flag.json {
                json(&view)?;
            } else {
                print!("{}", view_text(&goal, &view));
            }
            Ok(Exit::Ok)
        }
        GoalsCommand::Update {
            id,
            fields,
            no_target_date,
        } => {
            let changes = changes(fields, no_target_date);
            match svc.update_goal(&Caller::OPERATOR, now, &id, &changes, None).await {
                Ok(done) => {
                    println!(
                        "updated goal {}: {} progress entries recomputed",
                        done.goal.id, done.resynced.entries
                    );
                    Ok(Exit::Ok)
                }
                Err(e) => refused(e, no_goal),
            }
        }
        GoalsCommand::Pause { id } => change_status(svc, env, &id, StatusChange::Pause).await,
        GoalsCommand::Resume { id } => change_status(svc, env, &id, StatusChange::Resume).await,
        GoalsCommand::Complete { id } => change_status(svc, env, &id, StatusChange::Complete).await,
        GoalsCommand::Abandon { id } => change_status(svc, env, &id, StatusChange::Abandon).await,
        GoalsCommand::Delete { id } => match svc.delete_goal(&Caller::OPERATOR, &id).await {
            Ok(()) => {
                println!("deleted goal {id} and its history");
                Ok(Exit::Ok)
            }
            Err(e) => refused(e, |_, id| format!("no goal {id:?} (deleted already?)")),
        },
        GoalsCommand::Import { file } => import(svc, env, &file).await,
        GoalsCommand::Sync { user } => match svc.sync(&operator(user.as_deref()), now).await {
            Ok(done) => {
                println!(
                    "goals: {} progress entries for {} goals, {} completed",
                    done.entries, done.goals, done.completed
                );
                Ok(Exit::Ok)
            }
            Err(e) => refused(e, no_goal),
        },
        GoalsCommand::FromTemplate {
            template,
            user,
            params,
            target_date,
            target,
            id,
        } => {
            let mut values = BTreeMap::new();
            for p in &params {
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
            let req = TemplateRequest {
                template: template.clone(),
                params: values,
                target_date,
                target_value: target,
                id,
            };
            match svc.from_template(&operator(Some(&user)), now, &req).await {
                Ok(made) => {
                    let goal = &made.saved.goal;
                    println!(
                        "added goal {} ({}, {}): {} progress entries from stored snapshots{}",
                        goal.id,
                        goal.goal_type,
                        goal.name,
                        made.saved.resynced.entries,
                        if made.saved.resynced.completed {
                            "; already completed"
                        } else {
                            ""
                        }
                    );
                    println!("{}", made.explanation);
                    Ok(Exit::Ok)
                }
                Err(crate::service::Error::Invalid(fields)) if fields.iter().any(|f| f.field == "template") => {
                    let ids: Vec<&str> = templates::TEMPLATES.iter().map(|t| t.id).collect();
                    eprintln!("unknown template {template:?}; expected one of {}", ids.join(", "));
                    Ok(Exit::Rejected)
                }
                Err(e) => refused(e, unknown_user),
            }
        }
    }
}

async fn change_status<S: AlertStorage>(
    svc: &Service<S>,
    env: &Env,
    id: &str,
    change: StatusChange,
) -> anyhow::Result<Exit> {
    match svc.change_status(&Caller::OPERATOR, env.clock.now(), id, change).await {
        Ok(goal) => {
            println!("goal {id} is now {}", goal.status);
            Ok(Exit::Ok)
        }
        Err(e) => refused(e, |_, id| {
            format!("no goal {id:?}; a deleted goal cannot change status")
        }),
    }
}

fn target_text(g: &Goal) -> String {
    if g.goal_type.target_is_percent() {
        format!("{} %", g.target)
    } else {
        g.target.grouped()
    }
}

fn grouped(d: Decimal) -> String {
    Money::from_decimal(d).grouped()
}

/// `goals show` for people: the card in the goal type's words first, then the details.
fn view_text(goal: &Goal, view: &GoalView) -> String {
    let s = &view.summary;
    let mut text = format!(
        "{} ({}) — {} for {}, {}\n",
        goal.name, goal.id, goal.goal_type, goal.user_id, goal.status
    );
    for fact in std::iter::once(&view.standing).chain(&view.needed) {
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
    text.push_str(&format!("  entries       {}\n", view.entries));
    text
}

pub(super) async fn import<S: AlertStorage>(svc: &Service<S>, env: &Env, file: &Path) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let store = &svc.store;
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
    let goals = match super::goals_import::read_import(std::io::BufReader::new(input), &users, &existing, now) {
        Ok(goals) => goals,
        Err(problems) => {
            let (listed, total) = problems.into_listed();
            for p in &listed {
                eprintln!("{}: {p}", file.display());
            }
            if total > listed.len() as u64 {
                eprintln!(
                    "{}: ... and {} more problems",
                    file.display(),
                    total - listed.len() as u64
                );
            }
            eprintln!("{}: nothing imported ({total} problems)", file.display());
            return Ok(Exit::Rejected);
        }
    };
    let (created, updated, entries) = match svc.import_goals(&Caller::OPERATOR, now, &goals).await {
        Ok(c) => c,
        Err(e) => return refused(e, unknown_user),
    };
    println!(
        "imported {} goals from {} ({} created, {} updated); {entries} progress entries from stored snapshots",
        goals.len(),
        file.display(),
        created,
        updated
    );
    Ok(Exit::Ok)
}

async fn record<S: AlertStorage>(svc: &Service<S>, env: &Env, goal: &str, entry: ManualEntry) -> anyhow::Result<Exit> {
    match svc.record(&Caller::OPERATOR, env.clock.now(), goal, entry).await {
        Ok(done) => {
            println!(
                "recorded {} for {goal} in {} ({})",
                done.value.grouped(),
                done.period,
                wording::progress_percent(done.progress)
            );
            if done.completed {
                println!("goal {goal} completed");
            }
            Ok(Exit::Ok)
        }
        Err(e) => refused(e, no_goal),
    }
}

async fn history<S: AlertStorage>(svc: &Service<S>, goal: &str, as_json: bool) -> anyhow::Result<Exit> {
    let entries = match svc.history(&Caller::OPERATOR, goal).await {
        Ok(e) => e,
        Err(e) => return refused(e, no_goal),
    };
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
    svc: &Service<S>,
    env: &Env,
    user: Option<&str>,
    as_json: bool,
) -> anyhow::Result<Exit> {
    let views = match svc.dashboard(&operator(user), env.clock.now()).await {
        Ok(v) => v,
        Err(e) => return refused(e, no_goal),
    };
    let color = !as_json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    if as_json {
        let list: Vec<&GoalView> = views.iter().map(|(_, d)| &d.view).collect();
        json(&list)?;
        return Ok(Exit::Ok);
    }
    if views.is_empty() {
        println!("no goals yet: add one with `goalkeeper goals add` or `goals from-template`");
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|(g, d)| {
            let s = &d.view.summary;
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
                d.view.needed_short.clone(),
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
