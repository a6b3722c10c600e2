//! What API bearer tokens keep: the `api_tokens` table behind the [`TokenStorage`] interface,
//! implemented for both backends from the same SQL. Only a token's SHA-256 (lowercase hex) is
//! stored; generating, hashing and checking tokens is [`crate::auth`]'s business.

use super::Storage;
use crate::domain::UserId;
use chrono::{DateTime, Utc};
use std::future::Future;

/// A token to store. `user_id: None` makes an admin (operator) token.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    pub user_id: Option<UserId>,
    /// A label for people (`laptop`, `budget app`); not unique.
    pub name: Option<String>,
    /// The token's SHA-256, lowercase hex (see [`crate::auth::hash_token`]).
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewToken {
    // The hash is left out: it is not a secret, but nothing prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stored token. Serialised (for `tokens list --json`) without its hash.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    /// The short id people name a token by (`tokens revoke ID`); never reused.
    pub id: i64,
    /// The user the token acts for; `None` for an admin token.
    pub user_id: Option<UserId>,
    /// An operator token: may act on any user.
    pub admin: bool,
    pub name: Option<String>,
    #[serde(skip)]
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the token last authenticated a request, to the minute (see [`TOUCH_INTERVAL_SECS`]).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("admin", &self.admin)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

/// `last_used_at` is written at most this often per token: a busy client costs one write a
/// minute, not one per request.
pub const TOUCH_INTERVAL_SECS: i64 = 60;

/// What [`TokenStorage::revoke_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked,
    /// It was revoked before, at this instant (which is kept).
    AlreadyRevoked(DateTime<Utc>),
    NotFound,
}

/// API tokens. Every method is a unit of work.
pub trait TokenStorage: Storage {
    /// Stores a new token and returns it as stored (with its id). The hash is unique: storing the
    /// same hash twice is an error (with 256 random bits, it never happens by chance). An unknown
    /// `user_id` is refused by the database (a foreign key); check it first for a clear message.
    fn create_token(&self, token: &NewToken) -> impl Future<Output = anyhow::Result<TokenRow>> + Send;

    /// The token whose SHA-256 (lowercase hex) this is, revoked or expired or not.
    fn find_token_by_hash(&self, sha256: &str) -> impl Future<Output = anyhow::Result<Option<TokenRow>>> + Send;

    /// One token by id.
    fn get_token(&self, id: i64) -> impl Future<Output = anyhow::Result<Option<TokenRow>>> + Send;

    /// Every token (of one user: its user tokens only), oldest first, revoked and expired ones too.
    fn list_tokens(&self, user: Option<&UserId>) -> impl Future<Output = anyhow::Result<Vec<TokenRow>>> + Send;

    /// Revokes a token from `now` on. Revoking twice keeps the first instant.
    fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<RevokeOutcome>> + Send;

    /// Records that the token was used at `now`, unless it was recorded less than
    /// [`TOUCH_INTERVAL_SECS`] before (callers check that first from the row they read, so
    /// most requests write nothing; the condition here only keeps racing requests from writing
    /// twice).
    fn touch_token(&self, id: i64, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// [`touch_token`](TokenStorage::touch_token) for many tokens in one transaction (one commit,
    /// one fsync): what [`crate::auth::LastUsed::flush`] writes. Unknown ids are skipped.
    fn touch_tokens(&self, uses: &[(i64, DateTime<Utc>)]) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The columns of a [`TokenRow`], in [`TOKEN_COLUMNS`] order.
pub(super) type TokenTuple = (
    i64,
    Option<String>,
    bool,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

pub(super) const TOKEN_COLUMNS: &str =
    "id, user_id, is_admin, name, token_sha256, created_at, expires_at, revoked_at, last_used_at";

pub(super) fn token_row(
    (id, user_id, admin, name, sha256, created_at, expires_at, revoked_at, last_used_at): TokenTuple,
) -> TokenRow {
    TokenRow {
        id,
        user_id: user_id.map(UserId::from_trusted),
        admin,
        name,
        sha256,
        created_at,
        expires_at,
        revoked_at,
        last_used_at,
    }
}

/// Implements [`TokenStorage`] for `$store` from the SQL both backends speak.
macro_rules! impl_token_storage {
    ($store:ty) => {
        impl $crate::storage::TokenStorage for $store {
            async fn create_token(
                &self,
                token: &$crate::storage::NewToken,
            ) -> anyhow::Result<$crate::storage::TokenRow> {
                let sql = format!(
                    "INSERT INTO api_tokens (user_id, is_admin, name, token_sha256, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                    $crate::storage::tokens::TOKEN_COLUMNS
                );
                let row: $crate::storage::tokens::TokenTuple = sqlx::query_as(&sql)
                    .bind(token.user_id.as_ref().map(|u| u.as_str()))
                    .bind(token.user_id.is_none())
                    .bind(token.name.as_deref())
                    .bind(&token.sha256)
                    .bind(token.created_at)
                    .bind(token.expires_at)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| anyhow::anyhow!(e).context("storing the token"))?;
                Ok($crate::storage::tokens::token_row(row))
            }

            async fn find_token_by_hash(&self, sha256: &str) -> anyhow::Result<Option<$crate::storage::TokenRow>> {
                let sql = format!(
                    "SELECT {} FROM api_tokens WHERE token_sha256 = $1",
                    $crate::storage::tokens::TOKEN_COLUMNS
                );
                let row: Option<$crate::storage::tokens::TokenTuple> = sqlx::query_as(&sql)
                    .bind(sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map($crate::storage::tokens::token_row))
            }

            async fn get_token(&self, id: i64) -> anyhow::Result<Option<$crate::storage::TokenRow>> {
                let sql = format!(
                    "SELECT {} FROM api_tokens WHERE id = $1",
                    $crate::storage::tokens::TOKEN_COLUMNS
                );
                let row: Option<$crate::storage::tokens::TokenTuple> =
                    sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::storage::tokens::token_row))
            }

            async fn list_tokens(
                &self,
                user: Option<&$crate::domain::UserId>,
            ) -> anyhow::Result<Vec<$crate::storage::TokenRow>> {
                let rows: Vec<$crate::storage::tokens::TokenTuple> = match user {
                    Some(user) => {
                        let sql = format!(
                            "SELECT {} FROM api_tokens WHERE user_id = $1 ORDER BY id",
                            $crate::storage::tokens::TOKEN_COLUMNS
                        );
                        sqlx::query_as(&sql)
                            .bind(user.as_str())
                            .fetch_all(&self.pool)
                            .await?
                    }
                    None => {
                        let sql = format!(
                            "SELECT {} FROM api_tokens ORDER BY id",
                            $crate::storage::tokens::TOKEN_COLUMNS
                        );
                        sqlx::query_as(&sql).fetch_all(&self.pool).await?
                    }
                };
                Ok(rows.into_iter().map($crate::storage::tokens::token_row).collect())
            }

            async fn revoke_token(
                &self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> anyhow::Result<$crate::storage::RevokeOutcome> {
                use $crate::storage::RevokeOutcome;
                let mut tx = self.begin_write().await?;
                let row: Option<(Option<chrono::DateTime<chrono::Utc>>,)> =
                    sqlx::query_as("SELECT revoked_at FROM api_tokens WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let outcome = match row {
                    None => RevokeOutcome::NotFound,
                    Some((Some(at),)) => RevokeOutcome::AlreadyRevoked(at),
                    Some((None,)) => {
                        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        RevokeOutcome::Revoked
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn touch_token(&self, id: i64, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
                // Without a transaction of its own: one statement, and no read lock to upgrade.
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $1 \
                     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
                )
                .bind(now)
                .bind(id)
                .bind(now - chrono::TimeDelta::seconds($crate::storage::tokens::TOUCH_INTERVAL_SECS))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn touch_tokens(&self, uses: &[(i64, chrono::DateTime<chrono::Utc>)]) -> anyhow::Result<()> {
                if uses.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for &(id, at) in uses {
                    sqlx::query(
                        "UPDATE api_tokens SET last_used_at = $1 \
                         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
                    )
                    .bind(at)
                    .bind(id)
                    .bind(at - chrono::TimeDelta::seconds($crate::storage::tokens::TOUCH_INTERVAL_SECS))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_token_storage;
