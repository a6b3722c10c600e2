//! A user's budget snapshot for one month: its lines, their validation and
//! the totals derived from them. Pure: no I/O.

use super::ids::{check_id, check_label};
use super::money::Money;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What a snapshot line is: a monthly flow or an end-of-month balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Income,
    Expense,
    Savings,
    Investment,
    Asset,
    Debt,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Income,
        Kind::Expense,
        Kind::Savings,
        Kind::Investment,
        Kind::Asset,
        Kind::Debt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Income => "income",
            Kind::Expense => "expense",
            Kind::Savings => "savings",
            Kind::Investment => "investment",
            Kind::Asset => "asset",
            Kind::Debt => "debt",
        }
    }

    /// Income and expenses are flows over the month; the rest are balances.
    pub fn is_flow(self) -> bool {
        matches!(self, Kind::Income | Kind::Expense)
    }

    /// Kinds whose lines may carry a `rate`.
    pub fn takes_rate(self) -> bool {
        matches!(self, Kind::Savings | Kind::Investment | Kind::Debt)
    }
}

impl FromStr for Kind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An annual percentage (APR of a debt, expected return of an account),
/// kept exactly as a decimal: `21.9` means 21.9 % a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(Decimal);

impl Rate {
    pub fn percent(self) -> Decimal {
        self.0
    }

    /// A rate from its exact decimal; `None` outside 0 to 1000 %.
    pub fn from_percent(d: Decimal) -> Option<Rate> {
        (d >= Decimal::ZERO && d <= Decimal::from(1000)).then_some(Rate(d.normalize()))
    }
}

impl FromStr for Rate {
    type Err = ();
    /// `DIGITS[.DIGITS]`, at most 4 decimals, from 0 to 1000.
    fn from_str(s: &str) -> Result<Self, ()> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || int.len() > 4 || !digits(int) || !digits(frac) || frac.len() > 4 || s.ends_with('.') {
            return Err(());
        }
        let d = Decimal::from_str(s).map_err(|_| ())?;
        if d > Decimal::from(1000) {
            Err(())
        } else {
            Ok(Rate(d.normalize()))
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One validated line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotLine {
    pub kind: Kind,
    pub account: Option<String>,
    pub category: String,
    pub amount: Money,
    pub rate: Option<Rate>,
    pub min_payment: Option<Money>,
}

/// A validated line borrowing its text from the record it was read from, so
/// checking a file allocates nothing per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRef<'a> {
    pub kind: Kind,
    pub account: Option<&'a str>,
    pub category: &'a str,
    pub amount: Money,
    pub rate: Option<Rate>,
    pub min_payment: Option<Money>,
}

impl LineRef<'_> {
    pub fn to_line(&self) -> SnapshotLine {
        SnapshotLine {
            kind: self.kind,
            account: self.account.map(str::to_owned),
            category: self.category.to_owned(),
            amount: self.amount,
            rate: self.rate,
            min_payment: self.min_payment,
        }
    }
}

impl SnapshotLine {
    /// A line without rate or minimum payment.
    pub fn new(kind: Kind, account: Option<&str>, category: &str, amount: Money) -> SnapshotLine {
        SnapshotLine {
            kind,
            account: account.map(str::to_owned),
            category: category.to_owned(),
            amount,
            rate: None,
            min_payment: None,
        }
    }
}

/// The text fields of a line, as read from a file (already trimmed).
#[derive(Debug, Clone, Copy)]
pub struct RawLine<'a> {
    pub kind: &'a str,
    pub account: &'a str,
    pub category: &'a str,
    pub amount: &'a str,
    pub rate: &'a str,
    pub min_payment: &'a str,
}

/// The column of a line a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineField {
    Kind,
    Account,
    Category,
    Amount,
    Rate,
    MinPayment,
}

/// A problem with one field: what it should have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: LineField,
    pub expected: String,
}

fn problem(field: LineField, expected: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field,
        expected: expected.into(),
    }
}

/// Validates every field of a line and reports every problem found.
pub fn validate_line(raw: RawLine<'_>) -> Result<LineRef<'_>, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let kind = raw.kind.parse::<Kind>().ok();
    if kind.is_none() {
        problems.push(problem(
            LineField::Kind,
            "one of income, expense, savings, investment, asset, debt",
        ));
    }
    let account = match (kind, raw.account) {
        (Some(k), "") if !k.is_flow() => {
            problems.push(problem(
                LineField::Account,
                format!("an account identifier: {k} lines are balances of an account"),
            ));
            None
        }
        (Some(k), a) if k.is_flow() && !a.is_empty() => {
            problems.push(problem(
                LineField::Account,
                format!("an empty account: {k} lines are monthly flows, not balances"),
            ));
            None
        }
        (_, "") => None,
        (_, a) => match check_id(a) {
            Ok(()) => Some(a),
            Err(e) => {
                problems.push(problem(LineField::Account, format!("an account identifier: {e}")));
                None
            }
        },
    };
    if let Err(e) = check_label(raw.category) {
        problems.push(problem(
            LineField::Category,
            format!("a category label like salary or housing: {e}"),
        ));
    }
    let amount = raw
        .amount
        .parse::<Money>()
        .map_err(|e| problems.push(problem(LineField::Amount, e.to_string())))
        .ok();
    let rate = match raw.rate {
        "" => None,
        r => match (kind, r.parse::<Rate>()) {
            (Some(k), Ok(_)) if !k.takes_rate() => {
                problems.push(problem(
                    LineField::Rate,
                    format!("no rate on {k} lines: rates belong to debt, savings and investment lines"),
                ));
                None
            }
            (_, Ok(rate)) => Some(rate),
            (_, Err(())) => {
                problems.push(problem(
                    LineField::Rate,
                    "an annual percent from 0 to 1000 with at most 4 decimals, like 21.9",
                ));
                None
            }
        },
    };
    let min_payment = match raw.min_payment {
        "" => None,
        m => match (kind, m.parse::<Money>()) {
            (Some(k), _) if k != Kind::Debt => {
                problems.push(problem(
                    LineField::MinPayment,
                    format!("no min_payment on {k} lines: only debts have one"),
                ));
                None
            }
            (_, Ok(m)) => Some(m),
            (_, Err(e)) => {
                problems.push(problem(LineField::MinPayment, e.to_string()));
                None
            }
        },
    };
    match (kind, amount) {
        (Some(kind), Some(amount)) if problems.is_empty() => Ok(LineRef {
            kind,
            account,
            category: raw.category,
            amount,
            rate,
            min_payment,
        }),
        _ => Err(problems),
    }
}

/// The totals of a snapshot, accumulated line by line with checked arithmetic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub income: Money,
    pub expenses: Money,
    pub savings: Money,
    pub investment: Money,
    pub assets: Money,
    pub debt: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the snapshot's totals exceed the largest amount goalkeeper can hold")]
pub struct TotalsOverflow;

impl Totals {
    pub fn add(&mut self, kind: Kind, amount: Money) -> Result<(), TotalsOverflow> {
        let slot = match kind {
            Kind::Income => &mut self.income,
            Kind::Expense => &mut self.expenses,
            Kind::Savings => &mut self.savings,
            Kind::Investment => &mut self.investment,
            Kind::Asset => &mut self.assets,
            Kind::Debt => &mut self.debt,
        };
        *slot = slot.checked_add(amount).ok_or(TotalsOverflow)?;
        // Derived figures must stay representable too.
        self.checked_net_worth().ok_or(TotalsOverflow)?;
        self.checked_surplus().ok_or(TotalsOverflow).map(|_| ())
    }

    fn checked_surplus(&self) -> Option<Money> {
        self.income.checked_sub(self.expenses)
    }

    fn checked_net_worth(&self) -> Option<Money> {
        self.savings
            .checked_add(self.investment)?
            .checked_add(self.assets)?
            .checked_sub(self.debt)
    }

    /// Income minus expenses (negative when spending exceeds income).
    pub fn surplus(&self) -> Money {
        // `add` refuses any line that would make this overflow.
        self.checked_surplus().unwrap_or(Money::ZERO)
    }

    /// Savings + investment + assets − debt.
    pub fn net_worth(&self) -> Money {
        // `add` refuses any line that would make this overflow.
        self.checked_net_worth().unwrap_or(Money::ZERO)
    }

    /// Surplus as a fraction of income; `None` when there is no income.
    pub fn savings_rate(&self) -> Option<f64> {
        (self.income.cents() > 0).then(|| self.surplus().cents() as f64 / self.income.cents() as f64)
    }
}

/// The total of one category within one kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CategoryTotal {
    pub kind: Kind,
    pub category: String,
    pub total: Money,
}

/// What a snapshot says, derived from its lines.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SnapshotSummary {
    pub total_income: Money,
    pub total_expenses: Money,
    pub surplus: Money,
    /// Surplus ÷ income as a fraction; null when income is zero.
    pub savings_rate: Option<f64>,
    pub total_savings: Money,
    pub total_investment: Money,
    pub total_assets: Money,
    pub total_debt: Money,
    pub net_worth: Money,
    pub by_category: Vec<CategoryTotal>,
    /// Balance lines, one per account, sorted by account.
    pub by_account: Vec<SnapshotLine>,
}

/// Builds a [`SnapshotSummary`] line by line without keeping the flows:
/// memory grows with the number of categories and accounts, not lines.
#[derive(Debug, Clone, Default)]
pub struct SummaryBuilder {
    totals: Totals,
    /// A snapshot has a dozen categories or so: a list searched in place
    /// allocates only for a new category, never for a lookup.
    categories: Vec<(Kind, String, Money)>,
    accounts: Vec<SnapshotLine>,
}

impl SummaryBuilder {
    pub fn add(&mut self, line: &LineRef<'_>) -> Result<(), TotalsOverflow> {
        self.totals.add(line.kind, line.amount)?;
        match self
            .categories
            .iter_mut()
            .find(|(k, c, _)| *k == line.kind && c == line.category)
        {
            Some((_, _, total)) => *total = total.checked_add(line.amount).ok_or(TotalsOverflow)?,
            None => self.categories.push((line.kind, line.category.to_owned(), line.amount)),
        }
        if line.account.is_some() {
            self.accounts.push(line.to_line());
        }
        Ok(())
    }

    pub fn finish(mut self) -> SnapshotSummary {
        self.accounts.sort_by(|a, b| a.account.cmp(&b.account));
        self.categories.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let t = self.totals;
        SnapshotSummary {
            total_income: t.income,
            total_expenses: t.expenses,
            surplus: t.surplus(),
            savings_rate: t.savings_rate(),
            total_savings: t.savings,
            total_investment: t.investment,
            total_assets: t.assets,
            total_debt: t.debt,
            net_worth: t.net_worth(),
            by_category: self
                .categories
                .into_iter()
                .map(|(kind, category, total)| CategoryTotal { kind, category, total })
                .collect(),
            by_account: self.accounts,
        }
    }
}

impl SnapshotSummary {
    pub fn of_lines(lines: &[SnapshotLine]) -> Result<Self, TotalsOverflow> {
        let mut totals = Totals::default();
        let mut categories: BTreeMap<(Kind, &str), Money> = BTreeMap::new();
        for line in lines {
            totals.add(line.kind, line.amount)?;
            let slot = categories.entry((line.kind, &line.category)).or_default();
            *slot = slot.checked_add(line.amount).ok_or(TotalsOverflow)?;
        }
        let mut by_account: Vec<SnapshotLine> = lines.iter().filter(|l| l.account.is_some()).cloned().collect();
        by_account.sort_by(|a, b| a.account.cmp(&b.account));
        Ok(SnapshotSummary {
            total_income: totals.income,
            total_expenses: totals.expenses,
            surplus: totals.surplus(),
            savings_rate: totals.savings_rate(),
            total_savings: totals.savings,
            total_investment: totals.investment,
            total_assets: totals.assets,
            total_debt: totals.debt,
            net_worth: totals.net_worth(),
            by_category: categories
                .into_iter()
                .map(|((kind, category), total)| CategoryTotal {
                    kind,
                    category: category.to_owned(),
                    total,
                })
                .collect(),
            by_account,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(kind: &'a str, account: &'a str, amount: &'a str) -> RawLine<'a> {
        RawLine {
            kind,
            account,
            category: "misc",
            amount,
            rate: "",
            min_payment: "",
        }
    }

    fn fields(r: Result<LineRef<'_>, Vec<FieldProblem>>) -> Vec<LineField> {
        r.unwrap_err().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn flows_need_no_account_and_balances_need_one() {
        assert!(validate_line(raw("income", "", "10")).is_ok());
        assert!(validate_line(raw("debt", "card", "10")).is_ok());
        assert_eq!(fields(validate_line(raw("income", "acct", "10"))), [LineField::Account]);
        for kind in ["savings", "investment", "asset", "debt"] {
            assert_eq!(
                fields(validate_line(raw(kind, "", "10"))),
                [LineField::Account],
                "{kind}"
            );
        }
    }

    #[test]
    fn rates_and_minimum_payments_belong_to_the_right_kinds() {
        let mut line = raw("debt", "card", "100");
        line.rate = "21.9";
        line.min_payment = "25";
        let ok = validate_line(line).unwrap();
        assert_eq!(ok.rate.unwrap().to_string(), "21.9");
        assert_eq!(ok.min_payment, Some(Money::from_cents(2500)));

        let mut bad = raw("expense", "", "100");
        bad.rate = "3";
        bad.min_payment = "25";
        assert_eq!(fields(validate_line(bad)), [LineField::Rate, LineField::MinPayment]);

        let mut bad_rate = raw("savings", "s", "1");
        for r in ["-1", "abc", "1001", "1.23456", "5.", "%5"] {
            bad_rate.rate = r;
            assert_eq!(fields(validate_line(bad_rate)), [LineField::Rate], "{r}");
        }
    }

    #[test]
    fn every_problem_in_a_line_is_reported() {
        let line = RawLine {
            kind: "loan",
            account: "a b",
            category: "",
            amount: "$5",
            rate: "x",
            min_payment: "",
        };
        assert_eq!(
            fields(validate_line(line)),
            [
                LineField::Kind,
                LineField::Account,
                LineField::Category,
                LineField::Amount,
                LineField::Rate
            ]
        );
    }

    fn line(kind: Kind, account: Option<&str>, category: &str, cents: i64) -> SnapshotLine {
        SnapshotLine::new(kind, account, category, Money::from_cents(cents))
    }

    #[test]
    fn a_summary_derives_surplus_savings_rate_and_net_worth() {
        let lines = [
            line(Kind::Income, None, "salary", 500_000),
            line(Kind::Income, None, "side", 50_000),
            line(Kind::Expense, None, "housing", 200_000),
            line(Kind::Expense, None, "housing", 10_000),
            line(Kind::Expense, None, "food", 60_000),
            line(Kind::Savings, Some("efund"), "emergency_fund", 1_000_000),
            line(Kind::Investment, Some("401k"), "retirement", 2_000_000),
            line(Kind::Asset, Some("car"), "vehicle", 500_000),
            line(Kind::Debt, Some("card"), "credit_card", 300_000),
        ];
        let s = SnapshotSummary::of_lines(&lines).unwrap();
        assert_eq!(s.total_income, Money::from_cents(550_000));
        assert_eq!(s.total_expenses, Money::from_cents(270_000));
        assert_eq!(s.surplus, Money::from_cents(280_000));
        assert_eq!(s.savings_rate, Some(280_000.0 / 550_000.0));
        assert_eq!(s.total_debt, Money::from_cents(300_000));
        assert_eq!(s.net_worth, Money::from_cents(3_200_000));
        let housing = s.by_category.iter().find(|c| c.category == "housing").unwrap();
        assert_eq!(housing.total, Money::from_cents(210_000));
        let accounts: Vec<_> = s.by_account.iter().map(|l| l.account.as_deref().unwrap()).collect();
        assert_eq!(accounts, ["401k", "car", "card", "efund"]);
    }

    #[test]
    fn building_line_by_line_gives_the_same_summary_as_all_lines_at_once() {
        let lines = [
            line(Kind::Income, None, "salary", 500_000),
            line(Kind::Expense, None, "housing", 200_000),
            line(Kind::Expense, None, "housing", 10_000),
            line(Kind::Savings, Some("efund"), "emergency_fund", 1_000_000),
            line(Kind::Debt, Some("card"), "credit_card", 300_000),
            line(Kind::Investment, Some("401k"), "retirement", 2_000_000),
        ];
        let mut b = SummaryBuilder::default();
        for l in &lines {
            let r = LineRef {
                kind: l.kind,
                account: l.account.as_deref(),
                category: &l.category,
                amount: l.amount,
                rate: l.rate,
                min_payment: l.min_payment,
            };
            b.add(&r).unwrap();
        }
        assert_eq!(b.finish(), SnapshotSummary::of_lines(&lines).unwrap());
    }

    #[test]
    fn a_snapshot_without_income_has_no_savings_rate() {
        let s = SnapshotSummary::of_lines(&[line(Kind::Expense, None, "rent", 100)]).unwrap();
        assert_eq!(s.savings_rate, None);
        assert_eq!(s.surplus, Money::from_cents(-100));
    }

    #[test]
    fn totals_that_would_overflow_are_refused() {
        let mut t = Totals::default();
        let big = Money::from_cents(i64::MAX / 2 + 1);
        t.add(Kind::Income, big).unwrap();
        assert_eq!(t.add(Kind::Income, big), Err(TotalsOverflow));
    }
}
