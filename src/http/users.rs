//! `/api/v1/users`: the users an admin token may act for (a user token sees itself).

use super::error::Error;
use super::extract::{Api, AuthUser};
use super::types::reshape;
use crate::storage::{AlertStorage, TokenStorage};
use axum::Json;
use axum::extract::State;
use axum::routing::get;

pub fn router<S: AlertStorage + TokenStorage>() -> axum::Router<Api<S>> {
    axum::Router::new().route("/users", get(list::<S>))
}

/// A registered user, as `users list --json` shows it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct UserOut {
    pub id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub timezone: String,
}

/// The users the caller may act for: every user for an admin token, oneself for a user token.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserOut>)), security(("bearer" = [])))]
pub async fn list<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
) -> Result<Json<Vec<UserOut>>, Error> {
    let users = api.service.users(&caller).await?;
    Ok(Json(users.iter().map(reshape).collect::<Result<_, _>>()?))
}
