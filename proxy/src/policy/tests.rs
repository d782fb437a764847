//! Rules by identity, group and claim; deny wins over allow; the default decides the rest.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use ucp_config::{PolicyConfig, PolicyRule};

use super::*;
use crate::exchange::Principal;

fn user(name: &str, groups: &[&str], claims: serde_json::Value) -> Identity {
    Identity::Verified(Arc::new(Principal {
        name: name.into(),
        groups: groups.iter().map(|g| Arc::from(*g)).collect(),
        claims: claims.as_object().cloned().unwrap_or_default(),
    }))
}

fn rule(allow: &[&str], deny: &[&str]) -> PolicyRule {
    PolicyRule {
        allow: allow.iter().map(|s| s.to_string()).collect(),
        deny: deny.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

#[test]
fn wildcards() {
    assert!(wildcard("github__*", "github__create_issue"));
    assert!(wildcard("*__delete_?", "db__delete_x"));
    assert!(!wildcard("*__delete_?", "db__delete_xy"));
    assert!(wildcard("*", ""));
    assert!(!wildcard("a*b", "acbd"));
    assert!(wildcard("a*b*c", "aXbYbZc"));
}

#[test]
fn deny_wins_then_allow_then_the_default() {
    let policy = ToolPolicy::from_config(&PolicyConfig {
        default_allow: false,
        rules: vec![
            PolicyRule {
                groups: vec!["eng".into()],
                ..rule(&["github__*", "server:time"], &["github__delete_*"])
            },
            PolicyRule {
                identities: vec!["bob".into()],
                ..rule(&["memory__*"], &[])
            },
            PolicyRule {
                claims: BTreeMap::from([("dept".to_string(), "finance".to_string())]),
                ..rule(&["ledger__*"], &[])
            },
            rule(&[], &["*__drop_database"]),
        ],
    })
    .unwrap();
    let alice = policy.grant(&user("alice", &["eng"], json!({})));
    assert!(alice.allows("github__create_issue", "github"));
    assert!(alice.allows("time__now", "time"), "server: pattern");
    assert!(!alice.allows("github__delete_repo", "github"), "deny wins");
    assert!(!alice.allows("memory__read", "memory"), "default deny");
    assert!(
        !alice.allows("github__drop_database", "github"),
        "a rule for everyone"
    );
    let bob = policy.grant(&user("bob", &[], json!({"dept": ["finance", "ops"]})));
    assert!(bob.allows("memory__read", "memory") && bob.allows("ledger__post", "ledger"));
    assert!(!bob.allows("github__create_issue", "github"));
    assert_ne!(alice.key(), bob.key());
    let anonymous = policy.grant(&Identity::Anonymous);
    assert!(!anonymous.allows("github__create_issue", "github"));
    assert_eq!(anonymous.key() as u64, 0b1000);
}

#[test]
fn no_rules_and_default_allow_means_no_policy() {
    assert!(ToolPolicy::from_config(&PolicyConfig::default()).is_none());
}
