//! `ucp index` and `ucp search`: connect to the configured servers once, build the tool index
//! (embedding through the store, with a progress bar), and either report it or rank a query.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ucp_config::Config;
use ucp_filters::{Shared, build_index, server_tags};
use ucp_proxy::{
    Backoff, Catalog, DownstreamPool, Exchange, LinkState, Method, Naming, SelectPurpose,
    SelectWork, Transport,
};

/// How long the commands wait for servers to connect.
const SETTLE: Duration = Duration::from_secs(60);

pub fn index(config: Option<&Path>) -> ExitCode {
    run(config, async |config, catalog, shared| {
        let bar = crate::progress::bar(catalog.tools.len() as u64, "embedding tools", false);
        let started = Instant::now();
        let tags = server_tags(config);
        let index = tokio::task::block_in_place(|| {
            build_index(shared, catalog, 1, &tags, &mut |done, _| {
                bar.set_position(done as u64)
            })
        })
        .map_err(|e| e.to_string())?;
        bar.finish_and_clear();
        println!(
            "indexed {} tools in {:.1}s: {} embedded, {} already in the store ({})",
            index.tools.len(),
            started.elapsed().as_secs_f64(),
            index.stats.computed,
            index.stats.from_store,
            crate::load::expand_home(&config.tool_zoo.persist_dir).display()
        );
        Ok(())
    })
}

/// Ranks through the gateway's own selection stage, as `/v1/select` does.
pub fn search(config: Option<&Path>, query: &str, k: usize) -> ExitCode {
    run(config, async |config, catalog, shared| {
        let tags = server_tags(config);
        let index =
            tokio::task::block_in_place(|| build_index(shared, catalog, 1, &tags, &mut |_, _| {}))
                .map_err(|e| e.to_string())?;
        let pipeline = ucp_filters::build(config, shared)?;
        let mut ex = Exchange::new(Transport::Internal, Method::Select);
        ex.catalog = Some(catalog.clone());
        ex.select = Some(SelectWork {
            purpose: SelectPurpose::Select,
            query: query.to_string(),
            k: Some(k),
            recent: Vec::new(),
            index: Arc::new(index),
            answer: None,
            cached: false,
            query_duration: None,
        });
        pipeline.route(&mut ex).await.map_err(|e| e.to_string())?;
        let selected = ex.select.and_then(|w| w.answer).unwrap_or_default();
        println!("| # | tool | score | bm25 | dense | description |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for (rank, tool) in selected.iter().enumerate() {
            let description: String = tool.description.chars().take(60).collect();
            println!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {} |",
                rank + 1,
                tool.name,
                tool.score,
                tool.scores.bm25,
                tool.scores.dense,
                description.replace('\n', " ")
            );
        }
        Ok(())
    })
}

/// Loads the config, connects every server (waiting up to `SETTLE`), reports the ones that did not
/// come up, and hands the catalog and the stages' shared parts (which must have the store) to `work`.
fn run(
    path: Option<&Path>,
    work: impl AsyncFnOnce(&Config, &Arc<Catalog>, &Shared) -> Result<(), String>,
) -> ExitCode {
    let (loaded, _) = match crate::load::load(path) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let config = Arc::new(loaded.config);
    crate::serve::exit_code(crate::serve::block_on(async {
        let shared = crate::app::filters_shared(&config)?;
        // Both commands select: the model is wanted whatever the exposure (not in keyword mode).
        shared.model.selection_asked();
        if shared.store.is_none() {
            return Err(format!(
                "tool_zoo.persist_dir: cannot open the store at {} (is a gateway running on it?)",
                crate::load::expand_home(&config.tool_zoo.persist_dir).display()
            ));
        }
        let pool = DownstreamPool::start(&config.downstream_servers, Backoff::default());
        pool.settle(SETTLE).await;
        for ds in pool.servers().values() {
            if let LinkState::Disconnected { reason } = ds.state() {
                eprintln!("warning: {} is not connected: {reason}", ds.name);
            }
        }
        let catalog = Arc::new(Catalog::build(
            &pool.listings(),
            &Naming::from_config(&config),
        ));
        let outcome = work(&config, &catalog, &shared).await;
        pool.shutdown();
        tokio::time::sleep(Duration::from_millis(200)).await;
        outcome
    }))
}
