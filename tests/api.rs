//! The HTTP API through real HTTP against the real binary (`goalkeeper serve` on a free port in a
//! temp dir), on SQLite and on PostgreSQL.

mod common;

use common::http::{Server, done, token};
use common::{PgSchema, Sandbox};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn is_problem(h: &reqwest::header::HeaderMap) -> bool {
    h.get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("application/problem+json"))
}

/// Users and snapshots from the fixtures, tokens for ana, ben and an admin.
fn sample(sb: &Sandbox) -> (String, String, String) {
    sb.register_sample_users();
    let goals = common::repo_path("fixtures/goals.csv");
    sb.run_ok(&["goals", "import", goals.to_str().unwrap()], 0);
    sb.copy_sample_inbox();
    sb.run_ok(&["--run-once"], 0);
    (
        token(sb, &["--user", "ana"]),
        token(sb, &["--user", "ben"]),
        token(sb, &["--admin"]),
    )
}

fn every_endpoint_answers_its_success_path(sb: Sandbox) {
    let (ana, _ben, admin) = sample(&sb);
    let s = Server::start(&sb, None);

    let (st, goal, h) = done(s.req("POST", "/api/v1/goals", &ana).json(&json!({
        "type": "savings_target", "name": "Trip", "target_value": "200000.00", "target_date": "2027-06-30",
        "start_date": "2025-01-01"
    })));
    assert_eq!(st, StatusCode::CREATED, "{goal}");
    assert_eq!(goal["user_id"], "ana");
    assert_eq!(goal["target_value"], "200000.00");
    assert!(h.get("etag").is_some());
    let id = goal["id"].as_str().unwrap().to_owned();

    let (st, list, _) = done(s.req("GET", "/api/v1/goals?type=savings_target", &ana));
    assert_eq!(st, StatusCode::OK, "{list}");
    assert!(list["items"].as_array().unwrap().iter().any(|g| g["id"] == id.as_str()));
    assert!(list["items"].as_array().unwrap().iter().all(|g| g["user_id"] == "ana"));

    let (st, one, h) = done(s.req("GET", &format!("/api/v1/goals/{id}"), &ana));
    assert_eq!(st, StatusCode::OK, "{one}");
    let tag = h["etag"].to_str().unwrap().to_owned();

    let (st, changed, _) = done(
        s.req("PATCH", &format!("/api/v1/goals/{id}"), &ana)
            .header("If-Match", &tag)
            .json(&json!({"name": "Big trip", "target_date": null})),
    );
    assert_eq!(st, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["name"].as_str(), changed["target_date"].is_null()),
        (Some("Big trip"), true)
    );
    // The first tab's ETag is stale now.
    let (st, stale, h) = done(
        s.req("PATCH", &format!("/api/v1/goals/{id}"), &ana)
            .header("If-Match", &tag)
            .json(&json!({"name": "Overwritten"})),
    );
    assert_eq!(st, StatusCode::PRECONDITION_FAILED, "{stale}");
    assert!(is_problem(&h));

    for (action, status) in [("pause", "paused"), ("resume", "active")] {
        let (st, g, _) = done(s.req("POST", &format!("/api/v1/goals/{id}/{action}"), &ana));
        assert_eq!((st, g["status"].as_str()), (StatusCode::OK, Some(status)), "{g}");
    }
    let (st, again, _) = done(s.req("POST", &format!("/api/v1/goals/{id}/resume"), &ana));
    assert_eq!(st, StatusCode::CONFLICT, "{again}");

    let (st, rec, _) = done(
        s.req("POST", &format!("/api/v1/goals/{id}/progress"), &ana)
            .json(&json!({"value": "500.00", "period": "2025-09", "note": "birthday"})),
    );
    assert_eq!(st, StatusCode::CREATED, "{rec}");
    let (st, hist, _) = done(s.req("GET", &format!("/api/v1/goals/{id}/progress"), &ana));
    assert_eq!(st, StatusCode::OK, "{hist}");
    assert!(
        hist["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"] == "manual" && e["value"] == "500.00")
    );
    let (st, sum, _) = done(s.req("GET", &format!("/api/v1/goals/{id}/progress/summary"), &ana));
    assert_eq!(st, StatusCode::OK, "{sum}");
    assert!(
        sum["current_value"].is_string() && sum["progress_percent"].is_number(),
        "{sum}"
    );

    let (st, dash, _) = done(s.req("GET", "/api/v1/goals/dashboard", &ana));
    assert_eq!(st, StatusCode::OK, "{dash}");
    let mine = dash["goals"].as_array().unwrap();
    assert!(mine.iter().all(|g| g["user_id"] == "ana") && !mine.is_empty());
    assert!(mine[0]["milestones"].is_array() && mine[0]["contributed_this_period"].is_boolean());

    let (st, sync, _) = done(s.req("POST", "/api/v1/goals/sync-from-budget", &ana));
    assert_eq!(st, StatusCode::OK, "{sync}");

    let (st, templates, _) = done(s.req("GET", "/api/v1/goals/templates", &ana));
    assert_eq!(st, StatusCode::OK);
    assert!(templates.as_array().unwrap().len() > 3);
    let (st, t, _) = done(s.req("GET", "/api/v1/goals/templates/emergency_fund_3_months", &ana));
    assert_eq!(
        (st, t["type"].as_str()),
        (StatusCode::OK, Some("emergency_fund")),
        "{t}"
    );
    let (st, made, _) = done(
        s.req("POST", "/api/v1/goals/from-template", &ana)
            .json(&json!({"template_id": "emergency_fund_3_months"})),
    );
    assert_eq!(st, StatusCode::CREATED, "{made}");
    assert!(made["derivation"].as_str().unwrap().contains("3 ×"), "{made}");
    assert_eq!(made["goal"]["template_id"], "emergency_fund_3_months");

    for action in ["complete", "abandon"] {
        let (st, g, _) = done(s.req(
            "POST",
            &format!("/api/v1/goals/{}/{action}", made["goal"]["id"].as_str().unwrap()),
            &ana,
        ));
        let want = if action == "complete" {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(st, want, "{action}: {g}");
    }

    let (st, alerts, _) = done(s.req("GET", "/api/v1/alerts?unread=true", &ana));
    assert_eq!(st, StatusCode::OK, "{alerts}");
    let items = alerts["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the snapshots raised alerts for ana: {alerts}");
    let alert = items[0]["id"].as_i64().unwrap();
    let (st, read, _) = done(s.req("PATCH", &format!("/api/v1/alerts/{alert}/read"), &ana));
    assert_eq!(st, StatusCode::OK, "{read}");
    assert!(read["read_at"].is_string());
    let (_, unread, _) = done(s.req("GET", "/api/v1/alerts?unread=true", &ana));
    assert!(unread["items"].as_array().unwrap().iter().all(|a| a["id"] != alert));

    let (st, prefs, _) = done(s.req("GET", "/api/v1/alerts/preferences", &ana));
    assert_eq!(
        (st, prefs["user_id"].as_str()),
        (StatusCode::OK, Some("ana")),
        "{prefs}"
    );
    let (st, prefs, _) = done(
        s.req("PATCH", "/api/v1/alerts/preferences", &ana)
            .json(&json!({"quiet_hours": "23:00-07:00", "max_per_day": 2, "enabled": ["off_track"]})),
    );
    assert_eq!(st, StatusCode::OK, "{prefs}");
    assert_eq!(prefs["preferences"]["quiet_hours"], "23:00-07:00");
    assert_eq!(prefs["preferences"]["enabled"], json!(["off_track"]));
    let cli: Value = serde_json::from_str(&sb.run_ok(&["prefs", "show", "ana", "--json"], 0).stdout).unwrap();
    assert_eq!(cli, prefs, "the API and the CLI show the same preferences");

    let (st, snaps, _) = done(s.req("GET", "/api/v1/snapshots", &ana));
    assert_eq!(st, StatusCode::OK, "{snaps}");
    assert!(snaps["items"].as_array().unwrap().iter().all(|r| r["user_id"] == "ana"));
    let (st, snap, _) = done(s.req("GET", "/api/v1/snapshots/2025-03", &ana));
    assert_eq!(st, StatusCode::OK, "{snap}");
    assert_eq!(snap, sb.snapshot_json("ana", "2025-03"), "the same JSON as the CLI's");

    // An admin acts for a user with ?user=.
    let (st, bens, _) = done(s.req("GET", "/api/v1/goals?user=ben", &admin));
    assert_eq!(st, StatusCode::OK);
    assert!(bens["items"].as_array().unwrap().iter().all(|g| g["user_id"] == "ben"));
    let (st, users, _) = done(s.req("GET", "/api/v1/users", &admin));
    assert_eq!((st, users.as_array().unwrap().len()), (StatusCode::OK, 4), "{users}");
    let (_, me, _) = done(s.req("GET", "/api/v1/users", &ana));
    assert_eq!(
        me.as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ana"]
    );
    let (st, none, _) = done(s.req("GET", "/api/v1/alerts/preferences", &admin));
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "an admin must say whose: {none}");

    let (st, _, _) = done(s.req("DELETE", &format!("/api/v1/goals/{id}"), &ana));
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _, _) = done(s.req("GET", &format!("/api/v1/goals/{id}"), &ana));
    assert_eq!(st, StatusCode::NOT_FOUND);
}

fn another_users_goals_alerts_snapshots_and_preferences_are_not_found(sb: Sandbox) {
    let (ana, ben, _) = sample(&sb);
    let s = Server::start(&sb, None);
    let (_, goal, _) = done(s.req("POST", "/api/v1/goals", &ana).json(&json!({
        "type": "savings_target", "name": "Ana's", "target_value": "100.00"
    })));
    let g = goal["id"].as_str().unwrap().to_owned();
    let (_, alerts, _) = done(s.req("GET", "/api/v1/alerts", &ana));
    let a = alerts["items"][0]["id"].as_i64().unwrap();
    let before = sb.run_ok(&["goals", "list", "--json"], 0).stdout;
    // Every route that names an object, with ana's ids and ben's token.
    let table: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/v1/goals/{g}"), None),
        (
            "PATCH",
            format!("/api/v1/goals/{g}"),
            Some(json!({"name": "Ben's now"})),
        ),
        ("DELETE", format!("/api/v1/goals/{g}"), None),
        ("POST", format!("/api/v1/goals/{g}/pause"), None),
        ("POST", format!("/api/v1/goals/{g}/resume"), None),
        ("POST", format!("/api/v1/goals/{g}/complete"), None),
        ("POST", format!("/api/v1/goals/{g}/abandon"), None),
        (
            "POST",
            format!("/api/v1/goals/{g}/progress"),
            Some(json!({"value": "1.00"})),
        ),
        ("GET", format!("/api/v1/goals/{g}/progress"), None),
        ("GET", format!("/api/v1/goals/{g}/progress/summary"), None),
        ("PATCH", format!("/api/v1/alerts/{a}/read"), None),
        ("GET", "/api/v1/goals/no-such-goal".to_owned(), None),
    ];
    for (method, path, body) in &table {
        let mut r = s.req(method, path, &ben);
        if let Some(b) = body {
            r = r.json(b);
        }
        let (st, problem, h) = done(r);
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
        assert!(is_problem(&h), "{method} {path}");
    }
    assert_eq!(
        sb.run_ok(&["goals", "list", "--json"], 0).stdout,
        before,
        "nothing changed"
    );
    // Lists never show ana's objects to ben.
    for path in ["/api/v1/goals", "/api/v1/alerts", "/api/v1/snapshots"] {
        let (_, list, _) = done(s.req("GET", path, &ben));
        assert!(
            list["items"].as_array().unwrap().iter().all(|i| i["user_id"] == "ben"),
            "{path}: {list}"
        );
    }
    let (_, dash, _) = done(s.req("GET", "/api/v1/goals/dashboard", &ben));
    assert!(dash["goals"].as_array().unwrap().iter().all(|i| i["user_id"] == "ben"));
    // A user token's ?user= is ignored: ben stays ben.
    let (_, prefs, _) = done(s.req("GET", "/api/v1/alerts/preferences?user=ana", &ben));
    assert_eq!(prefs["user_id"], "ben");
    let (_, list, _) = done(s.req("GET", "/api/v1/goals?user=ana", &ben));
    assert!(list["items"].as_array().unwrap().iter().all(|i| i["user_id"] == "ben"));
}

fn tokens_are_required_and_revoked_or_expired_ones_and_repeated_failures_are_refused(sb: Sandbox) {
    sb.register_sample_users();
    let ana = token(&sb, &["--user", "ana"]);
    let old = {
        let out = sb
            .command(&["tokens", "create", "--user", "ana", "--expires", "2026-01-31"])
            .env("GOALKEEPER_NOW", "2026-01-01T00:00:00Z")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let s = Server::start(&sb, None);
    let (st, _, h) = done(s.client.get(s.url("/api/v1/goals")));
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(h["www-authenticate"], "Bearer");
    assert!(is_problem(&h));
    let (st, _, _) = done(s.req("GET", "/api/v1/goals", &ana));
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = done(s.req("GET", "/api/v1/goals", &old));
    assert_eq!(st, StatusCode::UNAUTHORIZED, "an expired token");
    let (_, list, _) = (0, sb.run_ok(&["tokens", "list", "--json"], 0).stdout, 0);
    let rows: Value = serde_json::from_str(&list).unwrap();
    let id = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["expires_at"].is_null())
        .unwrap()["id"]
        .to_string();
    sb.run_ok(&["tokens", "revoke", &id], 0);
    let (st, _, _) = done(s.req("GET", "/api/v1/goals", &ana));
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a revoked token");
    // A burst of bad tokens, then 429 with Retry-After.
    let mut limited = None;
    for i in 0..50 {
        let (st, _, h) = done(s.req("GET", "/api/v1/goals", &format!("gk_wrong{i}")));
        if st == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(h);
            break;
        }
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let h = limited.expect("repeated failures are rate-limited");
    assert!(h.get("retry-after").is_some());
}

fn bad_input_is_a_problem_document_naming_the_field(sb: Sandbox) {
    sb.register_sample_users();
    let ana = token(&sb, &["--user", "ana"]);
    let s = Server::start(&sb, None);
    let post = |body: &str| {
        done(
            s.req("POST", "/api/v1/goals", &ana)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
    };

    let (st, p, h) = post(r#"{"type": "savings_target", "name": "x", "target_value": "1.00", "colour": "red"}"#);
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert!(is_problem(&h));
    assert_eq!(p["errors"][0]["field"], "colour", "{p}");
    let (st, p, _) = post(r#"{"type": "savings_target", "name": 5, "target_value": "1.00"}"#);
    assert_eq!(
        (st, p["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{p}"
    );
    let (st, p, _) = post(r#"{"type": "savings_target", "#);
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["status"], 400);
    let (st, p, h) =
        post(r#"{"type": "savings_target", "name": "", "target_value": "-3", "target_date": "2026-02-30"}"#);
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(is_problem(&h));
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"target_value") && fields.contains(&"target_date"),
        "{p}"
    );
    assert!(p["type"].as_str().unwrap().starts_with("urn:goalkeeper:problem:"));
    let (st, p, _) = post(r#"{"type": "house", "name": "x", "target_value": "1.00"}"#);
    assert_eq!(
        (st, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("type")),
        "{p}"
    );
    let (st, p, _) = done(s.req("GET", "/api/v1/goals?colour=red", &ana));
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (st, p, _) = done(s.req("GET", "/api/v1/goals?cursor=zz", &ana));
    assert_eq!(
        (st, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")),
        "{p}"
    );

    let (st, _, h) = done(s.req("GET", "/api/v1/nothing-here", &ana));
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(is_problem(&h));
    // Last: the server does not read a body it refuses, so it closes that connection.
    let big = format!(r#"{{"type": "savings_target", "name": "{}"}}"#, "x".repeat(70 * 1024));
    let (st, p, h) = post(&big);
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{p}");
    assert!(is_problem(&h));
}

fn pages_follow_one_another_across_inserts(sb: Sandbox) {
    sb.register_sample_users();
    let ana = token(&sb, &["--user", "ana"]);
    let s = Server::start(&sb, None);
    let add = |id: &str| {
        let (st, g, _) = done(s.req("POST", "/api/v1/goals", &ana).json(&json!({
            "type": "savings_target", "id": id, "name": id, "target_value": "100.00"
        })));
        assert_eq!(st, StatusCode::CREATED, "{g}");
    };
    for id in ["g02", "g04", "g06", "g08", "g10"] {
        add(id);
    }
    let (_, first, _) = done(s.req("GET", "/api/v1/goals?limit=2", &ana));
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["g02", "g04"]);
    // Inserted before and after the cursor meanwhile.
    add("g01");
    add("g05");
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second, _) = done(s.req("GET", &format!("/api/v1/goals?limit=2&cursor={cursor}"), &ana));
    assert_eq!(ids(&second), ["g05", "g06"]);
    let cursor = second["next_cursor"].as_str().unwrap().to_owned();
    let (_, third, _) = done(s.req("GET", &format!("/api/v1/goals?limit=2&cursor={cursor}"), &ana));
    assert_eq!(ids(&third), ["g08", "g10"]);
    assert!(third["next_cursor"].is_null());
}

fn the_openapi_document_lists_every_route_the_router_has(sb: Sandbox) {
    sb.register_sample_users();
    let ana = token(&sb, &["--user", "ana"]);
    let s = Server::start(&sb, None);
    let (st, doc, _) = done(s.client.get(s.url("/api/v1/openapi.json")));
    assert_eq!(st, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut listed = 0;
    for (method, path) in paths
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone())))
    {
        assert!(
            goalkeeper::http::ROUTES.contains(&(method.as_str(), path.as_str())),
            "{method} {path} is documented but not routed"
        );
        listed += 1;
    }
    assert_eq!(listed, goalkeeper::http::ROUTES.len(), "every route is documented");
    // And the router serves each documented route (no 404 from routing, a real answer).
    for (method, path) in goalkeeper::http::ROUTES {
        let concrete = path.replace("{id}", "x").replace("{period}", "2025-01");
        let (st, body, _) = done(s.req(&method.to_uppercase(), &concrete, &ana).json(&json!({})));
        let from_routing = st == StatusCode::METHOD_NOT_ALLOWED
            || (st == StatusCode::NOT_FOUND
                && body["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("no such endpoint")));
        assert!(!from_routing, "{method} {path}: {st} {body}");
    }
}

/// When the token named `name` was last used, as `tokens list --json` says.
fn last_used(sb: &Sandbox, name: &str) -> Value {
    let list: Value = serde_json::from_str(&sb.run_ok(&["tokens", "list", "--json"], 0).stdout).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
        .clone();
    row["last_used_at"].clone()
}

fn a_tokens_last_use_is_recorded_while_serving_and_when_the_server_stops(sb: Sandbox) {
    sb.register_sample_users();
    let ana = token(&sb, &["--user", "ana", "--name", "kept"]);
    let ben = token(&sb, &["--user", "ben", "--name", "at-exit"]);
    let mut s = Server::start(&sb, None);
    assert!(last_used(&sb, "kept").is_null() && last_used(&sb, "at-exit").is_null());

    // A request does not write the tokens table; the use is written within a few seconds.
    let (st, _, _) = done(s.req("GET", "/api/v1/goals", &ana));
    assert_eq!(st, StatusCode::OK);
    let start = Instant::now();
    while last_used(&sb, "kept").is_null() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "ana's token's last use was never recorded"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(last_used(&sb, "kept").is_string());

    // A use just before SIGTERM is written by the final flush, before the process exits.
    let (st, _, _) = done(s.req("GET", "/api/v1/goals", &ben));
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.stop(), Some(0));
    assert!(last_used(&sb, "at-exit").is_string(), "ben's use was lost at shutdown");
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
    every_endpoint_answers_its_success_path,
    another_users_goals_alerts_snapshots_and_preferences_are_not_found,
    tokens_are_required_and_revoked_or_expired_ones_and_repeated_failures_are_refused,
    bad_input_is_a_problem_document_naming_the_field,
    pages_follow_one_another_across_inserts,
    the_openapi_document_lists_every_route_the_router_has,
    a_tokens_last_use_is_recorded_while_serving_and_when_the_server_stops,
);
