//! Tool selection in the gateway: the index built from a catalog generation, the meta-tools that
//! expose it (`ucp_search_tools`, `ucp_call_tool`), and ranking a query against it.
//!
//! Building embeds every tool (through the RocksDB store, so unchanged tools are not re-embedded)
//! and runs on a blocking thread off the request path; requests keep the previous index meanwhile.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};
use ucp_config::{CacheConfig, RouterMode};
use ucp_index::embed_cache::{EmbedStats, embed_texts};
use ucp_index::learning::{CoOccurrence, Learned, LearningParams};
use ucp_index::{Bm25Params, Embedder, Engine, FusionWeights, Mode, SelectOptions, Store, ToolDoc};

use crate::catalog::Catalog;

pub const SEARCH_TOOL: &str = "ucp_search_tools";
pub const CALL_TOOL: &str = "ucp_call_tool";

/// The index of one catalog generation; `tools[i]` is the public name of the engine's doc `i`.
pub struct ToolIndex {
    pub engine: Engine,
    pub tools: Vec<String>,
    pub stats: EmbedStats,
    /// Unique per build; the selection cache keys on it, so a new index invalidates old entries.
    pub generation: u64,
}

/// A selection result shared between the cache and the requests that hit it.
pub type Selection = Arc<Vec<Selected>>;

/// (index generation, mode, k, query text, the session's recent calls).
type CacheKey = (u64, Mode, usize, String, Vec<String>);

/// LRU + TTL cache of selections, keyed by `CacheKey`.
struct SelectionCache {
    entries: Mutex<lru::LruCache<CacheKey, (Instant, Selection)>>,
    ttl: std::time::Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Long-lived selection state (survives snapshot swaps): the embedder and the store.
pub struct Selector {
    embedder: Option<Arc<Embedder>>,
    store: Option<Store>,
    /// Tags of each server, from the config, indexed with its tools.
    tags: BTreeMap<String, Vec<String>>,
    cache: Option<SelectionCache>,
    builds: AtomicU64,
    /// Learned usage (`router.enable_learning`), `None` when learning is off.
    learned: Option<Mutex<Learned>>,
    /// Tools called together (`router.enable_co_occurrence`), `None` when off.
    cooccurrence: Option<Mutex<CoOccurrence>>,
}

/// Weight of the learned signal in the fused score (see BENCHMARKS.md, replay experiment).
const LEARNING_WEIGHT: f32 = 1.0;
/// Weight of the co-occurrence signal (chosen a priori: half the learned signal's; not measured yet).
const COOCCURRENCE_WEIGHT: f32 = 0.5;

/// Hit and miss counts of the selector's caches, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheCounts {
    pub selection_hits: u64,
    pub selection_misses: u64,
    pub embedding_hits: u64,
    pub embedding_misses: u64,
}

/// One selected tool as `ucp_search_tools` and `/v1/select` return it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Selected {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    pub score: f32,
    pub scores: Value,
}

impl Selector {
    pub fn new(
        embedder: Option<Arc<Embedder>>,
        store: Option<Store>,
        tags: BTreeMap<String, Vec<String>>,
        cache: &CacheConfig,
        learning: bool,
        co_occurrence: bool,
    ) -> Selector {
        let cooccurrence = co_occurrence.then(|| {
            let mut co = CoOccurrence::default();
            if let Some(store) = &store {
                match store.cooccurrence() {
                    Ok(pairs) => pairs.iter().for_each(|(a, b, n)| co.import(a, b, *n)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read co-occurrence; starting empty")
                    }
                }
            }
            Mutex::new(co)
        });
        let learned = learning.then(|| {
            let mut learned = Learned::default();
            if let Some(store) = &store {
                match store.usage() {
                    Ok(records) => {
                        for (tool, bytes) in records {
                            learned.import(&tool, &bytes);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read learned usage; starting empty")
                    }
                }
            }
            Mutex::new(learned)
        });
        let cache = cache
            .enabled
            .then(|| NonZeroUsize::new(cache.max_size))
            .flatten()
            .map(|size| SelectionCache {
                entries: Mutex::new(lru::LruCache::new(size)),
                ttl: cache.ttl,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            });
        Selector {
            embedder,
            store,
            tags,
            cache,
            builds: AtomicU64::new(0),
            learned,
            cooccurrence,
        }
    }

    /// `tool` was called in a session that had called `earlier` (most recent last).
    pub fn record_session_call(&self, earlier: &[String], tool: &str) {
        let Some(co) = &self.cooccurrence else { return };
        let earlier: Vec<&str> = earlier.iter().map(String::as_str).collect();
        let changed = co.lock().record(&earlier, tool);
        if let (Some(store), false) = (&self.store, changed.is_empty())
            && let Err(e) = store.put_cooccurrence(&changed)
        {
            tracing::warn!(error = %e, "cannot persist co-occurrence");
        }
    }

    /// A search for `query` returned `tool` and the client then called it: it gains for similar
    /// queries. Stored (without the query text) when there is a store.
    pub fn record_call(&self, query: &str, tool: &str) {
        let (Some(learned), Some(embedder)) = (&self.learned, &self.embedder) else {
            return;
        };
        // The search embedded this query a moment ago, so this is a cache hit.
        let Ok(vector) = embedder.embed_query(query) else {
            return;
        };
        let bytes = {
            let mut learned = learned.lock();
            learned.record_call(&vector, tool);
            learned.export(tool)
        };
        self.persist(tool, bytes);
    }

    /// Tools a search returned that the client never called before its next search.
    pub fn record_ignored(&self, tools: &[String]) {
        let Some(learned) = &self.learned else { return };
        for tool in tools {
            let bytes = {
                let mut learned = learned.lock();
                learned.record_ignored(tool);
                learned.export(tool)
            };
            self.persist(tool, bytes);
        }
    }

    fn persist(&self, tool: &str, bytes: Option<Vec<u8>>) {
        if let (Some(store), Some(bytes)) = (&self.store, bytes)
            && let Err(e) = store.put_usage(tool, &bytes)
        {
            tracing::warn!(error = %e, tool, "cannot persist learned usage");
        }
    }

    pub fn cache_counts(&self) -> CacheCounts {
        let (embedding_hits, embedding_misses) =
            self.embedder.as_ref().map_or((0, 0), |e| e.cache_stats());
        let (selection_hits, selection_misses) = self.cache.as_ref().map_or((0, 0), |c| {
            (
                c.hits.load(Ordering::Relaxed),
                c.misses.load(Ordering::Relaxed),
            )
        });
        CacheCounts {
            selection_hits,
            selection_misses,
            embedding_hits,
            embedding_misses,
        }
    }

    /// A fresh cached selection, if any (counts the hit or miss).
    pub fn cached(
        &self,
        index: &ToolIndex,
        query: &str,
        options: &SelectOptions,
        recent: &[String],
    ) -> Option<Selection> {
        let cache = self.cache.as_ref()?;
        let key = self.cache_key(index, query, options, recent);
        let found = {
            let mut entries = cache.entries.lock();
            match entries.get(&key) {
                Some((at, selection)) if at.elapsed() < cache.ttl => Some(selection.clone()),
                Some(_) => {
                    entries.pop(&key);
                    None
                }
                None => None,
            }
        };
        let counter = if found.is_some() {
            &cache.hits
        } else {
            &cache.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn remember(
        &self,
        index: &ToolIndex,
        query: &str,
        options: &SelectOptions,
        recent: &[String],
        selection: &Selection,
    ) {
        if let Some(cache) = &self.cache {
            let key = self.cache_key(index, query, options, recent);
            cache
                .entries
                .lock()
                .put(key, (Instant::now(), selection.clone()));
        }
    }

    /// Learned usage is not part of the key: it moves slowly, and letting every learned call
    /// invalidate the whole cache would make the cache useless on a busy gateway. A selection
    /// reflects what was learned by the time it was computed, for at most `router.cache.ttl`.
    fn cache_key(
        &self,
        index: &ToolIndex,
        query: &str,
        options: &SelectOptions,
        recent: &[String],
    ) -> CacheKey {
        // Recent calls only matter (and only split the cache) when co-occurrence is on.
        let recent = if self.cooccurrence.is_some() {
            recent.to_vec()
        } else {
            Vec::new()
        };
        (
            index.generation,
            options.mode,
            options.k,
            query.to_string(),
            recent,
        )
    }

    pub fn learns_cooccurrence(&self) -> bool {
        self.cooccurrence.is_some()
    }

    pub fn has_store(&self) -> bool {
        self.store.is_some()
    }

    pub fn has_embedder(&self) -> bool {
        self.embedder.is_some()
    }

    /// Builds the index of `catalog` (blocking: call from `spawn_blocking`).
    pub fn build(&self, catalog: &Catalog) -> Result<ToolIndex, String> {
        self.build_with_progress(catalog, &mut |_, _| {})
    }

    /// `build`, reporting `(embedded so far, total)` as embedding proceeds (for `ucp index`).
    pub fn build_with_progress(
        &self,
        catalog: &Catalog,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ToolIndex, String> {
        let mut docs = Vec::with_capacity(catalog.tools.len());
        let mut tools = Vec::with_capacity(catalog.tools.len());
        for tool in &catalog.tools {
            let Some(route) = catalog.route_tool(&tool.name) else {
                continue;
            };
            let schema = Value::Object(JsonObject::clone(&tool.input_schema));
            let tags = self.tags.get(&*route.server).cloned().unwrap_or_default();
            docs.push(ToolDoc::from_input_schema(
                tool.name.to_string(),
                route.server.to_string(),
                route.original.clone(),
                tool.description.as_deref().unwrap_or(""),
                &schema,
                tags,
            ));
            tools.push(tool.name.to_string());
        }
        let (vectors, stats) = match &self.embedder {
            Some(embedder) => {
                let texts: Vec<String> = docs.iter().map(ToolDoc::dense_text).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                embed_texts(embedder, self.store.as_ref(), &refs, progress)
                    .map_err(|e| e.to_string())?
            }
            None => (Vec::new(), EmbedStats::default()),
        };
        let engine = Engine::build(
            docs,
            &vectors,
            Bm25Params::default(),
            FusionWeights::default(),
        )?;
        let generation = self.builds.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(ToolIndex {
            engine,
            tools,
            stats,
            generation,
        })
    }

    /// Ranks the index for `query` (blocking: embeds the query unless cached) and caches the result.
    pub fn select(
        &self,
        index: &ToolIndex,
        catalog: &Catalog,
        query: &str,
        options: SelectOptions,
        recent: &[String],
    ) -> Selection {
        let selection = Arc::new(self.rank(index, catalog, query, options, recent));
        self.remember(index, query, &options, recent, &selection);
        selection
    }

    fn rank(
        &self,
        index: &ToolIndex,
        catalog: &Catalog,
        query: &str,
        options: SelectOptions,
        recent: &[String],
    ) -> Vec<Selected> {
        let vector = match (&self.embedder, options.mode) {
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
        let learned: Option<Vec<f32>> = match (&self.learned, &vector) {
            (Some(learned), Some(v)) => {
                let learned = learned.lock();
                (!learned.is_empty()).then(|| learned.scores(v, &ids, LearningParams::default()))
            }
            _ => None,
        };
        let cooccurrence: Option<Vec<f32>> = match &self.cooccurrence {
            Some(co) if !recent.is_empty() => {
                let co = co.lock();
                (!co.is_empty()).then(|| {
                    let recent: Vec<&str> = recent.iter().map(String::as_str).collect();
                    co.scores(&recent, &ids)
                })
            }
            _ => None,
        };
        let combined: Option<Vec<f32>> = match (&learned, &cooccurrence) {
            (None, None) => None,
            _ => Some(
                (0..index.tools.len())
                    .map(|i| {
                        LEARNING_WEIGHT * learned.as_ref().map_or(0.0, |l| l[i])
                            + COOCCURRENCE_WEIGHT * cooccurrence.as_ref().map_or(0.0, |c| c[i])
                    })
                    .collect(),
            ),
        };
        let extra = combined.as_deref().map(|c| (c, 1.0));
        index
            .engine
            .search_with(query, vector.as_deref(), options, extra)
            .into_iter()
            .filter_map(|hit| {
                let name = index.tools.get(hit.doc as usize)?;
                // The index may lag the catalog by one build: only tools that still exist.
                let tool = catalog.tool(name)?;
                Some(Selected {
                    name: name.clone(),
                    description: tool.description.as_deref().unwrap_or("").to_string(),
                    input_schema: Value::Object(JsonObject::clone(&tool.input_schema)),
                    score: hit.score,
                    scores: json!({
                        "bm25": hit.bm25,
                        "dense": hit.dense,
                        "learned": learned.as_ref().map_or(0.0, |l| l[hit.doc as usize]),
                        "co_occurrence": cooccurrence.as_ref().map_or(0.0, |c| c[hit.doc as usize]),
                    }),
                })
            })
            .collect()
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

/// The two meta-tools of `router.exposure: search`.
pub fn meta_tools(default_k: usize) -> Vec<Tool> {
    let search_schema = json!({
        "type": "object",
        "properties": {
            "query": { "type": "string", "description": "What you want to do, in plain words" },
            "k": { "type": "integer", "minimum": 1, "maximum": 50, "default": default_k,
                   "description": "How many tools to return" }
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
            "Search every tool of every server behind this gateway. Returns the best matches with \
             their names, descriptions and input schemas; call one with ucp_call_tool (or by its name).",
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
