//! `ucp eval --replay-cooccurrence`: what the co-occurrence signal adds, measured on a dev set's
//! multi-tool queries. The tools relevant to one query are taken as used together in one session,
//! in the order the set lists them. Co-occurrence is learned from one half of these queries, and
//! its weight is chosen there (learned from one part of that half, tried on the other part, so a
//! query never meets its own pairs). Then, on the other half, a session that has called a query's
//! first tool searches the query again for the rest, ranked with and without the signal. And the
//! harm: a session whose last call belongs to another task (the next query's first tool) searches
//! the query for all of its tools. Both folds are reported.

use serde_json::json;
use ucp_index::bench_data::BenchQuery;
use ucp_index::learning::CoOccurrence;
use ucp_index::metrics::{Metrics, Summary};
use ucp_index::{Embedder, Engine, SelectOptions};

/// The weights tried on the learning half; 0.5 is what the gateway uses.
const WEIGHTS: [f32; 10] = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
const GATEWAY_WEIGHT: f32 = 0.5;

struct Case<'a> {
    query: &'a BenchQuery,
    vector: Option<std::sync::Arc<[f32]>>,
}

pub fn replay(
    engine: &Engine,
    embedder: Option<&Embedder>,
    queries: &[BenchQuery],
    options: SelectOptions,
    json_out: bool,
) -> Result<(), String> {
    let ids: Vec<String> = (0..engine.len()).map(|i| i.to_string()).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let cases: Vec<Case> = queries
        .iter()
        .filter(|q| q.relevant.len() >= 2)
        .map(|query| {
            let vector = embedder
                .map(|e| e.embed_query(&query.text).map_err(|e| e.to_string()))
                .transpose()?;
            Ok(Case { query, vector })
        })
        .collect::<Result<_, String>>()?;
    // `unrelated`: the session's last call is the next case's first tool; all tools are sought.
    let rank = |co: &CoOccurrence, half: &[&Case], weight: f32, unrelated: bool| -> Summary {
        let mut summary = Summary::default();
        for (i, case) in half.iter().enumerate() {
            let q = case.query;
            let (called, sought) = if unrelated {
                let other = half[(i + 1) % half.len()].query;
                (other.relevant[0], &q.relevant[..])
            } else {
                (q.relevant[0], &q.relevant[1..])
            };
            if unrelated && q.relevant.contains(&called) {
                continue;
            }
            let first = id_refs[called as usize];
            let extra = co.scores(&[first], &id_refs);
            let hits = engine.search_with(
                &q.text,
                case.vector.as_deref(),
                options,
                (weight > 0.0).then_some((&extra[..], weight)),
            );
            let ranking: Vec<u32> = hits.iter().map(|h| h.doc).collect();
            summary.add(&Metrics::of(&ranking, sought));
        }
        summary
    };
    // NDCG@10 etc. of the tools after the first, for a session that has called the first.
    let measure = |co: &CoOccurrence, half: &[&Case], weight: f32| -> Summary {
        rank(co, half, weight, false)
    };
    let mut rows = Vec::new();
    for (learn, name) in [
        (0, "learn even, measure odd"),
        (1, "learn odd, measure even"),
    ] {
        let all: Vec<&Case> = cases.iter().collect();
        let (learning, measured) = by_parity(&all, learn);
        let learn_from = |cases: &[&Case]| {
            let mut co = CoOccurrence::default();
            for case in cases {
                let names: Vec<&str> = case
                    .query
                    .relevant
                    .iter()
                    .map(|d| id_refs[*d as usize])
                    .collect();
                for n in 0..names.len() {
                    co.record(&names[..n], names[n]);
                }
            }
            co
        };
        let (inner_learn, inner_try) = by_parity(&learning, 0);
        let tuning = learn_from(&inner_learn);
        let co = learn_from(&learning);
        let chosen = WEIGHTS
            .iter()
            .copied()
            .map(|w| (w, measure(&tuning, &inner_try, w).mean().ndcg_10))
            .fold((0.0, f64::MIN), |best, (w, ndcg)| {
                if ndcg > best.1 { (w, ndcg) } else { best }
            })
            .0;
        let without = measure(&co, &measured, 0.0).mean();
        let with = measure(&co, &measured, chosen).mean();
        let gateway = measure(&co, &measured, GATEWAY_WEIGHT).mean();
        let harm_without = rank(&co, &measured, 0.0, true).mean().ndcg_10;
        let harm_with = rank(&co, &measured, chosen, true).mean().ndcg_10;
        let harm_gateway = rank(&co, &measured, GATEWAY_WEIGHT, true).mean().ndcg_10;
        let curve: Vec<(f32, f64)> = WEIGHTS
            .iter()
            .map(|w| (*w, measure(&co, &measured, *w).mean().ndcg_10))
            .collect();
        eprintln!("{name}: held-out NDCG@10 by weight {curve:?}");
        let harm = (harm_without, harm_with, harm_gateway);
        rows.push((name, measured.len(), chosen, without, with, gateway, harm));
    }
    if json_out {
        let out: Vec<_> = rows
            .iter()
            .map(|(name, n, w, without, with, gateway, harm)| {
                json!({"split": name, "queries": n, "weight": w,
                    "unrelated_ndcg@10_without": harm.0, "unrelated_ndcg@10_with": harm.1,
                    "unrelated_ndcg@10_gateway_weight": harm.2,
                    "ndcg@10_without": without.ndcg_10, "ndcg@10_with": with.ndcg_10,
                    "recall@10_without": without.recall_10, "recall@10_with": with.recall_10,
                    "ndcg@10_gateway_weight": gateway.ndcg_10, "recall@10_gateway_weight": gateway.recall_10})
            })
            .collect();
        println!(
            "{}",
            json!({ "cooccurrence_replay": out, "multi_tool_queries": cases.len() })
        );
    } else {
        println!(
            "co-occurrence replay over {} multi-tool queries (the tools after the first, once the first was called):",
            cases.len()
        );
        println!(
            "| split | queries | weight (chosen on the learning half) | NDCG@10 without | with | R@10 without | with | NDCG@10 at the gateway's {GATEWAY_WEIGHT} | R@10 at {GATEWAY_WEIGHT} | unrelated last call: NDCG@10 without | at the chosen weight | at {GATEWAY_WEIGHT} |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (name, n, w, without, with, gateway, harm) in rows {
            println!(
                "| {name} | {n} | {w} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                without.ndcg_10,
                with.ndcg_10,
                without.recall_10,
                with.recall_10,
                gateway.ndcg_10,
                gateway.recall_10,
                harm.0,
                harm.1,
                harm.2
            );
        }
    }
    Ok(())
}

/// The items at positions of parity `parity`, and the others.
fn by_parity<'a, 'q>(
    items: &[&'a Case<'q>],
    parity: usize,
) -> (Vec<&'a Case<'q>>, Vec<&'a Case<'q>>) {
    let (mut chosen, mut rest) = (Vec::new(), Vec::new());
    for (i, item) in items.iter().enumerate() {
        if i % 2 == parity {
            chosen.push(*item);
        } else {
            rest.push(*item);
        }
    }
    (chosen, rest)
}
