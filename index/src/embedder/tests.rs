//! Tests against the real model from `scripts/setup.sh` (`UCP_MODEL_DIR`, else `~/.ucp/models`).

use std::sync::OnceLock;

use super::*;

fn model_dir() -> PathBuf {
    match std::env::var_os("UCP_MODEL_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".ucp/models"),
    }
}

fn config() -> EmbedderConfig {
    EmbedderConfig::from_env_and_dir(model_dir())
}

fn load(config: EmbedderConfig) -> Embedder {
    Embedder::load(config).unwrap_or_else(|e| panic!("cannot load the embedding model: {e}"))
}

/// Small chunks so that batching, sorting and padding are exercised.
fn shared() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| {
        load(EmbedderConfig {
            batch_size: 3,
            ..config()
        })
    })
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn embedder_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Embedder>();
}

#[test]
fn sanity_pairs() {
    let e = shared();
    let v = e
        .embed_batch(&[
            "send an email to a colleague",
            "compose and send a message via gmail",
            "list open pull requests on a repository",
        ])
        .unwrap();
    let near = cos(&v[0], &v[1]);
    let far = cos(&v[0], &v[2]);
    assert!((near - 0.50).abs() <= 0.05, "related pair cosine {near}");
    assert!((far + 0.02).abs() <= 0.06, "unrelated pair cosine {far}");
}

#[test]
fn batch_matches_one_by_one_in_any_order() {
    let e = shared();
    // Over 256 tokens: truncated.
    let long = "retrieve the weather forecast for a city and country ".repeat(60);
    let texts: Vec<&str> = vec![
        "",
        "hi",
        "search flights between two airports on a given date",
        &long,
        "GitHub: create issue. Create a new issue in a repository with a title, body and labels.",
        "translate text",
        "get the current stock price of a ticker symbol from the exchange",
    ];
    let single: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| e.embed_batch(&[t]).unwrap().remove(0))
        .collect();
    let n = texts.len();
    let orders: [Vec<usize>; 3] = [
        (0..n).collect(),
        (0..n).rev().collect(),
        vec![3, 0, 6, 1, 5, 2, 4],
    ];
    for order in orders {
        let permuted: Vec<&str> = order.iter().map(|&i| texts[i]).collect();
        let batch = e.embed_batch(&permuted).unwrap();
        assert_eq!(batch.len(), n);
        for (&i, b) in order.iter().zip(&batch) {
            let c = cos(b, &single[i]);
            assert!(c > 0.9999, "order {order:?}: cosine {c} for text #{i}");
        }
    }
}

#[test]
fn vectors_have_unit_norm_and_dim() {
    let v = shared()
        .embed_batch(&["a", "list files in a directory", ""])
        .unwrap();
    for x in v {
        assert_eq!(x.len(), DIM);
        let n = cos(&x, &x).sqrt();
        assert!((n - 1.0).abs() < 1e-4, "norm {n}");
    }
}

#[test]
fn empty_batch_is_empty() {
    let mut calls = 0;
    assert!(
        shared()
            .embed_batch_with_progress(&[], &mut |_| calls += 1)
            .unwrap()
            .is_empty()
    );
    assert_eq!(calls, 0);
}

#[test]
fn progress_reports_each_chunk() {
    let mut seen = Vec::new();
    let texts = [
        "one",
        "two words",
        "three words here",
        "a b c d",
        "e",
        "f g",
        "h",
    ];
    shared()
        .embed_batch_with_progress(&texts, &mut |n| seen.push(n))
        .unwrap();
    assert_eq!(seen, vec![3, 6, 7]);
}

#[test]
fn query_cache_counts_hits() {
    let e = load(config());
    let q = "find a restaurant nearby that is open now";
    let a = e.embed_query(q).unwrap();
    assert_eq!(e.cache_stats(), (0, 1));
    let b = e.embed_query(q).unwrap();
    assert_eq!(e.cache_stats(), (1, 1));
    assert!(Arc::ptr_eq(&a, &b));
    let direct = e.embed_batch(&[q]).unwrap();
    assert!(cos(&a, &direct[0]) > 0.9999);
}

#[test]
fn model_id_is_stable() {
    let id = shared().model_id();
    assert!(
        id.starts_with("minilm-l6-v2:") && id.len() == "minilm-l6-v2:".len() + 16,
        "{id}"
    );
    assert_eq!(
        load(config()).model_id(),
        load(EmbedderConfig {
            batch_size: 3,
            ..config()
        })
        .model_id()
    );
    assert_ne!(
        load(EmbedderConfig {
            max_tokens: 128,
            ..config()
        })
        .model_id(),
        id
    );
}

#[test]
fn missing_model_dir_names_the_path() {
    let dir = PathBuf::from("/nonexistent/ucp-models");
    match Embedder::load(EmbedderConfig::from_env_and_dir(&dir)) {
        Err(IndexError::Missing { path, hint }) => {
            assert!(path.starts_with(&dir), "{}", path.display());
            assert_eq!(hint, "run scripts/setup.sh");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("loaded from a missing dir"),
    }
}

#[test]
fn bogus_ort_library_is_an_error() {
    let missing = EmbedderConfig {
        ort_library: "/nonexistent/libonnxruntime.so".into(),
        ..config()
    };
    assert!(matches!(
        Embedder::load(missing),
        Err(IndexError::Missing { .. })
    ));
    // An existing file that is not ONNX Runtime: a dlopen error, or a conflict once the real one
    // is loaded in this process.
    let not_a_library = EmbedderConfig {
        ort_library: model_dir().join("tokenizer.json"),
        ..config()
    };
    match Embedder::load(not_a_library) {
        Err(e @ (IndexError::OrtLoad { .. } | IndexError::OrtConflict { .. })) => {
            assert!(e.to_string().contains("tokenizer.json"), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("loaded a tokenizer as ONNX Runtime"),
    }
}

#[test]
fn bad_config_is_an_error() {
    assert!(matches!(
        Embedder::load(EmbedderConfig {
            batch_size: 0,
            ..config()
        }),
        Err(IndexError::Config(_))
    ));
    assert!(matches!(
        Embedder::load(EmbedderConfig {
            max_tokens: 1,
            ..config()
        }),
        Err(IndexError::Config(_))
    ));
}

#[test]
fn concurrent_queries_agree() {
    let e = shared();
    let q = [
        "open a pull request",
        "book a hotel room",
        "convert currency",
    ];
    let want = e.embed_batch(&q).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for (t, w) in q.iter().zip(&want) {
                    assert!(cos(&e.embed_query(t).unwrap(), w) > 0.9999);
                }
            });
        }
    });
}

#[test]
fn long_texts_run_in_smaller_chunks() {
    let e = load(config());
    // Truncated to 256 tokens.
    let long = "summarise the quarterly sales report for the board ".repeat(40);
    let texts = vec![long.as_str(); 6];
    let mut seen = Vec::new();
    let v = e
        .embed_batch_with_progress(&texts, &mut |n| seen.push(n))
        .unwrap();
    assert_eq!(seen, vec![4, 6], "1024 padded tokens per run");
    assert!(cos(&v[0], &v[5]) > 0.9999);
}

#[test]
fn a_query_cap_embeds_a_long_query_as_if_the_text_were_cut_there() {
    let long = "find the weather forecast for a city and then book a table at a restaurant nearby \
                and send the reservation to my calendar with a reminder one hour before";
    let capped = load(EmbedderConfig {
        query_max_tokens: 16,
        query_cache_size: 0,
        ..config()
    });
    let short = load(EmbedderConfig {
        max_tokens: 16,
        ..config()
    });
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let q = capped.embed_query(long).unwrap();
    let cut = short.embed_batch(&[long]).unwrap().pop().unwrap();
    assert!(dot(&q, &cut) > 0.9999, "{}", dot(&q, &cut));
    let whole = shared().embed_query(long).unwrap();
    assert!(
        dot(&q, &whole) < 0.99,
        "the cap changes a long query's vector"
    );
    // The stored tool vectors do not depend on it.
    assert_eq!(capped.model_id(), shared().model_id());
}
