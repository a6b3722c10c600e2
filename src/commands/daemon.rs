//! `goalkeeper daemon`: validate, migrate, then run the jobs until SIGTERM or SIGINT (exit 0). A second
//! SIGTERM or SIGINT during the graceful shutdown exits at once (exit 0), as after a crash.

use super::{Env, Exit};
use crate::daemon::State;
use crate::jobs::JobContext;
use crate::storage::{AlertStorage, JobStorage, Storage, TokenStorage, WebStorage};
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
    let signals = Signals::listen()?;
    crate::with_storage!(&env.settings.database.url, |store| {
        let outcome = serve(store.clone(), env, clock, signals).await;
        store.close().await;
        outcome
    })
}

async fn serve<S: AlertStorage + JobStorage + TokenStorage + WebStorage>(
    store: S,
    env: &Env,
    clock: crate::clock::Clock,
    signals: Signals,
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
        listen => Some(start_http(listen, ctx.store.clone(), state.clone(), env, clock, true).await?),
    };
    let outcome = crate::daemon::run(ctx, state, signals.first(), signals.second()).await;
    if let Ok(crate::daemon::Stopped::Forced) = outcome {
        // At once, without closing anything: closing the pool would wait for the abandoned
        // transaction. The database rolls it back as after a crash (PostgreSQL when the connection
        // drops, SQLite from its journal at the next open).
        std::process::exit(0);
    }
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

/// `goalkeeper serve`: the API, `/healthz` and `/metrics` alone, no jobs (a read-mostly replica),
/// until SIGTERM or SIGINT.
pub async fn run_serve(env: &Env) -> anyhow::Result<Exit> {
    let clock = env.clock.running();
    let problems = env.settings.validate_at(clock.now());
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration: {}", problems.join("; "));
    }
    if env.settings.http.listen.is_empty() {
        anyhow::bail!("http.listen: expected HOST:PORT to serve on (goalkeeper serve has nothing else to do)");
    }
    let signals = Signals::listen()?;
    let shutdown = signals.first();
    crate::with_storage!(&env.settings.database.url, |store| {
        let outcome = async {
            super::open(&store).await?;
            let state = Arc::new(State::new(clock.now()));
            let (stop, server) = start_http(&env.settings.http.listen, store.clone(), state, env, clock, false).await?;
            notify_ready();
            shutdown.await;
            let _ = stop.send(());
            match tokio::time::timeout(std::time::Duration::from_secs(5), server).await {
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
                Err(_) => tracing::warn!("the HTTP server did not stop within 5 s"),
                _ => {}
            }
            anyhow::Ok(Exit::Ok)
        }
        .await;
        store.close().await;
        outcome
    })
}

fn notify_ready() {
    crate::daemon::notify::ready("serving HTTP");
}

/// Binds `[http] listen` (an error if it cannot, before the daemon reports
/// ready) and serves `/healthz`, `/metrics` and (with `[api] enabled`) the API
/// until told to stop. `jobs`: whether this process polls the inbox (else
/// `/healthz` does not check the inbox's recency).
async fn start_http<S: AlertStorage + TokenStorage + WebStorage>(
    listen: &str,
    store: S,
    state: Arc<State>,
    env: &Env,
    clock: crate::clock::Clock,
    jobs: bool,
) -> anyhow::Result<(tokio::sync::oneshot::Sender<()>, HttpTask)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen: cannot listen on {listen}: {e}"))?;
    let ping = store.clone();
    let counts = store.clone();
    let poll = if jobs {
        env.settings.schedule.inbox_poll_seconds
    } else {
        0
    };
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
    let mut app = crate::http::router(probe);
    let last_used = crate::auth::LastUsed::new();
    let flush_store = store.clone();
    if env.settings.api.enabled {
        app = app.merge(crate::web::router(web_state(store.clone(), env, clock, listen)));
        let api = crate::http::extract::Api {
            service: crate::service::Service::new(store, &env.settings.email.base_url),
            clock,
            limiter: crate::auth::SharedLimiter::default(),
            last_used: last_used.clone(),
        };
        app = app.merge(crate::http::api(api));
        tracing::info!(%listen, "serving /healthz, /metrics, the API under /api/v1/ and the web pages");
    } else {
        tracing::info!(%listen, "serving /healthz and /metrics (api.enabled = false)");
    }
    let server = tokio::spawn(async move {
        // Tokens' last uses are written every few seconds beside the server, and once more after
        // the last request in flight has been answered.
        let (served, done) = tokio::sync::oneshot::channel::<()>();
        let flusher = tokio::spawn(
            last_used.run(flush_store, crate::auth::last_used::FLUSH_EVERY, async move {
                let _ = done.await;
            }),
        );
        let outcome = crate::http::serve(listener, app, async move {
            let _ = stopped.await;
        })
        .await;
        let _ = served.send(());
        if let Err(e) = flusher.await {
            tracing::warn!(error = %e, "recording API tokens' last use stopped abnormally");
        }
        outcome.map_err(|e| anyhow::anyhow!("the HTTP server stopped: {e}"))
    });
    Ok((stop, server))
}

/// The web pages' state: cookies `Secure` unless `listen` is a loopback address; sign-in emails
/// through the configured transport (if it cannot be built, sign-in emails fail and say so in the
/// log, and the rest is served).
fn web_state<S: AlertStorage>(store: S, env: &Env, clock: crate::clock::Clock, listen: &str) -> crate::web::Web<S> {
    let loopback = listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    let mailer = match crate::web::mail::Mailer::from_settings(&env.settings.email) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "sign-in emails cannot be sent");
            None
        }
    };
    crate::web::Web {
        service: crate::service::Service::new(store, &env.settings.email.base_url),
        clock,
        secure_cookies: !loopback,
        base_url: env.settings.web_base_url().unwrap_or_default().into(),
        mailer,
        throttle: Arc::default(),
    }
}

/// SIGTERM and SIGINT, in the order they arrive: the first asks for a graceful shutdown, the
/// second forces it.
struct Signals {
    received: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<&'static str>>>,
}

impl Signals {
    /// Installs the handlers (from here on a signal no longer kills the process).
    fn listen() -> anyhow::Result<Signals> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    Some(()) = term.recv() => "SIGTERM",
                    Some(()) = int.recv() => "SIGINT",
                    else => break,
                };
                if tx.send(name).is_err() {
                    break;
                }
            }
        });
        Ok(Signals {
            received: Arc::new(tokio::sync::Mutex::new(rx)),
        })
    }

    /// Resolves at the first signal.
    fn first(&self) -> impl Future<Output = ()> + use<> {
        let received = self.received.clone();
        async move {
            if let Some(name) = received.lock().await.recv().await {
                tracing::info!("{name} received: shutting down gracefully (send it again to exit at once)");
            }
        }
    }

    /// Resolves at the signal after the first (only awaited once the first has come).
    fn second(&self) -> impl Future<Output = ()> + use<> {
        let received = self.received.clone();
        async move {
            match received.lock().await.recv().await {
                Some(name) => tracing::warn!("{name} received again: exiting at once"),
                None => std::future::pending().await,
            }
        }
    }
}
