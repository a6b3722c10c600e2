//! Login links and sessions: the rules (lifetimes, single use, idle and absolute expiry,
//! revocation) over [`WebStorage`]. Secrets are made and hashed by [`super::secret`].

use super::secret;
use crate::domain::UserId;
use crate::storage::{LoginLinkRow, SessionRow, WebStorage};
use chrono::{DateTime, TimeDelta, Utc};

/// How long a login link may be used.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::minutes(15);
/// A session unused this long is over.
pub const IDLE_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// A session is over this long after sign-in, however busy.
pub const ABSOLUTE_LIFETIME: TimeDelta = TimeDelta::days(7);
/// `last_seen_at` is written at most this often per session.
pub const TOUCH_EVERY: TimeDelta = TimeDelta::seconds(60);

/// Why a login link did not sign anyone in. Each is shown as its own clear page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("this sign-in link is not valid")]
    Unknown,
    #[error("this sign-in link was already used")]
    Used,
    #[error("this sign-in link has expired")]
    Expired,
}

/// Makes a login link's token for `user`, valid [`LINK_LIFETIME`] from `now`, and stores its hash.
pub async fn issue_link<S: WebStorage>(store: &S, user: &UserId, now: DateTime<Utc>) -> anyhow::Result<String> {
    let token = secret::generate()?;
    store
        .create_login_link(&LoginLinkRow {
            sha256: secret::hash(&token),
            user_id: user.clone(),
            created_at: now,
            expires_at: now + LINK_LIFETIME,
            used_at: None,
        })
        .await?;
    Ok(token)
}

/// Whether `token` would sign someone in now (without using it): for the page the link opens.
pub async fn check_link<S: WebStorage>(
    store: &S,
    token: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<LoginLinkRow, LinkRefused>> {
    if !secret::well_formed(token) {
        return Ok(Err(LinkRefused::Unknown));
    }
    let hash = secret::hash(token);
    let Some(row) = store.find_login_link(&hash).await? else {
        return Ok(Err(LinkRefused::Unknown));
    };
    Ok(if !secret::same(&row.sha256, &hash) {
        Err(LinkRefused::Unknown)
    } else if row.used_at.is_some() {
        Err(LinkRefused::Used)
    } else if now >= row.expires_at {
        Err(LinkRefused::Expired)
    } else {
        Ok(row)
    })
}

/// Uses `token` (once) and starts a session for its user: the session id, for the cookie.
pub async fn redeem_link<S: WebStorage>(
    store: &S,
    token: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(UserId, String), LinkRefused>> {
    let row = match check_link(store, token, now).await? {
        Ok(row) => row,
        Err(refused) => return Ok(Err(refused)),
    };
    if !store.use_login_link(&row.sha256, now).await? {
        return Ok(Err(LinkRefused::Used));
    }
    let session = start_session(store, &row.user_id, now).await?;
    Ok(Ok((row.user_id, session)))
}

/// Starts a session for `user`: a new id, stored hashed.
pub async fn start_session<S: WebStorage>(store: &S, user: &UserId, now: DateTime<Utc>) -> anyhow::Result<String> {
    let id = secret::generate()?;
    store
        .create_session(&SessionRow {
            sha256: secret::hash(&id),
            user_id: user.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + ABSOLUTE_LIFETIME,
            revoked_at: None,
        })
        .await?;
    Ok(id)
}

/// Whether a session row is live at `now`. Pure.
pub fn live(row: &SessionRow, now: DateTime<Utc>) -> bool {
    row.revoked_at.is_none() && now < row.expires_at && now < row.last_seen_at + IDLE_LIFETIME
}

/// The user a session id stands for, if it is live; records the use (at most once a minute).
pub async fn authenticate<S: WebStorage>(store: &S, id: &str, now: DateTime<Utc>) -> anyhow::Result<Option<UserId>> {
    if !secret::well_formed(id) {
        return Ok(None);
    }
    let hash = secret::hash(id);
    let Some(row) = store.find_session(&hash).await? else {
        return Ok(None);
    };
    if !secret::same(&row.sha256, &hash) || !live(&row, now) {
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        store.touch_session(&hash, now).await?;
    }
    Ok(Some(row.user_id))
}

/// Ends one session (signing out).
pub async fn end_session<S: WebStorage>(store: &S, id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    if secret::well_formed(id) {
        store.revoke_session(&secret::hash(id), now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(last_seen: DateTime<Utc>, expires: DateTime<Utc>, revoked: bool) -> SessionRow {
        SessionRow {
            sha256: String::new(),
            user_id: UserId::from_trusted("ana".to_owned()),
            created_at: last_seen,
            last_seen_at: last_seen,
            expires_at: expires,
            revoked_at: revoked.then_some(last_seen),
        }
    }

    #[test]
    fn a_session_ends_when_idle_too_long_or_past_its_absolute_expiry_or_revoked() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let far = t + ABSOLUTE_LIFETIME;
        assert!(live(&row(t, far, false), t + IDLE_LIFETIME - TimeDelta::seconds(1)));
        assert!(!live(&row(t, far, false), t + IDLE_LIFETIME));
        assert!(!live(&row(t, t + TimeDelta::hours(1), false), t + TimeDelta::hours(1)));
        assert!(!live(&row(t, far, true), t));
    }
}
