//! The optional HTTP surface for operators (`[http] listen`): `GET /healthz`
//! and `GET /metrics`. Nothing else is served; it binds where it is told
//! (loopback by default in the example configuration).
//!
//! `/healthz` answers 200 when the database answers and the last inbox poll
//! is recent (within three poll intervals plus a minute), else 503; the JSON
//! body says which check failed and why.

use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

/// Asks the database a trivial question; `Err` says why it could not answer.
pub type DatabaseCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What the health check reads; the daemon updates it.
pub struct Health {
    /// When the inbox was last polled successfully.
    pub last_inbox_poll: Mutex<Option<DateTime<Utc>>>,
    /// The poll interval; `None` when polling is disabled (then not checked).
    pub poll_interval: Option<TimeDelta>,
}

impl Health {
    pub fn new(poll_interval: Option<TimeDelta>) -> Health {
        Health {
            last_inbox_poll: Mutex::new(None),
            poll_interval,
        }
    }

    pub fn inbox_polled(&self, at: DateTime<Utc>) {
        *self.last_inbox_poll.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    /// Why the inbox check fails at `now`, if it does.
    fn inbox_problem(&self, now: DateTime<Utc>) -> Option<String> {
        let interval = self.poll_interval?;
        let last = *self.last_inbox_poll.lock().unwrap_or_else(PoisonError::into_inner);
        let allowed = interval * 3 + TimeDelta::minutes(1);
        match last {
            None => Some("the inbox has not been polled yet".to_owned()),
            Some(at) if now - at > allowed => Some(format!(
                "the last inbox poll was at {} ({}s ago; expected within {}s)",
                at.to_rfc3339(),
                (now - at).num_seconds(),
                allowed.num_seconds()
            )),
            Some(_) => None,
        }
    }
}

#[derive(Clone)]
struct AppState {
    health: Arc<Health>,
    metrics: Metrics,
    database: DatabaseCheck,
}

/// The router; see [`serve`].
pub fn router(health: Arc<Health>, metrics: Metrics, database: DatabaseCheck) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(AppState {
            health,
            metrics,
            database,
        })
}

async fn healthz(State(state): State<AppState>) -> Response {
    let database = (state.database)().await;
    let inbox = state.health.inbox_problem(Utc::now());
    let healthy = database.is_ok() && inbox.is_none();
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "checks": {
            "database": match &database { Ok(()) => "ok".to_owned(), Err(e) => e.clone() },
            "inbox": inbox.clone().unwrap_or_else(|| "ok".to_owned()),
        },
    });
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Serves on `listen` until `shutdown` completes.
pub async fn serve(
    listen: &str,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen: cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, "serving /healthz and /metrics");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("the HTTP server stopped: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_text(port: u16, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    fn check(ok: bool) -> DatabaseCheck {
        Arc::new(move || {
            Box::pin(async move {
                if ok {
                    Ok(())
                } else {
                    Err("connection refused".to_owned())
                }
            })
        })
    }

    async fn start(health: Arc<Health>, ok: bool) -> (u16, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let metrics = Metrics::new();
        metrics.job("inbox", true, 1.0, 0.5);
        let app = router(health, metrics, check(ok));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        (port, tx)
    }

    #[tokio::test]
    async fn healthz_is_200_when_the_database_answers_and_the_inbox_was_polled_recently() {
        let health = Arc::new(Health::new(Some(TimeDelta::seconds(30))));
        health.inbox_polled(Utc::now());
        let (port, _stop) = start(health, true).await;
        let reply = get_text(port, "/healthz").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("\"status\":\"ok\""), "{reply}");
    }

    #[tokio::test]
    async fn healthz_is_503_and_says_why_when_the_database_fails_or_the_inbox_is_stale() {
        let health = Arc::new(Health::new(Some(TimeDelta::seconds(30))));
        health.inbox_polled(Utc::now() - TimeDelta::minutes(10));
        let (port, _stop) = start(health, false).await;
        let reply = get_text(port, "/healthz").await;
        assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
        assert!(reply.contains("connection refused"), "{reply}");
        assert!(reply.contains("the last inbox poll was at"), "{reply}");
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_prometheus_text_format() {
        let (port, _stop) = start(Arc::new(Health::new(None)), true).await;
        let reply = get_text(port, "/metrics").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("goalkeeper_job_runs_total{job=\"inbox\"} 1"), "{reply}");
        let missing = get_text(port, "/nothing").await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    }
}
