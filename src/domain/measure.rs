//! What a goal measures in a snapshot (the table in the README): a pure
//! function from a goal and a snapshot's summary to the goal's value then.

use super::goal::{Goal, GoalType};
use super::money::Money;
use super::snapshot::{Kind, SnapshotLine, SnapshotSummary};

/// A goal's value in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// Money in cents; for savings_rate the rate in hundredths of a percent.
    pub value: Money,
    /// Linked debt accounts not in this snapshot, counted as paid off.
    pub missing_debt_accounts: usize,
    /// The measured accounts' annual rate in percent (APR for debts, expected
    /// return for savings and investments), weighted by balance; `None`
    /// unless every measured account has one.
    pub annual_rate: Option<rust_decimal::Decimal>,
}

/// The links a goal uses: its own, else its type's default.
fn effective(goal: &Goal) -> (Vec<&str>, Vec<&str>) {
    let accounts: Vec<&str> = goal.links.accounts.iter().map(String::as_str).collect();
    let mut categories: Vec<&str> = goal.links.categories.iter().map(String::as_str).collect();
    if accounts.is_empty() && categories.is_empty() {
        match goal.goal_type {
            GoalType::EmergencyFund => categories.push("emergency_fund"),
            GoalType::DownPayment => categories.push("down_payment"),
            GoalType::RetirementSavings => categories.push("retirement"),
            _ => {}
        }
    }
    (accounts, categories)
}

/// The `kind` balance lines on the linked accounts, else the linked
/// categories, else all of them.
fn linked<'s>(
    summary: &'s SnapshotSummary,
    kind: Kind,
    accounts: &[&str],
    categories: &[&str],
) -> Vec<&'s SnapshotLine> {
    let pick = |l: &&SnapshotLine| {
        if !accounts.is_empty() {
            l.account.as_deref().is_some_and(|a| accounts.contains(&a))
        } else if !categories.is_empty() {
            categories.contains(&l.category.as_str())
        } else {
            true
        }
    };
    summary
        .by_account
        .iter()
        .filter(|l| l.kind == kind)
        .filter(pick)
        .collect()
}

fn total(lines: &[&SnapshotLine]) -> Option<Money> {
    lines.iter().try_fold(Money::ZERO, |sum, l| sum.checked_add(l.amount))
}

/// Balance-weighted annual rate of `lines`, if every one has a rate.
fn weighted_rate(lines: &[&SnapshotLine]) -> Option<rust_decimal::Decimal> {
    use rust_decimal::Decimal;
    if lines.is_empty() || lines.iter().any(|l| l.rate.is_none()) {
        return None;
    }
    let weight: Decimal = lines.iter().map(|l| Decimal::new(l.amount.cents(), 2)).sum();
    if weight.is_zero() {
        return lines.first().and_then(|l| l.rate).map(|r| r.percent());
    }
    let sum = lines.iter().try_fold(Decimal::ZERO, |acc, l| {
        let rate = l.rate?.percent();
        acc.checked_add(rate.checked_mul(Decimal::new(l.amount.cents(), 2))?)
    })?;
    sum.checked_div(weight).map(|r| r.round_dp(4))
}

/// The goal's value in a snapshot, or `None` for goals that take manual
/// entries only (custom) or whose value cannot be held.
///
/// `seen_debt_accounts`: linked debt accounts seen in an earlier snapshot of
/// the user. One missing now counts as paid off (seed 6.1); one never seen
/// counts as nothing paid (the link may be wrong, so it is not celebrated).
pub fn measure(goal: &Goal, summary: &SnapshotSummary, seen_debt_accounts: &[String]) -> Option<Measured> {
    let (accounts, categories) = effective(goal);
    let plain = |value| {
        Some(Measured {
            value,
            missing_debt_accounts: 0,
            annual_rate: None,
        })
    };
    let balances = |kind| {
        let lines = linked(summary, kind, &accounts, &categories);
        Some(Measured {
            value: total(&lines)?,
            missing_debt_accounts: 0,
            annual_rate: weighted_rate(&lines),
        })
    };
    match goal.goal_type {
        GoalType::EmergencyFund | GoalType::SavingsTarget | GoalType::DownPayment | GoalType::MajorPurchase => {
            balances(Kind::Savings)
        }
        GoalType::InvestmentTarget | GoalType::RetirementSavings => balances(Kind::Investment),
        GoalType::NetWorthTarget => plain(summary.net_worth),
        GoalType::SavingsRate => {
            // Hundredths of a percent, rounded half away from zero; no income, no rate.
            let rate = summary.savings_rate.unwrap_or(0.0) * 10_000.0;
            let bp = if rate.is_finite() { rate.round() as i64 } else { 0 };
            plain(Money::from_cents(bp))
        }
        GoalType::ExpenseReduction => {
            let spent = summary
                .by_category
                .iter()
                .filter(|c| c.kind == Kind::Expense && categories.contains(&c.category.as_str()))
                .try_fold(Money::ZERO, |sum, c| sum.checked_add(c.total))?;
            plain(spent)
        }
        GoalType::DebtPayoff | GoalType::DebtFree => {
            let original = goal.original_balance.unwrap_or(goal.target);
            let lines = linked(summary, Kind::Debt, &accounts, &categories);
            let current = total(&lines)?;
            let present = |a: &str| {
                summary
                    .by_account
                    .iter()
                    .any(|l| l.kind == Kind::Debt && l.account.as_deref() == Some(a))
            };
            let missing = accounts.iter().filter(|a| !present(a)).count();
            // A linked account never seen before is not "paid off": a single
            // such account counts as nothing paid yet.
            let never_seen = accounts
                .iter()
                .any(|a| !present(a) && !seen_debt_accounts.iter().any(|s| s == *a));
            let unseen_balance = if never_seen && accounts.len() == 1 {
                original
            } else {
                Money::ZERO
            };
            let value = original.checked_sub(current.checked_add(unseen_balance)?)?;
            Some(Measured {
                value,
                missing_debt_accounts: missing,
                annual_rate: weighted_rate(&lines),
            })
        }
        GoalType::Custom => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::goal::{GoalId, GoalLinks};
    use crate::domain::snapshot::SnapshotLine;
    use crate::domain::{Money, UserId};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn goal(goal_type: GoalType, target: i64, accounts: &[&str], categories: &[&str]) -> Goal {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let id = GoalId::parse("g1").unwrap();
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let user = UserId::parse("u1").unwrap();
        let mut g = Goal::new(id, user, goal_type, "goal", Money::from_cents(target), start, t);
        g.links = GoalLinks {
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            categories: categories.iter().map(|s| s.to_string()).collect(),
        };
        g
    }

    fn line(kind: Kind, account: Option<&str>, category: &str, cents: i64) -> SnapshotLine {
        SnapshotLine::new(kind, account, category, Money::from_cents(cents))
    }

    fn summary() -> SnapshotSummary {
        SnapshotSummary::of_lines(&[
            line(Kind::Income, None, "salary", 500_000),
            line(Kind::Expense, None, "housing", 150_000),
            line(Kind::Expense, None, "dining", 40_000),
            line(Kind::Expense, None, "groceries", 60_000),
            line(Kind::Savings, Some("efund"), "emergency_fund", 300_000),
            line(Kind::Savings, Some("house"), "down_payment", 1_000_000),
            line(Kind::Savings, Some("trip"), "vacation", 50_000),
            line(Kind::Investment, Some("401k"), "retirement", 2_000_000),
            line(Kind::Investment, Some("brokerage"), "stocks", 700_000),
            line(Kind::Asset, Some("car"), "vehicle", 900_000),
            line(Kind::Debt, Some("card"), "credit_card", 250_000),
            line(Kind::Debt, Some("student"), "student_loan", 1_500_000),
        ])
        .unwrap()
    }

    fn value(g: &Goal) -> Option<i64> {
        measure(g, &summary(), &[]).map(|m| m.value.cents())
    }

    #[test]
    fn each_goal_type_measures_what_the_table_says() {
        use GoalType::*;
        let table: &[(Goal, Option<i64>)] = &[
            (goal(EmergencyFund, 1, &[], &[]), Some(300_000)),
            (goal(DownPayment, 1, &[], &[]), Some(1_000_000)),
            (goal(SavingsTarget, 1, &[], &[]), Some(1_350_000)),
            (goal(MajorPurchase, 1, &["trip"], &[]), Some(50_000)),
            (
                goal(SavingsTarget, 1, &[], &["vacation", "emergency_fund"]),
                Some(350_000),
            ),
            (goal(InvestmentTarget, 1, &[], &[]), Some(2_700_000)),
            (goal(InvestmentTarget, 1, &["brokerage"], &[]), Some(700_000)),
            (goal(RetirementSavings, 1, &[], &[]), Some(2_000_000)),
            (
                goal(NetWorthTarget, 1, &[], &[]),
                Some(300_000 + 1_000_000 + 50_000 + 2_700_000 + 900_000 - 1_750_000),
            ),
            (goal(SavingsRate, 2_000, &[], &[]), Some(5_000)),
            (
                goal(ExpenseReduction, 30_000, &[], &["dining", "groceries"]),
                Some(100_000),
            ),
            (goal(DebtPayoff, 400_000, &["card"], &[]), Some(150_000)),
            (goal(DebtFree, 2_000_000, &[], &[]), Some(250_000)),
            (goal(Custom, 1, &[], &[]), None),
        ];
        for (g, want) in table {
            assert_eq!(value(g), *want, "{} {:?}", g.goal_type, g.links);
        }
    }

    #[test]
    fn explicit_links_win_over_the_default_category() {
        let g = goal(GoalType::EmergencyFund, 1, &["trip"], &[]);
        assert_eq!(value(&g), Some(50_000));
    }

    #[test]
    fn a_linked_debt_missing_after_being_seen_counts_as_paid_off() {
        let g = goal(GoalType::DebtPayoff, 400_000, &["auto"], &[]);
        let seen = vec!["auto".to_owned()];
        let m = measure(&g, &summary(), &seen).unwrap();
        assert_eq!((m.value.cents(), m.missing_debt_accounts), (400_000, 1));
        // Never seen: nothing paid yet, not a celebration.
        let m = measure(&g, &summary(), &[]).unwrap();
        assert_eq!((m.value.cents(), m.missing_debt_accounts), (0, 1));
    }

    #[test]
    fn a_month_without_income_has_a_savings_rate_of_zero() {
        let s = SnapshotSummary::of_lines(&[line(Kind::Expense, None, "rent", 100)]).unwrap();
        let g = goal(GoalType::SavingsRate, 2_000, &[], &[]);
        assert_eq!(measure(&g, &s, &[]).map(|m| m.value.cents()), Some(0));
    }
}
