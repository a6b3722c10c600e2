//! Alert rules (issue 4): which alerts a goal's new evaluation raises, each exactly once. Pure.
//!
//! Two entry points, both pure and total (no I/O, no clock, no panics):
//!
//! - [`on_progress`] compares a goal's new [`Evaluation`] (after a progress entry) with the one before
//!   it and raises the progress alerts: `off_track`, `back_on_track`, the milestones, `goal_completed`,
//!   `significant_progress` and `suggested_adjustment`.
//! - [`on_time`] is the time-based pass as of a day in the user's zone: the deadline alerts and
//!   `update_reminder`. Deadlines are raised only here, never by a progress entry.
//!
//! # Exactly once
//!
//! The rules say when an alert is *due*; they may say so again on a later evaluation (a later day of
//! the deadline window, a later entry in the same period). Exactly-once delivery is the database's
//! job, through a unique key (goal, type, occurrence). Each [`NewAlert`] carries its `occurrence`:
//!
//! | alert                                                   | occurrence                              |
//! |---------------------------------------------------------|-----------------------------------------|
//! | milestones, `goal_completed`, the three deadline alerts | `""` (once per goal)                    |
//! | `off_track`, `back_on_track`                            | the period of the transition, `YYYY-MM` |
//! | `significant_progress`, `suggested_adjustment`          | the period, `YYYY-MM`                   |
//! | `update_reminder`                                       | the tracking period (see below)         |
//!
//! # Choices
//!
//! - **First evaluation** (`previous` is `None`): the goal is taken to start on track, so a first
//!   evaluation that is off track raises `off_track` (and never `back_on_track`). Milestones already
//!   passed at the first evaluation are *not* raised: there was nothing to cross (a goal set up half
//!   done gets no "25 %" and "50 %" alerts). `goal_completed` *is* raised when the first evaluation is
//!   already at 100 % or more: tracking marks the goal completed right then, and the user should hear
//!   of it once.
//! - **Crossings**: a milestone `t` is raised when `previous < t ≤ current`; a step over several
//!   thresholds raises each one crossed. `goal_completed` is raised when progress crosses to ≥ 1.0
//!   (`previous < 1.0 ≤ current`), never for a goal that was at 100 % already.
//! - **Status**: paused, completed and abandoned goals raise nothing, with one exception:
//!   `goal_completed` is raised on its crossing whatever the status. The evaluation that completes a
//!   goal is judged as the active goal it was even when the goal passed in is already marked
//!   completed, so its milestones and `significant_progress` do not depend on whether the caller
//!   stored the completion first.
//! - **Backfill**: `previous` is the evaluation the goal was last alerted on. A caller that stores
//!   many entries at once (a new goal's backfill, a recompute) should compare only the newest with
//!   it, or every historical crossing is raised.
//! - **Recurring goals** (`savings_rate`, `expense_reduction`, judged period by period): tracking never
//!   completes them, so they get no milestones, no `goal_completed` and no `significant_progress`
//!   (their "contribution" is a change in a rate or in spending, not a step toward a total). They do
//!   get `off_track`/`back_on_track`, `suggested_adjustment` (worded for a rate or a spending ceiling,
//!   proposing a change of target instead of a date), deadlines and reminders.
//! - **`significant_progress`**: this period's contribution is at least 10 % of the target (exact, in
//!   cents); a target of zero or below, or a contribution of zero or below, never qualifies.
//! - **`suggested_adjustment`**: the current evaluation is off track and the off-track streak is 2,
//!   then again only every 3 further periods while it stays off track (streak 2, 5, 8, …; see
//!   [`suggestion_due`]), each time with the current figures; an on-track period (`back_on_track`)
//!   resets the streak and so ends the spell. People are nudged about once a quarter while behind.
//! - **Deadlines** use `days = target_date − today`: `deadline_approaching` when `7 < days ≤ 30`,
//!   `deadline_imminent` when `0 < days ≤ 7`, `deadline_missed` when `days < 0`; nothing on the target
//!   day itself (`days == 0`, not passed yet). None for a goal that is not active, or whose current
//!   evaluation has reached 100 % (non-recurring goals). A pass that skips days may skip a window
//!   (e.g. jump from 31 days straight to 6): only the alert of the window it is in is raised.
//! - **Reminders** ([`tracking_period`]): the tracking period containing `today` and the reminder's
//!   due day in it, by the goal's `tracking_frequency`:
//!   - monthly: the calendar month, due on day `reminder_day` (clamped to the month), occurrence
//!     `YYYY-MM`;
//!   - quarterly: the calendar quarter, due on day `reminder_day` of its first month, occurrence
//!     `YYYY-Qn`;
//!   - weekly: the ISO week (Monday to Sunday), due on weekday `reminder_day` (1 = Monday … 7 = Sunday;
//!     larger values wrap modulo 7, so 8 = Monday and 0 = Sunday), occurrence the ISO week `YYYY-Www`;
//!   - biweekly: an even ISO week and the week after it (after week 52 of a 53-week ISO year, the
//!     odd weeks 53 and 1 both follow week 52: that period is three weeks), due on the weekday in the
//!     even week, occurrence that even week `YYYY-Www`.
//!
//!   A reminder is due from its due day to the end of the period (a pass that missed the due day
//!   catches up; the occurrence keeps it to once per period), only when reminders are enabled, the
//!   goal is active and not at 100 %, the period has no progress entry yet
//!   (`!has_entry_this_period`, as the caller finds it for [`tracking_period`]'s days), and the due
//!   day is on or after the goal's start (a goal created after this period's due day is first
//!   reminded in the next period).
//! - **Messages** follow the seed (section 4.3), with exact amounts as `1,310.00`
//!   ([`Money::grouped`]) and no currency sign; the action URL is `{base_url}/goals/{goal_id}` (a
//!   trailing `/` of the base URL dropped), none when the base URL is empty.
//! - **Order**: the alerts of one call come most urgent first ([`AlertType::priority`]).

use super::goal::{Goal, GoalStatus, GoalType, TrackingFrequency};
use super::money::Money;
use super::period::Period;
use super::progress::Summary;
pub use super::tracking_period::{TrackingPeriod, tracking_period};
use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

/// The kinds of goal alert (seed 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertType {
    OffTrack,
    BackOnTrack,
    SignificantProgress,
    Milestone25,
    Milestone50,
    Milestone75,
    GoalCompleted,
    DeadlineApproaching,
    DeadlineImminent,
    DeadlineMissed,
    UpdateReminder,
    SuggestedAdjustment,
}

/// The seed's default enabled set (4.2).
pub const DEFAULT_ENABLED: &[AlertType] = &[
    AlertType::OffTrack,
    AlertType::Milestone50,
    AlertType::GoalCompleted,
    AlertType::DeadlineApproaching,
    AlertType::UpdateReminder,
];

impl AlertType {
    pub const ALL: &'static [AlertType] = &[
        AlertType::OffTrack,
        AlertType::BackOnTrack,
        AlertType::SignificantProgress,
        AlertType::Milestone25,
        AlertType::Milestone50,
        AlertType::Milestone75,
        AlertType::GoalCompleted,
        AlertType::DeadlineApproaching,
        AlertType::DeadlineImminent,
        AlertType::DeadlineMissed,
        AlertType::UpdateReminder,
        AlertType::SuggestedAdjustment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::OffTrack => "off_track",
            AlertType::BackOnTrack => "back_on_track",
            AlertType::SignificantProgress => "significant_progress",
            AlertType::Milestone25 => "milestone_25",
            AlertType::Milestone50 => "milestone_50",
            AlertType::Milestone75 => "milestone_75",
            AlertType::GoalCompleted => "goal_completed",
            AlertType::DeadlineApproaching => "deadline_approaching",
            AlertType::DeadlineImminent => "deadline_imminent",
            AlertType::DeadlineMissed => "deadline_missed",
            AlertType::UpdateReminder => "update_reminder",
            AlertType::SuggestedAdjustment => "suggested_adjustment",
        }
    }

    /// Delivery order, lower first: goal_completed 0, deadline_missed 1, deadline_imminent 2,
    /// off_track 3, everything else 10.
    pub fn priority(self) -> u8 {
        match self {
            AlertType::GoalCompleted => 0,
            AlertType::DeadlineMissed => 1,
            AlertType::DeadlineImminent => 2,
            AlertType::OffTrack => 3,
            _ => 10,
        }
    }

    /// One of the four "high" priority types.
    pub fn is_high_priority(self) -> bool {
        self.priority() < 10
    }

    /// Raised at most once in a goal's life (occurrence `""`).
    pub fn once_per_goal(self) -> bool {
        matches!(
            self,
            AlertType::Milestone25
                | AlertType::Milestone50
                | AlertType::Milestone75
                | AlertType::GoalCompleted
                | AlertType::DeadlineApproaching
                | AlertType::DeadlineImminent
                | AlertType::DeadlineMissed
        )
    }
}

impl FromStr for AlertType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        AlertType::ALL.iter().copied().find(|t| t.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = AlertType::ALL.iter().map(|t| t.as_str()).collect();
            format!("expected one of {}", names.join(", "))
        })
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AlertType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One evaluation of a goal: what the alert rules compare.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// The period of the progress entry evaluated.
    pub period: Period,
    /// Unclamped (1.0 = done).
    pub progress: f64,
    pub on_track: bool,
    /// This period's contribution.
    pub contribution: Money,
    /// Target date − evaluation day; None without a target date.
    pub days_remaining: Option<i64>,
    /// Per month, to finish on time.
    pub required_monthly: Money,
    /// The current monthly pace.
    pub pace: Money,
    /// When the goal finishes at the current pace, if it does.
    pub projected_completion: Option<NaiveDate>,
}

impl Evaluation {
    /// The evaluation of a progress entry for `period` with `contribution`, from its summary.
    pub fn from_summary(period: Period, contribution: Money, summary: &Summary) -> Evaluation {
        Evaluation {
            period,
            progress: summary.progress,
            on_track: summary.on_track,
            contribution,
            days_remaining: summary.days_remaining,
            required_monthly: Money::from_decimal(summary.required_monthly_contribution),
            pace: Money::from_decimal(summary.current_monthly_pace),
            projected_completion: summary.projected_completion_date,
        }
    }
}

impl Evaluation {
    /// An evaluation known only by where it stood: all the rules read of a
    /// previous evaluation (the rest is zero).
    pub fn previous(progress: f64, on_track: bool) -> Evaluation {
        Evaluation {
            period: Period::MIN,
            progress,
            on_track,
            contribution: Money::ZERO,
            days_remaining: None,
            required_monthly: Money::ZERO,
            pace: Money::ZERO,
            projected_completion: None,
        }
    }
}

/// Whether [`on_progress`] could raise anything for `current`, judging by
/// what is cheap to know (progress, on-track, contribution, streak): when
/// this is false, `on_progress` raises nothing whatever the projections, so
/// the caller can skip computing them.
pub fn could_raise(goal: &Goal, previous: Option<&Evaluation>, current: &Evaluation, off_track_streak: u32) -> bool {
    let accumulates = !goal.goal_type.is_recurring();
    let completes = accumulates && current.progress >= 1.0 && previous.is_none_or(|p| p.progress < 1.0);
    if completes {
        return true;
    }
    if goal.status != GoalStatus::Active {
        return false;
    }
    let was_on_track = previous.is_none_or(|p| p.on_track);
    if was_on_track != current.on_track || (!current.on_track && suggestion_due(off_track_streak)) {
        return true;
    }
    accumulates
        && (significant_share(current.contribution, goal.target).is_some()
            || previous.is_some_and(|p| {
                MILESTONES
                    .iter()
                    .any(|(t, _)| p.progress < *t && *t <= current.progress)
            }))
}

/// Whether an off-track streak of `streak` periods (this one included) calls for a
/// `suggested_adjustment`: at 2, then every 3 further periods (2, 5, 8, …).
pub fn suggestion_due(streak: u32) -> bool {
    streak >= 2 && (streak - 2) % 3 == 0
}

/// An alert to store (and deliver) once per (goal, type, occurrence).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewAlert {
    #[serde(rename = "type")]
    pub alert_type: AlertType,
    /// `""` for once-per-goal types, else the period (see the module docs).
    pub occurrence: String,
    pub title: String,
    pub message: String,
    pub action_url: Option<String>,
}

const MILESTONES: [(f64, AlertType); 3] = [
    (0.25, AlertType::Milestone25),
    (0.50, AlertType::Milestone50),
    (0.75, AlertType::Milestone75),
];

/// Alerts raised by a new progress entry's evaluation (`previous`: the goal's evaluation before it, if any;
/// `off_track_streak`: how many consecutive periods, including this one, the goal has been off track).
pub fn on_progress(
    goal: &Goal,
    previous: Option<&Evaluation>,
    current: &Evaluation,
    off_track_streak: u32,
    base_url: &str,
) -> Vec<NewAlert> {
    let out = Out::new(goal, base_url);
    let mut alerts = Vec::new();
    let name = &goal.name;
    let period = current.period.to_string();
    let accumulates = !goal.goal_type.is_recurring();
    let completes = accumulates && current.progress >= 1.0 && previous.is_none_or(|p| p.progress < 1.0);

    if completes {
        alerts.push(out.once(
            AlertType::GoalCompleted,
            format!("Goal achieved: {name}"),
            format!(
                "🎉 You did it! You've achieved your goal: {name} ({})!",
                goal.target.grouped()
            ),
        ));
    }

    let live = match goal.status {
        GoalStatus::Active => true,
        GoalStatus::Completed => completes,
        GoalStatus::Paused | GoalStatus::Abandoned => false,
    };
    if !live {
        return alerts;
    }

    let was_on_track = previous.is_none_or(|p| p.on_track);
    let required = current.required_monthly.grouped();
    if was_on_track && !current.on_track {
        let message = match goal.goal_type {
            GoalType::SavingsRate => format!(
                "'{name}' is below its target savings rate in {period}. Saving {required} more a month would reach it."
            ),
            GoalType::ExpenseReduction => {
                format!("Spending for '{name}' is over its monthly target in {period}, by {required}.")
            }
            _ => format!("You're falling behind on '{name}'. You need {required}/month to catch up."),
        };
        alerts.push(out.at(AlertType::OffTrack, &period, format!("Falling behind: {name}"), message));
    }
    if !was_on_track && current.on_track {
        alerts.push(out.at(
            AlertType::BackOnTrack,
            &period,
            format!("Back on track: {name}"),
            format!("Good news: '{name}' is back on track in {period}. Keep it up!"),
        ));
    }

    if accumulates {
        if let Some(previous) = previous {
            for (threshold, kind) in MILESTONES {
                if previous.progress < threshold && threshold <= current.progress {
                    alerts.push(milestone(&out, kind, threshold, goal));
                }
            }
        }
        if let Some(share) = significant_share(current.contribution, goal.target) {
            alerts.push(out.at(
                AlertType::SignificantProgress,
                &period,
                format!("Big step forward: {name}"),
                format!(
                    "Great progress on '{name}': {} in {period}, {share}% of your {} target in a single period.",
                    current.contribution.grouped(),
                    goal.target.grouped()
                ),
            ));
        }
    }

    if !current.on_track && suggestion_due(off_track_streak) {
        alerts.push(out.at(
            AlertType::SuggestedAdjustment,
            &period,
            format!("Time to adjust: {name}"),
            adjustment(goal, current, off_track_streak),
        ));
    }

    by_priority(alerts)
}

/// Alerts raised by the passage of time as of `today` (in the user's zone): deadlines and reminders.
/// `has_entry_this_period`: whether the goal has a progress entry for the tracking period containing `today`
/// (see [`tracking_period`]).
pub fn on_time(
    goal: &Goal,
    current: Option<&Evaluation>,
    today: NaiveDate,
    has_entry_this_period: bool,
    base_url: &str,
) -> Vec<NewAlert> {
    let reached = !goal.goal_type.is_recurring() && current.is_some_and(|c| c.progress >= 1.0);
    if goal.status != GoalStatus::Active || reached {
        return Vec::new();
    }
    let out = Out::new(goal, base_url);
    let name = &goal.name;
    let mut alerts = Vec::new();

    if let Some(target_date) = goal.target_date {
        let days = target_date.signed_duration_since(today).num_days();
        let left = |kind| {
            let unit = if days == 1 { "day" } else { "days" };
            let need = current
                .filter(|_| !goal.goal_type.is_recurring())
                .map(|c| format!(" You need {}/month to finish on time.", c.required_monthly.grouped()))
                .unwrap_or_default();
            out.once(
                kind,
                format!("{days} {unit} left: {name}"),
                format!("Only {days} {unit} left to reach '{name}'.{need}"),
            )
        };
        match days {
            8..=30 => alerts.push(left(AlertType::DeadlineApproaching)),
            1..=7 => alerts.push(left(AlertType::DeadlineImminent)),
            _ if days < 0 => {
                let reached = current
                    .filter(|_| !goal.goal_type.is_recurring())
                    .map(|c| format!(", with {}% of the target reached", percent(c.progress)))
                    .unwrap_or_default();
                alerts.push(out.once(
                    AlertType::DeadlineMissed,
                    format!("Target date passed: {name}"),
                    format!(
                        "The target date for '{name}' ({target_date}) has passed{reached}. \
                         Set a new target date or adjust the goal to keep going."
                    ),
                ));
            }
            _ => {}
        }
    }

    if goal.reminder_enabled && !has_entry_this_period {
        if let Some(tp) = tracking_period(goal.tracking_frequency, goal.reminder_day, today) {
            if tp.due <= today && tp.due >= goal.start_date {
                let span = match goal.tracking_frequency {
                    TrackingFrequency::Weekly => "week",
                    TrackingFrequency::Biweekly => "fortnight",
                    TrackingFrequency::Monthly => "month",
                    TrackingFrequency::Quarterly => "quarter",
                };
                alerts.push(out.at(
                    AlertType::UpdateReminder,
                    &tp.label,
                    format!("Time to update: {name}"),
                    format!(
                        "No progress recorded for '{name}' yet this {span} ({}). \
                         Upload your latest budget or log an update to keep it on track.",
                        tp.label
                    ),
                ));
            }
        }
    }

    by_priority(alerts)
}

/// Builds a goal's alerts: the action URL is the same for all of them.
struct Out {
    action_url: Option<String>,
}

impl Out {
    fn new(goal: &Goal, base_url: &str) -> Out {
        let base = base_url.trim().trim_end_matches('/');
        Out {
            action_url: (!base.is_empty()).then(|| format!("{base}/goals/{}", goal.id)),
        }
    }

    fn at(&self, alert_type: AlertType, occurrence: &str, title: String, message: String) -> NewAlert {
        NewAlert {
            alert_type,
            occurrence: occurrence.to_owned(),
            title,
            message,
            action_url: self.action_url.clone(),
        }
    }

    fn once(&self, alert_type: AlertType, title: String, message: String) -> NewAlert {
        self.at(alert_type, "", title, message)
    }
}

fn milestone(out: &Out, kind: AlertType, threshold: f64, goal: &Goal) -> NewAlert {
    let name = &goal.name;
    let title = match kind {
        AlertType::Milestone25 => "A quarter of the way",
        AlertType::Milestone50 => "Halfway there",
        _ => "Three quarters of the way",
    };
    out.once(
        kind,
        format!("{title}: {name}"),
        format!(
            "Congratulations! You're {}% of the way to '{name}' (target: {})!",
            percent(threshold),
            goal.target.grouped()
        ),
    )
}

/// The suggested adjustment, both ways where there are two.
fn adjustment(goal: &Goal, current: &Evaluation, streak: u32) -> String {
    let name = &goal.name;
    let required = current.required_monthly.grouped();
    let pace = current.pace.grouped();
    match goal.goal_type {
        GoalType::SavingsRate => format!(
            "'{name}' has been below its target savings rate for {streak} periods in a row. \
             Save {required} more a month, or lower the target rate to one you can keep."
        ),
        GoalType::ExpenseReduction => format!(
            "Spending for '{name}' has been over its monthly target for {streak} periods in a row. \
             Cut spending in its categories by {required} a month, or raise the monthly target to one you can keep."
        ),
        _ => match current.projected_completion.filter(|_| current.pace > Money::ZERO) {
            Some(date) => format!(
                "'{name}' has been off track for {streak} periods in a row. To finish on time, \
                 raise your monthly contribution to {required}, or move the target date to {date} \
                 at your current pace of {pace}/month."
            ),
            None => format!(
                "'{name}' has been off track for {streak} periods in a row. To finish on time, \
                 raise your monthly contribution to {required}. At your current pace of {pace}/month \
                 the target cannot be reached, so moving the target date alone will not do."
            ),
        },
    }
}

/// The whole percent of the target that `contribution` is, when it is at least 10 %.
fn significant_share(contribution: Money, target: Money) -> Option<i128> {
    let (c, t) = (i128::from(contribution.cents()), i128::from(target.cents()));
    (t > 0 && c > 0 && c * 10 >= t).then(|| c * 100 / t)
}

/// A progress ratio as a whole percent, rounded down (99.6 % is not yet 100 %), forgiving float
/// error (0.29 is 29 %, though 0.29 × 100 is 28.999…).
fn percent(progress: f64) -> i64 {
    let p = (progress * 100.0 + 1e-9).floor();
    // A float-to-int cast saturates (and maps NaN to 0): fine for a figure in a message.
    if p.is_finite() { p as i64 } else { 0 }
}

fn by_priority(mut alerts: Vec<NewAlert>) -> Vec<NewAlert> {
    alerts.sort_by_key(|a| a.alert_type.priority());
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use crate::domain::goal::{GoalId, GoalLinks};
    use chrono::{TimeZone, Utc};
    use rust_decimal::Decimal;

    const URL: &str = "https://goals.example.com";

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn period(s: &str) -> Period {
        s.parse().unwrap()
    }

    /// "Rainy day": 10,000.00 by 2027-01-01, started 2026-01-01, monthly reminders on the 15th.
    fn goal() -> Goal {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Goal {
            id: GoalId::parse("g1").unwrap(),
            user_id: UserId::parse("u1").unwrap(),
            name: "Rainy day".into(),
            description: None,
            goal_type: GoalType::EmergencyFund,
            target: Money::from_cents(1_000_000),
            target_date: Some(day("2027-01-01")),
            start_date: day("2026-01-01"),
            links: GoalLinks::default(),
            original_balance: None,
            is_recurring: false,
            recurrence_period: None,
            tracking_frequency: TrackingFrequency::Monthly,
            reminder_enabled: true,
            reminder_day: 15,
            status: GoalStatus::Active,
            completed_at: None,
            template_id: None,
            created_at: t,
            updated_at: t,
        }
    }

    fn with_status(status: GoalStatus) -> Goal {
        Goal { status, ..goal() }
    }

    fn eval(p: &str, progress: f64, on_track: bool) -> Evaluation {
        Evaluation {
            period: period(p),
            progress,
            on_track,
            contribution: Money::ZERO,
            days_remaining: None,
            required_monthly: Money::from_cents(131_000),
            pace: Money::from_cents(95_000),
            projected_completion: Some(day("2028-03-01")),
        }
    }

    fn kinds(alerts: &[NewAlert]) -> Vec<(AlertType, &str)> {
        alerts.iter().map(|a| (a.alert_type, a.occurrence.as_str())).collect()
    }

    fn types(alerts: &[NewAlert]) -> Vec<AlertType> {
        alerts.iter().map(|a| a.alert_type).collect()
    }

    fn find(alerts: &[NewAlert], kind: AlertType) -> &NewAlert {
        alerts.iter().find(|a| a.alert_type == kind).unwrap()
    }

    /// `on_time` for the test goal, as of `today`, with no entry this period.
    fn at(goal: &Goal, current: Option<&Evaluation>, today: &str) -> Vec<NewAlert> {
        on_time(goal, current, day(today), false, URL)
    }

    #[test]
    fn alert_types_read_back_from_their_names_and_serialize_as_strings() {
        assert_eq!(AlertType::ALL.len(), 12);
        for t in AlertType::ALL {
            assert_eq!(t.as_str().parse::<AlertType>(), Ok(*t));
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(serde_json::to_string(t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        let names: Vec<&str> = AlertType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "off_track",
                "back_on_track",
                "significant_progress",
                "milestone_25",
                "milestone_50",
                "milestone_75",
                "goal_completed",
                "deadline_approaching",
                "deadline_imminent",
                "deadline_missed",
                "update_reminder",
                "suggested_adjustment",
            ]
        );
        assert!(
            "milestone_100"
                .parse::<AlertType>()
                .unwrap_err()
                .starts_with("expected one of off_track")
        );
    }

    #[test]
    fn priorities_put_completion_then_missed_then_imminent_then_off_track_first() {
        use AlertType::*;
        let mut by_priority = AlertType::ALL.to_vec();
        by_priority.sort_by_key(|t| t.priority());
        assert_eq!(
            by_priority[..4],
            [GoalCompleted, DeadlineMissed, DeadlineImminent, OffTrack]
        );
        assert_eq!(
            [GoalCompleted, DeadlineMissed, DeadlineImminent, OffTrack].map(AlertType::priority),
            [0, 1, 2, 3]
        );
        for t in &by_priority[4..] {
            assert_eq!(t.priority(), 10, "{t}");
            assert!(!t.is_high_priority(), "{t}");
        }
        assert!(OffTrack.is_high_priority());
    }

    #[test]
    fn the_default_enabled_set_is_the_seeds() {
        use AlertType::*;
        assert_eq!(
            DEFAULT_ENABLED,
            [
                OffTrack,
                Milestone50,
                GoalCompleted,
                DeadlineApproaching,
                UpdateReminder
            ]
        );
    }

    #[test]
    fn once_per_goal_types_have_an_empty_occurrence_and_the_others_a_period() {
        use AlertType::*;
        let g = goal();
        let mut all = on_progress(
            &g,
            Some(&eval("2026-03", 0.2, true)),
            &eval("2026-03", 1.0, true),
            0,
            URL,
        );
        all.extend(on_progress(
            &g,
            Some(&eval("2026-03", 0.2, true)),
            &eval("2026-04", 0.2, false),
            2,
            URL,
        ));
        all.extend(at(&g, None, "2026-12-20"));
        for a in &all {
            assert_eq!(a.occurrence.is_empty(), a.alert_type.once_per_goal(), "{a:?}");
        }
        let seen: Vec<AlertType> = types(&all);
        for t in [
            GoalCompleted,
            Milestone25,
            Milestone50,
            Milestone75,
            OffTrack,
            SuggestedAdjustment,
            DeadlineApproaching,
        ] {
            assert!(seen.contains(&t), "{t}");
        }
    }

    #[test]
    fn off_track_fires_when_on_track_turns_false() {
        let g = goal();
        // (previous on track, current on track, fires)
        let table = [
            (Some(true), false, true),
            (None, false, true),
            (Some(false), false, false),
            (Some(true), true, false),
            (None, true, false),
            (Some(false), true, false),
        ];
        for (was, is, fires) in table {
            let previous = was.map(|w| eval("2026-02", 0.1, w));
            let alerts = on_progress(&g, previous.as_ref(), &eval("2026-03", 0.1, is), 1, URL);
            let off: Vec<_> = kinds(&alerts)
                .into_iter()
                .filter(|(t, _)| *t == AlertType::OffTrack)
                .collect();
            let expected = if fires {
                vec![(AlertType::OffTrack, "2026-03")]
            } else {
                vec![]
            };
            assert_eq!(off, expected, "{was:?} -> {is}");
        }
    }

    #[test]
    fn back_on_track_fires_only_when_on_track_turns_true() {
        let g = goal();
        let table = [
            (Some(false), true, true),
            (None, true, false),
            (Some(true), true, false),
            (Some(false), false, false),
            (Some(true), false, false),
        ];
        for (was, is, fires) in table {
            let previous = was.map(|w| eval("2026-02", 0.1, w));
            let alerts = on_progress(&g, previous.as_ref(), &eval("2026-03", 0.1, is), 0, URL);
            let back: Vec<_> = kinds(&alerts)
                .into_iter()
                .filter(|(t, _)| *t == AlertType::BackOnTrack)
                .collect();
            let expected = if fires {
                vec![(AlertType::BackOnTrack, "2026-03")]
            } else {
                vec![]
            };
            assert_eq!(back, expected, "{was:?} -> {is}");
        }
    }

    #[test]
    fn on_and_off_track_transitions_raise_an_alert_in_each_period_they_happen() {
        let g = goal();
        let history = [
            eval("2026-01", 0.10, true),
            eval("2026-02", 0.12, false),
            eval("2026-03", 0.30, true),
            eval("2026-04", 0.31, false),
        ];
        let mut raised = Vec::new();
        let mut previous: Option<&Evaluation> = None;
        let mut streak = 0;
        for current in &history {
            streak = if current.on_track { 0 } else { streak + 1 };
            raised.extend(on_progress(&g, previous, current, streak, URL));
            previous = Some(current);
        }
        assert_eq!(
            kinds(&raised),
            [
                (AlertType::OffTrack, "2026-02"),
                (AlertType::BackOnTrack, "2026-03"),
                (AlertType::Milestone25, ""),
                (AlertType::OffTrack, "2026-04"),
            ]
        );
    }

    #[test]
    fn each_milestone_fires_when_its_threshold_is_crossed_and_not_otherwise() {
        use AlertType::*;
        let g = goal();
        let table: [(f64, f64, &[AlertType]); 12] = [
            (0.20, 0.25, &[Milestone25]),
            (0.24, 0.26, &[Milestone25]),
            (0.25, 0.30, &[]),
            (0.49, 0.50, &[Milestone50]),
            (0.50, 0.51, &[]),
            (0.74, 0.75, &[Milestone75]),
            (0.75, 0.99, &[]),
            (0.10, 0.20, &[]),
            (0.10, 0.80, &[Milestone25, Milestone50, Milestone75]),
            (0.30, 0.60, &[Milestone50]),
            (0.80, 0.40, &[]),
            (-0.50, 0.25, &[Milestone25]),
        ];
        for (before, after, expected) in table {
            let alerts = on_progress(
                &g,
                Some(&eval("2026-02", before, true)),
                &eval("2026-03", after, true),
                0,
                URL,
            );
            assert_eq!(types(&alerts), expected, "{before} -> {after}");
            assert!(alerts.iter().all(|a| a.occurrence.is_empty()));
        }
        let halfway = on_progress(
            &g,
            Some(&eval("2026-02", 0.4, true)),
            &eval("2026-03", 0.5, true),
            0,
            URL,
        );
        assert_eq!(halfway[0].title, "Halfway there: Rainy day");
        assert_eq!(
            halfway[0].message,
            "Congratulations! You're 50% of the way to 'Rainy day' (target: 10,000.00)!"
        );
    }

    #[test]
    fn milestones_already_passed_at_the_first_evaluation_are_not_raised() {
        let g = goal();
        for progress in [0.25, 0.5, 0.8, 0.99] {
            let alerts = on_progress(&g, None, &eval("2026-03", progress, true), 0, URL);
            assert!(alerts.is_empty(), "{progress}: {alerts:?}");
        }
    }

    #[test]
    fn goal_completed_fires_only_when_progress_crosses_to_one() {
        use AlertType::*;
        let g = goal();
        let table: [(Option<f64>, f64, &[AlertType]); 8] = [
            (Some(0.99), 1.0, &[GoalCompleted]),
            (Some(0.90), 1.25, &[GoalCompleted]),
            (Some(0.60), 1.0, &[GoalCompleted, Milestone75]),
            (None, 1.0, &[GoalCompleted]),
            (Some(1.0), 1.2, &[]),
            (Some(1.1), 1.0, &[]),
            (Some(0.90), 0.999, &[]),
            (None, 0.99, &[]),
        ];
        for (before, after, expected) in table {
            let previous = before.map(|b| eval("2026-02", b, true));
            let alerts = on_progress(&g, previous.as_ref(), &eval("2026-03", after, true), 0, URL);
            assert_eq!(types(&alerts), expected, "{before:?} -> {after}");
        }
        let done = on_progress(
            &g,
            Some(&eval("2026-02", 0.9, true)),
            &eval("2026-03", 1.0, true),
            0,
            URL,
        );
        assert_eq!(done[0].title, "Goal achieved: Rainy day");
        assert_eq!(
            done[0].message,
            "🎉 You did it! You've achieved your goal: Rainy day (10,000.00)!"
        );
        assert_eq!(done[0].occurrence, "");
    }

    #[test]
    fn significant_progress_fires_for_a_contribution_of_at_least_a_tenth_of_the_target() {
        let g = goal();
        // (contribution in cents, target in cents, fires)
        let table = [
            (100_000, 1_000_000, true),
            (150_000, 1_000_000, true),
            (99_999, 1_000_000, false),
            (0, 1_000_000, false),
            (-200_000, 1_000_000, false),
            (1, 10, true),
            (100, 0, false),
        ];
        for (contribution, target, fires) in table {
            let g = Goal {
                target: Money::from_cents(target),
                ..g.clone()
            };
            let current = Evaluation {
                contribution: Money::from_cents(contribution),
                ..eval("2026-03", 0.3, true)
            };
            let alerts = on_progress(&g, Some(&eval("2026-02", 0.3, true)), &current, 0, URL);
            let expected = if fires {
                vec![(AlertType::SignificantProgress, "2026-03")]
            } else {
                vec![]
            };
            assert_eq!(kinds(&alerts), expected, "{contribution} of {target}");
        }
        let current = Evaluation {
            contribution: Money::from_cents(150_000),
            ..eval("2026-03", 0.3, true)
        };
        let alerts = on_progress(&g, Some(&eval("2026-02", 0.3, true)), &current, 0, URL);
        assert_eq!(alerts[0].title, "Big step forward: Rainy day");
        assert_eq!(
            alerts[0].message,
            "Great progress on 'Rainy day': 1,500.00 in 2026-03, 15% of your 10,000.00 target in a single period."
        );
    }

    #[test]
    fn suggested_adjustment_fires_at_an_off_track_streak_of_two_then_every_three_periods() {
        let g = goal();
        // (previous on track, current on track, streak, fires)
        let table = [
            (true, false, 1, false),
            (false, false, 2, true),
            (false, false, 3, false),
            (false, false, 4, false),
            (false, false, 5, true),
            (false, false, 6, false),
            (false, false, 7, false),
            (false, false, 8, true),
            (false, false, 11, true),
            (false, false, 12, false),
            (false, false, 0, false),
            (false, true, 2, false),
            (false, true, 5, false),
        ];
        for (was, is, streak, fires) in table {
            let alerts = on_progress(
                &g,
                Some(&eval("2026-03", 0.2, was)),
                &eval("2026-04", 0.2, is),
                streak,
                URL,
            );
            let adjust: Vec<_> = kinds(&alerts)
                .into_iter()
                .filter(|(t, _)| *t == AlertType::SuggestedAdjustment)
                .collect();
            let expected = if fires {
                vec![(AlertType::SuggestedAdjustment, "2026-04")]
            } else {
                vec![]
            };
            assert_eq!(adjust, expected, "{was} -> {is}, streak {streak}");
        }
        let alerts = on_progress(
            &g,
            Some(&eval("2026-03", 0.2, false)),
            &eval("2026-04", 0.2, false),
            2,
            URL,
        );
        let adjust = find(&alerts, AlertType::SuggestedAdjustment);
        assert_eq!(adjust.title, "Time to adjust: Rainy day");
        assert_eq!(
            adjust.message,
            "'Rainy day' has been off track for 2 periods in a row. To finish on time, raise your monthly \
             contribution to 1,310.00, or move the target date to 2028-03-01 at your current pace of 950.00/month."
        );
        // Three periods later, still off track: again, for that period, with its streak.
        let later = on_progress(
            &g,
            Some(&eval("2026-06", 0.2, false)),
            &eval("2026-07", 0.2, false),
            5,
            URL,
        );
        assert_eq!(kinds(&later), [(AlertType::SuggestedAdjustment, "2026-07")]);
        assert!(
            find(&later, AlertType::SuggestedAdjustment)
                .message
                .starts_with("'Rainy day' has been off track for 5 periods in a row."),
            "{}",
            later[0].message
        );
    }

    #[test]
    fn suggestion_due_is_two_then_every_third_period() {
        let due: Vec<u32> = (0..15).filter(|s| suggestion_due(*s)).collect();
        assert_eq!(due, [2, 5, 8, 11, 14]);
    }

    #[test]
    fn a_spell_off_track_suggests_once_a_quarter_and_back_on_track_starts_it_again() {
        let g = goal();
        // Off track Jan..Sep, on track in Oct, off again Nov..Dec (2026), Jan (2027).
        let on = [
            true, false, false, false, false, false, false, false, false, false, true, false, false, false,
        ];
        let periods = [
            "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
            "2026-09", "2026-10", "2026-11", "2026-12", "2027-01",
        ];
        let history: Vec<_> = periods.iter().zip(on).map(|(p, on)| eval(p, 0.2, on)).collect();
        let mut raised = Vec::new();
        let mut previous: Option<&Evaluation> = None;
        let mut streak = 0;
        for current in &history {
            streak = if current.on_track { 0 } else { streak + 1 };
            raised.extend(on_progress(&g, previous, current, streak, URL));
            previous = Some(current);
        }
        let suggested: Vec<_> = kinds(&raised)
            .into_iter()
            .filter(|(t, _)| *t == AlertType::SuggestedAdjustment)
            .map(|(_, o)| o)
            .collect();
        assert_eq!(suggested, ["2026-02", "2026-05", "2026-08", "2026-12"]);
    }

    #[test]
    fn suggested_adjustment_says_the_date_cannot_be_reached_without_a_positive_pace() {
        let g = goal();
        for (pace, projected) in [(0, Some(day("2030-01-01"))), (-5_000, None), (95_000, None)] {
            let current = Evaluation {
                pace: Money::from_cents(pace),
                projected_completion: projected,
                ..eval("2026-04", 0.2, false)
            };
            let alerts = on_progress(&g, Some(&eval("2026-03", 0.2, false)), &current, 2, URL);
            let message = &find(&alerts, AlertType::SuggestedAdjustment).message;
            assert!(
                message.contains("raise your monthly contribution to 1,310.00"),
                "{message}"
            );
            assert!(
                message.contains(&format!(
                    "At your current pace of {}/month the target cannot be reached",
                    Money::from_cents(pace).grouped()
                )),
                "{message}"
            );
            assert!(!message.contains("move the target date to"), "{message}");
        }
    }

    #[test]
    fn deadline_alerts_follow_the_days_remaining_boundaries() {
        use AlertType::*;
        let g = goal(); // target date 2027-01-01
        let table: [(&str, i64, Option<AlertType>); 9] = [
            ("2026-12-01", 31, None),
            ("2026-12-02", 30, Some(DeadlineApproaching)),
            ("2026-12-24", 8, Some(DeadlineApproaching)),
            ("2026-12-25", 7, Some(DeadlineImminent)),
            ("2026-12-31", 1, Some(DeadlineImminent)),
            ("2027-01-01", 0, None),
            ("2027-01-02", -1, Some(DeadlineMissed)),
            ("2027-06-01", -151, Some(DeadlineMissed)),
            ("2026-03-01", 306, None),
        ];
        for (today, days, expected) in table {
            assert_eq!(day("2027-01-01").signed_duration_since(day(today)).num_days(), days);
            // Has an entry this period, so no reminder in the way.
            let alerts = on_time(&g, Some(&eval("2026-11", 0.5, true)), day(today), true, URL);
            assert_eq!(
                kinds(&alerts),
                expected.map(|t| (t, "")).into_iter().collect::<Vec<_>>(),
                "{days} days"
            );
        }
        let current = eval("2026-11", 0.5, true);
        let approaching = at(&g, Some(&current), "2026-12-02");
        assert_eq!(approaching[0].title, "30 days left: Rainy day");
        assert_eq!(
            approaching[0].message,
            "Only 30 days left to reach 'Rainy day'. You need 1,310.00/month to finish on time."
        );
        let imminent = on_time(&g, Some(&current), day("2026-12-31"), true, URL);
        assert_eq!(imminent[0].title, "1 day left: Rainy day");
        assert_eq!(
            imminent[0].message,
            "Only 1 day left to reach 'Rainy day'. You need 1,310.00/month to finish on time."
        );
        let missed = on_time(&g, Some(&eval("2026-12", 0.876, false)), day("2027-01-02"), true, URL);
        assert_eq!(missed[0].title, "Target date passed: Rainy day");
        assert_eq!(
            missed[0].message,
            "The target date for 'Rainy day' (2027-01-01) has passed, with 87% of the target reached. \
             Set a new target date or adjust the goal to keep going."
        );
        let unknown = on_time(&g, None, day("2026-12-02"), true, URL);
        assert_eq!(unknown[0].message, "Only 30 days left to reach 'Rainy day'.");
        let no_date = Goal {
            target_date: None,
            ..goal()
        };
        assert!(on_time(&no_date, None, day("2027-01-02"), true, URL).is_empty());
    }

    #[test]
    fn deadlines_are_not_raised_for_a_goal_that_reached_its_target() {
        let g = goal();
        for today in ["2026-12-02", "2026-12-31", "2027-01-02"] {
            assert!(on_time(&g, Some(&eval("2026-11", 1.0, true)), day(today), true, URL).is_empty());
            assert!(!on_time(&g, Some(&eval("2026-11", 0.99, true)), day(today), true, URL).is_empty());
        }
    }

    #[test]
    fn monthly_reminders_are_due_from_the_reminder_day_once_per_month() {
        let g = goal(); // reminder day 15
        let table = [
            ("2026-03-14", None),
            ("2026-03-15", Some("2026-03")),
            ("2026-03-31", Some("2026-03")),
            ("2026-04-01", None),
            ("2026-04-15", Some("2026-04")),
        ];
        for (today, expected) in table {
            let alerts = at(&g, None, today);
            let expected: Vec<_> = expected.map(|o| (AlertType::UpdateReminder, o)).into_iter().collect();
            assert_eq!(kinds(&alerts), expected, "{today}");
        }
        assert!(
            on_time(&g, None, day("2026-03-15"), true, URL).is_empty(),
            "has an entry"
        );
        let off = Goal {
            reminder_enabled: false,
            ..goal()
        };
        assert!(at(&off, None, "2026-03-15").is_empty(), "reminders off");
        let reminder = &at(&g, None, "2026-03-15")[0];
        assert_eq!(reminder.title, "Time to update: Rainy day");
        assert_eq!(
            reminder.message,
            "No progress recorded for 'Rainy day' yet this month (2026-03). \
             Upload your latest budget or log an update to keep it on track."
        );
        // Day 31 in a 28-day month: the last day.
        let late = Goal {
            reminder_day: 31,
            ..goal()
        };
        assert_eq!(
            kinds(&at(&late, None, "2026-02-28")),
            [(AlertType::UpdateReminder, "2026-02")]
        );
        assert!(at(&late, None, "2026-02-27").is_empty());
    }

    #[test]
    fn quarterly_reminders_are_due_in_the_first_month_of_each_quarter() {
        let g = Goal {
            tracking_frequency: TrackingFrequency::Quarterly,
            ..goal()
        };
        let table = [
            ("2026-04-14", None),
            ("2026-04-15", Some("2026-Q2")),
            ("2026-06-30", Some("2026-Q2")),
            ("2026-07-01", None),
            ("2026-10-15", Some("2026-Q4")),
        ];
        for (today, expected) in table {
            let alerts = at(&g, None, today);
            let expected: Vec<_> = expected.map(|o| (AlertType::UpdateReminder, o)).into_iter().collect();
            assert_eq!(kinds(&alerts), expected, "{today}");
        }
        assert!(
            at(&g, None, "2026-04-15")[0]
                .message
                .contains("yet this quarter (2026-Q2)")
        );
    }

    #[test]
    fn weekly_reminders_fall_on_the_weekday_of_each_iso_week() {
        // 2026-03-02 is the Monday of ISO week 10.
        let table = [
            (3, "2026-03-03", None),
            (3, "2026-03-04", Some("2026-W10")),
            (3, "2026-03-08", Some("2026-W10")),
            (3, "2026-03-09", None),
            (3, "2026-03-11", Some("2026-W11")),
            (1, "2026-03-02", Some("2026-W10")),
            (7, "2026-03-07", None),
            (7, "2026-03-08", Some("2026-W10")),
            (8, "2026-03-02", Some("2026-W10")),
            (10, "2026-03-03", None),
            (10, "2026-03-04", Some("2026-W10")),
            // ISO year, not calendar year: Monday 2025-12-29 opens 2026-W01.
            (1, "2025-12-29", Some("2026-W01")),
            (5, "2027-01-01", Some("2026-W53")),
        ];
        for (reminder_day, today, expected) in table {
            let g = Goal {
                tracking_frequency: TrackingFrequency::Weekly,
                reminder_day,
                start_date: day("2025-01-01"),
                ..goal()
            };
            let alerts = on_time(&g, None, day(today), false, URL);
            let reminders: Vec<_> = kinds(&alerts)
                .into_iter()
                .filter(|(t, _)| *t == AlertType::UpdateReminder)
                .collect();
            let expected: Vec<_> = expected.map(|o| (AlertType::UpdateReminder, o)).into_iter().collect();
            assert_eq!(reminders, expected, "day {reminder_day} on {today}");
        }
    }

    #[test]
    fn biweekly_reminders_fall_in_even_iso_weeks() {
        let table = [
            ("2026-03-04", None),             // W10 Wednesday, before the due Thursday
            ("2026-03-05", Some("2026-W10")), // W10 Thursday
            ("2026-03-12", Some("2026-W10")), // W11: still W10's period, caught up
            ("2026-03-16", None),             // W12 Monday
            ("2026-03-19", Some("2026-W12")),
            ("2027-01-07", Some("2026-W52")), // W01 after the 53-week ISO year 2026
            ("2027-01-14", Some("2027-W02")),
        ];
        for (today, expected) in table {
            let g = Goal {
                tracking_frequency: TrackingFrequency::Biweekly,
                reminder_day: 4,
                ..goal()
            };
            // Past the target date: only reminders are looked at here.
            let alerts = on_time(&g, None, day(today), false, URL);
            let reminders: Vec<_> = kinds(&alerts)
                .into_iter()
                .filter(|(t, _)| *t == AlertType::UpdateReminder)
                .collect();
            let expected: Vec<_> = expected.map(|o| (AlertType::UpdateReminder, o)).into_iter().collect();
            assert_eq!(reminders, expected, "{today}");
        }
    }

    #[test]
    fn reminders_wait_for_the_goal_to_start() {
        let g = Goal {
            start_date: day("2026-03-20"),
            ..goal()
        };
        assert!(
            at(&g, None, "2026-03-25").is_empty(),
            "due on the 15th, before the start"
        );
        assert_eq!(
            kinds(&at(&g, None, "2026-04-15")),
            [(AlertType::UpdateReminder, "2026-04")]
        );
    }

    #[test]
    fn paused_completed_and_abandoned_goals_raise_nothing_but_their_completion() {
        for status in [GoalStatus::Paused, GoalStatus::Completed, GoalStatus::Abandoned] {
            let g = with_status(status);
            // Off track, past a milestone, a big contribution, a streak: nothing.
            let busy = Evaluation {
                contribution: Money::from_cents(500_000),
                ..eval("2026-04", 0.6, false)
            };
            let alerts = on_progress(&g, Some(&eval("2026-03", 0.2, true)), &busy, 3, URL);
            assert!(alerts.is_empty(), "{status}: {alerts:?}");
            let back = on_progress(
                &g,
                Some(&eval("2026-03", 0.2, false)),
                &eval("2026-04", 0.2, true),
                0,
                URL,
            );
            assert!(back.is_empty(), "{status}: {back:?}");
            // Deadlines and reminders: nothing, on any day.
            for today in ["2026-03-15", "2026-12-02", "2026-12-31", "2027-01-02"] {
                assert!(
                    at(&g, Some(&eval("2026-03", 0.2, false)), today).is_empty(),
                    "{status} {today}"
                );
            }
            // Reaching the target: the completion alert itself.
            let done = on_progress(
                &g,
                Some(&eval("2026-03", 0.8, true)),
                &eval("2026-04", 1.0, true),
                0,
                URL,
            );
            assert_eq!(types(&done), [AlertType::GoalCompleted], "{status}");
        }
    }

    #[test]
    fn the_evaluation_that_completes_a_goal_is_judged_as_active_even_if_the_goal_is_marked_completed() {
        use AlertType::*;
        let current = Evaluation {
            contribution: Money::from_cents(300_000),
            ..eval("2026-04", 1.0, true)
        };
        let previous = eval("2026-03", 0.7, false);
        let expected = [GoalCompleted, BackOnTrack, Milestone75, SignificantProgress];
        for status in [GoalStatus::Active, GoalStatus::Completed] {
            let alerts = on_progress(&with_status(status), Some(&previous), &current, 0, URL);
            assert_eq!(types(&alerts), expected, "{status}");
        }
        // Once completed, a later evaluation raises nothing.
        let later = on_progress(
            &with_status(GoalStatus::Completed),
            Some(&current),
            &eval("2026-05", 1.1, true),
            0,
            URL,
        );
        assert!(later.is_empty());
    }

    #[test]
    fn recurring_goals_get_no_milestones_completion_or_significant_progress() {
        use AlertType::*;
        for goal_type in [GoalType::SavingsRate, GoalType::ExpenseReduction] {
            let g = Goal {
                goal_type,
                is_recurring: true,
                target: Money::from_cents(2_000),
                ..goal()
            };
            let current = Evaluation {
                contribution: Money::from_cents(1_000),
                ..eval("2026-04", 1.2, true)
            };
            let alerts = on_progress(&g, Some(&eval("2026-03", 0.1, true)), &current, 0, URL);
            assert!(alerts.is_empty(), "{goal_type}: {alerts:?}");
            let off = on_progress(
                &g,
                Some(&eval("2026-03", 1.0, true)),
                &eval("2026-04", 0.8, false),
                2,
                URL,
            );
            assert_eq!(types(&off), [OffTrack, SuggestedAdjustment], "{goal_type}");
            assert!(off.iter().all(|a| a.message.contains("1,310.00")), "{off:?}");
            assert!(off.iter().all(|a| !a.message.contains("target date")), "{off:?}");
        }
        let rate = Goal {
            goal_type: GoalType::SavingsRate,
            ..goal()
        };
        let off = on_progress(&rate, None, &eval("2026-04", 0.8, false), 1, URL);
        assert_eq!(
            off[0].message,
            "'Rainy day' is below its target savings rate in 2026-04. Saving 1,310.00 more a month would reach it."
        );
    }

    #[test]
    fn the_action_url_points_at_the_goal_when_a_base_url_is_configured() {
        let g = goal();
        for (base, expected) in [
            (URL, Some("https://goals.example.com/goals/g1")),
            ("https://goals.example.com/", Some("https://goals.example.com/goals/g1")),
            ("https://example.com/app", Some("https://example.com/app/goals/g1")),
            ("", None),
            ("  ", None),
        ] {
            let progress = on_progress(&g, None, &eval("2026-03", 0.1, false), 1, base);
            let time = on_time(&g, None, day("2026-03-15"), false, base);
            assert_eq!(progress.len(), 1);
            assert_eq!(time.len(), 1);
            for alert in progress.iter().chain(&time) {
                assert_eq!(alert.action_url.as_deref(), expected, "{base:?}");
            }
        }
    }

    #[test]
    fn amounts_are_shown_with_thousands_separators_and_two_decimals() {
        let g = Goal {
            target: Money::from_cents(250_000_000),
            ..goal()
        };
        let current = Evaluation {
            required_monthly: Money::from_cents(123_456_789),
            ..eval("2026-03", 0.1, false)
        };
        let alerts = on_progress(&g, None, &current, 1, URL);
        assert_eq!(alerts[0].title, "Falling behind: Rainy day");
        assert_eq!(
            alerts[0].message,
            "You're falling behind on 'Rainy day'. You need 1,234,567.89/month to catch up."
        );
        let big = Evaluation {
            contribution: Money::from_cents(30_000_005),
            ..eval("2026-03", 0.2, true)
        };
        let alerts = on_progress(&g, Some(&eval("2026-02", 0.1, true)), &big, 0, URL);
        let significant = find(&alerts, AlertType::SignificantProgress);
        assert!(
            significant
                .message
                .contains("300,000.05 in 2026-03, 12% of your 2,500,000.00 target")
        );
    }

    #[test]
    fn alerts_come_most_urgent_first() {
        use AlertType::*;
        let current = Evaluation {
            contribution: Money::from_cents(900_000),
            ..eval("2026-04", 1.0, true)
        };
        let alerts = on_progress(&goal(), Some(&eval("2026-03", 0.1, false)), &current, 0, URL);
        assert_eq!(
            types(&alerts),
            [
                GoalCompleted,
                BackOnTrack,
                Milestone25,
                Milestone50,
                Milestone75,
                SignificantProgress
            ]
        );
        // A missed deadline before the month's reminder.
        let late = at(&goal(), None, "2027-01-15");
        assert_eq!(types(&late), [DeadlineMissed, UpdateReminder]);
    }

    #[test]
    fn progress_percentages_round_down_without_float_error() {
        for (progress, shown) in [(0.29, 29), (0.876, 87), (0.996, 99), (0.5, 50), (0.0, 0), (f64::NAN, 0)] {
            assert_eq!(percent(progress), shown, "{progress}");
        }
    }

    #[test]
    fn an_evaluation_from_a_summary_rounds_money_to_cents() {
        let summary = Summary {
            current_value: Decimal::new(500_000, 2),
            progress: 0.5,
            on_track: false,
            days_elapsed: 100,
            days_remaining: Some(30),
            months_left: Some(1),
            required_monthly_contribution: Decimal::new(1_310_005, 3),
            current_monthly_pace: Decimal::new(95_000, 2),
            projected_completion_date: Some(day("2028-03-01")),
            projected_final_value: None,
            note: None,
        };
        let e = Evaluation::from_summary(period("2026-03"), Money::from_cents(100), &summary);
        assert_eq!(
            e,
            Evaluation {
                period: period("2026-03"),
                progress: 0.5,
                on_track: false,
                contribution: Money::from_cents(100),
                days_remaining: Some(30),
                required_monthly: Money::from_cents(131_001),
                pace: Money::from_cents(95_000),
                projected_completion: Some(day("2028-03-01")),
            }
        );
        assert_eq!(Money::from_decimal(Decimal::MAX), Money::from_cents(i64::MAX));
        assert_eq!(Money::from_decimal(Decimal::MIN), Money::from_cents(i64::MIN));
    }

    proptest::proptest! {
        /// The cheap pre-check never hides an alert: whenever the rules raise
        /// something, `could_raise` said they might.
        #[test]
        fn could_raise_is_true_whenever_on_progress_raises_something(
            status in 0usize..4,
            goal_type in 0usize..12,
            prev in proptest::option::of((-0.5f64..1.5, proptest::bool::ANY)),
            progress in -0.5f64..1.5,
            on_track in proptest::bool::ANY,
            contribution in -2_000_000i64..2_000_000,
            streak in 0u32..5,
        ) {
            let statuses = [GoalStatus::Active, GoalStatus::Paused, GoalStatus::Completed, GoalStatus::Abandoned];
            let goal = Goal { goal_type: GoalType::ALL[goal_type], ..with_status(statuses[status]) };
            let previous = prev.map(|(p, t)| Evaluation::previous(p, t));
            let current = Evaluation { progress, on_track, contribution: Money::from_cents(contribution), ..eval("2026-06", 0.0, true) };
            let raised = on_progress(&goal, previous.as_ref(), &current, streak, URL);
            proptest::prop_assert!(raised.is_empty() || could_raise(&goal, previous.as_ref(), &current, streak));
        }
    }
}
