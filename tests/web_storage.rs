//! Web sign-in in storage and its rules through `web::session`: login links (single use, 15
//! minutes), sessions (idle and absolute expiry, revocation, one user's sign-out everywhere).
//! Every test runs on SQLite, and on PostgreSQL when GOALKEEPER_TEST_POSTGRES_URL is set.

#[macro_use]
mod common;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use goalkeeper::domain::user::Email;
use goalkeeper::domain::{User, UserId};
use goalkeeper::storage::{Storage, WebStorage};
use goalkeeper::web::session::{self, ABSOLUTE_LIFETIME, IDLE_LIFETIME, LINK_LIFETIME, LinkRefused};

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, h, m, 0).unwrap()
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

async fn with_users<S: Storage>(store: &S) {
    for id in ["ana", "ben"] {
        let user = User {
            id: uid(id),
            email: Some(Email::parse(&format!("{id}@Example.org")).unwrap()),
            display_name: None,
            timezone: Tz::UTC,
        };
        store.add_user(&user, at(0, 0)).await.unwrap();
    }
}

async fn a_login_link_signs_in_once_within_fifteen_minutes<S: WebStorage>(store: S) {
    with_users(&store).await;
    let token = session::issue_link(&store, &uid("ana"), at(9, 0)).await.unwrap();
    let stored = store
        .find_login_link(&goalkeeper::web::secret::hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.sha256, token, "only the hash is stored");
    assert_eq!(
        (stored.user_id.clone(), stored.expires_at),
        (uid("ana"), at(9, 0) + LINK_LIFETIME)
    );

    let (user, sid) = session::redeem_link(&store, &token, at(9, 14)).await.unwrap().unwrap();
    assert_eq!(user, uid("ana"));
    assert_eq!(
        session::authenticate(&store, &sid, at(9, 15)).await.unwrap(),
        Some(uid("ana"))
    );
    assert_eq!(
        session::redeem_link(&store, &token, at(9, 14))
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefused::Used
    );

    let late = session::issue_link(&store, &uid("ben"), at(9, 0)).await.unwrap();
    assert_eq!(
        session::redeem_link(&store, &late, at(9, 15))
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefused::Expired
    );
    let junk = goalkeeper::web::secret::generate().unwrap();
    for bad in [junk.as_str(), "", "nonsense"] {
        assert_eq!(
            session::redeem_link(&store, bad, at(9, 1)).await.unwrap().unwrap_err(),
            LinkRefused::Unknown
        );
    }
    // Exactly one of two racing uses wins.
    let t = session::issue_link(&store, &uid("ben"), at(9, 0)).await.unwrap();
    let h = goalkeeper::web::secret::hash(&t);
    assert!(store.use_login_link(&h, at(9, 1)).await.unwrap());
    assert!(!store.use_login_link(&h, at(9, 1)).await.unwrap());
}

async fn a_session_ends_when_idle_past_its_absolute_expiry_or_signed_out<S: WebStorage>(store: S) {
    with_users(&store).await;
    let sid = session::start_session(&store, &uid("ana"), at(1, 0)).await.unwrap();
    let row = store
        .find_session(&goalkeeper::web::secret::hash(&sid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.expires_at, at(1, 0) + ABSOLUTE_LIFETIME);
    // Seen again within the idle lifetime, again and again: alive until the absolute expiry.
    let mut t = at(1, 0);
    while t + IDLE_LIFETIME - TimeDelta::hours(1) < at(1, 0) + ABSOLUTE_LIFETIME {
        t += IDLE_LIFETIME - TimeDelta::hours(1);
        assert_eq!(
            session::authenticate(&store, &sid, t).await.unwrap(),
            Some(uid("ana")),
            "{t}"
        );
    }
    assert_eq!(
        session::authenticate(&store, &sid, at(1, 0) + ABSOLUTE_LIFETIME)
            .await
            .unwrap(),
        None
    );

    let idle = session::start_session(&store, &uid("ana"), at(1, 0)).await.unwrap();
    assert_eq!(
        session::authenticate(&store, &idle, at(1, 0) + IDLE_LIFETIME)
            .await
            .unwrap(),
        None
    );

    let out = session::start_session(&store, &uid("ana"), at(1, 0)).await.unwrap();
    session::end_session(&store, &out, at(1, 5)).await.unwrap();
    assert_eq!(session::authenticate(&store, &out, at(1, 6)).await.unwrap(), None);
}

async fn signing_a_user_out_ends_their_sessions_and_links_only<S: WebStorage>(store: S) {
    with_users(&store).await;
    let a1 = session::start_session(&store, &uid("ana"), at(1, 0)).await.unwrap();
    let a2 = session::start_session(&store, &uid("ana"), at(1, 0)).await.unwrap();
    let b = session::start_session(&store, &uid("ben"), at(1, 0)).await.unwrap();
    let link = session::issue_link(&store, &uid("ana"), at(1, 0)).await.unwrap();
    assert_eq!(store.revoke_user_sessions(&uid("ana"), at(1, 1)).await.unwrap(), 2);
    for s in [&a1, &a2] {
        assert_eq!(session::authenticate(&store, s, at(1, 2)).await.unwrap(), None);
    }
    assert_eq!(
        session::authenticate(&store, &b, at(1, 2)).await.unwrap(),
        Some(uid("ben"))
    );
    assert!(session::redeem_link(&store, &link, at(1, 2)).await.unwrap().is_err());
    assert_eq!(store.revoke_user_sessions(&uid("ana"), at(1, 3)).await.unwrap(), 0);
}

async fn a_user_is_found_by_email_whatever_its_case<S: WebStorage>(store: S) {
    with_users(&store).await;
    assert_eq!(store.user_by_email("ANA@example.ORG").await.unwrap(), Some(uid("ana")));
    assert_eq!(store.user_by_email("nobody@example.org").await.unwrap(), None);
}

on_both_backends!(
    a_login_link_signs_in_once_within_fifteen_minutes,
    a_session_ends_when_idle_past_its_absolute_expiry_or_signed_out,
    signing_a_user_out_ends_their_sessions_and_links_only,
    a_user_is_found_by_email_whatever_its_case,
);
