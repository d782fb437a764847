//! The embedding model, loaded only once a configuration needs it: `semantic` or `hybrid` ranking
//! under `search` or `dynamic` exposure, or under `all` once a selection (`/v1/select`,
//! `ucp_search_tools`) has been asked for. Keyword mode and a gateway that only proxies never load
//! it (ONNX Runtime and the model are ~200 MB resident).
//!
//! The load itself happens in the index build, on its blocking thread, never on the request path;
//! until then selection ranks by keywords, as it does when the model files are missing. `ops`
//! hands in how to load (the files are its business) and wakes the snapshot writer on
//! [`Model::wanted_changed`] so a build loads the model and embeds the tools.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tokio::sync::Notify;
use ucp_config::{Config, Exposure, RouterMode};
use ucp_index::Embedder;

/// Loads the model (reads its files, starts ONNX Runtime). Blocking.
pub type LoadModel = Box<dyn Fn() -> Result<Embedder, String> + Send + Sync>;

/// Where the model stands, as `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelState {
    /// Nothing asked for it (yet).
    NotLoaded,
    Loaded,
    /// Asked for, and its files or runtime could not be loaded: keyword ranking.
    Unavailable,
}

impl ModelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelState::NotLoaded => "not_loaded",
            ModelState::Loaded => "loaded",
            ModelState::Unavailable => "unavailable",
        }
    }
}

pub struct Model {
    load: Option<LoadModel>,
    /// Held while loading, so two builds never load twice; [`Model::get`] never waits on it.
    loading: Mutex<()>,
    /// Set once, never unset: the request path reads it without a lock.
    loaded: OnceLock<Arc<Embedder>>,
    /// The last load failed; cleared by [`Model::configure`] so a reload tries again.
    failed: AtomicBool,
    /// `router.mode` ranks by meaning.
    semantic_mode: AtomicBool,
    /// `router.exposure: all`: nothing selects unless a client asks.
    lists_all: AtomicBool,
    /// A selection has been asked for since start (sticky).
    selected: AtomicBool,
    wanted: Notify,
}

impl Model {
    /// A model loaded on demand by `load`.
    pub fn lazy(load: LoadModel) -> Model {
        Model::with(Some(load), None)
    }

    /// A model given up front (`None`: none at all); tests and benches.
    pub fn fixed(embedder: Option<Arc<Embedder>>) -> Model {
        Model::with(None, embedder)
    }

    fn with(load: Option<LoadModel>, embedder: Option<Arc<Embedder>>) -> Model {
        Model {
            load,
            loading: Mutex::new(()),
            loaded: embedder.map(OnceLock::from).unwrap_or_default(),
            failed: AtomicBool::new(false),
            semantic_mode: AtomicBool::new(true),
            lists_all: AtomicBool::new(false),
            selected: AtomicBool::new(false),
            wanted: Notify::new(),
        }
    }

    /// The model if it is loaded; never loads.
    pub fn get(&self) -> Option<&Arc<Embedder>> {
        self.loaded.get()
    }

    /// Follows a (re)loaded config. True when the model is wanted and not loaded yet: the index
    /// must be rebuilt to load it and embed the tools.
    pub fn configure(&self, config: &Config) -> bool {
        let semantic = config.router.mode != RouterMode::Keyword;
        self.semantic_mode.store(semantic, Ordering::Relaxed);
        self.lists_all
            .store(config.router.exposure == Exposure::All, Ordering::Relaxed);
        self.failed.store(false, Ordering::Relaxed);
        self.wanted() && self.get().is_none()
    }

    /// A selection was asked for: under `exposure: all` the model becomes wanted from now on, and
    /// the snapshot writer is woken to load it.
    pub fn selection_asked(&self) {
        // Read first: every uncached selection passes here, and only the first one writes.
        if self.selected.load(Ordering::Relaxed) {
            return;
        }
        if !self.selected.swap(true, Ordering::Relaxed) && self.wanted() && self.get().is_none() {
            self.wanted.notify_one();
        }
    }

    /// Whether the current config (and what clients asked) ranks by meaning.
    pub fn wanted(&self) -> bool {
        self.semantic_mode.load(Ordering::Relaxed)
            && (!self.lists_all.load(Ordering::Relaxed) || self.selected.load(Ordering::Relaxed))
    }

    /// Resolves when a selection made the model wanted (see [`Model::selection_asked`]).
    pub async fn wanted_changed(&self) {
        self.wanted.notified().await
    }

    /// The model for an index build: loaded now if wanted (blocking: call it off the request
    /// path), `None` when not wanted or not loadable. A failed load is not retried before the
    /// next [`Model::configure`].
    pub fn for_build(&self) -> Option<Arc<Embedder>> {
        if !self.wanted() {
            return None;
        }
        let _loading = self.loading.lock();
        if let Some(embedder) = self.get() {
            return Some(embedder.clone());
        }
        let load = self.load.as_ref()?;
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let started = std::time::Instant::now();
        match load() {
            Ok(embedder) => {
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "embedding model loaded"
                );
                Some(self.loaded.get_or_init(|| Arc::new(embedder)).clone())
            }
            Err(e) => {
                self.failed.store(true, Ordering::Relaxed);
                tracing::warn!(error = %e, "no embedding model: tool selection ranks by keywords only");
                None
            }
        }
    }

    /// For `/health`.
    pub fn state(&self) -> ModelState {
        if self.get().is_some() {
            ModelState::Loaded
        } else if self.wanted() && (self.failed.load(Ordering::Relaxed) || self.load.is_none()) {
            ModelState::Unavailable
        } else {
            ModelState::NotLoaded
        }
    }
}

#[cfg(test)]
mod tests;
