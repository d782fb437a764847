//! rmcp's `ServerHandler` for the gateway: each method takes over the admitted exchange, runs the
//! route phase, routes to the downstream, and finishes the exchange.
//!
//! Results carry `resultType: complete`; rmcp strips it again for peers older than 2026-07-28,
//! and 2026-07-28 clients (the Python SDK 2.x) require it even though downstreams omit it.

#[allow(
    deprecated,
    reason = "logging/setLevel is relayed for pre-2026-07-28 clients"
)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, Reference, ResultType, ServerCapabilities,
    ServerConfig, SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use ucp_config::Exposure;

use super::meta::{CALL_TOOL, SEARCH_TOOL, call_tool_target, search_args, search_result};
use super::notify::{dynamic_work, follow_changes, refresh_dynamic};
use super::parked::{Call, ParkedCalls};
use super::{Gateway, handoff::Admitted};
use crate::catalog::REWRITTEN_URI_PREFIX;
use crate::downstream::Forward;
use crate::error::ProxyError;
use crate::exchange::{Exchange, Method, SelectPurpose, SelectWork};
use crate::pipeline::Stage;
use crate::relay::{Delivery, Subscriber};
use crate::snapshot::Snapshot;

impl<S: Stage> Gateway<S> {
    /// `tools/call`: a meta-tool, or a downstream tool by its public name.
    async fn call_tool_in(
        &self,
        snap: &Snapshot<S>,
        ex: &mut Exchange,
        mut request: CallToolRequestParams,
        forward: Forward,
    ) -> Result<CallToolResponse, ProxyError> {
        if request.name == SEARCH_TOOL {
            ex.target = Some(SEARCH_TOOL.to_string());
            return Box::pin(self.search_in(snap, ex, request)).await;
        }
        if request.name == CALL_TOOL {
            let (name, arguments) = call_tool_target(request.arguments.take())?;
            request.name = name.into();
            request.arguments = arguments;
        }
        if request.name.len() > crate::names::MAX_NAME_LEN {
            // No public name is longer: refused before any lookup or log of the whole name.
            return Err(ProxyError::InvalidParams(format!(
                "tool name is {} bytes; public tool names are at most {}",
                request.name.len(),
                crate::names::MAX_NAME_LEN
            )));
        }
        ex.target = Some(request.name.to_string());
        let route = snap.catalog.route_tool(&request.name).cloned();
        ex.server = route.as_ref().map(|r| r.server.clone());
        if let Some(grant) = &ex.grant
            && !grant.allows(&request.name, ex.server.as_deref().unwrap_or(""))
        {
            return Err(ProxyError::ToolDenied(request.name.to_string()));
        }
        snap.pipeline.route(ex).await?;
        let route = route.ok_or_else(|| ProxyError::UnknownTool(request.name.to_string()))?;
        // Safe to send twice if the connection dies under it (the server says so).
        let idempotent = snap
            .catalog
            .tool(&request.name)
            .and_then(|t| t.annotations.as_ref())
            .is_some_and(|a| a.read_only_hint == Some(true) || a.idempotent_hint == Some(true));
        request.name = route.original.into();
        if !forward.legacy_client {
            let public = ex.target.clone().unwrap_or_default();
            let mut response =
                Box::pin(self.modern_call(public, &route.server, request, forward, idempotent))
                    .await?;
            if let CallToolResponse::Complete(result) = &mut response {
                result.result_type.get_or_insert(ResultType::COMPLETE);
            }
            return Ok(response);
        }
        let forward = &forward;
        let mut response = self
            .shared
            .pool
            .call_tool(&route.server, request.clone(), Some(forward), idempotent)
            .await?;
        // A pre-2026-07-28 client cannot answer an input-required result: ask it the server's
        // questions and retry, as a 2026-07-28 client would.
        let mut rounds = 0;
        while forward.legacy_client
            && let CallToolResponse::InputRequired(asked) = &response
        {
            rounds += 1;
            if rounds > crate::relay::MAX_INPUT_ROUNDS {
                return Err(ProxyError::Downstream {
                    server: route.server.to_string(),
                    message: format!(
                        "still asking for input after {} rounds",
                        crate::relay::MAX_INPUT_ROUNDS
                    ),
                });
            }
            let answers = Box::pin(crate::relay::fulfil(
                &forward.call,
                asked.input_requests.clone().unwrap_or_default(),
                &forward.cancelled,
            ))
            .await
            .map_err(ProxyError::Remote)?;
            request.input_responses = Some(answers);
            request.request_state = asked.request_state.clone();
            response = self
                .shared
                .pool
                .call_tool(&route.server, request.clone(), Some(forward), idempotent)
                .await?;
        }
        if let CallToolResponse::Complete(result) = &mut response {
            result.result_type.get_or_insert(ResultType::COMPLETE);
        }
        Ok(response)
    }

    /// A 2026-07-28 client's call. Such a client takes no server-to-client requests, so an older
    /// server's sampling, elicitation or roots requests come back to it as an input-required
    /// result, and its retry (carrying our `requestState`) resumes the parked call (`parked`).
    async fn modern_call(
        &self,
        public: String,
        server: &str,
        mut request: CallToolRequestParams,
        mut forward: Forward,
        idempotent: bool,
    ) -> Result<CallToolResponse, ProxyError> {
        let parked = &self.shared.parked;
        if ParkedCalls::is_ours(request.request_state.as_deref()) {
            let state = request.request_state.take().unwrap_or_default();
            let answers = request.input_responses.take().unwrap_or_default();
            return parked
                .resume(&public, &state, answers, &forward.cancelled)
                .await;
        }
        let client = forward.cancelled.clone();
        let cancel = tokio_util::sync::CancellationToken::new();
        forward.cancelled = cancel.clone();
        let (questions, asked) = tokio::sync::mpsc::unbounded_channel();
        if let Some(call) = std::sync::Arc::get_mut(&mut forward.call) {
            call.questions = Some(questions);
        }
        let pool = self.shared.pool.clone();
        let server = server.to_string();
        let call: Call = Box::pin(async move {
            pool.call_tool(&server, request, Some(&forward), idempotent)
                .await
        });
        parked.drive(public, call, cancel, &client, asked).await
    }

    /// `ucp_search_tools {query, k?}`: the selection stages answer, the handler formats.
    async fn search_in(
        &self,
        snap: &Snapshot<S>,
        ex: &mut Exchange,
        request: CallToolRequestParams,
    ) -> Result<CallToolResponse, ProxyError> {
        let (query, k, detail) = search_args(request.arguments.as_ref())?;
        ex.select = Some(SelectWork {
            purpose: SelectPurpose::Search,
            query,
            k,
            recent: self.session.recent_calls(),
            index: snap.index.clone().ok_or(ProxyError::IndexNotReady)?,
            answer: None,
            cached: false,
            query_duration: None,
        });
        snap.pipeline.route(ex).await?;
        let selected = ex
            .select
            .as_ref()
            .and_then(|w| w.answer.clone())
            .ok_or_else(|| ProxyError::Internal("no selection stage answered".into()))?;
        self.shared.recent.selected(ex);
        Ok(CallToolResponse::Complete(search_result(&selected, detail)))
    }

    /// After a search or a call, a `dynamic` session's tool set may have changed.
    fn after_call(&self, snap: &Snapshot<S>, ex: &Exchange) {
        if snap.config.router.exposure != Exposure::Dynamic || !ex.outcome.passed() {
            return;
        }
        if let Some(work) = ex
            .select
            .as_ref()
            .filter(|w| w.purpose == SelectPurpose::Search)
        {
            self.session.push_context(&work.query);
        }
        tokio::spawn(refresh_dynamic(self.shared.clone(), self.session.clone()));
    }
}

impl<S: Stage> ServerHandler for Gateway<S> {
    fn get_info(&self) -> ServerConfig {
        let snap = self.shared.snapshot.load();
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_resources_subscribe()
            .build();
        let mut capabilities = capabilities;
        // Relayed to the downstream servers that have them.
        #[allow(
            deprecated,
            reason = "logging/setLevel is relayed for pre-2026-07-28 clients"
        )]
        {
            capabilities.logging = Some(Default::default());
        }
        capabilities.completions = Some(Default::default());
        let mut info = ServerConfig::new(capabilities);
        info.server_info =
            Implementation::new(snap.config.server.name.clone(), env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "UCP gateway: the tools, prompts and resources of several MCP servers.".to_string(),
        );
        info
    }

    /// A published tool by its public name: rmcp's HTTP front checks a 2026-07-28 `tools/call`'s
    /// `Mcp-Param-*` headers against the `x-mcp-header` annotations of its input schema (SEP-2243).
    /// rmcp's HTTP client sends them on to the downstream from the schema it listed.
    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.shared.snapshot.load().catalog.tool(name).cloned()
    }

    /// rmcp's own answer, after noting whether this is the replay of a stored session's
    /// handshake (its restore marker rides the replayed `initialize`).
    async fn initialize(
        &self,
        request: rmcp::model::InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::InitializeResult, McpError> {
        if context
            .extensions
            .get::<rmcp::transport::streamable_http_server::SessionRestoreMarker>()
            .is_some()
        {
            self.session
                .restored
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // A restored session can see two: the replayed one and the client's own, when the
        // client's `initialized` is what found the session missing.
        if self
            .session
            .initialized
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        *self.session.peer.lock() = Some(context.peer.clone());
        // A new session has nothing stored to load.
        let restored = self
            .session
            .restored
            .load(std::sync::atomic::Ordering::Relaxed);
        if !restored {
            let _ = self.session.hydrated.set(());
        }
        if let Some(meter) = &self.shared.session_meter {
            meter.opened(&self.session, restored);
        }
        if let Some(id) = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok())
        {
            self.shared.sessions.register(id, &self.session);
        }
        follow_changes(
            self.shared.changes.subscribe(),
            std::sync::Arc::downgrade(&self.session),
            self.session.closed.clone(),
        );
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::ToolsList).await?;
        let legacy = context
            .protocol_version()
            .is_none_or(|v| v.as_str() < "2026-07-28");
        let dynamic = snap.config.router.exposure == Exposure::Dynamic && legacy;
        if dynamic {
            ex.select = dynamic_work(&snap, &self.session);
        }
        let routed = snap.pipeline.route(&mut ex).await;
        if dynamic {
            let names = ex
                .select
                .as_ref()
                .and_then(|w| w.answer.as_ref())
                .map(|s| s.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default();
            *self.session.listed.lock() = Some(names);
        }
        let result = routed.map(|()| {
            let mut tools = ex
                .listed_tools
                .take()
                .unwrap_or_else(|| snap.catalog.tools.clone());
            if let Some(grant) = &ex.grant {
                tools.retain(|t| {
                    let name: &str = &t.name;
                    name == SEARCH_TOOL
                        || name == CALL_TOOL
                        || snap
                            .catalog
                            .route_tool(name)
                            .is_some_and(|r| grant.allows(name, &r.server))
                });
            }
            let mut result = ListToolsResult::with_all_items(tools);
            result.result_type = Some(ResultType::COMPLETE);
            result
        });
        self.finish(&snap, &mut ex, result).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::ToolsCall).await?;
        let forward = self.forward_of(&context);
        let result = self.call_tool_in(&snap, &mut ex, request, forward).await;
        let result = self.finish(&snap, &mut ex, result).await;
        self.after_call(&snap, &ex);
        result
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::PromptsList).await?;
        let result = snap.pipeline.route(&mut ex).await.map(|()| {
            let mut result = ListPromptsResult::with_all_items(snap.catalog.prompts.clone());
            result.result_type = Some(ResultType::COMPLETE);
            result
        });
        self.finish(&snap, &mut ex, result).await
    }

    async fn get_prompt(
        &self,
        mut request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::PromptsGet).await?;
        ex.target = Some(request.name.clone());
        let route = snap.catalog.route_prompt(&request.name).cloned();
        ex.server = route.as_ref().map(|r| r.server.clone());
        let result: Result<GetPromptResponse, ProxyError> = async {
            snap.pipeline.route(&mut ex).await?;
            let route = route.ok_or_else(|| ProxyError::UnknownPrompt(request.name.clone()))?;
            request.name = route.original;
            let forward = self.forward_of(&context);
            let mut response = self
                .shared
                .pool
                .get_prompt(&route.server, request, Some(&forward))
                .await?;
            if let GetPromptResponse::Complete(result) = &mut response {
                result.result_type.get_or_insert(ResultType::COMPLETE);
            }
            Ok(response)
        }
        .await;
        self.finish(&snap, &mut ex, result).await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::ResourcesList).await?;
        let result = snap.pipeline.route(&mut ex).await.map(|()| {
            let mut result = ListResourcesResult::with_all_items(snap.catalog.resources.clone());
            result.result_type = Some(ResultType::COMPLETE);
            result
        });
        self.finish(&snap, &mut ex, result).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let Admitted { mut ex, snap } = self
            .admitted(&context, Method::ResourceTemplatesList)
            .await?;
        let result = snap.pipeline.route(&mut ex).await.map(|()| {
            let mut result = ListResourceTemplatesResult::with_all_items(
                snap.catalog.resource_templates.clone(),
            );
            result.result_type = Some(ResultType::COMPLETE);
            result
        });
        self.finish(&snap, &mut ex, result).await
    }

    async fn read_resource(
        &self,
        mut request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::ResourcesRead).await?;
        let result: Result<ReadResourceResponse, ProxyError> = async {
            let route = routed_resource(&snap, &mut ex, &request.uri).await?;
            let public_uri = std::mem::replace(&mut request.uri, route.original);
            let mut response = self
                .shared
                .pool
                .read_resource(&route.server, request, Some(&self.forward_of(&context)))
                .await?;
            if let ReadResourceResponse::Complete(result) = &mut response {
                result.result_type.get_or_insert(ResultType::COMPLETE);
            }
            if public_uri.starts_with(REWRITTEN_URI_PREFIX) {
                restore_public_uri(&mut response, &public_uri);
            }
            Ok(response)
        }
        .await;
        self.finish(&snap, &mut ex, result).await
    }

    #[allow(
        deprecated,
        reason = "logging/setLevel is relayed for pre-2026-07-28 clients"
    )]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::OtherRequest).await?;
        let result: Result<(), ProxyError> = async {
            snap.pipeline.route(&mut ex).await?;
            *self.session.log_level.lock() = Some(request.level);
            let listener = self.forward_of(&context).call;
            self.shared.pool.set_level(request.level, listener).await
        }
        .await;
        self.finish(&snap, &mut ex, result).await
    }

    async fn complete(
        &self,
        mut request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::OtherRequest).await?;
        let result: Result<CompleteResult, ProxyError> = async {
            let route = match &request.r#ref {
                Reference::Prompt(prompt) => {
                    ex.target = Some(prompt.name.clone());
                    snap.catalog
                        .route_prompt(&prompt.name)
                        .cloned()
                        .ok_or_else(|| ProxyError::UnknownPrompt(prompt.name.clone()))
                }
                Reference::Resource(template) => {
                    ex.target = Some(template.uri.clone());
                    snap.catalog
                        .route_resource(&template.uri)
                        .ok_or_else(|| ProxyError::UnknownResource(template.uri.clone()))
                }
                _ => Err(ProxyError::InvalidParams(
                    "completion/complete: unknown reference type".into(),
                )),
            };
            ex.server = route.as_ref().ok().map(|r| r.server.clone());
            snap.pipeline.route(&mut ex).await?;
            let route = route?;
            match &mut request.r#ref {
                Reference::Prompt(prompt) => prompt.name = route.original.clone(),
                Reference::Resource(template) => template.uri = route.original.clone(),
                _ => {}
            }
            let forward = self.forward_of(&context);
            self.shared
                .pool
                .complete(&route.server, request, Some(&forward))
                .await
        }
        .await;
        self.finish(&snap, &mut ex, result).await
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::OtherRequest).await?;
        let result: Result<(), ProxyError> = async {
            let route = routed_resource(&snap, &mut ex, &request.uri).await?;
            let subscriber = Subscriber {
                session: std::sync::Arc::downgrade(&self.session),
                public_uri: request.uri.clone(),
                to: Delivery::Peer(context.peer.clone()),
            };
            self.shared
                .pool
                .subscribe_resource(&route.server, &route.original, subscriber)
                .await
        }
        .await;
        self.finish(&snap, &mut ex, result).await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let Admitted { mut ex, snap } = self.admitted(&context, Method::OtherRequest).await?;
        let result: Result<(), ProxyError> = async {
            let route = routed_resource(&snap, &mut ex, &request.uri).await?;
            let session = std::sync::Arc::downgrade(&self.session);
            self.shared
                .pool
                .unsubscribe_resource(&route.server, &route.original, &session)
                .await
        }
        .await;
        self.finish(&snap, &mut ex, result).await
    }

    /// 2026-07-28 `subscriptions/listen`: every category the gateway has, and updates of the
    /// resources named (subscribed downstream for as long as the subscription lasts).
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        // Boxed: rmcp's per-request future is as large as its largest arm.
        Box::pin(self.listen_in(context)).await
    }
}

impl<S: Stage> Gateway<S> {
    /// `subscriptions/listen` (2026-07-28): the gateway's list changes, and updates of the
    /// resources named (subscribed downstream for as long as the subscription lasts).
    async fn listen_in(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let snap = self.shared.snapshot.load_full();
        let session = std::sync::Arc::downgrade(&self.session);
        let uris = context
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let mut subscribed = Vec::new();
        for uri in uris {
            let Some(route) = snap.catalog.route_resource(&uri) else {
                tracing::debug!(%uri, "subscriptions/listen: no server offers this resource");
                continue;
            };
            let subscriber = Subscriber {
                session: session.clone(),
                public_uri: uri.clone(),
                to: Delivery::Sink(context.sink().clone()),
            };
            match self
                .shared
                .pool
                .subscribe_resource(&route.server, &route.original, subscriber)
                .await
            {
                Ok(()) => subscribed.push(route),
                Err(e) => {
                    tracing::warn!(%uri, error = %e, "subscriptions/listen: the downstream refused the subscription")
                }
            }
        }
        super::notify::listen_changes(self.shared.changes.subscribe(), &context).await;
        for route in subscribed {
            let _ = self
                .shared
                .pool
                .unsubscribe_resource(&route.server, &route.original, &session)
                .await;
        }
        Ok(())
    }
}

/// A request about resource `uri`: names it in the exchange, runs the route stages, and gives the
/// server that owns it (the exact resource, else the template with the longest prefix).
async fn routed_resource<S: Stage>(
    snap: &Snapshot<S>,
    ex: &mut Exchange,
    uri: &str,
) -> Result<crate::catalog::Route, ProxyError> {
    ex.target = Some(uri.to_string());
    let route = snap.catalog.route_resource(uri);
    ex.server = route.as_ref().map(|r| r.server.clone());
    snap.pipeline.route(ex).await?;
    route.ok_or_else(|| ProxyError::UnknownResource(uri.to_string()))
}

/// A resource read through a rewritten URI answers with that URI, so the client sees what it asked.
fn restore_public_uri(response: &mut ReadResourceResponse, public_uri: &str) {
    use rmcp::model::ResourceContents;
    if let ReadResourceResponse::Complete(result) = response {
        for contents in &mut result.contents {
            match contents {
                ResourceContents::TextResourceContents { uri, .. }
                | ResourceContents::BlobResourceContents { uri, .. } => {
                    *uri = public_uri.to_string()
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::ClientRequest;
    use rmcp::service::RequestContext;
    use rmcp::{RoleServer, Service};

    use super::Gateway;
    use crate::testing::Probe;

    fn future_size<A: 'static, B, C, F>(_: fn(&'static A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// rmcp spawns one future per client request, as large as its largest method arm, and copies
    /// it on spawn and on completion: downstream request futures are boxed so it stays small.
    /// Unboxed it was 10 KB (15 KB with the companion session inline), and `tools/call` cost 70%
    /// more instructions than before the relays (BENCHMARKS.md, "Instructions per call").
    #[test]
    fn the_per_request_future_stays_small() {
        let size = future_size(
            |g: &'static Gateway<Probe>, r: ClientRequest, c: RequestContext<RoleServer>| {
                Service::<RoleServer>::handle_request(g, r, c)
            },
        );
        assert!(size <= 6 * 1024, "the per-request future is {size} bytes");
    }
}
