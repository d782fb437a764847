//! Loads the public tool-retrieval sets in `bench/` (tools.jsonl + queries.jsonl) and embedding
//! dumps; the only module of the index core that reads files.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::doc::ToolDoc;
use crate::error::IndexError;

#[cfg(test)]
mod tests;

/// One query with its relevant tools as indices into `BenchSet::tools`.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchQuery {
    pub text: String,
    pub relevant: Vec<u32>,
    pub subset: Option<String>,
}

/// A whole set: tools in file order, queries in file order, and the id -> index map.
#[derive(Debug, Clone)]
pub struct BenchSet {
    pub tools: Vec<ToolDoc>,
    pub queries: Vec<BenchQuery>,
    pub index_of: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct ToolLine {
    id: String,
    #[serde(default)]
    server: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    input_schema: Value,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct QueryLine {
    query: String,
    relevant: Vec<String>,
    #[serde(default)]
    subset: Option<String>,
}

/// Reads `dir/tools.jsonl` and `dir/queries.jsonl`.
pub fn load_set(dir: &Path) -> Result<BenchSet, IndexError> {
    load_files(&dir.join("tools.jsonl"), &dir.join("queries.jsonl"))
}

/// Loads a tools file and a queries file (the format of `bench/`), wherever they are.
pub fn load_files(tools_path: &Path, queries_path: &Path) -> Result<BenchSet, IndexError> {
    let (tools, index_of) = parse_tools(&read(tools_path)?, &tools_path.display().to_string())?;
    let queries = parse_queries(
        &read(queries_path)?,
        &queries_path.display().to_string(),
        &index_of,
    )?;
    Ok(BenchSet {
        tools,
        queries,
        index_of,
    })
}

fn read(path: &Path) -> Result<String, IndexError> {
    std::fs::read_to_string(path).map_err(|source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Non-blank lines with their 1-based line numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

/// Parses tools.jsonl text; `path` only labels errors. Ids must be unique.
pub fn parse_tools(
    text: &str,
    path: &str,
) -> Result<(Vec<ToolDoc>, HashMap<String, u32>), IndexError> {
    let err = |line, msg: String| IndexError::BenchLine {
        path: path.into(),
        line,
        msg,
    };
    let mut tools = Vec::new();
    let mut index_of = HashMap::new();
    for (line, l) in lines(text) {
        let t: ToolLine =
            serde_json::from_str(l).map_err(|e| err(line, format!("bad tool: {e}")))?;
        if t.id.is_empty() {
            return Err(err(line, "empty tool id".into()));
        }
        let idx = u32::try_from(tools.len()).map_err(|_| err(line, "too many tools".into()))?;
        if index_of.insert(t.id.clone(), idx).is_some() {
            return Err(err(line, format!("duplicate tool id {:?}", t.id)));
        }
        tools.push(ToolDoc::from_input_schema(
            t.id,
            t.server,
            t.name,
            t.description,
            &t.input_schema,
            t.tags,
        ));
    }
    Ok((tools, index_of))
}

/// Parses queries.jsonl text against the tool ids; an unknown id or an empty `relevant` is an error.
pub fn parse_queries(
    text: &str,
    path: &str,
    index_of: &HashMap<String, u32>,
) -> Result<Vec<BenchQuery>, IndexError> {
    let err = |line, msg: String| IndexError::BenchLine {
        path: path.into(),
        line,
        msg,
    };
    let mut out = Vec::new();
    for (line, l) in lines(text) {
        let q: QueryLine =
            serde_json::from_str(l).map_err(|e| err(line, format!("bad query: {e}")))?;
        if q.relevant.is_empty() {
            return Err(err(line, "no relevant tools".into()));
        }
        let relevant = q
            .relevant
            .iter()
            .map(|id| {
                index_of
                    .get(id)
                    .copied()
                    .ok_or_else(|| err(line, format!("unknown tool id {id:?}")))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        out.push(BenchQuery {
            text: q.query,
            relevant,
            subset: q.subset,
        });
    }
    Ok(out)
}

/// `n` synthetic normalised vectors of `dim` floats around 64 random centres (tool descriptions
/// cluster by domain), deterministic for a `seed`: the benches' and tests' stand-in for
/// embeddings at sizes no real set has.
pub fn clustered_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 20_000) as f32 / 10_000.0 - 1.0
    };
    let centers: Vec<Vec<f32>> = (0..64)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centers[i % centers.len()];
            let v: Vec<f32> = c.iter().map(|x| x + 0.6 * next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

/// Reads raw little-endian f32 rows of `dim` floats (an embedding dump, rows in file order).
pub fn load_f32_rows(path: &Path, dim: usize) -> Result<Vec<Vec<f32>>, IndexError> {
    let bytes = std::fs::read(path).map_err(|source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_f32_rows(&bytes, dim).ok_or(IndexError::BenchVectorShape {
        path: path.to_path_buf(),
        len: bytes.len(),
        dim,
    })
}

/// Splits little-endian f32 bytes into rows of `dim`; `None` if the length does not fit.
pub fn parse_f32_rows(bytes: &[u8], dim: usize) -> Option<Vec<Vec<f32>>> {
    let row_bytes = dim.checked_mul(4)?;
    if row_bytes == 0 || !bytes.len().is_multiple_of(row_bytes) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(row_bytes)
            .map(|r| {
                r.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect(),
    )
}
