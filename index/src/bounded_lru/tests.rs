//! The byte and entry bounds of `BoundedLru`, including under arbitrary insert sequences.

use proptest::prelude::*;

use super::BoundedLru;

#[test]
fn evicts_the_least_recently_used_when_the_byte_budget_is_exceeded() {
    let mut lru = BoundedLru::new(100, 10);
    lru.put("a", 1, 4);
    lru.put("b", 2, 4);
    assert_eq!(lru.get("a"), Some(&1)); // a is now the most recent
    lru.put("c", 3, 4); // 12 bytes > 10: b goes
    assert_eq!(lru.get("b"), None);
    assert_eq!(lru.get("a"), Some(&1));
    assert_eq!(lru.get("c"), Some(&3));
    assert_eq!(lru.bytes(), 8);
}

#[test]
fn an_entry_larger_than_the_budget_is_not_kept_and_replacing_recounts() {
    let mut lru = BoundedLru::new(100, 10);
    lru.put("big", 1, 11);
    assert!(lru.is_empty());
    lru.put("k", 1, 6);
    lru.put("k", 2, 3);
    assert_eq!((lru.len(), lru.bytes()), (1, 3));
    lru.remove("k");
    assert_eq!((lru.len(), lru.bytes()), (0, 0));
}

proptest! {
    #[test]
    fn never_exceeds_either_bound(ops in proptest::collection::vec((0u8..20, 0usize..40), 0..200)) {
        let mut lru = BoundedLru::new(8, 64);
        for (key, size) in ops {
            lru.put(key, (), size);
            prop_assert!(lru.len() <= 8);
            prop_assert!(lru.bytes() <= 64);
        }
    }
}
