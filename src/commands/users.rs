//! `users add | import | list | login-link | logout`.

use super::output::{json, table};
use super::{Env, Exit};
use crate::cli::UsersCommand;
use crate::domain::User;
use crate::domain::user::{UserField, UserInput};
use crate::storage::{AddOutcome, Storage, WebStorage};
use crate::tabular::{HeaderSpec, Problem, Problems, Table};
use anyhow::Context;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::Path;

pub async fn run(env: &Env, cmd: UsersCommand) -> anyhow::Result<Exit> {
    let default_tz = env.settings.default_timezone()?;
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let exit = match cmd {
            UsersCommand::Add {
                id,
                email,
                name,
                timezone,
            } => {
                let input = UserInput {
                    id: &id,
                    email: &email,
                    display_name: name.as_deref(),
                    timezone: timezone.as_deref(),
                };
                add(&store, env, input, default_tz).await
            }
            UsersCommand::Import { file } => import(&store, env, &file, default_tz).await,
            UsersCommand::List(flag) => list(&store, flag.json).await,
            UsersCommand::LoginLink { user } => login_link(&store, env, &user).await,
            UsersCommand::Logout { user } => logout(&store, env, &user).await,
        };
        store.close().await;
        exit
    })
}

async fn known_user<S: Storage>(store: &S, user: &str) -> anyhow::Result<Option<crate::domain::UserId>> {
    let Ok(id) = crate::domain::UserId::parse(user) else {
        return Ok(None);
    };
    Ok(store.get_user(&id).await?.map(|u| u.id))
}

async fn login_link<S: WebStorage>(store: &S, env: &Env, user: &str) -> anyhow::Result<Exit> {
    let Some(base) = env.settings.web_base_url() else {
        eprintln!(
            "error: http.base_url: set it (or [email] base_url, or [http] listen) so the link can point somewhere"
        );
        return Ok(Exit::Rejected);
    };
    let Some(id) = known_user(store, user).await? else {
        eprintln!("error: no user {user:?}");
        return Ok(Exit::Rejected);
    };
    let token = crate::web::session::issue_link(store, &id, env.clock.now()).await?;
    println!("{base}/login/link?token={token}");
    Ok(Exit::Ok)
}

async fn logout<S: WebStorage>(store: &S, env: &Env, user: &str) -> anyhow::Result<Exit> {
    let Some(id) = known_user(store, user).await? else {
        eprintln!("error: no user {user:?}");
        return Ok(Exit::Rejected);
    };
    let n = store.revoke_user_sessions(&id, env.clock.now()).await?;
    println!("signed {id} out of {n} session(s)");
    Ok(Exit::Ok)
}

fn flag_name(field: UserField) -> &'static str {
    match field {
        UserField::Id => "--id",
        UserField::Email => "--email",
        UserField::DisplayName => "--name",
        UserField::TimeZone => "--timezone",
    }
}

async fn add<S: Storage>(store: &S, env: &Env, input: UserInput<'_>, default_tz: Tz) -> anyhow::Result<Exit> {
    let user = match input.validate(default_tz) {
        Ok(user) => user,
        Err(problems) => {
            for (field, e) in problems {
                eprintln!("{}: {e}", flag_name(field));
            }
            return Ok(Exit::Rejected);
        }
    };
    match store.add_user(&user, env.clock.now()).await? {
        AddOutcome::Created => {
            println!("added user {} <{}> ({})", user.id, input.email, user.timezone.name());
            Ok(Exit::Ok)
        }
        AddOutcome::AlreadyExists => {
            eprintln!(
                "user {} already exists; to change it, use `goalkeeper users import`",
                user.id
            );
            Ok(Exit::Rejected)
        }
    }
}

const IMPORT_SPEC: HeaderSpec = HeaderSpec {
    required: &["user_id", "email"],
    optional: &["display_name", "timezone"],
};

/// Reads and validates every row; returns the users or every problem.
pub fn read_import(input: impl std::io::Read, default_tz: Tz) -> Result<Vec<User>, Problems> {
    let mut problems = Problems::default();
    let mut table = match Table::open(input, &IMPORT_SPEC) {
        Ok(t) => t,
        Err(ps) => {
            problems.extend(ps);
            return Err(problems);
        }
    };
    let mut users = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(row) = table.next_row() {
        let row = match row {
            Ok(r) => r,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let Some(fields) = row.fields::<4>(&mut problems) else {
            continue;
        };
        let input = UserInput {
            id: fields[0],
            email: fields[1],
            display_name: Some(fields[2]),
            timezone: Some(fields[3]),
        };
        match input.validate(default_tz) {
            Ok(user) => {
                if let Some(first) = seen.insert(fields[0].to_owned(), row.line) {
                    problems.push(Problem::field(
                        row.line,
                        row.column(0),
                        fields[0],
                        format!("each user once; it is already on line {first}"),
                    ));
                } else {
                    users.push(user);
                }
            }
            Err(errors) => {
                for (field, e) in errors {
                    let i = match field {
                        UserField::Id => 0,
                        UserField::Email => 1,
                        UserField::DisplayName => 2,
                        UserField::TimeZone => 3,
                    };
                    problems.push(Problem::field(row.line, row.column(i), fields[i], e.to_string()));
                }
            }
        }
    }
    if problems.is_empty() { Ok(users) } else { Err(problems) }
}

async fn import<S: Storage>(store: &S, env: &Env, file: &Path, default_tz: Tz) -> anyhow::Result<Exit> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    match read_import(std::io::BufReader::new(input), default_tz) {
        Ok(users) => {
            let counts = store.upsert_users(&users, env.clock.now()).await?;
            println!(
                "imported {} users from {} ({} created, {} updated)",
                users.len(),
                file.display(),
                counts.created,
                counts.updated
            );
            Ok(Exit::Ok)
        }
        Err(problems) => {
            let (listed, total) = problems.into_listed();
            for p in &listed {
                eprintln!("{}: {p}", file.display());
            }
            if total > listed.len() as u64 {
                eprintln!(
                    "{}: ... and {} more problems",
                    file.display(),
                    total - listed.len() as u64
                );
            }
            eprintln!("{}: nothing imported ({total} problems)", file.display());
            Ok(Exit::Rejected)
        }
    }
}

async fn list<S: Storage>(store: &S, as_json: bool) -> anyhow::Result<Exit> {
    let users = store.list_users().await?;
    if as_json {
        json(&users)?;
    } else {
        let rows: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                vec![
                    u.id.to_string(),
                    u.email.as_ref().map_or("(none)", |e| e.as_str()).to_owned(),
                    u.display_name.clone().unwrap_or_default(),
                    u.timezone.name().to_owned(),
                ]
            })
            .collect();
        print!("{}", table(&["USER", "EMAIL", "NAME", "TIMEZONE"], &rows));
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_lists_every_bad_row_by_line() {
        let text = "user_id,email,display_name,timezone\n\
                    u1,ana@example.org,Ana,Europe/Berlin\n\
                    u2,not-an-email,,\n\
                    u3,c@example.org,,Mars/Base\n\
                    u1,dup@example.org,,\n";
        let (listed, total) = read_import(text.as_bytes(), Tz::UTC).unwrap_err().into_listed();
        let lines: Vec<String> = listed.iter().map(ToString::to_string).collect();
        assert_eq!(total, 3);
        assert_eq!(
            lines,
            [
                "line 3, column 2 (email): found \"not-an-email\"; expected an email address like name@example.org",
                "line 4, column 4 (timezone): found \"Mars/Base\"; expected an IANA time zone name like Europe/Berlin or America/New_York",
                "line 5, column 1 (user_id): found \"u1\"; expected each user once; it is already on line 2",
            ]
        );
    }

    #[test]
    fn empty_optional_fields_take_defaults() {
        let users = read_import("user_id,email\nu1,a@example.org\n".as_bytes(), Tz::Asia__Tokyo).unwrap();
        assert_eq!(users[0].timezone, Tz::Asia__Tokyo);
        assert_eq!(users[0].display_name, None);
    }

    mod arbitrary {
        use super::*;
        use proptest::prelude::*;

        const COLUMNS: [&str; 4] = ["user_id", "email", "display_name", "timezone"];

        /// One CSV line, each field quoted as needed (so any text is one field).
        fn csv_line(fields: &[&str]) -> String {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(fields).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "(?s).{0,40}",
                "[a-z0-9@._ -]{0,20}",
                "[a-zA-Z_/+-]{0,30}",
                ".{1020,1030}",
                Just("\"x@evil.org\"@example.org".to_owned()),
                Just("a@b@example.org".to_owned()),
                Just("=?utf-8?b?RXZlDQpCY2M6IHhAZXZpbC5vcmc=?=".to_owned()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bytes_never_panic_and_every_problem_names_its_line_or_the_file(
                bytes in proptest::collection::vec(any::<u8>(), 0..300),
                header in any::<bool>(),
            ) {
                let mut input = if header { b"user_id,email,display_name,timezone\n".to_vec() } else { Vec::new() };
                input.extend(bytes);
                if let Err(problems) = read_import(input.as_slice(), Tz::UTC) {
                    let (listed, total) = problems.into_listed();
                    prop_assert!(total > 0 && !listed.is_empty());
                    for p in listed {
                        let text = p.to_string();
                        prop_assert!(text.starts_with("line ") || text.starts_with("file: "), "{text}");
                        prop_assert!(text.contains("expected"), "{text}");
                    }
                }
            }

            #[test]
            fn an_arbitrary_value_in_a_column_is_accepted_or_refused_naming_its_line_and_column(
                column in 0usize..4,
                value in value(),
            ) {
                let mut fields = ["u1", "ana@example.org", "Ana", "Europe/Berlin"];
                fields[column] = &value;
                let text = format!("{}{}", csv_line(&COLUMNS), csv_line(&fields));
                match read_import(text.as_bytes(), Tz::UTC) {
                    Ok(users) => prop_assert_eq!(users.len(), 1),
                    Err(problems) => {
                        for p in problems.into_listed().0 {
                            let named = format!("line 2, column {} ({}): ", column + 1, COLUMNS[column]);
                            prop_assert!(p.to_string().starts_with(&named), "{p}");
                        }
                    }
                }
            }
        }
    }
}
