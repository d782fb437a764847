//! UCP's request stages and the one function that puts them in order.
//!
//! Each stage implements `ucp_proxy::Stage`. The set is closed, so [`FilterStage`] is an enum over
//! them and the pipeline needs no boxing. Stages do no socket or file IO of their own: what they
//! keep beyond one snapshot (the embedder, the store, learned usage, the selection cache, the
//! metrics registry) is handed to [`build`] in [`Shared`].

mod authenticate;
mod index_build;
mod learn_usage;
mod model;
mod rate_limit;
mod record_metrics;
mod sanitize_log;
mod select_tools;
mod selection_cache;
mod tool_policy;
mod usage;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ucp_config::Config;
use ucp_index::{Embedder, Store};
use ucp_proxy::{Exchange, Flow, Pipeline, ProxyError, Stage};

pub use authenticate::{Authenticate, Failure, Files, NoFiles, ReadFile, Verifier, api_key_hash};
pub use index_build::{ServerTags, build_index, server_tags};
pub use learn_usage::LearnUsage;
pub use model::{LoadModel, Model, ModelState};
pub use rate_limit::{Buckets, MAX_BUCKETS, RateLimit};
pub use record_metrics::{MAX_IDENTITY_LABELS, RecordMetrics, RequestMeter};
pub use sanitize_log::{MIN_LITERAL_SECRET, Redactor, SanitizeLog, redact};
pub use select_tools::{SelectSettings, SelectTools, engine_mode, meta_tools};
pub use selection_cache::{CacheKey, CachedSelection, SelectionCache};
pub use tool_policy::ToolPolicy;
pub use usage::{Usage, UsageShare};

/// The long-lived parts the stages use; they survive every snapshot (and, later, every reload).
pub struct Shared {
    /// The semantic signal, loaded when a mode needs it; without it selection ranks by keywords.
    pub model: Arc<Model>,
    /// Embeddings and learned usage on disk; `None` re-embeds at every start.
    pub store: Option<Arc<Store>>,
    pub usage: Arc<Usage>,
    pub cache: Arc<SelectionCache>,
    pub registry: prometheus::Registry,
    /// How configured key files are read (`ops` hands in the file system).
    pub files: Files,
    /// Rate-limit buckets, kept across pipeline rebuilds while the quota stays the same.
    buckets: parking_lot::Mutex<Option<Arc<Buckets>>>,
    auth_failures: prometheus::IntCounterVec,
    rate_limited: prometheus::IntCounter,
    requests: Arc<RequestMeter>,
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
        let model = Model::fixed(embedder);
        Shared::with_model(model, store, cache_entries, cache_bytes, registry)
    }

    /// [`Shared::new`] with a model that may load later ([`Model::lazy`]).
    pub fn with_model(
        model: Model,
        store: Option<Arc<Store>>,
        cache_entries: usize,
        cache_bytes: usize,
        registry: prometheus::Registry,
    ) -> prometheus::Result<Shared> {
        let model = Arc::new(model);
        let cache = Arc::new(SelectionCache::new(cache_entries, cache_bytes, &registry)?);
        let auth_failures = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "ucp_auth_failures_total",
                "Requests refused by authentication, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(auth_failures.clone()))?;
        let rate_limited = prometheus::IntCounter::new(
            "ucp_rate_limited_total",
            "Requests refused by the rate limit",
        )?;
        registry.register(Box::new(rate_limited.clone()))?;
        let requests = Arc::new(RequestMeter::register(&registry)?);
        Ok(Shared {
            usage: Arc::new(Usage::load(store.clone(), model.clone())),
            model,
            store,
            cache,
            registry,
            files: Arc::new(NoFiles),
            buckets: parking_lot::Mutex::new(None),
            auth_failures,
            rate_limited,
            requests,
            index_builds: AtomicU64::new(0),
        })
    }

    /// The same `Shared`, reading key files through `files`.
    pub fn with_files(mut self, files: Files) -> Shared {
        self.files = files;
        self
    }

    /// The buckets for `config`: the current ones when the quota is unchanged, else fresh ones.
    pub fn buckets_for(&self, config: &ucp_config::RateLimitConfig) -> Arc<Buckets> {
        let mut current = self.buckets.lock();
        match &*current {
            Some(buckets) if buckets.config() == config => buckets.clone(),
            _ => {
                let buckets = Arc::new(Buckets::new(config, MAX_BUCKETS));
                *current = Some(buckets.clone());
                buckets
            }
        }
    }

    /// The request metrics every pipeline records on.
    pub fn request_meter(&self) -> &RequestMeter {
        &self.requests
    }

    /// Unique per index build; the selection cache keys on it.
    fn next_index_generation(&self) -> u64 {
        self.index_builds.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Every stage the gateway knows.
pub enum FilterStage {
    Authenticate(Box<Authenticate>),
    RateLimit(RateLimit),
    ToolPolicy(ToolPolicy),
    SanitizeLog(SanitizeLog),
    RecordMetrics(RecordMetrics),
    CachedSelection(CachedSelection),
    SelectTools(SelectTools),
    LearnUsage(LearnUsage),
}

/// The request path, in order: reading this function tells what every request goes through.
/// Admission runs front to back (metrics and the access log first so that they record refusals
/// too, then who is asking, then their rate), the response stages back to front. Fails when a configured
/// key file cannot be read or parsed (the message names its YAML key and path).
pub fn build(config: &Config, shared: &Shared) -> Result<Pipeline<FilterStage>, String> {
    let select = Arc::new(SelectSettings::from_config(config));
    let router = &config.router;
    let auth = &config.server.auth;
    let mut stages = vec![
        FilterStage::RecordMetrics(RecordMetrics::new(shared.requests.clone())),
        FilterStage::SanitizeLog(SanitizeLog::new()),
    ];
    if auth.enabled {
        let stage = Authenticate::new(auth, &*shared.files, shared.auth_failures.clone())?;
        stages.push(FilterStage::Authenticate(Box::new(stage)));
    }
    if let Some(limit) = &auth.rate_limit {
        stages.push(FilterStage::RateLimit(RateLimit::new(
            shared.buckets_for(limit),
            shared.rate_limited.clone(),
        )));
    }
    if let Some(policy) = ucp_proxy::ToolPolicy::from_config(&auth.policy) {
        stages.push(FilterStage::ToolPolicy(ToolPolicy::new(policy)));
    }
    if router.cache.enabled {
        stages.push(FilterStage::CachedSelection(CachedSelection::new(
            shared.cache.clone(),
            router.cache.ttl,
            select.clone(),
        )));
    }
    stages.push(FilterStage::SelectTools(SelectTools::new(
        select,
        shared.model.clone(),
        shared.usage.clone(),
    )));
    stages.push(FilterStage::LearnUsage(LearnUsage::new(
        shared.usage.clone(),
        router.enable_learning,
        router.enable_co_occurrence,
    )));
    Ok(Pipeline::new(stages))
}

macro_rules! each_stage {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            FilterStage::Authenticate($s) => $body,
            FilterStage::RateLimit($s) => $body,
            FilterStage::ToolPolicy($s) => $body,
            FilterStage::SanitizeLog($s) => $body,
            FilterStage::RecordMetrics($s) => $body,
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
