//! The dispatcher's own entry point: a [`Dispatcher`] over the configured transport
//! ([`crate::email::transport`]), one round sent, connections closed. The email module only
//! renders and transports; it knows nothing of the outbox.

use super::{DispatchSummary, Dispatcher, Mailer, SendFailure};
use crate::config::{EmailSettings, TransportKind};
use crate::email::{render, transport};
use crate::storage::AlertStorage;
use chrono::{DateTime, Utc};
use std::sync::Arc;

impl Mailer for transport::Transport {
    async fn send(&self, message: lettre::Message) -> Result<(), SendFailure> {
        match transport::Transport::send(self, &message).await {
            Ok(accepted) => {
                tracing::debug!(%accepted, "email accepted");
                Ok(())
            }
            Err(transport::SendError::Transient(e)) => Err(SendFailure::Transient(e)),
            Err(transport::SendError::Permanent(e)) => Err(SendFailure::Permanent(e)),
        }
    }

    fn batch_size(&self) -> Option<usize> {
        matches!(self, transport::Transport::File(_)).then_some(FILE_BATCH)
    }

    async fn send_batch(&self, messages: Vec<lettre::Message>) -> Vec<Result<(), SendFailure>> {
        let transport::Transport::File(files) = self else {
            let mut results = Vec::with_capacity(messages.len());
            for message in messages {
                results.push(Mailer::send(self, message).await);
            }
            return results;
        };
        files
            .send_batch(&messages)
            .await
            .into_iter()
            .map(|result| match result {
                Ok(accepted) => {
                    tracing::debug!(%accepted, "email accepted");
                    Ok(())
                }
                Err(transport::SendError::Transient(e)) => Err(SendFailure::Transient(e)),
                Err(transport::SendError::Permanent(e)) => Err(SendFailure::Permanent(e)),
            })
            .collect()
    }
}

/// `.eml` files written and synced together before their batch is recorded as sent: at most
/// this many are written again after a crash.
const FILE_BATCH: usize = 256;

/// A dispatcher for the configured transport.
pub fn dispatcher(settings: &EmailSettings) -> anyhow::Result<Dispatcher<transport::Transport>> {
    let sender = render::Sender::from_settings(settings).map_err(|e| anyhow::anyhow!("email.from: {e}"))?;
    let concurrency = match settings.transport {
        TransportKind::Smtp => usize::try_from(settings.smtp.connections).unwrap_or(1),
        // Files go in batches ([`FILE_BATCH`]), one at a time.
        TransportKind::File => 1,
    };
    Ok(Dispatcher {
        mailer: Arc::new(transport::Transport::from_settings(settings)?),
        settings: settings.clone(),
        sender,
        instance: crate::email::instance_name(),
        concurrency,
    })
}

/// Sends everything due at `now` through the configured transport, then closes its connections.
pub async fn send_due<S: AlertStorage>(
    store: &S,
    settings: &EmailSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<DispatchSummary> {
    send_due_until(store, settings, now, &crate::stop::Stop::never()).await
}

/// [`send_due`], stopping early when `stop` is requested (see [`Dispatcher::run_until`]).
pub async fn send_due_until<S: AlertStorage>(
    store: &S,
    settings: &EmailSettings,
    now: DateTime<Utc>,
    stop: &crate::stop::Stop,
) -> anyhow::Result<DispatchSummary> {
    let dispatcher = dispatcher(settings)?;
    let summary = dispatcher.run_until(store, now, stop).await;
    dispatcher.mailer.close().await;
    let summary = summary?;
    if summary != DispatchSummary::default() {
        tracing::info!(
            emails_sent = summary.emails_sent,
            alerts_sent = summary.alerts_sent,
            deferred = summary.deferred,
            retrying = summary.retrying,
            failed = summary.failed,
            "dispatch"
        );
    }
    Ok(summary)
}
