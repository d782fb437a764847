//! `ucp eval`: selection quality and latency on a public tool-retrieval set, measured with the same
//! engine, embedder and store the gateway serves with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use ucp_index::bench_data::load_files;
use ucp_index::metrics::{Metrics, Summary};
use ucp_index::{
    Bm25Params, Embedder, EmbedderConfig, Engine, FusionWeights, Mode, SelectOptions, Store,
};

use crate::load::ucp_home;

mod cooccurrence;

pub struct EvalArgs {
    pub tools: PathBuf,
    pub queries: PathBuf,
    pub mode: Mode,
    pub json: bool,
    pub model_dir: Option<PathBuf>,
    pub store_dir: Option<PathBuf>,
    /// Replay experiment: learn from the feedback of one half of the queries, measure the other.
    pub replay: bool,
    pub learning_weight: f32,
    /// Catalog size from which HNSW candidates replace the full scan (0 forces them).
    pub ann_threshold: usize,
    /// Count the tokens of each query's `ucp_search_tools` answer of this many tools.
    pub result_tokens: Option<usize>,
    /// Co-occurrence replay over the multi-tool queries (see `eval/cooccurrence.rs`).
    pub replay_cooccurrence: bool,
    /// Queries cut at this many tokens before embedding (0: the model's 256).
    pub query_max_tokens: usize,
}

pub fn main(args: EvalArgs) -> ExitCode {
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &EvalArgs) -> Result<(), String> {
    let set = load_files(&args.tools, &args.queries).map_err(|e| e.to_string())?;
    let embedder = match args.mode {
        Mode::Keyword => None,
        _ => Some(load_embedder_capped(
            args.model_dir.as_deref(),
            args.query_max_tokens,
        )?),
    };
    let texts: Vec<String> = set.tools.iter().map(|d| d.dense_text()).collect();
    let mut tokens = match args.result_tokens {
        None => None,
        Some(k) => {
            let dir = match &args.model_dir {
                Some(dir) => dir.clone(),
                None => model_dir(
                    ucp_config::Config::default()
                        .tool_zoo
                        .embedding_model
                        .as_str(),
                )?,
            };
            let counter = crate::result_tokens::Counter::load(&dir)?;
            let shown = crate::result_tokens::shown_tools(&args.tools, &set.tools)?;
            Some((k, counter, shown, Vec::with_capacity(set.queries.len())))
        }
    };
    let vectors = match &embedder {
        None => Vec::new(),
        Some(embedder) => {
            let dir = args
                .store_dir
                .clone()
                .unwrap_or_else(|| ucp_home().join("data").join("eval-store"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let store = Store::open(&dir).map_err(|e| e.to_string())?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let bar = crate::progress::bar(refs.len() as u64, "embedding tools", args.json);
            let (vectors, stats) = ucp_index::embed_cache::embed_texts(
                embedder,
                Some(&store),
                &refs,
                &mut |done, _| bar.set_position(done as u64),
            )
            .map_err(|e| e.to_string())?;
            bar.finish_and_clear();
            if !args.json {
                eprintln!(
                    "embeddings: {} from the store, {} computed",
                    stats.from_store, stats.computed
                );
            }
            vectors
        }
    };
    let engine = Engine::build_with_ann_threshold(
        set.tools,
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
        args.ann_threshold,
    )
    .map_err(|e| e.to_string())?;
    let options = SelectOptions {
        mode: args.mode,
        k: 10,
        similarity_threshold: -1.0,
        per_server_cap: None,
    };
    if args.replay_cooccurrence {
        return cooccurrence::replay(&engine, embedder.as_ref(), &set.queries, options, args.json);
    }
    if args.replay {
        let embedder = embedder
            .as_ref()
            .ok_or("--replay needs --mode semantic or hybrid")?;
        return replay(
            &engine,
            embedder,
            &set.queries,
            options,
            args.learning_weight,
            args.json,
        );
    }
    let mut summary = Summary::default();
    let mut latencies = Vec::with_capacity(set.queries.len());
    for query in &set.queries {
        let started = Instant::now();
        let vector = match &embedder {
            Some(e) => Some(e.embed_query(&query.text).map_err(|e| e.to_string())?),
            None => None,
        };
        let hits = engine.search(&query.text, vector.as_deref(), options);
        latencies.push(started.elapsed());
        if let Some((k, counter, shown, counts)) = &mut tokens {
            let top = &hits[..hits.len().min(*k)];
            counts.push(counter.count(&crate::result_tokens::rendered(top, shown))?);
        }
        let ranking: Vec<u32> = hits.iter().map(|h| h.doc).collect();
        summary.add(&Metrics::of(&ranking, &query.relevant));
    }
    latencies.sort();
    let result_tokens = tokens.map(|(k, _, _, mut counts)| {
        let (median, p95, mean) = crate::result_tokens::summary(&mut counts);
        json!({"k": k, "median": median, "p95": p95, "mean": (mean * 10.0).round() / 10.0})
    });
    let mean = summary.mean();
    let (p50, p99) = (
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
    if args.json {
        let out = json!({
            "mode": format!("{:?}", args.mode).to_lowercase(),
            "recall@1": mean.recall_1, "recall@5": mean.recall_5, "recall@10": mean.recall_10,
            "ndcg@10": mean.ndcg_10, "mrr": mean.mrr, "p50_ms": p50, "p99_ms": p99,
            "tools": engine.len(), "queries": set.queries.len(),
            "result_tokens": result_tokens,
        });
        println!("{out}");
    } else {
        println!(
            "mode {:?}: {} tools, {} queries",
            args.mode,
            engine.len(),
            set.queries.len()
        );
        println!("| R@1 | R@5 | R@10 | NDCG@10 | MRR | p50 ms | p99 ms |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        println!(
            "| {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {p50:.2} | {p99:.2} |",
            mean.recall_1, mean.recall_5, mean.recall_10, mean.ndcg_10, mean.mrr
        );
        if let Some(t) = result_tokens {
            println!(
                "ucp_search_tools answer of {} tools: median {} tokens, p95 {}, mean {}",
                t["k"], t["median"], t["p95"], t["mean"]
            );
        }
    }
    Ok(())
}

/// The replay experiment, both ways round: learn from the feedback of one half of the queries (the
/// agent calls the relevant tools among the top 10 it was shown; the others count as ignored), then
/// measure the other half with and without the learned signal.
fn replay(
    engine: &Engine,
    embedder: &Embedder,
    queries: &[ucp_index::bench_data::BenchQuery],
    options: SelectOptions,
    weight: f32,
    json: bool,
) -> Result<(), String> {
    use ucp_index::learning::{Learned, LearningParams};
    let ids: Vec<String> = (0..engine.len()).map(|i| i.to_string()).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let params = LearningParams::default();
    let vectors: Vec<std::sync::Arc<[f32]>> = queries
        .iter()
        .map(|q| embedder.embed_query(&q.text).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (learn_parity, name) in [
        (0, "learn even, measure odd"),
        (1, "learn odd, measure even"),
    ] {
        let mut learned = Learned::default();
        for (i, q) in queries
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == learn_parity)
        {
            let extra = learned.scores(&vectors[i], &id_refs, params);
            let hits =
                engine.search_with(&q.text, Some(&vectors[i]), options, Some((&extra, weight)));
            let returned: Vec<&str> = hits.iter().map(|h| id_refs[h.doc as usize]).collect();
            let called: Vec<&str> = hits
                .iter()
                .filter(|h| q.relevant.contains(&h.doc))
                .map(|h| id_refs[h.doc as usize])
                .collect();
            learned.record(&vectors[i], &returned, &called);
        }
        let (mut before, mut after) = (Summary::default(), Summary::default());
        for (i, q) in queries
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 != learn_parity)
        {
            let plain: Vec<u32> = engine
                .search(&q.text, Some(&vectors[i]), options)
                .iter()
                .map(|h| h.doc)
                .collect();
            let extra = learned.scores(&vectors[i], &id_refs, params);
            let with: Vec<u32> = engine
                .search_with(&q.text, Some(&vectors[i]), options, Some((&extra, weight)))
                .iter()
                .map(|h| h.doc)
                .collect();
            before.add(&Metrics::of(&plain, &q.relevant));
            after.add(&Metrics::of(&with, &q.relevant));
        }
        rows.push((name, before.mean(), after.mean(), learned.len()));
    }
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|(name, b, a, n)| json!({"split": name, "ndcg@10_before": b.ndcg_10, "ndcg@10_after": a.ndcg_10,
                "recall@10_before": b.recall_10, "recall@10_after": a.recall_10, "tools_learned": n}))
            .collect();
        println!("{}", json!({ "learning_weight": weight, "replay": out }));
    } else {
        println!(
            "replay, learning weight {weight}: | split | NDCG@10 without | with | R@10 without | with | tools learned |"
        );
        for (name, b, a, n) in rows {
            println!(
                "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {n} |",
                b.ndcg_10, a.ndcg_10, b.recall_10, a.recall_10
            );
        }
    }
    Ok(())
}

/// The model directory `tool_zoo.embedding_model` names: the default model's name means the files
/// `scripts/setup.sh` installs (`$UCP_MODEL_DIR` or `$UCP_HOME/models`); anything else must be a
/// directory with `model.onnx` and `tokenizer.json` (a sentence-transformers ONNX export).
pub fn model_dir(embedding_model: &str) -> Result<PathBuf, String> {
    if embedding_model == ucp_index::embedder::DEFAULT_MODEL
        || embedding_model
            == format!(
                "sentence-transformers/{}",
                ucp_index::embedder::DEFAULT_MODEL
            )
    {
        return Ok(std::env::var_os("UCP_MODEL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| ucp_home().join("models")));
    }
    let dir = crate::load::expand_home(Path::new(embedding_model));
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "tool_zoo.embedding_model: `{embedding_model}` is neither `{}` nor a directory with model.onnx and tokenizer.json",
            ucp_index::embedder::DEFAULT_MODEL
        ))
    }
}

/// The embedder from `--model-dir`, or `$UCP_HOME/models` as `scripts/setup.sh` installs it.
pub fn load_embedder(model_dir: Option<&Path>) -> Result<Embedder, String> {
    load_embedder_capped(model_dir, 0)
}

/// [`load_embedder`] with queries cut at `query_max_tokens` tokens (0: not cut).
pub fn load_embedder_capped(
    model_dir: Option<&Path>,
    query_max_tokens: usize,
) -> Result<Embedder, String> {
    let dir = model_dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("UCP_MODEL_DIR").map(PathBuf::from))
        .unwrap_or_else(|| ucp_home().join("models"));
    let config = EmbedderConfig {
        query_max_tokens,
        ..EmbedderConfig::from_env_and_dir(dir)
    };
    Embedder::load(config).map_err(|e| e.to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
