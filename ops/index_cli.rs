//! `ucp index` and `ucp search`: connect to the configured servers once, build the tool index
//! (embedding through the store, with a progress bar), and either report it or rank a query.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ucp_config::Config;
use ucp_index::SelectOptions;
use ucp_proxy::selection::engine_mode;
use ucp_proxy::{Backoff, Catalog, DownstreamPool, LinkState, Selector};

/// How long the commands wait for servers to connect.
const SETTLE: Duration = Duration::from_secs(60);

pub fn index(config: Option<&Path>) -> ExitCode {
    run(config, |config, catalog, selector| {
        let bar = crate::progress::bar(catalog.tools.len() as u64, "embedding tools", false);
        let started = Instant::now();
        let index =
            selector.build_with_progress(catalog, &mut |done, _| bar.set_position(done as u64))?;
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

pub fn search(config: Option<&Path>, query: &str, k: usize) -> ExitCode {
    run(config, |config, catalog, selector| {
        let index = selector.build(catalog)?;
        let options = SelectOptions {
            mode: engine_mode(config.router.mode),
            k,
            similarity_threshold: config.tool_zoo.similarity_threshold,
            per_server_cap: config.router.per_server_cap,
        };
        let selected = selector.select(&index, catalog, query, options, &[]);
        println!("| # | tool | score | bm25 | dense | description |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for (rank, tool) in selected.iter().enumerate() {
            let description: String = tool.description.chars().take(60).collect();
            println!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {} |",
                rank + 1,
                tool.name,
                tool.score,
                tool.scores["bm25"].as_f64().unwrap_or(0.0),
                tool.scores["dense"].as_f64().unwrap_or(0.0),
                description.replace('\n', " ")
            );
        }
        Ok(())
    })
}

/// Loads the config, connects every server (waiting up to `SETTLE`), reports the ones that did not
/// come up, and hands the catalog and a selector (which must have its store) to `work`.
fn run(
    path: Option<&Path>,
    work: impl FnOnce(&Config, &Catalog, &Selector) -> Result<(), String>,
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
        let selector = crate::app::selector(&config);
        if !selector.has_store() {
            return Err(format!(
                "tool_zoo.persist_dir: cannot open the store at {} (is a gateway running on it?)",
                crate::load::expand_home(&config.tool_zoo.persist_dir).display()
            ));
        }
        let pool = DownstreamPool::start(&config.downstream_servers, Backoff::default());
        pool.settle(SETTLE).await;
        for ds in pool.servers() {
            if let LinkState::Disconnected { reason } = ds.state() {
                eprintln!("warning: {} is not connected: {reason}", ds.name);
            }
        }
        let catalog = Catalog::build(&pool.listings(), &config.router.separator);
        let outcome = tokio::task::block_in_place(|| work(&config, &catalog, &selector));
        pool.shutdown();
        tokio::time::sleep(Duration::from_millis(200)).await;
        outcome
    }))
}
