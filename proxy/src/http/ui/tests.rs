//! The operator page's pieces without a server: escaping, times, query strings and the catalog
//! search.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rmcp::model::{JsonObject, Tool};

use super::html::{Esc, utc};
use super::*;
use crate::catalog::ServerListing;
use crate::exchange::{Method, Transport};
use crate::names::Naming;

#[test]
fn markup_in_values_is_escaped() {
    assert_eq!(
        Esc("<script>alert('x') & \"y\"</script>").to_string(),
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
    );
    assert_eq!(Esc("plain é text").to_string(), "plain é text");
    assert_eq!(Esc("").to_string(), "");
}

#[test]
fn times_are_shown_in_utc() {
    assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00Z");
    // 2024-02-29 13:14:15 UTC, a leap day.
    let at = UNIX_EPOCH + Duration::from_secs(1_709_212_455);
    assert_eq!(utc(at), "2024-02-29 13:14:15Z");
    let at = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
    assert_eq!(utc(at), "2099-12-31 23:59:59Z");
}

#[test]
fn query_strings_are_decoded() {
    assert_eq!(Params::parse(None), Params::default());
    let params = Params::parse(Some("q=add+two%20numbers%26more&k=3&other=1"));
    assert_eq!(params.q, "add two numbers&more");
    assert_eq!(params.k, Some(3));
    assert_eq!(Params::parse(Some("q=++x++&k=many")).q, "x");
    assert_eq!(Params::parse(Some("k=many")).k, None);
}

#[test]
fn only_ui_paths_are_the_page() {
    assert!(is_ui_path("/ui"));
    assert!(is_ui_path("/ui/catalog"));
    assert!(!is_ui_path("/uix"));
    assert!(!is_ui_path("/v1/ui"));
}

fn sample_catalog() -> Catalog {
    let tool = |name: &str, description: &str| {
        Tool::new(
            name.to_string(),
            description.to_string(),
            Arc::new(JsonObject::new()),
        )
    };
    let mut listings = BTreeMap::new();
    for (server, tools) in [
        (
            "time",
            vec![
                tool("get_current_time", "Get the current time in a timezone"),
                tool("convert_time", "Convert time between timezones"),
            ],
        ),
        (
            "everything",
            vec![tool("get-sum", "Returns the sum of two <numbers>")],
        ),
    ] {
        let listing = ServerListing {
            tools,
            ..Default::default()
        };
        listings.insert(Arc::<str>::from(server), Arc::new(listing));
    }
    Catalog::build(&listings, &Naming::uniform("__"))
}

#[test]
fn the_catalog_search_keeps_tools_holding_every_term() {
    let catalog = sample_catalog();
    let ex = Exchange::new(Transport::Http, Method::Ui);
    let all = super::catalog(&catalog, &ex, "");
    assert!(all.contains("3 of 3 tools"), "{all}");
    let time = super::catalog(&catalog, &ex, "TIMEZONE convert");
    assert!(time.contains("1 of 3 tools"), "{time}");
    assert!(time.contains("time__convert_time"), "{time}");
    assert!(!time.contains("time__get_current_time"), "{time}");
    // The server's name counts, and descriptions are escaped.
    let everything = super::catalog(&catalog, &ex, "everything");
    assert!(everything.contains("everything__get-sum"), "{everything}");
    assert!(everything.contains("&lt;numbers&gt;"), "{everything}");
    let none = super::catalog(&catalog, &ex, "\"><b>nothing");
    assert!(none.contains("0 of 3 tools"), "{none}");
    assert!(
        none.contains("value=\"&quot;&gt;&lt;b&gt;nothing\""),
        "{none}"
    );
    assert!(!none.contains("<b>nothing"), "{none}");
}
