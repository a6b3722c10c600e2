//! The storage suite: every test runs on SQLite, and on PostgreSQL when
//! GOALKEEPER_TEST_POSTGRES_URL is set (always, in CI).

#[macro_use]
mod common;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use common::VecSource;
use goalkeeper::domain::snapshot::Totals;
use goalkeeper::domain::{Email, Kind, Money, Period, SnapshotLine, User, UserId};
use goalkeeper::storage::{AddOutcome, IngestBatch, IngestError, LineChunks, NewFile, NewLine, NewSnapshot, Storage};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap()
}

fn user(id: &str, tz: Tz) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        email: Some(Email::parse(&format!("{id}@example.org")).unwrap()),
        display_name: Some(format!("User {id}")),
        timezone: tz,
    }
}

fn period(s: &str) -> Period {
    s.parse().unwrap()
}

fn line(kind: Kind, account: Option<&str>, category: &str, cents: i64) -> SnapshotLine {
    SnapshotLine::new(kind, account, category, Money::from_cents(cents))
}

/// A file of snapshots: (user, period, lines) with totals computed as the inbox does.
fn file_of(sha: &str, snaps: &[(&str, &str, Vec<SnapshotLine>)]) -> (NewFile, Vec<NewSnapshot>, VecSource) {
    let mut snapshots = Vec::new();
    let mut lines = Vec::new();
    let mut line_no = 1;
    for (i, (u, p, ls)) in snaps.iter().enumerate() {
        let mut totals = Totals::default();
        for l in ls {
            totals.add(l.kind, l.amount).unwrap();
            line_no += 1;
            lines.push(NewLine {
                snapshot: i,
                line_no,
                line: l.clone(),
            });
        }
        snapshots.push(NewSnapshot {
            user_id: UserId::parse(u).unwrap(),
            period: period(p),
            totals,
            line_count: ls.len() as u64,
        });
    }
    let file = NewFile {
        sha256: sha.into(),
        file_name: format!("{sha}.csv"),
        size_bytes: 100,
        line_count: lines.len() as u64,
    };
    (file, snapshots, VecSource::new(lines))
}

fn batch<'a>(file: &'a NewFile, create_users: &'a [User], snapshots: &'a [NewSnapshot]) -> IngestBatch<'a> {
    IngestBatch {
        file,
        create_users,
        snapshots,
        progress: &[],
        completed: &[],
        alerts: &[],
    }
}

async fn migrations_can_be_applied_again_without_harm<S: Storage>(store: S) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
}

async fn a_user_is_added_once_and_listed_in_id_order<S: Storage>(store: S) {
    assert_eq!(
        store.add_user(&user("zed", Tz::UTC), now()).await.unwrap(),
        AddOutcome::Created
    );
    assert_eq!(
        store.add_user(&user("amy", Tz::Asia__Tokyo), now()).await.unwrap(),
        AddOutcome::Created
    );
    assert_eq!(
        store.add_user(&user("amy", Tz::UTC), now()).await.unwrap(),
        AddOutcome::AlreadyExists
    );
    let users = store.list_users().await.unwrap();
    assert_eq!(users, [user("amy", Tz::Asia__Tokyo), user("zed", Tz::UTC)]);
    assert_eq!(
        store.get_user(&UserId::parse("zed").unwrap()).await.unwrap(),
        Some(user("zed", Tz::UTC))
    );
    assert_eq!(store.get_user(&UserId::parse("nobody").unwrap()).await.unwrap(), None);
}

async fn an_import_creates_new_users_and_updates_existing_ones<S: Storage>(store: S) {
    store.add_user(&user("a", Tz::UTC), now()).await.unwrap();
    let mut changed = user("a", Tz::Europe__Berlin);
    changed.display_name = None;
    let counts = store
        .upsert_users(&[changed.clone(), user("b", Tz::UTC)], now())
        .await
        .unwrap();
    assert_eq!((counts.created, counts.updated), (1, 1));
    assert_eq!(store.list_users().await.unwrap(), [changed, user("b", Tz::UTC)]);
}

async fn known_user_ids_are_found_across_many_lookups<S: Storage>(store: S) {
    let users: Vec<User> = (0..1200).map(|i| user(&format!("u{i:04}"), Tz::UTC)).collect();
    store.upsert_users(&users, now()).await.unwrap();
    let mut asked: Vec<String> = (0..1300).step_by(2).map(|i| format!("u{i:04}")).collect();
    asked.push("stranger".into());
    let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
    let known = store.known_user_ids(&refs).await.unwrap();
    assert_eq!(known.len(), 600);
    assert!(known.contains("u1198") && !known.contains("u1200") && !known.contains("stranger"));
}

async fn an_ingested_file_is_stored_with_its_snapshots_lines_and_totals<S: Storage>(store: S) {
    store.add_user(&user("ana", Tz::Europe__Berlin), now()).await.unwrap();
    let mut debt = line(Kind::Debt, Some("card"), "credit_card", 300_000);
    debt.rate = Some("21.9".parse().unwrap());
    debt.min_payment = Some(Money::from_cents(2_500));
    let (file, snaps, source) = file_of(
        "f1",
        &[(
            "ana",
            "2025-01",
            vec![
                line(Kind::Income, None, "salary", 500_000),
                line(Kind::Expense, None, "housing", 150_000),
                line(Kind::Savings, Some("efund"), "emergency_fund", 1_000_000),
                debt,
            ],
        )],
    );
    let outcome = store
        .ingest_file(batch(&file, &[], &snaps), &mut LineChunks::spawn(source), now())
        .await
        .unwrap();
    assert_eq!((outcome.snapshots, outcome.corrections, outcome.lines), (1, 0, 4));

    let found = store.find_ingested_file("f1").await.unwrap().unwrap();
    assert_eq!((found.file_name.as_str(), found.ingested_at), ("f1.csv", now()));
    let snap = store
        .get_snapshot(&UserId::parse("ana").unwrap(), period("2025-01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((snap.row.version, snap.versions, snap.row.is_current), (1, 1, true));
    assert_eq!(snap.lines.len(), 4);
    assert_eq!(snap.lines[3].rate.unwrap().to_string(), "21.9");
    assert_eq!(snap.summary.surplus, Money::from_cents(350_000));
    assert_eq!(snap.summary.savings_rate, Some(0.7));
    assert_eq!(snap.summary.net_worth, Money::from_cents(700_000));
    assert_eq!(snap.row.total_income, Money::from_cents(500_000));
    assert!(
        store
            .get_snapshot(&UserId::parse("ana").unwrap(), period("2025-02"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn the_same_content_twice_is_refused_as_already_ingested<S: Storage>(store: S) {
    store.add_user(&user("ana", Tz::UTC), now()).await.unwrap();
    let snap = || vec![("ana", "2025-01", vec![line(Kind::Income, None, "salary", 100)])];
    let (file, snaps, source) = file_of("same", &snap());
    store
        .ingest_file(batch(&file, &[], &snaps), &mut LineChunks::spawn(source), now())
        .await
        .unwrap();
    let (file, snaps, source) = file_of("same", &snap());
    let again = store
        .ingest_file(batch(&file, &[], &snaps), &mut LineChunks::spawn(source), now())
        .await;
    assert!(matches!(again, Err(IngestError::AlreadyIngested)), "{again:?}");
    assert_eq!(store.list_snapshots(None).await.unwrap().len(), 1);
}

async fn a_correction_supersedes_the_current_version_and_keeps_history<S: Storage>(store: S) {
    store
        .upsert_users(&[user("ana", Tz::UTC), user("ben", Tz::UTC)], now())
        .await
        .unwrap();
    let (file, snaps, source) = file_of(
        "v1",
        &[
            ("ana", "2025-01", vec![line(Kind::Income, None, "salary", 100)]),
            ("ben", "2025-01", vec![line(Kind::Income, None, "salary", 200)]),
        ],
    );
    store
        .ingest_file(batch(&file, &[], &snaps), &mut LineChunks::spawn(source), now())
        .await
        .unwrap();
    for (sha, cents) in [("v2", 150), ("v3", 175)] {
        let (file, snaps, source) = file_of(
            sha,
            &[("ana", "2025-01", vec![line(Kind::Income, None, "salary", cents)])],
        );
        let outcome = store
            .ingest_file(batch(&file, &[], &snaps), &mut LineChunks::spawn(source), now())
            .await
            .unwrap();
        assert_eq!(outcome.corrections, 1);
    }
    let ana = UserId::parse("ana").unwrap();
    let current = store.get_snapshot(&ana, period("2025-01")).await.unwrap().unwrap();
    assert_eq!((current.row.version, current.versions), (3, 3));
    assert_eq!(current.summary.total_income, Money::from_cents(175));
    let history = store.list_snapshots(Some(&ana)).await.unwrap();
    let versions: Vec<(i64, bool)> = history.iter().map(|r| (r.version, r.is_current)).collect();
    assert_eq!(versions, [(3, true), (2, false), (1, false)]);
    let ben = store
        .get_snapshot(&UserId::parse("ben").unwrap(), period("2025-01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ben.row.version, 1);
}

async fn a_failing_line_source_leaves_nothing_stored<S: Storage>(store: S) {
    store.add_user(&user("ana", Tz::UTC), now()).await.unwrap();
    let lines: Vec<SnapshotLine> = (0..5000)
        .map(|i| line(Kind::Expense, None, &format!("c{i}"), 1))
        .collect();
    let (file, snaps, mut source) = file_of("broken", &[("ana", "2025-01", lines)]);
    source.fail_at = Some(4500);
    let newcomer = user("newcomer", Tz::UTC);
    let result = store
        .ingest_file(batch(&file, &[newcomer], &snaps), &mut LineChunks::spawn(source), now())
        .await;
    assert!(matches!(result, Err(IngestError::Source(_))), "{result:?}");
    assert!(store.find_ingested_file("broken").await.unwrap().is_none());
    assert!(store.list_snapshots(None).await.unwrap().is_empty());
    assert!(
        store
            .get_user(&UserId::parse("newcomer").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_reader_that_dies_midway_is_an_error_not_a_short_file<S: Storage>(store: S) {
    store.add_user(&user("ana", Tz::UTC), now()).await.unwrap();
    let lines: Vec<SnapshotLine> = (0..9000)
        .map(|i| line(Kind::Expense, None, &format!("c{i}"), 1))
        .collect();
    let (file, snaps, mut source) = file_of("dies", &[("ana", "2025-01", lines)]);
    source.panic_at = Some(8000);
    let result = store
        .ingest_file(batch(&file, &[], &snaps), &mut LineChunks::spawn(source), now())
        .await;
    assert!(matches!(result, Err(IngestError::Source(_))), "{result:?}");
    assert!(store.find_ingested_file("dies").await.unwrap().is_none());
    assert!(store.list_snapshots(None).await.unwrap().is_empty());
}

async fn users_named_by_a_file_can_be_created_with_it<S: Storage>(store: S) {
    let newcomer = User {
        id: UserId::parse("newcomer").unwrap(),
        email: None,
        display_name: None,
        timezone: Tz::UTC,
    };
    let (file, snaps, source) = file_of(
        "auto",
        &[("newcomer", "2025-01", vec![line(Kind::Income, None, "salary", 1)])],
    );
    store
        .ingest_file(
            batch(&file, std::slice::from_ref(&newcomer), &snaps),
            &mut LineChunks::spawn(source),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(store.list_users().await.unwrap(), [newcomer]);
}

async fn a_large_file_is_stored_across_many_statements<S: Storage>(store: S) {
    let users: Vec<User> = (0..600).map(|i| user(&format!("u{i:03}"), Tz::UTC)).collect();
    store.upsert_users(&users, now()).await.unwrap();
    let mut snaps = Vec::new();
    for (n, u) in users.iter().enumerate() {
        for p in ["2025-01", "2025-02"] {
            let ls = vec![
                line(Kind::Income, None, "salary", 1000 + n as i64),
                line(Kind::Expense, None, "rent", 400),
                line(Kind::Savings, Some("efund"), "emergency_fund", 5000),
                line(Kind::Debt, Some("card"), "credit_card", 700),
            ];
            snaps.push((u.id.as_str(), p, ls));
        }
    }
    let (file, new_snaps, source) = file_of("big", &snaps);
    let outcome = store
        .ingest_file(batch(&file, &[], &new_snaps), &mut LineChunks::spawn(source), now())
        .await
        .unwrap();
    assert_eq!((outcome.snapshots, outcome.lines), (1200, 4800));
    let rows = store.list_snapshots(None).await.unwrap();
    assert_eq!(rows.len(), 1200);
    assert!(
        rows.iter()
            .all(|r| r.net_worth == Money::from_cents(4300) && r.line_count == 4)
    );
    // A correction of every snapshot in one file: 1200 superseded at once.
    let (file, new_snaps, source) = file_of("big-again", &snaps);
    let outcome = store
        .ingest_file(batch(&file, &[], &new_snaps), &mut LineChunks::spawn(source), now())
        .await
        .unwrap();
    assert_eq!(outcome.corrections, 1200);
    let snap = store
        .get_snapshot(&UserId::parse("u599").unwrap(), period("2025-02"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((snap.row.version, snap.lines.len()), (2, 4));
}

on_both_backends!(
    migrations_can_be_applied_again_without_harm,
    a_user_is_added_once_and_listed_in_id_order,
    an_import_creates_new_users_and_updates_existing_ones,
    known_user_ids_are_found_across_many_lookups,
    an_ingested_file_is_stored_with_its_snapshots_lines_and_totals,
    the_same_content_twice_is_refused_as_already_ingested,
    a_correction_supersedes_the_current_version_and_keeps_history,
    a_failing_line_source_leaves_nothing_stored,
    a_reader_that_dies_midway_is_an_error_not_a_short_file,
    users_named_by_a_file_can_be_created_with_it,
    a_large_file_is_stored_across_many_statements,
);

/// `--dry-run`'s store: it reads what `writer` stored and the database refuses its writes.
async fn a_read_only_store_reads_and_cannot_write<S: Storage>(writer: &S, reader: S) {
    writer.add_user(&user("amy", Tz::UTC), now()).await.unwrap();
    let ids: Vec<String> = reader
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    assert_eq!(ids, ["amy"]);
    let refused = format!(
        "{:#}",
        reader
            .add_user(&user("bob", Tz::UTC), now())
            .await
            .expect_err("a write through a read-only store succeeded")
    );
    assert!(
        refused.contains("readonly database") || refused.contains("read-only transaction"),
        "{refused}"
    );
    reader.close().await;
    assert_eq!(writer.list_users().await.unwrap().len(), 1);
}

mod read_only {
    use super::*;
    use goalkeeper::storage::{PgStore, SqliteStore};

    #[tokio::test]
    async fn a_read_only_sqlite_store_reads_and_cannot_write() {
        let (writer, dir) = common::sqlite_store().await;
        let url = format!("sqlite://{}", dir.path().join("gk.db").display());
        let reader = SqliteStore::connect_read_only(&url).await.unwrap();
        a_read_only_store_reads_and_cannot_write(&writer, reader).await;
    }

    #[tokio::test]
    async fn a_read_only_postgresql_store_reads_and_cannot_write() {
        let Some(admin) = common::postgres_url() else { return };
        let (writer, schema) = common::pg_store(&admin).await;
        let reader = PgStore::connect_read_only(&schema.url).await.unwrap();
        a_read_only_store_reads_and_cannot_write(&writer, reader).await;
        writer.close().await;
        schema.drop().await;
    }
}
