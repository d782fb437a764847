//! The REST endpoints for agent frameworks that see the prompt: `POST /v1/select`,
//! `POST /v1/sessions/{id}/context` and `GET /v1/sessions/{id}`. All run after admission, like
//! every request.

use std::sync::Arc;

use http::StatusCode;
use pingora_core::protocols::http::ServerSession;
use serde_json::{Value, json};

use super::Plain;
use crate::error::ProxyError;
use crate::exchange::{Exchange, Identity, SelectPurpose, SelectWork, Selection};
use crate::gateway::GatewayShared;
use crate::pipeline::Stage;
use crate::snapshot::Snapshot;

/// `{"context": "..."}` of either endpoint.
fn context_of(body: &[u8]) -> Result<(String, Value), ProxyError> {
    let request: Value =
        serde_json::from_slice(body).map_err(|e| ProxyError::BadBody(e.to_string()))?;
    let context = request
        .get("context")
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ProxyError::InvalidParams("`context` must be a non-empty string".into()))?
        .to_string();
    Ok((context, request))
}

/// `POST /v1/select {"context": "...", "k": 5}`: ranked tools with each signal's score; with the
/// `Mcp-Session-Id` of one of the caller's live sessions, ranked as that session's next search
/// would be (its recent calls feed co-occurrence).
pub(super) async fn select<S: Stage>(
    shared: &GatewayShared<S>,
    snap: &Snapshot<S>,
    ex: &mut Exchange,
    body: &[u8],
) -> Result<Plain, ProxyError> {
    let (query, request) = context_of(body)?;
    let k = request.get("k").and_then(Value::as_u64).map(|k| k as usize);
    // The front has checked the session is the caller's.
    let recent = ex
        .session_id
        .as_deref()
        .and_then(|id| shared.sessions.get(id))
        .map(|s| s.recent_calls())
        .unwrap_or_default();
    let tools = rank(snap, ex, query, k, recent).await?;
    Ok(Plain::json(StatusCode::OK, &json!({ "tools": *tools })))
}

/// Ranks `query` through the route phase (selection cache, then the selection stage, within the
/// caller's grant): the answer of `POST /v1/select`, and of the operator page's "try a query".
pub(super) async fn rank<S: Stage>(
    snap: &Snapshot<S>,
    ex: &mut Exchange,
    query: String,
    k: Option<usize>,
    recent: Vec<String>,
) -> Result<Selection, ProxyError> {
    ex.select = Some(SelectWork {
        purpose: SelectPurpose::Select,
        query,
        k,
        recent,
        index: snap.index.clone().ok_or(ProxyError::IndexNotReady)?,
        answer: None,
        cached: false,
        query_duration: None,
    });
    ex.catalog = Some(snap.catalog.clone());
    snap.pipeline.route(ex).await?;
    ex.select
        .as_ref()
        .and_then(|w| w.answer.clone())
        .ok_or_else(|| ProxyError::Internal("no selection stage answered".into()))
}

/// `POST /v1/sessions/{id}/context {"context": "..."}`: context for a session's dynamic tools.
pub(super) async fn push_context<S: Stage>(
    shared: &Arc<GatewayShared<S>>,
    session: &ServerSession,
    identity: &Identity,
    body: &[u8],
) -> Result<Plain, ProxyError> {
    let path = session.req_header().uri.path();
    let id = session_context_id(path).ok_or_else(|| ProxyError::NotFound(path.to_string()))?;
    let (text, _) = context_of(body)?;
    if shared.push_context(id, identity.as_str(), &text).await? {
        Ok(Plain::json(
            StatusCode::OK,
            &json!({"session": id, "accepted": true}),
        ))
    } else {
        Err(ProxyError::NotFound(format!("no live session {id}")))
    }
}

/// `GET /v1/sessions/{id}`: what the session store keeps of one of the caller's sessions.
pub(super) async fn session_record<S: Stage>(
    shared: &Arc<GatewayShared<S>>,
    session: &ServerSession,
    identity: &Identity,
) -> Result<Plain, ProxyError> {
    let path = session.req_header().uri.path();
    let id = session_id_of(path).ok_or_else(|| ProxyError::NotFound(path.to_string()))?;
    match shared.session_record(id, identity.as_str()).await? {
        Some(record) => {
            let mut body = json!(record);
            body["live"] = json!(shared.sessions.get(id).is_some());
            Ok(Plain::json(StatusCode::OK, &body))
        }
        None => Err(ProxyError::NotFound(format!("no stored session {id}"))),
    }
}

pub(super) use ucp_config::RESOURCE_METADATA_PATH;

/// RFC 9728 protected-resource metadata, when this gateway is an OAuth 2.1 resource server.
pub(super) fn resource_metadata(auth: &ucp_config::AuthConfig) -> Plain {
    let oauth2 = &auth.oauth2;
    let Some(resource) = oauth2
        .resource
        .as_deref()
        .filter(|_| auth.enabled && auth.provider == ucp_config::AuthProvider::OAuth2)
    else {
        let error =
            json!({"error": "this gateway is not configured as an OAuth 2.1 resource server"});
        return Plain::json(StatusCode::NOT_FOUND, &error);
    };
    let mut body = json!({
        "resource": resource,
        "authorization_servers": oauth2.authorization_servers,
        "bearer_methods_supported": ["header"],
    });
    if !oauth2.scopes_supported.is_empty() {
        body["scopes_supported"] = json!(oauth2.scopes_supported);
    }
    Plain::json(StatusCode::OK, &body)
}

/// The `{id}` of `/v1/sessions/{id}`: one non-empty path segment.
pub(super) fn session_id_of(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/v1/sessions/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// The `{id}` of `/v1/sessions/{id}/context`: one non-empty path segment.
pub(super) fn session_context_id(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/v1/sessions/")?
        .strip_suffix("/context")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}
