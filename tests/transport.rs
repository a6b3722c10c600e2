//! The email transports against a real SMTP server in this process
//! (`common::smtp`) and a real folder.

mod common;

use common::smtp::{Behaviour, SmtpServer};
use goalkeeper::config::{EmailSettings, Settings, SmtpSecurity, TransportKind};
use goalkeeper::email::transport::{Accepted, SendError, Transport};
use lettre::Message;
use lettre::message::MultiPart;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn smtp_settings(port: u16) -> EmailSettings {
    let mut email = Settings::builtin().unwrap().email;
    email.transport = TransportKind::Smtp;
    email.smtp.host = "127.0.0.1".to_owned();
    email.smtp.port = port;
    email.smtp.security = SmtpSecurity::None;
    email.smtp.timeout_seconds = 1;
    email
}

fn file_settings(dir: &std::path::Path) -> EmailSettings {
    let mut email = Settings::builtin().unwrap().email;
    email.transport = TransportKind::File;
    email.file.dir = dir.to_path_buf();
    email
}

fn alert(message_id: &str, subject: &str) -> Message {
    Message::builder()
        .from("goalkeeper <goals@example.org>".parse().unwrap())
        .to("Alice Example <alice@example.org>".parse().unwrap())
        .cc("bob@example.org".parse().unwrap())
        .subject(subject)
        .message_id(Some(message_id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            "You saved 1,200.00 EUR of 5,000.00 EUR.\n\n.a line starting with a dot\n".to_owned(),
            "<p>You saved <b>1,200.00 EUR</b> of 5,000.00 EUR.</p>".to_owned(),
        ))
        .unwrap()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_message_reaches_the_smtp_server_with_its_recipients_headers_and_both_parts() {
    let server = SmtpServer::start(Behaviour::Accept);
    let transport = Transport::from_settings(&smtp_settings(server.port)).unwrap();

    let accepted = transport
        .send(&alert("<a1@goalkeeper.test>", "Holiday fund: on track"))
        .await;

    match accepted {
        Ok(Accepted::Smtp { reply }) => assert!(reply.starts_with("250"), "{reply}"),
        other => panic!("expected the server to accept, got {other:?}"),
    }
    let received = server.wait_for(1, WAIT);
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.from, "goals@example.org");
    assert_eq!(message.to, ["alice@example.org", "bob@example.org"]);
    assert_eq!(message.header("Subject").as_deref(), Some("Holiday fund: on track"));
    assert_eq!(message.header("Message-ID").as_deref(), Some("<a1@goalkeeper.test>"));
    assert_eq!(
        message.header("To").as_deref(),
        Some("\"Alice Example\" <alice@example.org>")
    );
    let text = message.text();
    assert!(text.contains("Content-Type: text/plain"), "{text}");
    assert!(text.contains("Content-Type: text/html"), "{text}");
    assert!(text.contains("You saved 1,200.00 EUR of 5,000.00 EUR."), "{text}");
    assert!(
        text.contains("\r\n.a line starting with a dot\r\n"),
        "dot-stuffing lost a dot: {text}"
    );
    assert!(text.contains("<b>1,200.00 EUR</b>"), "{text}");
    transport.close().await;
}

#[tokio::test]
async fn pooled_connections_are_reused_between_sends() {
    let server = SmtpServer::start(Behaviour::Accept);
    let transport = Transport::from_settings(&smtp_settings(server.port)).unwrap();

    transport.send(&alert("<p1@goalkeeper.test>", "one")).await.unwrap();
    // lettre hands the connection back to its pool in a task of its own.
    tokio::time::sleep(Duration::from_millis(200)).await;
    transport.send(&alert("<p2@goalkeeper.test>", "two")).await.unwrap();

    assert_eq!(server.wait_for(2, WAIT).len(), 2);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_451_answer_is_a_transient_failure_and_the_next_try_succeeds() {
    let server = SmtpServer::start(Behaviour::TempFailFirst(1));
    let transport = Transport::from_settings(&smtp_settings(server.port)).unwrap();
    let message = alert("<t1@goalkeeper.test>", "deferred once");

    let first = transport.send(&message).await;
    match &first {
        Err(SendError::Transient(text)) => assert!(text.contains("451"), "{text}"),
        other => panic!("expected a transient failure, got {other:?}"),
    }
    assert!(server.messages().is_empty());

    transport.send(&message).await.unwrap();
    let received = server.wait_for(1, WAIT);
    assert_eq!(
        received[0].header("Message-ID").as_deref(),
        Some("<t1@goalkeeper.test>")
    );
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn a_550_answer_is_a_permanent_failure_carrying_the_servers_reply() {
    let server = SmtpServer::start(Behaviour::Reject);
    let transport = Transport::from_settings(&smtp_settings(server.port)).unwrap();

    let result = transport.send(&alert("<r1@goalkeeper.test>", "refused")).await;

    match &result {
        Err(SendError::Permanent(text)) => {
            assert!(text.contains("550"), "{text}");
            assert!(text.contains("mailbox unavailable"), "{text}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert_eq!(server.attempts(), 1);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_is_abandoned_within_the_timeout() {
    let server = SmtpServer::start(Behaviour::NeverAnswer);
    let transport = Transport::from_settings(&smtp_settings(server.port)).unwrap();

    let started = Instant::now();
    let result = transport.send(&alert("<n1@goalkeeper.test>", "into the void")).await;
    let took = started.elapsed();

    match &result {
        Err(SendError::Transient(text)) => assert!(text.contains("timed out after 1s"), "{text}"),
        other => panic!("expected a transient failure, got {other:?}"),
    }
    assert!(took >= Duration::from_millis(900), "gave up too early: {took:?}");
    assert!(took < Duration::from_secs(3), "took {took:?} with timeout_seconds = 1");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_send_abandoned_half_way_never_leaves_its_connection_for_the_next_one() {
    let server = SmtpServer::start(Behaviour::StallFirst(Duration::from_millis(1500)));
    let transport = Transport::from_settings(&smtp_settings(server.port)).unwrap();

    let first = transport.send(&alert("<s1@goalkeeper.test>", "stalled")).await;
    assert!(
        matches!(&first, Err(SendError::Transient(text)) if text.contains("timed out")),
        "{first:?}"
    );
    // Let the server give its late answer to the abandoned message.
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let second = transport.send(&alert("<s2@goalkeeper.test>", "after the stall")).await;

    assert!(matches!(&second, Ok(Accepted::Smtp { .. })), "{second:?}");
    let received = server.wait_for(2, WAIT);
    assert_eq!(
        received[1].header("Message-ID").as_deref(),
        Some("<s2@goalkeeper.test>")
    );
    assert_eq!(server.connections(), 2, "the second send must use a fresh connection");
}

#[tokio::test]
async fn a_refused_connection_is_a_transient_failure() {
    let transport = Transport::from_settings(&smtp_settings(free_port())).unwrap();

    let result = transport.send(&alert("<c1@goalkeeper.test>", "nobody home")).await;

    assert!(matches!(&result, Err(SendError::Transient(_))), "{result:?}");
}

#[tokio::test]
async fn required_starttls_sends_nothing_to_a_server_that_does_not_offer_it() {
    let server = SmtpServer::start(Behaviour::Accept);
    let mut email = smtp_settings(server.port);
    email.smtp.security = SmtpSecurity::Starttls;
    let transport = Transport::from_settings(&email).unwrap();

    let result = transport.send(&alert("<st1@goalkeeper.test>", "secret")).await;

    match &result {
        Err(SendError::Transient(text)) => assert!(text.contains("does not offer STARTTLS"), "{text}"),
        other => panic!("expected a transient failure, got {other:?}"),
    }
    assert_eq!(server.attempts(), 0, "MAIL FROM went out in plain text");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn the_login_uses_the_first_line_of_the_password_file() {
    let server = SmtpServer::start_with_login(Behaviour::Accept, "goalkeeper", "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, "s3cret\nnot this line\n").unwrap();
    let mut email = smtp_settings(server.port);
    email.smtp.username = "goalkeeper".to_owned();
    email.smtp.password_file = password_file.clone();

    let transport = Transport::from_settings(&email).unwrap();
    transport
        .send(&alert("<l1@goalkeeper.test>", "logged in"))
        .await
        .unwrap();
    assert_eq!(server.wait_for(1, WAIT).len(), 1);

    std::fs::write(&password_file, "wrong\n").unwrap();
    let transport = Transport::from_settings(&email).unwrap();
    let result = transport.send(&alert("<l2@goalkeeper.test>", "not logged in")).await;
    match &result {
        Err(SendError::Permanent(text)) => {
            assert!(text.contains("535"), "{text}");
            assert!(!text.contains("wrong"), "the password leaked into {text}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn the_file_transport_writes_one_eml_per_message_id_and_replaces_it_on_resend() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("var").join("outbox");
    let transport = Transport::from_settings(&file_settings(&outbox)).unwrap();

    let first = transport
        .send(&alert("<f1@goalkeeper.test>", "first version"))
        .await
        .unwrap();
    transport.send(&alert("<f2@goalkeeper.test>", "another")).await.unwrap();
    let again = transport
        .send(&alert("<f1@goalkeeper.test>", "second version"))
        .await
        .unwrap();

    let path = outbox.join("f1_goalkeeper.test.eml");
    assert_eq!(first, Accepted::File { path: path.clone() });
    assert_eq!(again, first);
    assert_eq!(
        common::names_in(&outbox),
        ["f1_goalkeeper.test.eml", "f2_goalkeeper.test.eml"],
        "one file per Message-ID and no temporary files left"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("Subject: second version\r\n"), "{text}");
    assert!(text.contains("Message-ID: <f1@goalkeeper.test>\r\n"), "{text}");
    assert!(text.contains("Content-Type: text/html"), "{text}");
}

#[tokio::test]
async fn the_file_transport_refuses_a_message_without_a_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let transport = Transport::from_settings(&file_settings(dir.path())).unwrap();
    let mut message = alert("<x@goalkeeper.test>", "no id");
    message.headers_mut().remove_raw("Message-ID");

    let result = transport.send(&message).await;

    assert!(matches!(&result, Err(SendError::Permanent(_))), "{result:?}");
    assert!(common::names_in(dir.path()).is_empty());
}

#[tokio::test]
async fn a_file_batch_writes_every_message_and_refuses_only_the_one_without_a_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let Transport::File(files) = Transport::from_settings(&file_settings(&outbox)).unwrap() else {
        panic!("a file transport was configured");
    };
    let mut nameless = alert("<x@goalkeeper.test>", "no id");
    nameless.headers_mut().remove_raw("Message-ID");
    let batch = [
        alert("<b1@goalkeeper.test>", "first"),
        nameless,
        alert("<b2@goalkeeper.test>", "second"),
    ];

    let results = files.send_batch(&batch).await;

    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0],
        Ok(Accepted::File {
            path: outbox.join("b1_goalkeeper.test.eml")
        })
    );
    assert!(matches!(&results[1], Err(SendError::Permanent(_))), "{:?}", results[1]);
    assert!(results[2].is_ok(), "{:?}", results[2]);
    assert_eq!(
        common::names_in(&outbox),
        ["b1_goalkeeper.test.eml", "b2_goalkeeper.test.eml"],
        "no temporary files left"
    );
    // The batch written again after a crash replaces the same files.
    let again = files.send_batch(&[alert("<b1@goalkeeper.test>", "first, again")]).await;
    assert!(again[0].is_ok());
    assert_eq!(common::names_in(&outbox).len(), 2);
    let text = std::fs::read_to_string(outbox.join("b1_goalkeeper.test.eml")).unwrap();
    assert!(text.contains("Subject: first, again\r\n"), "{text}");
}
