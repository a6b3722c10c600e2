//! Goals: add, update, status changes, from-template, delete, list, sync.

use super::page::{Page, PageRequest};
use super::{Caller, Error, Problems, Result, Service, parse_date, parse_target, today_for};
use crate::domain::goal::{GoalField, GoalLinks, GoalStatus, StatusChange};
use crate::domain::templates::{self, BudgetFacts, TemplateError};
use crate::domain::{Goal, GoalId, GoalType, Money, Period, User, UserId};
use crate::goals::{Resynced, SyncSummary};
use crate::storage::{AddOutcome, AlertStorage};
use chrono::{DateTime, Months, Utc};
use std::collections::BTreeMap;

/// What to set on a goal; `None` leaves a field as it is. Money and dates are text, checked here,
/// so every surface reports a bad one the same way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalChanges {
    pub name: Option<String>,
    /// An amount, or a percentage for a savings-rate goal.
    pub target_value: Option<String>,
    /// `Some(None)` removes the deadline.
    pub target_date: Option<Option<String>>,
    pub start_date: Option<String>,
    pub accounts: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub description: Option<String>,
}

/// A goal to create for the caller (or the user an operator acts for).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewGoal {
    pub goal_type: String,
    /// Made up from the user and type when absent.
    pub id: Option<String>,
    pub fields: GoalChanges,
}

/// Which goals a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalFilter {
    pub status: Option<String>,
    pub goal_type: Option<String>,
}

/// A goal created or changed, and what recomputing its progress did.
#[derive(Debug, Clone)]
pub struct Saved {
    pub goal: Goal,
    pub resynced: Resynced,
}

/// A goal made from a template, and how its target was derived.
#[derive(Debug, Clone)]
pub struct FromTemplate {
    pub saved: Saved,
    /// For people: how the template computed the target.
    pub explanation: String,
}

/// A template-made goal's request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateRequest {
    pub template: String,
    pub params: BTreeMap<String, String>,
    pub target_date: Option<String>,
    /// Replaces the template's target.
    pub target_value: Option<String>,
    pub id: Option<String>,
}

/// The JSON name of the field a goal problem is about.
pub fn field_name(field: GoalField) -> &'static str {
    match field {
        GoalField::Name => "name",
        GoalField::Target => "target_value",
        GoalField::TargetDate => "target_date",
        GoalField::Accounts => "links.accounts",
        GoalField::Categories => "links.categories",
        GoalField::ReminderDay => "reminder_day",
    }
}

/// A goal's version for `If-Match`: a digest of everything stored about it.
pub fn etag(goal: &Goal) -> String {
    use sha2::Digest;
    let bytes = serde_json::to_vec(goal).unwrap_or_default();
    let digest = sha2::Sha256::digest(&bytes);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A fresh goal of `user` with nothing set but its type and today's start.
pub fn blank_goal(id: GoalId, user: &User, goal_type: GoalType, now: DateTime<Utc>) -> Goal {
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

/// Applies the changes to `goal`, collecting every problem.
fn apply(goal: &mut Goal, f: &GoalChanges, problems: &mut Problems) {
    if let Some(name) = &f.name {
        goal.name = name.clone();
    }
    if let Some(t) = &f.target_value {
        match parse_target(goal.goal_type, t) {
            Ok(m) => goal.target = m,
            Err(e) => problems.push("target_value", format!("found {t:?}; {e}")),
        }
    }
    match &f.target_date {
        Some(Some(d)) => match parse_date(d) {
            Ok(d) => goal.target_date = Some(d),
            Err(e) => problems.push("target_date", e),
        },
        Some(None) => goal.target_date = None,
        None => {}
    }
    if let Some(d) = &f.start_date {
        match parse_date(d) {
            Ok(d) => goal.start_date = d,
            Err(e) => problems.push("start_date", e),
        }
    }
    if let Some(a) = &f.accounts {
        goal.links.accounts = a.clone();
    }
    if let Some(c) = &f.categories {
        goal.links.categories = c.clone();
    }
    if let Some(d) = &f.description {
        goal.description = Some(d.clone());
    }
    if goal.goal_type.is_debt() {
        goal.original_balance = Some(goal.target);
    }
}

/// The goal's own rules (a target above zero, one debt account, ...).
fn check(goal: &Goal, problems: &mut Problems) {
    for p in goal.problems() {
        problems.push(field_name(p.field), format!("expected {}", p.expected));
    }
}

fn parse_type(s: &str) -> Result<GoalType> {
    s.parse::<GoalType>()
        .map_err(|e| Error::invalid("type", format!("found {s:?}; {e}")))
}

fn parse_status(s: &str) -> Result<GoalStatus> {
    s.parse::<GoalStatus>().map_err(|e| Error::invalid("status", e))
}

impl<S: AlertStorage> Service<S> {
    /// The caller's goal: `NotFound` when absent or another user's.
    pub async fn goal(&self, caller: &Caller, id: &str) -> Result<Goal> {
        let found = match GoalId::parse(id) {
            Ok(id) => self.store.get_goal(&id).await?,
            Err(_) => None,
        };
        found
            .filter(|g| caller.owns(&g.user_id))
            .ok_or_else(|| Error::not_found("goal", id))
    }

    async fn unique_id(&self, user: &UserId, goal_type: GoalType) -> Result<GoalId> {
        let existing = self.store.list_goals(Some(user), None).await?;
        for n in 1..=existing.len() + 1 {
            let id = GoalId::parse(&format!("{user}-{goal_type}-{n}"))
                .map_err(|e| Error::invalid("id", format!("cannot make an id from the user id: {e}")))?;
            if !existing.iter().any(|g| g.id == id) {
                return Ok(id);
            }
        }
        Err(Error::Conflict("no free goal id".to_owned()))
    }

    async fn new_id(&self, user: &UserId, goal_type: GoalType, id: Option<&str>) -> Result<GoalId> {
        match id {
            Some(id) => GoalId::parse(id).map_err(|e| Error::invalid("id", e.to_string())),
            None => self.unique_id(user, goal_type).await,
        }
    }

    /// Stores a new goal and backfills its progress from stored snapshots.
    async fn create(&self, goal: Goal, now: DateTime<Utc>) -> Result<Saved> {
        let mut problems = Problems::default();
        check(&goal, &mut problems);
        problems.finish()?;
        if self.store.add_goal(&goal).await? == AddOutcome::AlreadyExists {
            return Err(Error::Conflict(format!("a goal with id {} exists already", goal.id)));
        }
        let resynced = crate::goals::resync(&self.store, &mut self.alerter(), &goal, now).await?;
        Ok(Saved { goal, resynced })
    }

    pub async fn add_goal(&self, caller: &Caller, now: DateTime<Utc>, new: NewGoal) -> Result<Saved> {
        let user = self.user(caller, caller.subject()?.as_str()).await?;
        let goal_type = parse_type(&new.goal_type)?;
        let id = self.new_id(&user.id, goal_type, new.id.as_deref()).await?;
        let mut goal = blank_goal(id, &user, goal_type, now);
        let mut problems = Problems::default();
        apply(&mut goal, &new.fields, &mut problems);
        if new.fields.name.is_none() {
            problems.push("name", "a name is required");
        }
        if new.fields.target_value.is_none() {
            problems.push("target_value", "a target is required");
        }
        problems.finish()?;
        self.create(goal, now).await
    }

    /// Changes a goal and recomputes its progress. `if_match` (an [`etag`], or `*`) must name the
    /// stored version when given.
    pub async fn update_goal(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        id: &str,
        changes: &GoalChanges,
        if_match: Option<&str>,
    ) -> Result<Saved> {
        let mut goal = self.goal(caller, id).await?;
        if let Some(tag) = if_match
            && tag.trim() != "*"
            && !tag.split(',').any(|t| t.trim().trim_start_matches("W/") == etag(&goal))
        {
            return Err(Error::Stale { what: "goal" });
        }
        let mut problems = Problems::default();
        apply(&mut goal, changes, &mut problems);
        check(&goal, &mut problems);
        problems.finish()?;
        goal.updated_at = now;
        self.store.update_goal(&goal).await?;
        let resynced = crate::goals::resync(&self.store, &mut self.alerter(), &goal, now).await?;
        Ok(Saved { goal, resynced })
    }

    /// Pauses, resumes, completes or abandons a goal; a resumed goal catches up with the snapshots.
    pub async fn change_status(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        id: &str,
        change: StatusChange,
    ) -> Result<Goal> {
        let mut goal = self.goal(caller, id).await?;
        let status = goal.status.apply(change).map_err(Error::Conflict)?;
        goal.status = status;
        goal.updated_at = now;
        if status == GoalStatus::Completed {
            goal.completed_at = Some(now);
        }
        self.store.update_goal(&goal).await?;
        if change == StatusChange::Resume {
            crate::goals::resync(&self.store, &mut self.alerter(), &goal, now).await?;
        }
        Ok(goal)
    }

    /// Deletes a goal with its history.
    pub async fn delete_goal(&self, caller: &Caller, id: &str) -> Result<()> {
        let goal = self.goal(caller, id).await?;
        if self.store.delete_goal(&goal.id).await? {
            Ok(())
        } else {
            Err(Error::not_found("goal", id))
        }
    }

    /// The caller's goals, by user then id.
    pub async fn goals(&self, caller: &Caller, filter: &GoalFilter) -> Result<Vec<Goal>> {
        let status = filter.status.as_deref().map(parse_status).transpose()?;
        let goal_type = filter.goal_type.as_deref().map(parse_type).transpose()?;
        let goals = self.store.list_goals(caller.scope(), status).await?;
        Ok(goals
            .into_iter()
            .filter(|g| caller.owns(&g.user_id) && goal_type.is_none_or(|t| g.goal_type == t))
            .collect())
    }

    /// A page of [`Service::goals`], by id.
    pub async fn goals_page(&self, caller: &Caller, filter: &GoalFilter, page: &PageRequest) -> Result<Page<Goal>> {
        let mut goals = self.goals(caller, filter).await?;
        goals.sort_by(|a, b| a.id.cmp(&b.id));
        page.page(goals, |g| g.id.to_string())
    }

    /// Recomputes the progress of the caller's active goals (of every user for an operator) from the
    /// stored snapshots.
    pub async fn sync(&self, caller: &Caller, now: DateTime<Utc>) -> Result<SyncSummary> {
        let users: Vec<UserId> = match caller.scope() {
            Some(u) => vec![u.clone()],
            None => self.store.list_users().await?.into_iter().map(|u| u.id).collect(),
        };
        Ok(crate::goals::sync_users(&self.store, &mut self.alerter(), &users, now).await?)
    }

    /// Stores goals read from a file (created or replaced) and recomputes each one's progress;
    /// returns (created, updated, entries). Every goal must be the caller's.
    pub async fn import_goals(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        goals: &[Goal],
    ) -> Result<(usize, usize, usize)> {
        if let Some(g) = goals.iter().find(|g| !caller.owns(&g.user_id)) {
            return Err(Error::not_found("user", g.user_id.as_str()));
        }
        let counts = self.store.upsert_goals(goals).await?;
        let mut entries = 0;
        let mut alerter = self.alerter();
        for goal in goals {
            entries += crate::goals::resync(&self.store, &mut alerter, goal, now)
                .await?
                .entries;
        }
        Ok((counts.created, counts.updated, entries))
    }

    /// A goal made from a template, with the target it derives from the latest snapshot.
    pub async fn from_template(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        req: &TemplateRequest,
    ) -> Result<FromTemplate> {
        let ids: Vec<&str> = templates::TEMPLATES.iter().map(|t| t.id).collect();
        let t = templates::find(&req.template)
            .ok_or_else(|| Error::invalid("template", format!("expected one of {}", ids.join(", "))))?;
        let user = self.user(caller, caller.subject()?.as_str()).await?;
        let today = today_for(&user, now);
        let latest = self.store.user_snapshots(&user.id, Period::MIN).await?.pop();
        let facts = latest.as_ref().map(|(_, _, s)| BudgetFacts::from_summary(s));
        let made = templates::instantiate(t, &req.params, facts.as_ref()).map_err(|e| match &e {
            TemplateError::UnknownParameter { name, .. } => Error::invalid(format!("params.{name}"), e.to_string()),
            TemplateError::MissingParameter { name, .. } | TemplateError::BadParameter { name, .. } => {
                Error::invalid(format!("params.{name}"), e.to_string())
            }
            _ => Error::Unprocessable(e.to_string()),
        })?;
        let id = self.new_id(&user.id, t.goal_type, req.id.as_deref()).await?;
        let mut goal = blank_goal(id, &user, t.goal_type, now);
        goal.name = t.name.to_owned();
        goal.description = Some(t.description.to_owned());
        goal.template_id = Some(t.id.to_owned());
        goal.target = made.target;
        let mut problems = Problems::default();
        if let Some(custom) = &req.target_value {
            match parse_target(t.goal_type, custom) {
                Ok(m) => goal.target = m,
                Err(e) => problems.push("target_value", format!("found {custom:?}; {e}")),
            }
        }
        goal.target_date = match &req.target_date {
            Some(d) => match parse_date(d) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push("target_date", e);
                    None
                }
            },
            None => made
                .suggested_months
                .and_then(|m| today.checked_add_months(Months::new(m))),
        };
        problems.finish()?;
        goal.links = GoalLinks {
            accounts: made.link_accounts.clone(),
            categories: made.link_categories.clone(),
        };
        goal.is_recurring = t.is_recurring;
        goal.recurrence_period = t.recurrence_period;
        if t.goal_type.is_debt() {
            goal.original_balance = Some(goal.target);
        }
        let saved = self.create(goal, now).await?;
        // How the target was derived, and what it takes (seed 10.1).
        let view = self.view(&saved.goal, now).await?;
        let explanation = match view.summary.months_left.filter(|m| *m > 0 && !t.is_recurring) {
            Some(months) => format!(
                "{}; {}/month for {months} months",
                made.explanation,
                Money::from_decimal(view.summary.required_monthly_contribution).grouped()
            ),
            None => made.explanation,
        };
        Ok(FromTemplate { saved, explanation })
    }
}
