//! The web pages through real HTTP against the real binary (`goalkeeper serve` on a free port in a
//! temp dir), on SQLite and on PostgreSQL: signing in with an emailed link, cookies' flags, CSRF
//! refusals, expired and reused links, the CLI's login-link and logout, the sign-in rate limit.

mod common;

use common::http::Server;
use common::{PgSchema, Sandbox};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// The `value` of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Each `Set-Cookie` header whose cookie is `name`.
fn set_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// A browser without JavaScript: keeps cookies, shows redirects instead of following them.
struct Browser<'a> {
    server: &'a Server,
    http: Client,
    cookies: Vec<String>,
}

/// Status, body (or the redirect's `Location`), headers.
type Answer = (StatusCode, String, HeaderMap);

impl<'a> Browser<'a> {
    fn new(server: &'a Server) -> Browser<'a> {
        Browser {
            server,
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn get(&mut self, path: &str) -> Answer {
        let r = self
            .http
            .get(self.server.url(path))
            .header("cookie", self.cookies.join("; "));
        self.finish(r)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let r = self
            .http
            .post(self.server.url(path))
            .header("cookie", self.cookies.join("; "))
            .form(form);
        self.finish(r)
    }

    fn finish(&mut self, r: reqwest::blocking::RequestBuilder) -> Answer {
        let r = r.send().unwrap();
        let headers = r.headers().clone();
        for v in headers.get_all("set-cookie") {
            let nv = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = nv.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !nv.ends_with('=') {
                self.cookies.push(nv);
            }
        }
        let status = r.status();
        let text = r.text().unwrap();
        let body = if status.is_redirection() {
            headers["location"].to_str().unwrap().to_owned()
        } else {
            text
        };
        (status, body, headers)
    }

    /// Asks for a link for `email` from the sign-in page.
    fn ask_link(&mut self, email: &str) -> Answer {
        let (st, page, _) = self.get("/login");
        assert_eq!(st, StatusCode::OK, "{page}");
        let csrf = hidden(&page, "csrf");
        self.post("/login", &[("csrf", &csrf), ("email", email)])
    }

    /// Opens a sign-in link and presses its button.
    fn follow_link(&mut self, link: &str) -> Answer {
        let path = &link[link.find("/login/link").unwrap()..];
        let (st, page, _) = self.get(path);
        if st != StatusCode::OK {
            return (st, page, HeaderMap::new());
        }
        let (csrf, token) = (hidden(&page, "csrf"), hidden(&page, "token"));
        self.post("/login/link", &[("csrf", &csrf), ("token", &token)])
    }
}

/// The sign-in links in the emails the file transport wrote.
fn links_in_outbox(sb: &Sandbox) -> Vec<(String, String)> {
    common::emails_in(&sb.path("var/outbox"))
        .into_iter()
        .map(|e| {
            let at = e.text.find("http").unwrap_or_else(|| panic!("no link in {}", e.text));
            let link = e.text[at..].split_whitespace().next().unwrap().to_owned();
            (e.to, link)
        })
        .collect()
}

fn a_person_signs_in_with_an_emailed_link_once_and_signs_out(sb: Sandbox) {
    sb.register_sample_users();
    let s = Server::start(&sb, None);
    let mut b = Browser::new(&s);
    let (st, to, _) = b.get("/");
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/login"));

    let (st, page, _) = b.ask_link("Ana@Example.org");
    assert_eq!(st, StatusCode::OK, "{page}");
    assert!(page.contains("Check your email"), "{page}");
    // An unknown address gets the same answer, and no email.
    let (st, same, _) = b.ask_link("nobody@example.org");
    assert_eq!((st, same), (StatusCode::OK, page));
    let links = links_in_outbox(&sb);
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].0, "ana@example.org");
    assert!(links[0].1.starts_with(&s.url("/login/link?token=")), "{}", links[0].1);

    let (st, to, h) = b.follow_link(&links[0].1);
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/"));
    let cookie = set_cookie(&h, "gk_session").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "loopback: no Secure flag: {cookie}");
    let (st, page, h) = b.get("/");
    assert_eq!(st, StatusCode::OK, "{page}");
    assert!(page.contains("Ana Lima"), "{page}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");

    // The link works once; a second browser pressing it gets a clear page.
    let mut other = Browser::new(&s);
    let (st, page, _) = other.follow_link(&links[0].1);
    assert_eq!(st, StatusCode::GONE, "{page}");
    assert!(page.contains("already used"), "{page}");

    // Signing out needs the session's CSRF token.
    let csrf = hidden(&page_of(&mut b, "/"), "csrf");
    let (st, page, _) = b.post("/logout", &[("csrf", "forged")]);
    assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
    let (st, page, _) = b.post("/logout", &[]);
    assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
    assert_eq!(b.get("/").0, StatusCode::OK, "still signed in");
    let (st, to, _) = b.post("/logout", &[("csrf", &csrf)]);
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
    assert_eq!(b.get("/").0, StatusCode::SEE_OTHER);
}

fn page_of(b: &mut Browser<'_>, path: &str) -> String {
    let (st, page, _) = b.get(path);
    assert_eq!(st, StatusCode::OK, "{page}");
    page
}

fn a_sign_in_form_without_its_csrf_cookie_is_refused(sb: Sandbox) {
    sb.register_sample_users();
    let s = Server::start(&sb, None);
    let mut b = Browser::new(&s);
    let csrf = hidden(&page_of(&mut b, "/login"), "csrf");
    let mut stranger = Browser::new(&s);
    let (st, page, _) = stranger.post("/login", &[("csrf", &csrf), ("email", "ana@example.org")]);
    assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
    assert!(links_in_outbox(&sb).is_empty());
}

fn the_cli_prints_a_link_and_signs_a_user_out_everywhere(sb: Sandbox) {
    sb.register_sample_users();
    let base = [("GOALKEEPER__HTTP__BASE_URL", "https://goals.example.org/")];
    let mut cmd = sb.command(&["users", "login-link", "ana"]);
    cmd.envs(base);
    let out = cmd.output().unwrap();
    let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        link.starts_with("https://goals.example.org/login/link?token="),
        "{link}"
    );
    assert_eq!(sb.run(&["users", "login-link", "nobody"]).code, Some(1));

    let s = Server::start(&sb, None);
    let mut b = Browser::new(&s);
    assert_eq!(b.follow_link(&link).0, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").0, StatusCode::OK);
    let out = sb.run_ok(&["users", "logout", "ana"], 0);
    assert!(out.stdout.contains("1 session"), "{}", out.stdout);
    assert_eq!(b.get("/").0, StatusCode::SEE_OTHER);
}

fn an_expired_link_is_refused_with_a_clear_page(sb: Sandbox) {
    sb.register_sample_users();
    let mut cmd = sb.command(&["--now", "2026-03-01T09:00:00Z", "users", "login-link", "ben"]);
    cmd.env("GOALKEEPER__HTTP__BASE_URL", "http://127.0.0.1:1");
    let link = String::from_utf8(cmd.output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned();
    let s = Server::start(&sb, Some("2026-03-01T09:15:00Z"));
    let (st, page, _) = Browser::new(&s).follow_link(&link);
    assert_eq!(st, StatusCode::GONE, "{page}");
    assert!(page.contains("expired") && page.contains("/login"), "{page}");
    let (st, page, _) = Browser::new(&s).get("/login/link?token=made-up");
    assert_eq!(st, StatusCode::GONE, "{page}");
}

fn sign_in_attempts_are_limited_per_address_and_cookies_are_secure_off_loopback(sb: Sandbox) {
    sb.register_sample_users();
    let s = Server::start_on(&sb, None, "0.0.0.0", &[]);
    let mut b = Browser::new(&s);
    for _ in 0..5 {
        assert_eq!(b.ask_link("chen@example.org").0, StatusCode::OK);
    }
    let (st, page, h) = b.ask_link("chen@example.org");
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(links_in_outbox(&sb).len(), 5);
    // Another address from the same client still may (the per-client limit is higher).
    assert_eq!(b.ask_link("dara@example.org").0, StatusCode::OK);

    // Off loopback the cookies are Secure.
    let (_, _, h) = Browser::new(&s).get("/login");
    assert!(set_cookie(&h, "gk_signin").unwrap().contains("; Secure"));
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $test() { super::$test(super::Sandbox::new()); } )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    let Some(url) = super::common::postgres_url() else { return };
                    let rt = tokio::runtime::Runtime::new().unwrap();
                    let schema = rt.block_on(super::PgSchema::create(&url));
                    super::$test(super::Sandbox::with_database(&schema.url));
                    rt.block_on(schema.drop());
                }
            )*
        }
    };
}

on_both_backends!(
    a_person_signs_in_with_an_emailed_link_once_and_signs_out,
    a_sign_in_form_without_its_csrf_cookie_is_refused,
    the_cli_prints_a_link_and_signs_a_user_out_everywhere,
    an_expired_link_is_refused_with_a_clear_page,
    sign_in_attempts_are_limited_per_address_and_cookies_are_secure_off_loopback,
);
