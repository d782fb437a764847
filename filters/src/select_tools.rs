//! The tool-selection stage: ranks the index for a request's `SelectWork` (`ucp_search_tools`,
//! `/v1/select`, a `dynamic` session's list) with every signal, and decides what `tools/list`
//! shows under `search` and `dynamic` exposure.
//!
//! Ranking embeds the query, so it runs on a blocking thread; the cache stage before it answers
//! repeats without any of that work.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};
use ucp_config::{Config, Exposure, RouterMode};
use ucp_index::{Mode, SelectOptions, ToolIndex};
use ucp_proxy::{
    CALL_TOOL, Catalog, Exchange, Grant, Method, ProxyError, SEARCH_TOOL, SelectWork, Selected,
    SignalScores, Stage,
};

use crate::Model;
use crate::selection_cache::CacheKey;
use crate::usage::Usage;

/// Weight of the learned signal in the fused score (see BENCHMARKS.md, replay experiment).
const LEARNING_WEIGHT: f32 = 1.0;
/// Weight of the co-occurrence signal (chosen a priori: half the learned signal's; not measured yet).
const COOCCURRENCE_WEIGHT: f32 = 0.5;
/// Largest `k` a request may ask for.
const MAX_K: usize = 50;

/// Selection settings from the config: what the stages of one snapshot rank with.
#[derive(Debug, Clone)]
pub struct SelectSettings {
    pub mode: Mode,
    pub top_k: usize,
    pub similarity_threshold: f32,
    pub per_server_cap: Option<usize>,
    pub max_query_bytes: usize,
    pub learning: bool,
    pub co_occurrence: bool,
    pub exposure: Exposure,
    pub pinned: Vec<String>,
}

impl SelectSettings {
    pub fn from_config(config: &Config) -> SelectSettings {
        SelectSettings {
            mode: engine_mode(config.router.mode),
            top_k: config.tool_zoo.top_k,
            similarity_threshold: config.tool_zoo.similarity_threshold,
            per_server_cap: config.router.per_server_cap,
            max_query_bytes: config.tool_zoo.max_query_bytes,
            learning: config.router.enable_learning,
            co_occurrence: config.router.enable_co_occurrence,
            exposure: config.router.exposure,
            pinned: config.router.pinned.clone(),
        }
    }

    /// The engine options of a request; a query over the limit is an error.
    pub fn options(&self, work: &SelectWork) -> Result<SelectOptions, ProxyError> {
        if work.query.len() > self.max_query_bytes {
            return Err(ProxyError::QueryTooLong {
                len: work.query.len(),
                limit: self.max_query_bytes,
            });
        }
        Ok(SelectOptions {
            mode: self.mode,
            k: work.k.unwrap_or(self.top_k).clamp(1, MAX_K),
            similarity_threshold: self.similarity_threshold,
            per_server_cap: self.per_server_cap,
        })
    }

    /// The selection-cache key: every option that changes the result.
    pub fn key(&self, work: &SelectWork, grant: Option<&Grant>) -> Result<CacheKey, ProxyError> {
        let options = self.options(work)?;
        Ok(CacheKey {
            generation: work.index.generation,
            mode: options.mode,
            k: options.k,
            threshold: options.similarity_threshold.to_bits(),
            per_server_cap: options.per_server_cap,
            query: work.query.clone(),
            // Recent calls only change a result (and split the cache) when co-occurrence is on.
            recent: if self.co_occurrence {
                work.recent.clone()
            } else {
                Vec::new()
            },
            grant: grant.map_or(0, Grant::key),
        })
    }
}

/// `router.mode` as the engine's mode.
pub fn engine_mode(mode: RouterMode) -> Mode {
    match mode {
        RouterMode::Keyword => Mode::Keyword,
        RouterMode::Semantic => Mode::Semantic,
        RouterMode::Hybrid => Mode::Hybrid,
    }
}

/// The selection stage.
pub struct SelectTools {
    settings: Arc<SelectSettings>,
    ranker: Arc<Ranker>,
}

impl SelectTools {
    pub fn new(settings: Arc<SelectSettings>, model: Arc<Model>, usage: Arc<Usage>) -> Self {
        let ranker = Arc::new(Ranker {
            model,
            usage,
            learning: settings.learning,
            co_occurrence: settings.co_occurrence,
        });
        SelectTools { settings, ranker }
    }
}

impl Stage for SelectTools {
    fn name(&self) -> &'static str {
        "select_tools"
    }

    async fn on_route(&self, ex: &mut Exchange) -> Result<(), ProxyError> {
        if let Some(work) = ex.select.as_mut()
            && work.answer.is_none()
        {
            let options = self.settings.options(work)?;
            // Under `exposure: all` the first selection is what makes the model wanted.
            self.ranker.model.selection_asked();
            let ranker = self.ranker.clone();
            let catalog = ex.catalog.clone().ok_or_else(|| {
                ProxyError::Internal("selection without the request's catalog".into())
            })?;
            let index = work.index.clone();
            let (query, recent) = (work.query.clone(), work.recent.clone());
            let grant = ex.grant.clone();
            let (ranked, took) = tokio::task::spawn_blocking(move || {
                let start = std::time::Instant::now();
                let allowed = grant.map(|g| allowed_mask(&g, &index, &catalog));
                let ranked = ranker.rank(
                    &index,
                    &catalog,
                    &query,
                    options,
                    &recent,
                    allowed.as_deref(),
                );
                (ranked, start.elapsed())
            })
            .await
            .map_err(|e| ProxyError::Internal(format!("selection task: {e}")))?;
            work.answer = Some(Arc::new(ranked));
            work.query_duration = Some(took);
        }
        if ex.method == Method::ToolsList
            && self.settings.exposure != Exposure::All
            && let Some(catalog) = &ex.catalog
        {
            let selected = ex.select.as_ref().and_then(|w| w.answer.clone());
            ex.listed_tools = Some(listed_tools(&self.settings, catalog, selected.as_deref()));
        }
        Ok(())
    }
}

/// Ranks with the engine plus the usage signals. Blocking (embeds the query unless cached).
struct Ranker {
    /// Never loaded here: until the index build has loaded it, ranking is by keywords.
    model: Arc<Model>,
    usage: Arc<Usage>,
    learning: bool,
    co_occurrence: bool,
}

impl Ranker {
    fn rank(
        &self,
        index: &ToolIndex,
        catalog: &Catalog,
        query: &str,
        options: SelectOptions,
        recent: &[String],
        allowed: Option<&[bool]>,
    ) -> Vec<Selected> {
        // An index built without vectors (the model came later) ranks by keywords until rebuilt.
        let embedder = self.model.get().filter(|_| index.engine.has_vectors());
        let vector = match (embedder, options.mode) {
            (Some(embedder), Mode::Semantic | Mode::Hybrid) => match embedder.embed_query(query) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(error = %e, "query embedding failed; ranking by keywords");
                    None
                }
            },
            _ => None,
        };
        let ids: Vec<&str> = index.tools.iter().map(String::as_str).collect();
        let learned = match &vector {
            Some(v) if self.learning => self.usage.learned_scores(v, &ids),
            _ => None,
        };
        let cooccurrence = if self.co_occurrence {
            self.usage.cooccurrence_scores(recent, &ids)
        } else {
            None
        };
        let combined: Option<Vec<f32>> = (learned.is_some() || cooccurrence.is_some()).then(|| {
            (0..ids.len())
                .map(|i| {
                    LEARNING_WEIGHT * learned.as_ref().map_or(0.0, |l| l[i])
                        + COOCCURRENCE_WEIGHT * cooccurrence.as_ref().map_or(0.0, |c| c[i])
                })
                .collect()
        });
        let extra = combined.as_deref().map(|c| (c, 1.0));
        index
            .engine
            .search_allowed(query, vector.as_deref(), options, extra, allowed)
            .into_iter()
            .filter_map(|hit| {
                let doc = hit.doc as usize;
                let name = index.tools.get(doc)?;
                // The index may lag the catalog by one build: only tools that still exist.
                let tool = catalog.tool(name)?;
                Some(Selected {
                    name: name.clone(),
                    description: tool.description.as_deref().unwrap_or("").to_string(),
                    input_schema: tool.input_schema.clone(),
                    score: hit.score,
                    scores: SignalScores {
                        bm25: hit.bm25,
                        dense: hit.dense,
                        learned: learned.as_ref().map_or(0.0, |l| l[doc]),
                        co_occurrence: cooccurrence.as_ref().map_or(0.0, |c| c[doc]),
                    },
                })
            })
            .collect()
    }
}

/// Which of the index's tools the grant allows, in index order.
fn allowed_mask(grant: &Grant, index: &ToolIndex, catalog: &Catalog) -> Vec<bool> {
    index
        .tools
        .iter()
        .map(|name| {
            catalog
                .route_tool(name)
                .is_some_and(|r| grant.allows(name, &r.server))
        })
        .collect()
}

/// What `tools/list` shows under `search` and `dynamic` exposure: the pinned tools, the two
/// meta-tools and (dynamic) the session's selected tools, sorted by name so the list is stable.
fn listed_tools(
    settings: &SelectSettings,
    catalog: &Catalog,
    selected: Option<&Vec<Selected>>,
) -> Vec<Tool> {
    let chosen = |name: &str| {
        settings.pinned.iter().any(|p| p == name)
            || selected.is_some_and(|s| s.iter().any(|t| t.name == name))
    };
    let mut tools: Vec<Tool> = catalog
        .tools
        .iter()
        .filter(|t| chosen(t.name.as_ref()))
        .cloned()
        .collect();
    tools.extend(meta_tools(settings.top_k));
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools
}

/// The two meta-tools of `search` exposure.
pub fn meta_tools(default_k: usize) -> Vec<Tool> {
    let search_schema = json!({
        "type": "object",
        "properties": {
            "query": { "type": "string", "description": "What you want to do, in plain words" },
            "k": { "type": "integer", "minimum": 1, "maximum": MAX_K, "default": default_k,
                   "description": "How many tools to return" },
            "detail": { "type": "string", "enum": ["brief", "full"], "default": "brief",
                        "description": "brief: name(arguments) and a short description per tool; full: whole descriptions and JSON input schemas" }
        },
        "required": ["query"]
    });
    let call_schema = json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "A tool name returned by ucp_search_tools" },
            "arguments": { "type": "object", "description": "The tool's arguments, per its input schema" }
        },
        "required": ["name"]
    });
    vec![
        Tool::new(
            CALL_TOOL,
            "Call any tool of any server behind this gateway by the name ucp_search_tools returned.",
            Arc::new(object(call_schema)),
        ),
        Tool::new(
            SEARCH_TOOL,
            "Search every tool of every server behind this gateway. Returns the best matches, one \
             per line as name(arguments) with `?` marking optional ones, then a short description; \
             call one with ucp_call_tool (or by its name). detail: \"full\" adds whole input schemas.",
            Arc::new(object(search_schema)),
        ),
    ]
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests;
