//! Signing in with an emailed link, and signing out.

use crate::storage::{AlertStorage, WebStorage};
use crate::web::request::{self, Guest, GuestForm, SESSION_COOKIE, SIGNIN_COOKIE, SessionForm};
use crate::web::session::{self, ABSOLUTE_LIFETIME, LinkRefused};
use crate::web::throttle::{PER_ADDRESS, PER_CLIENT};
use crate::web::{Web, render};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct FormView<'a> {
    csrf: &'a str,
    token: &'a str,
}

fn with_cookies(mut res: Response, cookies: impl IntoIterator<Item = String>) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn too_many(wait: u64) -> Response {
    let mut res = render::message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-in attempts",
        &format!("Please wait {} minutes before asking again.", wait.div_ceil(60)),
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// `GET /login`: the address form.
pub async fn form<S: AlertStorage + WebStorage>(guest: Guest) -> Response {
    let res = render::page(
        StatusCode::OK,
        "login.html",
        FormView {
            csrf: &guest.csrf,
            token: "",
        },
    );
    with_cookies(res, guest.set_cookie)
}

#[derive(Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    email: String,
}

/// `POST /login`: emails a link if the address is a user's. The answer is the same either way,
/// so the form tells no one who is registered.
pub async fn send<S: AlertStorage + WebStorage>(State(web): State<Web<S>>, form: GuestForm<AddressForm>) -> Response {
    let now = web.now();
    let address = form.fields.email.trim().to_lowercase();
    if let Err(wait) = web
        .throttle
        .attempt(&format!("client {}", form.client), PER_CLIENT, now)
    {
        return too_many(wait);
    }
    if let Err(wait) = web.throttle.attempt(&format!("address {address}"), PER_ADDRESS, now) {
        return too_many(wait);
    }
    if let Err(e) = email_link(&web, &address, now).await {
        tracing::warn!(error = %format!("{e:#}"), "a sign-in link could not be sent");
    }
    render::message(
        StatusCode::OK,
        "Check your email",
        "If that address belongs to a goalkeeper account, a sign-in link is on its way. It works once, for 15 minutes.",
    )
}

async fn email_link<S: AlertStorage + WebStorage>(
    web: &Web<S>,
    address: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let store = &web.service.store;
    let Some(id) = store.user_by_email(address).await? else {
        tracing::info!("sign-in asked for an address no user has");
        return Ok(());
    };
    let Some(user) = store.get_user(&id).await? else {
        return Ok(());
    };
    let Some(email) = user.email.as_ref() else {
        return Ok(());
    };
    let mailer = web
        .mailer
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no email transport (see the log at start)"))?;
    let token = session::issue_link(store, &id, now).await?;
    let link = format!("{}/login/link?token={token}", web.base_url);
    mailer
        .send_link(email.as_str(), user.display_name.as_deref(), &link)
        .await?;
    tracing::info!(user = %id, "sign-in link emailed");
    Ok(())
}

fn refused_page(why: LinkRefused) -> Response {
    let text = match why {
        LinkRefused::Unknown => "This link is not one goalkeeper sent, or it was cut short. Ask for a new one.",
        LinkRefused::Used => "Each sign-in link works once. Ask for a new one.",
        LinkRefused::Expired => "Sign-in links work for 15 minutes. Ask for a new one.",
    };
    let mut title = why.to_string();
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    render::page(
        StatusCode::GONE,
        "message.html",
        serde_json::json!({"title": title, "text": text, "login": true}),
    )
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /login/link?token=…`: a button that signs in. Opening the link uses nothing, so a mail
/// scanner that fetches links cannot spend it; pressing the button (a POST) does.
pub async fn link<S: AlertStorage + WebStorage>(
    State(web): State<Web<S>>,
    guest: Guest,
    Query(q): Query<TokenQuery>,
) -> Response {
    match session::check_link(&web.service.store, &q.token, web.now()).await {
        Ok(Ok(_)) => {
            let res = render::page(
                StatusCode::OK,
                "link.html",
                FormView {
                    csrf: &guest.csrf,
                    token: &q.token,
                },
            );
            with_cookies(res, guest.set_cookie)
        }
        Ok(Err(why)) => refused_page(why),
        Err(e) => render::internal(&e),
    }
}

/// `POST /login/link`: uses the link and starts a session.
pub async fn redeem<S: AlertStorage + WebStorage>(State(web): State<Web<S>>, form: GuestForm<TokenQuery>) -> Response {
    let now = web.now();
    if let Err(wait) = web
        .throttle
        .attempt(&format!("client {}", form.client), PER_CLIENT, now)
    {
        return too_many(wait);
    }
    match session::redeem_link(&web.service.store, &form.fields.token, now).await {
        Ok(Ok((user, id))) => {
            tracing::info!(user = %user, "signed in");
            let cookie = request::set_cookie(SESSION_COOKIE, &id, ABSOLUTE_LIFETIME.num_seconds(), web.secure_cookies);
            let clear = request::set_cookie(SIGNIN_COOKIE, "", 0, web.secure_cookies);
            with_cookies(Redirect::to("/").into_response(), [cookie, clear])
        }
        Ok(Err(why)) => refused_page(why),
        Err(e) => render::internal(&e),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /logout`: ends the session.
pub async fn logout<S: AlertStorage + WebStorage>(
    State(web): State<Web<S>>,
    SessionForm(who, NoFields {}): SessionForm<NoFields>,
) -> Response {
    if let Err(e) = session::end_session(&web.service.store, &who.session, web.now()).await {
        return render::internal(&e);
    }
    let clear = request::set_cookie(SESSION_COOKIE, "", 0, web.secure_cookies);
    with_cookies(Redirect::to("/login").into_response(), [clear])
}
