//! The embedded session store: a RocksDB database of its own under `session.persist_dir` (not the
//! tool store), so sessions survive a restart and a `kill -9`.
//!
//! Column families: `meta` (session id -> [`SessionMeta`] as JSON), `seen` (id -> last seen, u64
//! milliseconds big-endian), `events` (id 0x00 sequence -> [`SessionEvent`] as JSON; the sequence
//! is a process-wide clock in microseconds that never repeats, so keys sort by time within a
//! session). Every write goes through the write-ahead log before it returns, so a write that was
//! acknowledged survives the process being killed; RocksDB replays the log when it opens.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch};

use super::record::{SessionEvent, SessionMeta, SessionRecord};

const CF_META: &str = "meta";
const CF_SEEN: &str = "seen";
const CF_EVENTS: &str = "events";
pub const FAMILIES: [&str; 3] = [CF_META, CF_SEEN, CF_EVENTS];
const WRITE_BUFFER_BYTES: usize = 4 << 20;

pub struct RocksSessions {
    db: DB,
    /// The last event sequence handed out (microseconds since the epoch, bumped on ties).
    sequence: AtomicU64,
}

type Result<T> = std::result::Result<T, rocksdb::Error>;

impl RocksSessions {
    /// Opens (creating if needed) the session database in `path`.
    pub fn open(path: &Path) -> Result<RocksSessions> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Small write buffers: session records are small and the process's memory matters more
        // than write batching (the default would let each family hold 2 x 64 MiB).
        let families = FAMILIES.into_iter().map(|name| {
            let mut family = Options::default();
            family.set_write_buffer_size(WRITE_BUFFER_BYTES);
            family.set_max_write_buffer_number(2);
            ColumnFamilyDescriptor::new(name, family)
        });
        let db = DB::open_cf_descriptors(&options, path, families)?;
        Ok(RocksSessions {
            db,
            sequence: AtomicU64::new(0),
        })
    }

    pub fn db(&self) -> &DB {
        &self.db
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created at open")
    }

    /// A new session: its meta, seen now.
    pub fn open_session(&self, id: &str, meta: &SessionMeta, now_ms: u64) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), id, encode(meta));
        batch.put_cf(self.cf(CF_SEEN), id, now_ms.to_be_bytes());
        self.db.write(batch)
    }

    /// The session's meta and when it was last seen.
    pub fn meta(&self, id: &str) -> Result<Option<(SessionMeta, u64)>> {
        let Some(meta) = self.db.get_pinned_cf(self.cf(CF_META), id)? else {
            return Ok(None);
        };
        let Ok(meta) = serde_json::from_slice::<SessionMeta>(&meta) else {
            tracing::warn!(session = id, "unreadable session record: ignored");
            return Ok(None);
        };
        let seen = self
            .db
            .get_pinned_cf(self.cf(CF_SEEN), id)?
            .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
            .map_or(meta.created_ms, u64::from_be_bytes);
        Ok(Some((meta, seen)))
    }

    /// The whole record with its last `max_history` events, oldest first.
    pub fn load(&self, id: &str, max_history: usize) -> Result<Option<SessionRecord>> {
        let Some((meta, last_seen_ms)) = self.meta(id)? else {
            return Ok(None);
        };
        let mut events = Vec::new();
        let end = event_key(id, u64::MAX);
        let prefix = event_prefix(id);
        for item in self.db.iterator_cf(
            self.cf(CF_EVENTS),
            IteratorMode::From(&end, Direction::Reverse),
        ) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) || events.len() >= max_history {
                break;
            }
            if let Ok(event) = serde_json::from_slice::<SessionEvent>(&value) {
                events.push(event);
            }
        }
        events.reverse();
        Ok(Some(SessionRecord {
            id: id.to_string(),
            meta,
            last_seen_ms,
            events,
        }))
    }

    /// Appends `event` and marks the session seen, in one atomic write.
    pub fn append(&self, id: &str, event: &SessionEvent, now_ms: u64) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_EVENTS),
            event_key(id, self.next_sequence(now_ms)),
            encode(event),
        );
        batch.put_cf(self.cf(CF_SEEN), id, now_ms.to_be_bytes());
        self.db.write(batch)
    }

    /// Marks the session seen.
    pub fn touch(&self, id: &str, now_ms: u64) -> Result<()> {
        self.db.put_cf(self.cf(CF_SEEN), id, now_ms.to_be_bytes())
    }

    /// Deletes all but the last `keep` events of the session.
    pub fn trim(&self, id: &str, keep: usize) -> Result<()> {
        let end = event_key(id, u64::MAX);
        let prefix = event_prefix(id);
        let mut seen = 0;
        for item in self.db.iterator_cf(
            self.cf(CF_EVENTS),
            IteratorMode::From(&end, Direction::Reverse),
        ) {
            let (key, _) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            seen += 1;
            if seen > keep {
                // Everything from the session's first event up to this one (inclusive).
                let mut upto = key.to_vec();
                upto.push(0);
                return self
                    .db
                    .delete_range_cf(self.cf(CF_EVENTS), event_key(id, 0), upto);
            }
        }
        Ok(())
    }

    /// Deletes the session and its events.
    pub fn delete(&self, id: &str) -> Result<()> {
        let mut batch = WriteBatch::default();
        self.delete_into(&mut batch, id);
        self.db.write(batch)
    }

    fn delete_into(&self, batch: &mut WriteBatch, id: &str) {
        batch.delete_cf(self.cf(CF_META), id);
        batch.delete_cf(self.cf(CF_SEEN), id);
        batch.delete_range_cf(
            self.cf(CF_EVENTS),
            event_key(id, 0),
            event_key(id, u64::MAX),
        );
        batch.delete_cf(self.cf(CF_EVENTS), event_key(id, u64::MAX));
    }

    /// Deletes every session not seen since `cutoff_ms`, then compacts what they occupied away;
    /// returns how many went.
    pub fn sweep(&self, cutoff_ms: u64) -> Result<usize> {
        let mut expired = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_SEEN), IteratorMode::Start) {
            let (key, value) = item?;
            let seen = <[u8; 8]>::try_from(&value[..]).map_or(0, u64::from_be_bytes);
            if seen < cutoff_ms {
                expired.push(String::from_utf8_lossy(&key).into_owned());
            }
        }
        // A meta without a seen entry (never written that way, but a damaged store could have
        // one) is swept too.
        for item in self.db.iterator_cf(self.cf(CF_META), IteratorMode::Start) {
            let (key, _) = item?;
            if self.db.get_pinned_cf(self.cf(CF_SEEN), &key)?.is_none() {
                expired.push(String::from_utf8_lossy(&key).into_owned());
            }
        }
        if expired.is_empty() {
            return Ok(0);
        }
        let mut batch = WriteBatch::default();
        for id in &expired {
            self.delete_into(&mut batch, id);
        }
        self.db.write(batch)?;
        for family in FAMILIES {
            self.db
                .compact_range_cf(self.cf(family), None::<&[u8]>, None::<&[u8]>);
        }
        Ok(expired.len())
    }

    /// How many sessions are stored (expired ones not yet swept included).
    pub fn count(&self) -> Result<usize> {
        let mut n = 0;
        for item in self.db.iterator_cf(self.cf(CF_META), IteratorMode::Start) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// A sequence above every one handed out before, near `now_ms` in microseconds.
    fn next_sequence(&self, now_ms: u64) -> u64 {
        let clock = now_micros().max(now_ms.saturating_mul(1000));
        let mut last = self.sequence.load(Ordering::Relaxed);
        loop {
            let next = clock.max(last + 1);
            match self.sequence.compare_exchange_weak(
                last,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }
}

fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("session records serialize")
}

fn event_prefix(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 1);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

fn event_key(id: &str, sequence: u64) -> Vec<u8> {
    let mut key = event_prefix(id);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}
