//! The web pages people sign in to (issue 15), served beside the API on `[http] listen`,
//! server-rendered and usable without JavaScript. Handlers are a few lines over
//! [`crate::service`]: a signed-in person is a [`crate::service::Caller::User`], so the one access
//! check ([`crate::service::Caller::owns`]) is the API's. Choices are described in `docs/web.md`.
//!
//! - [`secret`]: random link tokens and session ids, their hashes, constant-time comparison,
//!   CSRF tokens derived from them.
//! - [`session`]: login links (15 minutes, single use) and sessions (idle and absolute expiry,
//!   revocation) over [`crate::storage::WebStorage`].
//! - [`throttle`]: the sign-in rate limit per email address and per client.
//! - [`request`]: what handlers take from a request: the signed-in person ([`request::SignedIn`]),
//!   forms checked for their CSRF token ([`request::SessionForm`], [`request::GuestForm`]),
//!   cookies and their flags.
//! - [`mail`]: the sign-in email, sent straight through the configured transport.
//! - [`render`]: the templates (`templates/web/`, HTML auto-escaped) and the stylesheet.
//! - [`svg`]: the progress ring, drawn on the server (pure geometry).
//! - [`pages`]: one module per page: [`pages::login`], [`pages::dashboard`].

pub mod mail;
pub mod pages;
pub mod render;
pub mod request;
pub mod secret;
pub mod session;
pub mod svg;
pub mod throttle;

use crate::clock::Clock;
use crate::service::Service;
use crate::storage::{AlertStorage, WebStorage};
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// The pages' state.
#[derive(Clone)]
pub struct Web<S> {
    pub service: Service<S>,
    pub clock: Clock,
    /// `Secure` on cookies: unless the server listens on a loopback address.
    pub secure_cookies: bool,
    /// Where sign-in links point (`[http] base_url`, see [`crate::config::Settings::web_base_url`]).
    pub base_url: Arc<str>,
    /// `None` when the configured transport could not be built (sign-in emails then fail, logged).
    pub mailer: Option<Arc<mail::Mailer>>,
    pub throttle: Arc<throttle::Throttle>,
}

impl<S> Web<S> {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// The pages' routes, with their security headers.
pub fn router<S: AlertStorage + WebStorage>(state: Web<S>) -> Router {
    Router::new()
        .route("/", get(pages::dashboard::page::<S>))
        .route("/alerts/{id}/read", post(pages::dashboard::mark_read::<S>))
        .route("/login", get(pages::login::form::<S>).post(pages::login::send::<S>))
        .route(
            "/login/link",
            get(pages::login::link::<S>).post(pages::login::redeem::<S>),
        )
        .route("/logout", post(pages::login::logout::<S>))
        .route("/static/web.css", get(render::stylesheet))
        .with_state(state)
        .layer(axum::middleware::map_response(request::security_headers))
}
