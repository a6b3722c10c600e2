//! API tokens in storage and their lifecycle through `auth`: create, find by hash, list, revoke,
//! touch, authenticate until revoked or expired. Every test runs on SQLite, and on PostgreSQL
//! when GOALKEEPER_TEST_POSTGRES_URL is set (always, in CI).

#[macro_use]
mod common;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use goalkeeper::auth::{self, AuthError, CreateToken, Expiry, Principal, TokenError, TokenStatus};
use goalkeeper::domain::{User, UserId};
use goalkeeper::storage::{NewToken, RevokeOutcome, Storage, TokenStorage};

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, h, m, 0).unwrap()
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

async fn with_users<S: Storage>(store: &S) {
    for (id, tz) in [("ana", Tz::Europe__Berlin), ("ben", Tz::UTC)] {
        let user = User {
            id: uid(id),
            email: None,
            display_name: None,
            timezone: tz,
        };
        store.add_user(&user, at(0, 0)).await.unwrap();
    }
}

fn new_token(user: Option<&str>, sha: char, expires_at: Option<DateTime<Utc>>) -> NewToken {
    NewToken {
        user_id: user.map(uid),
        name: Some(format!("label {sha}")),
        sha256: sha.to_string().repeat(64),
        created_at: at(1, 0),
        expires_at,
    }
}

async fn a_token_is_stored_once_by_its_hash_and_listed_without_it<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let ana = store
        .create_token(&new_token(Some("ana"), 'a', Some(at(20, 0))))
        .await
        .unwrap();
    let admin = store.create_token(&new_token(None, 'b', None)).await.unwrap();
    let ben = store.create_token(&new_token(Some("ben"), 'c', None)).await.unwrap();
    assert!(ana.id < admin.id && admin.id < ben.id);
    assert_eq!(
        (ana.user_id.clone(), ana.admin, ana.name.as_deref(), ana.expires_at),
        (Some(uid("ana")), false, Some("label a"), Some(at(20, 0)))
    );
    assert_eq!((admin.user_id.clone(), admin.admin), (None, true));
    assert_eq!(ana.created_at, at(1, 0));
    assert_eq!((ana.revoked_at, ana.last_used_at), (None, None));

    let found = store.find_token_by_hash(&"a".repeat(64)).await.unwrap();
    assert_eq!(found.as_ref(), Some(&ana));
    assert_eq!(store.find_token_by_hash(&"d".repeat(64)).await.unwrap(), None);
    assert_eq!(store.get_token(admin.id).await.unwrap().as_ref(), Some(&admin));
    assert_eq!(store.get_token(admin.id + 100).await.unwrap(), None);

    let all = store.list_tokens(None).await.unwrap();
    assert_eq!(all, [ana.clone(), admin.clone(), ben.clone()]);
    assert_eq!(
        store.list_tokens(Some(&uid("ana"))).await.unwrap(),
        std::slice::from_ref(&ana)
    );
    assert!(store.list_tokens(Some(&uid("nobody"))).await.unwrap().is_empty());
    let json = serde_json::to_string(&all).unwrap();
    assert!(!json.contains(&"a".repeat(64)) && !json.contains("sha"), "{json}");
    assert!(!format!("{all:?}").contains(&"a".repeat(64)));

    // The same hash twice is refused; so is a token for nobody.
    assert!(store.create_token(&new_token(Some("ben"), 'a', None)).await.is_err());
    assert!(store.create_token(&new_token(Some("nobody"), 'e', None)).await.is_err());
    assert_eq!(store.list_tokens(None).await.unwrap().len(), 3);
}

async fn revoking_keeps_the_first_instant_and_an_unknown_id_is_not_found<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let t = store.create_token(&new_token(Some("ana"), 'a', None)).await.unwrap();
    assert_eq!(
        store.revoke_token(t.id, at(2, 0)).await.unwrap(),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        store.revoke_token(t.id, at(3, 0)).await.unwrap(),
        RevokeOutcome::AlreadyRevoked(at(2, 0))
    );
    assert_eq!(store.get_token(t.id).await.unwrap().unwrap().revoked_at, Some(at(2, 0)));
    assert_eq!(
        store.revoke_token(t.id + 1, at(3, 0)).await.unwrap(),
        RevokeOutcome::NotFound
    );
}

async fn last_used_is_written_at_most_once_a_minute<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let t = store.create_token(&new_token(Some("ana"), 'a', None)).await.unwrap();
    let last_used = |store: S, id| async move { store.get_token(id).await.unwrap().unwrap().last_used_at };
    let cases = [
        (at(2, 0), at(2, 0)),
        (at(2, 0) + TimeDelta::seconds(59), at(2, 0)),
        (at(2, 1), at(2, 1)),
        (at(2, 1) + TimeDelta::milliseconds(500), at(2, 1)),
        (at(1, 0), at(2, 1)), // a clock set back writes nothing
        (at(9, 0), at(9, 0)),
    ];
    for (touched, expected) in cases {
        store.touch_token(t.id, touched).await.unwrap();
        assert_eq!(
            last_used(store.clone(), t.id).await,
            Some(expected),
            "touched at {touched}"
        );
    }
}

async fn a_token_authenticates_its_principal_until_it_is_revoked<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let request = |principal, expires| CreateToken {
        principal,
        name: Some("laptop".into()),
        expires,
    };
    let ana = auth::issue::create(&store, request(Principal::User(uid("ana")), None), at(1, 0))
        .await
        .unwrap();
    let admin = auth::issue::create(&store, request(Principal::Admin, None), at(1, 0))
        .await
        .unwrap();
    assert_eq!(ana.zone, Tz::Europe__Berlin);
    let presented = ana.token.expose();
    assert!(presented.starts_with("gk_") && presented.len() == 46);
    assert_eq!(ana.row.sha256, auth::hash_token(presented));

    assert_eq!(
        auth::authenticate(&store, presented, at(2, 0)).await.unwrap(),
        Principal::User(uid("ana"))
    );
    assert_eq!(
        auth::authenticate(&store, admin.token.expose(), at(2, 0))
            .await
            .unwrap(),
        Principal::Admin
    );
    // Using it records when, to the minute.
    let row = store.get_token(ana.row.id).await.unwrap().unwrap();
    assert_eq!(row.last_used_at, Some(at(2, 0)));
    auth::authenticate(&store, presented, at(2, 0) + TimeDelta::seconds(30))
        .await
        .unwrap();
    let row = store.get_token(ana.row.id).await.unwrap().unwrap();
    assert_eq!(row.last_used_at, Some(at(2, 0)));

    // A token one character off is unknown; a stranger's string is malformed; nothing is missing.
    let mut other = presented.to_owned();
    let last = other.pop().unwrap();
    other.push(if last == 'A' { 'Q' } else { 'A' });
    let cases: Vec<(&str, &str)> = vec![
        ("", "missing"),
        (&other, "unknown"),
        ("gk_nope", "malformed"),
        (&presented[3..], "malformed"),
    ];
    for (p, expected) in cases {
        let e = auth::authenticate(&store, p, at(2, 0)).await.unwrap_err();
        assert_eq!(kind(&e), expected, "{p:?}");
        assert!(e.is_unauthorized());
        assert!(!e.to_string().contains(presented));
    }

    assert_eq!(
        auth::issue::revoke(&store, ana.row.id, at(3, 0)).await.unwrap(),
        RevokeOutcome::Revoked
    );
    let e = auth::authenticate(&store, presented, at(3, 0)).await.unwrap_err();
    assert_eq!(kind(&e), "revoked");
    assert!(matches!(
        auth::issue::revoke(&store, 9_999, at(3, 0)).await,
        Err(TokenError::NotFound(9_999))
    ));
    // The admin token is not affected.
    assert!(auth::authenticate(&store, admin.token.expose(), at(3, 0)).await.is_ok());
}

async fn a_token_with_an_expiry_date_works_through_that_day_in_its_users_zone<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let issued = auth::issue::create(
        &store,
        CreateToken {
            principal: Principal::User(uid("ana")),
            name: None,
            expires: Some(Expiry::Date(day)),
        },
        at(1, 0),
    )
    .await
    .unwrap();
    // Berlin is UTC+1 in March: the 10th ends at 23:00 UTC.
    let end = Utc.with_ymd_and_hms(2026, 3, 10, 23, 0, 0).unwrap();
    assert_eq!(issued.row.expires_at, Some(end));
    let presented = issued.token.expose();
    assert!(
        auth::authenticate(&store, presented, end - TimeDelta::seconds(1))
            .await
            .is_ok()
    );
    assert_eq!(
        kind(&auth::authenticate(&store, presented, end).await.unwrap_err()),
        "expired"
    );
    let listed = auth::issue::list(&store, None, end).await.unwrap();
    assert_eq!(listed[0].status, TokenStatus::Expired);
    let counts = |active, expired, revoked| auth::issue::TokenCounts {
        active,
        expired,
        revoked,
    };
    assert_eq!(auth::issue::counts(&store, end).await.unwrap(), counts(0, 1, 0));
    assert_eq!(auth::issue::counts(&store, at(2, 0)).await.unwrap(), counts(1, 0, 0));
    auth::issue::revoke(&store, issued.row.id, at(3, 0)).await.unwrap();
    assert_eq!(auth::issue::counts(&store, end).await.unwrap(), counts(0, 0, 1));
}

async fn tokens_are_refused_for_unknown_users_bad_names_and_past_expiries<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let create = |principal, name: Option<&str>, expires| {
        let store = store.clone();
        let request = CreateToken {
            principal,
            name: name.map(str::to_owned),
            expires,
        };
        async move { auth::issue::create(&store, request, at(12, 0)).await }
    };
    assert!(matches!(
        create(Principal::User(uid("nobody")), None, None).await,
        Err(TokenError::UnknownUser(u)) if u.as_str() == "nobody"
    ));
    assert!(matches!(
        create(Principal::Admin, Some(""), None).await,
        Err(TokenError::BadName(_))
    ));
    assert!(matches!(
        create(Principal::Admin, Some(&"x".repeat(65)), None).await,
        Err(TokenError::BadName(_))
    ));
    assert!(matches!(
        create(Principal::Admin, None, Some(Expiry::At(at(12, 0)))).await,
        Err(TokenError::ExpiryNotAfterNow { .. })
    ));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
    assert!(matches!(
        create(Principal::User(uid("ben")), None, Some(Expiry::Date(today))).await,
        Err(TokenError::ExpiryNotAfterNow { .. })
    ));
    assert!(matches!(
        auth::issue::list(&store, Some(&uid("nobody")), at(12, 0)).await,
        Err(TokenError::UnknownUser(_))
    ));
    assert!(store.list_tokens(None).await.unwrap().is_empty(), "nothing was stored");
}

async fn a_buffered_authentication_writes_nothing_until_the_flush_writes_every_use_at_once<S: TokenStorage>(store: S) {
    with_users(&store).await;
    let mut issued = Vec::new();
    for principal in [
        Principal::User(uid("ana")),
        Principal::User(uid("ben")),
        Principal::Admin,
    ] {
        let request = CreateToken {
            principal,
            name: None,
            expires: None,
        };
        issued.push(auth::issue::create(&store, request, at(1, 0)).await.unwrap());
    }
    let last_used = auth::LastUsed::new();
    for (i, t) in issued.iter().take(2).enumerate() {
        let when = at(2, i as u32);
        auth::authenticate_buffered(&store, t.token.expose(), when, &last_used)
            .await
            .unwrap();
        // A second use within the minute keeps the latest instant.
        auth::authenticate_buffered(&store, t.token.expose(), when + TimeDelta::seconds(5), &last_used)
            .await
            .unwrap();
    }
    assert_eq!(last_used.pending(), 2);
    let stored = |store: S| async move {
        store
            .list_tokens(None)
            .await
            .unwrap()
            .iter()
            .map(|r| r.last_used_at)
            .collect::<Vec<_>>()
    };
    assert_eq!(stored(store.clone()).await, [None, None, None], "nothing written yet");
    assert_eq!(last_used.flush(&store).await.unwrap(), 2);
    assert_eq!(last_used.pending(), 0);
    let five = TimeDelta::seconds(5);
    assert_eq!(
        stored(store.clone()).await,
        [Some(at(2, 0) + five), Some(at(2, 1) + five), None]
    );
    // Failures are never recorded; an unknown id in a batch is skipped.
    assert!(
        auth::authenticate_buffered(&store, "gk_nope", at(3, 0), &last_used)
            .await
            .is_err()
    );
    assert_eq!(last_used.pending(), 0);
    store.touch_tokens(&[(9_999, at(3, 0))]).await.unwrap();

    // run() flushes on its ticks and once more when stopped.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn(
        last_used
            .clone()
            .run(store.clone(), std::time::Duration::from_secs(3600), async {
                let _ = stopped.await;
            }),
    );
    auth::authenticate_buffered(&store, issued[2].token.expose(), at(4, 0), &last_used)
        .await
        .unwrap();
    stop.send(()).unwrap();
    runner.await.unwrap();
    assert_eq!(stored(store.clone()).await[2], Some(at(4, 0)));
}

fn kind(e: &AuthError) -> &'static str {
    match e {
        AuthError::Missing => "missing",
        AuthError::Malformed => "malformed",
        AuthError::Unknown => "unknown",
        AuthError::Revoked => "revoked",
        AuthError::Expired => "expired",
        AuthError::Storage(_) => "storage",
    }
}

on_both_backends!(
    a_token_is_stored_once_by_its_hash_and_listed_without_it,
    revoking_keeps_the_first_instant_and_an_unknown_id_is_not_found,
    last_used_is_written_at_most_once_a_minute,
    a_token_authenticates_its_principal_until_it_is_revoked,
    a_token_with_an_expiry_date_works_through_that_day_in_its_users_zone,
    tokens_are_refused_for_unknown_users_bad_names_and_past_expiries,
    a_buffered_authentication_writes_nothing_until_the_flush_writes_every_use_at_once,
);

mod any_input {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    #[test]
    fn an_arbitrary_presented_string_never_panics_and_never_authenticates() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (store, _dir) = runtime.block_on(common::sqlite_store());
        let strategy = prop_oneof![any::<String>(), "gk_[A-Za-z0-9_-]{40,46}", "(?i)bearer [ -~]{0,60}",];
        let mut runner = TestRunner::new(Config {
            cases: 512,
            ..Config::default()
        });
        runner
            .run(&strategy, |presented| {
                runtime.block_on(async {
                    let via_header = match auth::bearer_token(Some(&presented)) {
                        Ok(token) => auth::authenticate(&store, token, at(1, 0)).await,
                        Err(e) => Err(e),
                    };
                    let direct = auth::authenticate(&store, &presented, at(1, 0)).await;
                    prop_assert!(
                        matches!(via_header, Err(ref e) if e.is_unauthorized()),
                        "{via_header:?}"
                    );
                    prop_assert!(matches!(direct, Err(ref e) if e.is_unauthorized()), "{direct:?}");
                    Ok(())
                })
            })
            .unwrap();
    }
}
