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
                call.progress(p.params.clone()).await;
                continue;
            }
            return Some(message);
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
