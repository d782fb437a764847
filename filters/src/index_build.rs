//! Building the tool index of one catalog generation: every tool as a document (with its server's
//! tags from the config), embedded through the store so unchanged tools are not embedded again.
//! Blocking: the snapshot writer runs it on a blocking thread, off the request path.

use std::collections::BTreeMap;

use serde_json::Value;
use ucp_index::embed_cache::{EmbedStats, embed_texts};
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
    let (vectors, stats) = match &shared.embedder {
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
    let engine = Engine::build(
        docs,
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
    )?;
    Ok(ToolIndex {
        engine,
        tools,
        stats,
        generation: shared.next_index_generation(),
        source_generation: catalog_generation,
    })
}

/// The tags of every configured server.
pub fn server_tags(config: &ucp_config::Config) -> ServerTags {
    config
        .downstream_servers
        .iter()
        .map(|s| (s.name.clone(), s.tags.clone()))
        .collect()
}
