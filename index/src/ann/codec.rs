//! The byte form of an HNSW graph, as the store keeps it: small (a u32 per edge), ending with the
//! SHA-256 of everything before it, and checked field by field when read, so a damaged entry is an
//! error (the caller rebuilds), never a panic or a graph that indexes out of bounds.
//!
//! Layout, little-endian: `MAGIC`, rows u32, entry u32, layer count u32; per layer: node count
//! u32, the node rows (u32 each, upper layers only: layer 0 is every row in order), the degree of
//! each node (u16), the edges (u32 rows); then the digest.

use sha2::{Digest, Sha256};

use super::{Graph, Layer};
use crate::error::IndexError;

/// Names the format; a change of layout changes it (and the saved-graph key).
pub(super) const MAGIC: &[u8; 8] = b"UCPHNSW1";
const DIGEST: usize = 32;
/// hnsw_rs makes at most 16 layers; anything far above is damage, not a graph.
const MAX_LAYERS: usize = 64;

pub(super) fn encode(graph: &Graph) -> Vec<u8> {
    let edges: usize = graph.layers.iter().map(|l| l.edges.len()).sum();
    let nodes: usize = graph.layers.iter().map(|l| l.offsets.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + nodes * 6 + edges * 4 + DIGEST);
    out.extend_from_slice(MAGIC);
    for x in [graph.rows, graph.entry, graph.layers.len() as u32] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    for (i, layer) in graph.layers.iter().enumerate() {
        let count = layer.offsets.len().saturating_sub(1);
        out.extend_from_slice(&(count as u32).to_le_bytes());
        if i > 0 {
            out.extend(layer.nodes.iter().flat_map(|n| n.to_le_bytes()));
        }
        out.extend(
            layer
                .offsets
                .windows(2)
                .flat_map(|w| ((w[1] - w[0]) as u16).to_le_bytes()),
        );
        out.extend(layer.edges.iter().flat_map(|e| e.to_le_bytes()));
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Reads a graph saved for `rows` rows.
pub(super) fn decode(bytes: &[u8], rows: usize) -> Result<Graph, IndexError> {
    let damaged = |what: &str| IndexError::GraphDamaged(what.to_string());
    let Some(body_len) = bytes.len().checked_sub(DIGEST) else {
        return Err(damaged("shorter than its digest"));
    };
    let (body, digest) = bytes.split_at(body_len);
    if Sha256::digest(body)[..] != *digest {
        return Err(damaged("digest mismatch"));
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(damaged("unknown format"));
    }
    let (saved_rows, entry, layer_count) = (r.u32()?, r.u32()? as usize, r.u32()? as usize);
    if saved_rows as usize != rows {
        return Err(IndexError::GraphDamaged(format!(
            "saved for {saved_rows} rows, expected {rows}"
        )));
    }
    if layer_count > MAX_LAYERS || (rows > 0) != (layer_count > 0) || (rows > 0 && entry >= rows) {
        return Err(damaged("bad header"));
    }
    let mut layers = Vec::with_capacity(layer_count);
    for i in 0..layer_count {
        let count = r.u32()? as usize;
        if (i == 0 && count != rows) || (i > 0 && (count == 0 || count > rows)) {
            return Err(damaged("bad layer size"));
        }
        let nodes = if i == 0 { Vec::new() } else { r.u32s(count)? };
        if nodes.windows(2).any(|w| w[0] >= w[1])
            || nodes.last().is_some_and(|&n| n as usize >= rows)
        {
            return Err(damaged("bad layer nodes"));
        }
        let mut offsets = Vec::with_capacity(count + 1);
        offsets.push(0u32);
        let mut total = 0u32;
        for d in r.take(count * 2)?.chunks_exact(2) {
            total = total
                .checked_add(u32::from(u16::from_le_bytes([d[0], d[1]])))
                .ok_or_else(|| damaged("too many edges"))?;
            offsets.push(total);
        }
        let edges = r.u32s(total as usize)?;
        if edges.iter().any(|&e| e as usize >= rows) {
            return Err(damaged("edge to a missing row"));
        }
        layers.push(Layer {
            nodes,
            offsets,
            edges,
        });
    }
    if !r.0.is_empty() {
        return Err(damaged("trailing bytes"));
    }
    Ok(Graph {
        rows: saved_rows,
        entry: entry as u32,
        layers,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        if n > self.0.len() {
            return Err(IndexError::GraphDamaged("truncated".to_string()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, IndexError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, IndexError> {
        let bytes = self.take(n.saturating_mul(4))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
