//! Progress: manual entries, history, a goal's live summary (its view) and the dashboard.

use super::page::{Page, PageRequest};
use super::{Caller, Error, Result, Service, today_for};
use crate::domain::alerts::{self, Evaluation};
use crate::domain::card::GoalCard;
use crate::domain::goal::{GoalStatus, NewProgress, ProgressEntry, ProgressSource};
use crate::domain::progress::Summary;
use crate::domain::tracking::{Raised, Standing, live_summary};
use crate::domain::wording::{self, Fact};
use crate::domain::{Goal, GoalType, Money, Period, SnapshotSummary};
use crate::storage::AlertStorage;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// A manual progress entry to record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManualEntry {
    /// The goal's value now, as an amount (may be negative, e.g. net worth).
    pub value: String,
    /// `YYYY-MM`; this month in the user's time zone when absent.
    pub period: Option<String>,
    pub note: Option<String>,
}

/// What recording an entry did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub value: Money,
    pub period: Period,
    /// Value ÷ target, unclamped.
    pub progress: f64,
    /// The entry completed the goal.
    pub completed: bool,
}

/// A goal with where it stands today: the CLI's `goals show --json`, the API's summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct GoalView {
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub goal_type: String,
    pub status: String,
    pub target_value: String,
    pub target_date: Option<String>,
    pub start_date: String,
    pub current_value: String,
    pub progress_percent: f64,
    pub on_track: bool,
    pub days_elapsed: i64,
    pub days_remaining: Option<i64>,
    pub required_monthly_contribution: String,
    pub current_monthly_pace: String,
    pub projected_completion_date: Option<String>,
    pub projected_final_value: Option<String>,
    /// Where the goal stands, in its type's words (`goals show`'s first line, the alert card's).
    pub standing: Fact,
    /// What it takes, in its type's words, when anything does.
    pub needed: Option<Fact>,
    /// `needed` (or a spending limit's margin) in a few characters: the dashboard's NEEDED column.
    pub needed_short: String,
    /// The computed figures, for printing.
    #[serde(skip)]
    #[schema(ignore)]
    pub summary: Summary,
    /// How many progress entries the goal has.
    #[serde(skip)]
    #[schema(ignore)]
    pub entries: usize,
}

/// A milestone a goal has reached: the first month its progress was at least `percent`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Milestone {
    pub percent: u32,
    /// `YYYY-MM`.
    pub period: String,
    /// The last day of that month.
    pub reached_on: String,
}

/// One goal on the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct DashboardGoal {
    #[serde(flatten)]
    pub view: GoalView,
    pub milestones: Vec<Milestone>,
    /// Whether any progress entry of this month (the user's time zone) added to the goal.
    pub contributed_this_period: bool,
}

/// A decimal amount as a string with two places ("1125.00").
pub fn two_places(d: Decimal) -> String {
    format!(
        "{:.2}",
        d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    )
}

fn parse_signed(value: &str) -> Result<Money> {
    let (negative, digits) = value.strip_prefix('-').map_or((false, value), |d| (true, d));
    digits
        .parse::<Money>()
        .map(|m| Money::from_cents(if negative { -m.cents() } else { m.cents() }))
        .map_err(|e| Error::invalid("value", format!("found {value:?}; {e}")))
}

/// A goal's view from what was read: its history, the user's latest snapshot (if it is not older
/// than the last entry) and the user's today.
fn view_from(goal: &Goal, history: &[ProgressEntry], latest: Option<&SnapshotSummary>, today: NaiveDate) -> GoalView {
    let s = live_summary(goal, history, latest, today);
    let percent = (s.progress * 100.0).clamp(0.0, 100.0);
    let words = wording::of_summary(goal.goal_type, goal.target, &s);
    GoalView {
        id: goal.id.to_string(),
        user_id: goal.user_id.to_string(),
        name: goal.name.clone(),
        goal_type: goal.goal_type.as_str().to_owned(),
        status: goal.status.as_str().to_owned(),
        target_value: goal.target.to_string(),
        target_date: goal.target_date.map(|d| d.to_string()),
        start_date: goal.start_date.to_string(),
        current_value: two_places(s.current_value),
        progress_percent: (percent * 100.0).round() / 100.0,
        on_track: s.on_track,
        days_elapsed: s.days_elapsed,
        days_remaining: s.days_remaining,
        required_monthly_contribution: two_places(s.required_monthly_contribution),
        current_monthly_pace: two_places(s.current_monthly_pace),
        projected_completion_date: s.projected_completion_date.map(|d| d.to_string()),
        projected_final_value: s.projected_final_value.map(two_places),
        standing: words.standing,
        needed: words.needed,
        needed_short: words.short,
        entries: history.len(),
        summary: s,
    }
}

fn milestones(history: &[ProgressEntry]) -> Vec<Milestone> {
    [25u32, 50, 75, 100]
        .into_iter()
        .filter_map(|percent| {
            let e = history.iter().find(|e| e.progress * 100.0 >= f64::from(percent))?;
            Some(Milestone {
                percent,
                period: e.period.to_string(),
                reached_on: e.period.last_day().to_string(),
            })
        })
        .collect()
}

impl<S: AlertStorage> Service<S> {
    /// The user's latest snapshot, summarised: from the last entry's month if there is one, else
    /// whenever it is (a goal may start after it).
    async fn latest_snapshot(&self, goal: &Goal, history: &[ProgressEntry]) -> Result<Option<SnapshotSummary>> {
        let from = history.last().map_or(Period::MIN, |e| e.period);
        Ok(self
            .store
            .user_snapshots(&goal.user_id, from)
            .await?
            .pop()
            .map(|(_, _, s)| s))
    }

    async fn today(&self, goal: &Goal, now: DateTime<Utc>) -> Result<NaiveDate> {
        let user = self.store.get_user(&goal.user_id).await?;
        Ok(user.as_ref().map_or(now.date_naive(), |u| today_for(u, now)))
    }

    /// A goal's view (access already checked).
    pub(super) async fn view(&self, goal: &Goal, now: DateTime<Utc>) -> Result<GoalView> {
        let history = self.store.progress_history(&goal.id).await?;
        self.view_of(goal, &history, now).await
    }

    async fn view_of(&self, goal: &Goal, history: &[ProgressEntry], now: DateTime<Utc>) -> Result<GoalView> {
        let latest = self.latest_snapshot(goal, history).await?;
        let today = self.today(goal, now).await?;
        Ok(view_from(goal, history, latest.as_ref(), today))
    }

    /// The caller's goal with its live summary.
    pub async fn summary(&self, caller: &Caller, now: DateTime<Utc>, id: &str) -> Result<(Goal, GoalView)> {
        let goal = self.goal(caller, id).await?;
        let view = self.view(&goal, now).await?;
        Ok((goal, view))
    }

    /// Every goal of the caller but abandoned ones, with its summary, milestones and whether
    /// anything was contributed this month.
    ///
    /// A fixed number of reads whatever the number of goals: the goals, their histories, and per
    /// user (one for a user token) the user and their latest snapshot; the same figures as
    /// [`Service::summary`] gives each goal.
    pub async fn dashboard(&self, caller: &Caller, now: DateTime<Utc>) -> Result<Vec<(Goal, DashboardGoal)>> {
        let goals = self.store.list_goals(caller.scope(), None).await?;
        let goals: Vec<Goal> = goals
            .into_iter()
            .filter(|g| caller.owns(&g.user_id) && g.status != GoalStatus::Abandoned)
            .collect();
        if goals.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = goals.iter().map(|g| g.id.as_str()).collect();
        let mut histories = self.store.progress_histories(&ids).await?;
        let mut users: Vec<&str> = goals.iter().map(|g| g.user_id.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        let latest = self.store.latest_snapshots(&users).await?;
        let mut todays: std::collections::HashMap<&str, NaiveDate> = std::collections::HashMap::new();
        for goal in &goals {
            if !todays.contains_key(goal.user_id.as_str()) {
                let found = self.store.get_user(&goal.user_id).await?;
                todays.insert(
                    goal.user_id.as_str(),
                    found.as_ref().map_or(now.date_naive(), |u| today_for(u, now)),
                );
            }
        }
        let mut out = Vec::with_capacity(goals.len());
        for goal in &goals {
            let history = histories.remove(goal.id.as_str()).unwrap_or_default();
            let today = todays.get(goal.user_id.as_str()).copied().unwrap_or(now.date_naive());
            // The latest snapshot counts unless the goal has an entry of a later month (as
            // `latest_snapshot` reads it).
            let from = history.last().map_or(Period::MIN, |e| e.period);
            let snapshot = latest
                .get(goal.user_id.as_str())
                .filter(|(period, _)| *period >= from)
                .map(|(_, s)| s);
            let view = view_from(goal, &history, snapshot, today);
            let this_month = Period::of_date(today);
            let contributed_this_period = history
                .iter()
                .any(|e| Some(e.period) == this_month && e.contribution > Money::ZERO);
            out.push(DashboardGoal {
                milestones: milestones(&history),
                view,
                contributed_this_period,
            });
        }
        Ok(goals.into_iter().zip(out).collect())
    }

    /// A goal's progress entries, oldest first.
    pub async fn history(&self, caller: &Caller, id: &str) -> Result<Vec<ProgressEntry>> {
        let goal = self.goal(caller, id).await?;
        Ok(self.store.progress_history(&goal.id).await?)
    }

    /// A page of [`Service::history`], oldest first.
    pub async fn history_page(&self, caller: &Caller, id: &str, page: &PageRequest) -> Result<Page<ProgressEntry>> {
        let entries = self.history(caller, id).await?;
        // Within a month, budget_sync sorts before manual, as stored.
        page.page(entries, |e| format!("{}:{}", e.period, e.source))
    }

    /// Records a value by hand: the entry, the alerts it raises and, if it reaches the target, the
    /// goal's completion.
    pub async fn record(&self, caller: &Caller, now: DateTime<Utc>, id: &str, input: ManualEntry) -> Result<Recorded> {
        let mut goal = self.goal(caller, id).await?;
        let value = parse_signed(&input.value)?;
        let today = self.today(&goal, now).await?;
        let period = match &input.period {
            Some(p) => p
                .parse::<Period>()
                .map_err(|e| Error::invalid("period", format!("found {p:?}; {e}")))?,
            None => Period::of_date(today)
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("today is outside the supported years")))?,
        };
        if let Some(note) = &input.note
            && note.chars().count() > 500
        {
            return Err(Error::invalid("note", "expected at most 500 characters"));
        }
        let mut history = self.store.progress_history(&goal.id).await?;
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
            note: input.note.clone(),
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
            note: input.note,
            debt_seen: Default::default(),
        };
        let evaluation = Evaluation::from_summary(period, contribution, &s);
        let prior = previous_standing.map(|p| Evaluation::previous(p.progress, p.on_track));
        let mut alerter = self.alerter();
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
        let planned = alerter.plan(&self.store, raised).await?;
        self.store.add_progress(&entry, &planned, now).await?;
        let completed = goal.status == GoalStatus::Active && !goal.goal_type.is_recurring() && s.progress >= 1.0;
        if completed {
            goal.status = GoalStatus::Completed;
            goal.completed_at = Some(now);
            goal.updated_at = now;
            self.store.update_goal(&goal).await?;
        }
        Ok(Recorded {
            value,
            period,
            progress: s.progress,
            completed,
        })
    }
}
