//! The operators' endpoints (`[http] listen`): `GET /healthz`
//! and `GET /metrics`. It binds where it is told
//! (loopback by default in the example configuration).
//!
//! `/healthz` answers 200 when the database answers and the last successful
//! inbox poll is recent (within three poll intervals plus a minute), else 503;
//! the JSON body says which check failed and why. `/metrics` renders the
//! daemon's counters ([`crate::metrics`]) with the stored alerts by type.

use crate::daemon::State;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Asks the database a trivial question; `Err` says why it could not answer.
pub type DatabaseCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;
/// Reads how many alerts are stored, by type.
pub type AlertTotals =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<(String, i64)>, String>> + Send>> + Send + Sync>;

/// What the endpoints read: the daemon's state (its runs and metrics), how
/// often the inbox should be polled, and two questions for the database.
#[derive(Clone)]
pub struct Probe {
    pub state: Arc<State>,
    /// `None` when inbox polling is disabled (then its recency is not checked).
    pub poll_interval: Option<TimeDelta>,
    pub database: DatabaseCheck,
    pub alert_totals: AlertTotals,
}

impl Probe {
    /// Why the inbox check fails at `now`, if it does: the last successful
    /// poll must be within three intervals plus a minute.
    fn inbox_problem(&self, now: DateTime<Utc>) -> Option<String> {
        let interval = self.poll_interval?;
        let last = self.state.job("inbox").last_success;
        let allowed = interval * 3 + TimeDelta::minutes(1);
        match last {
            None => Some("the inbox has not been polled successfully yet".to_owned()),
            Some(at) if now - at > allowed => Some(format!(
                "the last successful inbox poll was at {} ({}s ago; expected within {}s)",
                at.to_rfc3339(),
                (now - at).num_seconds(),
                allowed.num_seconds()
            )),
            Some(_) => None,
        }
    }
}

/// The router; see [`serve`].
pub fn router(probe: Probe) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(probe)
}

async fn healthz(AxState(probe): AxState<Probe>) -> Response {
    let database = (probe.database)().await;
    let inbox = probe.inbox_problem(Utc::now());
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

async fn metrics_text(AxState(probe): AxState<Probe>) -> Response {
    match (probe.alert_totals)().await {
        Ok(totals) => probe.state.metrics.alert_totals(&totals),
        Err(e) => tracing::warn!(error = %e, "reading alert counts for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        probe.state.metrics.render(),
    )
        .into_response()
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

    fn probe(state: Arc<State>, ok: bool) -> Probe {
        Probe {
            state,
            poll_interval: Some(TimeDelta::seconds(30)),
            database: Arc::new(move || {
                Box::pin(async move {
                    if ok {
                        Ok(())
                    } else {
                        Err("connection refused".to_owned())
                    }
                })
            }),
            alert_totals: Arc::new(|| Box::pin(async { Ok(vec![("milestone_50".to_owned(), 2)]) })),
        }
    }

    async fn start(probe: Probe) -> (u16, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = router(probe);
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
        let state = Arc::new(State::new(Utc::now()));
        state.inbox_succeeded_for_tests(Utc::now());
        let (port, _stop) = start(probe(state, true)).await;
        let reply = get_text(port, "/healthz").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("\"status\":\"ok\""), "{reply}");
    }

    #[tokio::test]
    async fn healthz_is_503_and_says_why_when_the_database_fails_or_the_inbox_is_stale() {
        let state = Arc::new(State::new(Utc::now()));
        state.inbox_succeeded_for_tests(Utc::now() - TimeDelta::minutes(10));
        let (port, _stop) = start(probe(state, false)).await;
        let reply = get_text(port, "/healthz").await;
        assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
        assert!(reply.contains("connection refused"), "{reply}");
        assert!(reply.contains("the last successful inbox poll was at"), "{reply}");
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_prometheus_text_format() {
        let state = Arc::new(State::new(Utc::now()));
        state.inbox_succeeded_for_tests(Utc::now());
        let (port, _stop) = start(probe(state, true)).await;
        let reply = get_text(port, "/metrics").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("goalkeeper_job_runs_total{job=\"inbox\"} 1"), "{reply}");
        assert!(
            reply.contains("goalkeeper_alerts_stored{type=\"milestone_50\"} 2"),
            "{reply}"
        );
        let missing = get_text(port, "/nothing").await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    }
}
