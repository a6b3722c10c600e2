//! `prefs show|set` and `alerts list|send|read`.

use super::output::{json, table};
use super::{Env, Exit};
use crate::cli::{AlertsCommand, PrefsCommand};
use crate::domain::UserId;
use crate::domain::alerts::AlertType;
use crate::domain::delivery::QuietHours;
use crate::storage::{AlertFilter, AlertStorage, DeliveryStatus, Storage};

pub async fn run_prefs(env: &Env, cmd: PrefsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let outcome = prefs(&store, env, cmd).await;
        store.close().await;
        outcome
    })
}

pub async fn run_alerts(env: &Env, cmd: AlertsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let outcome = alerts(&store, env, cmd).await;
        store.close().await;
        outcome
    })
}

async fn known_user<S: AlertStorage>(store: &S, id: &str) -> anyhow::Result<Option<UserId>> {
    let Ok(user) = UserId::parse(id) else {
        eprintln!("{id:?} is not a user id");
        return Ok(None);
    };
    if store.get_user(&user).await?.is_none() {
        eprintln!("no user {id:?}: register it with `goalkeeper users add`");
        return Ok(None);
    }
    Ok(Some(user))
}

fn parse_types(flag: &str, names: &[String]) -> Result<Vec<AlertType>, String> {
    names
        .iter()
        .map(|n| {
            n.parse::<AlertType>().map_err(|_| {
                let all: Vec<&str> = AlertType::ALL.iter().map(|t| t.as_str()).collect();
                format!("{flag}: found {n:?}; expected one of {}", all.join(", "))
            })
        })
        .collect()
}

async fn prefs<S: AlertStorage>(store: &S, env: &Env, cmd: PrefsCommand) -> anyhow::Result<Exit> {
    match cmd {
        PrefsCommand::Show { user, json: as_json } => {
            let Some(user) = known_user(store, &user).await? else {
                return Ok(Exit::Rejected);
            };
            let prefs = store
                .preferences(&[user.as_str()])
                .await?
                .remove(user.as_str())
                .unwrap_or_default();
            if as_json.json {
                json(&serde_json::json!({ "user_id": user.as_str(), "preferences": prefs }))?;
            } else {
                let onoff = |b: bool| if b { "on" } else { "off" }.to_owned();
                let rows = vec![
                    vec!["email".to_owned(), onoff(prefs.email_enabled)],
                    vec!["emailed types".to_owned(), prefs.enabled_text().replace(',', ", ")],
                    vec![
                        "quiet hours".to_owned(),
                        prefs.quiet_hours.map_or_else(|| "none".to_owned(), |q| q.to_string()),
                    ],
                    vec!["max per day".to_owned(), prefs.max_per_day.to_string()],
                    vec!["min gap hours".to_owned(), prefs.min_gap_hours.to_string()],
                    vec!["in-app".to_owned(), onoff(prefs.in_app_enabled)],
                    vec!["push".to_owned(), onoff(prefs.push_enabled)],
                ];
                print!("{}", table(&["preference", "value"], &rows));
            }
            Ok(Exit::Ok)
        }
        PrefsCommand::Set {
            user,
            quiet_hours,
            max_per_day,
            min_gap_hours,
            enable,
            disable,
            email,
        } => {
            let Some(user) = known_user(store, &user).await? else {
                return Ok(Exit::Rejected);
            };
            let mut problems = Vec::new();
            let enable = parse_types("--enable", &enable).unwrap_or_else(|e| {
                problems.push(e);
                Vec::new()
            });
            let disable = parse_types("--disable", &disable).unwrap_or_else(|e| {
                problems.push(e);
                Vec::new()
            });
            let quiet: Option<Option<QuietHours>> = match quiet_hours.as_deref() {
                None => None,
                Some("none") => Some(None),
                Some(text) => match QuietHours::parse(text) {
                    Ok(q) => Some(q),
                    Err(e) => {
                        problems.push(format!("--quiet-hours: {e}"));
                        None
                    }
                },
            };
            if max_per_day == Some(0) {
                problems
                    .push("--max-per-day: found 0; expected at least 1 (emails are held, never dropped)".to_owned());
            }
            if let Some(t) = enable.iter().find(|t| disable.contains(t)) {
                problems.push(format!("{t} is both enabled and disabled"));
            }
            if !problems.is_empty() {
                for p in problems {
                    eprintln!("{p}");
                }
                return Ok(Exit::Rejected);
            }
            let mut prefs = store
                .preferences(&[user.as_str()])
                .await?
                .remove(user.as_str())
                .unwrap_or_default();
            if let Some(q) = quiet {
                prefs.quiet_hours = q;
            }
            if let Some(n) = max_per_day {
                prefs.max_per_day = n;
            }
            if let Some(h) = min_gap_hours {
                prefs.min_gap_hours = h;
            }
            prefs.enabled.extend(enable);
            for t in disable {
                prefs.enabled.remove(&t);
            }
            if let Some(e) = email {
                prefs.email_enabled = e == "on";
            }
            store.set_preferences(&user, &prefs, env.clock.now()).await?;
            println!("preferences of {user} saved");
            Ok(Exit::Ok)
        }
    }
}

async fn alerts<S: AlertStorage>(store: &S, env: &Env, cmd: AlertsCommand) -> anyhow::Result<Exit> {
    match cmd {
        AlertsCommand::List {
            user,
            status,
            limit,
            json: as_json,
        } => {
            let user = match user {
                Some(u) => match known_user(store, &u).await? {
                    Some(u) => Some(u),
                    None => return Ok(Exit::Rejected),
                },
                None => None,
            };
            let status = match status.as_deref().map(str::parse::<DeliveryStatus>) {
                Some(Err(e)) => {
                    eprintln!("--status: {e}");
                    return Ok(Exit::Rejected);
                }
                Some(Ok(s)) => Some(s),
                None => None,
            };
            let rows = store
                .list_alerts(AlertFilter {
                    user: user.as_ref(),
                    status,
                    limit,
                })
                .await?;
            if as_json.json {
                return json(&rows).map(|()| Exit::Ok);
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|a| {
                    let (email, when, why) = match &a.delivery {
                        None => ("—".to_owned(), String::new(), "not emailed".to_owned()),
                        Some(d) => (
                            d.status.to_string(),
                            d.sent_at.unwrap_or(d.due_at).format("%Y-%m-%d %H:%M").to_string(),
                            d.last_error
                                .clone()
                                .or_else(|| d.hold_reason.clone())
                                .unwrap_or_default(),
                        ),
                    };
                    vec![
                        a.id.to_string(),
                        a.created_at.format("%Y-%m-%d").to_string(),
                        a.user_id.clone(),
                        a.goal_id.clone(),
                        a.alert_type.clone(),
                        a.title.clone(),
                        email,
                        when,
                        why,
                        if a.read_at.is_some() { "read" } else { "" }.to_owned(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "id", "raised", "user", "goal", "type", "title", "email", "at (UTC)", "note", ""
                    ],
                    &cells
                )
            );
            Ok(Exit::Ok)
        }
        AlertsCommand::Send => {
            let summary = crate::email::dispatch(store, &env.settings.email, env.clock.now()).await?;
            println!("{summary}");
            Ok(Exit::Ok)
        }
        AlertsCommand::Read { id } => {
            if store.mark_read(id, env.clock.now()).await? {
                println!("alert {id} marked read");
                Ok(Exit::Ok)
            } else {
                eprintln!("no alert {id}");
                Ok(Exit::Rejected)
            }
        }
    }
}
