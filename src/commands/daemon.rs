//! `goalkeeper daemon`: validate, migrate, then run the jobs until SIGTERM or SIGINT (exit 0).

use super::{Env, Exit};
use crate::daemon::State;
use crate::jobs::JobContext;
use crate::storage::{AlertStorage, JobStorage, Storage};
use std::future::Future;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};

pub async fn run(env: &Env) -> anyhow::Result<Exit> {
    // `--now` starts the daemon's clock at that instant; it then runs.
    let clock = env.clock.running();
    let problems = env.settings.validate_at(clock.now());
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration: {}", problems.join("; "));
    }
    // Handlers first: from here on a SIGTERM asks for a clean stop instead of killing the process.
    let shutdown = shutdown_signal()?;
    crate::with_storage!(&env.settings.database.url, |store| {
        let outcome = serve(store.clone(), env, clock, shutdown).await;
        store.close().await;
        outcome
    })
}

async fn serve<S: AlertStorage + JobStorage>(
    store: S,
    env: &Env,
    clock: crate::clock::Clock,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Exit> {
    super::open(&store).await?;
    let ctx = JobContext::new(store, Arc::new(env.settings.clone()), clock)?;
    let state = Arc::new(State::new(clock.now()));
    tracing::info!(
        backend = ?ctx.store.backend(),
        inbox = %env.settings.inbox.dir.display(),
        "goalkeeper daemon starting"
    );
    crate::daemon::run(ctx, state, shutdown).await?;
    Ok(Exit::Ok)
}

/// Resolves at the first SIGTERM or SIGINT.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}
