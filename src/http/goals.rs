//! `/api/v1/goals...`: goals, their progress, the dashboard and templates. Each handler is a few
//! lines over [`crate::service`].

use super::error::{Error, Problem};
use super::extract::{Api, AuthUser, Body, Params};
use super::types::*;
use crate::domain::goal::StatusChange;
use crate::service::goals::{GoalChanges, GoalFilter, NewGoal, TemplateRequest, etag};
use crate::service::page::PageRequest;
use crate::service::progress::ManualEntry;
use crate::storage::{AlertStorage, TokenStorage};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub fn router<S: AlertStorage + TokenStorage>() -> axum::Router<Api<S>> {
    axum::Router::new()
        .route("/goals", post(create::<S>).get(list::<S>))
        .route("/goals/dashboard", get(dashboard::<S>))
        .route("/goals/sync-from-budget", post(sync::<S>))
        .route("/goals/templates", get(templates))
        .route("/goals/templates/{id}", get(template))
        .route("/goals/from-template", post(from_template::<S>))
        .route("/goals/{id}", get(show::<S>).patch(update::<S>).delete(delete::<S>))
        .route("/goals/{id}/pause", post(pause::<S>))
        .route("/goals/{id}/resume", post(resume::<S>))
        .route("/goals/{id}/complete", post(complete::<S>))
        .route("/goals/{id}/abandon", post(abandon::<S>))
        .route("/goals/{id}/progress", post(record::<S>).get(history::<S>))
        .route("/goals/{id}/progress/summary", get(summary::<S>))
}

fn with_etag(goal: &crate::domain::Goal, status: StatusCode) -> Result<Response, Error> {
    let tag = etag(goal);
    let mut r = (status, Json(GoalOut::of(goal)?)).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&tag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

fn changes(f: GoalFieldsIn) -> GoalChanges {
    GoalChanges {
        name: f.name,
        target_value: f.target_value,
        target_date: f.target_date,
        start_date: f.start_date,
        accounts: f.links.as_ref().and_then(|l| l.accounts.clone()),
        categories: f.links.and_then(|l| l.categories),
        description: f.description,
    }
}

/// Create a goal; its progress is backfilled from stored snapshots.
#[utoipa::path(post, path = "/api/v1/goals", tag = "goals", request_body = GoalCreate,
    responses((status = 201, body = GoalOut), (status = 422, body = Problem), (status = 401, body = Problem)),
    params(UserParam), security(("bearer" = [])))]
pub async fn create<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Body(body): Body<GoalCreate>,
) -> Result<Response, Error> {
    let fields = changes(body.fields());
    let new = NewGoal {
        goal_type: body.goal_type,
        id: body.id,
        fields,
    };
    let saved = api.service.add_goal(&caller, api.now(), new).await?;
    with_etag(&saved.goal, StatusCode::CREATED)
}

/// The caller's goals, by id; filter by `status` and `type`.
#[utoipa::path(get, path = "/api/v1/goals", tag = "goals", params(GoalQuery),
    responses((status = 200, body = GoalPage), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Params(q): Params<GoalQuery>,
) -> Result<Json<GoalPage>, Error> {
    let filter = GoalFilter {
        status: q.status,
        goal_type: q.goal_type,
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = api.service.goals_page(&caller, &filter, &page).await?;
    Ok(Json(GoalPage {
        items: page.items.iter().map(GoalOut::of).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// A goal, with its `ETag` for `If-Match`.
#[utoipa::path(get, path = "/api/v1/goals/{id}", tag = "goals", params(IdPath, UserParam),
    responses((status = 200, body = GoalOut), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn show<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let goal = api.service.goal(&caller, &id).await?;
    with_etag(&goal, StatusCode::OK)
}

/// Change a goal; `If-Match` with its `ETag` refuses the change (412) if it changed meanwhile.
#[utoipa::path(patch, path = "/api/v1/goals/{id}", tag = "goals", params(IdPath, UserParam), request_body = GoalFieldsIn,
    responses((status = 200, body = GoalOut), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body<GoalFieldsIn>,
) -> Result<Response, Error> {
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let saved = api
        .service
        .update_goal(&caller, api.now(), &id, &changes(body), if_match)
        .await?;
    with_etag(&saved.goal, StatusCode::OK)
}

/// Delete a goal and its history.
#[utoipa::path(delete, path = "/api/v1/goals/{id}", tag = "goals", params(IdPath, UserParam),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    api.service.delete_goal(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn status<S: AlertStorage + TokenStorage>(
    api: Api<S>,
    caller: crate::service::Caller,
    id: String,
    change: StatusChange,
) -> Result<Response, Error> {
    let goal = api.service.change_status(&caller, api.now(), &id, change).await?;
    with_etag(&goal, StatusCode::OK)
}

/// Pause a goal.
#[utoipa::path(post, path = "/api/v1/goals/{id}/pause", tag = "goals", params(IdPath, UserParam),
    responses((status = 200, body = GoalOut), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn pause<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(c): AuthUser,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    status(api, c, id, StatusChange::Pause).await
}

/// Resume a paused goal (its progress catches up with the snapshots).
#[utoipa::path(post, path = "/api/v1/goals/{id}/resume", tag = "goals", params(IdPath, UserParam),
    responses((status = 200, body = GoalOut), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn resume<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(c): AuthUser,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    status(api, c, id, StatusChange::Resume).await
}

/// Mark a goal achieved.
#[utoipa::path(post, path = "/api/v1/goals/{id}/complete", tag = "goals", params(IdPath, UserParam),
    responses((status = 200, body = GoalOut), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn complete<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(c): AuthUser,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    status(api, c, id, StatusChange::Complete).await
}

/// Give a goal up.
#[utoipa::path(post, path = "/api/v1/goals/{id}/abandon", tag = "goals", params(IdPath, UserParam),
    responses((status = 200, body = GoalOut), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn abandon<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(c): AuthUser,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    status(api, c, id, StatusChange::Abandon).await
}

/// Record a value by hand (custom goals, corrections).
#[utoipa::path(post, path = "/api/v1/goals/{id}/progress", tag = "progress", params(IdPath, UserParam), request_body = ProgressIn,
    responses((status = 201, body = RecordedOut), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn record<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Body(body): Body<ProgressIn>,
) -> Result<(StatusCode, Json<RecordedOut>), Error> {
    let entry = ManualEntry {
        value: body.value,
        period: body.period,
        note: body.note,
    };
    let done = api.service.record(&caller, api.now(), &id, entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(RecordedOut {
            goal_id: id,
            period: done.period.to_string(),
            value: done.value.to_string(),
            progress_percent: (done.progress * 10_000.0).round() / 100.0,
            completed: done.completed,
        }),
    ))
}

/// A goal's progress entries, oldest first.
#[utoipa::path(get, path = "/api/v1/goals/{id}/progress", tag = "progress", params(IdPath, PageQuery),
    responses((status = 200, body = ProgressPage), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn history<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<ProgressPage>, Error> {
    let page = api.service.history_page(&caller, &id, &q.request()).await?;
    Ok(Json(ProgressPage {
        items: page.items.iter().map(reshape).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// A goal's live summary: where it stands today.
#[utoipa::path(get, path = "/api/v1/goals/{id}/progress/summary", tag = "progress", params(IdPath, UserParam),
    responses((status = 200, body = crate::service::progress::GoalView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn summary<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<crate::service::progress::GoalView>, Error> {
    let (_, view) = api.service.summary(&caller, api.now(), &id).await?;
    Ok(Json(view))
}

/// Every goal of the caller (but abandoned ones) with its summary, milestones and whether anything
/// was contributed this month.
#[utoipa::path(get, path = "/api/v1/goals/dashboard", tag = "progress", params(UserParam),
    responses((status = 200, body = DashboardOut)), security(("bearer" = [])))]
pub async fn dashboard<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
) -> Result<Json<DashboardOut>, Error> {
    let goals = api.service.dashboard(&caller, api.now()).await?;
    Ok(Json(DashboardOut {
        goals: goals.into_iter().map(|(_, d)| d).collect(),
    }))
}

/// Recompute the caller's goals from the stored snapshots.
#[utoipa::path(post, path = "/api/v1/goals/sync-from-budget", tag = "progress", params(UserParam),
    responses((status = 200, body = SyncOut)), security(("bearer" = [])))]
pub async fn sync<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
) -> Result<Json<SyncOut>, Error> {
    let done = api.service.sync(&caller, api.now()).await?;
    Ok(Json(SyncOut {
        goals: done.goals,
        entries: done.entries,
        completed: done.completed,
    }))
}

/// The goal templates.
#[utoipa::path(get, path = "/api/v1/goals/templates", tag = "templates",
    responses((status = 200, body = Vec<TemplateOut>)))]
pub async fn templates() -> Json<Vec<TemplateOut>> {
    Json(
        crate::domain::templates::TEMPLATES
            .iter()
            .map(TemplateOut::of)
            .collect(),
    )
}

/// One template with its parameters and tips.
#[utoipa::path(get, path = "/api/v1/goals/templates/{id}", tag = "templates", params(IdPath),
    responses((status = 200, body = TemplateOut), (status = 404, body = Problem)))]
pub async fn template(Path(id): Path<String>) -> Result<Json<TemplateOut>, Error> {
    crate::domain::templates::find(&id)
        .map(|t| Json(TemplateOut::of(t)))
        .ok_or_else(|| Error::Service(crate::service::Error::not_found("template", id)))
}

/// Create a goal from a template; says how the target was derived.
#[utoipa::path(post, path = "/api/v1/goals/from-template", tag = "templates", params(UserParam), request_body = FromTemplateIn,
    responses((status = 201, body = FromTemplateOut), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn from_template<S: AlertStorage + TokenStorage>(
    State(api): State<Api<S>>,
    AuthUser(caller): AuthUser,
    Body(body): Body<FromTemplateIn>,
) -> Result<(StatusCode, Json<FromTemplateOut>), Error> {
    let req = TemplateRequest {
        template: body.template_id,
        params: body.params.unwrap_or_default(),
        target_date: body.target_date,
        target_value: body.target_value,
        id: body.id,
    };
    let made = api.service.from_template(&caller, api.now(), &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(FromTemplateOut {
            goal: GoalOut::of(&made.saved.goal)?,
            derivation: made.explanation,
        }),
    ))
}
