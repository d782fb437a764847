//! What the operator page (`/ui`) shows of the recent past: the last selections and the last
//! reloads, each in a small ring bounded in entries and filled with one short lock per entry.
//!
//! A selection is noted where it is answered (`ucp_search_tools`, `POST /v1/select`), a reload by
//! `ops` when a SIGHUP has its outcome. Nothing here is on the path of a proxied call.

use std::collections::VecDeque;
use std::time::SystemTime;

use parking_lot::Mutex;

use crate::exchange::{Exchange, Identity, SelectPurpose, Selection};

/// Entries each ring keeps.
pub const KEPT: usize = 50;
/// Bytes of a query kept (cut at a character boundary); the page shows no more.
pub const QUERY_BYTES: usize = 200;

/// The newest `cap` items pushed; the oldest goes when a new one comes.
pub struct Ring<T> {
    items: Mutex<VecDeque<T>>,
    cap: usize,
}

impl<T: Clone> Ring<T> {
    pub fn new(cap: usize) -> Self {
        Ring {
            items: Mutex::new(VecDeque::with_capacity(cap)),
            cap: cap.max(1),
        }
    }

    pub fn push(&self, item: T) {
        let gone = {
            let mut items = self.items.lock();
            let gone = (items.len() >= self.cap).then(|| items.pop_front());
            items.push_back(item);
            gone
        };
        // Dropped after the lock: the oldest entry may hold the last reference to a selection.
        drop(gone);
    }

    /// Newest first.
    pub fn latest(&self) -> Vec<T> {
        self.items.lock().iter().rev().cloned().collect()
    }
}

/// One answered selection.
#[derive(Clone)]
pub struct SelectionNote {
    pub at: SystemTime,
    pub purpose: SelectPurpose,
    pub identity: Identity,
    /// At most [`QUERY_BYTES`] of it.
    pub query: String,
    /// The answer as the client got it, shared with the request (and the selection cache).
    pub tools: Selection,
    pub cached: bool,
}

/// One SIGHUP's outcome.
#[derive(Clone)]
pub struct ReloadNote {
    pub at: SystemTime,
    pub applied: bool,
    /// What changed, or why nothing did.
    pub detail: String,
}

/// The recent selections and reloads of one gateway process.
pub struct Recent {
    pub selections: Ring<SelectionNote>,
    pub reloads: Ring<ReloadNote>,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            selections: Ring::new(KEPT),
            reloads: Ring::new(KEPT),
        }
    }
}

impl Recent {
    /// Notes the selection `ex` was answered with, if any (a dynamic session's own re-selection
    /// is not a caller's question and is left out).
    pub fn selected(&self, ex: &Exchange) {
        let Some(work) = &ex.select else {
            return;
        };
        let Some(tools) = &work.answer else {
            return;
        };
        if work.purpose == SelectPurpose::DynamicList {
            return;
        }
        self.selections.push(SelectionNote {
            at: SystemTime::now(),
            purpose: work.purpose,
            identity: ex.identity.clone(),
            query: cut(&work.query, QUERY_BYTES).to_string(),
            tools: tools.clone(),
            cached: work.cached,
        });
    }

    /// Notes a reload: `Ok(what changed)` or `Err(why it was not applied)`.
    pub fn reloaded(&self, outcome: Result<&str, &str>) {
        let (applied, detail) = match outcome {
            Ok(changes) => (true, changes),
            Err(why) => (false, why),
        };
        self.reloads.push(ReloadNote {
            at: SystemTime::now(),
            applied,
            detail: cut(detail, 4 * QUERY_BYTES).to_string(),
        });
    }
}

/// `text` cut to at most `limit` bytes, at a character boundary.
pub fn cut(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests;
