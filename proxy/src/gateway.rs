//! The MCP server the clients talk to: one `ServerHandler` that runs the stage pipeline, then routes
//! each request to the downstream that owns the tool, prompt or resource.
//!
//! Both front-ends (stdio and Streamable HTTP) serve this same handler through rmcp, which owns the
//! protocol: `initialize` and `server/discover`, version negotiation, sessions and SSE.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ResultType, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use ucp_config::Exposure;
use ucp_index::SelectOptions;

use crate::catalog::REWRITTEN_URI_PREFIX;
use crate::downstream::DownstreamPool;
use crate::error::ProxyError;
use crate::pipeline::{Exchange, Outcome, Stage};
use crate::selection::{CALL_TOOL, SEARCH_TOOL, Selection, Selector, engine_mode, meta_tools};
use crate::session::{LastSearch, RECENT_CALLS, SessionRegistry, SessionState};
use crate::snapshot::{SharedSnapshot, Snapshot};

/// Which lists changed in a catalog swap; sent to every connected client session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListsChanged {
    pub tools: bool,
    pub prompts: bool,
    pub resources: bool,
}

impl ListsChanged {
    pub fn any(&self) -> bool {
        self.tools || self.prompts || self.resources
    }
}

/// State shared by every client session of one gateway process.
pub struct GatewayShared<S> {
    pub snapshot: SharedSnapshot<S>,
    pub pool: Arc<DownstreamPool>,
    pub selector: Arc<Selector>,
    /// Live sessions by `Mcp-Session-Id` (dynamic exposure's context endpoint).
    pub sessions: SessionRegistry,
    changes: broadcast::Sender<ListsChanged>,
}

impl<S> GatewayShared<S> {
    pub fn new(
        snapshot: SharedSnapshot<S>,
        pool: Arc<DownstreamPool>,
        selector: Arc<Selector>,
    ) -> Arc<Self> {
        let (changes, _) = broadcast::channel(16);
        Arc::new(GatewayShared {
            snapshot,
            pool,
            selector,
            sessions: SessionRegistry::default(),
            changes,
        })
    }

    /// `POST /v1/sessions/{id}/context`: adds context to a live session; false if there is none.
    pub fn push_context(self: &Arc<Self>, session_id: &str, text: &str) -> bool
    where
        S: Stage,
    {
        let Some(session) = self.sessions.get(session_id) else {
            return false;
        };
        session.push_context(text);
        tokio::spawn(refresh_dynamic(self.clone(), session));
        true
    }

    /// Ranks the current catalog for `query` (`ucp_search_tools`, `/v1/select`).
    /// `recent` are the session's recent tool calls (co-occurrence); empty outside a session.
    pub async fn select(
        &self,
        query: String,
        k: usize,
        recent: Vec<String>,
    ) -> Result<Selection, ProxyError> {
        let snap = self.snapshot.load_full();
        let index = snap.index.clone().ok_or(ProxyError::IndexNotReady)?;
        let config = &snap.config;
        let options = SelectOptions {
            mode: engine_mode(config.router.mode),
            k: k.clamp(1, 50),
            similarity_threshold: config.tool_zoo.similarity_threshold,
            per_server_cap: config.router.per_server_cap,
        };
        if let Some(hit) = self.selector.cached(&index, &query, &options, &recent) {
            return Ok(hit);
        }
        let selector = self.selector.clone();
        let catalog = snap.catalog.clone();
        tokio::task::spawn_blocking(move || {
            selector.select(&index, &catalog, &query, options, &recent)
        })
        .await
        .map_err(|e| ProxyError::Internal(e.to_string()))
    }

    /// Tells every connected client session which lists changed.
    pub fn notify(&self, changed: ListsChanged) {
        if changed.any() {
            let _ = self.changes.send(changed);
        }
    }
}

/// One client session's handler. The HTTP front makes one per session by cloning: a clone shares
/// the gateway but starts a new session (its own last search, for learning).
pub struct Gateway<S> {
    shared: Arc<GatewayShared<S>>,
    transport: &'static str,
    session: Arc<SessionState>,
}

impl<S> Clone for Gateway<S> {
    fn clone(&self) -> Self {
        Gateway {
            shared: self.shared.clone(),
            transport: self.transport,
            session: Arc::default(),
        }
    }
}

impl<S: Stage> Gateway<S> {
    pub fn new(shared: Arc<GatewayShared<S>>, transport: &'static str) -> Self {
        Gateway {
            shared,
            transport,
            session: Arc::default(),
        }
    }

    /// The same session (unlike `clone`, which starts a new one).
    fn clone_in_session(&self) -> Self {
        Gateway {
            shared: self.shared.clone(),
            transport: self.transport,
            session: self.session.clone(),
        }
    }

    /// Co-occurrence: `tool` was called after the session's recent calls.
    fn remember_call(&self, tool: &str) {
        if !self.shared.selector.learns_cooccurrence() {
            self.refresh_dynamic();
            return;
        }
        let earlier: Vec<String> = {
            let mut recent = self.session.recent_calls.lock();
            let earlier = recent.iter().cloned().collect();
            recent.retain(|t| t != tool);
            recent.push_back(tool.to_string());
            if recent.len() > RECENT_CALLS {
                recent.pop_front();
            }
            earlier
        };
        let selector = self.shared.selector.clone();
        let tool = tool.to_string();
        tokio::task::spawn_blocking(move || selector.record_session_call(&earlier, &tool));
        self.refresh_dynamic();
    }

    /// Dynamic exposure: re-selects this session's tools and tells the client if they changed.
    fn refresh_dynamic(&self) {
        if self.shared.snapshot.load().config.router.exposure == Exposure::Dynamic {
            tokio::spawn(refresh_dynamic(self.shared.clone(), self.session.clone()));
        }
    }

    fn recent_calls(&self) -> Vec<String> {
        self.session.recent_calls.lock().iter().cloned().collect()
    }

    /// Learning: a call of a tool the session's last search returned.
    fn learn_from_call(&self, tool: &str) {
        let query = {
            let mut last = self.session.last_search.lock();
            match last.as_mut() {
                Some(search)
                    if search.returned.iter().any(|t| t == tool)
                        && !search.called.iter().any(|t| t == tool) =>
                {
                    search.called.push(tool.to_string());
                    search.query.clone()
                }
                _ => return,
            }
        };
        let selector = self.shared.selector.clone();
        let tool = tool.to_string();
        tokio::task::spawn_blocking(move || selector.record_call(&query, &tool));
    }

    /// Learning: remember this search; the previous one's uncalled results count as ignored.
    fn learn_from_search(&self, query: &str, returned: Vec<String>) {
        let previous = self.session.last_search.lock().replace(LastSearch {
            query: query.to_string(),
            returned,
            called: Vec::new(),
        });
        if let Some(previous) = previous {
            let ignored: Vec<String> = previous
                .returned
                .into_iter()
                .filter(|t| !previous.called.contains(t))
                .collect();
            if !ignored.is_empty() {
                let selector = self.shared.selector.clone();
                tokio::task::spawn_blocking(move || selector.record_ignored(&ignored));
            }
        }
    }

    pub fn shared(&self) -> &Arc<GatewayShared<S>> {
        &self.shared
    }

    fn snapshot(&self) -> Arc<Snapshot<S>> {
        self.shared.snapshot.load_full()
    }

    /// `ucp_search_tools {query, k?}`: the best-matching tools with names, schemas and scores.
    async fn search_tool(
        &self,
        snap: &Snapshot<S>,
        request: CallToolRequestParams,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        let query = args
            .get("query")
            .and_then(Value::as_str)
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| {
                McpError::invalid_params("ucp_search_tools needs a non-empty `query` string", None)
            })?
            .to_string();
        let k = args
            .get("k")
            .and_then(Value::as_u64)
            .map_or(snap.config.tool_zoo.top_k, |k| k as usize);
        let mut ex = Exchange::new("tools/call", self.transport);
        ex.target = Some(SEARCH_TOOL.to_string());
        let shared = self.shared.clone();
        let session = self.clone_in_session();
        self.through_pipeline(snap, ex, async move {
            let selected = shared
                .select(query.clone(), k, session.recent_calls())
                .await?;
            session.learn_from_search(&query, selected.iter().map(|t| t.name.clone()).collect());
            session.session.push_context(&query);
            session.refresh_dynamic();
            let body = json!({ "tools": *selected });
            let mut result = CallToolResult::success(vec![ContentBlock::text(
                serde_json::to_string_pretty(&body).unwrap_or_default(),
            )]);
            result.structured_content = Some(body);
            result.result_type = Some(ResultType::COMPLETE);
            Ok(CallToolResponse::Complete(result))
        })
        .await
    }

    /// Runs the request stages, then `route`, then the response stages.
    ///
    /// Results carry `resultType: complete`; rmcp strips it again for peers older than 2026-07-28,
    /// and 2026-07-28 clients (the Python SDK 2.x) require it even though downstreams omit it.
    async fn through_pipeline<T>(
        &self,
        snap: &Snapshot<S>,
        mut ex: Exchange,
        route: impl Future<Output = Result<T, ProxyError>>,
    ) -> Result<T, McpError> {
        snap.pipeline.request(&mut ex).await?;
        let result = route.await.map_err(McpError::from);
        ex.outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Error {
                code: e.code.0,
                message: e.message.to_string(),
            },
        };
        snap.pipeline.response(&mut ex).await;
        result
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
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info =
            Implementation::new(snap.config.server.name.clone(), env!("CARGO_PKG_VERSION"));
        info.instructions =
            Some("UCP gateway: tools of several MCP servers, named {server}__{tool}.".to_string());
        info
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        *self.session.peer.lock() = Some(context.peer.clone());
        if let Some(id) = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok())
        {
            self.shared.sessions.register(id, &self.session);
        }
        let peer = context.peer;
        let mut changes = self.shared.changes.subscribe();
        tokio::spawn(async move {
            loop {
                let changed = match changes.recv().await {
                    Ok(changed) => changed,
                    Err(broadcast::error::RecvError::Lagged(_)) => ListsChanged {
                        tools: true,
                        prompts: true,
                        resources: true,
                    },
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let sent = async {
                    if changed.tools {
                        peer.notify_tool_list_changed().await?;
                    }
                    if changed.prompts {
                        peer.notify_prompt_list_changed().await?;
                    }
                    if changed.resources {
                        peer.notify_resource_list_changed().await?;
                    }
                    Ok::<_, rmcp::service::ServiceError>(())
                };
                if sent.await.is_err() {
                    return; // the client session is gone
                }
            }
        });
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let snap = self.snapshot();
        let legacy = context
            .protocol_version()
            .is_none_or(|v| v.as_str() < "2026-07-28");
        let mut tools = listed_tools(&snap);
        if snap.config.router.exposure == Exposure::Dynamic && legacy {
            let selected = dynamic_selection(&self.shared, &self.session).await;
            let names: Vec<String> = selected.iter().map(|t| t.name.clone()).collect();
            tools.extend(
                snap.catalog
                    .tools
                    .iter()
                    .filter(|t| {
                        names.iter().any(|n| n == t.name.as_ref())
                            && !tools.iter().any(|l| l.name == t.name)
                    })
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            tools.sort_by(|a, b| a.name.cmp(&b.name));
            *self.session.listed.lock() = Some(names);
        }
        self.through_pipeline(
            &snap,
            Exchange::new("tools/list", self.transport),
            async move {
                let mut result = ListToolsResult::with_all_items(tools);
                result.result_type = Some(ResultType::COMPLETE);
                Ok(result)
            },
        )
        .await
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let snap = self.snapshot();
        if request.name == SEARCH_TOOL {
            return self.search_tool(&snap, request).await;
        }
        if request.name == CALL_TOOL {
            let (name, arguments) = call_tool_target(request.arguments.take())?;
            request.name = name.into();
            request.arguments = arguments;
        }
        self.learn_from_call(&request.name);
        if snap.catalog.route_tool(&request.name).is_some() {
            self.remember_call(&request.name);
        }
        let mut ex = Exchange::new("tools/call", self.transport);
        ex.target = Some(request.name.to_string());
        let route = snap.catalog.route_tool(&request.name).cloned();
        ex.server = route.as_ref().map(|r| r.server.to_string());
        let pool = self.shared.pool.clone();
        self.through_pipeline(&snap, ex, async move {
            let route = route.ok_or_else(|| ProxyError::UnknownTool(request.name.to_string()))?;
            request.name = route.original.into();
            let mut response = pool.call_tool(&route.server, request).await?;
            if let CallToolResponse::Complete(result) = &mut response {
                result.result_type.get_or_insert(ResultType::COMPLETE);
            }
            Ok(response)
        })
        .await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let snap = self.snapshot();
        let catalog = snap.catalog.clone();
        self.through_pipeline(
            &snap,
            Exchange::new("prompts/list", self.transport),
            async move {
                let mut result = ListPromptsResult::with_all_items(catalog.prompts.clone());
                result.result_type = Some(ResultType::COMPLETE);
                Ok(result)
            },
        )
        .await
    }

    async fn get_prompt(
        &self,
        mut request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let snap = self.snapshot();
        let mut ex = Exchange::new("prompts/get", self.transport);
        ex.target = Some(request.name.clone());
        let route = snap.catalog.route_prompt(&request.name).cloned();
        ex.server = route.as_ref().map(|r| r.server.to_string());
        let pool = self.shared.pool.clone();
        self.through_pipeline(&snap, ex, async move {
            let route = route.ok_or_else(|| ProxyError::UnknownPrompt(request.name.clone()))?;
            request.name = route.original;
            let mut response = pool.get_prompt(&route.server, request).await?;
            if let GetPromptResponse::Complete(result) = &mut response {
                result.result_type.get_or_insert(ResultType::COMPLETE);
            }
            Ok(response)
        })
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let snap = self.snapshot();
        let catalog = snap.catalog.clone();
        self.through_pipeline(
            &snap,
            Exchange::new("resources/list", self.transport),
            async move {
                let mut result = ListResourcesResult::with_all_items(catalog.resources.clone());
                result.result_type = Some(ResultType::COMPLETE);
                Ok(result)
            },
        )
        .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let snap = self.snapshot();
        let catalog = snap.catalog.clone();
        let ex = Exchange::new("resources/templates/list", self.transport);
        self.through_pipeline(&snap, ex, async move {
            let mut result =
                ListResourceTemplatesResult::with_all_items(catalog.resource_templates.clone());
            result.result_type = Some(ResultType::COMPLETE);
            Ok(result)
        })
        .await
    }

    async fn read_resource(
        &self,
        mut request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let snap = self.snapshot();
        let mut ex = Exchange::new("resources/read", self.transport);
        ex.target = Some(request.uri.clone());
        let route = snap.catalog.route_resource(&request.uri);
        ex.server = route.as_ref().map(|r| r.server.to_string());
        let pool = self.shared.pool.clone();
        self.through_pipeline(&snap, ex, async move {
            let route = route.ok_or_else(|| ProxyError::UnknownResource(request.uri.clone()))?;
            let public_uri = std::mem::replace(&mut request.uri, route.original);
            let mut response = pool.read_resource(&route.server, request).await?;
            if let ReadResourceResponse::Complete(result) = &mut response {
                result.result_type.get_or_insert(ResultType::COMPLETE);
            }
            if public_uri.starts_with(REWRITTEN_URI_PREFIX) {
                restore_public_uri(&mut response, &public_uri);
            }
            Ok(response)
        })
        .await
    }
}

/// The dynamic tool set of a session: the top `router.max_tools` for its context (pushed context
/// and searches) and recent calls; empty while it has no context.
async fn dynamic_selection<S: Stage>(
    shared: &Arc<GatewayShared<S>>,
    session: &SessionState,
) -> Selection {
    let context = session.context_text();
    if context.trim().is_empty() {
        return Selection::default();
    }
    let k = shared.snapshot.load().config.router.max_tools;
    let recent: Vec<String> = session.recent_calls.lock().iter().cloned().collect();
    shared.select(context, k, recent).await.unwrap_or_default()
}

/// Sends `notifications/tools/list_changed` to a session whose dynamic set no longer matches
/// what its last `tools/list` showed (sessions that never listed are left alone).
async fn refresh_dynamic<S: Stage>(shared: Arc<GatewayShared<S>>, session: Arc<SessionState>) {
    let Some(listed) = session.listed.lock().clone() else {
        return;
    };
    let names: Vec<String> = dynamic_selection(&shared, &session)
        .await
        .iter()
        .map(|t| t.name.clone())
        .collect();
    if names != listed {
        let peer = session.peer.lock().clone();
        if let Some(peer) = peer {
            let _ = peer.notify_tool_list_changed().await;
        }
    }
}

/// What `tools/list` shows: every tool (`all`), or the pinned tools plus the meta-tools (`search`;
/// `dynamic` adds the session's selected tools in `list_tools`), sorted by name so the list is stable.
fn listed_tools<S>(snap: &Snapshot<S>) -> Vec<rmcp::model::Tool> {
    let router = &snap.config.router;
    if router.exposure == Exposure::All {
        return snap.catalog.tools.clone();
    }
    let mut tools: Vec<rmcp::model::Tool> = snap
        .catalog
        .tools
        .iter()
        .filter(|t| router.pinned.iter().any(|p| p == t.name.as_ref()))
        .cloned()
        .collect();
    tools.extend(meta_tools(snap.config.tool_zoo.top_k));
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools
}

/// The target of `ucp_call_tool {name, arguments}`.
fn call_tool_target(
    arguments: Option<rmcp::model::JsonObject>,
) -> Result<(String, Option<rmcp::model::JsonObject>), McpError> {
    let mut args = arguments.unwrap_or_default();
    let name = match args.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => {
            return Err(McpError::invalid_params(
                "ucp_call_tool needs a `name` string",
                None,
            ));
        }
    };
    let inner = match args.remove("arguments") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(McpError::invalid_params(
                "ucp_call_tool: `arguments` must be an object",
                None,
            ));
        }
    };
    Ok((name, inner))
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
