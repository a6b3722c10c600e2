//! Creating, listing and revoking API tokens: the rules behind `goalkeeper tokens` (and any
//! future admin endpoint), over [`TokenStorage`]. The command only parses and prints.

use super::Principal;
use super::token::{self, RandomError, SecretToken};
use crate::domain::UserId;
use crate::domain::ids::{LabelError, check_label};
use crate::storage::{NewToken, RevokeOutcome, TokenRow, TokenStorage};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

/// When a new token stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// It works through this day, in the user's time zone (UTC for an admin token), and stops
    /// at the midnight that ends it.
    Date(NaiveDate),
    /// It stops at this instant.
    At(DateTime<Utc>),
}

impl FromStr for Expiry {
    type Err = String;

    /// `YYYY-MM-DD` or an RFC 3339 instant (`2027-01-01T00:00:00Z`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Expiry::Date(date));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Expiry::At(t.to_utc()))
            .map_err(|_| {
                format!("found {s:?}; expected a date YYYY-MM-DD or an RFC 3339 instant like 2027-01-01T00:00:00Z")
            })
    }
}

impl Expiry {
    /// The instant the token stops working, for a token whose user lives in `zone`.
    pub fn instant(self, zone: Tz) -> DateTime<Utc> {
        match self {
            Expiry::At(at) => at,
            Expiry::Date(date) => {
                let Some(next) = date.succ_opt() else {
                    return DateTime::<Utc>::MAX_UTC;
                };
                local_midnight(zone, next)
            }
        }
    }
}

/// The first instant of `date` in `zone`: its midnight, or where a daylight-saving jump over
/// midnight lands (the day then starts at 01:00).
fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // No zone skips more than a few hours; each step is a valid naive time.
    (0..=24 * 4)
        .map(|quarter| midnight + chrono::TimeDelta::minutes(15 * quarter))
        .find_map(|local| zone.from_local_datetime(&local).earliest())
        .map_or_else(|| midnight.and_utc(), |t| t.to_utc())
}

/// A token to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateToken {
    /// Whom it acts for: a user (who must exist), or an operator.
    pub principal: Principal,
    /// A label for people: at most 64 printable characters.
    pub name: Option<String>,
    pub expires: Option<Expiry>,
}

/// A token just made: the only time [`IssuedToken::token`] exists outside the client's hands.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: SecretToken,
    pub row: TokenRow,
    /// The zone an expiry date was read in (the user's; UTC for an admin token).
    pub zone: Tz,
}

/// Why a token could not be made, listed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("unknown user {:?}: register it with `goalkeeper users add` first", .0.as_str())]
    UnknownUser(UserId),
    #[error("--name: {0}")]
    BadName(LabelError),
    #[error("--expires: the token would expire at {expires_at}, which is not after now ({now})")]
    ExpiryNotAfterNow {
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("no token {0}; `goalkeeper tokens list` shows their ids")]
    NotFound(i64),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("{0:#}")]
    Storage(anyhow::Error),
}

impl TokenError {
    /// Whether the request was refused (exit 1, a 4xx), not a failure of the system.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            TokenError::UnknownUser(_)
                | TokenError::BadName(_)
                | TokenError::ExpiryNotAfterNow { .. }
                | TokenError::NotFound(_)
        )
    }
}

/// Makes a token, stores its hash, and returns it (shown once, never again).
pub async fn create<S: TokenStorage>(
    store: &S,
    request: CreateToken,
    now: DateTime<Utc>,
) -> Result<IssuedToken, TokenError> {
    if let Some(name) = &request.name {
        check_label(name).map_err(TokenError::BadName)?;
    }
    let (user_id, zone) = match &request.principal {
        Principal::Admin => (None, Tz::UTC),
        Principal::User(id) => {
            let user = store
                .get_user(id)
                .await
                .map_err(TokenError::Storage)?
                .ok_or_else(|| TokenError::UnknownUser(id.clone()))?;
            (Some(user.id), user.timezone)
        }
    };
    let expires_at = request.expires.map(|e| e.instant(zone));
    if let Some(expires_at) = expires_at.filter(|at| *at <= now) {
        return Err(TokenError::ExpiryNotAfterNow { expires_at, now });
    }
    let token = token::generate()?;
    let new = NewToken {
        user_id,
        name: request.name,
        sha256: token.sha256(),
        created_at: now,
        expires_at,
    };
    let row = store.create_token(&new).await.map_err(TokenError::Storage)?;
    tracing::info!(token_id = row.id, principal = %request.principal, "API token created");
    Ok(IssuedToken { token, row, zone })
}

/// Where a token stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn of(row: &TokenRow, now: DateTime<Utc>) -> TokenStatus {
        if row.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if row.expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

/// A token as listed: its row (without the hash) and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenView {
    #[serde(flatten)]
    pub row: TokenRow,
    pub status: TokenStatus,
}

/// Every token, or one user's, oldest first, with their status at `now`.
pub async fn list<S: TokenStorage>(
    store: &S,
    user: Option<&UserId>,
    now: DateTime<Utc>,
) -> Result<Vec<TokenView>, TokenError> {
    if let Some(id) = user {
        if store.get_user(id).await.map_err(TokenError::Storage)?.is_none() {
            return Err(TokenError::UnknownUser(id.clone()));
        }
    }
    let rows = store.list_tokens(user).await.map_err(TokenError::Storage)?;
    Ok(rows
        .into_iter()
        .map(|row| TokenView {
            status: TokenStatus::of(&row, now),
            row,
        })
        .collect())
}

/// Revokes token `id` from `now` on: [`RevokeOutcome::Revoked`], or
/// [`RevokeOutcome::AlreadyRevoked`] (nothing changes); an unknown id is [`TokenError::NotFound`].
pub async fn revoke<S: TokenStorage>(store: &S, id: i64, now: DateTime<Utc>) -> Result<RevokeOutcome, TokenError> {
    match store.revoke_token(id, now).await.map_err(TokenError::Storage)? {
        RevokeOutcome::NotFound => Err(TokenError::NotFound(id)),
        outcome => {
            if outcome == RevokeOutcome::Revoked {
                tracing::info!(token_id = id, "API token revoked");
            }
            Ok(outcome)
        }
    }
}

/// How many tokens there are, by status at one instant (for `goalkeeper status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenCounts {
    pub active: usize,
    pub expired: usize,
    pub revoked: usize,
}

/// Every token counted by its status at `now`.
pub async fn counts<S: TokenStorage>(store: &S, now: DateTime<Utc>) -> Result<TokenCounts, TokenError> {
    let rows = store.list_tokens(None).await.map_err(TokenError::Storage)?;
    let mut counts = TokenCounts::default();
    for row in &rows {
        match TokenStatus::of(row, now) {
            TokenStatus::Active => counts.active += 1,
            TokenStatus::Expired => counts.expired += 1,
            TokenStatus::Revoked => counts.revoked += 1,
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn an_expiry_date_ends_at_the_midnight_after_it_in_the_users_zone() {
        let cases = [
            ("2027-01-01", Tz::UTC, "2027-01-02T00:00:00Z"),
            ("2027-01-01", Tz::Europe__Berlin, "2027-01-01T23:00:00Z"),
            ("2027-07-01", Tz::Europe__Berlin, "2027-07-01T22:00:00Z"),
            ("2027-01-01", Tz::America__New_York, "2027-01-02T05:00:00Z"),
            // Chile's clocks jumped from 00:00 to 01:00 on 2022-09-11: that day began at 01:00.
            ("2022-09-10", Tz::America__Santiago, "2022-09-11T04:00:00Z"),
        ];
        for (day, zone, expected) in cases {
            assert_eq!(Expiry::Date(date(day)).instant(zone), utc(expected), "{day} in {zone}");
        }
        let at = utc("2027-03-01T12:30:00Z");
        assert_eq!(Expiry::At(at).instant(Tz::Asia__Tokyo), at);
    }

    #[test]
    fn an_expiry_is_read_as_a_date_or_an_instant() {
        assert_eq!("2027-01-01".parse(), Ok(Expiry::Date(date("2027-01-01"))));
        assert_eq!(
            "2027-01-01T09:00:00+02:00".parse(),
            Ok(Expiry::At(utc("2027-01-01T07:00:00Z")))
        );
        for bad in ["", "2027-13-01", "tomorrow", "2027-01-01 09:00", "90d"] {
            let e = bad.parse::<Expiry>().unwrap_err();
            assert!(e.contains("expected a date YYYY-MM-DD"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_token_is_active_until_it_expires_and_revoked_wins() {
        let row = TokenRow {
            id: 1,
            user_id: None,
            admin: true,
            name: None,
            sha256: String::new(),
            created_at: utc("2026-01-01T00:00:00Z"),
            expires_at: Some(utc("2026-02-01T00:00:00Z")),
            revoked_at: None,
            last_used_at: None,
        };
        assert_eq!(TokenStatus::of(&row, utc("2026-01-31T23:59:59Z")), TokenStatus::Active);
        assert_eq!(TokenStatus::of(&row, utc("2026-02-01T00:00:00Z")), TokenStatus::Expired);
        let revoked = TokenRow {
            revoked_at: Some(utc("2026-01-10T00:00:00Z")),
            ..row
        };
        assert_eq!(
            TokenStatus::of(&revoked, utc("2026-03-01T00:00:00Z")),
            TokenStatus::Revoked
        );
    }
}
