//! The learning stage: on the response side, only for requests that passed every stage and
//! succeeded, it teaches the usage signals what the session did. A search is remembered (its
//! results not called before the next search count as ignored); a call of a tool that search
//! returned is learned; a call after other calls updates co-occurrence.

use std::sync::Arc;

use ucp_proxy::session::{LastSearch, RECENT_CALLS, SessionState};
use ucp_proxy::{Exchange, Method, SelectPurpose, Stage};

use crate::usage::Usage;

pub struct LearnUsage {
    usage: Arc<Usage>,
    learning: bool,
    co_occurrence: bool,
}

impl LearnUsage {
    pub fn new(usage: Arc<Usage>, learning: bool, co_occurrence: bool) -> Self {
        LearnUsage {
            usage,
            learning,
            co_occurrence,
        }
    }

    /// Remembers this search; the previous one's uncalled results count as ignored.
    fn searched(&self, session: &SessionState, query: &str, returned: Vec<String>) {
        let previous = session.last_search.lock().replace(LastSearch {
            query: query.to_string(),
            returned,
            called: Vec::new(),
        });
        let Some(previous) = previous else { return };
        let ignored: Vec<String> = previous
            .returned
            .into_iter()
            .filter(|t| !previous.called.contains(t))
            .collect();
        if self.learning && !ignored.is_empty() {
            let usage = self.usage.clone();
            tokio::task::spawn_blocking(move || usage.record_ignored(&ignored));
        }
    }

    /// A routed tool was called: learn it if the last search returned it, and count it as
    /// called together with the session's recent calls.
    fn called(&self, session: &SessionState, tool: &str) {
        let query = {
            let mut last = session.last_search.lock();
            match last.as_mut() {
                Some(search)
                    if search.returned.iter().any(|t| t == tool)
                        && !search.called.iter().any(|t| t == tool) =>
                {
                    search.called.push(tool.to_string());
                    Some(search.query.clone())
                }
                _ => None,
            }
        };
        let earlier: Vec<String> = {
            let mut recent = session.recent_calls.lock();
            let earlier = recent.iter().cloned().collect();
            recent.retain(|t| t != tool);
            recent.push_back(tool.to_string());
            if recent.len() > RECENT_CALLS {
                recent.pop_front();
            }
            earlier
        };
        let learn = self.learning.then_some(query).flatten();
        // Every call counts (the first of a session too): scores divide by a tool's call count.
        let co = self.co_occurrence;
        if learn.is_none() && !co {
            return;
        }
        let usage = self.usage.clone();
        let tool = tool.to_string();
        tokio::task::spawn_blocking(move || {
            if let Some(query) = learn {
                usage.record_call(&query, &tool);
            }
            if co {
                usage.record_session_call(&earlier, &tool);
            }
        });
    }
}

impl Stage for LearnUsage {
    fn name(&self) -> &'static str {
        "learn_usage"
    }

    async fn on_response(&self, ex: &mut Exchange) {
        if !ex.outcome.passed() || ex.method != Method::ToolsCall {
            return;
        }
        let Some(session) = ex.session.as_deref() else {
            return;
        };
        match &ex.select {
            Some(work) if work.purpose == SelectPurpose::Search => {
                let returned = work
                    .answer
                    .as_ref()
                    .map(|s| s.iter().map(|t| t.name.clone()).collect())
                    .unwrap_or_default();
                self.searched(session, &work.query, returned);
            }
            // Only calls the router sent to a server (not unknown names).
            _ => {
                if let (Some(tool), Some(_)) = (&ex.target, &ex.server) {
                    self.called(session, tool);
                }
            }
        }
    }
}
