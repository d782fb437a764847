//! Keyword-only selection over a small catalog through the real stages: the selection stage
//! answers, the cache stage answers the repeat, every option is part of the cache key, and
//! over-long queries are refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{JsonObject, Tool};
use ucp_proxy::{
    Catalog, Exchange, Method, Pipeline, ProxyError, SelectPurpose, SelectWork, ServerListing,
    Transport,
};

use crate::{FilterStage, Shared, build, build_index};

fn catalog() -> Catalog {
    let tool = |name: &str, description: &str| {
        Tool::new(
            name.to_string(),
            description.to_string(),
            Arc::new(JsonObject::new()),
        )
    };
    let mut listings = BTreeMap::new();
    listings.insert(
        Arc::<str>::from("time"),
        Arc::new(ServerListing {
            tools: vec![
                tool("get_current_time", "Current time in a timezone"),
                tool("convert_time", "Convert a time between timezones"),
            ],
            ..Default::default()
        }),
    );
    listings.insert(
        Arc::<str>::from("mail"),
        Arc::new(ServerListing {
            tools: vec![tool("send_email", "Send an email message")],
            ..Default::default()
        }),
    );
    Catalog::build(&listings, &ucp_proxy::Naming::uniform("__"))
}

fn config(ttl: &str) -> ucp_config::Config {
    let yaml = format!(
        "router:\n  mode: keyword\n  cache: {{ttl: {ttl}}}\ntool_zoo:\n  similarity_threshold: -1\n  max_query_bytes: 64\n"
    );
    ucp_config::parse(&yaml, &|_| None).unwrap().config
}

fn shared() -> Shared {
    Shared::new(None, None, 8, 1 << 20, prometheus::Registry::new()).unwrap()
}

struct Fixture {
    shared: Shared,
    pipeline: Pipeline<FilterStage>,
    catalog: Arc<Catalog>,
    index: Arc<ucp_index::ToolIndex>,
}

fn fixture(ttl: &str) -> Fixture {
    let shared = shared();
    let pipeline = build(&config(ttl), &shared).unwrap();
    let catalog = Arc::new(catalog());
    let index =
        Arc::new(build_index(&shared, &catalog, 1, &BTreeMap::new(), &mut |_, _| {}).unwrap());
    Fixture {
        shared,
        pipeline,
        catalog,
        index,
    }
}

impl Fixture {
    async fn select(&self, query: &str, k: usize) -> Result<(Vec<String>, bool), ProxyError> {
        let mut ex = Exchange::new(Transport::Http, Method::Select);
        ex.catalog = Some(self.catalog.clone());
        ex.select = Some(SelectWork {
            purpose: SelectPurpose::Select,
            query: query.to_string(),
            k: Some(k),
            recent: Vec::new(),
            index: self.index.clone(),
            answer: None,
            cached: false,
            query_duration: None,
        });
        let routed = self.pipeline.route(&mut ex).await;
        ex.answered(ucp_proxy::Outcome::Ok);
        self.pipeline.finish(&mut ex).await;
        routed?;
        let work = ex.select.unwrap();
        let names = work
            .answer
            .unwrap()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        Ok((names, work.cached))
    }
}

#[tokio::test]
async fn keyword_selection_finds_the_tool_and_the_cache_answers_the_repeat() {
    let f = fixture("60");
    let (first, cached) = f.select("send an email", 2).await.unwrap();
    assert_eq!((first[0].as_str(), cached), ("mail__send_email", false));
    let (again, cached) = f.select("send an email", 2).await.unwrap();
    assert_eq!((again, cached), (first, true));
    assert_eq!(f.shared.cache.counts(), (1, 1));
    // Another k is another entry.
    let (_, cached) = f.select("send an email", 1).await.unwrap();
    assert!(!cached);
}

#[tokio::test]
async fn a_new_index_generation_misses_and_expired_entries_are_not_served() {
    let mut f = fixture("0.001");
    f.select("timezone", 2).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(!f.select("timezone", 2).await.unwrap().1, "expired");
    let f2 = fixture("60");
    f2.select("timezone", 2).await.unwrap();
    let rebuilt =
        build_index(&f2.shared, &f2.catalog, 2, &BTreeMap::new(), &mut |_, _| {}).unwrap();
    assert!(rebuilt.generation > f2.index.generation);
    f.index = Arc::new(rebuilt);
    f.pipeline = build(&config("60"), &f2.shared).unwrap();
    f.shared = f2.shared;
    assert!(!f.select("timezone", 2).await.unwrap().1, "new generation");
}

#[tokio::test]
async fn a_query_over_the_limit_is_a_clear_error_and_caches_nothing() {
    let f = fixture("60");
    let long = "time ".repeat(20);
    let error = f.select(&long, 2).await.unwrap_err();
    assert!(
        matches!(
            error,
            ProxyError::QueryTooLong {
                len: 100,
                limit: 64
            }
        ),
        "{error}"
    );
    assert_eq!(error.code(), -32602);
    assert_eq!(f.shared.cache.size().0, 0);
}

#[test]
fn the_cache_is_bounded_by_bytes() {
    let shared = Shared::new(None, None, 1000, 8 * 1024, prometheus::Registry::new()).unwrap();
    let answer: ucp_proxy::Selection = Arc::new(Vec::new());
    for i in 0..100 {
        let key = crate::CacheKey {
            generation: 1,
            mode: ucp_index::Mode::Keyword,
            k: 5,
            threshold: 0,
            per_server_cap: None,
            query: format!("{i} {}", "x".repeat(1000)),
            recent: Vec::new(),
            grant: 0,
        };
        shared.cache.put(key, answer.clone());
    }
    let (entries, bytes) = shared.cache.size();
    assert!(
        bytes <= 8 * 1024 && entries < 10,
        "{entries} entries, {bytes} bytes"
    );
}
