//! The tool-policy stage: after authentication, gives the request its caller's grant
//! (`server.auth.policy`). The proxy applies it to `tools/list` and calls, the selection stages
//! rank only the tools it allows.

use std::sync::Arc;

use ucp_proxy::{Exchange, Flow, Stage, ToolPolicy as Policy};

pub struct ToolPolicy {
    policy: Arc<Policy>,
}

impl ToolPolicy {
    pub fn new(policy: Arc<Policy>) -> Self {
        ToolPolicy { policy }
    }
}

impl Stage for ToolPolicy {
    fn name(&self) -> &'static str {
        "tool_policy"
    }

    async fn on_request(&self, ex: &mut Exchange) -> Flow {
        ex.grant = Some(self.policy.grant(&ex.identity));
        Flow::Next
    }
}
