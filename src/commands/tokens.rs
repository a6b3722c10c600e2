//! `tokens create | list | revoke`: parse, call [`crate::auth::issue`], print. The token is
//! printed once, alone on stdout (so `TOKEN=$(goalkeeper tokens create --user ana)` captures
//! it); what it is and the warning that it is not shown again go to stderr.

use super::output::{json, table};
use super::{Env, Exit};
use crate::auth::Principal;
use crate::auth::issue::{self, CreateToken, Expiry, TokenError, TokenView};
use crate::cli::TokensCommand;
use crate::domain::UserId;
use crate::storage::{RevokeOutcome, Storage, TokenStorage};
use chrono::{DateTime, Utc};

pub async fn run(env: &Env, cmd: TokensCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = tokens(&store, env, cmd).await;
        store.close().await;
        exit
    })
}

async fn tokens<S: TokenStorage>(store: &S, env: &Env, cmd: TokensCommand) -> anyhow::Result<Exit> {
    let now = env.clock.now();
    let outcome = match cmd {
        TokensCommand::Create {
            user,
            admin: _,
            name,
            expires,
            json,
        } => {
            // clap makes --user and --admin exclusive, and one of them required.
            let principal = match user {
                Some(user) => match parse_user(&user) {
                    Some(id) => Principal::User(id),
                    None => return Ok(Exit::Rejected),
                },
                None => Principal::Admin,
            };
            let expires = match expires.as_deref().map(str::parse::<Expiry>).transpose() {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("--expires: {e}");
                    return Ok(Exit::Rejected);
                }
            };
            let request = CreateToken {
                principal,
                name,
                expires,
            };
            create(store, request, now, json.json).await
        }
        TokensCommand::List { user, json } => {
            let user = match user.as_deref().map(|u| parse_user(u).ok_or(())).transpose() {
                Ok(u) => u,
                Err(()) => return Ok(Exit::Rejected),
            };
            list(store, user.as_ref(), now, json.json).await
        }
        TokensCommand::Revoke { id } => revoke(store, id, now).await,
    };
    match outcome {
        Ok(()) => Ok(Exit::Ok),
        Err(e) if e.is_rejection() => {
            eprintln!("{e}");
            Ok(Exit::Rejected)
        }
        Err(e) => Err(e.into()),
    }
}

/// The user id of a `--user` flag, or `None` after saying why not.
fn parse_user(id: &str) -> Option<UserId> {
    match UserId::parse(id) {
        Ok(id) => Some(id),
        Err(e) => {
            eprintln!("--user: found {id:?}; {e}");
            None
        }
    }
}

async fn create<S: TokenStorage>(
    store: &S,
    request: CreateToken,
    now: DateTime<Utc>,
    as_json: bool,
) -> Result<(), TokenError> {
    let issued = issue::create(store, request, now).await?;
    let view = TokenView {
        status: issue::TokenStatus::of(&issued.row, now),
        row: issued.row,
    };
    if as_json {
        #[derive(serde::Serialize)]
        struct Created<'a> {
            token: &'a str,
            #[serde(flatten)]
            view: &'a TokenView,
        }
        let created = Created {
            token: issued.token.expose(),
            view: &view,
        };
        json(&created).map_err(TokenError::Storage)?;
    } else {
        println!("{}", issued.token.expose());
    }
    let whom = match &view.row.user_id {
        Some(user) => format!("user {user}"),
        None => "an operator (admin: any user)".to_owned(),
    };
    let until = match view.row.expires_at {
        Some(at) => format!(
            "until {} ({})",
            at.with_timezone(&issued.zone).format("%Y-%m-%d %H:%M %Z"),
            issued.zone.name()
        ),
        None => "without expiry".to_owned(),
    };
    eprintln!("created token {} for {whom}, {until}", view.row.id);
    eprintln!(
        "warning: this is the only time the token is shown; store it now (goalkeeper keeps only its SHA-256). \
         Revoke it with `goalkeeper tokens revoke {}`.",
        view.row.id
    );
    Ok(())
}

fn when(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or_else(|| none.to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

async fn list<S: TokenStorage>(
    store: &S,
    user: Option<&UserId>,
    now: DateTime<Utc>,
    as_json: bool,
) -> Result<(), TokenError> {
    let views = issue::list(store, user, now).await?;
    if as_json {
        return json(&views).map_err(TokenError::Storage);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            vec![
                v.row.id.to_string(),
                v.row
                    .user_id
                    .as_ref()
                    .map_or_else(|| "(admin)".to_owned(), ToString::to_string),
                v.row.name.clone().unwrap_or_default(),
                when(Some(v.row.created_at), ""),
                when(v.row.expires_at, "never"),
                when(v.row.last_used_at, "never"),
                match v.row.revoked_at {
                    Some(at) => format!("revoked {}", when(Some(at), "")),
                    None => v.status.as_str().to_owned(),
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["ID", "USER", "NAME", "CREATED", "EXPIRES", "LAST USED", "STATUS"],
            &rows
        )
    );
    Ok(())
}

async fn revoke<S: TokenStorage>(store: &S, id: i64, now: DateTime<Utc>) -> Result<(), TokenError> {
    match issue::revoke(store, id, now).await? {
        RevokeOutcome::AlreadyRevoked(at) => {
            println!("token {id} was already revoked at {}", when(Some(at), ""));
        }
        _ => println!("revoked token {id}: it no longer authenticates"),
    }
    Ok(())
}
