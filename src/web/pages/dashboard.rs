//! `/`: the dashboard, and marking an alert read from its banner.

use crate::storage::{AlertStorage, WebStorage};
use crate::web::request::{SessionForm, SignedIn};
use crate::web::{Web, render};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct View {
    csrf: String,
    name: String,
}

/// `GET /`.
pub async fn page<S: AlertStorage + WebStorage>(State(web): State<Web<S>>, who: SignedIn) -> Response {
    let user = match web.service.user(&who.caller, who.user.as_str()).await {
        Ok(u) => u,
        Err(e) => return render::service_error(e),
    };
    let view = View {
        csrf: who.csrf,
        name: user.display_name.unwrap_or_else(|| user.id.to_string()),
    };
    render::page(StatusCode::OK, "dashboard.html", view)
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /alerts/{id}/read`: marks one of the person's alerts read, back to the dashboard.
pub async fn mark_read<S: AlertStorage + WebStorage>(
    State(web): State<Web<S>>,
    Path(id): Path<String>,
    SessionForm(who, NoFields {}): SessionForm<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return render::service_error(crate::service::Error::not_found("alert", id));
    };
    match web.service.mark_read(&who.caller, web.now(), id).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => render::service_error(e),
    }
}
