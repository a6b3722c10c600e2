//! What each command does: load settings, open storage, call the core, print.
//! Exit statuses: 0 success, 1 input rejected (a failed inbox file, a bad
//! import row), 2 operational error (configuration, database, file system).

mod alerts;
mod backup;
mod config_cmd;
mod daemon;
mod demo;
mod goals;
mod goals_import;
mod output;
mod run_once;
mod snapshots;
mod status;
mod tokens;
mod users;

use crate::cli::{Cli, Command};
use crate::clock::Clock;
use crate::config::{self, Settings};
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    /// The input was refused (exit 1).
    Rejected,
}

/// What every command gets: settings and the clock.
pub struct Env {
    pub settings: Settings,
    pub config_file: Option<std::path::PathBuf>,
    pub clock: Clock,
}

/// Runs the command line and returns the process exit status.
pub fn dispatch(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Work abandoned at a daemon's shutdown timeout must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::Rejected) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let command = match (cli.command, cli.run_once) {
        (Some(c), _) => c,
        (None, true) => Command::RunOnce,
        (None, false) => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            anyhow::bail!("no command given: use --run-once or one of the commands above");
        }
    };
    if let Command::DefaultConfig = command {
        print!("{}", config::EXAMPLE_TOML);
        return Ok(Exit::Ok);
    }
    let loaded = config::load(cli.config.as_deref())?;
    // Logging as configured; the demo, which prints its own story, only warns.
    let format = cli.log_format.unwrap_or(loaded.settings.log.format);
    let level = if matches!(command, Command::Demo { .. }) {
        "warn"
    } else {
        loaded.settings.log.level.as_str()
    };
    crate::telemetry::init(format, level);
    if cli.dry_run && !matches!(command, Command::RunOnce) {
        anyhow::bail!("--dry-run only applies to --run-once (or run-once)");
    }
    if let Command::Demo { dir, fixtures } = &command {
        // The demo keeps its own database, inbox and clock; [email] comes
        // from the configuration (a file transport writes into the demo folder).
        return demo::run(dir, fixtures, loaded.settings).await;
    }
    let env = Env {
        settings: loaded.settings,
        config_file: loaded.file,
        clock: cli.now.map_or(Clock::System, Clock::Fixed),
    };
    match command {
        Command::CheckConfig => config_cmd::check(&env),
        Command::DefaultConfig | Command::Demo { .. } => Ok(Exit::Ok),
        Command::Migrate => {
            crate::with_storage!(&env.settings.database.url, |store| open(&store).await.map(|()| {
                println!("migrations applied ({:?})", crate::storage::Storage::backend(&store));
                Exit::Ok
            }))
        }
        Command::Backup { file } => backup::run(&env, &file).await,
        Command::RunOnce if cli.dry_run => run_once::dry_run(&env).await,
        Command::RunOnce => run_once::run(&env).await,
        Command::Daemon => daemon::run(&env).await,
        Command::Serve => daemon::run_serve(&env).await,
        Command::Status(json) => status::run(&env, json.json).await,
        Command::Users(cmd) => users::run(&env, cmd).await,
        Command::Snapshots(cmd) => snapshots::run(&env, cmd).await,
        Command::Goals(cmd) => goals::run_goals(&env, cmd).await,
        Command::Progress(cmd) => goals::run_progress(&env, cmd).await,
        Command::Templates(cmd) => goals::run_templates(cmd),
        Command::Prefs(cmd) => alerts::run_prefs(&env, cmd).await,
        Command::Alerts(cmd) => alerts::run_alerts(&env, cmd).await,
        Command::Tokens(cmd) => tokens::run(&env, cmd).await,
        Command::Dashboard { user, json } => goals::run_dashboard(&env, user, json.json).await,
    }
}

/// Applies migrations: every command that touches the database calls this first.
async fn open<S: crate::storage::Storage>(store: &S) -> anyhow::Result<()> {
    store.migrate().await
}

/// The operator's view through the service layer: the CLI acts for everyone, or for `--user`.
fn operator(user: Option<&str>) -> crate::service::Caller {
    crate::service::Caller::Admin {
        acting_for: user.map(|u| crate::domain::UserId::from_trusted(u.to_owned())),
    }
}

/// The flag a service field is given with, or `None` when its message stands alone.
fn flag_of(field: &str) -> Option<String> {
    Some(match field {
        "target_value" => "--target".to_owned(),
        "links.accounts" => "--account".to_owned(),
        "links.categories" => "--category".to_owned(),
        "reminder_day" => "reminder day".to_owned(),
        f if f.starts_with("params.") || f == "template" => return None,
        f => format!("--{}", f.replace('_', "-")),
    })
}

/// Prints why the service refused a call (exit 1); a database or other operational failure stays an
/// error (exit 2). `not_found` words a missing object for this command.
fn refused(e: crate::service::Error, not_found: impl FnOnce(&str, &str) -> String) -> anyhow::Result<Exit> {
    use crate::service::Error;
    match e {
        Error::Internal(e) => return Err(e),
        Error::NotFound { what, id } => eprintln!("{}", not_found(what, &id)),
        Error::Invalid(fields) => {
            for f in fields {
                match flag_of(&f.field) {
                    Some(flag) => eprintln!("{flag}: {}", f.message),
                    None => eprintln!("{}", f.message),
                }
            }
        }
        other => eprintln!("{other}"),
    }
    Ok(Exit::Rejected)
}
