//! `prefs show|set` and `alerts list|send|read`.

use super::output::{json, table};
use super::{Env, Exit, refused};
use crate::cli::{AlertsCommand, PrefsCommand};
use crate::service::alerts::{AlertQuery, PreferenceChanges};
use crate::service::{Caller, Service};
use crate::storage::{AlertStorage, Storage};

fn no_user(what: &str, id: &str) -> String {
    match what {
        "user" => format!("no user {id:?}: register it with `goalkeeper users add`"),
        _ => format!("no {what} {id:?}"),
    }
}

pub async fn run_prefs(env: &Env, cmd: PrefsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let outcome = prefs(&super::goals::service(&store, env), env, cmd).await;
        store.close().await;
        outcome
    })
}

pub async fn run_alerts(env: &Env, cmd: AlertsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let outcome = alerts(&super::goals::service(&store, env), env, cmd).await;
        store.close().await;
        outcome
    })
}

async fn prefs<S: AlertStorage>(svc: &Service<S>, env: &Env, cmd: PrefsCommand) -> anyhow::Result<Exit> {
    match cmd {
        PrefsCommand::Show { user, json: as_json } => {
            let (user, prefs) = match svc.preferences(&Caller::OPERATOR, &user).await {
                Ok(p) => p,
                Err(e) => return refused(e, no_user),
            };
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
            let changes = PreferenceChanges {
                quiet_hours: quiet_hours.map(Some),
                max_per_day,
                min_gap_hours,
                enable,
                disable,
                email_enabled: email.map(|e| e == "on"),
                ..PreferenceChanges::default()
            };
            if let Err(e) = svc
                .set_preferences(&Caller::OPERATOR, env.clock.now(), &user, &changes)
                .await
            {
                return refused(e, no_user);
            }
            println!("preferences of {user} saved");
            Ok(Exit::Ok)
        }
    }
}

async fn alerts<S: AlertStorage>(svc: &Service<S>, env: &Env, cmd: AlertsCommand) -> anyhow::Result<Exit> {
    match cmd {
        AlertsCommand::List {
            user,
            status,
            limit,
            json: as_json,
        } => {
            let caller = match &user {
                // An unknown user is refused, not shown as an empty list.
                Some(u) => match svc.user(&Caller::OPERATOR, u).await {
                    Ok(u) => Caller::Admin { acting_for: Some(u.id) },
                    Err(e) => return refused(e, no_user),
                },
                None => Caller::OPERATOR,
            };
            let query = AlertQuery {
                status,
                unread: None,
                limit,
            };
            let rows = match svc.alerts(&caller, &query).await {
                Ok(rows) => rows,
                Err(e) => return refused(e, no_user),
            };
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
            let summary = crate::dispatch::send_due(&svc.store, &env.settings.email, env.clock.now()).await?;
            println!("{summary}");
            Ok(Exit::Ok)
        }
        AlertsCommand::Read { id } => match svc.mark_read(&Caller::OPERATOR, env.clock.now(), id).await {
            Ok(_) => {
                println!("alert {id} marked read");
                Ok(Exit::Ok)
            }
            Err(e) => refused(e, |_, id| format!("no alert {id}")),
        },
    }
}
