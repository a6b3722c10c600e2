//! `--run-once`: process the inbox, run the time-based alert pass, send the
//! emails that are due, and exit.

use super::{Env, Exit};
use crate::inbox::InboxRun;
use crate::storage::{AlertStorage, Storage};

pub async fn run(env: &Env) -> anyhow::Result<Exit> {
    let problems = env.settings.validate();
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration: {}", problems.join("; "));
    }
    let default_tz = env.settings.default_timezone()?;
    crate::with_storage!(&env.settings.database.url, |store| {
        let outcome = process(&store, env, default_tz).await;
        store.close().await;
        outcome
    })
}

async fn process<S: AlertStorage>(store: &S, env: &Env, default_tz: chrono_tz::Tz) -> anyhow::Result<Exit> {
    super::open(store).await?;
    let run = InboxRun {
        settings: &env.settings.inbox,
        default_tz,
        now: env.clock.now(),
        base_url: &env.settings.email.base_url,
    };
    let summary = run.process(store).await?;
    println!("{summary}");
    if summary.progress_entries > 0 || summary.goals_completed > 0 {
        println!(
            "goals: {} progress entries, {} goals completed, {} alerts",
            summary.progress_entries, summary.goals_completed, summary.alerts
        );
    }
    let now = env.clock.now();
    let mut alerter = crate::goals::Alerter::new(&env.settings.email.base_url);
    let pass = crate::evaluate::time_pass(store, &mut alerter, now).await?;
    if pass.new_alerts > 0 {
        println!("reminders and deadlines: {} new alerts", pass.new_alerts);
    }
    let sent = crate::email::dispatch(store, &env.settings.email, now).await?;
    println!("{sent}");
    if summary.failed > 0 {
        eprintln!(
            "{} file(s) rejected: see the .errors.txt files in {}",
            summary.failed,
            env.settings.inbox.failed_dir.display()
        );
        Ok(Exit::Rejected)
    } else {
        Ok(Exit::Ok)
    }
}
