//! Unit and property tests for public name construction.

use super::*;
use proptest::prelude::*;

#[test]
fn short_names_are_joined_and_sanitized() {
    assert_eq!(
        namespaced("time", "get_current_time", "__"),
        "time__get_current_time"
    );
    assert_eq!(namespaced("gh", "repo.list/all", "__"), "gh__repo_list_all");
}

#[test]
fn long_names_are_shortened_with_a_stable_hash() {
    let long = "x".repeat(100);
    let a = namespaced("srv", &long, "__");
    assert_eq!(a.len(), MAX_NAME_LEN);
    assert_eq!(a, namespaced("srv", &long, "__"));
    let b = namespaced("srv", &format!("{long}y"), "__");
    assert_ne!(a, b, "names sharing a long prefix must still differ");
}

#[test]
fn disambiguated_names_differ_from_the_plain_one() {
    let plain = namespaced("a", "b.c", "__");
    let other = disambiguated("a__", "a", "b_c", 1);
    assert_ne!(plain, other);
    assert!(other.starts_with("a__b_c_"));
}

proptest! {
    #[test]
    fn public_names_are_valid(server in "[a-z0-9_-]{1,32}", name in "\\PC{0,200}", sep in "(__|_|-)") {
        let n = namespaced(&server, &name, &sep);
        prop_assert!(n.len() <= MAX_NAME_LEN);
        prop_assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        prop_assert_eq!(n.clone(), namespaced(&server, &name, &sep));
        let d = disambiguated(&format!("{server}{sep}"), &server, &name, 3);
        prop_assert!(d.len() <= MAX_NAME_LEN);
    }
}

#[test]
fn an_empty_prefix_publishes_the_servers_own_name() {
    assert_eq!(
        public_name("", "srv", "test_simple_text"),
        "test_simple_text"
    );
    assert_eq!(public_name("team_", "srv", "a.b"), "team_a_b");
    let long = "n".repeat(80);
    let short = public_name("", "srv", &long);
    assert_eq!(short.len(), MAX_NAME_LEN);
    assert_ne!(
        short,
        public_name("", "other", &long),
        "the hash covers the server"
    );
}
