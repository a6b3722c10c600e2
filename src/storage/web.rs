//! What web sign-in keeps: the `login_links` and `web_sessions` tables behind the [`WebStorage`]
//! interface, for both backends from the same SQL. Only SHA-256 hashes (lowercase hex) of link
//! tokens and session ids are stored; making and checking them is [`crate::web::session`]'s
//! business (expiry, constant-time comparison, single use).

use super::Storage;
use crate::domain::UserId;
use chrono::{DateTime, Utc};
use std::future::Future;

/// A stored login link (the token's hash, never the token).
#[derive(Clone, PartialEq, Eq)]
pub struct LoginLinkRow {
    pub sha256: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// A stored web session (the id's hash, never the id).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub sha256: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute expiry.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

macro_rules! debug_without_hash {
    ($t:ty, $($f:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))$(.field(stringify!($f), &self.$f))*.finish_non_exhaustive()
            }
        }
    };
}
debug_without_hash!(LoginLinkRow, user_id, created_at, expires_at, used_at);
debug_without_hash!(SessionRow, user_id, created_at, last_seen_at, expires_at, revoked_at);

/// Login links and sessions. Every method is a unit of work.
pub trait WebStorage: Storage {
    /// The user whose email address this is (compared without regard to ASCII case).
    fn user_by_email(&self, email: &str) -> impl Future<Output = anyhow::Result<Option<UserId>>> + Send;

    /// Stores a new link (`used_at` is ignored: a new link is unused).
    fn create_login_link(&self, link: &LoginLinkRow) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The link whose token hash this is, used or expired or not.
    fn find_login_link(&self, sha256: &str) -> impl Future<Output = anyhow::Result<Option<LoginLinkRow>>> + Send;

    /// Marks the link used at `now` if it was not: `true` for the one caller that did it (two
    /// racing redemptions of one link: exactly one gets `true`).
    fn use_login_link(&self, sha256: &str, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Stores a new session (`revoked_at` is ignored).
    fn create_session(&self, session: &SessionRow) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The session whose id hash this is, revoked or expired or not.
    fn find_session(&self, sha256: &str) -> impl Future<Output = anyhow::Result<Option<SessionRow>>> + Send;

    /// Records that the session was seen at `now` (never moves `last_seen_at` back).
    fn touch_session(&self, sha256: &str, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Revokes one session from `now` on (a second revocation keeps the first instant).
    fn revoke_session(&self, sha256: &str, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Revokes every live session of `user` and every unused link of theirs; returns how many
    /// sessions were revoked.
    fn revoke_user_sessions(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;
}

pub(super) type LinkTuple = (String, String, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);
pub(super) type SessionTuple = (
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

pub(super) fn link_row((sha256, user_id, created_at, expires_at, used_at): LinkTuple) -> LoginLinkRow {
    LoginLinkRow {
        sha256,
        user_id: UserId::from_trusted(user_id),
        created_at,
        expires_at,
        used_at,
    }
}

pub(super) fn session_row(
    (sha256, user_id, created_at, last_seen_at, expires_at, revoked_at): SessionTuple,
) -> SessionRow {
    SessionRow {
        sha256,
        user_id: UserId::from_trusted(user_id),
        created_at,
        last_seen_at,
        expires_at,
        revoked_at,
    }
}

/// Implements [`WebStorage`] for `$store` from the SQL both backends speak.
macro_rules! impl_web_storage {
    ($store:ty) => {
        impl $crate::storage::WebStorage for $store {
            async fn user_by_email(&self, email: &str) -> anyhow::Result<Option<$crate::domain::UserId>> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM users WHERE lower(email) = lower($1) ORDER BY id LIMIT 1")
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(id,)| $crate::domain::UserId::from_trusted(id)))
            }

            async fn create_login_link(&self, link: &$crate::storage::LoginLinkRow) -> anyhow::Result<()> {
                sqlx::query(
                    "INSERT INTO login_links (token_sha256, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&link.sha256)
                .bind(link.user_id.as_str())
                .bind(link.created_at)
                .bind(link.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| anyhow::anyhow!(e).context("storing the login link"))?;
                Ok(())
            }

            async fn find_login_link(&self, sha256: &str) -> anyhow::Result<Option<$crate::storage::LoginLinkRow>> {
                let row: Option<$crate::storage::web::LinkTuple> = sqlx::query_as(
                    "SELECT token_sha256, user_id, created_at, expires_at, used_at FROM login_links WHERE token_sha256 = $1",
                )
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::storage::web::link_row))
            }

            async fn use_login_link(&self, sha256: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<bool> {
                let done = sqlx::query("UPDATE login_links SET used_at = $1 WHERE token_sha256 = $2 AND used_at IS NULL")
                    .bind(now)
                    .bind(sha256)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_session(&self, s: &$crate::storage::SessionRow) -> anyhow::Result<()> {
                sqlx::query(
                    "INSERT INTO web_sessions (session_sha256, user_id, created_at, last_seen_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.sha256)
                .bind(s.user_id.as_str())
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| anyhow::anyhow!(e).context("storing the session"))?;
                Ok(())
            }

            async fn find_session(&self, sha256: &str) -> anyhow::Result<Option<$crate::storage::SessionRow>> {
                let row: Option<$crate::storage::web::SessionTuple> = sqlx::query_as(
                    "SELECT session_sha256, user_id, created_at, last_seen_at, expires_at, revoked_at \
                     FROM web_sessions WHERE session_sha256 = $1",
                )
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::storage::web::session_row))
            }

            async fn touch_session(&self, sha256: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
                sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE session_sha256 = $2 AND last_seen_at < $1")
                    .bind(now)
                    .bind(sha256)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_session(&self, sha256: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
                sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE session_sha256 = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(sha256)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_user_sessions(
                &self,
                user: &$crate::domain::UserId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(user.as_str())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE login_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
                    .bind(now)
                    .bind(user.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(super) use impl_web_storage;
