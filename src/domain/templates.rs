//! Goal templates (seed 5): six ready-made goals and how a template becomes a
//! concrete target from the user's parameters and latest budget snapshot.
//! Pure: no I/O, no clock. Money stays exact (cents); percents are kept in
//! hundredths (`12.5 %` is 1250).

use super::goal::{GoalType, RecurrencePeriod};
use super::money::Money;
use super::snapshot::{Kind, SnapshotSummary};
use std::collections::BTreeMap;
use std::fmt;

/// What a template parameter holds, and so how its text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// An amount of money, as a plain decimal with at most 2 decimals: `450000`, `1234.50`.
    Currency,
    /// A percent above 0 and at most 100, with at most 2 decimals: `20`, `12.5`.
    Percent,
    /// A whole number from 0 to 150 (an age): `40`.
    Number,
}

impl ParamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::Currency => "currency",
            ParamKind::Percent => "percent",
            ParamKind::Number => "number",
        }
    }

    /// A sample value, for help texts and error messages.
    fn example(self) -> &'static str {
        match self {
            ParamKind::Currency => "an amount like 450000",
            ParamKind::Percent => "a percent like 20",
            ParamKind::Number => "a whole number like 40",
        }
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parameter a template asks for. `default: None` means it is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: ParamKind,
    /// The value used when the user gives none, written as the user would type it.
    pub default: Option<&'static str>,
}

/// A pre-built goal (seed 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub id: &'static str,
    pub name: &'static str,
    pub goal_type: GoalType,
    pub description: &'static str,
    pub tips: &'static [&'static str],
    pub suggested_timeline_months: Option<u32>,
    pub parameters: &'static [Param],
    pub is_recurring: bool,
    pub recurrence_period: Option<RecurrencePeriod>,
    /// The goal measures every debt account of the snapshot.
    pub auto_link_debts: bool,
}

const EMERGENCY_FUND_3_MONTHS: &str = "emergency_fund_3_months";
const EMERGENCY_FUND_6_MONTHS: &str = "emergency_fund_6_months";
const DEBT_FREE: &str = "debt_free";
const HOUSE_DOWN_PAYMENT: &str = "house_down_payment";
const RETIREMENT_TARGET: &str = "retirement_target";
const SAVINGS_RATE_TARGET: &str = "savings_rate_target";

/// The six templates, in the order they are offered.
pub const TEMPLATES: &[Template] = &[
    Template {
        id: EMERGENCY_FUND_3_MONTHS,
        name: "3-Month Emergency Fund",
        goal_type: GoalType::EmergencyFund,
        description: "Build 3 months of essential expenses as an emergency cushion.",
        tips: &[
            "Start with a smaller goal ($1,000) if 3 months feels overwhelming",
            "Keep in a high-yield savings account for easy access",
            "Don't touch it except for true emergencies",
        ],
        suggested_timeline_months: Some(12),
        parameters: &[],
        is_recurring: false,
        recurrence_period: None,
        auto_link_debts: false,
    },
    Template {
        id: EMERGENCY_FUND_6_MONTHS,
        name: "6-Month Emergency Fund",
        goal_type: GoalType::EmergencyFund,
        description: "Build 6 months of expenses for comprehensive security.",
        tips: &[
            "Build the 3-month fund first, then keep going",
            "Aim for the full 6 months if your income is irregular or yours is the only income",
            "Keep it apart from everyday spending so it is not spent by accident",
        ],
        suggested_timeline_months: Some(24),
        parameters: &[],
        is_recurring: false,
        recurrence_period: None,
        auto_link_debts: false,
    },
    Template {
        id: DEBT_FREE,
        name: "Become Debt-Free",
        goal_type: GoalType::DebtFree,
        description: "Pay off all consumer debt.",
        tips: &[
            "Consider using the avalanche (highest rate first) or snowball (smallest balance first) method",
            "Celebrate each debt you pay off",
        ],
        suggested_timeline_months: None,
        parameters: &[],
        is_recurring: false,
        recurrence_period: None,
        auto_link_debts: true,
    },
    Template {
        id: HOUSE_DOWN_PAYMENT,
        name: "House Down Payment",
        goal_type: GoalType::DownPayment,
        description: "Save for a 20% down payment on a home.",
        tips: &[
            "Below 20 % down, lenders often add mortgage insurance to the monthly payment",
            "Save for closing costs (often 2 to 5 % of the price) on top of the down payment",
            "If you plan to buy within a few years, keep the money somewhere safe and easy to reach",
        ],
        suggested_timeline_months: None,
        parameters: &[
            Param {
                name: "home_price",
                label: "Target home price",
                kind: ParamKind::Currency,
                default: None,
            },
            Param {
                name: "down_payment_percent",
                label: "Down payment %",
                kind: ParamKind::Percent,
                default: Some("20"),
            },
        ],
        is_recurring: false,
        recurrence_period: None,
        auto_link_debts: false,
    },
    Template {
        id: RETIREMENT_TARGET,
        name: "Retirement Savings Target",
        goal_type: GoalType::RetirementSavings,
        description: "Reach your retirement savings goal.",
        tips: &[
            "Contribute at least enough to get any employer match",
            "The 4 % rule is a rough guide: revisit the target as your plans change",
            "Start early: compounding does much of the work",
        ],
        suggested_timeline_months: None,
        parameters: &[
            Param {
                name: "retirement_age",
                label: "Retirement age",
                kind: ParamKind::Number,
                default: Some("65"),
            },
            Param {
                name: "current_age",
                label: "Current age",
                kind: ParamKind::Number,
                default: None,
            },
            Param {
                name: "target_income",
                label: "Desired annual retirement income",
                kind: ParamKind::Currency,
                default: None,
            },
        ],
        is_recurring: false,
        recurrence_period: None,
        auto_link_debts: false,
    },
    Template {
        id: SAVINGS_RATE_TARGET,
        name: "Target Savings Rate",
        goal_type: GoalType::SavingsRate,
        description: "Achieve a consistent monthly savings rate.",
        tips: &[
            "Automate a transfer to savings on payday",
            "Raise the rate a point or two each time your income goes up",
            "Look at your largest expense categories first for room to save",
        ],
        suggested_timeline_months: None,
        parameters: &[Param {
            name: "target_rate",
            label: "Target savings rate",
            kind: ParamKind::Percent,
            default: Some("20"),
        }],
        is_recurring: true,
        recurrence_period: Some(RecurrencePeriod::Monthly),
        auto_link_debts: false,
    },
];

/// The template with this id.
pub fn find(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

/// The template with this id, or an error that lists the ids there are.
pub fn lookup(id: &str) -> Result<&'static Template, TemplateError> {
    find(id).ok_or_else(|| TemplateError::UnknownTemplate(id.to_owned()))
}

fn template_ids() -> String {
    TEMPLATES.iter().map(|t| t.id).collect::<Vec<_>>().join(", ")
}

/// What the user's latest snapshot says, as far as templates need it.
/// `None` where a `BudgetFacts` is expected = no snapshot stored yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetFacts {
    /// Total expenses of the snapshot.
    pub monthly_expenses: Money,
    /// Total income of the snapshot.
    pub monthly_income: Money,
    /// Every debt account with its balance.
    pub debts: Vec<(String, Money)>,
}

impl BudgetFacts {
    /// The facts of a snapshot's summary: its totals and its debt accounts
    /// (sorted by account, as the summary keeps them).
    pub fn from_summary(summary: &SnapshotSummary) -> Self {
        BudgetFacts {
            monthly_expenses: summary.total_expenses,
            monthly_income: summary.total_income,
            debts: summary
                .by_account
                .iter()
                .filter(|line| line.kind == Kind::Debt)
                .filter_map(|line| Some((line.account.clone()?, line.amount)))
                .collect(),
        }
    }
}

/// A template made concrete: what a new goal should be created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instantiated {
    /// The money target in cents; for `savings_rate_target` the target percent
    /// in hundredths (20 % is `Money::from_cents(2000)`).
    pub target: Money,
    /// How the target was derived, for people.
    pub explanation: String,
    /// Calendar months from today to the suggested target date, if any.
    pub suggested_months: Option<u32>,
    /// Accounts the goal measures (debt_free: every debt account).
    pub link_accounts: Vec<String>,
    /// Categories the goal measures.
    pub link_categories: Vec<String>,
}

/// Why a template could not be instantiated; every message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("there is no template {0:?}: expected one of {ids}", ids = template_ids())]
    UnknownTemplate(String),
    #[error("{template} has no parameter {name:?}: expected {expected}")]
    UnknownParameter {
        name: String,
        template: &'static str,
        /// The template's parameters, as a phrase ("one of a, b" or "no parameters").
        expected: String,
    },
    #[error("the parameter {name} ({label}) is missing: expected --param {name}=<{example}>")]
    MissingParameter {
        name: &'static str,
        label: &'static str,
        example: &'static str,
    },
    #[error("the parameter {name} cannot be {value:?}: expected {expected}")]
    BadParameter {
        name: &'static str,
        value: String,
        expected: String,
    },
    #[error("{0}: expected a budget snapshot, but none is stored yet; add one first")]
    NeedsSnapshot(&'static str),
    #[error(
        "the latest snapshot has no debts: expected at least one debt line to pay off (if you owe nothing, you are debt-free already)"
    )]
    NoDebts,
    #[error(
        "the current age {current_age} is not below the retirement age {retirement_age}: expected a current age below the retirement age"
    )]
    AgesOutOfOrder { current_age: u32, retirement_age: u32 },
    #[error("the target comes to zero ({explanation}): expected a target above zero")]
    ZeroTarget { explanation: String },
    #[error("the target comes out below zero ({explanation}): expected a target above zero")]
    NegativeTarget { explanation: String },
    #[error("the target of {template} is larger than goalkeeper can hold: expected smaller amounts")]
    TooLarge { template: &'static str },
}

/// A parameter value, read according to its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Money(Money),
    /// Hundredths of a percent, 1 to 10000.
    Percent(i64),
    Number(u32),
}

/// The template's parameters, all present and valid (given or defaulted).
struct Values {
    values: BTreeMap<&'static str, Value>,
}

impl Values {
    /// Checks every given name and value, fills in defaults, and reports the
    /// first problem (unknown names first, then values in template order).
    fn read(t: &Template, given: &BTreeMap<String, String>) -> Result<Values, TemplateError> {
        if let Some(name) = given
            .keys()
            .find(|name| !t.parameters.iter().any(|p| p.name == name.as_str()))
        {
            let expected = if t.parameters.is_empty() {
                "no parameters".to_owned()
            } else {
                let names: Vec<&str> = t.parameters.iter().map(|p| p.name).collect();
                format!("one of {}", names.join(", "))
            };
            return Err(TemplateError::UnknownParameter {
                name: name.clone(),
                template: t.id,
                expected,
            });
        }
        let mut values = BTreeMap::new();
        for p in t.parameters {
            let text = match (given.get(p.name), p.default) {
                (Some(text), _) => text.as_str(),
                (None, Some(default)) => default,
                (None, None) => return Err(missing(p)),
            };
            values.insert(p.name, read_value(p, text)?);
        }
        Ok(Values { values })
    }

    fn get(&self, name: &'static str) -> Result<Value, TemplateError> {
        // `Values::read` filled in every parameter of the template, so this only
        // fails if a computation below asks for a name its template lacks.
        self.values.get(name).copied().ok_or(TemplateError::MissingParameter {
            name,
            label: name,
            example: "a value",
        })
    }

    fn money(&self, name: &'static str) -> Result<Money, TemplateError> {
        match self.get(name)? {
            Value::Money(m) => Ok(m),
            other => Err(wrong_kind(name, other)),
        }
    }

    fn percent(&self, name: &'static str) -> Result<i64, TemplateError> {
        match self.get(name)? {
            Value::Percent(p) => Ok(p),
            other => Err(wrong_kind(name, other)),
        }
    }

    fn number(&self, name: &'static str) -> Result<u32, TemplateError> {
        match self.get(name)? {
            Value::Number(n) => Ok(n),
            other => Err(wrong_kind(name, other)),
        }
    }
}

fn missing(p: &Param) -> TemplateError {
    TemplateError::MissingParameter {
        name: p.name,
        label: p.label,
        example: p.kind.example(),
    }
}

/// Only reachable if a computation below disagrees with its template's
/// parameter kinds (the tests instantiate every template).
fn wrong_kind(name: &'static str, found: Value) -> TemplateError {
    TemplateError::BadParameter {
        name,
        value: format!("{found:?}"),
        expected: "a value of the kind this template computes with".to_owned(),
    }
}

fn read_value(p: &Param, text: &str) -> Result<Value, TemplateError> {
    let trimmed = text.trim();
    let parsed = match p.kind {
        ParamKind::Currency => parse_currency(trimmed).map(Value::Money),
        ParamKind::Percent => parse_percent(trimmed).map(Value::Percent),
        ParamKind::Number => parse_number(trimmed).map(Value::Number),
    };
    parsed.map_err(|expected| TemplateError::BadParameter {
        name: p.name,
        value: text.to_owned(),
        expected,
    })
}

/// A positive amount of money; the error is what was expected.
fn parse_currency(s: &str) -> Result<Money, String> {
    match s.parse::<Money>() {
        Ok(m) if m.is_zero() => Err("an amount above zero, like 450000".to_owned()),
        Ok(m) => Ok(m),
        Err(e) => {
            let message = e.to_string();
            Err(message.strip_prefix("expected ").unwrap_or(&message).to_owned())
        }
    }
}

/// A percent above 0 and at most 100 with at most 2 decimals, as hundredths.
fn parse_percent(s: &str) -> Result<i64, String> {
    const PLAIN: &str = "a percent written as a plain number above 0 and at most 100, like 20 or 12.5";
    if s.is_empty() {
        return Err("a percent above 0 and at most 100, like 20".to_owned());
    }
    if s.contains('%') {
        return Err("a plain number without the % sign, like 20".to_owned());
    }
    if s.starts_with('-') {
        return Err("a percent above 0 (not negative) and at most 100, like 20".to_owned());
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (s.contains('.') && !digits(frac)) {
        return Err(PLAIN.to_owned());
    }
    if frac.len() > 2 {
        return Err("a percent with at most 2 digits after the decimal point, like 12.75".to_owned());
    }
    let int = int.trim_start_matches('0');
    if int.len() > 3 {
        return Err("a percent of at most 100, like 20".to_owned());
    }
    // At most 3 and 2 ASCII digits: these parses and products cannot fail or overflow.
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| PLAIN.to_owned())?
    };
    let hundredths: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| PLAIN.to_owned())? * 10,
        _ => frac.parse().map_err(|_| PLAIN.to_owned())?,
    };
    match whole * 100 + hundredths {
        0 => Err("a percent above 0, like 20".to_owned()),
        p if p > 10_000 => Err("a percent of at most 100, like 20".to_owned()),
        p => Ok(p),
    }
}

/// A whole number from 0 to 150.
fn parse_number(s: &str) -> Result<u32, String> {
    const EXPECTED: &str = "a whole number from 0 to 150, like 40";
    if s.starts_with('-') {
        return Err("a whole number that is not negative, from 0 to 150, like 40".to_owned());
    }
    if s.contains('.') && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !s.is_empty() {
        return Err("a whole number without decimals, from 0 to 150, like 40".to_owned());
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EXPECTED.to_owned());
    }
    let s = s.trim_start_matches('0');
    if s.len() > 3 {
        return Err("a whole number of at most 150, like 40".to_owned());
    }
    let n: u32 = if s.is_empty() {
        0
    } else {
        s.parse().map_err(|_| EXPECTED.to_owned())?
    };
    if n > 150 {
        return Err("a whole number of at most 150, like 40".to_owned());
    }
    Ok(n)
}

/// A percent in hundredths for people: 2000 → `20`, 1250 → `12.5`, 1234 → `12.34`.
fn percent_text(hundredths: i64) -> String {
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// `amount × hundredths / 10000` (a percent of an amount), rounded to the
/// cent half away from zero. The result is never larger than `amount`.
fn percent_of(amount: Money, hundredths: i64) -> Money {
    let product = i128::from(amount.cents()) * i128::from(hundredths);
    let (quotient, remainder) = (product / 10_000, product % 10_000);
    let rounded = if remainder.abs() * 2 >= 10_000 {
        quotient + product.signum()
    } else {
        quotient
    };
    // |hundredths| ≤ 10000, so |rounded| ≤ |amount| (the remainder rounds to at most amount).
    Money::from_cents(i64::try_from(rounded).unwrap_or(amount.cents()))
}

fn times(t: &Template, amount: Money, factor: i64) -> Result<Money, TemplateError> {
    amount
        .cents()
        .checked_mul(factor)
        .map(Money::from_cents)
        .ok_or(TemplateError::TooLarge { template: t.id })
}

/// A money target must be above zero.
fn positive(target: Money, explanation: &str) -> Result<(), TemplateError> {
    if target.is_zero() {
        Err(TemplateError::ZeroTarget {
            explanation: explanation.to_owned(),
        })
    } else if target < Money::ZERO {
        Err(TemplateError::NegativeTarget {
            explanation: explanation.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// Turns a template into a concrete target.
///
/// `params`: parameter name → value as typed on the command line
/// (`--param home_price=450000`); missing parameters take their default.
/// `facts`: the latest snapshot, `None` when none is stored yet (only the
/// emergency funds and debt_free need one).
pub fn instantiate(
    t: &Template,
    params: &BTreeMap<String, String>,
    facts: Option<&BudgetFacts>,
) -> Result<Instantiated, TemplateError> {
    // Always the built-in definition: a hand-made `Template` with a known id
    // cannot change the parameters its computation relies on.
    let t = lookup(t.id)?;
    let values = Values::read(t, params)?;
    match t.id {
        EMERGENCY_FUND_3_MONTHS => emergency_fund(t, 3, facts, "a 3-month emergency fund is 3 × your monthly expenses"),
        EMERGENCY_FUND_6_MONTHS => emergency_fund(t, 6, facts, "a 6-month emergency fund is 6 × your monthly expenses"),
        DEBT_FREE => debt_free(t, facts),
        HOUSE_DOWN_PAYMENT => house_down_payment(&values),
        RETIREMENT_TARGET => retirement_target(t, &values),
        SAVINGS_RATE_TARGET => savings_rate_target(&values, facts),
        other => Err(TemplateError::UnknownTemplate(other.to_owned())),
    }
}

fn emergency_fund(
    t: &Template,
    months: i64,
    facts: Option<&BudgetFacts>,
    why: &'static str,
) -> Result<Instantiated, TemplateError> {
    let facts = facts.ok_or(TemplateError::NeedsSnapshot(why))?;
    let target = times(t, facts.monthly_expenses, months)?;
    let explanation = format!(
        "{months} × monthly expenses {} = {}",
        facts.monthly_expenses.grouped(),
        target.grouped()
    );
    positive(target, &explanation)?;
    Ok(Instantiated {
        target,
        explanation,
        suggested_months: t.suggested_timeline_months,
        link_accounts: Vec::new(),
        link_categories: vec!["emergency_fund".to_owned()],
    })
}

fn debt_free(t: &Template, facts: Option<&BudgetFacts>) -> Result<Instantiated, TemplateError> {
    let facts = facts.ok_or(TemplateError::NeedsSnapshot(
        "becoming debt-free means paying off the debts of your latest snapshot",
    ))?;
    if facts.debts.is_empty() {
        return Err(TemplateError::NoDebts);
    }
    let mut total = Money::ZERO;
    for (_, balance) in &facts.debts {
        total = total
            .checked_add(*balance)
            .ok_or(TemplateError::TooLarge { template: t.id })?;
    }
    let listed: Vec<String> = facts
        .debts
        .iter()
        .map(|(account, balance)| format!("{account} {}", balance.grouped()))
        .collect();
    let count = facts.debts.len();
    let explanation = format!(
        "total of {count} {} ({}) = {}",
        if count == 1 { "debt" } else { "debts" },
        listed.join(", "),
        total.grouped()
    );
    positive(total, &explanation)?;
    let mut link_accounts: Vec<String> = Vec::with_capacity(count);
    for (account, _) in &facts.debts {
        if !link_accounts.contains(account) {
            link_accounts.push(account.clone());
        }
    }
    Ok(Instantiated {
        target: total,
        explanation,
        suggested_months: t.suggested_timeline_months,
        link_accounts,
        link_categories: Vec::new(),
    })
}

fn house_down_payment(values: &Values) -> Result<Instantiated, TemplateError> {
    let price = values.money("home_price")?;
    let percent = values.percent("down_payment_percent")?;
    let target = percent_of(price, percent);
    let explanation = format!(
        "{} % of home price {} = {}",
        percent_text(percent),
        price.grouped(),
        target.grouped()
    );
    positive(target, &explanation)?;
    Ok(Instantiated {
        target,
        explanation,
        suggested_months: None,
        link_accounts: Vec::new(),
        link_categories: vec!["down_payment".to_owned()],
    })
}

fn retirement_target(t: &Template, values: &Values) -> Result<Instantiated, TemplateError> {
    let retirement_age = values.number("retirement_age")?;
    let current_age = values.number("current_age")?;
    let income = values.money("target_income")?;
    if current_age >= retirement_age {
        return Err(TemplateError::AgesOutOfOrder {
            current_age,
            retirement_age,
        });
    }
    // Both ages are at most 150: the difference times 12 fits easily.
    let suggested_months = (retirement_age - current_age) * 12;
    let target = times(t, income, 25)?;
    let explanation = format!(
        "25 × desired annual income {} (the 4 % rule) = {}",
        income.grouped(),
        target.grouped()
    );
    positive(target, &explanation)?;
    Ok(Instantiated {
        target,
        explanation,
        suggested_months: Some(suggested_months),
        link_accounts: Vec::new(),
        link_categories: vec!["retirement".to_owned()],
    })
}

/// The target is the rate itself; the snapshot's income only puts an amount
/// on it in the explanation (the seed computed with the parameters alone and crashed).
fn savings_rate_target(values: &Values, facts: Option<&BudgetFacts>) -> Result<Instantiated, TemplateError> {
    let rate = values.percent("target_rate")?;
    let explanation = match facts {
        Some(facts) => format!(
            "{} % of monthly income {} = {} saved a month",
            percent_text(rate),
            facts.monthly_income.grouped(),
            percent_of(facts.monthly_income, rate).grouped()
        ),
        None => format!(
            "{} % of monthly income saved a month (no snapshot yet to put an amount on it)",
            percent_text(rate)
        ),
    };
    Ok(Instantiated {
        target: Money::from_cents(rate),
        explanation,
        suggested_months: None,
        link_accounts: Vec::new(),
        link_categories: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::SnapshotLine;
    use proptest::prelude::*;

    fn money(text: &str) -> Money {
        text.parse().unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn facts() -> BudgetFacts {
        BudgetFacts {
            monthly_expenses: money("4500"),
            monthly_income: money("7400"),
            debts: vec![
                ("card".to_owned(), money("4200")),
                ("student".to_owned(), money("18500")),
            ],
        }
    }

    fn template(id: &str) -> &'static Template {
        find(id).unwrap()
    }

    fn run(id: &str, pairs: &[(&str, &str)], facts: Option<&BudgetFacts>) -> Result<Instantiated, TemplateError> {
        instantiate(template(id), &params(pairs), facts)
    }

    #[test]
    fn there_are_six_templates_each_found_by_its_id() {
        let ids: Vec<&str> = TEMPLATES.iter().map(|t| t.id).collect();
        assert_eq!(
            ids,
            [
                "emergency_fund_3_months",
                "emergency_fund_6_months",
                "debt_free",
                "house_down_payment",
                "retirement_target",
                "savings_rate_target"
            ]
        );
        for t in TEMPLATES {
            assert_eq!(find(t.id), Some(t));
            assert!((2..=3).contains(&t.tips.len()), "{}", t.id);
            assert!(!t.name.is_empty() && !t.description.is_empty(), "{}", t.id);
        }
        assert_eq!(find("vacation"), None);
        assert_eq!(
            lookup("vacation").unwrap_err().to_string(),
            "there is no template \"vacation\": expected one of emergency_fund_3_months, emergency_fund_6_months, \
             debt_free, house_down_payment, retirement_target, savings_rate_target"
        );
    }

    #[test]
    fn templates_carry_the_seeds_settings() {
        let t = template("emergency_fund_3_months");
        assert_eq!(
            (t.goal_type, t.suggested_timeline_months),
            (GoalType::EmergencyFund, Some(12))
        );
        assert_eq!(t.name, "3-Month Emergency Fund");
        let t = template("emergency_fund_6_months");
        assert_eq!(
            (t.goal_type, t.suggested_timeline_months),
            (GoalType::EmergencyFund, Some(24))
        );
        let t = template("debt_free");
        assert_eq!(
            (t.goal_type, t.auto_link_debts, t.suggested_timeline_months),
            (GoalType::DebtFree, true, None)
        );
        assert_eq!(template("house_down_payment").goal_type, GoalType::DownPayment);
        assert_eq!(template("retirement_target").goal_type, GoalType::RetirementSavings);
        let t = template("savings_rate_target");
        assert_eq!(
            (t.goal_type, t.is_recurring, t.recurrence_period),
            (GoalType::SavingsRate, true, Some(RecurrencePeriod::Monthly))
        );
        for t in TEMPLATES {
            assert_eq!(t.is_recurring, t.goal_type.is_recurring(), "{}", t.id);
            assert_eq!(t.auto_link_debts, t.id == "debt_free", "{}", t.id);
        }
    }

    #[test]
    fn every_default_is_a_valid_value_of_its_kind() {
        for t in TEMPLATES {
            for p in t.parameters {
                if let Some(default) = p.default {
                    assert!(read_value(p, default).is_ok(), "{}.{}", t.id, p.name);
                }
            }
        }
    }

    #[test]
    fn the_seed_example_gives_13_500_for_three_months_and_27_000_for_six() {
        let facts = facts();
        let three = run("emergency_fund_3_months", &[], Some(&facts)).unwrap();
        assert_eq!(
            three,
            Instantiated {
                target: money("13500"),
                explanation: "3 × monthly expenses 4,500.00 = 13,500.00".to_owned(),
                suggested_months: Some(12),
                link_accounts: vec![],
                link_categories: vec!["emergency_fund".to_owned()],
            }
        );
        let six = run("emergency_fund_6_months", &[], Some(&facts)).unwrap();
        assert_eq!(six.target, money("27000"));
        assert_eq!(six.explanation, "6 × monthly expenses 4,500.00 = 27,000.00");
        assert_eq!(six.suggested_months, Some(24));
        assert_eq!(six.link_categories, ["emergency_fund"]);
    }

    #[test]
    fn debt_free_sums_every_debt_and_links_every_debt_account() {
        let done = run("debt_free", &[], Some(&facts())).unwrap();
        assert_eq!(
            done,
            Instantiated {
                target: money("22700"),
                explanation: "total of 2 debts (card 4,200.00, student 18,500.00) = 22,700.00".to_owned(),
                suggested_months: None,
                link_accounts: vec!["card".to_owned(), "student".to_owned()],
                link_categories: vec![],
            }
        );
        let one = BudgetFacts {
            debts: vec![("car_loan".to_owned(), money("9876.54"))],
            ..facts()
        };
        let done = run("debt_free", &[], Some(&one)).unwrap();
        assert_eq!(done.explanation, "total of 1 debt (car_loan 9,876.54) = 9,876.54");
        assert_eq!(done.link_accounts, ["car_loan"]);
    }

    #[test]
    fn debt_free_without_debts_says_there_is_nothing_to_pay_off() {
        let none = BudgetFacts {
            debts: vec![],
            ..facts()
        };
        let err = run("debt_free", &[], Some(&none)).unwrap_err();
        assert_eq!(err, TemplateError::NoDebts);
        assert!(err.to_string().contains("expected at least one debt line"));
        let paid = BudgetFacts {
            debts: vec![("card".to_owned(), Money::ZERO)],
            ..facts()
        };
        assert_eq!(
            run("debt_free", &[], Some(&paid)).unwrap_err().to_string(),
            "the target comes to zero (total of 1 debt (card 0.00) = 0.00): expected a target above zero"
        );
    }

    #[test]
    fn the_down_payment_is_a_percent_of_the_home_price_rounded_to_the_cent() {
        let done = run("house_down_payment", &[("home_price", "450000")], None).unwrap();
        assert_eq!(
            done,
            Instantiated {
                target: money("90000"),
                explanation: "20 % of home price 450,000.00 = 90,000.00".to_owned(),
                suggested_months: None,
                link_accounts: vec![],
                link_categories: vec!["down_payment".to_owned()],
            }
        );
        let done = run(
            "house_down_payment",
            &[("home_price", "333333.33"), ("down_payment_percent", "12.5")],
            Some(&facts()),
        )
        .unwrap();
        // 333333.33 × 0.125 = 41666.66625 → 41666.67
        assert_eq!(done.target, money("41666.67"));
        assert_eq!(done.explanation, "12.5 % of home price 333,333.33 = 41,666.67");
        // exactly half a cent rounds away from zero: 0.05 × 10 % = 0.005 → 0.01
        let done = run(
            "house_down_payment",
            &[("home_price", "0.05"), ("down_payment_percent", "10")],
            None,
        )
        .unwrap();
        assert_eq!(done.target, Money::from_cents(1));
        let done = run(
            "house_down_payment",
            &[("home_price", "1000"), ("down_payment_percent", "100")],
            None,
        )
        .unwrap();
        assert_eq!(done.explanation, "100 % of home price 1,000.00 = 1,000.00");
    }

    #[test]
    fn a_down_payment_that_rounds_to_zero_is_refused() {
        let err = run(
            "house_down_payment",
            &[("home_price", "0.01"), ("down_payment_percent", "20")],
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the target comes to zero (20 % of home price 0.01 = 0.00): expected a target above zero"
        );
    }

    #[test]
    fn the_retirement_target_is_25_times_the_income_by_the_4_percent_rule() {
        let done = run(
            "retirement_target",
            &[("current_age", "40"), ("target_income", "60000")],
            None,
        )
        .unwrap();
        assert_eq!(
            done,
            Instantiated {
                target: money("1500000"),
                explanation: "25 × desired annual income 60,000.00 (the 4 % rule) = 1,500,000.00".to_owned(),
                suggested_months: Some(300),
                link_accounts: vec![],
                link_categories: vec!["retirement".to_owned()],
            }
        );
        let early = run(
            "retirement_target",
            &[
                ("current_age", "30"),
                ("retirement_age", "55"),
                ("target_income", "48000.50"),
            ],
            Some(&facts()),
        )
        .unwrap();
        assert_eq!(early.suggested_months, Some(300));
        assert_eq!(early.target, money("1200012.50"));
    }

    #[test]
    fn a_current_age_not_below_the_retirement_age_is_refused() {
        for current in ["65", "70"] {
            let err = run(
                "retirement_target",
                &[("current_age", current), ("target_income", "60000")],
                None,
            )
            .unwrap_err();
            assert!(
                matches!(err, TemplateError::AgesOutOfOrder { retirement_age: 65, .. }),
                "{current}"
            );
        }
        assert_eq!(
            run(
                "retirement_target",
                &[("current_age", "70"), ("target_income", "60000")],
                None
            )
            .unwrap_err()
            .to_string(),
            "the current age 70 is not below the retirement age 65: expected a current age below the retirement age"
        );
    }

    #[test]
    fn the_savings_rate_target_is_the_percent_and_works_without_a_snapshot() {
        let done = run("savings_rate_target", &[], None).unwrap();
        assert_eq!(
            done,
            Instantiated {
                target: Money::from_cents(2000),
                explanation: "20 % of monthly income saved a month (no snapshot yet to put an amount on it)".to_owned(),
                suggested_months: None,
                link_accounts: vec![],
                link_categories: vec![],
            }
        );
    }

    #[test]
    fn the_savings_rate_target_puts_an_amount_on_the_percent_from_the_snapshot() {
        let done = run("savings_rate_target", &[], Some(&facts())).unwrap();
        assert_eq!(done.target, Money::from_cents(2000));
        assert_eq!(
            done.explanation,
            "20 % of monthly income 7,400.00 = 1,480.00 saved a month"
        );
        let done = run("savings_rate_target", &[("target_rate", "15.25")], Some(&facts())).unwrap();
        assert_eq!(done.target, Money::from_cents(1525));
        assert_eq!(
            done.explanation,
            "15.25 % of monthly income 7,400.00 = 1,128.50 saved a month"
        );
    }

    #[test]
    fn expense_and_debt_templates_need_a_snapshot() {
        for id in ["emergency_fund_3_months", "emergency_fund_6_months", "debt_free"] {
            let err = run(id, &[], None).unwrap_err();
            assert!(matches!(err, TemplateError::NeedsSnapshot(_)), "{id}");
            assert!(err.to_string().contains("expected a budget snapshot"), "{id}");
        }
        assert_eq!(
            run("emergency_fund_3_months", &[], None).unwrap_err().to_string(),
            "a 3-month emergency fund is 3 × your monthly expenses: expected a budget snapshot, but none is stored yet; \
             add one first"
        );
    }

    #[test]
    fn monthly_expenses_of_zero_give_no_target() {
        let idle = BudgetFacts {
            monthly_expenses: Money::ZERO,
            ..facts()
        };
        assert_eq!(
            run("emergency_fund_3_months", &[], Some(&idle)).unwrap_err(),
            TemplateError::ZeroTarget {
                explanation: "3 × monthly expenses 0.00 = 0.00".to_owned()
            }
        );
    }

    #[test]
    fn unknown_parameters_are_refused_with_the_templates_parameters() {
        let err = run(
            "house_down_payment",
            &[("home_price", "450000"), ("colour", "red")],
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "house_down_payment has no parameter \"colour\": expected one of home_price, down_payment_percent"
        );
        let err = run("emergency_fund_3_months", &[("months", "4")], Some(&facts())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "emergency_fund_3_months has no parameter \"months\": expected no parameters"
        );
    }

    #[test]
    fn a_missing_required_parameter_is_named_with_its_label() {
        let err = run("house_down_payment", &[("down_payment_percent", "10")], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the parameter home_price (Target home price) is missing: expected --param home_price=<an amount like 450000>"
        );
        let err = run("retirement_target", &[("target_income", "60000")], None).unwrap_err();
        assert!(matches!(
            err,
            TemplateError::MissingParameter {
                name: "current_age",
                label: "Current age",
                ..
            }
        ));
    }

    #[test]
    fn malformed_amounts_say_what_was_expected() {
        let cases = [
            (
                "1,000",
                "expected a plain number without thousands separators, like 1234.50",
            ),
            ("-5000", "expected an amount that is not negative"),
            (
                "$450000",
                "expected a plain number without a currency sign, like 1234.50",
            ),
            ("12.345", "expected at most 2 digits after the decimal point"),
            ("lots", "expected a plain decimal number like 1234.50"),
            ("0", "expected an amount above zero, like 450000"),
            ("", "expected an amount, like 1234.50"),
        ];
        for (value, message) in cases {
            let err = run("house_down_payment", &[("home_price", value)], None).unwrap_err();
            assert!(
                matches!(&err, TemplateError::BadParameter { name: "home_price", value: v, .. } if v == value),
                "{value}: {err:?}"
            );
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("the parameter home_price cannot be {value:?}: ")),
                "{text}"
            );
            assert!(text.contains(message), "{value}: {text}");
        }
        assert_eq!(
            run("house_down_payment", &[("home_price", "1,000")], None)
                .unwrap_err()
                .to_string(),
            "the parameter home_price cannot be \"1,000\": expected a plain number without thousands separators, like \
             1234.50"
        );
    }

    #[test]
    fn percents_must_be_above_zero_and_at_most_100() {
        let cases = [
            ("100.01", "expected a percent of at most 100, like 20"),
            ("150", "expected a percent of at most 100, like 20"),
            ("0", "expected a percent above 0, like 20"),
            ("0.00", "expected a percent above 0, like 20"),
            (
                "-5",
                "expected a percent above 0 (not negative) and at most 100, like 20",
            ),
            ("20%", "expected a plain number without the % sign, like 20"),
            (
                "12.345",
                "expected a percent with at most 2 digits after the decimal point, like 12.75",
            ),
            (
                "twenty",
                "expected a percent written as a plain number above 0 and at most 100, like 20 or 12.5",
            ),
            ("5.", "expected a percent written as a plain number"),
            (".5", "expected a percent written as a plain number"),
            ("", "expected a percent above 0 and at most 100, like 20"),
        ];
        for (value, message) in cases {
            let err = run("savings_rate_target", &[("target_rate", value)], None).unwrap_err();
            assert!(err.to_string().contains(message), "{value}: {err}");
        }
        for (value, hundredths) in [("100", 10_000), ("0.01", 1), ("007.5", 750), (" 20 ", 2000)] {
            let done = run("savings_rate_target", &[("target_rate", value)], None).unwrap();
            assert_eq!(done.target, Money::from_cents(hundredths), "{value}");
        }
    }

    #[test]
    fn ages_must_be_whole_numbers_from_0_to_150() {
        let cases = [
            (
                "40.5",
                "expected a whole number without decimals, from 0 to 150, like 40",
            ),
            (
                "-1",
                "expected a whole number that is not negative, from 0 to 150, like 40",
            ),
            ("151", "expected a whole number of at most 150, like 40"),
            (
                "99999999999999999999",
                "expected a whole number of at most 150, like 40",
            ),
            ("forty", "expected a whole number from 0 to 150, like 40"),
            ("", "expected a whole number from 0 to 150, like 40"),
        ];
        for (value, message) in cases {
            let err = run(
                "retirement_target",
                &[("current_age", value), ("target_income", "60000")],
                None,
            )
            .unwrap_err();
            assert!(err.to_string().contains(message), "{value}: {err}");
        }
        let done = run(
            "retirement_target",
            &[("current_age", "0"), ("retirement_age", "150"), ("target_income", "1")],
            None,
        )
        .unwrap();
        assert_eq!(done.suggested_months, Some(1800));
    }

    #[test]
    fn targets_too_large_to_hold_are_refused_rather_than_wrapped() {
        let huge = BudgetFacts {
            monthly_expenses: Money::from_cents(i64::MAX / 4),
            monthly_income: Money::ZERO,
            debts: vec![
                ("a".to_owned(), Money::from_cents(i64::MAX)),
                ("b".to_owned(), Money::from_cents(1)),
            ],
        };
        for id in ["emergency_fund_6_months", "debt_free"] {
            assert!(
                matches!(run(id, &[], Some(&huge)), Err(TemplateError::TooLarge { .. })),
                "{id}"
            );
        }
        // The largest amount accepted from input still fits 25 times over.
        let done = run(
            "retirement_target",
            &[("current_age", "40"), ("target_income", "999999999999999.99")],
            None,
        )
        .unwrap();
        assert_eq!(done.target, Money::from_cents(99_999_999_999_999_999 * 25));
    }

    #[test]
    fn budget_facts_come_from_a_snapshot_summary() {
        let line = |kind, account: Option<&str>, cents| SnapshotLine {
            kind,
            account: account.map(str::to_owned),
            category: "misc".to_owned(),
            amount: Money::from_cents(cents),
            rate: None,
            min_payment: None,
        };
        let summary = SnapshotSummary::of_lines(&[
            line(Kind::Income, None, 740_000),
            line(Kind::Expense, None, 300_000),
            line(Kind::Expense, None, 150_000),
            line(Kind::Debt, Some("student"), 1_850_000),
            line(Kind::Savings, Some("efund"), 500_000),
            line(Kind::Debt, Some("card"), 420_000),
        ])
        .unwrap();
        assert_eq!(BudgetFacts::from_summary(&summary), facts());
    }

    #[test]
    fn percents_read_back_as_people_write_them() {
        for (hundredths, text) in [
            (2000, "20"),
            (1250, "12.5"),
            (1234, "12.34"),
            (5, "0.05"),
            (10_000, "100"),
        ] {
            assert_eq!(percent_text(hundredths), text);
        }
    }

    fn any_facts() -> impl Strategy<Value = Option<BudgetFacts>> {
        proptest::option::of(
            (
                any::<i64>(),
                any::<i64>(),
                proptest::collection::vec(("[a-z]{1,6}", any::<i64>()), 0..4),
            )
                .prop_map(|(expenses, income, debts)| BudgetFacts {
                    monthly_expenses: Money::from_cents(expenses),
                    monthly_income: Money::from_cents(income),
                    debts: debts.into_iter().map(|(a, c)| (a, Money::from_cents(c))).collect(),
                }),
        )
    }

    fn any_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("home_price".to_owned()),
            Just("down_payment_percent".to_owned()),
            Just("retirement_age".to_owned()),
            Just("current_age".to_owned()),
            Just("target_income".to_owned()),
            Just("target_rate".to_owned()),
            "\\PC{0,12}",
        ]
    }

    fn any_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{0,20}(\\.[0-9]{0,4})?",
            "[-+ $%,.0-9eE]{0,12}",
            "\\PC{0,20}",
            ".{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn instantiate_never_panics_whatever_the_parameters_and_facts(
            index in 0..TEMPLATES.len(),
            given in proptest::collection::btree_map(any_name(), any_value(), 0..5),
            facts in any_facts(),
        ) {
            let t = &TEMPLATES[index];
            if let Ok(done) = instantiate(t, &given, facts.as_ref()) {
                prop_assert!(done.target > Money::ZERO);
                prop_assert!(!done.explanation.is_empty());
            }
        }
    }
}
