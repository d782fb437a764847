//! Relaying from a downstream server back to the right client: which client call a downstream's
//! progress, log, sampling, elicitation or roots request belongs to, and the way to that client.
//!
//! Downstream connections are shared by every client session, so each call the gateway forwards is
//! registered on its link under the downstream request id and progress token rmcp gave it. A
//! progress notification names its token; a request the server sends over Streamable HTTP names the
//! request whose response stream carried it. Over stdio nothing names the call, so a server
//! request is given to the one client session with calls in flight on that link, and refused when
//! there are several: a message never reaches a client it does not belong to.

#![allow(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but live in every pre-2026-07-28 session, which a gateway must relay"
)]

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use rmcp::model::{
    CancelledNotificationParam, ClientCapabilities, ClientResult, ErrorCode, Extensions,
    GetExtensions, InputRequest, InputRequests, InputResponses, LoggingLevel,
    LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken, RequestId,
    ResourceUpdatedNotification, ResourceUpdatedNotificationParam, ServerNotification,
    ServerRequest,
};
use rmcp::service::{
    InboundStreamOrigin, OriginatingRequestId, Peer, PeerRequestOptions, SubscriptionSink,
};
use rmcp::{ErrorData as McpError, RoleServer};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::session::SessionState;

/// One client request the gateway is serving through a downstream: where its messages go back.
pub struct ClientCall {
    /// The client's side of its connection (a legacy session or one 2026-07-28 request).
    pub peer: Peer<RoleServer>,
    /// The client's id of the request, so a relayed request rides that request's SSE stream.
    pub request_id: RequestId,
    /// The client's progress token, if it asked for progress.
    pub progress_token: Option<ProgressToken>,
    /// What the client declared it can answer (sampling, elicitation, roots).
    pub capabilities: Option<ClientCapabilities>,
    /// The lowest log level the client wants (its request's `_meta` or its `logging/setLevel`).
    pub log_level: Option<LoggingLevel>,
    pub session: Weak<SessionState>,
    /// A 2026-07-28 client takes no server-to-client requests: a downstream's requests during its
    /// call are put here, and the gateway answers the call with an input-required result instead.
    pub questions: Option<mpsc::UnboundedSender<Question>>,
}

/// A downstream's request during a 2026-07-28 client's call, waiting for the client's answer (which
/// comes back in the `inputResponses` of the client's retry).
pub struct Question {
    pub what: Capability,
    pub request: InputRequest,
    pub answer: oneshot::Sender<Result<ClientResult, McpError>>,
}

impl Question {
    /// The client's answer, as it came in `inputResponses`.
    pub fn answer_with(self, response: Option<serde_json::Value>) {
        let answer = match response {
            None => Err(McpError::invalid_params(
                format!(
                    "ucp: the client's retry did not answer the {} request",
                    self.what.method()
                ),
                None,
            )),
            Some(value) => self.what.result_of(value),
        };
        let _ = self.answer.send(answer);
    }
}

impl ClientCall {
    fn session_key(&self) -> usize {
        self.session.as_ptr() as usize
    }

    pub fn alive(&self) -> bool {
        self.session.strong_count() > 0 && !self.peer.is_transport_closed()
    }

    pub fn same_session(&self, session: &Weak<SessionState>) -> bool {
        Weak::ptr_eq(&self.session, session)
    }

    /// Relays a downstream's progress to this client under the client's own token.
    pub async fn progress(&self, mut params: ProgressNotificationParam) {
        let Some(token) = self.progress_token.clone() else {
            return; // The client did not ask for progress.
        };
        params.progress_token = token;
        if let Err(e) = self.peer.notify_progress(params).await {
            tracing::debug!(error = %e, "progress not delivered: the client is gone");
        }
    }

    /// Relays a downstream's log message if this client's level admits it.
    pub async fn log(&self, params: LoggingMessageNotificationParam) {
        if let Some(session) = self.session.upgrade()
            && !session.admits_log(params.level)
        {
            return;
        }
        if let Err(e) = self.peer.notify_logging_message(params).await {
            tracing::debug!(error = %e, "log message not delivered: the client is gone");
        }
    }

    /// Forwards a downstream's request (sampling, elicitation, roots) to this client and returns
    /// the client's answer. `cancelled` fires when the downstream cancels its request; the client's
    /// request is then cancelled too.
    pub async fn ask(
        &self,
        what: Capability,
        mut request: ServerRequest,
        cancelled: CancellationToken,
    ) -> Result<ClientResult, McpError> {
        if !what.declared_by(self.capabilities.as_ref()) {
            return Err(McpError::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!(
                    "ucp: the client of this call did not declare the {} capability, so {} cannot be relayed",
                    what.capability(),
                    what.method()
                ),
                None,
            ));
        }
        if let Some(questions) = &self.questions {
            return put_to_client(what, request, questions, cancelled).await;
        }
        request
            .extensions_mut()
            .insert(OriginatingRequestId(self.request_id.clone()));
        let peer = self.peer.clone();
        // A fresh task: rmcp tags requests sent from inside a handler with that handler's request,
        // which here is the downstream's, not the client's.
        let asked = tokio::spawn(async move {
            let handle = peer
                .send_cancellable_request(request, PeerRequestOptions::no_options())
                .await?;
            let id = handle.id.clone();
            let peer = handle.peer.clone();
            tokio::select! {
                answer = handle.await_response() => answer.map(Some),
                _ = cancelled.cancelled() => {
                    let _ = peer.notify_cancelled(CancelledNotificationParam::new(
                        Some(id),
                        Some("the downstream server cancelled its request".into()),
                    )).await;
                    Ok(None)
                }
            }
        });
        match asked.await {
            Ok(Ok(Some(answer))) => Ok(answer),
            Ok(Ok(None)) => Err(McpError::new(
                ErrorCode::INTERNAL_ERROR,
                "ucp: request cancelled",
                None,
            )),
            Ok(Err(rmcp::service::ServiceError::McpError(e))) => Err(e),
            Ok(Err(e)) => Err(McpError::new(
                ErrorCode::INTERNAL_ERROR,
                format!("ucp: the client did not answer {}: {e}", what.method()),
                None,
            )),
            Err(e) => Err(McpError::internal_error(
                format!("ucp: relay task failed: {e}"),
                None,
            )),
        }
    }
}

/// Queues a downstream's request for a 2026-07-28 client's input-required result and waits for the
/// answer of the client's retry.
async fn put_to_client(
    what: Capability,
    request: ServerRequest,
    questions: &mpsc::UnboundedSender<Question>,
    cancelled: CancellationToken,
) -> Result<ClientResult, McpError> {
    let request = match request {
        ServerRequest::CreateMessageRequest(r) => InputRequest::CreateMessage(r),
        ServerRequest::ElicitRequest(r) => InputRequest::Elicitation(r),
        ServerRequest::ListRootsRequest(r) => InputRequest::ListRoots(r),
        other => {
            return Err(McpError::internal_error(
                format!("ucp: cannot put {other:?} to a 2026-07-28 client"),
                None,
            ));
        }
    };
    let (answer, answered) = oneshot::channel();
    questions
        .send(Question {
            what,
            request,
            answer,
        })
        .map_err(|_| McpError::internal_error("ucp: the client's call has ended", None))?;
    tokio::select! {
        answer = answered => answer.unwrap_or_else(|_| Err(McpError::internal_error(
            format!("ucp: the client did not come back with an answer to {}", what.method()),
            None,
        ))),
        _ = cancelled.cancelled() => Err(McpError::new(ErrorCode::INTERNAL_ERROR, "ucp: request cancelled", None)),
    }
}

/// What a downstream asks a client for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    Sampling,
    Elicitation,
    Roots,
}

impl Capability {
    pub fn method(self) -> &'static str {
        match self {
            Capability::Sampling => "sampling/createMessage",
            Capability::Elicitation => "elicitation/create",
            Capability::Roots => "roots/list",
        }
    }

    fn capability(self) -> &'static str {
        match self {
            Capability::Sampling => "sampling",
            Capability::Elicitation => "elicitation",
            Capability::Roots => "roots",
        }
    }

    /// A client's answer to this kind of request, from its JSON form (an `inputResponses` entry).
    fn result_of(self, value: serde_json::Value) -> Result<ClientResult, McpError> {
        let parsed = match self {
            Capability::Sampling => {
                serde_json::from_value(value).map(ClientResult::CreateMessageResult)
            }
            Capability::Elicitation => {
                serde_json::from_value(value).map(ClientResult::ElicitResult)
            }
            Capability::Roots => serde_json::from_value(value).map(ClientResult::ListRootsResult),
        };
        parsed.map_err(|e| {
            McpError::invalid_params(
                format!("ucp: the answer to {} is not valid: {e}", self.method()),
                None,
            )
        })
    }

    fn declared_by(self, caps: Option<&ClientCapabilities>) -> bool {
        caps.is_some_and(|c| match self {
            Capability::Sampling => c.sampling.is_some(),
            Capability::Elicitation => c.elicitation.is_some(),
            Capability::Roots => c.roots.is_some(),
        })
    }
}

/// The client calls in flight on one downstream connection.
#[derive(Default)]
pub struct InFlight {
    inner: parking_lot::Mutex<Calls>,
}

#[derive(Default)]
struct Calls {
    by_request: HashMap<RequestId, Arc<ClientCall>>,
    by_progress: HashMap<ProgressToken, Arc<ClientCall>>,
}

/// Keeps a call registered while it is in flight.
pub struct Registered {
    inflight: Arc<InFlight>,
    request: RequestId,
    progress: ProgressToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut calls = self.inflight.inner.lock();
        calls.by_request.remove(&self.request);
        calls.by_progress.remove(&self.progress);
    }
}

/// Why a downstream's request has no client to go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unroutable {
    /// No client call is in flight on the connection (or none matches the stream it came on).
    NoCall,
    /// Over stdio with calls of several client sessions in flight: nothing says whose it is.
    Ambiguous(usize),
}

impl Unroutable {
    pub fn to_error(self, server: &str, what: Capability) -> McpError {
        let message = match self {
            Unroutable::NoCall => format!(
                "ucp: {} from {server} arrived outside any client call, so no client can answer it",
                what.method()
            ),
            Unroutable::Ambiguous(n) => format!(
                "ucp: {} from {server} cannot be attributed: {n} client sessions have calls in flight on this stdio connection (serve it over Streamable HTTP to relay such requests under concurrency)",
                what.method()
            ),
        };
        McpError::new(ErrorCode::INVALID_REQUEST, message, None)
    }
}

impl InFlight {
    pub fn register(
        self: &Arc<Self>,
        request: RequestId,
        progress: ProgressToken,
        call: Arc<ClientCall>,
    ) -> Registered {
        let mut calls = self.inner.lock();
        calls.by_request.insert(request.clone(), call.clone());
        calls.by_progress.insert(progress.clone(), call);
        Registered {
            inflight: self.clone(),
            request,
            progress,
        }
    }

    pub fn by_progress(&self, token: &ProgressToken) -> Option<Arc<ClientCall>> {
        self.inner.lock().by_progress.get(token).cloned()
    }

    /// The call a downstream's request belongs to: the one whose response stream carried it, else
    /// the only client session with calls in flight.
    pub fn owner(&self, extensions: &Extensions) -> Result<Arc<ClientCall>, Unroutable> {
        let calls = self.inner.lock();
        if let Some(InboundStreamOrigin::OutboundRequest(id)) = extensions.get()
            && let Some(call) = calls.by_request.get(id)
        {
            return Ok(call.clone());
        }
        let mut sessions = calls
            .by_request
            .values()
            .map(|c| c.session_key())
            .collect::<Vec<_>>();
        sessions.sort_unstable();
        sessions.dedup();
        match sessions.len() {
            0 => Err(Unroutable::NoCall),
            1 => Ok(calls.by_request.values().next().cloned().expect("one call")),
            n => Err(Unroutable::Ambiguous(n)),
        }
    }

    /// One call per client session with calls in flight (where a log message without an owner goes).
    pub fn sessions(&self) -> Vec<Arc<ClientCall>> {
        let calls = self.inner.lock();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for call in calls.by_request.values() {
            if !seen.contains(&call.session_key()) {
                seen.push(call.session_key());
                out.push(call.clone());
            }
        }
        out
    }
}

/// The RFC 5424 order of MCP log levels, lowest first.
pub fn level_rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// A client session subscribed to one resource (`resources/subscribe`, or a 2026-07-28
/// `subscriptions/listen` through its sink), under the URI it knows.
pub struct Subscriber {
    pub session: Weak<SessionState>,
    pub public_uri: String,
    pub to: Delivery,
}

/// Where a subscriber's updates go.
pub enum Delivery {
    /// A legacy session's peer (`resources/subscribe`).
    Peer(Peer<RoleServer>),
    /// A `subscriptions/listen` stream, which tags each notification with its subscription id.
    Sink(SubscriptionSink),
}

impl Subscriber {
    pub fn alive(&self) -> bool {
        let open = match &self.to {
            Delivery::Peer(peer) => !peer.is_transport_closed(),
            Delivery::Sink(_) => true, // ended by its listen handler, which unsubscribes
        };
        self.session.strong_count() > 0 && open
    }

    pub fn same_session(&self, session: &Weak<SessionState>) -> bool {
        Weak::ptr_eq(&self.session, session)
    }

    /// Relays `notifications/resources/updated` under the client's URI.
    pub async fn updated(&self, mut params: ResourceUpdatedNotificationParam) {
        params.uri = self.public_uri.clone();
        let sent = match &self.to {
            Delivery::Sink(sink) => sink
                .send(ServerNotification::ResourceUpdatedNotification(
                    ResourceUpdatedNotification::new(params),
                ))
                .await
                .map_err(|e| e.to_string()),
            Delivery::Peer(peer) => peer
                .notify_resource_updated(params)
                .await
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "resource update not delivered: the client is gone");
        }
    }
}

/// How many input-required rounds the gateway drives for a client that cannot read them.
pub const MAX_INPUT_ROUNDS: usize = 8;

/// A pre-2026-07-28 client cannot read an `InputRequiredResult`: the gateway asks it each input
/// request (as the server-initiated request it stands for) and returns the answers for the retry.
pub async fn fulfil(
    call: &ClientCall,
    requests: InputRequests,
    cancelled: &CancellationToken,
) -> Result<InputResponses, McpError> {
    let mut responses = InputResponses::new();
    for (key, request) in requests {
        let (what, request) = match request {
            InputRequest::CreateMessage(r) => {
                (Capability::Sampling, ServerRequest::CreateMessageRequest(r))
            }
            InputRequest::Elicitation(r) => {
                (Capability::Elicitation, ServerRequest::ElicitRequest(r))
            }
            InputRequest::ListRoots(r) => (Capability::Roots, ServerRequest::ListRootsRequest(r)),
            other => {
                return Err(McpError::internal_error(
                    format!("ucp: cannot relay input request {other:?}"),
                    None,
                ));
            }
        };
        let answer = match call.ask(what, request, cancelled.clone()).await? {
            ClientResult::CreateMessageResult(r) => serde_json::to_value(r),
            ClientResult::ElicitResult(r) => serde_json::to_value(r),
            ClientResult::ListRootsResult(r) => serde_json::to_value(r),
            _ => {
                return Err(McpError::internal_error(
                    format!(
                        "ucp: the client answered {} with another result",
                        what.method()
                    ),
                    None,
                ));
            }
        };
        let answer = answer.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        responses.insert(key, answer);
    }
    Ok(responses)
}
