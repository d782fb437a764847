//! Uncached selection latency at ~10k tools including the query embedding, for several embedder
//! settings side by side in one process (ONNX Runtime threads and spinning, a token cap on queries),
//! so each setting is a ratio to the default measured under the same machine load.
//!
//! Every ToolBench dev query (765, median 43 words) is embedded (query cache off) and ranked over
//! the 9,614 tools of benches/data/scale by each variant, each in a process of its own, one after
//! the other, the order rotating per round.
//! Run: `cargo bench --bench query_latency` (after scripts/setup.sh). `UCP_LATENCY_ROUNDS` sets the
//! passes over the queries (default 2); `UCP_LATENCY_VARIANTS` keeps only the named variants
//! (comma-separated; the first one listed is the baseline).
//!
//! It then times the dense scan alone over the same 9,614 vectors: the dispatched scan (AVX2/FMA or
//! AVX-512 where the CPU has them) against the same loop compiled for baseline x86-64, interleaved.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ucp_index::bench_data::load_files;
use ucp_index::dense::dot_baseline;
use ucp_index::embed_cache::embed_texts;
use ucp_index::{
    Bm25Params, Embedder, EmbedderConfig, Engine, FusionWeights, Mode, SelectOptions, Store,
    ToolDoc,
};

fn ucp_home() -> PathBuf {
    std::env::var_os("UCP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".ucp"))
}

/// A named change to the gateway's default embedder settings.
struct Variant {
    name: &'static str,
    tweak: fn(&mut EmbedderConfig),
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "default",
        tweak: |_| {},
    },
    Variant {
        name: "1-thread",
        tweak: |c| c.intra_threads = 1,
    },
    Variant {
        name: "no-spin",
        tweak: |c| c.intra_spinning = false,
    },
    Variant {
        name: "cap-128",
        tweak: |c| c.query_max_tokens = 128,
    },
    Variant {
        name: "cap-96",
        tweak: |c| c.query_max_tokens = 96,
    },
    Variant {
        name: "1-thread+cap-128",
        tweak: |c| {
            c.intra_threads = 1;
            c.query_max_tokens = 128;
        },
    },
];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported, use the env vars.
    match std::env::var("UCP_LATENCY_CHILD") {
        Ok(name) => child(&name),
        Err(_) => parent(),
    }
}

/// Runs each variant in a process of its own (ONNX Runtime's idle threads of one session would
/// otherwise spin on the cores the next variant runs on), round after round, rotating the order.
fn parent() {
    let rounds: usize = std::env::var("UCP_LATENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let variants: Vec<&Variant> = match std::env::var("UCP_LATENCY_VARIANTS") {
        Err(_) => VARIANTS.iter().collect(),
        Ok(names) => names
            .split(',')
            .map(|n| {
                VARIANTS
                    .iter()
                    .find(|v| v.name == n)
                    .unwrap_or_else(|| panic!("unknown variant {n}"))
            })
            .collect(),
    };
    let exe = std::env::current_exe().unwrap();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    let mut embed_only: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    let mut header = String::new();
    for round in 0..rounds {
        for step in 0..variants.len() {
            let i = (step + round) % variants.len();
            let out = std::process::Command::new(&exe)
                .env("UCP_LATENCY_CHILD", variants[i].name)
                .env(
                    "UCP_LATENCY_SCAN",
                    if round + step == 0 { "1" } else { "0" },
                )
                .output()
                .expect("run a variant");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let mut fields = line.split_whitespace();
                match fields.next() {
                    Some("t") => {
                        let total: u64 = fields.next().unwrap().parse().unwrap();
                        let embed: u64 = fields.next().unwrap().parse().unwrap();
                        times[i].push(Duration::from_nanos(total));
                        embed_only[i].push(Duration::from_nanos(embed));
                    }
                    _ if !header.contains(line) => {
                        header.push_str(line);
                        header.push('\n');
                    }
                    _ => {}
                }
            }
        }
    }
    print!("{header}");
    println!("{rounds} rounds, each variant in its own process, hybrid top-10, query cache off");
    println!(
        "| variant | p50 ms | p90 ms | p99 ms | embedding p50 ms | embedding p99 ms | p50 / {0} | p99 / {0} |",
        variants[0].name
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut base = (0.0, 0.0);
    for (i, v) in variants.iter().enumerate() {
        times[i].sort();
        embed_only[i].sort();
        let (p50, p99) = (percentile(&times[i], 0.5), percentile(&times[i], 0.99));
        if i == 0 {
            base = (p50, p99);
        }
        println!(
            "| {} | {p50:.2} | {:.2} | {p99:.2} | {:.2} | {:.2} | {:.3} | {:.3} |",
            v.name,
            percentile(&times[i], 0.9),
            percentile(&embed_only[i], 0.5),
            percentile(&embed_only[i], 0.99),
            p50 / base.0,
            p99 / base.1
        );
    }
}

/// One variant over every query: prints `t TOTAL_NS EMBED_NS` per query.
fn child(name: &str) {
    let variant = VARIANTS
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("unknown variant {name}"));
    let dir = env!("CARGO_MANIFEST_DIR");
    let set = load_files(
        format!("{dir}/benches/data/scale/scale-tools.jsonl").as_ref(),
        format!("{dir}/benches/data/toolret-dev/queries.jsonl").as_ref(),
    )
    .expect("benches/data (scale tools, ToolBench dev queries)");
    let mut config = EmbedderConfig::from_env_and_dir(ucp_home().join("models"));
    config.query_cache_size = 0;
    (variant.tweak)(&mut config);
    let embedder = Embedder::load(config).expect("model (run scripts/setup.sh)");
    let store_dir = ucp_home().join("data").join("bench-store");
    std::fs::create_dir_all(&store_dir).unwrap();
    let store = Store::open(&store_dir).expect("bench store");
    let texts: Vec<String> = set.tools.iter().map(ToolDoc::dense_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (vectors, _) =
        embed_texts(&embedder, Some(&store), &refs, &mut |_, _| {}).expect("embed scale set");
    drop(store);
    if std::env::var("UCP_LATENCY_SCAN").as_deref() == Ok("1") {
        scan_comparison(&vectors, &embedder, &set.queries);
    }
    let engine = Engine::build(
        set.tools,
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
    )
    .unwrap();
    let options = SelectOptions {
        mode: Mode::Hybrid,
        k: 10,
        similarity_threshold: -1.0,
        per_server_cap: None,
    };
    for q in set.queries.iter().take(20) {
        let v = embedder.embed_query(&q.text).unwrap();
        std::hint::black_box(engine.search(&q.text, Some(&v), options));
    }
    println!(
        "{} tools, {} queries per round",
        engine.len(),
        set.queries.len()
    );
    for q in &set.queries {
        let started = Instant::now();
        let v = embedder.embed_query(&q.text).unwrap();
        let embedded = started.elapsed();
        std::hint::black_box(engine.search(&q.text, Some(&v), options));
        println!("t {} {}", started.elapsed().as_nanos(), embedded.as_nanos());
    }
}

/// The dense scan alone: `DenseIndex::scores` (dispatched) vs the baseline-x86-64 loop.
fn scan_comparison(
    vectors: &[Vec<f32>],
    embedder: &Embedder,
    queries: &[ucp_index::bench_data::BenchQuery],
) {
    let index = ucp_index::DenseIndex::new(384, vectors).unwrap();
    let probes: Vec<std::sync::Arc<[f32]>> = queries
        .iter()
        .take(32)
        .map(|q| embedder.embed_query(&q.text).unwrap())
        .collect();
    let mut fast = Vec::new();
    let mut baseline = Vec::new();
    for rep in 0..20 {
        for (i, q) in probes.iter().enumerate() {
            let order = (rep + i) % 2 == 0;
            for second in [false, true] {
                let started = Instant::now();
                if order ^ second {
                    std::hint::black_box(index.scores(q));
                    fast.push(started.elapsed());
                } else {
                    let out: Vec<f32> = vectors.iter().map(|row| dot_baseline(row, q)).collect();
                    std::hint::black_box(out);
                    baseline.push(started.elapsed());
                }
            }
        }
    }
    fast.sort();
    baseline.sort();
    let us = |v: &[Duration], p: f64| percentile(v, p) * 1000.0;
    println!(
        "dense scan of {} vectors: dispatched p50 {:.0} us (p99 {:.0}), baseline x86-64 p50 {:.0} us (p99 {:.0}); ratio p50 {:.3}",
        vectors.len(),
        us(&fast, 0.5),
        us(&fast, 0.99),
        us(&baseline, 0.5),
        us(&baseline, 0.99),
        us(&fast, 0.5) / us(&baseline, 0.5)
    );
}
