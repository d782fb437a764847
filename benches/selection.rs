//! Selection latency by catalog size: keyword only, hybrid with a precomputed query vector, hybrid
//! including the (uncached) query embedding, and the cached-query path; plus the index's resident
//! memory at ~10k tools. Real tool descriptions (benches/data/scale, 9,614 tools) embedded with
//! the real model; 100k = those tools repeated with synthetic vectors (the issue allows synthetic
//! vectors at 100k). Run: `cargo bench --bench selection` (after scripts/setup.sh).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ucp_index::bench_data::parse_tools;
use ucp_index::embed_cache::embed_texts;
use ucp_index::{
    Bm25Params, Embedder, EmbedderConfig, Engine, FusionWeights, Mode, SelectOptions, Store,
    ToolDoc,
};

const QUERIES: [&str; 8] = [
    "send an email to a colleague with the quarterly report attached",
    "what is the weather forecast for Paris tomorrow",
    "list the open pull requests of my repository",
    "convert 100 US dollars to euros",
    "find recent news articles about electric cars",
    "create a new calendar event for Monday at 10am",
    "translate this sentence into Spanish",
    "search for a hotel in Tokyo for next weekend",
];

fn ucp_home() -> PathBuf {
    std::env::var_os("UCP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".ucp"))
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn options(mode: Mode) -> SelectOptions {
    SelectOptions {
        mode,
        k: 10,
        similarity_threshold: -1.0,
        per_server_cap: None,
    }
}

fn synthetic(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..384)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 2000) as f32 / 1000.0 - 1.0
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/scale/scale-tools.jsonl"
    ))
    .expect("benches/data/scale/scale-tools.jsonl");
    let (docs, _) = parse_tools(&text, "scale-tools.jsonl").expect("scale set");
    // Memory of the index alone, before the model is loaded: the same 9.6k tools with synthetic
    // vectors of the real size.
    {
        let before = rss_mib();
        let engine = Engine::build(
            docs.clone(),
            &synthetic(docs.len(), 3),
            Bm25Params::default(),
            FusionWeights::default(),
        )
        .unwrap();
        println!(
            "index alone, {} tools (BM25F + 384-d vectors), before the model is loaded: RSS +{:.1} MiB",
            engine.len(),
            rss_mib() - before
        );
    }
    let embedder = Embedder::load(EmbedderConfig::from_env_and_dir(ucp_home().join("models")))
        .expect("model (run scripts/setup.sh)");
    let store_dir = ucp_home().join("data").join("bench-store");
    std::fs::create_dir_all(&store_dir).unwrap();
    let store = Store::open(&store_dir).expect("bench store");
    let texts: Vec<String> = docs.iter().map(ToolDoc::dense_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let (vectors, stats) =
        embed_texts(&embedder, Some(&store), &refs, &mut |_, _| {}).expect("embed scale set");
    if stats.computed > 0 {
        println!(
            "bulk embedding: {} texts in {:.1} s = {:.0} texts/s",
            stats.computed,
            started.elapsed().as_secs_f64(),
            stats.computed as f64 / started.elapsed().as_secs_f64()
        );
    }

    let before = rss_mib();
    let full = Engine::build(
        docs.clone(),
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
    )
    .unwrap();
    println!(
        "index of {} tools: RSS +{:.1} MiB (process {:.1} MiB)",
        full.len(),
        rss_mib() - before,
        rss_mib()
    );

    let mut engines = vec![(
        1_000usize,
        Engine::build(
            docs[..1000].to_vec(),
            &vectors[..1000],
            Bm25Params::default(),
            FusionWeights::default(),
        )
        .unwrap(),
    )];
    engines.push((docs.len(), full));
    let big_docs: Vec<ToolDoc> = (0..100_000)
        .map(|i| {
            let mut d = docs[i % docs.len()].clone();
            d.server = format!("{}-{}", d.server, i / docs.len());
            d
        })
        .collect();
    engines.push((
        100_000,
        Engine::build(
            big_docs,
            &synthetic(100_000, 7),
            Bm25Params::default(),
            FusionWeights::default(),
        )
        .unwrap(),
    ));

    let query_vectors: Vec<Vec<f32>> = QUERIES
        .iter()
        .map(|q| embedder.embed_batch(&[q]).unwrap().remove(0))
        .collect();
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("selection_top10");
    group.sample_size(20);
    for (n, engine) in &engines {
        group.bench_with_input(BenchmarkId::new("keyword", n), n, |b, _| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % QUERIES.len();
                engine.search(QUERIES[i], None, options(Mode::Keyword))
            })
        });
        group.bench_with_input(
            BenchmarkId::new("hybrid_query_vector_given", n),
            n,
            |b, _| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % QUERIES.len();
                    engine.search(QUERIES[i], Some(&query_vectors[i]), options(Mode::Hybrid))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("hybrid_with_query_embedding", n),
            n,
            |b, _| {
                b.iter(|| {
                    // A new text every time, so the query cache never hits.
                    let k = counter.fetch_add(1, Ordering::Relaxed);
                    let query = format!("{} ({k})", QUERIES[k as usize % QUERIES.len()]);
                    let v = embedder.embed_query(&query).unwrap();
                    engine.search(&query, Some(&v), options(Mode::Hybrid))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("hybrid_cached_query_embedding", n),
            n,
            |b, _| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % QUERIES.len();
                    let v = embedder.embed_query(QUERIES[i]).unwrap();
                    engine.search(QUERIES[i], Some(&v), options(Mode::Hybrid))
                })
            },
        );
    }
    group.finish();

    // The selection-cache hit path: what a repeated ucp_search_tools / /v1/select costs.
    let mut listings: std::collections::BTreeMap<
        std::sync::Arc<str>,
        std::sync::Arc<ucp_proxy::ServerListing>,
    > = Default::default();
    for (i, d) in docs.iter().enumerate() {
        let server: std::sync::Arc<str> = format!("s{}", i / 10).into();
        let tool = rmcp::model::Tool::new(
            d.name.clone(),
            d.description.clone(),
            std::sync::Arc::new(rmcp::model::JsonObject::new()),
        );
        let listing = listings.entry(server).or_default();
        std::sync::Arc::make_mut(listing).tools.push(tool);
    }
    let catalog = std::sync::Arc::new(ucp_proxy::Catalog::build(
        &listings,
        &ucp_proxy::Naming::uniform("__"),
    ));
    let shared = ucp_filters::Shared::new(None, None, 1000, 64 << 20, Default::default()).unwrap();
    let config = ucp_config::parse("router: {mode: keyword}\n", &|_| None)
        .unwrap()
        .config;
    let pipeline = ucp_filters::build(&config, &shared).unwrap();
    let index = std::sync::Arc::new(
        ucp_filters::build_index(&shared, &catalog, 1, &Default::default(), &mut |_, _| {})
            .unwrap(),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // One selection through the route phase: a miss computes it, a repeat is a cache hit.
    let select = |query: &str| {
        let mut ex =
            ucp_proxy::Exchange::new(ucp_proxy::Transport::Http, ucp_proxy::Method::Select);
        ex.catalog = Some(catalog.clone());
        ex.select = Some(ucp_proxy::SelectWork {
            purpose: ucp_proxy::SelectPurpose::Select,
            query: query.to_string(),
            k: Some(5),
            recent: Vec::new(),
            index: index.clone(),
            answer: None,
            cached: false,
            query_duration: None,
        });
        runtime.block_on(async {
            pipeline.route(&mut ex).await.unwrap();
            ex.answered(ucp_proxy::Outcome::Ok);
            pipeline.finish(&mut ex).await;
        });
        ex.select.unwrap().cached
    };
    for q in QUERIES {
        select(q);
    }
    c.bench_function(
        &format!("selection_cache_hit/{}", catalog.tools.len()),
        |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % QUERIES.len();
                assert!(select(QUERIES[i]), "hit");
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
