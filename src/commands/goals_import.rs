//! `goals import FILE`: reading and checking the CSV (pure: the users and goals it refers to are given),
//! every problem with its line and column. The command stores what this returns.

use crate::domain::goal::{GoalField, GoalLinks};
use crate::domain::{Goal, GoalId, GoalType, User};
use crate::service::goals::blank_goal;
use crate::service::{parse_date, parse_target};
use crate::tabular::{HeaderSpec, Problem, Problems, Table};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

const GOALS_SPEC: HeaderSpec = HeaderSpec {
    required: &["goal_id", "user_id", "type", "name", "target_value"],
    optional: &["target_date", "start_date", "accounts", "categories"],
};

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every goal of the file, or every problem: `users` are the registered users and `existing` the stored
/// goals (by id), which an imported row updates.
pub fn read_import(
    input: impl std::io::Read,
    users: &BTreeMap<String, User>,
    existing: &BTreeMap<String, Goal>,
    now: DateTime<Utc>,
) -> Result<Vec<Goal>, Problems> {
    let mut problems = Problems::default();
    let mut goals: Vec<Goal> = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    match Table::open(input, &GOALS_SPEC) {
        Err(ps) => problems.extend(ps),
        Ok(mut t) => {
            while let Some(row) = t.next_row() {
                let row = match row {
                    Ok(r) => r,
                    Err(p) => {
                        problems.push(p);
                        continue;
                    }
                };
                let Some(f) = row.fields::<9>(&mut problems) else {
                    continue;
                };
                let bad = |i: usize, expected: String| Problem::field(row.line, row.column(i), f[i], expected);
                let mut row_problems = Vec::new();
                let id = GoalId::parse(f[0])
                    .map_err(|e| row_problems.push(bad(0, format!("a goal id: {e}"))))
                    .ok();
                if let Some(first) = seen.insert(f[0].to_owned(), row.line) {
                    row_problems.push(bad(0, format!("each goal once; it is already on line {first}")));
                }
                let user = users.get(f[1]);
                if user.is_none() {
                    row_problems.push(bad(1, "a registered user".to_owned()));
                }
                let goal_type = f[2].parse::<GoalType>().map_err(|e| row_problems.push(bad(2, e))).ok();
                let target =
                    goal_type.and_then(|t| parse_target(t, f[4]).map_err(|e| row_problems.push(bad(4, e))).ok());
                let target_date = match f[5] {
                    "" => None,
                    d => parse_date(d)
                        .map_err(|_| row_problems.push(bad(5, "a date as YYYY-MM-DD or empty".into())))
                        .ok(),
                };
                let start_date = match f[6] {
                    "" => None,
                    d => parse_date(d)
                        .map_err(|_| row_problems.push(bad(6, "a date as YYYY-MM-DD or empty".into())))
                        .ok(),
                };
                if let (Some(id), Some(user), Some(goal_type), Some(target)) = (id, user, goal_type, target) {
                    let mut goal = match existing.get(id.as_str()) {
                        Some(old) if old.goal_type == goal_type => old.clone(),
                        _ => blank_goal(id, user, goal_type, now),
                    };
                    goal.user_id = user.id.clone();
                    goal.name = f[3].to_owned();
                    goal.target = target;
                    goal.target_date = target_date;
                    if let Some(start) = start_date {
                        goal.start_date = start;
                    }
                    goal.links = GoalLinks {
                        accounts: split_list(f[7]),
                        categories: split_list(f[8]),
                    };
                    goal.original_balance = goal_type.is_debt().then_some(target);
                    goal.updated_at = now;
                    for p in goal.problems() {
                        let column = match p.field {
                            GoalField::Name => Some(3),
                            GoalField::Target => Some(4),
                            GoalField::TargetDate => Some(5),
                            GoalField::Accounts => Some(7),
                            GoalField::Categories => Some(8),
                            GoalField::ReminderDay => None,
                        };
                        row_problems.push(match column {
                            Some(i) => bad(i, p.expected),
                            None => Problem::line(row.line, p.expected),
                        });
                    }
                    goals.push(goal);
                }
                problems.extend(row_problems);
            }
        }
    }
    if problems.is_empty() { Ok(goals) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const COLUMNS: [&str; 9] = [
        "goal_id",
        "user_id",
        "type",
        "name",
        "target_value",
        "target_date",
        "start_date",
        "accounts",
        "categories",
    ];
    const ROW: [&str; 9] = [
        "g1",
        "ana",
        "savings_target",
        "Car",
        "5000",
        "2027-06-30",
        "2026-01-01",
        "savings",
        "",
    ];

    fn users() -> BTreeMap<String, User> {
        let ana = User {
            id: UserId::parse("ana").unwrap(),
            email: None,
            display_name: None,
            timezone: chrono_tz::Tz::UTC,
        };
        BTreeMap::from([("ana".to_owned(), ana)])
    }

    fn read(input: &[u8]) -> Result<Vec<Goal>, Problems> {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        read_import(input, &users(), &BTreeMap::new(), now)
    }

    fn csv_line(fields: &[&str]) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(fields).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn a_good_row_is_read_and_a_bad_one_is_refused_by_line_and_column() {
        let good = format!("{}{}", csv_line(&COLUMNS), csv_line(&ROW));
        assert_eq!(read(good.as_bytes()).unwrap().len(), 1);
        let bad = format!("{}g2,ben,savings_target,X,5000,,,,\n", csv_line(&COLUMNS));
        let (listed, _) = read(bad.as_bytes()).unwrap_err().into_listed();
        assert_eq!(
            listed[0].to_string(),
            "line 2, column 2 (user_id): found \"ben\"; expected a registered user"
        );
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "(?s).{0,40}",
            "[0-9.,eE+-]{0,30}",
            "-?[0-9]{1,40}(\\.[0-9]{0,30})?",
            "[+-]?[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}",
            "[a-z_;]{0,30}",
            ".{1020,1030}",
            Just("NaN".to_owned()),
            Just("1e400".to_owned()),
            Just("9999-12-31".to_owned()),
            Just("-262144-01-01".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_and_every_problem_names_its_line_or_the_file(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            header in any::<bool>(),
        ) {
            let mut input = if header { csv_line(&COLUMNS).into_bytes() } else { Vec::new() };
            input.extend(bytes);
            if let Err(problems) = read(&input) {
                for p in problems.into_listed().0 {
                    let text = p.to_string();
                    prop_assert!(text.starts_with("line ") || text.starts_with("file: "), "{text}");
                    prop_assert!(text.contains("expected"), "{text}");
                }
            }
        }

        #[test]
        fn an_arbitrary_value_in_a_column_is_accepted_or_refused_naming_its_line_and_column(
            column in 0usize..9,
            value in value(),
        ) {
            let mut fields = ROW;
            fields[column] = &value;
            let text = format!("{}{}", csv_line(&COLUMNS), csv_line(&fields));
            match read(text.as_bytes()) {
                Ok(goals) => prop_assert_eq!(goals.len(), 1),
                Err(problems) => {
                    // The type decides how the target and the links are read, and the two dates are
                    // checked against each other: a problem there may name the other column.
                    let related = match column {
                        2 => vec![2, 4, 7, 8],
                        5 | 6 => vec![5, 6],
                        c => vec![c],
                    };
                    for p in problems.into_listed().0 {
                        let text = p.to_string();
                        prop_assert!(
                            related.iter().any(|&c| text.starts_with(&format!("line 2, column {} ({}): ", c + 1, COLUMNS[c]))),
                            "{text}"
                        );
                    }
                }
            }
        }
    }
}
