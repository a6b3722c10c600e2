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
    let http = match env.settings.http.listen.as_str() {
        "" => None,
        listen => Some(start_http(listen, ctx.store.clone(), state.clone(), env).await?),
    };
    let outcome = crate::daemon::run(ctx, state, shutdown).await;
    if let Some((stop, server)) = http {
        let _ = stop.send(());
        match tokio::time::timeout(std::time::Duration::from_secs(5), server).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
            Err(_) => tracing::warn!("the HTTP server did not stop within 5 s"),
            _ => {}
        }
    }
    outcome?;
    Ok(Exit::Ok)
}

type HttpTask = tokio::task::JoinHandle<anyhow::Result<()>>;

/// Binds `[http] listen` (an error if it cannot, before the daemon reports
/// ready) and serves `/healthz` and `/metrics` until told to stop.
async fn start_http<S: AlertStorage>(
    listen: &str,
    store: S,
    state: Arc<State>,
    env: &Env,
) -> anyhow::Result<(tokio::sync::oneshot::Sender<()>, HttpTask)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen: cannot listen on {listen}: {e}"))?;
    let ping = store.clone();
    let counts = store;
    let poll = env.settings.schedule.inbox_poll_seconds;
    let probe = crate::http::Probe {
        state,
        poll_interval: (poll > 0).then(|| chrono::TimeDelta::seconds(i64::try_from(poll).unwrap_or(i64::MAX))),
        database: Arc::new(move || {
            let store = ping.clone();
            Box::pin(async move {
                // One indexed lookup: a real round trip that reads nothing much.
                store
                    .known_user_ids(&["-"])
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}"))
            })
        }),
        alert_totals: Arc::new(move || {
            let store = counts.clone();
            Box::pin(async move { store.alert_counts().await.map_err(|e| format!("{e:#}")) })
        }),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tracing::info!(%listen, "serving /healthz and /metrics");
    let server = tokio::spawn(async move {
        axum::serve(listener, crate::http::router(probe))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| anyhow::anyhow!("the HTTP server stopped: {e}"))
    });
    Ok((stop, server))
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
