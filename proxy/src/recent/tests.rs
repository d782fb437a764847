//! The rings keep the newest entries, newest first, and cut long text at a character boundary.

use super::*;

#[test]
fn a_ring_keeps_the_newest_entries_newest_first() {
    let ring = Ring::new(3);
    assert!(ring.latest().is_empty());
    for i in 0..5 {
        ring.push(i);
    }
    assert_eq!(ring.latest(), [4, 3, 2]);
}

#[test]
fn reloads_are_noted_with_their_outcome() {
    let recent = Recent::default();
    recent.reloaded(Ok("2 servers changed"));
    recent.reloaded(Err("server.port: not a number"));
    let notes = recent.reloads.latest();
    assert_eq!(notes.len(), 2);
    assert!(!notes[0].applied);
    assert_eq!(notes[0].detail, "server.port: not a number");
    assert!(notes[1].applied);
    for _ in 0..KEPT {
        recent.reloaded(Ok("nothing"));
    }
    assert_eq!(recent.reloads.latest().len(), KEPT);
}

#[test]
fn an_exchange_without_an_answered_selection_is_not_noted() {
    let recent = Recent::default();
    let ex = Exchange::new(
        crate::exchange::Transport::Http,
        crate::exchange::Method::Select,
    );
    recent.selected(&ex);
    assert!(recent.selections.latest().is_empty());
}

#[test]
fn text_is_cut_at_a_character_boundary() {
    assert_eq!(cut("short", 10), "short");
    assert_eq!(cut("abcdef", 3), "abc");
    // "é" is two bytes: a cut inside it keeps the character out.
    assert_eq!(cut("aé", 2), "a");
    assert_eq!(cut("ééé", 5), "éé");
}
