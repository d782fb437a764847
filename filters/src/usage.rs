//! Learned usage, long-lived: which tools searches led to (query centroids per tool, penalties for
//! ignored results) and which tools sessions call together. Read from the store at start, updated
//! by the learning stage, persisted without query text. Whether it is used is the config's call.

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use ucp_index::Store;
use ucp_index::learning::{CoOccurrence, Learned, LearningParams};

use crate::Model;

pub struct Usage {
    store: Option<Arc<Store>>,
    /// Queries are embedded only when the model is loaded; learning never loads it.
    model: Arc<Model>,
    learned: Mutex<Learned>,
    cooccurrence: Mutex<CoOccurrence>,
    /// Other instances that learn together with this one (`session.backend: redis`).
    share: OnceLock<Arc<dyn UsageShare>>,
}

/// Where what this instance learns is sent, so instances behind one load balancer learn together;
/// `ops` hands one in (Redis) and merges back what the others learned (`merge_*`).
pub trait UsageShare: Send + Sync + 'static {
    /// A call of `tool` after a search whose query embedding was `vector`.
    fn learned_call(&self, tool: &str, vector: &[f32]);
    /// `tool` was returned by a search and not called.
    fn learned_ignored(&self, tool: &str);
    /// Each pair (a, b) was called together once more.
    fn cooccurred(&self, pairs: &[(String, String)]);
}

impl Usage {
    /// What the store remembers (nothing without a store).
    pub fn load(store: Option<Arc<Store>>, model: Arc<Model>) -> Usage {
        let mut learned = Learned::default();
        let mut cooccurrence = CoOccurrence::default();
        if let Some(store) = &store {
            match store.usage() {
                Ok(records) => {
                    for (tool, bytes) in &records {
                        learned.import(tool, bytes);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read learned usage; starting empty"),
            }
            match store.cooccurrence() {
                Ok(pairs) => pairs
                    .iter()
                    .for_each(|(a, b, n)| cooccurrence.import(a, b, *n)),
                Err(e) => tracing::warn!(error = %e, "cannot read co-occurrence; starting empty"),
            }
        }
        Usage {
            store,
            model,
            learned: Mutex::new(learned),
            cooccurrence: Mutex::new(cooccurrence),
            share: OnceLock::new(),
        }
    }

    /// From now on, what is learned here is also sent to `share`.
    pub fn share_with(&self, share: Arc<dyn UsageShare>) {
        let _ = self.share.set(share);
    }

    /// Another instance's view of `tool` (the shared total, as `Learned::export` writes it)
    /// replaces this one's, and is persisted here too.
    pub fn merge_learned(&self, tool: &str, bytes: &[u8]) {
        if self.learned.lock().import(tool, bytes) {
            self.persist(tool, Some(bytes.to_vec()));
        }
    }

    /// The shared count of a pair of tools called together replaces this one's.
    pub fn merge_cooccurrence(&self, a: &str, b: &str, count: u32) {
        self.cooccurrence.lock().import(a, b, count);
        if let Some(store) = &self.store
            && let Err(e) = store.put_cooccurrence(&[(a.to_string(), b.to_string(), count)])
        {
            tracing::warn!(error = %e, "cannot persist co-occurrence");
        }
    }

    /// A search for `query` returned `tool` and the client then called it: it gains for similar
    /// queries. Blocking (embeds the query, a cache hit right after the search; writes the store).
    pub fn record_call(&self, query: &str, tool: &str) {
        let Some(embedder) = self.model.get() else {
            return;
        };
        let Ok(vector) = embedder.embed_query(query) else {
            return;
        };
        let bytes = {
            let mut learned = self.learned.lock();
            learned.record_call(&vector, tool);
            learned.export(tool)
        };
        self.persist(tool, bytes);
        if let Some(share) = self.share.get() {
            share.learned_call(tool, &vector);
        }
    }

    /// Tools a search returned that the client never called before its next search.
    pub fn record_ignored(&self, tools: &[String]) {
        for tool in tools {
            let bytes = {
                let mut learned = self.learned.lock();
                learned.record_ignored(tool);
                learned.export(tool)
            };
            self.persist(tool, bytes);
            if let Some(share) = self.share.get() {
                share.learned_ignored(tool);
            }
        }
    }

    /// `tool` was called in a session that had called `earlier` (most recent last).
    pub fn record_session_call(&self, earlier: &[String], tool: &str) {
        let earlier: Vec<&str> = earlier.iter().map(String::as_str).collect();
        let changed = self.cooccurrence.lock().record(&earlier, tool);
        if let (Some(store), false) = (&self.store, changed.is_empty())
            && let Err(e) = store.put_cooccurrence(&changed)
        {
            tracing::warn!(error = %e, "cannot persist co-occurrence");
        }
        if let (Some(share), false) = (self.share.get(), changed.is_empty()) {
            let pairs: Vec<(String, String)> =
                changed.into_iter().map(|(a, b, _)| (a, b)).collect();
            share.cooccurred(&pairs);
        }
    }

    fn persist(&self, tool: &str, bytes: Option<Vec<u8>>) {
        if let (Some(store), Some(bytes)) = (&self.store, bytes)
            && let Err(e) = store.put_usage(tool, &bytes)
        {
            tracing::warn!(error = %e, tool, "cannot persist learned usage");
        }
    }

    /// The learned signal per tool of `ids` for this query vector; `None` while nothing is learned.
    pub fn learned_scores(&self, vector: &[f32], ids: &[&str]) -> Option<Vec<f32>> {
        let learned = self.learned.lock();
        (!learned.is_empty()).then(|| learned.scores(vector, ids, LearningParams::default()))
    }

    /// The co-occurrence signal per tool of `ids` after the session's `recent` calls.
    pub fn cooccurrence_scores(&self, recent: &[String], ids: &[&str]) -> Option<Vec<f32>> {
        if recent.is_empty() {
            return None;
        }
        let co = self.cooccurrence.lock();
        (!co.is_empty()).then(|| {
            let recent: Vec<&str> = recent.iter().map(String::as_str).collect();
            co.scores(&recent, ids)
        })
    }
}
