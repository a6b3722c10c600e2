//! The HTTP surface (axum + tower-http), served on `[http] listen`:
//!
//! - [`ops`]: `GET /healthz` and `GET /metrics` for operators (no token).
//! - The API under `/api/v1/` when `[api] enabled` (see `docs/api.md`), one router per resource,
//!   each handler a few lines over [`crate::service`]:
//!   - [`goals`]: goals, status changes, progress, the summary, the dashboard, templates;
//!   - [`alerts`]: alerts and alert preferences;
//!   - [`snapshots`]: the caller's stored snapshots (read-only);
//!   - [`users`]: the users an admin token may act for.
//! - [`extract`]: the state ([`extract::Api`]), the authenticated caller ([`extract::AuthUser`],
//!   the bearer-token check in one place), JSON bodies and query strings that name the field at fault.
//! - [`error`]: one [`error::Error`] that becomes every `application/problem+json` response.
//! - [`types`]: the JSON in and out, with their OpenAPI schemas; [`openapi`]: the OpenAPI 3.1
//!   document generated from the handlers (`GET /api/v1/openapi.json`).
//!
//! Every API request has a 64 KiB body limit, a timeout and one trace span (method, route, status,
//! duration; never bodies, headers or tokens).

pub mod alerts;
pub mod error;
pub mod extract;
pub mod goals;
pub mod openapi;
pub mod ops;
pub mod snapshots;
pub mod types;
pub mod users;

pub use ops::{AlertTotals, DatabaseCheck, Probe, router};

use crate::storage::{AlertStorage, TokenStorage};
use axum::Router;
use axum::extract::{MatchedPath, Request};
use std::time::Duration;
use tower_http::trace::TraceLayer;

/// The most a request body may have.
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The API's routes (method, path), as the router serves them and the OpenAPI document lists them.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/goals"),
    ("get", "/api/v1/goals"),
    ("get", "/api/v1/goals/{id}"),
    ("patch", "/api/v1/goals/{id}"),
    ("delete", "/api/v1/goals/{id}"),
    ("post", "/api/v1/goals/{id}/pause"),
    ("post", "/api/v1/goals/{id}/resume"),
    ("post", "/api/v1/goals/{id}/complete"),
    ("post", "/api/v1/goals/{id}/abandon"),
    ("post", "/api/v1/goals/{id}/progress"),
    ("get", "/api/v1/goals/{id}/progress"),
    ("get", "/api/v1/goals/{id}/progress/summary"),
    ("post", "/api/v1/goals/sync-from-budget"),
    ("get", "/api/v1/goals/dashboard"),
    ("get", "/api/v1/goals/templates"),
    ("get", "/api/v1/goals/templates/{id}"),
    ("post", "/api/v1/goals/from-template"),
    ("get", "/api/v1/alerts"),
    ("patch", "/api/v1/alerts/{id}/read"),
    ("get", "/api/v1/alerts/preferences"),
    ("patch", "/api/v1/alerts/preferences"),
    ("get", "/api/v1/snapshots"),
    ("get", "/api/v1/snapshots/{period}"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/openapi.json"),
];

/// The API under `/api/v1`, with its layers.
pub fn api<S: AlertStorage + TokenStorage>(state: extract::Api<S>) -> Router {
    let routes = Router::new()
        .merge(goals::router::<S>())
        .merge(alerts::router::<S>())
        .merge(snapshots::router::<S>())
        .merge(users::router::<S>())
        .route("/openapi.json", axum::routing::get(openapi::document))
        .fallback(|| async { error::Error::NoRoute })
        .with_state(state);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("(no route)", MatchedPath::as_str)
                .to_owned();
            tracing::info_span!("api", method = %req.method(), route = %route, status = tracing::field::Empty)
        })
        .on_request(())
        .on_response(
            |res: &axum::response::Response, latency: Duration, span: &tracing::Span| {
                span.record("status", res.status().as_u16());
                tracing::info!(
                    status = res.status().as_u16(),
                    ms = latency.as_secs_f64() * 1000.0,
                    "request"
                );
            },
        )
        .on_failure(());
    // The last layer added is the outermost: trace sees the final response, problem documents
    // replace the bare 408 and 413 of the layers inside it.
    Router::new()
        .nest("/api/v1", routes)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::map_response(error::as_problem))
        .layer(trace)
}

/// Serves `app` on `listener` (with the client's address for the limiter) until `shutdown`
/// resolves; requests in flight are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
