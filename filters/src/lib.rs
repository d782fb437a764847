//! UCP's request stages and the one function that puts them in order.
//!
//! Each stage implements `ucp_proxy::Stage`. The set is closed, so [`FilterStage`] is an enum over
//! them and the pipeline needs no boxing. Stages do no socket or file IO of their own.

mod sanitize_log;

use ucp_config::Config;
use ucp_proxy::{Exchange, Flow, Pipeline, Stage};

pub use sanitize_log::{SanitizeLog, redact};

/// Every stage the gateway knows.
#[derive(Debug)]
pub enum FilterStage {
    SanitizeLog(SanitizeLog),
}

impl Stage for FilterStage {
    fn name(&self) -> &'static str {
        match self {
            FilterStage::SanitizeLog(s) => s.name(),
        }
    }

    async fn on_request(&self, ex: &mut Exchange) -> Flow {
        match self {
            FilterStage::SanitizeLog(s) => s.on_request(ex).await,
        }
    }

    async fn on_response(&self, ex: &mut Exchange) {
        match self {
            FilterStage::SanitizeLog(s) => s.on_response(ex).await,
        }
    }
}

/// The request path, in order. Authentication, rate limiting and tool selection join this list as
/// they are built; reading this function tells what every request goes through.
pub fn build(config: &Config) -> Pipeline<FilterStage> {
    Pipeline::new(vec![FilterStage::SanitizeLog(SanitizeLog::new(
        config.server.sanitize_logs,
    ))])
}
