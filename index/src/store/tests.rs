//! The RocksDB store, on a real database in a temp dir.

use super::*;

#[test]
fn embeddings_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .put_embeddings(
                "m1",
                &[("hello", &[0.5, -1.0, 2.0]), ("world", &[1.0, 0.0, 0.0])],
            )
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let got = store
        .embeddings("m1", &["world", "missing", "hello"])
        .unwrap();
    assert_eq!(got[0].as_deref(), Some(&[1.0, 0.0, 0.0][..]));
    assert!(got[1].is_none());
    assert_eq!(got[2].as_deref(), Some(&[0.5, -1.0, 2.0][..]));
    // Another model id sees nothing.
    assert!(store.embeddings("m2", &["hello"]).unwrap()[0].is_none());
}

#[test]
fn a_second_opener_gets_an_error_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path())
        .err()
        .expect("the directory is locked");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn ann_graphs_keep_the_most_recently_used_per_model_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    {
        let store = Store::open(dir.path()).unwrap();
        store.put_ann_graph("m1", &a, b"graph a", 2).unwrap();
        store.put_ann_graph("m1", &b, b"graph b", 2).unwrap();
        // Another model's graphs are counted apart.
        store.put_ann_graph("m2", &c, b"graph c", 2).unwrap();
        store.use_ann_graph("m1", &a, 2).unwrap();
        store.put_ann_graph("m1", &c, b"graph c1", 2).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let get = |model: &str, digest: &[u8; 32]| store.ann_graph(model, digest).unwrap();
    assert_eq!(get("m1", &a).as_deref(), Some(&b"graph a"[..]));
    assert_eq!(get("m1", &b), None, "least recently used, evicted");
    assert_eq!(get("m1", &c).as_deref(), Some(&b"graph c1"[..]));
    assert_eq!(get("m2", &c).as_deref(), Some(&b"graph c"[..]));
}
