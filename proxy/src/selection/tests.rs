//! Keyword-only selection over a small catalog, and the selection cache's keys and TTL.

use std::collections::BTreeMap;
use std::time::Duration;

use rmcp::model::Tool;

use super::*;
use crate::catalog::ServerListing;

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
    Catalog::build(&listings, "__")
}

fn options() -> SelectOptions {
    SelectOptions {
        mode: Mode::Keyword,
        k: 2,
        similarity_threshold: -1.0,
        per_server_cap: None,
    }
}

fn selector(ttl: Duration) -> Selector {
    let cache = CacheConfig {
        enabled: true,
        max_size: 8,
        ttl,
    };
    Selector::new(None, None, BTreeMap::new(), &cache, false, false)
}

#[test]
fn keyword_selection_finds_the_tool_and_the_cache_answers_the_repeat() {
    let catalog = catalog();
    let selector = selector(Duration::from_secs(60));
    let index = selector.build(&catalog).unwrap();
    assert!(
        selector
            .cached(&index, "send an email", &options(), &[])
            .is_none()
    );
    let first = selector.select(&index, &catalog, "send an email", options(), &[]);
    assert_eq!(first[0].name, "mail__send_email");
    let again = selector
        .cached(&index, "send an email", &options(), &[])
        .expect("cached");
    assert!(Arc::ptr_eq(&first, &again));
    let counts = selector.cache_counts();
    assert_eq!((counts.selection_hits, counts.selection_misses), (1, 1));
    // Another k, or a new index generation, is another entry.
    let mut other = options();
    other.k = 1;
    assert!(
        selector
            .cached(&index, "send an email", &other, &[])
            .is_none()
    );
    let rebuilt = selector.build(&catalog).unwrap();
    assert!(rebuilt.generation > index.generation);
    assert!(
        selector
            .cached(&rebuilt, "send an email", &options(), &[])
            .is_none()
    );
}

#[test]
fn expired_entries_are_not_served() {
    let catalog = catalog();
    let selector = selector(Duration::from_millis(1));
    let index = selector.build(&catalog).unwrap();
    selector.select(&index, &catalog, "timezone", options(), &[]);
    std::thread::sleep(Duration::from_millis(5));
    assert!(
        selector
            .cached(&index, "timezone", &options(), &[])
            .is_none()
    );
}
