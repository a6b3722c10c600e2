//! What the pages take from a request and add to a response: the signed-in person, forms whose
//! CSRF token has been checked, the client's address, cookies with their flags, security headers.

use super::{Web, render, secret, session};
use crate::domain::UserId;
use crate::service::Caller;
use crate::storage::{AlertStorage, WebStorage};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The session cookie: a session id (see [`session`]).
pub const SESSION_COOKIE: &str = "gk_session";
/// Before sign-in: a random secret whose derived token the sign-in forms carry (double submit).
pub const SIGNIN_COOKIE: &str = "gk_signin";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` when asked;
/// `max_age` seconds (0 deletes the cookie).
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The client's IP address (for the rate limit).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The person a live session cookie stands for. Without one, a page answers with a redirect to
/// `/login`.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserId,
    /// What the service layer checks every object against: this user only.
    pub caller: Caller,
    /// The session id, to sign out.
    pub session: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl<S: AlertStorage + WebStorage> FromRequestParts<Web<S>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web<S>) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/login").into_response());
        };
        match session::authenticate(&web.service.store, &id, web.now()).await {
            Ok(Some(user)) => Ok(SignedIn {
                caller: Caller::User(user.clone()),
                user,
                csrf: secret::csrf_token(&id),
                session: id,
            }),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(render::internal(&e)),
        }
    }
}

/// The sign-in forms' CSRF token, from the sign-in cookie, and the cookie to set when the browser
/// has none yet.
pub struct Guest {
    pub csrf: String,
    pub set_cookie: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<Web<S>> for Guest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web<S>) -> Result<Self, Self::Rejection> {
        if let Some(s) = cookie(&parts.headers, SIGNIN_COOKIE).filter(|s| secret::well_formed(s)) {
            return Ok(Guest {
                csrf: secret::csrf_token(&s),
                set_cookie: None,
            });
        }
        let s = secret::generate().map_err(|e| render::internal(&e))?;
        Ok(Guest {
            csrf: secret::csrf_token(&s),
            set_cookie: Some(set_cookie(SIGNIN_COOKIE, &s, 3600, web.secure_cookies)),
        })
    }
}

/// A form's fields: `csrf` apart, the rest as `T` (unknown fields ignored).
fn read_form<T: DeserializeOwned>(body: &[u8]) -> Option<(String, T)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let fields = serde_urlencoded::from_bytes(body).ok()?;
    Some((csrf, fields))
}

fn bad_form() -> Response {
    render::message(
        StatusCode::BAD_REQUEST,
        "That form could not be read",
        "Go back, reload the page and try again.",
    )
}

/// Refused: the form did not carry this browser's CSRF token.
pub fn csrf_refused() -> Response {
    render::message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "For your safety the form was not accepted. Go back, reload the page and send it again.",
    )
}

async fn body_of<St: Send + Sync>(req: Request, state: &St) -> Result<axum::body::Bytes, Response> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|_| bad_form())
}

/// A form posted by a signed-in person, its CSRF token checked against the session.
pub struct SessionForm<T>(pub SignedIn, pub T);

impl<S: AlertStorage + WebStorage, T: DeserializeOwned> FromRequest<Web<S>> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web<S>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let who = SignedIn::from_request_parts(&mut parts, web).await?;
        let bytes = body_of(Request::from_parts(parts, body), web).await?;
        let (csrf, fields) = read_form(&bytes).ok_or_else(bad_form)?;
        if !secret::same(&csrf, &who.csrf) {
            return Err(csrf_refused());
        }
        Ok(SessionForm(who, fields))
    }
}

/// A sign-in form (no session yet), its CSRF token checked against the sign-in cookie; with the
/// client's address for the rate limit.
pub struct GuestForm<T> {
    pub client: IpAddr,
    pub fields: T,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<Web<S>> for GuestForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web<S>) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let client = client_ip(&parts);
        let expected = cookie(&parts.headers, SIGNIN_COOKIE)
            .filter(|s| secret::well_formed(s))
            .map(|s| secret::csrf_token(&s));
        let bytes = body_of(Request::from_parts(parts, body), web).await?;
        let (csrf, fields) = read_form(&bytes).ok_or_else(bad_form)?;
        match expected {
            Some(expected) if secret::same(&csrf, &expected) => Ok(GuestForm { client, fields }),
            _ => Err(csrf_refused()),
        }
    }
}

/// Headers on every page: no caching of personal pages, no framing, no sniffing, no referrer
/// (a sign-in link's token must not leak to another site), and a policy allowing only this
/// site's stylesheet and inline SVG.
pub async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in set {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others_and_set_with_its_flags() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; gk_session=xyz; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(SESSION_COOKIE, "v", 60, true);
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"),
            "{c}"
        );
        assert!(!set_cookie(SESSION_COOKIE, "v", 60, false).contains("Secure"));
    }
}
