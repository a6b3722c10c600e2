//! `snapshots list | show`.

use super::output::{json, table};
use super::{Env, Exit, operator, refused};
use crate::cli::SnapshotsCommand;
use crate::service::{Caller, Service};
use crate::storage::{AlertStorage, Storage};

pub async fn run(env: &Env, cmd: SnapshotsCommand) -> anyhow::Result<Exit> {
    crate::with_storage!(&env.settings.database.url, |store| {
        super::open(&store).await?;
        let svc = super::goals::service(&store, env);
        let exit = match cmd {
            SnapshotsCommand::List { user, json } => list(&svc, user.as_deref(), json.json).await,
            SnapshotsCommand::Show { user, period, json } => show(&svc, &user, &period, json.json).await,
        };
        store.close().await;
        exit
    })
}

async fn list<S: AlertStorage>(svc: &Service<S>, user: Option<&str>, as_json: bool) -> anyhow::Result<Exit> {
    let rows = match svc.snapshots(&operator(user)).await {
        Ok(rows) => rows,
        Err(e) => return refused(e, |what, id| format!("no {what} {id:?}")),
    };
    if as_json {
        json(&rows)?;
    } else {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.user_id.to_string(),
                    r.period.to_string(),
                    format!("{}{}", r.version, if r.is_current { "" } else { " (superseded)" }),
                    r.total_income.grouped(),
                    r.total_expenses.grouped(),
                    r.net_worth.grouped(),
                    r.line_count.to_string(),
                    r.file_name.clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &[
                    "USER",
                    "PERIOD",
                    "VERSION",
                    "INCOME",
                    "EXPENSES",
                    "NET WORTH",
                    "LINES",
                    "FILE"
                ],
                &cells
            )
        );
    }
    Ok(Exit::Ok)
}

async fn show<S: AlertStorage>(svc: &Service<S>, user: &str, period: &str, as_json: bool) -> anyhow::Result<Exit> {
    let snap = match svc.snapshot(&Caller::OPERATOR, user, period).await {
        Ok(snap) => snap,
        Err(crate::service::Error::Invalid(fields)) => {
            for f in fields {
                eprintln!("PERIOD: {}", f.message);
            }
            return Ok(Exit::Rejected);
        }
        Err(e) => return refused(e, |_, _| format!("no snapshot stored for user {user} in {period}")),
    };
    if as_json {
        json(&snap)?;
        return Ok(Exit::Ok);
    }
    let s = &snap.summary;
    println!(
        "Snapshot of {} for {} (version {} of {}, from {})",
        snap.row.user_id, snap.row.period, snap.row.version, snap.versions, snap.row.file_name
    );
    let rate = s
        .savings_rate
        .map_or_else(|| "n/a (no income)".to_owned(), |r| format!("{:.1} %", r * 100.0));
    let totals = [
        ("Total income", s.total_income.grouped()),
        ("Total expenses", s.total_expenses.grouped()),
        ("Surplus", s.surplus.grouped()),
        ("Savings rate", rate),
        ("Total debt", s.total_debt.grouped()),
        ("Net worth", s.net_worth.grouped()),
    ];
    for (label, value) in totals {
        println!("  {label:<15} {value:>16}");
    }
    println!("\nBy category:");
    let cats: Vec<Vec<String>> = s
        .by_category
        .iter()
        .map(|c| vec![c.kind.to_string(), c.category.clone(), c.total.grouped()])
        .collect();
    print!("{}", indent(&table(&["KIND", "CATEGORY", "TOTAL"], &cats)));
    println!("\nBy account:");
    let accounts: Vec<Vec<String>> = s
        .by_account
        .iter()
        .map(|l| {
            vec![
                l.account.clone().unwrap_or_default(),
                l.kind.to_string(),
                l.category.clone(),
                l.amount.grouped(),
                l.rate.map(|r| format!("{r} %")).unwrap_or_default(),
                l.min_payment.map(|m| m.grouped()).unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        indent(&table(
            &["ACCOUNT", "KIND", "CATEGORY", "BALANCE", "RATE", "MIN PAYMENT"],
            &accounts
        ))
    );
    Ok(Exit::Ok)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
