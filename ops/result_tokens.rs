//! `ucp eval --result-tokens`: what a `ucp_search_tools` answer costs the LLM that reads it, in the
//! embedding model's own tokens (tokenizer.json), over a dev set's queries: each query's top k as
//! the gateway ranks them, rendered by the gateway's own `search_result`, then counted.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::Value;
use tokenizers::Tokenizer;
use ucp_index::{Hit, ToolDoc};
use ucp_proxy::exchange::{Selected, SignalScores};
use ucp_proxy::gateway::meta::{Detail, search_result};
use ucp_proxy::names::Naming;

/// A tool as a search result shows it: public name, description, input schema.
pub struct Shown {
    name: String,
    description: String,
    schema: Arc<JsonObject>,
}

/// Every tool of `tools_path` (tools.jsonl) in the order the engine numbers them, named as a
/// gateway with the default `__` separator would name them.
pub fn shown_tools(tools_path: &Path, docs: &[ToolDoc]) -> Result<Vec<Shown>, String> {
    let text = std::fs::read_to_string(tools_path)
        .map_err(|e| format!("{}: {e}", tools_path.display()))?;
    let mut schemas: HashMap<String, JsonObject> = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let id = value["id"].as_str().unwrap_or_default().to_string();
        let schema = match value.get("input_schema") {
            Some(Value::Object(map)) => map.clone(),
            _ => JsonObject::new(),
        };
        schemas.insert(id, schema);
    }
    let naming = Naming::uniform("__");
    Ok(docs
        .iter()
        .map(|d| Shown {
            name: naming.public(&d.server, &d.name),
            description: d.description.clone(),
            schema: Arc::new(schemas.remove(&d.id).unwrap_or_default()),
        })
        .collect())
}

/// Counts tokens the way the model's tokenizer splits text, without its truncation.
pub struct Counter(Tokenizer);

impl Counter {
    pub fn load(model_dir: &Path) -> Result<Counter, String> {
        let path = model_dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| format!("tokenizer: {e}"))?;
        Ok(Counter(tokenizer))
    }

    pub fn count(&self, text: &str) -> Result<usize, String> {
        let encoding = self
            .0
            .encode(text, false)
            .map_err(|e| format!("tokenizer: {e}"))?;
        Ok(encoding.len())
    }
}

/// The text a `ucp_search_tools` call answers with for these hits (what the LLM reads).
pub fn rendered(hits: &[Hit], tools: &[Shown]) -> String {
    let selected: Vec<Selected> = hits
        .iter()
        .map(|h| {
            let tool = &tools[h.doc as usize];
            Selected {
                name: tool.name.clone(),
                description: tool.description.clone(),
                input_schema: tool.schema.clone(),
                score: h.score,
                scores: SignalScores {
                    bm25: h.bm25,
                    dense: h.dense,
                    ..Default::default()
                },
            }
        })
        .collect();
    // What a search without `detail` answers.
    let result = search_result(&Arc::new(selected), Detail::default());
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Median, 95th percentile and mean of `counts`.
pub fn summary(counts: &mut [usize]) -> (usize, usize, f64) {
    counts.sort_unstable();
    if counts.is_empty() {
        return (0, 0, 0.0);
    }
    let at = |p: f64| counts[((counts.len() - 1) as f64 * p).round() as usize];
    let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
    (at(0.5), at(0.95), mean)
}
