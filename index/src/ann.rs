//! Approximate nearest-neighbour search for catalogs large enough that scanning every vector costs
//! more than walking a graph: an HNSW graph built by hnsw_rs (dot-product distance on normalised
//! vectors), then kept as plain adjacency lists that our own search walks over the engine's vectors.
//!
//! Why not keep hnsw_rs's own structure: its fields are crate-private, so a graph can only come
//! back from disk through its `HnswIo` loader, whose result borrows the loader (no `'static`, no
//! `ArcSwap`), which reads only files, and which exits the process or panics on a malformed dump.
//! Adjacency lists are `'static`, a few bytes per edge to save (`codec`, `saved`), checked when
//! read, and hold no second copy of the vectors. The search is the paper's (Malkov & Yashunin,
//! algorithms 2 and 5): greedy descent through the upper layers, then a beam of `ef` at layer 0.
//!
//! No delete: a graph is built (or loaded) once per catalog generation and swapped whole.

mod codec;
pub mod saved;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use hnsw_rs::anndists::dist::DistDot;
use hnsw_rs::prelude::Hnsw;

use crate::dense::{DenseIndex, dot};

/// Graph degree; hnsw_rs exits the process above 256, so this is a constant, not a knob.
const MAX_CONNECTIONS: usize = 16;
const EF_CONSTRUCTION: usize = 200;
const MAX_LAYERS: usize = 16;

pub struct AnnIndex {
    graph: Graph,
    /// Search breadth; larger is slower and closer to exact.
    pub ef_search: usize,
}

/// The layers of an HNSW graph over rows `0..rows`: layer 0 holds every row, each layer above a
/// subset; the search enters at `entry`, a row of the top layer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Graph {
    rows: u32,
    entry: u32,
    layers: Vec<Layer>,
}

/// One layer's adjacency lists. Layer 0 lists every row in row order and leaves `nodes` empty;
/// an upper layer names its rows in `nodes`, ascending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Layer {
    nodes: Vec<u32>,
    /// The neighbours of the layer's `i`-th node are `edges[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    edges: Vec<u32>,
}

impl Graph {
    const EMPTY: Graph = Graph {
        rows: 0,
        entry: 0,
        layers: Vec::new(),
    };

    /// The neighbours of `row` in layer `layer` (none for a row the layer does not hold).
    fn neighbours(&self, layer: usize, row: u32) -> &[u32] {
        let Some(l) = self.layers.get(layer) else {
            return &[];
        };
        let slot = if layer == 0 {
            row as usize
        } else {
            match l.nodes.binary_search(&row) {
                Ok(slot) => slot,
                Err(_) => return &[],
            }
        };
        match (l.offsets.get(slot), l.offsets.get(slot + 1)) {
            (Some(&start), Some(&end)) => l.edges.get(start as usize..end as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Copies the graph out of hnsw_rs, through its public accessors. hnsw_rs stores a point in
    /// the list of its top layer only, with its neighbours at that layer and every layer below.
    fn from_hnsw(hnsw: &Hnsw<'_, f32, DistDot>, rows: usize) -> Graph {
        let indexation = hnsw.get_point_indexation();
        let Some(entry) = (0..MAX_LAYERS)
            .rev()
            .find_map(|l| indexation.get_layer_iterator(l).next())
        else {
            return Graph::EMPTY;
        };
        let top = entry.get_point_id().0 as usize;
        // Per layer, (row, its neighbours there).
        let mut lists: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); top + 1];
        for level in 0..=top {
            for point in indexation.get_layer_iterator(level) {
                let row = point.get_origin_id() as u32;
                for (l, hood) in point
                    .get_neighborhood_id()
                    .into_iter()
                    .take(level + 1)
                    .enumerate()
                {
                    lists[l].push((row, hood.iter().map(|n| n.d_id as u32).collect()));
                }
            }
        }
        let layers = lists
            .into_iter()
            .enumerate()
            .map(|(l, mut list)| {
                if l == 0 {
                    // Every row, in row order (a row hnsw_rs somehow lacks has no neighbours).
                    let mut by_row = vec![Vec::new(); rows];
                    for (row, hood) in list {
                        if let Some(slot) = by_row.get_mut(row as usize) {
                            *slot = hood;
                        }
                    }
                    Layer::from_lists(Vec::new(), by_row)
                } else {
                    list.sort_unstable_by_key(|(row, _)| *row);
                    list.dedup_by_key(|(row, _)| *row);
                    let (nodes, hoods) = list.into_iter().unzip();
                    Layer::from_lists(nodes, hoods)
                }
            })
            .collect();
        Graph {
            rows: rows as u32,
            entry: entry.get_origin_id() as u32,
            layers,
        }
    }
}

impl Layer {
    fn from_lists(nodes: Vec<u32>, hoods: Vec<Vec<u32>>) -> Layer {
        let mut offsets = Vec::with_capacity(hoods.len() + 1);
        let mut edges = Vec::with_capacity(hoods.iter().map(Vec::len).sum());
        offsets.push(0);
        for hood in hoods {
            // The saved form counts a node's edges in a u16; hnsw_rs keeps at most 2 x 16.
            edges.extend(hood.into_iter().take(usize::from(u16::MAX)));
            offsets.push(edges.len() as u32);
        }
        Layer {
            nodes,
            offsets,
            edges,
        }
    }
}

/// hnsw_rs's graph of `rows` (at least one), inserted in parallel.
fn build_hnsw(rows: &[Vec<f32>]) -> Hnsw<'static, f32, DistDot> {
    let hnsw = Hnsw::new(
        MAX_CONNECTIONS,
        rows.len(),
        MAX_LAYERS,
        EF_CONSTRUCTION,
        DistDot {},
    );
    let data: Vec<(&[f32], usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_slice(), i))
        .collect();
    hnsw.parallel_insert_slice(&data);
    hnsw
}

/// A row with its similarity to the query, ordered by similarity then by lower row.
#[derive(Debug, Clone, Copy)]
struct Scored(f32, u32);

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

impl AnnIndex {
    /// Builds the graph over `rows` (normalised vectors), inserting in parallel.
    pub fn build(rows: &[Vec<f32>], ef_search: usize) -> AnnIndex {
        if rows.is_empty() {
            return AnnIndex {
                graph: Graph::EMPTY,
                ef_search,
            };
        }
        AnnIndex {
            graph: Graph::from_hnsw(&build_hnsw(rows), rows.len()),
            ef_search,
        }
    }

    pub fn len(&self) -> usize {
        self.graph.rows as usize
    }

    pub fn is_empty(&self) -> bool {
        self.graph.rows == 0
    }

    /// Up to `k` rows closest to `query`, best first, with their cosine similarity. `vectors` are
    /// the rows the graph was built over (nothing is found if their count differs).
    pub fn search(&self, vectors: &DenseIndex, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        if self.is_empty() || k == 0 || vectors.len() != self.len() || query.len() != vectors.dim()
        {
            return Vec::new();
        }
        let g = &self.graph;
        let similarity = |row: u32| dot(vectors.row(row as usize), query);
        // Greedy descent: at each upper layer, move to a closer neighbour until none is closer.
        let mut at = Scored(similarity(g.entry), g.entry);
        for layer in (1..g.layers.len()).rev() {
            loop {
                let before = at.1;
                for &n in g.neighbours(layer, before) {
                    let s = Scored(similarity(n), n);
                    if s > at {
                        at = s;
                    }
                }
                if at.1 == before {
                    break;
                }
            }
        }
        // Layer 0: best-first search keeping the `ef` closest rows seen.
        let ef = self.ef_search.max(k);
        let mut visited = vec![0u64; self.len().div_ceil(64)];
        let mut seen = |row: u32| {
            let (word, bit) = (row as usize / 64, 1u64 << (row % 64));
            let was = visited[word] & bit != 0;
            visited[word] |= bit;
            was
        };
        seen(at.1);
        let mut candidates = BinaryHeap::from([at]);
        let mut found = BinaryHeap::from([Reverse(at)]);
        while let Some(c) = candidates.pop() {
            let worst = found.peek().map_or(f32::NEG_INFINITY, |w| w.0.0);
            if found.len() >= ef && c.0 < worst {
                break;
            }
            for &n in g.neighbours(0, c.1) {
                if seen(n) {
                    continue;
                }
                let s = Scored(similarity(n), n);
                if found.len() < ef || found.peek().is_some_and(|w| s > w.0) {
                    candidates.push(s);
                    found.push(Reverse(s));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut hits: Vec<(u32, f32)> = found.into_iter().map(|Reverse(s)| (s.1, s.0)).collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }
}

#[cfg(test)]
mod tests;
