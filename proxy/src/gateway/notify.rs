//! What the gateway tells client sessions on its own: `notifications/*/list_changed` after a catalog
//! swap, and for `dynamic` exposure after the session's selected tool set changes.

use std::sync::{Arc, Weak};

use rmcp::RoleServer;
use rmcp::service::{Peer, ServiceError};
use tokio::sync::broadcast;

use super::GatewayShared;
use crate::exchange::{Exchange, Method, SelectPurpose, SelectWork, Selection, Transport};
use crate::pipeline::Stage;
use crate::session::SessionState;
use crate::snapshot::Snapshot;

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

    const ALL: ListsChanged = ListsChanged {
        tools: true,
        prompts: true,
        resources: true,
    };
}

/// Forwards catalog changes to one session until the session closes. It holds the session only
/// weakly: a closed session's state (and the client's `initialize` params its peer keeps) is freed
/// at once, not at the next change.
pub(super) fn follow_changes(
    mut changes: broadcast::Receiver<ListsChanged>,
    session: Weak<SessionState>,
    closed: tokio_util::sync::CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let changed = tokio::select! {
                _ = closed.cancelled() => return,
                changed = changes.recv() => match changed {
                    Ok(changed) => changed,
                    Err(broadcast::error::RecvError::Lagged(_)) => ListsChanged::ALL,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            let Some(peer) = session.upgrade().and_then(|s| s.peer.lock().clone()) else {
                return;
            };
            if send(&peer, changed).await.is_err() {
                return; // the client session is gone
            }
        }
    });
}

/// A 2026-07-28 `subscriptions/listen`: the list changes the subscription accepted, through its
/// sink (which tags each with the subscription id), until the client ends it.
pub(super) async fn listen_changes(
    mut changes: broadcast::Receiver<ListsChanged>,
    context: &rmcp::service::SubscriptionContext,
) {
    use rmcp::model::{NotificationNoParam, ServerNotification};
    let accepted = context.accepted().clone();
    loop {
        let changed = tokio::select! {
            _ = context.cancelled() => return,
            changed = changes.recv() => match changed {
                Ok(changed) => changed,
                Err(broadcast::error::RecvError::Lagged(_)) => ListsChanged::ALL,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let wanted = [
            (
                changed.tools && accepted.tools_list_changed == Some(true),
                ServerNotification::ToolListChangedNotification(NotificationNoParam::default()),
            ),
            (
                changed.prompts && accepted.prompts_list_changed == Some(true),
                ServerNotification::PromptListChangedNotification(NotificationNoParam::default()),
            ),
            (
                changed.resources && accepted.resources_list_changed == Some(true),
                ServerNotification::ResourceListChangedNotification(NotificationNoParam::default()),
            ),
        ];
        for (send_it, notification) in wanted {
            if send_it && context.sink().send(notification).await.is_err() {
                return; // the subscription or the client is gone
            }
        }
    }
}

async fn send(peer: &Peer<RoleServer>, changed: ListsChanged) -> Result<(), ServiceError> {
    if changed.tools {
        peer.notify_tool_list_changed().await?;
    }
    if changed.prompts {
        peer.notify_prompt_list_changed().await?;
    }
    if changed.resources {
        peer.notify_resource_list_changed().await?;
    }
    Ok(())
}

/// The selection work of a `dynamic` session's tool list: the top `router.max_tools` for its
/// context (pushed context and searches) and recent calls; `None` while it has no context or
/// there is no index yet.
pub(super) fn dynamic_work<S>(snap: &Snapshot<S>, session: &SessionState) -> Option<SelectWork> {
    let context = session.context_text();
    if context.trim().is_empty() {
        return None;
    }
    Some(SelectWork {
        purpose: SelectPurpose::DynamicList,
        query: context,
        k: Some(snap.config.router.max_tools),
        recent: session.recent_calls(),
        index: snap.index.clone()?,
        answer: None,
        cached: false,
        query_duration: None,
    })
}

/// Sends `notifications/tools/list_changed` to a session whose dynamic set no longer matches
/// what its last `tools/list` showed (sessions that never listed are left alone).
pub(super) async fn refresh_dynamic<S: Stage>(
    shared: Arc<GatewayShared<S>>,
    session: Arc<SessionState>,
) {
    let Some(listed) = session.listed.lock().clone() else {
        return;
    };
    let snap = shared.snapshot.load_full();
    let names: Vec<String> = internal_selection(&snap, &session)
        .await
        .map(|s| s.iter().map(|t| t.name.clone()).collect())
        .unwrap_or_default();
    if names != listed {
        let peer = session.peer.lock().clone();
        if let Some(peer) = peer {
            let _ = peer.notify_tool_list_changed().await;
        }
    }
}

/// The session's dynamic selection, computed through the pipeline's route phase as the gateway's
/// own (internal) request.
async fn internal_selection<S: Stage>(
    snap: &Snapshot<S>,
    session: &Arc<SessionState>,
) -> Option<Selection> {
    let mut ex = Exchange::new(Transport::Internal, Method::ToolsList);
    ex.select = Some(dynamic_work(snap, session)?);
    ex.session = Some(session.clone());
    ex.catalog = Some(snap.catalog.clone());
    ex.grant = session.grant.lock().clone();
    let routed = snap.pipeline.route(&mut ex).await;
    ex.answered(match &routed {
        Ok(()) => crate::exchange::Outcome::Ok,
        Err(e) => crate::exchange::Outcome::Failed {
            code: e.code(),
            message: e.to_string(),
        },
    });
    snap.pipeline.finish(&mut ex).await;
    routed.ok()?;
    ex.select?.answer
}
