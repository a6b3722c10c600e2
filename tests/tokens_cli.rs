//! `goalkeeper tokens` through the real binary, each test in its own folder: the token is shown
//! once and stored as its hash only, listed without it, revoked by id; `--now` sets the clock.

mod common;

use chrono::{DateTime, Utc};
use common::{Output, Sandbox};
use goalkeeper::auth::{self, AuthError, Principal};
use goalkeeper::domain::UserId;
use goalkeeper::storage::{PgStore, SqliteStore, Storage};

const NOW: &str = "--now=2026-03-08T09:00:00Z";

fn sandbox_with_users() -> Sandbox {
    with_users(Sandbox::new())
}

fn with_users(sb: Sandbox) -> Sandbox {
    sb.run_ok(
        &[
            "users",
            "add",
            "--id",
            "ana",
            "--email",
            "ana@example.org",
            "--timezone",
            "Europe/Berlin",
        ],
        0,
    );
    sb.run_ok(&["users", "add", "--id", "ben", "--email", "ben@example.org"], 0);
    sb
}

fn created_token(out: &Output) -> String {
    let token = out.stdout.trim().to_owned();
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "the token alone on stdout: {}",
        out.stdout
    );
    assert!(token.starts_with("gk_") && token.len() == 46, "{token}");
    token
}

fn authenticate(sb: &Sandbox, token: &str, now: &str) -> Result<Principal, AuthError> {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(now).unwrap().to_utc();
    let url = sb.db_url.clone();
    let token = token.to_owned();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            if url.starts_with("postgres") {
                let store = PgStore::connect(&url).await.unwrap();
                let outcome = auth::authenticate(&store, &token, now).await;
                store.close().await;
                outcome
            } else {
                let store = SqliteStore::connect(&url).await.unwrap();
                let outcome = auth::authenticate(&store, &token, now).await;
                store.close().await;
                outcome
            }
        })
}

#[test]
fn a_created_token_is_printed_once_and_only_its_hash_is_stored() {
    let sb = sandbox_with_users();
    let out = sb.run_ok(&["tokens", "create", "--user", "ana", "--name", "laptop", NOW], 0);
    let token = created_token(&out);
    assert!(
        out.stderr.contains("created token 1 for user ana, without expiry"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("only time the token is shown"), "{}", out.stderr);
    assert!(!out.stderr.contains(&token));
    assert_eq!(
        authenticate(&sb, &token, "2026-03-08T10:00:00Z").unwrap(),
        Principal::User(UserId::parse("ana").unwrap())
    );
    // The database file holds the hash, never the token.
    let db = std::fs::read(sb.path("gk.db")).unwrap();
    let wal = std::fs::read(sb.path("gk.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()));
    }
    let hash = auth::hash_token(&token);
    assert!(
        [&db, &wal]
            .iter()
            .any(|b| b.windows(hash.len()).any(|w| w == hash.as_bytes()))
    );
}

#[test]
fn tokens_are_listed_with_their_owner_label_dates_and_status_but_never_the_token_or_its_hash() {
    let sb = sandbox_with_users();
    let ana = created_token(&sb.run_ok(&["tokens", "create", "--user", "ana", "--name", "laptop", NOW], 0));
    let admin = created_token(&sb.run_ok(&["tokens", "create", "--admin", "--expires", "2026-12-31", NOW], 0));
    sb.run_ok(
        &["tokens", "create", "--user", "ben", "--expires", "2026-03-09", NOW],
        0,
    );
    authenticate(&sb, &ana, "2026-03-08T09:30:00Z").unwrap();

    let text = sb.run_ok(&["tokens", "list", "--now=2026-03-10T00:00:00Z"], 0).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "ID  USER     NAME    CREATED               EXPIRES               LAST USED             STATUS",
            "1   ana      laptop  2026-03-08 09:00 UTC  never                 2026-03-08 09:30 UTC  active",
            "2   (admin)          2026-03-08 09:00 UTC  2027-01-01 00:00 UTC  never                 active",
            "3   ben              2026-03-08 09:00 UTC  2026-03-10 00:00 UTC  never                 expired",
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&sb.run_ok(&["tokens", "list", "--user", "ana", "--json", NOW], 0).stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "id": 1,
            "user_id": "ana",
            "admin": false,
            "name": "laptop",
            "created_at": "2026-03-08T09:00:00Z",
            "expires_at": null,
            "revoked_at": null,
            "last_used_at": "2026-03-08T09:30:00Z",
            "status": "active",
        }])
    );
    let all = sb.run_ok(&["tokens", "list", "--json", NOW], 0).stdout;
    for secret in [&ana, &admin, &auth::hash_token(&ana), &auth::hash_token(&admin)] {
        assert!(!text.contains(secret.as_str()) && !all.contains(secret.as_str()));
    }
}

#[test]
fn a_revoked_token_stops_working_and_revoking_again_says_so() {
    let sb = sandbox_with_users();
    let token = created_token(&sb.run_ok(&["tokens", "create", "--user", "ben", NOW], 0));
    assert!(authenticate(&sb, &token, "2026-03-08T09:01:00Z").is_ok());
    let out = sb.run_ok(&["tokens", "revoke", "1", "--now=2026-03-08T10:00:00Z"], 0);
    assert_eq!(out.stdout, "revoked token 1: it no longer authenticates\n");
    assert!(matches!(
        authenticate(&sb, &token, "2026-03-08T10:00:01Z"),
        Err(AuthError::Revoked)
    ));
    let again = sb.run_ok(&["tokens", "revoke", "1", "--now=2026-03-09T10:00:00Z"], 0);
    assert_eq!(again.stdout, "token 1 was already revoked at 2026-03-08 10:00 UTC\n");
    let list = sb.run_ok(&["tokens", "list", NOW], 0).stdout;
    assert!(list.contains("revoked 2026-03-08 10:00 UTC"), "{list}");
    let missing = sb.run_ok(&["tokens", "revoke", "7"], 1);
    assert!(missing.stderr.contains("no token 7"), "{}", missing.stderr);
}

#[test]
fn an_expiry_date_is_the_last_day_in_the_users_zone_and_json_shows_the_token_once() {
    let sb = sandbox_with_users();
    let out = sb.run_ok(
        &[
            "tokens",
            "create",
            "--user",
            "ana",
            "--expires",
            "2026-03-31",
            "--json",
            NOW,
        ],
        0,
    );
    let created: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("gk_"));
    // Berlin is on summer time (UTC+2) at the end of March 2026.
    assert_eq!(created["expires_at"], "2026-03-31T22:00:00Z");
    assert_eq!(created["user_id"], "ana");
    assert!(
        out.stderr.contains("until 2026-04-01 00:00 CEST (Europe/Berlin)"),
        "{}",
        out.stderr
    );
    assert!(authenticate(&sb, token, "2026-03-31T21:59:59Z").is_ok());
    assert!(matches!(
        authenticate(&sb, token, "2026-03-31T22:00:00Z"),
        Err(AuthError::Expired)
    ));
}

#[test]
fn bad_requests_are_refused_with_a_clear_message_and_store_nothing() {
    let sb = sandbox_with_users();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["tokens", "create", "--user", "nobody"], 1, "unknown user \"nobody\""),
        (&["tokens", "create", "--user", "bad id"], 1, "--user: found \"bad id\""),
        (
            &["tokens", "create", "--admin", "--expires", "soon"],
            1,
            "--expires: found \"soon\"",
        ),
        (
            &["tokens", "create", "--admin", "--expires", "2026-03-07", NOW],
            1,
            "not after now",
        ),
        (
            &["tokens", "create", "--admin", "--name", ""],
            1,
            "--name: a value is required",
        ),
        (&["tokens", "create"], 2, "--user"),
        (
            &["tokens", "create", "--user", "ana", "--admin"],
            2,
            "cannot be used with",
        ),
        (&["tokens", "list", "--user", "nobody"], 1, "unknown user \"nobody\""),
        (&["tokens", "revoke", "one"], 2, "invalid value"),
    ];
    for (args, code, message) in cases {
        let out = sb.run_ok(args, *code);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert_eq!(sb.run_ok(&["tokens", "list", "--json"], 0).stdout.trim(), "[]");
}

#[test]
fn the_token_never_appears_in_the_logs_even_at_trace_level() {
    let sb = sandbox_with_users();
    let out = sb
        .command(&["tokens", "create", "--user", "ana", "--log-format", "json", NOW])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("API token created"), "the logs were on: {logs}");
    assert!(!logs.contains(&token));
    assert!(!logs.contains(&auth::hash_token(&token)), "nor its hash");
}

#[test]
fn status_counts_the_tokens_by_status() {
    let sb = sandbox_with_users();
    sb.run_ok(&["tokens", "create", "--user", "ana", NOW], 0);
    sb.run_ok(&["tokens", "create", "--admin", NOW], 0);
    sb.run_ok(
        &["tokens", "create", "--user", "ben", "--expires", "2026-03-08", NOW],
        0,
    );
    sb.run_ok(&["tokens", "revoke", "2", NOW], 0);
    let status: serde_json::Value =
        serde_json::from_str(&sb.run_ok(&["status", "--json", "--now=2026-03-09T00:00:00Z"], 0).stdout).unwrap();
    assert_eq!(
        status["tokens"],
        serde_json::json!({ "active": 1, "expired": 1, "revoked": 1 })
    );
    let text = sb.run_ok(&["status", NOW], 0).stdout;
    assert!(text.contains("API tokens: 2 active, 0 expired, 1 revoked\n"), "{text}");
}

#[test]
fn on_postgresql_a_token_is_created_listed_used_and_revoked_the_same_way() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = rt.block_on(common::PgSchema::create(&url));
    let sb = with_users(Sandbox::with_database(&schema.url));
    let token = created_token(&sb.run_ok(&["tokens", "create", "--user", "ana", "--name", "laptop", NOW], 0));
    let admin = created_token(&sb.run_ok(&["tokens", "create", "--admin", "--expires", "2026-03-08", NOW], 0));
    assert_eq!(
        authenticate(&sb, &token, "2026-03-08T09:30:00Z").unwrap(),
        Principal::User(UserId::parse("ana").unwrap())
    );
    assert_eq!(
        authenticate(&sb, &admin, "2026-03-08T23:59:59Z").unwrap(),
        Principal::Admin
    );
    assert!(matches!(
        authenticate(&sb, &admin, "2026-03-09T00:00:00Z"),
        Err(AuthError::Expired)
    ));
    let listed: serde_json::Value = serde_json::from_str(
        &sb.run_ok(&["tokens", "list", "--json", "--now=2026-03-09T00:00:00Z"], 0)
            .stdout,
    )
    .unwrap();
    assert_eq!(listed[0]["last_used_at"], "2026-03-08T09:30:00Z");
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(listed[1]["expires_at"], "2026-03-09T00:00:00Z");
    assert_eq!(listed[1]["status"], "expired");
    sb.run_ok(&["tokens", "revoke", "1", "--now=2026-03-08T10:00:00Z"], 0);
    assert!(matches!(
        authenticate(&sb, &token, "2026-03-08T10:00:01Z"),
        Err(AuthError::Revoked)
    ));
    let status: serde_json::Value =
        serde_json::from_str(&sb.run_ok(&["status", "--json", "--now=2026-03-09T00:00:00Z"], 0).stdout).unwrap();
    assert_eq!(
        status["tokens"],
        serde_json::json!({ "active": 0, "expired": 1, "revoked": 1 })
    );
    assert!(
        sb.run_ok(&["tokens", "create", "--user", "nobody"], 1)
            .stderr
            .contains("unknown user")
    );
    rt.block_on(schema.drop());
}
