//! The running gateway's long-lived parts, wired in one place: the downstream pool, the stages'
//! shared state, and the one snapshot-writer task that receives every change (a catalog change,
//! an index built, a reloaded config) and is the only holder of the `SnapshotWriter`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};
use ucp_config::Config;
use ucp_filters::FilterStage;
use ucp_index::{Store, ToolIndex};
use ucp_proxy::{
    Backoff, Catalog, DownstreamPool, GatewayShared, ListsChanged, Naming, Pipeline, Snapshot,
    SnapshotWriter,
};

pub struct App {
    pub gateway: Arc<GatewayShared<FilterStage>>,
    pub pool: Arc<DownstreamPool>,
    pub filters: Arc<ucp_filters::Shared>,
    pub indexing: Arc<IndexProgress>,
    pub started: Instant,
    changes: mpsc::Sender<Change>,
}

/// How far the index build in progress is, for `/health`.
#[derive(Debug, Default)]
pub struct IndexProgress {
    pub embedded: AtomicUsize,
    pub total: AtomicUsize,
}

/// Everything the snapshot writer is told.
enum Change {
    /// A downstream connected, disconnected or re-listed.
    Catalog,
    /// Every server has left `Connecting` once (or the ready timeout passed): the catalog is
    /// rebuilt from what they listed, then requests held at start go on.
    Settled,
    /// An index build finished.
    IndexBuilt(Result<Box<ToolIndex>, String>),
    /// A selection made the embedding model wanted (`exposure: all`): a build loads it.
    ModelWanted,
    /// A reloaded config and the pipeline built from it; `done` once they are published.
    Config {
        config: Arc<Config>,
        pipeline: Arc<Pipeline<FilterStage>>,
        done: oneshot::Sender<()>,
    },
}

impl App {
    /// Starts every downstream supervisor and the snapshot writer; returns at once.
    pub fn start(config: Arc<Config>, stdio: bool) -> Result<App, String> {
        let sessions = crate::sessions::open(&config, stdio)?;
        let ready_timeout = config.server.ready_timeout;
        let session_ttl = config.session.ttl;
        // With Redis, instances behind one load balancer learn together.
        let shared_learning = !stdio
            && config.session.backend == ucp_config::SessionBackend::Redis
            && (config.router.enable_learning || config.router.enable_co_occurrence);
        let redis = shared_learning
            .then(|| crate::sessions::redis_target(&config))
            .transpose()?;
        let filters = Arc::new(filters_shared(&config)?);
        let pool = DownstreamPool::start(&config.downstream_servers, Backoff::default());
        let pool_changes = pool.subscribe();
        let catalog = Catalog::build(&pool.listings(), &Naming::from_config(&config));
        let pipeline = Arc::new(ucp_filters::build(&config, &filters)?);
        tracing::info!(stages = ?pipeline.stage_names(), "request pipeline");
        let (writer, cell) = SnapshotWriter::new(Snapshot {
            config,
            catalog: Arc::new(catalog),
            tools_generation: 1,
            pipeline,
            index: None,
            generation: 0,
        });
        let meter = ucp_proxy::session::SessionMeter::register(&filters.registry)
            .map_err(|e| format!("metrics registry: {e}"))?;
        if let Some(store) = &sessions {
            tokio::spawn(crate::sessions::sweep(store.clone(), session_ttl));
        }
        if let Some(redis) = redis {
            crate::shared_usage::RedisUsage::start(
                &redis,
                filters.usage.clone(),
                filters.cache.clone(),
            )?;
        }
        let gateway = GatewayShared::with_store(cell, pool.clone(), Some(meter), sessions);
        // Before any front exists, so no request slips past.
        gateway.ready.hold();
        let indexing = Arc::new(IndexProgress::default());
        let (changes_tx, changes) = mpsc::channel(8);
        tokio::spawn(forward_pool_changes(pool_changes, changes_tx.clone()));
        tokio::spawn(forward_model_wanted(filters.clone(), changes_tx.clone()));
        tokio::spawn({
            let (pool, changes) = (pool.clone(), changes_tx.clone());
            async move {
                pool.settle(ready_timeout).await;
                let _ = changes.send(Change::Settled).await;
            }
        });
        let task = SnapshotTask {
            writer,
            gateway: gateway.clone(),
            pool: pool.clone(),
            filters: filters.clone(),
            indexing: indexing.clone(),
            changes_tx: changes_tx.clone(),
        };
        tokio::spawn(task.run(changes));
        Ok(App {
            gateway,
            pool,
            filters,
            indexing,
            started: Instant::now(),
            changes: changes_tx,
        })
    }

    /// Publishes a reloaded `config` with its `pipeline` (the catalog follows its naming, the
    /// index its tags); returns once requests see them.
    pub async fn reconfigure(
        &self,
        config: Arc<Config>,
        pipeline: Arc<Pipeline<FilterStage>>,
    ) -> Result<(), String> {
        let (done, published) = oneshot::channel();
        let change = Change::Config {
            config,
            pipeline,
            done,
        };
        let gone = "the snapshot writer has stopped";
        self.changes.send(change).await.map_err(|_| gone)?;
        published.await.map_err(|_| gone.to_string())
    }
}

/// Bursts of downstream changes coalesce in the watch channel: one `Change::Catalog` per wake-up.
async fn forward_pool_changes(mut pool: watch::Receiver<u64>, changes: mpsc::Sender<Change>) {
    while pool.changed().await.is_ok() {
        if changes.send(Change::Catalog).await.is_err() {
            return;
        }
    }
}

/// The model is wanted at most once per process (a reload that wants it says so itself).
async fn forward_model_wanted(filters: Arc<ucp_filters::Shared>, changes: mpsc::Sender<Change>) {
    filters.model.wanted_changed().await;
    let _ = changes.send(Change::ModelWanted).await;
}

/// The one snapshot writer.
struct SnapshotTask {
    writer: SnapshotWriter<FilterStage>,
    gateway: Arc<GatewayShared<FilterStage>>,
    pool: Arc<DownstreamPool>,
    filters: Arc<ucp_filters::Shared>,
    indexing: Arc<IndexProgress>,
    changes_tx: mpsc::Sender<Change>,
}

impl SnapshotTask {
    async fn run(mut self, mut changes: mpsc::Receiver<Change>) {
        // The first index (of whatever is connected now, possibly nothing), so searches never
        // wait on a downstream that does not come up.
        let mut building = true;
        let mut wanted = false;
        self.build_index();
        while let Some(change) = changes.recv().await {
            match change {
                Change::Catalog => wanted |= self.swap_catalog(),
                Change::Settled => {
                    wanted |= self.swap_catalog();
                    let snap = self.writer.current();
                    tracing::info!(
                        tools = snap.catalog.tool_count(),
                        "downstream servers settled: serving requests"
                    );
                    self.gateway.ready.open();
                }
                Change::Config {
                    config,
                    pipeline,
                    done,
                } => {
                    wanted |= self.reconfigure(config, pipeline);
                    let _ = done.send(());
                }
                Change::ModelWanted => wanted |= self.index_lacks_vectors(),
                Change::IndexBuilt(built) => {
                    building = false;
                    self.publish_index(built);
                    let snap = self.writer.current();
                    wanted |= !snap.index_covers_catalog();
                }
            }
            if wanted && !building {
                building = true;
                wanted = false;
                self.build_index();
            }
        }
    }

    /// Swaps in a reloaded config and its pipeline, then the catalog as its naming builds it. True
    /// when the index must be rebuilt (the tools or their servers' tags changed).
    fn reconfigure(&mut self, config: Arc<Config>, pipeline: Arc<Pipeline<FilterStage>>) -> bool {
        let old = self.writer.current();
        let retag = ucp_filters::server_tags(&old.config) != ucp_filters::server_tags(&config);
        // A mode that ranks by meaning, turned on: the next build loads the model.
        let model = self.filters.model.configure(&config) && self.index_lacks_vectors();
        self.writer.publish(|next| {
            next.config = config;
            next.pipeline = pipeline;
            // The index records the tools generation it was built from: a new one makes it stale.
            next.tools_generation += u64::from(retag);
        });
        self.swap_catalog() || retag || model
    }

    /// The current index has no tool vectors (built without the model, or none built yet).
    fn index_lacks_vectors(&self) -> bool {
        let snap = self.writer.current();
        snap.index.as_ref().is_none_or(|i| !i.engine.has_vectors())
    }

    /// Rebuilds the catalog from the pool, swaps it in (routing never waits for an index) and
    /// tells client sessions what changed. True when the tools changed.
    fn swap_catalog(&mut self) -> bool {
        let old = self.writer.current();
        let catalog = Catalog::build(&self.pool.listings(), &Naming::from_config(&old.config));
        for c in catalog
            .collisions
            .iter()
            .filter(|c| !old.catalog.collisions.contains(c))
        {
            tracing::warn!(kind = c.kind, name = %c.wanted, kept_server = %c.kept.server, kept = %c.kept.original,
                other_server = %c.other.server, other = %c.other.original, "name collision: {c}");
        }
        let changed = ListsChanged {
            tools: !old.catalog.same_tools(&catalog),
            prompts: !old.catalog.same_prompts(&catalog),
            resources: !old.catalog.same_resources(&catalog),
        };
        if !changed.any() {
            return false;
        }
        tracing::info!(
            generation = old.generation + 1,
            tools = catalog.tool_count(),
            "catalog swapped"
        );
        let catalog = Arc::new(catalog);
        self.writer.publish(|next| {
            next.catalog = catalog;
            next.tools_generation += u64::from(changed.tools);
        });
        self.gateway.notify(changed);
        changed.tools
    }

    /// Builds the index of the current catalog on a blocking thread; the result comes back as a
    /// `Change::IndexBuilt`.
    fn build_index(&self) {
        let snap = self.writer.current();
        let (filters, progress, done) = (
            self.filters.clone(),
            self.indexing.clone(),
            self.changes_tx.clone(),
        );
        let tags = ucp_filters::server_tags(&snap.config);
        progress
            .total
            .store(snap.catalog.tool_count(), Ordering::Relaxed);
        progress.embedded.store(0, Ordering::Relaxed);
        tokio::spawn(async move {
            let started = Instant::now();
            let progress2 = progress.clone();
            let built = tokio::task::spawn_blocking(move || {
                ucp_filters::build_index(
                    &filters,
                    &snap.catalog,
                    snap.tools_generation,
                    &tags,
                    &mut |embedded, total| {
                        progress2.embedded.store(embedded, Ordering::Relaxed);
                        progress2.total.store(total, Ordering::Relaxed);
                    },
                )
                .map(Box::new)
                .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("index build panicked: {e}")));
            if let Ok(index) = &built {
                tracing::info!(
                    tools = index.tools.len(),
                    embedded = index.stats.computed,
                    from_store = index.stats.from_store,
                    ms = started.elapsed().as_millis() as u64,
                    "tool index built"
                );
            }
            let _ = done.send(Change::IndexBuilt(built)).await;
        });
    }

    fn publish_index(&mut self, built: Result<Box<ToolIndex>, String>) {
        match built {
            Ok(index) => {
                let index = Arc::new(*index);
                self.writer.publish(|next| next.index = Some(index));
                // What the build freed (texts, tokenizer output, listings parsed since the last
                // build, the previous index once its readers finish) goes back to the OS.
                tokio::task::spawn_blocking(|| {
                    let released = ucp_sys::release_free_memory();
                    tracing::debug!(released, "freed memory returned after an index build");
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "tool index build failed; keeping the previous index")
            }
        }
    }
}

/// The stages' long-lived parts: the embedder (semantic signal, loaded by the first index build
/// that needs it) and the embedding store, each optional (without model files the gateway ranks by
/// keywords, without the store it re-embeds at every start), the selection cache, and the metrics
/// registry.
pub fn filters_shared(config: &Config) -> Result<ucp_filters::Shared, String> {
    let name = config.tool_zoo.embedding_model.clone();
    let model = ucp_filters::Model::lazy(Box::new(move || {
        crate::eval::model_dir(&name).and_then(|dir| crate::eval::load_embedder(Some(&dir)))
    }));
    model.configure(config);
    let dir = crate::load::expand_home(&config.tool_zoo.persist_dir);
    let opened = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
        .and_then(|()| Store::open(&dir).map_err(|e| e.to_string()));
    let store = match opened {
        Ok(store) => Some(Arc::new(store)),
        Err(e) => {
            tracing::warn!(error = %e, "tool_zoo.persist_dir: embeddings will not be persisted");
            None
        }
    };
    let cache = &config.router.cache;
    // `server.region` labels every metric, so per-region instances share one dashboard.
    let labels = config
        .server
        .region
        .as_ref()
        .map(|region| [("region".to_string(), region.clone())].into());
    let registry = prometheus::Registry::new_custom(None, labels)
        .map_err(|e| format!("metrics registry: {e}"))?;
    ucp_filters::Shared::with_model(model, store, cache.max_size, cache.max_bytes, registry)
        .map(|shared| shared.with_files(Arc::new(FsFiles)))
        .map_err(|e| format!("metrics registry: {e}"))
}

/// Key files (`server.auth.public_key_path`, `jwks_path`) read from the file system.
pub struct FsFiles;

impl ucp_filters::ReadFile for FsFiles {
    fn read(&self, path: &std::path::Path) -> std::io::Result<Vec<u8>> {
        let path = crate::load::expand_home(path);
        if !std::fs::metadata(&path)?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        std::fs::read(path)
    }
}
