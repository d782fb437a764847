//! The HNSW graph saved with the embeddings (issue 10, point 8), at 100,000 synthetic clustered
//! 384-d unit vectors: the time to build the graph, save it, load it back, and to have selection
//! ready on a warm restart (store opened, embeddings and graph read, engine built), against a
//! restart that builds the graph; and the recall of the loaded graph against exact search at the
//! engine's ef and candidate count. Not criterion: one build takes minutes on 2 cores.
//! Run: `cargo bench --bench ann_persist` (`UCP_ANN_ROWS=20000` for a quick run;
//! `UCP_ANN_BEFORE=1` also measures a whole restart that builds the graph, minutes more at 100k).

use std::time::Instant;

use ucp_index::ann::AnnIndex;
use ucp_index::ann::saved::{GraphOrigin, SavedGraphs, vectors_digest};
use ucp_index::engine::{ANN_CANDIDATES, ANN_EF, ANN_THRESHOLD};
use ucp_index::{
    Bm25Params, DenseIndex, Engine, FusionWeights, Mode, SelectOptions, Store, ToolDoc,
};

const DIM: usize = 384;
const QUERIES: usize = 200;
const MODEL: &str = "synthetic-384";
const RESTARTS: usize = 3;

/// Clustered random vectors (tool descriptions cluster by domain), normalised. The last `QUERIES`
/// rows are held out as queries, so queries come from the same clusters as the tools.
fn rows(n: usize, seed: u64) -> Vec<Vec<f32>> {
    ucp_index::bench_data::clustered_vectors(n, DIM, seed)
}

/// Tools with a few words each from a synthetic vocabulary, for BM25 and the embedding keys.
fn docs(n: usize) -> Vec<ToolDoc> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|i| {
            let words: Vec<String> = (0..8)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    format!("w{}", state % 5000)
                })
                .collect();
            let server = format!("s{}", i % 100);
            ToolDoc::from_input_schema(
                format!("{server}/tool_{i}"),
                server,
                format!("tool_{i}"),
                words.join(" "),
                &serde_json::json!({}),
                Vec::new(),
            )
        })
        .collect()
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let n: usize = std::env::var("UCP_ANN_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut all = rows(n + QUERIES, 42);
    let queries = all.split_off(n);
    let vectors = all;
    let docs = docs(n);
    let texts: Vec<String> = docs.iter().map(ToolDoc::dense_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    println!("{n} rows x {DIM}, store in {}", dir.path().display());

    // First start: the embeddings are stored (as `embed_texts` does); the graph is built, saved,
    // read back.
    let exact = DenseIndex::new(DIM, &vectors).expect("vectors");
    let (built, loaded) = {
        let store = Store::open(dir.path()).expect("store");
        for chunk in refs.chunks(10_000).zip(vectors.chunks(10_000)) {
            let items: Vec<(&str, &[f32])> = chunk
                .0
                .iter()
                .zip(chunk.1)
                .map(|(t, v)| (*t, v.as_slice()))
                .collect();
            store.put_embeddings(MODEL, &items).expect("embeddings");
        }
        let started = Instant::now();
        let built = AnnIndex::build(&vectors, ANN_EF);
        println!("build: {:.1} s", secs(started));
        let started = Instant::now();
        let digest = vectors_digest(&vectors);
        println!("digest of the vectors: {:.3} s", secs(started));
        let saved = SavedGraphs::new(&store, MODEL);
        let started = Instant::now();
        saved.save(&digest, &built).expect("save");
        println!("save (encode + RocksDB write): {:.3} s", secs(started));
        let bytes = store.ann_graph(MODEL, &digest).unwrap().unwrap().len();
        println!(
            "saved graph: {:.1} MB ({:.0} bytes per row)",
            bytes as f64 / 1e6,
            bytes as f64 / n as f64
        );
        let started = Instant::now();
        let loaded = saved
            .load(&digest, n, ANN_EF)
            .expect("load")
            .expect("saved");
        println!(
            "load (RocksDB read + decode + checks): {:.3} s",
            secs(started)
        );
        (built, loaded)
    };

    // The loaded graph against exact search, and against the graph it was saved from.
    let (mut top10, mut candidates, mut same) = (0usize, 0usize, true);
    let mut search_s = 0.0;
    for q in &queries {
        let truth: Vec<u32> = exact.search(q, 10).into_iter().map(|h| h.0).collect();
        let got10 = loaded.search(&exact, q, 10);
        let started = Instant::now();
        let got = loaded.search(&exact, q, ANN_CANDIDATES);
        search_s += secs(started);
        same &= got == built.search(&exact, q, ANN_CANDIDATES);
        top10 += got10.iter().filter(|h| truth.contains(&h.0)).count();
        candidates += got.iter().filter(|h| truth.contains(&h.0)).count();
    }
    let total = (queries.len() * 10) as f64;
    println!(
        "loaded graph, ef {ANN_EF}, {} held-out queries: recall@10 {:.3} (top 10 vs exact top 10), \
         candidate recall {:.3} (exact top 10 among the {ANN_CANDIDATES} candidates), \
         {:.2} ms per {ANN_CANDIDATES}-candidate search; answers identical to the built graph: {same}",
        queries.len(),
        top10 as f64 / total,
        candidates as f64 / total,
        search_s * 1e3 / queries.len() as f64,
    );
    assert!(same, "the loaded graph answers differently");
    drop((built, loaded));

    // Warm restarts: what the gateway does at start with an unchanged catalog.
    let options = SelectOptions {
        mode: Mode::Hybrid,
        k: 10,
        similarity_threshold: -1.0,
        per_server_cap: None,
    };
    let mut rest_s = 0.0;
    for run in 0..RESTARTS {
        let started = Instant::now();
        let store = Store::open(dir.path()).expect("store");
        let open_s = secs(started);
        let read = Instant::now();
        let stored = stored_vectors(&store, &refs);
        let read_s = secs(read);
        let build = Instant::now();
        let engine = Engine::build_with_saved_graphs(
            docs.clone(),
            &stored,
            Bm25Params::default(),
            FusionWeights::default(),
            ANN_THRESHOLD.min(n),
            Some(SavedGraphs::new(&store, MODEL)),
        )
        .expect("engine");
        let engine_s = secs(build);
        let hits = engine.search("w1 w2 w3", Some(&queries[0]), options);
        let ready_s = secs(started);
        assert_eq!(engine.ann_origin(), Some(&GraphOrigin::Loaded));
        assert_eq!(hits.len(), 10);
        println!(
            "warm restart {}: selection ready in {ready_s:.2} s (store open {open_s:.2} s, \
             {n} embeddings read {read_s:.2} s, engine with the saved graph {engine_s:.2} s)",
            run + 1
        );
        // The same restart without a saved graph differs only in the engine's graph step.
        let without = Instant::now();
        drop(
            Engine::build_with_ann_threshold(
                docs.clone(),
                &stored,
                Bm25Params::default(),
                FusionWeights::default(),
                usize::MAX,
            )
            .expect("engine"),
        );
        rest_s = open_s + read_s + secs(without);
    }
    println!(
        "restart steps other than the graph (open, read, engine without HNSW): {rest_s:.2} s; a \
         restart that builds the graph takes that plus the build above"
    );
    if std::env::var_os("UCP_ANN_BEFORE").is_some() {
        // Measured whole: a restart as it was before graphs were saved (minutes at 100k).
        let started = Instant::now();
        let store = Store::open(dir.path()).expect("store");
        let stored = stored_vectors(&store, &refs);
        let engine = Engine::build_with_ann_threshold(
            docs,
            &stored,
            Bm25Params::default(),
            FusionWeights::default(),
            ANN_THRESHOLD.min(n),
        )
        .expect("engine");
        engine.search("w1 w2 w3", Some(&queries[0]), options);
        println!(
            "restart building the graph (no saved graph): selection ready in {:.1} s",
            secs(started)
        );
    }
}

/// Every vector the store holds for `texts`, in order (all of them were written before).
fn stored_vectors(store: &Store, texts: &[&str]) -> Vec<Vec<f32>> {
    store
        .embeddings(MODEL, texts)
        .expect("embeddings")
        .into_iter()
        .map(|v| v.expect("stored"))
        .collect()
}
