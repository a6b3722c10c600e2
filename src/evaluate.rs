//! The time-based alert pass: deadlines and update reminders as of `now`,
//! in each user's time zone. Runs on every `--run-once` (and on the daemon's
//! `evaluate` schedule). Idempotent: an alert already stored is not stored
//! again, so running it twice, or catching up after downtime, is harmless.

use crate::domain::alerts::{self, Evaluation};
use crate::domain::card::GoalCard;
use crate::domain::goal::GoalStatus;
use crate::domain::tracking::{Raised, live_summary};
use crate::domain::{Goal, Money, Period};
use crate::goals::Alerter;
use crate::storage::AlertStorage;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassSummary {
    /// Active goals looked at.
    pub goals: usize,
    /// Goals whose deadline or reminder window is open today.
    pub candidates: usize,
    /// Alerts raised that were not stored before.
    pub new_alerts: usize,
}

/// Users whose goals are read at once: the pass pages through the users (and
/// so through their goals), never holding every goal. Each user's goals are all
/// in one page, so what the pass raises does not depend on the page size.
pub const USER_PAGE: i64 = 2_000;

/// Whether the time could raise anything for `goal` today: a target date at
/// most 30 days away (or passed), or a reminder due in this tracking period.
fn is_candidate(goal: &Goal, today: NaiveDate) -> bool {
    let deadline = goal
        .target_date
        .is_some_and(|t| t.signed_duration_since(today).num_days() <= 30);
    let reminder = goal.reminder_enabled
        && alerts::tracking_period(goal.tracking_frequency, goal.reminder_day, today)
            .is_some_and(|tp| tp.due <= today && tp.due >= goal.start_date);
    deadline || reminder
}

/// Runs the pass over every active goal as of `now`, [`USER_PAGE`] users at a time.
pub async fn time_pass<S: AlertStorage>(
    store: &S,
    alerter: &mut Alerter,
    now: DateTime<Utc>,
) -> anyhow::Result<PassSummary> {
    time_pass_paged(store, alerter, now, USER_PAGE).await
}

/// [`time_pass`] with `page` users (and their goals) read at once; stores each
/// page's alerts before reading the next.
pub async fn time_pass_paged<S: AlertStorage>(
    store: &S,
    alerter: &mut Alerter,
    now: DateTime<Utc>,
    page: i64,
) -> anyhow::Result<PassSummary> {
    let mut summary = PassSummary::default();
    let mut after = String::new();
    loop {
        let users = store.users_after(&after, page.max(1)).await?;
        let Some(last) = users.last() else {
            return Ok(summary);
        };
        after = last.id.to_string();
        let zones: HashMap<&str, Tz> = users.iter().map(|u| (u.id.as_str(), u.timezone)).collect();
        let ids: Vec<&str> = zones.keys().copied().collect();
        let goals = store.goals_of(&ids, GoalStatus::Active).await?;
        summary.goals += goals.len();
        let raised = raise_for(store, alerter, &goals, &zones, now, &mut summary).await?;
        let planned = alerter.plan(store, raised).await?;
        summary.new_alerts += store.record_alerts(&planned, now).await?;
        // The next page names other users: their preferences are read then.
        alerter.forget_preferences();
    }
}

/// The alerts the time raises for one page's goals (`zones`: their users' time zones).
async fn raise_for<S: AlertStorage>(
    store: &S,
    alerter: &Alerter,
    goals: &[Goal],
    zones: &HashMap<&str, Tz>,
    now: DateTime<Utc>,
    summary: &mut PassSummary,
) -> anyhow::Result<Vec<(crate::domain::GoalId, crate::domain::UserId, Raised)>> {
    let mut raised = Vec::new();
    // Candidates first, then their histories and their users' latest
    // snapshots: a few queries per page, not per goal.
    let batch: Vec<(&Goal, Tz, NaiveDate)> = goals
        .iter()
        .filter_map(|goal| {
            let tz = zones.get(goal.user_id.as_str()).copied().unwrap_or(Tz::UTC);
            let today = now.with_timezone(&tz).date_naive();
            is_candidate(goal, today).then_some((goal, tz, today))
        })
        .collect();
    summary.candidates += batch.len();
    if batch.is_empty() {
        return Ok(raised);
    }
    let ids: Vec<&str> = batch.iter().map(|(g, _, _)| g.id.as_str()).collect();
    let mut histories = store.progress_histories(&ids).await?;
    let users: Vec<&str> = batch
        .iter()
        .map(|(g, _, _)| g.user_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let latest_of = store.latest_snapshots(&users).await?;
    for &(goal, tz, today) in &batch {
        let history = histories.remove(goal.id.as_str()).unwrap_or_default();
        let from = history.last().map_or(Period::MIN, |e| e.period);
        // The user's newest snapshot, if it is not older than the newest entry.
        let latest = latest_of
            .get(goal.user_id.as_str())
            .filter(|(period, _)| *period >= from)
            .map(|(_, s)| s);
        let live = live_summary(goal, &history, latest, today);
        let period = Period::of_date(today).unwrap_or(Period::MIN);
        let evaluation = Evaluation::from_summary(period, Money::ZERO, &live);
        let has_entry = alerts::tracking_period(goal.tracking_frequency, goal.reminder_day, today).is_some_and(|tp| {
            history.iter().any(|e| {
                let day = e.recorded_at.with_timezone(&tz).date_naive();
                tp.first_day <= day && day <= tp.last_day
            })
        });
        let current = history.last().map(|e| e.value).unwrap_or(Money::ZERO);
        let card = GoalCard::new(goal, current, &evaluation);
        for alert in alerts::on_time(goal, Some(&evaluation), today, has_entry, &alerter.base_url) {
            raised.push((
                goal.id.clone(),
                goal.user_id.clone(),
                Raised {
                    period,
                    alert,
                    card: card.clone(),
                },
            ));
        }
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use crate::domain::goal::{GoalId, GoalType, TrackingFrequency};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn goal(target_date: Option<&str>, reminder_day: u8, reminder_enabled: bool) -> Goal {
        let mut g = Goal::new(
            GoalId::parse("g1").unwrap(),
            UserId::parse("u1").unwrap(),
            GoalType::EmergencyFund,
            "Rainy day",
            Money::from_cents(1_000_000),
            day("2026-01-01"),
            DateTime::<Utc>::MIN_UTC,
        );
        g.target_date = target_date.map(day);
        g.reminder_day = reminder_day;
        g.reminder_enabled = reminder_enabled;
        g.tracking_frequency = TrackingFrequency::Monthly;
        g
    }

    #[test]
    fn only_goals_with_an_open_deadline_or_reminder_window_are_looked_at() {
        // Deadline 31 days away, reminder due on the 28th: nothing today.
        assert!(!is_candidate(&goal(Some("2026-07-11"), 28, true), day("2026-06-10")));
        // 30 days away: the approaching window.
        assert!(is_candidate(&goal(Some("2026-07-10"), 28, true), day("2026-06-10")));
        // Passed.
        assert!(is_candidate(&goal(Some("2026-05-01"), 28, true), day("2026-06-10")));
        // Reminder due on the 1st, today the 10th.
        assert!(is_candidate(&goal(None, 1, true), day("2026-06-10")));
        // Reminders off.
        assert!(!is_candidate(&goal(None, 1, false), day("2026-06-10")));
    }
}
