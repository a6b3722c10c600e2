//! `/api/v1/snapshots...`: the caller's stored snapshots (read-only; they arrive through the inbox).

use super::error::{Error, Problem};
use super::extract::{Api, AuthUser, Params};
use super::types::*;
use crate::storage::{AlertStorage, TokenStorage};
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;

pub fn router<S: AlertStorage + TokenStorage>() -> axum::Router<Api<S>> {
    axum::Router::new()
        .route("/snapshots", get(list::<S>))
        .route("/snapshots/{period}", get(show::<S>))
}

/// The caller's snapshots, newest month first, every version.
#[utoipa::path(get, path = "/api/v1/snapshots", tag = "snapshots", params(PageQuery),
    responses((status = 200, body = SnapshotPage)), security(("bearer" = [])))]
pub async fn list<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Params(q): Params<PageQuery>,
) -> Result<Json<SnapshotPage>, Error> {
    let page = api.service.snapshots_page(&caller, &q.request()).await?;
    Ok(Json(SnapshotPage {
        items: page.items.iter().map(reshape).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// The caller's current snapshot of a month (`YYYY-MM`), with its lines and totals.
#[utoipa::path(get, path = "/api/v1/snapshots/{period}", tag = "snapshots",
    params(("period" = String, Path, description = "YYYY-MM"), UserParam),
    responses((status = 200, body = SnapshotDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn show<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(period): Path<String>,
) -> Result<Json<SnapshotDetail>, Error> {
    let user = caller.subject()?.to_string();
    let snap = api.service.snapshot(&caller, &user, &period).await?;
    Ok(Json(reshape(&snap)?))
}
