//! An LRU cache bounded by entries and by bytes, for caches keyed by client-supplied text (query
//! embeddings, selections): a client that sends many long queries evicts old entries instead of
//! growing the process.

use std::hash::Hash;

use lru::LruCache;

/// LRU map whose entries carry a size; inserting evicts the least recently used entries until
/// both the entry count and the byte total are within their limits.
pub struct BoundedLru<K: Hash + Eq, V> {
    entries: LruCache<K, (V, usize)>,
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
}

impl<K: Hash + Eq, V> BoundedLru<K, V> {
    /// `max_entries` or `max_bytes` of 0 makes a cache that keeps nothing.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        BoundedLru {
            entries: LruCache::unbounded(),
            max_entries,
            max_bytes,
            bytes: 0,
        }
    }

    /// The value for `key`, marking it most recently used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|(v, _)| v)
    }

    /// Inserts `value`, accounted as `size` bytes (the caller counts key and value). An entry
    /// larger than the whole budget is not kept.
    pub fn put(&mut self, key: K, value: V, size: usize) {
        if let Some((_, old)) = self.entries.pop(&key) {
            self.bytes -= old;
        }
        if size > self.max_bytes || self.max_entries == 0 {
            return;
        }
        self.entries.put(key, (value, size));
        self.bytes += size;
        self.evict();
    }

    /// New limits (a reload): evicts the least recently used entries beyond them.
    pub fn resize(&mut self, max_entries: usize, max_bytes: usize) {
        self.max_entries = max_entries;
        self.max_bytes = max_bytes;
        self.evict();
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    fn evict(&mut self) {
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            match self.entries.pop_lru() {
                Some((_, (_, size))) => self.bytes -= size,
                None => break,
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some((_, size)) = self.entries.pop(key) {
            self.bytes -= size;
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes accounted to the entries held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests;
