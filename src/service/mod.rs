//! The service layer: every operation the CLI and the HTTP API share, over the storage, with `now`
//! and typed inputs in and typed results or one [`Error`] out. A command or a handler is parse, call,
//! print; the business rules live here and in [`crate::domain`].
//!
//! - [`goals`]: adding, updating, status changes, from-template, deleting, listing, syncing.
//! - [`progress`]: manual entries, history, the live summary (a goal's view) and the dashboard.
//! - [`alerts`]: listing alerts, marking them read, preferences.
//! - [`snapshots`]: a user's stored snapshots (read-only).
//! - [`page`]: opaque keyset cursors for paginated lists.
//!
//! **Access** is checked in one place, [`Caller::owns`]: every call names its [`Caller`], and an
//! object of another user is [`Error::NotFound`], exactly as one that does not exist (no probing).

pub mod alerts;
pub mod goals;
pub mod page;
pub mod progress;
pub mod snapshots;

use crate::domain::{Money, User, UserId};
use crate::storage::AlertStorage;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A person: sees and changes only their own data.
    User(UserId),
    /// An operator (the CLI, an admin token): any user's data; `acting_for` narrows it to one user
    /// (`--user` on the command line, `?user=` in the API) and names whose goal a creation makes.
    Admin { acting_for: Option<UserId> },
}

impl Caller {
    /// An operator acting for everyone.
    pub const OPERATOR: Caller = Caller::Admin { acting_for: None };

    /// The access check: whether this caller may see or change an object of `owner`.
    pub fn owns(&self, owner: &UserId) -> bool {
        match self {
            Caller::User(me) => me == owner,
            Caller::Admin { acting_for: None } => true,
            Caller::Admin { acting_for: Some(u) } => u == owner,
        }
    }

    /// The one user whose data a list shows, or `None` for everyone's.
    pub fn scope(&self) -> Option<&UserId> {
        match self {
            Caller::User(me) => Some(me),
            Caller::Admin { acting_for } => acting_for.as_ref(),
        }
    }

    /// The user a creation is for: the caller, or the user an operator acts for.
    pub fn subject(&self) -> Result<&UserId, Error> {
        self.scope()
            .ok_or_else(|| Error::invalid("user", "a user id to act for (?user=ID with an admin token)"))
    }
}

/// One bad input field and what was expected instead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field's name as in the API's JSON (the CLI maps it to its flag).
    pub field: String,
    /// What was wrong: usually `found "x"; expected ...` or `expected ...`.
    pub message: String,
}

/// Why a service call did nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such object for this caller (absent, or another user's).
    #[error("no {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    /// Input refused: every bad field, not just the first.
    #[error("{}", .0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// Valid input that the object's current state refuses (a status change, an existing id).
    #[error("{0}")]
    Conflict(String),
    /// The request cannot be met with what is stored (a template needs a snapshot first).
    #[error("{0}")]
    Unprocessable(String),
    /// The object changed since the caller read it (`If-Match`).
    #[error("the {what} changed since it was read: read it again and retry")]
    Stale { what: &'static str },
    /// The database or another adapter failed: not the caller's fault.
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn not_found(what: &'static str, id: impl Into<String>) -> Error {
        Error::NotFound { what, id: id.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Collects bad fields; [`Problems::finish`] fails with all of them.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

/// The service: storage and the settings the rules need. Cheap to clone (the HTTP state).
#[derive(Debug, Clone)]
pub struct Service<S> {
    pub store: S,
    /// `[email] base_url`, for alerts' action links.
    pub base_url: Arc<str>,
}

impl<S: AlertStorage> Service<S> {
    pub fn new(store: S, base_url: &str) -> Service<S> {
        Service {
            store,
            base_url: base_url.into(),
        }
    }

    fn alerter(&self) -> crate::goals::Alerter {
        crate::goals::Alerter::new(&self.base_url)
    }

    /// The caller's view of a user: `NotFound` when absent or not theirs.
    pub async fn user(&self, caller: &Caller, id: &str) -> Result<User> {
        let found = match UserId::parse(id) {
            Ok(u) if caller.owns(&u) => self.store.get_user(&u).await?,
            _ => None,
        };
        found.ok_or_else(|| Error::not_found("user", id))
    }

    /// Every user an operator may list (one for a person).
    pub async fn users(&self, caller: &Caller) -> Result<Vec<User>> {
        Ok(self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| caller.owns(&u.id))
            .collect())
    }
}

/// A date as `YYYY-MM-DD`, or what was expected.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("found {s:?}; expected a date as YYYY-MM-DD"))
}

/// A goal's target: an amount, or a percentage for a savings-rate goal.
pub fn parse_target(goal_type: crate::domain::GoalType, s: &str) -> Result<Money, String> {
    let m = s.parse::<Money>().map_err(|e| e.to_string())?;
    if goal_type.target_is_percent() && m.cents() > 10_000 {
        return Err("expected a percentage of income from 0 to 100".to_owned());
    }
    Ok(m)
}

/// Today in the user's time zone.
pub fn today_for(user: &User, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&user.timezone).date_naive()
}
