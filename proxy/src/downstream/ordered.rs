//! A transport wrapper that relays a downstream's progress notifications in the order they arrive.
//!
//! rmcp hands each notification to its own task, so a call's last progress could reach the client
//! after the call's response. Progress for a call in flight is therefore relayed here, in the
//! connection's receive loop, before any later message (the response) is read.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use rmcp::RoleClient;
use rmcp::model::{JsonRpcMessage, ServerNotification};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;

use crate::relay::InFlight;

/// How long relaying one progress notification may hold up the connection's receive loop.
const PROGRESS_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

pub(super) struct Ordered<T> {
    inner: T,
    inflight: Arc<InFlight>,
}

impl<T> Ordered<T> {
    pub(super) fn new(inner: T, inflight: Arc<InFlight>) -> Self {
        Ordered { inner, inflight }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Ordered<T> {
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let message = self.inner.receive().await?;
            if let JsonRpcMessage::Notification(n) = &message
                && let ServerNotification::ProgressNotification(p) = &n.notification
                && let Some(call) = self.inflight.by_progress(&p.params.progress_token)
            {
                // A slow client must not hold up the connection every session shares: its
                // progress waits at most this long, then is dropped (progress is advisory).
                let relayed = tokio::time::timeout(PROGRESS_WAIT, call.progress(p.params.clone()));
                if relayed.await.is_err() {
                    tracing::debug!("progress dropped: the client did not take it in time");
                }
                continue;
            }
            return Some(message);
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
