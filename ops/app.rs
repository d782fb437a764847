//! The running gateway's long-lived parts, wired in one place: downstream pool, snapshot (the only
//! writer of the `ArcSwap` lives here), and the task that rebuilds the catalog when servers change.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use ucp_config::Config;
use ucp_filters::FilterStage;
use ucp_index::Store;
use ucp_proxy::{
    Backoff, Catalog, DownstreamPool, GatewayShared, ListsChanged, Selector, Snapshot,
};

pub struct App {
    pub shared: Arc<GatewayShared<FilterStage>>,
    pub pool: Arc<DownstreamPool>,
    pub started: Instant,
}

impl App {
    /// Starts every downstream supervisor and the catalog sync task; returns at once.
    pub fn start(config: Arc<Config>) -> App {
        let selector = Arc::new(selector(&config));
        let pool = DownstreamPool::start(&config.downstream_servers, Backoff::default());
        let changes = pool.subscribe();
        let catalog = Catalog::build(&pool.listings(), &config.router.separator);
        let pipeline = Arc::new(ucp_filters::build(&config));
        tracing::info!(stages = ?pipeline.stage_names(), "request pipeline");
        let snapshot = Arc::new(ArcSwap::from_pointee(Snapshot {
            config,
            catalog: Arc::new(catalog),
            pipeline,
            index: None,
            generation: 0,
        }));
        let shared = GatewayShared::new(snapshot, pool.clone(), selector);
        tokio::spawn(sync_catalog(shared.clone(), changes));
        App {
            shared,
            pool,
            started: Instant::now(),
        }
    }
}

/// Rebuilds the catalog whenever a downstream connects, disconnects or re-lists, swaps it in, and
/// tells connected clients which lists changed. Bursts of changes coalesce in the watch channel.
async fn sync_catalog(
    shared: Arc<GatewayShared<FilterStage>>,
    mut changes: tokio::sync::watch::Receiver<u64>,
) {
    // The first index (of whatever is connected now, possibly nothing) so searches never wait on a
    // downstream that does not come up.
    rebuild_index(&shared, shared.snapshot.load().catalog.clone()).await;
    while changes.changed().await.is_ok() {
        let old = shared.snapshot.load_full();
        let catalog = Catalog::build(&shared.pool.listings(), &old.config.router.separator);
        for c in catalog
            .collisions
            .iter()
            .filter(|c| !old.catalog.collisions.contains(c))
        {
            tracing::warn!(kind = c.kind, name = %c.wanted, kept_server = %c.kept.server, kept = %c.kept.original,
                renamed_server = %c.renamed.server, renamed = %c.renamed.original, renamed_to = %c.renamed_to,
                "name collision: both kept, the second under another name");
        }
        let changed = ListsChanged {
            tools: old.catalog.tools != catalog.tools,
            prompts: old.catalog.prompts != catalog.prompts,
            resources: old.catalog.resources != catalog.resources
                || old.catalog.resource_templates != catalog.resource_templates,
        };
        tracing::info!(
            generation = old.generation + 1,
            tools = catalog.tool_count(),
            "catalog swapped"
        );
        let catalog = Arc::new(catalog);
        shared.snapshot.store(Arc::new(Snapshot {
            config: old.config.clone(),
            catalog: catalog.clone(),
            pipeline: old.pipeline.clone(),
            index: old.index.clone(),
            generation: old.generation + 1,
        }));
        shared.notify(changed);
        if changed.tools || old.index.is_none() {
            rebuild_index(&shared, catalog).await;
        }
    }
}

/// Builds the index of `catalog` on a blocking thread, then swaps it into the snapshot that holds
/// that catalog. Only this task writes the snapshot, so nothing newer can be overwritten.
async fn rebuild_index(shared: &Arc<GatewayShared<FilterStage>>, catalog: Arc<Catalog>) {
    let selector = shared.selector.clone();
    let started = Instant::now();
    let built = tokio::task::spawn_blocking(move || selector.build(&catalog)).await;
    match built {
        Ok(Ok(index)) => {
            tracing::info!(
                tools = index.tools.len(),
                embedded = index.stats.computed,
                from_store = index.stats.from_store,
                ms = started.elapsed().as_millis() as u64,
                "tool index built"
            );
            let current = shared.snapshot.load_full();
            shared.snapshot.store(Arc::new(Snapshot {
                config: current.config.clone(),
                catalog: current.catalog.clone(),
                pipeline: current.pipeline.clone(),
                index: Some(Arc::new(index)),
                generation: current.generation + 1,
            }));
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "tool index build failed; keeping the previous index")
        }
        Err(e) => {
            tracing::error!(error = %e, "tool index build panicked; keeping the previous index")
        }
    }
}

/// The embedder (semantic signal) and the embedding store, each optional: without model files the
/// gateway ranks by keywords, without the store it re-embeds at every start.
pub fn selector(config: &Config) -> Selector {
    let embedder = match crate::eval::model_dir(&config.tool_zoo.embedding_model)
        .and_then(|dir| crate::eval::load_embedder(Some(&dir)))
    {
        Ok(embedder) => Some(Arc::new(embedder)),
        Err(e) => {
            tracing::warn!(error = %e, "no embedding model: tool selection ranks by keywords only");
            None
        }
    };
    let dir = crate::load::expand_home(&config.tool_zoo.persist_dir);
    let opened = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
        .and_then(|()| Store::open(&dir).map_err(|e| e.to_string()));
    let store = match opened {
        Ok(store) => Some(store),
        Err(e) => {
            tracing::warn!(error = %e, "tool_zoo.persist_dir: embeddings will not be persisted");
            None
        }
    };
    let tags = config
        .downstream_servers
        .iter()
        .map(|s| (s.name.clone(), s.tags.clone()))
        .collect();
    Selector::new(
        embedder,
        store,
        tags,
        &config.router.cache,
        config.router.enable_learning,
        config.router.enable_co_occurrence,
    )
}
