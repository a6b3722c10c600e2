//! One snapshot CSV file: its columns, and the one pass over it that hashes,
//! validates and totals it, spilling the validated lines for storing (see
//! [`super::spill`]). It streams: memory grows with the number of distinct
//! snapshots and accounts in a file, never with its number of lines.

use crate::domain::ids::check_id;
use crate::domain::snapshot::{FieldProblem, LineField, LineRef, RawLine, Totals, validate_line};
use crate::domain::{Period, SnapshotSummary, SummaryBuilder, UserId};
use crate::storage::NewSnapshot;
use crate::tabular::{Hashing, HeaderSpec, Problem, Problems, Row, Table};
use std::collections::HashMap;
use std::io::{Read, Write};

pub const SPEC: HeaderSpec = HeaderSpec {
    required: &["user_id", "period", "kind", "account", "category", "amount"],
    optional: &["rate", "min_payment"],
};
const USER: usize = 0;
const PERIOD: usize = 1;
const KIND: usize = 2;
const ACCOUNT: usize = 3;
const CATEGORY: usize = 4;
const AMOUNT: usize = 5;
const RATE: usize = 6;
const MIN_PAYMENT: usize = 7;

fn column_of(field: LineField) -> usize {
    match field {
        LineField::Kind => KIND,
        LineField::Account => ACCOUNT,
        LineField::Category => CATEGORY,
        LineField::Amount => AMOUNT,
        LineField::Rate => RATE,
        LineField::MinPayment => MIN_PAYMENT,
    }
}

/// A line that passed every per-line check.
struct Parsed<'a> {
    user: &'a str,
    period: Period,
    line: LineRef<'a>,
}

/// Checks one row on its own; every problem goes to `problems`.
fn parse_row<'a>(row: &Row<'a>, problems: &mut impl Extend<Problem>) -> Option<Parsed<'a>> {
    // An unreadable field is reported by itself: judging the others against
    // a placeholder would add false problems.
    let fields: [&str; 8] = row.fields(problems)?;
    let mut ok = true;
    let field = |i: usize, expected: String| Problem::field(row.line, row.column(i), fields[i], expected);
    if let Err(e) = check_id(fields[USER]) {
        problems.extend([field(USER, format!("a registered user id: {e}"))]);
        ok = false;
    }
    let period = fields[PERIOD]
        .parse::<Period>()
        .map_err(|e| problems.extend([field(PERIOD, e.to_string())]))
        .ok();
    let raw = RawLine {
        kind: fields[KIND],
        account: fields[ACCOUNT],
        category: fields[CATEGORY],
        amount: fields[AMOUNT],
        rate: fields[RATE],
        min_payment: fields[MIN_PAYMENT],
    };
    let line = validate_line(raw)
        .map_err(|ps| {
            problems.extend(
                ps.into_iter()
                    .map(|FieldProblem { field: f, expected }| field(column_of(f), expected)),
            );
        })
        .ok();
    match (ok, period, line) {
        (true, Some(period), Some(line)) => Some(Parsed {
            user: fields[USER],
            period,
            line,
        }),
        _ => None,
    }
}

/// Finds a line's snapshot index by user and month. Files list a user's
/// month together, so the last key answers most lines without hashing; the
/// map is keyed by user, a user's months in one file being few.
#[derive(Default)]
struct KeyIndex {
    map: HashMap<Box<str>, Vec<(Period, usize)>>,
    last: Option<(Box<str>, Period, usize)>,
}

impl KeyIndex {
    fn get(&mut self, user: &str, period: Period) -> Option<usize> {
        if let Some((u, p, i)) = &self.last {
            if **u == *user && *p == period {
                return Some(*i);
            }
        }
        let i = self
            .map
            .get(user)?
            .iter()
            .find(|(p, _)| *p == period)
            .map(|&(_, i)| i)?;
        self.last = Some((user.into(), period, i));
        Some(i)
    }

    fn insert(&mut self, user: &str, period: Period, i: usize) {
        match self.map.get_mut(user) {
            Some(periods) => periods.push((period, i)),
            None => {
                self.map.insert(user.into(), vec![(period, i)]);
            }
        }
    }
}

/// A user id seen in a file: where first, how often.
#[derive(Debug, Clone)]
pub struct SeenUser {
    pub id: String,
    pub first_line: u64,
    pub column: crate::tabular::Column,
    pub lines: u64,
}

impl SeenUser {
    /// The problem a file naming this user gets when the user is not
    /// registered (and the inbox does not create users): at its first line.
    pub fn unregistered(&self) -> Problem {
        let others = match self.lines - 1 {
            0 => String::new(),
            n => format!(" (it is on {n} more lines)"),
        };
        Problem::field(
            self.first_line,
            self.column.clone(),
            &self.id,
            format!(
                "a registered user{others}; add it with `goalkeeper users add` or `users import`, or set inbox.auto_create_users"
            ),
        )
    }
}

/// What the first pass learned about a file.
pub struct Checked {
    /// `None` when the header could not be read (the rest was not read either).
    pub sha256: Option<String>,
    pub size: u64,
    pub lines: u64,
    pub snapshots: Vec<NewSnapshot>,
    pub users: Vec<SeenUser>,
    pub problems: Problems,
    /// For each snapshot of a user `check` was asked about: its summary, for goal sync.
    pub summaries: Vec<Option<SnapshotSummary>>,
}

/// Reads all of `input`, hashing it, checking every line and totalling each
/// `(user, period)` snapshot. While no problem has been found, each valid line
/// is also written to `spill`. Only I/O errors are errors; everything wrong
/// with the content is in `problems`.
pub fn check<R: Read>(input: R, spill: &mut dyn Write, wanted: &dyn Fn(&str) -> bool) -> std::io::Result<Checked> {
    let mut builders: Vec<Option<SummaryBuilder>> = Vec::new();
    let mut problems = Problems::default();
    let mut keys = KeyIndex::default();
    let mut snapshots: Vec<NewSnapshot> = Vec::new();
    // Each account once per snapshot: names are interned, so the check
    // allocates once per distinct account name, not once per line.
    let mut account_names: HashMap<Box<str>, u32> = HashMap::new();
    let mut accounts: HashMap<(usize, u32), u64> = HashMap::new();
    let mut users: Vec<SeenUser> = Vec::new();
    let mut user_index: HashMap<String, usize> = HashMap::new();
    let mut lines = 0u64;
    let mut table = match Table::open(Hashing::new(input), &SPEC) {
        Ok(table) => table,
        Err(header_problems) => {
            problems.extend(header_problems);
            let (sha256, size) = (None, 0);
            return Ok(Checked {
                sha256,
                size,
                lines,
                snapshots,
                users,
                problems,
                summaries: Vec::new(),
            });
        }
    };
    while let Some(row) = table.next_row() {
        lines += 1;
        let row = match row {
            Ok(row) => row,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let Some(parsed) = parse_row(&row, &mut problems) else {
            continue;
        };
        let known = match users.last() {
            Some(last) if last.id == parsed.user => Some(users.len() - 1),
            _ => user_index.get(parsed.user).copied(),
        };
        match known {
            Some(i) => users[i].lines += 1,
            None => {
                user_index.insert(parsed.user.to_owned(), users.len());
                users.push(SeenUser {
                    id: parsed.user.to_owned(),
                    first_line: row.line,
                    column: row.column(USER),
                    lines: 1,
                });
            }
        }
        let index = keys.get(parsed.user, parsed.period).unwrap_or_else(|| {
            let i = snapshots.len();
            keys.insert(parsed.user, parsed.period, i);
            builders.push(wanted(parsed.user).then(SummaryBuilder::default));
            snapshots.push(NewSnapshot {
                user_id: UserId::from_trusted(parsed.user.to_owned()),
                period: parsed.period,
                totals: Totals::default(),
                line_count: 0,
            });
            i
        });
        if let Some(account) = parsed.line.account {
            let next_id = u32::try_from(account_names.len()).unwrap_or(u32::MAX);
            let name_id = match account_names.get(account) {
                Some(&id) => id,
                None => {
                    account_names.insert(account.into(), next_id);
                    next_id
                }
            };
            if let Some(first) = accounts.insert((index, name_id), row.line) {
                accounts.insert((index, name_id), first);
                problems.push(Problem::field(
                    row.line,
                    row.column(ACCOUNT),
                    account,
                    format!(
                        "each account once per snapshot: {account} is already on line {first} for {} {}",
                        parsed.user, parsed.period
                    ),
                ));
                continue;
            }
        }
        if problems.is_empty() {
            super::spill::write_line(spill, index, row.line, &parsed.line)?;
        }
        if let Some(Some(builder)) = builders.get_mut(index) {
            // An overflow is reported with the totals just below.
            let _ = builder.add(&parsed.line);
        }
        let snapshot = &mut snapshots[index];
        snapshot.line_count += 1;
        if let Err(e) = snapshot.totals.add(parsed.line.kind, parsed.line.amount) {
            problems.push(Problem::field(
                row.line,
                row.column(AMOUNT),
                &parsed.line.amount.to_string(),
                e.to_string(),
            ));
        }
    }
    let (sha256, size) = table.into_inner().finish()?;
    Ok(Checked {
        sha256: Some(sha256),
        size,
        lines,
        snapshots,
        users,
        problems,
        summaries: builders.into_iter().map(|b| b.map(SummaryBuilder::finish)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user_id,period,kind,account,category,amount,rate,min_payment\n";

    fn checked(body: &str) -> Checked {
        check(format!("{HEADER}{body}").as_bytes(), &mut std::io::sink(), &|_| false).unwrap()
    }

    fn messages(c: Checked) -> Vec<String> {
        c.problems.into_listed().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn lines_of_one_user_and_month_form_one_snapshot_wherever_they_are() {
        let c = checked(
            "u1,2025-01,income,,salary,5000,,\n\
             u2,2025-01,income,,salary,100,,\n\
             u1,2025-01,expense,,rent,2000,,\n\
             u1,2025-02,income,,salary,5100,,\n",
        );
        assert!(c.problems.is_empty());
        assert_eq!(c.snapshots.len(), 3);
        assert_eq!(c.snapshots[0].line_count, 2);
        assert_eq!(c.snapshots[0].totals.surplus().to_string(), "3000.00");
        assert_eq!(
            c.users
                .iter()
                .map(|u| (u.id.as_str(), u.first_line, u.lines))
                .collect::<Vec<_>>(),
            [("u1", 2, 3), ("u2", 3, 1)]
        );
    }

    #[test]
    fn an_account_twice_in_one_snapshot_names_both_lines() {
        let c = checked("u1,2025-01,debt,card,cc,100,,\nu1,2025-02,debt,card,cc,90,,\nu1,2025-01,savings,card,x,5,,\n");
        assert_eq!(
            messages(c),
            [
                "line 4, column 4 (account): found \"card\"; expected each account once per snapshot: card is already on line 2 for u1 2025-01"
            ]
        );
    }

    #[test]
    fn every_problem_of_every_line_is_listed_with_its_column() {
        let c = checked("u1,2025-13,loan,,rent,-5,,\nu 2,2025-01,income,,salary,1,,\n");
        assert_eq!(
            messages(c),
            [
                "line 2, column 2 (period): found \"2025-13\"; expected a month as YYYY-MM, like 2025-01",
                "line 2, column 3 (kind): found \"loan\"; expected one of income, expense, savings, investment, asset, debt",
                "line 2, column 6 (amount): found \"-5\"; expected an amount that is not negative (a debt is a positive balance of kind debt)",
                "line 3, column 1 (user_id): found \"u 2\"; expected a registered user id: expected only letters, digits and . _ - : @ (no spaces)",
            ]
        );
    }

    #[test]
    fn valid_lines_are_spilled_tagged_with_their_snapshot() {
        let text = format!(
            "{HEADER}u1,2025-01,income,,salary,5000,,\nu2,2025-01,income,,salary,1,,\nu1,2025-01,debt,card,cc,9,21.9,25\n"
        );
        let mut spill = Vec::new();
        let c = check(text.as_bytes(), &mut spill, &|_| false).unwrap();
        assert!(c.problems.is_empty());
        let mut input = &spill[..];
        let mut got = Vec::new();
        while let Some(l) = crate::inbox::spill::read_line(&mut input).unwrap() {
            got.push((l.snapshot, l.line_no, l.line.category, l.line.amount.to_string()));
        }
        assert_eq!(
            got,
            [
                (0, 2, "salary".to_owned(), "5000.00".to_owned()),
                (1, 3, "salary".to_owned(), "1.00".to_owned()),
                (0, 4, "cc".to_owned(), "9.00".to_owned()),
            ]
        );
    }

    #[test]
    fn nothing_after_the_first_problem_is_spilled() {
        let text = format!(
            "{HEADER}u1,2025-01,income,,salary,5,,\nu1,2025-01,income,,bonus,x,,\nu1,2025-01,expense,,rent,1,,\n"
        );
        let mut spill = Vec::new();
        let c = check(text.as_bytes(), &mut spill, &|_| false).unwrap();
        assert_eq!(c.problems.total(), 1);
        let mut input = &spill[..];
        assert_eq!(
            crate::inbox::spill::read_line(&mut input).unwrap().map(|l| l.line_no),
            Some(2)
        );
        assert!(crate::inbox::spill::read_line(&mut input).unwrap().is_none());
    }
}
