//! `/api/v1/alerts...`: the caller's alerts and alert preferences.

use super::error::{Error, Problem};
use super::extract::{Api, AuthUser, Body, Params};
use super::types::*;
use crate::service::alerts::{AlertQuery, PreferenceChanges};
use crate::service::page::PageRequest;
use crate::service::{Caller, Error as ServiceError};
use crate::storage::{AlertStorage, TokenStorage};
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, patch};

pub fn router<S: AlertStorage + TokenStorage>() -> axum::Router<Api<S>> {
    axum::Router::new()
        .route("/alerts", get(list::<S>))
        .route("/alerts/{id}/read", patch(read::<S>))
        .route("/alerts/preferences", get(preferences::<S>).patch(set_preferences::<S>))
}

/// The caller's alerts, newest first; filter by delivery `status` and `unread`.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQueryIn),
    responses((status = 200, body = AlertPage), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Params(q): Params<AlertQueryIn>,
) -> Result<Json<AlertPage>, Error> {
    let query = AlertQuery {
        status: q.status,
        unread: q.unread,
        limit: None,
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = api.service.alerts_page(&caller, &query, &page).await?;
    Ok(Json(AlertPage {
        items: page.items.iter().map(reshape).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// Mark one of the caller's alerts read.
#[utoipa::path(patch, path = "/api/v1/alerts/{id}/read", tag = "alerts", params(("id" = i64, Path, description = "alert id"), UserParam),
    responses((status = 200, body = AlertOut), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn read<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<AlertOut>, Error> {
    // A non-number is no alert of anyone's: the same 404 as another user's.
    let id_num = id
        .parse::<i64>()
        .map_err(|_| ServiceError::not_found("alert", id.clone()))?;
    let row = api.service.mark_read(&caller, api.now(), id_num).await?;
    Ok(Json(reshape(&row)?))
}

/// The user a preferences call is about: the caller, or the user an admin acts for.
fn whose(caller: &Caller) -> Result<String, Error> {
    Ok(caller.subject()?.to_string())
}

/// The caller's alert preferences (the defaults until changed).
#[utoipa::path(get, path = "/api/v1/alerts/preferences", tag = "alerts", params(UserParam),
    responses((status = 200, body = UserPreferences)), security(("bearer" = [])))]
pub async fn preferences<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
) -> Result<Json<UserPreferences>, Error> {
    let (user, prefs) = api.service.preferences(&caller, &whose(&caller)?).await?;
    Ok(Json(UserPreferences {
        user_id: user.to_string(),
        preferences: reshape(&prefs)?,
    }))
}

/// Change the caller's alert preferences; what is absent stays as it is.
#[utoipa::path(patch, path = "/api/v1/alerts/preferences", tag = "alerts", params(UserParam), request_body = PreferencesPatch,
    responses((status = 200, body = UserPreferences), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn set_preferences<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Body(body): Body<PreferencesPatch>,
) -> Result<Json<UserPreferences>, Error> {
    let user = whose(&caller)?;
    let changes = PreferenceChanges {
        quiet_hours: body.quiet_hours,
        max_per_day: body.max_per_day,
        min_gap_hours: body.min_gap_hours,
        enabled: body.enabled,
        email_enabled: body.email_enabled,
        in_app_enabled: body.in_app_enabled,
        push_enabled: body.push_enabled,
        ..PreferenceChanges::default()
    };
    let prefs = api.service.set_preferences(&caller, api.now(), &user, &changes).await?;
    Ok(Json(UserPreferences {
        user_id: user,
        preferences: reshape(&prefs)?,
    }))
}
