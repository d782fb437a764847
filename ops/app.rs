//! The running gateway's long-lived parts, wired in one place: downstream pool, snapshot (the only
//! writer of the `ArcSwap` lives here), and the task that rebuilds the catalog when servers change.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use ucp_config::Config;
use ucp_filters::FilterStage;
use ucp_proxy::{Backoff, Catalog, DownstreamPool, GatewayShared, ListsChanged, Snapshot};

pub struct App {
    pub shared: Arc<GatewayShared<FilterStage>>,
    pub pool: Arc<DownstreamPool>,
    pub started: Instant,
}

impl App {
    /// Starts every downstream supervisor and the catalog sync task; returns at once.
    pub fn start(config: Arc<Config>) -> App {
        let pool = DownstreamPool::start(&config.downstream_servers, Backoff::default());
        let changes = pool.subscribe();
        let catalog = Catalog::build(&pool.listings(), &config.router.separator);
        let pipeline = Arc::new(ucp_filters::build(&config));
        tracing::info!(stages = ?pipeline.stage_names(), "request pipeline");
        let snapshot = Arc::new(ArcSwap::from_pointee(Snapshot {
            config,
            catalog: Arc::new(catalog),
            pipeline,
            generation: 0,
        }));
        let shared = GatewayShared::new(snapshot, pool.clone());
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
        shared.snapshot.store(Arc::new(Snapshot {
            config: old.config.clone(),
            catalog: Arc::new(catalog),
            pipeline: old.pipeline.clone(),
            generation: old.generation + 1,
        }));
        shared.notify(changed);
    }
}
