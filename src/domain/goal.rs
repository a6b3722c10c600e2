//! Goals: what a user aims for, what a goal measures, and its life cycle.

use super::ids::{LabelError, UserId, check_id};
use super::money::Money;
use chrono::{DateTime, NaiveDate, Utc};
use std::fmt;
use std::str::FromStr;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? } expected $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("expected {}", $expected))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// The twelve kinds of goal (seed 2.1).
    GoalType {
        EmergencyFund = "emergency_fund",
        SavingsTarget = "savings_target",
        DownPayment = "down_payment",
        MajorPurchase = "major_purchase",
        DebtPayoff = "debt_payoff",
        DebtFree = "debt_free",
        InvestmentTarget = "investment_target",
        RetirementSavings = "retirement_savings",
        SavingsRate = "savings_rate",
        ExpenseReduction = "expense_reduction",
        NetWorthTarget = "net_worth_target",
        Custom = "custom",
    } expected "one of emergency_fund, savings_target, down_payment, major_purchase, debt_payoff, debt_free, investment_target, retirement_savings, savings_rate, expense_reduction, net_worth_target, custom"
);

impl GoalType {
    /// Judged period by period rather than accumulated (seed: `is_recurring`).
    pub fn is_recurring(self) -> bool {
        matches!(self, GoalType::SavingsRate | GoalType::ExpenseReduction)
    }

    pub fn is_debt(self) -> bool {
        matches!(self, GoalType::DebtPayoff | GoalType::DebtFree)
    }

    /// The target is a percentage (of income), not an amount of money.
    pub fn target_is_percent(self) -> bool {
        self == GoalType::SavingsRate
    }
}

text_enum!(
    GoalStatus {
        Active = "active",
        Paused = "paused",
        Completed = "completed",
        Abandoned = "abandoned",
    } expected "one of active, paused, completed, abandoned"
);

text_enum!(
    /// How often a goal expects an update (for reminders).
    TrackingFrequency {
        Weekly = "weekly",
        Biweekly = "biweekly",
        Monthly = "monthly",
        Quarterly = "quarterly",
    } expected "one of weekly, biweekly, monthly, quarterly"
);

text_enum!(
    RecurrencePeriod {
        Monthly = "monthly",
        Quarterly = "quarterly",
        Yearly = "yearly",
    } expected "one of monthly, quarterly, yearly"
);

/// A change of status an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Pause,
    Resume,
    Complete,
    Abandon,
}

impl StatusChange {
    fn verb(self) -> &'static str {
        match self {
            StatusChange::Pause => "pause",
            StatusChange::Resume => "resume",
            StatusChange::Complete => "complete",
            StatusChange::Abandon => "abandon",
        }
    }
}

impl GoalStatus {
    /// The status after `change`, or why it is not allowed.
    pub fn apply(self, change: StatusChange) -> Result<GoalStatus, String> {
        use GoalStatus::*;
        use StatusChange::*;
        match (self, change) {
            (Active, Pause) => Ok(Paused),
            (Paused, Resume) => Ok(Active),
            (Active | Paused, Complete) => Ok(Completed),
            (Active | Paused, Abandon) => Ok(Abandoned),
            (status, change) => Err(format!(
                "cannot {} a goal that is {status}{}",
                change.verb(),
                match (status, change) {
                    (Abandoned, Resume) => ": an abandoned goal stays abandoned; create a new goal instead",
                    (Completed, _) => ": a completed goal is final",
                    (Active, Resume) => ": it is not paused",
                    (Paused, Pause) => ": it is paused already",
                    _ => "",
                }
            )),
        }
    }
}

/// What a goal measures in a snapshot: accounts and/or categories.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GoalLinks {
    pub accounts: Vec<String>,
    pub categories: Vec<String>,
}

impl GoalLinks {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.categories.is_empty()
    }
}

/// A goal (seed 2.2), with the links that say what it measures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Goal {
    pub id: GoalId,
    pub user_id: UserId,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub goal_type: GoalType,
    /// Hundredths: money in cents, or a percentage in basis points (savings_rate).
    #[serde(rename = "target_value")]
    pub target: Money,
    pub target_date: Option<NaiveDate>,
    pub start_date: NaiveDate,
    pub links: GoalLinks,
    /// Debt goals: the balance when the goal started (the target).
    pub original_balance: Option<Money>,
    pub is_recurring: bool,
    pub recurrence_period: Option<RecurrencePeriod>,
    pub tracking_frequency: TrackingFrequency,
    pub reminder_enabled: bool,
    /// Day of the month (1 to 28) on which reminders are due.
    pub reminder_day: u8,
    pub status: GoalStatus,
    pub completed_at: Option<DateTime<Utc>>,
    pub template_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A goal's identifier: letters, digits and `. _ - : @`, at most 64. Shared text: a run
/// clones it into every entry and alert it plans, and a clone is a reference count, not a copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct GoalId(std::sync::Arc<str>);

impl GoalId {
    pub fn parse(s: &str) -> Result<Self, LabelError> {
        check_id(s).map(|()| GoalId(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_trusted(s: String) -> Self {
        GoalId(s.into())
    }
}

impl fmt::Display for GoalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_enum!(
    /// How a progress entry was recorded (seed 3.1).
    ProgressSource {
        Manual = "manual",
        BudgetSync = "budget_sync",
        Calculated = "calculated",
    } expected "one of manual, budget_sync, calculated"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_goal_type_reads_back_from_its_name() {
        for t in GoalType::ALL {
            assert_eq!(t.as_str().parse::<GoalType>(), Ok(*t));
        }
        assert_eq!(GoalType::ALL.len(), 12);
        assert!(
            "house"
                .parse::<GoalType>()
                .unwrap_err()
                .starts_with("expected one of emergency_fund")
        );
    }

    #[test]
    fn status_changes_follow_the_life_cycle() {
        use GoalStatus::*;
        use StatusChange::*;
        let table = [
            (Active, Pause, Ok(Paused)),
            (Paused, Resume, Ok(Active)),
            (Active, Complete, Ok(Completed)),
            (Paused, Complete, Ok(Completed)),
            (Active, Abandon, Ok(Abandoned)),
            (Paused, Abandon, Ok(Abandoned)),
        ];
        for (from, change, to) in table {
            assert_eq!(from.apply(change), to, "{from} {change:?}");
        }
        for (from, change) in [
            (Abandoned, Resume),
            (Abandoned, Pause),
            (Completed, Resume),
            (Completed, Abandon),
            (Active, Resume),
            (Paused, Pause),
        ] {
            assert!(from.apply(change).is_err(), "{from} {change:?}");
        }
        assert_eq!(
            Abandoned.apply(Resume).unwrap_err(),
            "cannot resume a goal that is abandoned: an abandoned goal stays abandoned; create a new goal instead"
        );
    }
}

/// A recorded step of a goal (seed 3.1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProgressEntry {
    pub id: i64,
    pub goal_id: GoalId,
    pub period: super::Period,
    /// Hundredths, like the goal's target.
    pub value: Money,
    pub contribution: Money,
    /// Value ÷ target, unclamped.
    pub progress: f64,
    pub on_track: bool,
    /// Periods in a row off track, this one included; 0 when on track.
    pub off_track_streak: u32,
    pub principal_paid: Option<Money>,
    pub interest_paid: Option<Money>,
    pub source: ProgressSource,
    pub snapshot_id: Option<i64>,
    pub recorded_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// A progress entry to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProgress {
    pub goal_id: GoalId,
    pub period: super::Period,
    pub value: Money,
    pub contribution: Money,
    pub progress: f64,
    pub on_track: bool,
    /// Periods in a row off track, this one included; 0 when on track.
    pub off_track_streak: u32,
    pub source: ProgressSource,
    pub snapshot_id: Option<i64>,
    pub note: Option<String>,
    /// Debt goals' sync entries: the linked debts seen so far (what tracking
    /// the next month needs); empty otherwise.
    pub debt_seen: super::measure::DebtSeen,
}

/// A part of a goal that a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalField {
    Name,
    Target,
    TargetDate,
    Accounts,
    Categories,
    ReminderDay,
}

/// Something wrong with a goal as set up: which part, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalProblem {
    pub field: GoalField,
    pub expected: String,
}

impl Goal {
    /// An active goal with the seed's defaults: no deadline, no links,
    /// tracked monthly with reminders on the 1st; recurring types recur monthly.
    pub fn new(
        id: GoalId,
        user_id: UserId,
        goal_type: GoalType,
        name: impl Into<String>,
        target: Money,
        start_date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Goal {
        Goal {
            id,
            user_id,
            name: name.into(),
            description: None,
            goal_type,
            target,
            target_date: None,
            start_date,
            links: GoalLinks::default(),
            original_balance: None,
            is_recurring: goal_type.is_recurring(),
            recurrence_period: goal_type.is_recurring().then_some(RecurrencePeriod::Monthly),
            tracking_frequency: TrackingFrequency::Monthly,
            reminder_enabled: true,
            reminder_day: 1,
            status: GoalStatus::Active,
            completed_at: None,
            template_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Everything wrong with a goal as set up (empty when fine).
    pub fn problems(&self) -> Vec<GoalProblem> {
        let mut problems = Vec::new();
        let mut push = |field, expected: String| problems.push(GoalProblem { field, expected });
        if let Err(e) = super::ids::check_label(&self.name) {
            push(GoalField::Name, format!("a name: {e}"));
        }
        if self.target.cents() <= 0 {
            push(GoalField::Target, "an amount above zero".to_owned());
        }
        if self.goal_type.target_is_percent() && self.target.cents() > 10_000 {
            push(GoalField::Target, "a percentage of income from 0 to 100".to_owned());
        }
        if self.target_date.is_some_and(|t| t <= self.start_date) {
            push(GoalField::TargetDate, "a day after the start date".to_owned());
        }
        match self.goal_type {
            GoalType::DebtPayoff if self.links.accounts.len() != 1 => push(
                GoalField::Accounts,
                "exactly one debt account for a debt_payoff goal".to_owned(),
            ),
            GoalType::ExpenseReduction if self.links.categories.is_empty() => push(
                GoalField::Categories,
                "at least one expense category for an expense_reduction goal".to_owned(),
            ),
            _ => {}
        }
        for link in &self.links.accounts {
            if let Err(e) = super::ids::check_label(link) {
                push(GoalField::Accounts, format!("account names: {link:?}: {e}"));
            }
        }
        for link in &self.links.categories {
            if let Err(e) = super::ids::check_label(link) {
                push(GoalField::Categories, format!("category names: {link:?}: {e}"));
            }
        }
        if !(1..=28).contains(&self.reminder_day) {
            push(GoalField::ReminderDay, "a day of the month from 1 to 28".to_owned());
        }
        problems
    }
}
