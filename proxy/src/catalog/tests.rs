//! Catalog building: naming, routing and collision reports.

use super::*;
use rmcp::model::JsonObject;

fn tool(name: &str) -> Tool {
    Tool::new(name.to_string(), "d", Arc::new(JsonObject::new()))
}

fn listings(entries: &[(&str, &[&str])]) -> BTreeMap<Arc<str>, Arc<ServerListing>> {
    entries
        .iter()
        .map(|(server, tools)| {
            let listing = ServerListing {
                tools: tools.iter().map(|t| tool(t)).collect(),
                ..Default::default()
            };
            (Arc::<str>::from(*server), Arc::new(listing))
        })
        .collect()
}

#[test]
fn tools_are_namespaced_and_routed_to_their_original_name() {
    let catalog = Catalog::build(
        &listings(&[("time", &["get_current_time"]), ("e", &["echo"])]),
        "__",
    );
    let names: Vec<_> = catalog.tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["e__echo", "time__get_current_time"]);
    let route = catalog.route_tool("time__get_current_time").unwrap();
    assert_eq!(&*route.server, "time");
    assert_eq!(route.original, "get_current_time");
    assert!(catalog.route_tool("get_current_time").is_none());
}

#[test]
fn sanitizing_collisions_are_reported_and_both_tools_stay_callable() {
    let catalog = Catalog::build(&listings(&[("s", &["a.b", "a_b"])]), "__");
    assert_eq!(catalog.tools.len(), 2);
    assert_eq!(catalog.collisions.len(), 1);
    let c = &catalog.collisions[0];
    assert_eq!(c.wanted, "s__a_b");
    assert_eq!(c.kept.original, "a.b");
    assert_eq!(c.renamed.original, "a_b");
    assert_eq!(catalog.route_tool(&c.renamed_to).unwrap().original, "a_b");
    assert_eq!(catalog.route_tool("s__a_b").unwrap().original, "a.b");
}

#[test]
fn the_same_listings_always_give_the_same_names() {
    let l = listings(&[("s", &["a.b", "a_b", "a-b"]), ("t", &["x"])]);
    let one: Vec<_> = Catalog::build(&l, "__")
        .tools
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let two: Vec<_> = Catalog::build(&l, "__")
        .tools
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(one, two);
}

#[test]
fn tools_are_found_by_public_name() {
    let catalog = Catalog::build(&listings(&[("s", &["a.b", "a_b"])]), "__");
    for tool in &catalog.tools {
        assert_eq!(catalog.tool(&tool.name).map(|t| &t.name), Some(&tool.name));
    }
    assert!(catalog.tool("a.b").is_none());
}
