//! UCP's request stages and the one function that puts them in order.
//!
//! Each stage implements `ucp_proxy::Stage`. The set is closed, so [`FilterStage`] is an enum over
//! them and the pipeline needs no boxing. Stages do no socket or file IO of their own: what they
//! keep beyond one snapshot (the embedder, the store, learned usage, the selection cache, the
//! metrics registry) is handed to [`build`] in [`Shared`].

mod index_build;
mod learn_usage;
mod sanitize_log;
mod select_tools;
mod selection_cache;
mod usage;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ucp_config::Config;
use ucp_index::{Embedder, Store};
use ucp_proxy::{Exchange, Flow, Pipeline, ProxyError, Stage};

pub use index_build::{ServerTags, build_index, server_tags};
pub use learn_usage::LearnUsage;
pub use sanitize_log::{SanitizeLog, redact};
pub use select_tools::{SelectSettings, SelectTools, engine_mode, meta_tools};
pub use selection_cache::{CacheKey, CachedSelection, SelectionCache};
pub use usage::Usage;

/// The long-lived parts the stages use; they survive every snapshot (and, later, every reload).
pub struct Shared {
    /// The semantic signal; `None` ranks by keywords only.
    pub embedder: Option<Arc<Embedder>>,
    /// Embeddings and learned usage on disk; `None` re-embeds at every start.
    pub store: Option<Arc<Store>>,
    pub usage: Arc<Usage>,
    pub cache: Arc<SelectionCache>,
    pub registry: prometheus::Registry,
    index_builds: AtomicU64,
}

impl Shared {
    /// `cache_entries` / `cache_bytes` bound the selection cache for the life of the process.
    pub fn new(
        embedder: Option<Arc<Embedder>>,
        store: Option<Arc<Store>>,
        cache_entries: usize,
        cache_bytes: usize,
        registry: prometheus::Registry,
    ) -> prometheus::Result<Shared> {
        let cache = Arc::new(SelectionCache::new(cache_entries, cache_bytes, &registry)?);
        Ok(Shared {
            usage: Arc::new(Usage::load(store.clone(), embedder.clone())),
            embedder,
            store,
            cache,
            registry,
            index_builds: AtomicU64::new(0),
        })
    }

    /// Unique per index build; the selection cache keys on it.
    fn next_index_generation(&self) -> u64 {
        self.index_builds.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Every stage the gateway knows.
pub enum FilterStage {
    SanitizeLog(SanitizeLog),
    CachedSelection(CachedSelection),
    SelectTools(SelectTools),
    LearnUsage(LearnUsage),
}

/// The request path, in order. Authentication and rate limiting join the front of this list when
/// they are built; reading this function tells what every request goes through.
pub fn build(config: &Config, shared: &Shared) -> Pipeline<FilterStage> {
    let select = Arc::new(SelectSettings::from_config(config));
    let router = &config.router;
    let mut stages = vec![FilterStage::SanitizeLog(SanitizeLog::new(
        config.server.sanitize_logs,
    ))];
    if router.cache.enabled {
        stages.push(FilterStage::CachedSelection(CachedSelection::new(
            shared.cache.clone(),
            router.cache.ttl,
            select.clone(),
        )));
    }
    stages.push(FilterStage::SelectTools(SelectTools::new(
        select,
        shared.embedder.clone(),
        shared.usage.clone(),
    )));
    stages.push(FilterStage::LearnUsage(LearnUsage::new(
        shared.usage.clone(),
        router.enable_learning,
        router.enable_co_occurrence,
    )));
    Pipeline::new(stages)
}

macro_rules! each_stage {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            FilterStage::SanitizeLog($s) => $body,
            FilterStage::CachedSelection($s) => $body,
            FilterStage::SelectTools($s) => $body,
            FilterStage::LearnUsage($s) => $body,
        }
    };
}

impl Stage for FilterStage {
    fn name(&self) -> &'static str {
        each_stage!(self, s => s.name())
    }

    async fn on_request(&self, ex: &mut Exchange) -> Flow {
        each_stage!(self, s => s.on_request(ex).await)
    }

    async fn on_route(&self, ex: &mut Exchange) -> Result<(), ProxyError> {
        each_stage!(self, s => s.on_route(ex).await)
    }

    async fn on_response(&self, ex: &mut Exchange) {
        each_stage!(self, s => s.on_response(ex).await)
    }
}
