//! The sign-in email: one plain-text message with the link, sent straight through the configured
//! transport (`[email] transport`: SMTP or `.eml` files), not through the alert outbox: it must
//! leave now, whatever the person's quiet hours, and it is not an alert.

use crate::config::EmailSettings;
use crate::email::transport::Transport;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

/// The transport and the sender.
#[derive(Debug)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn from_settings(email: &EmailSettings) -> anyhow::Result<Mailer> {
        let from = email
            .from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("email.from: {e}"))?;
        Ok(Mailer {
            transport: Transport::from_settings(email)?,
            from,
        })
    }

    /// Sends `link` to `to` (with their name when known).
    pub async fn send_link(&self, to: &str, name: Option<&str>, link: &str) -> anyhow::Result<()> {
        let address = to.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let greeting = name.map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {n},"));
        let body = format!(
            "{greeting}\n\nUse this link to sign in to goalkeeper:\n\n{link}\n\n\
             It works once, for 15 minutes. If you did not ask for it, ignore this email.\n"
        );
        // The file transport names its file after the Message-ID; a fresh one per email.
        let message_id = format!(
            "<goalkeeper.signin.{}@{}>",
            crate::web::secret::generate()?,
            self.from.email.domain()
        );
        let message = Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(Mailbox::new(name.map(str::to_owned), address))
            .subject("Your goalkeeper sign-in link")
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport
            .send(&message)
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}
