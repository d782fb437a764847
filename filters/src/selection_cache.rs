//! The selection cache: long-lived (a reload empties it and may resize it), bounded by entries and bytes, keyed by
//! everything that changes a result; and the stage that answers from it and fills it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ucp_index::{BoundedLru, Mode};
use ucp_proxy::{Exchange, ProxyError, Selection, Stage};

use crate::select_tools::SelectSettings;

/// Everything a selection depends on besides learned usage: the index generation, the options
/// (mode, k, threshold, per-server cap), the query, and the session's recent calls when
/// co-occurrence is on.
///
/// Learned usage is not part of the key: it moves slowly, and letting every learned call
/// invalidate the whole cache would make the cache useless on a busy gateway. A selection
/// reflects what was learned by the time it was computed, for at most `router.cache.ttl`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub generation: u64,
    pub mode: Mode,
    pub k: usize,
    /// `f32::to_bits` of the similarity threshold.
    pub threshold: u32,
    pub per_server_cap: Option<usize>,
    pub query: String,
    pub recent: Vec<String>,
    /// The caller's tool grant (`Grant::key`), 0 without a policy.
    pub grant: u128,
}

impl CacheKey {
    fn bytes(&self) -> usize {
        self.query.len() + self.recent.iter().map(|r| r.len() + 24).sum::<usize>() + 96
    }
}

/// Bytes a cached selection holds beyond what the catalog holds anyway (schemas are shared).
fn selection_bytes(selection: &Selection) -> usize {
    selection
        .iter()
        .map(|t| t.name.len() + t.description.len() + 96)
        .sum()
}

/// Selections by key, LRU within an entry and a byte budget, with hit and miss counters.
pub struct SelectionCache {
    entries: Mutex<BoundedLru<CacheKey, (Instant, Selection)>>,
    hits: prometheus::IntCounter,
    misses: prometheus::IntCounter,
}

impl SelectionCache {
    /// A cache of at most `max_entries` / `max_bytes`; its counters are registered in `registry`.
    pub fn new(
        max_entries: usize,
        max_bytes: usize,
        registry: &prometheus::Registry,
    ) -> prometheus::Result<SelectionCache> {
        let hits = prometheus::IntCounter::new(
            "ucp_router_cache_hits_total",
            "Selections answered from the selection cache",
        )?;
        let misses = prometheus::IntCounter::new(
            "ucp_router_cache_misses_total",
            "Selections computed (not in the selection cache)",
        )?;
        registry.register(Box::new(hits.clone()))?;
        registry.register(Box::new(misses.clone()))?;
        Ok(SelectionCache {
            entries: Mutex::new(BoundedLru::new(max_entries, max_bytes)),
            hits,
            misses,
        })
    }

    /// A fresh entry, if any; counts the hit or miss.
    pub fn get(&self, key: &CacheKey, ttl: Duration) -> Option<Selection> {
        let found = {
            let mut entries = self.entries.lock();
            match entries.get(key) {
                Some((at, selection)) if at.elapsed() < ttl => Some(selection.clone()),
                Some(_) => {
                    entries.remove(key);
                    None
                }
                None => None,
            }
        };
        match &found {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        }
        found
    }

    pub fn put(&self, key: CacheKey, selection: Selection) {
        let size = key.bytes() + selection_bytes(&selection);
        self.entries
            .lock()
            .put(key, (Instant::now(), selection), size);
    }

    /// A reload: new bounds, and no selection computed under the old settings (pinned tools,
    /// exposure and policy are not all in the key).
    pub fn reset(&self, max_entries: usize, max_bytes: usize) {
        let mut entries = self.entries.lock();
        entries.clear();
        entries.resize(max_entries, max_bytes);
    }

    /// Drops every entry (learned usage changed under them: another instance's, merged).
    pub fn clear(&self) {
        self.entries.lock().clear();
    }

    /// `(entries, bytes)` held now.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock();
        (entries.len(), entries.bytes())
    }

    pub fn counts(&self) -> (u64, u64) {
        (self.hits.get(), self.misses.get())
    }
}

/// The selection-cache lookup stage: answers a selection from the cache before the selection
/// stage runs, and stores fresh selections on the way back.
pub struct CachedSelection {
    cache: Arc<SelectionCache>,
    ttl: Duration,
    settings: Arc<SelectSettings>,
}

impl CachedSelection {
    pub fn new(cache: Arc<SelectionCache>, ttl: Duration, settings: Arc<SelectSettings>) -> Self {
        CachedSelection {
            cache,
            ttl,
            settings,
        }
    }
}

impl Stage for CachedSelection {
    fn name(&self) -> &'static str {
        "selection_cache"
    }

    async fn on_route(&self, ex: &mut Exchange) -> Result<(), ProxyError> {
        let Some(work) = ex.select.as_mut() else {
            return Ok(());
        };
        let key = self.settings.key(work, ex.grant.as_deref())?;
        if let Some(hit) = self.cache.get(&key, self.ttl) {
            work.answer = Some(hit);
            work.cached = true;
        }
        Ok(())
    }

    async fn on_response(&self, ex: &mut Exchange) {
        let Some(work) = ex.select.as_ref() else {
            return;
        };
        if let (Some(answer), false) = (&work.answer, work.cached)
            && let Ok(key) = self.settings.key(work, ex.grant.as_deref())
        {
            self.cache.put(key, answer.clone());
        }
    }
}
