//! BM25F scoring: field weights, ordering, agreement of search and score_all.

use super::*;
use crate::tokenize::Analyzer;
use proptest::prelude::*;
use serde_json::json;

fn doc(server: &str, name: &str, desc: &str) -> ToolDoc {
    ToolDoc::from_input_schema(
        format!("{server}/{name}"),
        server,
        name,
        desc,
        &json!({}),
        vec![],
    )
}

fn docs() -> Vec<ToolDoc> {
    vec![
        doc(
            "weather",
            "getForecast",
            "Daily weather forecast for a city",
        ),
        doc("mail", "send_email", "Send an email message"),
        doc(
            "github",
            "listPullRequests",
            "List open pull requests of a repository",
        ),
    ]
}

#[test]
fn finds_by_name_parts_and_stems() {
    let idx = Bm25Index::build(&docs(), Bm25Params::default());
    assert_eq!(idx.len(), 3);
    assert_eq!(idx.search("send emails", 3)[0].0, 1);
    assert_eq!(idx.search("forecasts for Paris", 3)[0].0, 0);
    assert_eq!(idx.search("pull request", 1)[0].0, 2);
    assert!(idx.search("zzz unknown", 3).is_empty());
    assert!(idx.search("", 3).is_empty());
}

#[test]
fn matches_the_bm25_formula_on_one_field() {
    // description only, plain analyzer: doc 0 = "apple apple pie" (len 3), doc 1 = "pie" (len 1)
    let off = FieldParams {
        weight: 0.0,
        b: 0.75,
    };
    let p = Bm25Params {
        server: off,
        name: off,
        params: off,
        tags: off,
        analyzer: Analyzer::plain(),
        ..Bm25Params::default()
    };
    let d = vec![doc("", "", "apple apple pie"), doc("", "", "pie")];
    let idx = Bm25Index::build(&d, p);
    let (k1, b, avg) = (1.2f32, 0.75f32, 2.0f32);
    let idf = |df: f32| (1.0 + (2.0 - df + 0.5) / (df + 0.5)).ln();
    let part = |tf: f32, len: f32| {
        let t = tf / (1.0 - b + b * len / avg);
        t * (k1 + 1.0) / (k1 + t)
    };
    let s = idx.score_all("apple pie");
    assert!((s[0] - (idf(1.0) * part(2.0, 3.0) + idf(2.0) * part(1.0, 3.0))).abs() < 1e-5);
    assert!((s[1] - idf(2.0) * part(1.0, 1.0)).abs() < 1e-5);
    // a repeated query term counts once by default
    assert_eq!(idx.score_all("apple apple pie"), s);
}

#[test]
fn name_boost_outranks_description() {
    let d = vec![
        doc("s", "email", "unrelated text here"),
        doc("s", "other", "email unrelated text"),
    ];
    let idx = Bm25Index::build(&d, Bm25Params::default());
    assert_eq!(idx.search("email", 2)[0].0, 0);
}

#[test]
fn params_and_tags_are_indexed() {
    let mut d = docs();
    d[2].tags = vec!["devtools".into()];
    d[0].params = vec![("cityName".into(), "".into())];
    let idx = Bm25Index::build(&d, Bm25Params::default());
    assert_eq!(idx.search("devtools", 3)[0].0, 2);
    assert_eq!(idx.search("city name", 3)[0].0, 0);
}

#[test]
fn zero_weight_field_is_ignored() {
    let mut p = Bm25Params::default();
    p.description.weight = 0.0;
    let idx = Bm25Index::build(&docs(), p);
    assert!(idx.search("repository", 3).is_empty());
}

#[test]
fn empty_index() {
    let idx = Bm25Index::build(&[], Bm25Params::default());
    assert!(idx.is_empty());
    assert!(idx.search("x", 5).is_empty());
    assert!(idx.score_all("x").is_empty());
}

#[test]
fn top_k_orders_and_breaks_ties_by_index() {
    let v = vec![(0, 1.0), (1, 3.0), (2, 3.0), (3, f32::NAN), (4, 2.0)];
    assert_eq!(
        top_k(v.clone().into_iter(), 3),
        vec![(1, 3.0), (2, 3.0), (4, 2.0)]
    );
    assert!(top_k(v.clone().into_iter(), 0).is_empty());
    assert_eq!(top_k(v.into_iter(), 10).len(), 5);
}

proptest! {
    #[test]
    fn search_is_sorted_and_agrees_with_score_all(q in "\\PC{0,30}", k in 0usize..5) {
        let idx = Bm25Index::build(&docs(), Bm25Params::default());
        let all = idx.score_all(&q);
        let hits = idx.search(&q, k);
        prop_assert!(hits.len() <= k);
        prop_assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
        for (d, s) in hits {
            prop_assert_eq!(all[d as usize], s);
            prop_assert!(s > 0.0);
        }
    }
}
