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
