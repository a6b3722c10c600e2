//! Who is asking: API bearer tokens and the principal they stand for.
//!
//! - [`token`]: making a token (`gk_` + 256 random bits, base64url), its shape, its SHA-256.
//! - [`authenticate`]: a presented token → [`Principal`] or [`AuthError`], through
//!   [`TokenStorage`] only.
//! - [`bearer_token`]: the token out of an `Authorization` header value.
//! - [`last_used`]: `last_used_at` written in batches, off the request path.
//! - [`limiter`]: failed attempts per client address (a burst, then "retry after").
//! - [`issue`]: creating, listing and revoking tokens (what `goalkeeper tokens` does).
//!
//! The format, storage, expiry and revocation are described for operators in `docs/api-tokens.md`.

pub mod issue;
pub mod last_used;
pub mod limiter;
pub mod token;

pub use issue::{CreateToken, Expiry, IssuedToken, TokenError, TokenStatus, TokenView};
pub use last_used::LastUsed;
pub use limiter::{FailureLimiter, LimiterConfig, RetryAfter, SharedLimiter};
pub use token::{SecretToken, hash_token};

use crate::domain::UserId;
use crate::storage::TokenStorage;
use crate::storage::tokens::TOUCH_INTERVAL_SECS;
use chrono::{DateTime, TimeDelta, Utc};
use subtle::ConstantTimeEq;

/// Who a valid token acts for.
///
/// - `User(id)`: the person `id`. It may see and change only `id`'s goals, alerts, snapshots
///   and preferences; anything of another user must look as if it did not exist (404, never
///   403). [`Principal::may_see`] is that rule.
/// - `Admin`: an operator token (`goalkeeper tokens create --admin`). It may act on any user
///   (the API names the user with `?user=ID`) and list users.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    User(UserId),
    Admin,
}

impl Principal {
    /// The user of a user token; `None` for an admin.
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Principal::User(id) => Some(id),
            Principal::Admin => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Admin)
    }

    /// Whether this principal may see (and change) what belongs to `owner`: an admin anything,
    /// a user only their own.
    pub fn may_see(&self, owner: &UserId) -> bool {
        match self {
            Principal::User(id) => id == owner,
            Principal::Admin => true,
        }
    }
}

/// The service layer's caller for a token's principal: a user token is that user; an admin token
/// is an operator acting for everyone (narrow it with `Caller::Admin { acting_for }` for
/// `?user=ID`).
impl From<Principal> for crate::service::Caller {
    fn from(principal: Principal) -> Self {
        match principal {
            Principal::User(id) => crate::service::Caller::User(id),
            Principal::Admin => crate::service::Caller::OPERATOR,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(id) => write!(f, "user {id}"),
            Principal::Admin => f.write_str("admin"),
        }
    }
}

/// Why a request is not authenticated.
///
/// Every variant but [`AuthError::Storage`] must become the **same** response upstream — `401`
/// with `WWW-Authenticate: Bearer` and one generic body — so a client never learns whether a
/// token exists, was revoked or expired. The variants are for logs and metrics (they name no
/// token). `Storage` is the server's fault, not the client's: a 503/500, and not a failed
/// attempt for the rate limiter.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, an empty one, or `Bearer` with nothing after it.
    #[error("no bearer token")]
    Missing,
    /// Not the shape of a goalkeeper token (or not a `Bearer` header).
    #[error("the bearer token is malformed")]
    Malformed,
    /// Well formed, but no such token is stored.
    #[error("unknown bearer token")]
    Unknown,
    #[error("the bearer token was revoked")]
    Revoked,
    #[error("the bearer token expired")]
    Expired,
    /// The token store could not be read.
    #[error("the token store failed: {0:#}")]
    Storage(anyhow::Error),
}

impl AuthError {
    /// Whether this is the client's failure (401, and one spent attempt for the limiter) rather
    /// than the server's ([`AuthError::Storage`]).
    pub fn is_unauthorized(&self) -> bool {
        !matches!(self, AuthError::Storage(_))
    }
}

/// Authenticates a presented bearer token at `now`: the principal it acts for, or why not.
///
/// `presented` is the token alone (see [`bearer_token`] for the header). In order:
/// empty → [`AuthError::Missing`]; not `gk_` + 43 base64url characters → [`AuthError::Malformed`]
/// (no database lookup); its SHA-256 not stored → [`AuthError::Unknown`]; revoked (at any time)
/// → [`AuthError::Revoked`]; `expires_at <= now` → [`AuthError::Expired`]. The stored hash is
/// found by an indexed lookup and then compared with the presented one in constant time.
///
/// A success records `last_used_at = now` when the stored value is older than
/// [`TOUCH_INTERVAL_SECS`] (one write a minute per token at most, none on most requests); a
/// failure of that write is logged and does not fail the request. That write is a commit on the
/// request path (an fsync on SQLite): a server should prefer [`authenticate_buffered`].
///
/// Never logs the token or its hash, and never panics, whatever `presented` is.
pub async fn authenticate<S: TokenStorage>(
    store: &S,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Principal, AuthError> {
    let (principal, row) = check(store, presented, now).await?;
    if touch_due(row.last_used_at, now) {
        if let Err(e) = store.touch_token(row.id, now).await {
            tracing::warn!(token_id = row.id, error = %format!("{e:#}"), "recording when an API token was last used failed");
        }
    }
    Ok(principal)
}

/// [`authenticate`], with `last_used_at` remembered in `last_used` instead of written: nothing
/// but one indexed read on the request path. [`LastUsed::run`] (or [`LastUsed::flush`]) writes
/// the remembered uses in batches; the same once-a-minute rule applies.
pub async fn authenticate_buffered<S: TokenStorage>(
    store: &S,
    presented: &str,
    now: DateTime<Utc>,
    last_used: &LastUsed,
) -> Result<Principal, AuthError> {
    let (principal, row) = check(store, presented, now).await?;
    if touch_due(row.last_used_at, now) {
        last_used.record(row.id, now);
    }
    Ok(principal)
}

async fn check<S: TokenStorage>(
    store: &S,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<(Principal, crate::storage::TokenRow), AuthError> {
    if presented.is_empty() {
        return Err(AuthError::Missing);
    }
    if !token::well_formed(presented) {
        return Err(AuthError::Malformed);
    }
    let hash = hash_token(presented);
    let Some(row) = store.find_token_by_hash(&hash).await.map_err(AuthError::Storage)? else {
        return Err(AuthError::Unknown);
    };
    // The database matched the hash already; this makes the decision itself constant-time.
    if !bool::from(row.sha256.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(AuthError::Unknown);
    }
    let principal = decide(&row, now)?;
    Ok((principal, row))
}

/// The pure half of [`authenticate`]: what a stored token allows at `now`.
pub fn decide(row: &crate::storage::TokenRow, now: DateTime<Utc>) -> Result<Principal, AuthError> {
    if row.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(AuthError::Expired);
    }
    match (&row.user_id, row.admin) {
        (None, true) => Ok(Principal::Admin),
        (Some(user), false) => Ok(Principal::User(user.clone())),
        // The table's CHECK forbids both; refuse rather than guess.
        _ => Err(AuthError::Unknown),
    }
}

/// Whether `last_used_at` is stale enough to be written again at `now`.
pub fn touch_due(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|at| now - at >= TimeDelta::seconds(TOUCH_INTERVAL_SECS))
}

/// The token in an `Authorization` header value: `Bearer <token>` (the scheme in any case,
/// RFC 9110 §11.1), surrounding spaces ignored. No header, or nothing after `Bearer` →
/// [`AuthError::Missing`]; another scheme (`Basic ...`) → [`AuthError::Malformed`].
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let Some(value) = header.map(str::trim) else {
        return Err(AuthError::Missing);
    };
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    match rest.trim() {
        "" => Err(AuthError::Missing),
        token => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::TokenRow;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 8, h, 0, 0).unwrap()
    }

    fn row(user: Option<&str>, admin: bool) -> TokenRow {
        TokenRow {
            id: 1,
            user_id: user.map(|u| UserId::parse(u).unwrap()),
            admin,
            name: None,
            sha256: String::new(),
            created_at: t(0),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn a_stored_token_allows_its_principal_until_it_expires_or_is_revoked() {
        let user = row(Some("ana"), false);
        let admin = row(None, true);
        let expiring = TokenRow {
            expires_at: Some(t(10)),
            ..user.clone()
        };
        let revoked = TokenRow {
            revoked_at: Some(t(5)),
            ..user.clone()
        };
        let revoked_later = TokenRow {
            revoked_at: Some(t(20)),
            ..user.clone()
        };
        let both = row(Some("ana"), true);
        let neither = row(None, false);
        let ana = Principal::User(UserId::parse("ana").unwrap());
        type Case<'a> = (&'a str, &'a TokenRow, DateTime<Utc>, Result<Principal, &'a str>);
        let cases: Vec<Case> = vec![
            ("a user token", &user, t(1), Ok(ana.clone())),
            ("an admin token", &admin, t(1), Ok(Principal::Admin)),
            ("before its expiry", &expiring, t(9), Ok(ana.clone())),
            ("at its expiry", &expiring, t(10), Err("expired")),
            ("after its expiry", &expiring, t(11), Err("expired")),
            ("after revocation", &revoked, t(6), Err("revoked")),
            (
                "revoked 'later' (a clock set back)",
                &revoked_later,
                t(6),
                Err("revoked"),
            ),
            ("a row with both a user and admin", &both, t(1), Err("unknown")),
            ("a row with neither", &neither, t(1), Err("unknown")),
        ];
        for (why, row, now, expected) in cases {
            let got = decide(row, now).map_err(|e| match e {
                AuthError::Expired => "expired",
                AuthError::Revoked => "revoked",
                AuthError::Unknown => "unknown",
                _ => "other",
            });
            assert_eq!(got, expected, "{why}");
        }
    }

    #[test]
    fn last_used_is_written_at_most_once_a_minute() {
        let cases = [
            (None, true),
            (Some(t(1)), true),
            (Some(t(2) - TimeDelta::seconds(60)), true),
            (Some(t(2) - TimeDelta::seconds(59)), false),
            (Some(t(2)), false),
            (Some(t(3)), false),
        ];
        for (last, due) in cases {
            assert_eq!(touch_due(last, t(2)), due, "{last:?}");
        }
    }

    #[test]
    fn the_bearer_header_is_read_as_rfc_9110_says() {
        let cases: &[(Option<&str>, Result<&str, &str>)] = &[
            (None, Err("missing")),
            (Some(""), Err("missing")),
            (Some("   "), Err("missing")),
            (Some("Bearer"), Err("missing")),
            (Some("Bearer   "), Err("missing")),
            (Some("Bearer gk_abc"), Ok("gk_abc")),
            (Some("bearer gk_abc"), Ok("gk_abc")),
            (Some("BEARER  gk_abc "), Ok("gk_abc")),
            (Some("Basic dXNlcjpwYXNz"), Err("malformed")),
            (Some("gk_abc"), Err("malformed")),
            (Some("Bearer: gk_abc"), Err("malformed")),
        ];
        for (header, expected) in cases {
            let got = bearer_token(*header).map_err(|e| match e {
                AuthError::Missing => "missing",
                AuthError::Malformed => "malformed",
                _ => "other",
            });
            assert_eq!(&got, expected, "{header:?}");
        }
    }

    #[test]
    fn a_user_sees_only_their_own_and_an_admin_everyone() {
        let ana = UserId::parse("ana").unwrap();
        let ben = UserId::parse("ben").unwrap();
        assert!(Principal::User(ana.clone()).may_see(&ana));
        assert!(!Principal::User(ana.clone()).may_see(&ben));
        assert!(Principal::Admin.may_see(&ben));
        assert_eq!(Principal::User(ana).to_string(), "user ana");
    }
}
