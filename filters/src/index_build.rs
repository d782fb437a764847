//! Building the tool index of one catalog generation: every tool as a document (with its server's
//! tags from the config), embedded through the store so unchanged tools are not embedded again.
//! Blocking: the snapshot writer runs it on a blocking thread, off the request path.

use std::collections::BTreeMap;

use serde_json::Value;
use ucp_index::ann::saved::{GraphOrigin, SavedGraphs};
use ucp_index::embed_cache::{EmbedStats, embed_texts};
use ucp_index::engine::ANN_THRESHOLD;
use ucp_index::{Bm25Params, Engine, FusionWeights, IndexError, ToolDoc, ToolIndex};
use ucp_proxy::Catalog;

use crate::Shared;

/// The tags of each server, from the config.
pub type ServerTags = BTreeMap<String, Vec<String>>;

/// Builds the index of `catalog` (generation `catalog_generation`), reporting `(embedded so far,
/// total)` as embedding proceeds.
pub fn build_index(
    shared: &Shared,
    catalog: &Catalog,
    catalog_generation: u64,
    tags: &ServerTags,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ToolIndex, IndexError> {
    let mut docs = Vec::with_capacity(catalog.tools.len());
    let mut tools = Vec::with_capacity(catalog.tools.len());
    for tool in &catalog.tools {
        let Some(route) = catalog.route_tool(&tool.name) else {
            continue;
        };
        let schema = Value::Object(rmcp::model::JsonObject::clone(&tool.input_schema));
        docs.push(ToolDoc::from_input_schema(
            tool.name.to_string(),
            route.server.to_string(),
            route.original.clone(),
            tool.description.as_deref().unwrap_or(""),
            &schema,
            tags.get(&*route.server).cloned().unwrap_or_default(),
        ));
        tools.push(tool.name.to_string());
    }
    // Loads the model here, off the request path, the first time a mode needs it.
    let embedder = shared.model.for_build();
    let (vectors, stats) = match &embedder {
        Some(embedder) => {
            let texts: Vec<String> = docs.iter().map(ToolDoc::dense_text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embed_texts(embedder, shared.store.as_deref(), &refs, progress)?
        }
        None => {
            progress(docs.len(), docs.len());
            (Vec::new(), EmbedStats::default())
        }
    };
    // The model id, with the vectors' digest, keys the HNSW graph saved in the store.
    let saved = embedder
        .as_ref()
        .zip(shared.store.as_deref())
        .map(|(embedder, store)| SavedGraphs::new(store, embedder.model_id()));
    let engine = Engine::build_with_saved_graphs(
        docs,
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
        ANN_THRESHOLD,
        saved,
    )?;
    log_graph_origin(engine.ann_origin());
    Ok(ToolIndex {
        engine,
        tools,
        stats,
        generation: shared.next_index_generation(),
        source_generation: catalog_generation,
    })
}

/// How the HNSW graph of a large catalog was had; a store problem only costs a build.
fn log_graph_origin(origin: Option<&GraphOrigin>) {
    match origin {
        None => {}
        Some(GraphOrigin::Loaded) => tracing::info!("hnsw graph loaded from the store"),
        Some(GraphOrigin::Built {
            load_error,
            save_error,
        }) => {
            if let Some(e) = load_error {
                tracing::warn!(error = %e, "saved hnsw graph unreadable: rebuilt");
            }
            match save_error {
                Some(e) => tracing::warn!(error = %e, "hnsw graph built, not saved"),
                None => tracing::info!("hnsw graph built"),
            }
        }
    }
}

/// The tags of every configured server.
pub fn server_tags(config: &ucp_config::Config) -> ServerTags {
    config
        .downstream_servers
        .iter()
        .map(|s| (s.name.clone(), s.tags.clone()))
        .collect()
}
