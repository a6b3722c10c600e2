//! What handlers take from a request: [`Api`] (the state), [`AuthUser`] (the caller a bearer
//! token stands for, checked once here, rate-limited per client address), [`Body`] (JSON that
//! names the field it got wrong) and [`Params`] (a query string, strictly).

use super::error::Error;
use crate::auth::{self, LastUsed, Principal, SharedLimiter};
use crate::clock::Clock;
use crate::domain::UserId;
use crate::service::{Caller, Service};
use crate::storage::{AlertStorage, TokenStorage};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The API's state: the service, the clock, the failed-attempt limiter and the tokens' last uses
/// waiting to be written ([`LastUsed::run`] beside the server writes them, so a request only
/// reads the tokens table).
#[derive(Clone)]
pub struct Api<S> {
    pub service: Service<S>,
    pub clock: Clock,
    pub limiter: SharedLimiter,
    pub last_used: LastUsed,
}

impl<S: AlertStorage> Api<S> {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// The authenticated caller. A user token is that user; an admin token acts for everyone, or for
/// the user `?user=ID` names.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Caller);

fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The `user` query parameter, if any (only an admin token uses it).
fn acting_for(parts: &Parts) -> Result<Option<UserId>, Error> {
    let Some(query) = parts.uri.query() else {
        return Ok(None);
    };
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("user=") {
            return UserId::parse(value)
                .map(Some)
                .map_err(|e| Error::Service(crate::service::Error::invalid("user", e.to_string())));
        }
    }
    Ok(None)
}

impl<S: AlertStorage + TokenStorage> FromRequestParts<Api<S>> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, api: &Api<S>) -> Result<Self, Self::Rejection> {
        let now = api.now();
        let ip = client_ip(parts);
        if let Err(wait) = api.limiter.check(ip, now) {
            return Err(Error::TooManyAttempts(wait.0));
        }
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let outcome = match auth::bearer_token(header) {
            Ok(token) => auth::authenticate_buffered(&api.service.store, token, now, &api.last_used).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Principal::User(id)) => Ok(AuthUser(Caller::User(id))),
            Ok(Principal::Admin) => Ok(AuthUser(Caller::Admin {
                acting_for: acting_for(parts)?,
            })),
            Err(e) if e.is_unauthorized() => {
                // The reason goes to the log, never the token.
                tracing::info!(reason = %e, client = %ip, "API request not authenticated");
                api.limiter.record_failure(ip, now);
                Err(Error::Unauthorized)
            }
            Err(e) => Err(Error::Service(crate::service::Error::Internal(anyhow::anyhow!("{e}")))),
        }
    }
}

/// A JSON body of `T`: malformed JSON, a wrong type or an unknown field is a 400 problem naming
/// the field (its path, like `links.accounts`).
pub struct Body<T>(pub T);

/// Reads `bytes` as `T`, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = (path != "." && !path.is_empty()).then_some(path);
        Error::BadJson {
            message: match &field {
                Some(f) => format!("{f}: {inner}"),
                None => format!("expected a JSON object: {inner}"),
            },
            field: field.or_else(|| unknown_field(&inner.to_string())),
        }
    })?;
    de.end().map_err(|e| Error::BadJson {
        field: None,
        message: format!("expected one JSON value: {e}"),
    })?;
    Ok(value)
}

/// serde names an unknown field in its message ("unknown field `x`, expected ...").
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(f, _)| f.to_owned())
}

impl<T: DeserializeOwned, St: Send + Sync> FromRequest<St> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge
            } else {
                Error::BadRequest(e.body_text())
            }
        })?;
        parse_json(&bytes).map(Body)
    }
}

/// A query string of `T` (unknown parameters refused, naming them).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, St: Send + Sync> FromRequestParts<St> for Params<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| {
                let message = e.body_text();
                let field = message
                    .split_once("unknown field `")
                    .and_then(|(_, r)| r.split_once('`'))
                    .map(|(f, _)| f.to_owned());
                Error::Service(crate::service::Error::invalid(
                    field.unwrap_or_else(|| "query".to_owned()),
                    message,
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::types::{GoalCreate, GoalFieldsIn, PreferencesPatch, ProgressIn};
    use proptest::prelude::*;

    fn field_of(e: Error) -> Option<String> {
        match e {
            Error::BadJson { field, .. } => field,
            other => panic!("expected a malformed-body error, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_or_an_unknown_field_is_named() {
        let e = parse_json::<GoalFieldsIn>(br#"{"links": {"accounts": [1]}}"#)
            .err()
            .unwrap();
        assert_eq!(field_of(e).as_deref(), Some("links.accounts[0]"));
        let e = parse_json::<ProgressIn>(br#"{"value": "1", "colour": 1}"#)
            .err()
            .unwrap();
        assert_eq!(field_of(e).as_deref(), Some("colour"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_the_body_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_json::<GoalCreate>(&bytes);
            let _ = parse_json::<GoalFieldsIn>(&bytes);
            let _ = parse_json::<PreferencesPatch>(&bytes);
            let _ = parse_json::<ProgressIn>(&bytes);
        }

        #[test]
        fn an_arbitrary_value_in_a_known_field_is_accepted_or_refused_naming_that_field(
            field in prop::sample::select(vec!["name", "target_value", "target_date", "start_date", "description", "links"]),
            value in prop_oneof![
                any::<i64>().prop_map(|n| serde_json::json!(n)),
                any::<bool>().prop_map(|b| serde_json::json!(b)),
                ".{0,20}".prop_map(|s| serde_json::json!(s)),
                Just(serde_json::json!(null)),
                Just(serde_json::json!([1, "x"])),
                Just(serde_json::json!({"accounts": 3})),
            ],
        ) {
            let body = serde_json::to_vec(&serde_json::json!({ field: value })).unwrap();
            if let Err(e) = parse_json::<GoalFieldsIn>(&body) {
                let named = field_of(e).unwrap_or_default();
                prop_assert!(named.starts_with(field), "{field}: {named}");
            }
        }
    }
}
