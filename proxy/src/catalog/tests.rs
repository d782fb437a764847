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
        &Naming::uniform("__"),
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
    let catalog = Catalog::build(&listings(&[("s", &["a.b", "a_b"])]), &Naming::uniform("__"));
    assert_eq!(catalog.tools.len(), 2);
    assert_eq!(catalog.collisions.len(), 1);
    let c = &catalog.collisions[0];
    assert_eq!(c.wanted, "s__a_b");
    assert_eq!(c.kept.original, "a.b");
    assert_eq!(c.other.original, "a_b");
    let Resolution::Renamed(to) = &c.resolution else {
        panic!("renamed expected: {c}")
    };
    assert_eq!(catalog.route_tool(to).unwrap().original, "a_b");
    assert_eq!(catalog.route_tool("s__a_b").unwrap().original, "a.b");
}

#[test]
fn the_same_listings_always_give_the_same_names() {
    let l = listings(&[("s", &["a.b", "a_b", "a-b"]), ("t", &["x"])]);
    let one: Vec<_> = Catalog::build(&l, &Naming::uniform("__"))
        .tools
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let two: Vec<_> = Catalog::build(&l, &Naming::uniform("__"))
        .tools
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(one, two);
}

#[test]
fn tools_are_found_by_public_name() {
    let catalog = Catalog::build(&listings(&[("s", &["a.b", "a_b"])]), &Naming::uniform("__"));
    for tool in &catalog.tools {
        assert_eq!(catalog.tool(&tool.name).map(|t| &t.name), Some(&tool.name));
    }
    assert!(catalog.tool("a.b").is_none());
}

fn naming(yaml: &str) -> Naming {
    let config = ucp_config::parse(yaml, &|_| None).expect("config").config;
    Naming::from_config(&config)
}

#[test]
fn an_empty_prefix_publishes_the_servers_own_names() {
    let n = naming(
        "downstream_servers:\n  - {name: conf, command: x, prefix: \"\"}\n  - {name: t, command: x}\n",
    );
    let catalog = Catalog::build(
        &listings(&[("conf", &["test_simple_text"]), ("t", &["now"])]),
        &n,
    );
    let names: Vec<_> = catalog.tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["test_simple_text", "t__now"]);
    assert_eq!(
        catalog.route_tool("test_simple_text").unwrap().original,
        "test_simple_text"
    );
}

#[test]
fn a_name_two_servers_publish_stays_with_the_first_in_the_config_and_is_held_back_from_the_other() {
    // `z` comes first in the config although `a` sorts first by name.
    let n = naming(
        "downstream_servers:\n  - {name: z, command: x, prefix: \"\"}\n  - {name: a, command: x, prefix: \"\"}\n",
    );
    let l = listings(&[("a", &["echo", "only_a"]), ("z", &["echo"])]);
    let catalog = Catalog::build(&l, &n);
    assert_eq!(&*catalog.route_tool("echo").unwrap().server, "z");
    assert!(catalog.route_tool("only_a").is_some());
    assert_eq!(catalog.tools.len(), 2, "a's echo is not listed");
    assert_eq!(catalog.tools_per_server[&Arc::<str>::from("a")], 1);
    let c = &catalog.collisions[0];
    assert_eq!((&*c.kept.server, &*c.other.server), ("z", "a"));
    assert_eq!(c.resolution, Resolution::HeldBack);
    let shown = c.to_string();
    assert!(
        shown.contains("z/echo") && shown.contains("a/echo") && shown.contains("held back"),
        "{shown}"
    );
}

#[test]
fn the_config_order_decides_whoever_connected_first() {
    let n = naming(
        "downstream_servers:\n  - {name: first, command: x, prefix: \"\"}\n  - {name: second, command: x, prefix: \"\"}\n",
    );
    // `second` connected first and published `echo` alone.
    let alone = Catalog::build(&listings(&[("first", &[]), ("second", &["echo"])]), &n);
    assert_eq!(&*alone.route_tool("echo").unwrap().server, "second");
    // Once `first` lists `echo` too, the name is `first`'s and `second`'s is held back.
    let both = Catalog::build(
        &listings(&[("first", &["echo"]), ("second", &["echo"])]),
        &n,
    );
    assert_eq!(&*both.route_tool("echo").unwrap().server, "first");
    assert_eq!(both.collisions[0].resolution, Resolution::HeldBack);
    assert_eq!(&*both.collisions[0].other.server, "second");
    // When `first` drops it, `second`'s comes back.
    let freed = Catalog::build(&listings(&[("first", &[]), ("second", &["echo"])]), &n);
    assert_eq!(&*freed.route_tool("echo").unwrap().server, "second");
    assert!(freed.collisions.is_empty());
}

#[test]
fn identical_tools_moving_to_another_server_count_as_a_change() {
    let n = naming(
        "downstream_servers:\n  - {name: first, command: x, prefix: \"\"}\n  - {name: second, command: x, prefix: \"\"}\n",
    );
    let before = Catalog::build(&listings(&[("first", &[]), ("second", &["echo"])]), &n);
    let after = Catalog::build(
        &listings(&[("first", &["echo"]), ("second", &["echo"])]),
        &n,
    );
    assert_eq!(before.tools, after.tools, "the listed tools look the same");
    assert!(!before.same_tools(&after), "but `echo` now leads elsewhere");
}
