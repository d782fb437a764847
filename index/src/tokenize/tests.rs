//! The BM25 analyzer: splitting, stop words, stemming.

use super::*;
use proptest::prelude::*;

#[test]
fn stop_list_is_sorted_for_binary_search() {
    assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn plain_is_lowercase_words() {
    let a = Analyzer::plain();
    assert_eq!(
        a.tokens("Get the getUserName, mp3!"),
        ["get", "the", "getusername", "mp3"]
    );
}

#[test]
fn default_splits_case_drops_stop_words_and_stems() {
    let a = Analyzer::default();
    assert_eq!(
        a.tokens("I'm searching the getUserNames"),
        ["search", "get", "user", "nam"]
    );
    assert_eq!(a.tokens("HTTPServer mp3"), ["http", "server", "mp3"]);
    let d = Analyzer {
        split_digits: true,
        ..Analyzer::default()
    };
    assert_eq!(d.tokens("mp3"), ["mp", "3"]);
}

#[test]
fn stemmer_conflates_common_forms() {
    for group in [
        &["search", "searches", "searching", "searched"][..],
        &["image", "images"],
        &["match", "matches", "matching"],
        &["run", "running"],
        &["category", "categories"],
        &["create", "creates", "creating", "created"],
        &["speed", "speeds"],
    ] {
        let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
        assert!(
            stems.windows(2).all(|p| p[0] == p[1]),
            "{group:?} -> {stems:?}"
        );
    }
    assert_eq!(stem("status"), "status");
    assert_eq!(stem("address"), "address");
    assert_eq!(stem("bus"), "bus");
    assert_eq!(stem("mp3s"), "mp3s");
    assert_eq!(stem("café"), "café");
}

proptest! {
    #[test]
    fn tokens_never_panic_and_are_nonempty(s in "\\PC{0,60}") {
        for a in [Analyzer::plain(), Analyzer::default()] {
            for t in a.tokens(&s) {
                prop_assert!(!t.is_empty());
            }
        }
    }

    #[test]
    fn stem_is_idempotent_enough(w in "[a-z]{1,12}") {
        let s = stem(&w);
        prop_assert!(!s.is_empty());
        prop_assert!(s.len() <= w.len() + 1);
    }
}
