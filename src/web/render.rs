//! The pages' templates (`templates/web/*.html`, compiled in) rendered with minijinja, HTML
//! auto-escaped; and the stylesheet (`templates/web/web.css`) served at `/static/web.css`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/web/base.html")),
    ("message.html", include_str!("../../templates/web/message.html")),
    ("login.html", include_str!("../../templates/web/login.html")),
    ("link.html", include_str!("../../templates/web/link.html")),
    ("dashboard.html", include_str!("../../templates/web/dashboard.html")),
];

const STYLESHEET: &str = include_str!("../../templates/web/web.css");

static ENVIRONMENT: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();

fn build() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// Renders template `name` with `context`.
pub fn render(name: &str, context: impl Serialize) -> Result<String, String> {
    let env = ENVIRONMENT
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(Clone::clone)?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))))
        .map_err(|e| format!("{e:#}"))
}

/// A page, or the error page when the template fails (logged).
pub fn page(status: StatusCode, name: &str, context: impl Serialize) -> Response {
    match render(name, context) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}

#[derive(Serialize)]
struct Message<'a> {
    title: &'a str,
    text: &'a str,
}

/// A page that says one thing (an error, a confirmation).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, "message.html", Message { title, text })
}

/// The server's fault: logged, and a page that says so without details.
pub fn internal(e: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "a page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "goalkeeper could not answer just now. Please try again in a moment.",
    )
}

/// A service error as a page: not found (another user's object too) is 404, bad input 400.
pub fn service_error(e: crate::service::Error) -> Response {
    use crate::service::Error;
    match e {
        Error::NotFound { .. } => message(StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
        Error::Invalid(_) | Error::Conflict(_) | Error::Unprocessable(_) | Error::Stale { .. } => {
            message(StatusCode::BAD_REQUEST, "That did not work", &e.to_string())
        }
        Error::Internal(e) => internal(&e),
    }
}

/// `GET /static/web.css`.
pub async fn stylesheet() -> Response {
    let mut res = STYLESHEET.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_text_is_escaped() {
        let html = render(
            "message.html",
            Message {
                title: "<b>x</b>",
                text: "a & b",
            },
        )
        .unwrap();
        assert!(
            html.contains("&lt;b&gt;x") && !html.contains("<b>") && html.contains("a &amp; b"),
            "{html}"
        );
        assert!(build().is_ok());
    }
}
