//! Turning a goal's snapshots into progress entries, and its history into a
//! live summary. Pure: sync after ingest, backfill for a new goal and the
//! recompute after a correction all come through here.

use super::alerts::{self, Evaluation, NewAlert};
use super::card::GoalCard;
use super::goal::{Goal, GoalStatus, GoalType, NewProgress, ProgressEntry, ProgressSource};
use super::measure::{DebtReading, DebtSeen, Measured, measure};
use super::progress::{self, GoalTerms, Measure, Observation, Summary};
use super::{Money, Period, SnapshotSummary};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Contributions that make up the pace (seed: the last 3 entries).
const PACE_ENTRIES: usize = 3;

/// What is known of a goal before the snapshots being tracked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prior {
    /// The goal's value in the previous period, if known.
    pub last_value: Option<Money>,
    /// The latest contributions, oldest first (at most 3).
    pub recent_contributions: Vec<Money>,
    /// Expense reduction: spending in the first period tracked.
    pub baseline: Option<Money>,
    /// Debt goals: which links were seen with a balance above zero, and since when.
    pub debt_seen: DebtSeen,
    /// The newest period tracked (the month before the start, or one with an entry).
    pub last_period: Option<Period>,
    /// Where the goal stood at its previous entry: what the alert rules compare with.
    pub last_standing: Option<Standing>,
}

/// What the alert rules need of a goal's previous evaluation; kept with each
/// progress entry.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Standing {
    /// Unclamped (1.0 = done).
    pub progress: f64,
    pub on_track: bool,
    /// Periods in a row off track, this one included; 0 when on track.
    pub off_track_streak: u32,
}

impl Standing {
    /// The standing after `previous` of an entry with this progress.
    pub fn next(previous: Option<Standing>, progress: f64, on_track: bool) -> Standing {
        let off_track_streak = if on_track {
            0
        } else {
            previous.map_or(0, |p| p.off_track_streak).saturating_add(1)
        };
        Standing {
            progress,
            on_track,
            off_track_streak,
        }
    }
}

/// Which entries' evaluations raise alerts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlertMode {
    /// Every new entry, each compared with the one before it (new months).
    EveryEntry,
    /// Only the newest entry, compared with `previous`: the goal's newest
    /// entry before a recompute (a backfill or a correction raises what
    /// changed, not every historical crossing again).
    NewestAgainst(Option<Standing>),
}

/// How tracking raises alerts.
#[derive(Debug, Clone, Copy)]
pub struct Alerting<'a> {
    pub mode: AlertMode,
    /// `[email] base_url`, for action links.
    pub base_url: &'a str,
}

/// An alert a progress entry raised, with the goal as that evaluation saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Raised {
    pub period: Period,
    pub alert: NewAlert,
    pub card: GoalCard,
}

/// One snapshot of the goal's user, in period order.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotAt<'a> {
    pub snapshot_id: Option<i64>,
    pub period: Period,
    pub summary: &'a SnapshotSummary,
}

/// What tracking produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub entries: Vec<NewProgress>,
    /// The period in which progress first reached 100 % (not for recurring goals).
    pub completed_in: Option<Period>,
    /// The state after the last snapshot, for tracking the next ones.
    pub prior: Prior,
    /// The alerts the entries raised (with [`Alerting`]), in entry order.
    pub alerts: Vec<Raised>,
}

fn cents_to_decimal(m: Money) -> Decimal {
    Decimal::new(m.cents(), 2)
}

/// The calculator's view of a goal at one snapshot.
fn terms(goal: &Goal, measured: &Measured, summary: Option<&SnapshotSummary>, baseline: Option<Money>) -> GoalTerms {
    let measure = match goal.goal_type {
        GoalType::DebtPayoff | GoalType::DebtFree => Measure::Debt,
        GoalType::SavingsRate => Measure::SavingsRate {
            income: summary.map_or(Decimal::ZERO, |s| cents_to_decimal(s.total_income)),
            surplus: summary.map_or(Decimal::ZERO, |s| cents_to_decimal(s.surplus)),
        },
        GoalType::ExpenseReduction => Measure::ExpenseReduction {
            baseline: cents_to_decimal(baseline.unwrap_or(measured.value)),
        },
        _ => Measure::Accumulate,
    };
    GoalTerms {
        measure,
        target: cents_to_decimal(goal.target),
        start: goal.start_date,
        target_date: goal.target_date,
        annual_rate: measured.annual_rate,
    }
}

fn summarize(
    goal: &Goal,
    measured: &Measured,
    summary: Option<&SnapshotSummary>,
    baseline: Option<Money>,
    contributions: &[Money],
    as_of: NaiveDate,
    calculate: fn(&GoalTerms, &Observation) -> Summary,
) -> Summary {
    let observation = Observation {
        current: cents_to_decimal(measured.value),
        as_of,
        recent_contributions: contributions.iter().copied().map(cents_to_decimal).collect(),
    };
    calculate(&terms(goal, measured, summary, baseline), &observation)
}

fn push_recent(recent: &mut Vec<Money>, contribution: Money) {
    recent.push(contribution);
    if recent.len() > PACE_ENTRIES {
        recent.remove(0);
    }
}

/// The inputs of an entry's full evaluation, kept for the newest entry.
struct EntryInputs<'a> {
    measured: Measured,
    summary: &'a SnapshotSummary,
    baseline: Option<Money>,
    contributions: Vec<Money>,
    period: Period,
    contribution: Money,
    previous: Option<Standing>,
    standing: Standing,
}

/// The alerts an entry's evaluation raises. The full summary (projections) is
/// computed only when the standing could raise something.
fn raise(goal: &Goal, inputs: &EntryInputs<'_>, base_url: &str, out: &mut Vec<Raised>) {
    let previous = inputs.previous.map(|p| Evaluation::previous(p.progress, p.on_track));
    let glance = Evaluation::previous(inputs.standing.progress, inputs.standing.on_track);
    let glance = Evaluation {
        period: inputs.period,
        contribution: inputs.contribution,
        ..glance
    };
    if !alerts::could_raise(goal, previous.as_ref(), &glance, inputs.standing.off_track_streak) {
        return;
    }
    let summary = summarize(
        goal,
        &inputs.measured,
        Some(inputs.summary),
        inputs.baseline,
        &inputs.contributions,
        inputs.period.last_day(),
        // An alert's evaluation does not read the projected final value.
        progress::summarize_for_alerts,
    );
    let evaluation = Evaluation::from_summary(inputs.period, inputs.contribution, &summary);
    let raised = alerts::on_progress(
        goal,
        previous.as_ref(),
        &evaluation,
        inputs.standing.off_track_streak,
        base_url,
    );
    let card = GoalCard::new(goal, inputs.measured.value, &evaluation);
    out.extend(raised.into_iter().map(|alert| Raised {
        period: inputs.period,
        alert,
        card: card.clone(),
    }));
}

/// Progress entries for `goal` from `snapshots` (in period order, each
/// after `prior.last_period`). Only the goal's own months count: the month
/// before its start sets up `prior` (the value the first contribution is
/// measured from, the debts seen); earlier months are passed over, so what
/// the goal shows never depends on how far back the stored history goes.
/// Stops at completion: later entries would not reopen it. With `alerting`,
/// also the alerts the entries raise.
pub fn track(goal: &Goal, mut prior: Prior, snapshots: &[SnapshotAt<'_>], alerting: Option<Alerting<'_>>) -> Tracked {
    let start = Period::of_date(goal.start_date);
    let base = start.and_then(|s| s.add_months(-1));
    let mut entries = Vec::new();
    let mut completed_in = None;
    let mut alerts = Vec::new();
    let mut newest: Option<EntryInputs<'_>> = None;
    for at in snapshots {
        if base.is_some_and(|b| at.period < b) {
            continue;
        }
        let measured = measure(goal, at.summary, &prior.debt_seen);
        prior.debt_seen.observe(goal, at.summary, at.period);
        let Some(measured) = measured else { continue };
        prior.last_period = Some(at.period);
        if start.is_some_and(|s| at.period < s) {
            prior.last_value = Some(measured.value);
            continue;
        }
        if goal.goal_type == GoalType::ExpenseReduction && prior.baseline.is_none() {
            prior.baseline = Some(measured.value);
        }
        // No earlier value: a debt goal starts from nothing paid; anything
        // else from where it stands (what was there before is no contribution).
        let previous = prior.last_value.unwrap_or(if goal.goal_type.is_debt() {
            Money::ZERO
        } else {
            measured.value
        });
        let value = measured.value;
        let contribution = value.checked_sub(previous).unwrap_or(Money::ZERO);
        push_recent(&mut prior.recent_contributions, contribution);
        let note = measured.debt.note();
        // An entry needs only where the goal stands, not the projections.
        let terms = terms(goal, &measured, Some(at.summary), prior.baseline);
        let (progress, on_track) = progress::standing(&terms, cents_to_decimal(measured.value), at.period.last_day());
        let standing = Standing::next(prior.last_standing, progress, on_track);
        if let Some(alerting) = alerting {
            let inputs = EntryInputs {
                measured,
                summary: at.summary,
                baseline: prior.baseline,
                contributions: prior.recent_contributions.clone(),
                period: at.period,
                contribution,
                previous: prior.last_standing,
                standing,
            };
            match alerting.mode {
                AlertMode::EveryEntry => raise(goal, &inputs, alerting.base_url, &mut alerts),
                AlertMode::NewestAgainst(_) => newest = Some(inputs),
            }
        }
        prior.last_standing = Some(standing);
        entries.push(NewProgress {
            goal_id: goal.id.clone(),
            period: at.period,
            value,
            contribution,
            progress,
            on_track,
            off_track_streak: standing.off_track_streak,
            source: ProgressSource::BudgetSync,
            snapshot_id: at.snapshot_id,
            note,
            debt_seen: prior.debt_seen.clone(),
        });
        prior.last_value = Some(value);
        if !goal.goal_type.is_recurring() && progress >= 1.0 {
            completed_in = Some(at.period);
            break;
        }
    }
    if let (Some(alerting), Some(mut inputs)) = (alerting, newest) {
        if let AlertMode::NewestAgainst(previous) = alerting.mode {
            inputs.previous = previous;
            raise(goal, &inputs, alerting.base_url, &mut alerts);
        }
    }
    Tracked {
        entries,
        completed_in,
        prior,
        alerts,
    }
}

/// Where a goal stands as of `today`, from its history and the user's latest
/// snapshot (for rates, income and surplus).
pub fn live_summary(
    goal: &Goal,
    history: &[ProgressEntry],
    latest: Option<&SnapshotSummary>,
    today: NaiveDate,
) -> Summary {
    // No entry yet (a goal started after the latest snapshot): where it
    // stands is what the latest snapshot says.
    let measured_now = latest.and_then(|s| measure(goal, s, &DebtSeen::default()));
    let value = history
        .last()
        .map(|e| e.value)
        .or(measured_now.as_ref().map(|m| m.value))
        .unwrap_or(Money::ZERO);
    let contributions: Vec<Money> = history
        .iter()
        .rev()
        .take(PACE_ENTRIES)
        .rev()
        .map(|e| e.contribution)
        .collect();
    let rate = measured_now.and_then(|m| m.annual_rate);
    let baseline = (goal.goal_type == GoalType::ExpenseReduction)
        .then(|| {
            history
                .iter()
                .find(|e| e.source == ProgressSource::BudgetSync)
                .map(|e| e.value)
        })
        .flatten();
    let measured = Measured {
        value,
        debt: DebtReading::default(),
        annual_rate: rate,
    };
    let mut summary = summarize(
        goal,
        &measured,
        latest,
        baseline,
        &contributions,
        today,
        progress::summarize,
    );
    if goal.status == GoalStatus::Completed {
        summary.projected_completion_date = completion_date(goal, history);
    }
    summary
}

/// When a completed goal was completed: the last day of the month whose
/// entry first reached 100 % (the day its `goal_completed` alert was judged
/// on), else (completed by hand, or a recurring goal) the day it was marked
/// completed.
pub fn completion_date(goal: &Goal, history: &[ProgressEntry]) -> Option<NaiveDate> {
    let reached = if goal.goal_type.is_recurring() {
        None
    } else {
        history.iter().find(|e| e.progress >= 1.0).map(|e| e.period.last_day())
    };
    reached.or(goal.completed_at.map(|at| at.date_naive()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::goal::GoalId;
    use crate::domain::{GoalStatus, UserId};
    use chrono::{TimeZone, Utc};

    fn goal(goal_type: GoalType) -> Goal {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let mut g = Goal::new(
            GoalId::parse("g1").unwrap(),
            UserId::parse("u1").unwrap(),
            goal_type,
            "goal",
            Money::from_cents(100_000),
            start,
            t,
        );
        g.status = GoalStatus::Completed;
        g.completed_at = Some(Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap());
        g
    }

    fn entry(period: &str, value: i64, progress: f64) -> ProgressEntry {
        ProgressEntry {
            id: 0,
            goal_id: GoalId::parse("g1").unwrap(),
            period: period.parse().unwrap(),
            value: Money::from_cents(value),
            contribution: Money::ZERO,
            progress,
            on_track: true,
            off_track_streak: 0,
            principal_paid: None,
            interest_paid: None,
            source: ProgressSource::BudgetSync,
            snapshot_id: None,
            recorded_at: Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap(),
            note: None,
        }
    }

    #[test]
    fn a_completed_goal_completed_on_the_last_day_of_the_month_that_reached_its_target() {
        let history = [entry("2025-11", 90_000, 0.9), entry("2025-12", 100_000, 1.0)];
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let g = goal(GoalType::SavingsTarget);
        assert_eq!(completion_date(&g, &history), Some(day("2025-12-31")));
        // Whatever day it is now, the summary says so.
        let s = live_summary(&g, &history, None, day("2026-03-15"));
        assert_eq!(s.projected_completion_date, Some(day("2025-12-31")));
        // Completed by hand short of the target: the day it was marked.
        assert_eq!(completion_date(&g, &history[..1]), Some(day("2026-02-01")));
        // A recurring goal meets its target month after month: the day it was marked.
        assert_eq!(
            completion_date(&goal(GoalType::SavingsRate), &history),
            Some(day("2026-02-01"))
        );
        // An active goal at its target completes today, as before.
        let active = Goal {
            status: GoalStatus::Active,
            ..g
        };
        let s = live_summary(&active, &history, None, day("2026-03-15"));
        assert_eq!(s.projected_completion_date, Some(day("2026-03-15")));
    }
}
