//! Learned usage shared through Redis (`session.backend: redis`): instances behind one load
//! balancer learn together, so a call learned on one improves search on every other.
//!
//! Redis keeps the totals: `ucp:usage` (tool -> the record `Learned::export` writes: calls,
//! ignored, the sum of query embeddings) and `ucp:usage:cooc` ("a" 0x00 "b" -> count). Each
//! instance sends what it learns as a delta, added atomically by a Lua script, which bumps
//! `ucp:usage:version` and files the changed key in `ucp:usage:changed` (a sorted set by version).
//! Every second each instance reads what changed since the version it last saw and takes the
//! totals over (its own deltas included) and empties its selection cache, so what one instance
//! learns ranks on every other within about a second. Sums are added in f32 steps as `Learned`
//! does, so a total is what one instance would have learned from all the calls.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use ucp_filters::{SelectionCache, Usage, UsageShare};
use ucp_proxy::session::RedisTarget;

const USAGE: &str = "ucp:usage";
const COOC: &str = "ucp:usage:cooc";
const CHANGED: &str = "ucp:usage:changed";
const VERSION: &str = "ucp:usage:version";

/// Adds one call (ARGV[2] = "call", ARGV[3] = the query vector, f32 little-endian) or one ignored
/// result (ARGV[2] = "ignored") to a tool's record, in the layout of `Learned::export`.
const ADD_LEARNED: &str = r#"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local calls, ignored, sum = 0, 0, {}
if cur and #cur >= 8 then
  calls = struct.unpack('<I4', cur, 1)
  ignored = struct.unpack('<I4', cur, 5)
  for i = 1, (#cur - 8) / 4 do sum[i] = struct.unpack('<f', cur, 9 + (i - 1) * 4) end
end
if ARGV[2] == 'call' then
  local add = ARGV[3]
  local n = #add / 4
  if #sum ~= n then sum = {} for i = 1, n do sum[i] = 0 end end
  for i = 1, n do
    sum[i] = struct.unpack('<f', struct.pack('<f', sum[i] + struct.unpack('<f', add, 1 + (i - 1) * 4)))
  end
  calls = calls + 1
else
  ignored = ignored + 1
end
local parts = { struct.pack('<I4I4', calls, ignored) }
for i = 1, #sum do parts[#parts + 1] = struct.pack('<f', sum[i]) end
redis.call('HSET', KEYS[1], ARGV[1], table.concat(parts))
local v = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], v, 't' .. ARGV[1])
return v
"#;

/// Adds one to each pair in ARGV ("a" 0x00 "b").
const ADD_COOC: &str = r#"
local v = redis.call('INCR', KEYS[3])
for i = 1, #ARGV do
  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
  redis.call('ZADD', KEYS[2], v, 'c' .. ARGV[i])
end
return v
"#;

pub struct RedisUsage {
    conn: ConnectionManager,
    runtime: tokio::runtime::Handle,
}

impl RedisUsage {
    /// Shares `usage` through Redis at `target`, and starts merging what the others learn.
    pub fn start(
        target: &RedisTarget,
        usage: Arc<Usage>,
        cache: Arc<SelectionCache>,
    ) -> Result<(), String> {
        let conn = target
            .connection()
            .map_err(|e| format!("session.redis: {e}"))?;
        let share = Arc::new(RedisUsage {
            conn: conn.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        usage.share_with(share);
        tokio::spawn(merge_forever(conn, usage, cache));
        Ok(())
    }

    /// `EVAL script` with the three keys it touches and `args`, sent from a task of its own (the
    /// caller is a blocking learning thread). Redis caches the compiled script.
    fn send(&self, what: &'static str, script: &'static str, first: &str, args: Vec<Vec<u8>>) {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(3).arg(first).arg(CHANGED).arg(VERSION);
        for arg in args {
            cmd.arg(arg);
        }
        let mut conn = self.conn.clone();
        self.runtime.spawn(async move {
            let sent: redis::RedisResult<u64> = cmd.query_async(&mut conn).await;
            if let Err(error) = sent {
                tracing::warn!(%error, what, "learned usage not shared (Redis)");
            }
        });
    }
}

impl UsageShare for RedisUsage {
    fn learned_call(&self, tool: &str, vector: &[f32]) {
        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        let args = vec![tool.as_bytes().to_vec(), b"call".to_vec(), bytes];
        self.send("call", ADD_LEARNED, USAGE, args);
    }

    fn learned_ignored(&self, tool: &str) {
        let args = vec![tool.as_bytes().to_vec(), b"ignored".to_vec()];
        self.send("ignored", ADD_LEARNED, USAGE, args);
    }

    fn cooccurred(&self, pairs: &[(String, String)]) {
        let args = pairs
            .iter()
            .map(|(a, b)| format!("{a}\0{b}").into_bytes())
            .collect();
        self.send("co-occurrence", ADD_COOC, COOC, args);
    }
}

/// Every second: what changed in Redis since the last version seen replaces the local totals.
async fn merge_forever(mut conn: ConnectionManager, usage: Arc<Usage>, cache: Arc<SelectionCache>) {
    let mut seen: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match merge_once(&mut conn, &usage, seen).await {
            Ok(version) => {
                // Cached selections were ranked without what just arrived.
                if version > seen {
                    cache.clear();
                }
                seen = version;
            }
            Err(error) => tracing::debug!(%error, "shared usage not read (Redis)"),
        }
    }
}

async fn merge_once(
    conn: &mut ConnectionManager,
    usage: &Arc<Usage>,
    seen: u64,
) -> redis::RedisResult<u64> {
    let version: Option<u64> = redis::cmd("GET").arg(VERSION).query_async(conn).await?;
    let version = version.unwrap_or(0);
    if version <= seen {
        // A Redis that lost its data starts counting again: read everything.
        return Ok(if version < seen { 0 } else { seen });
    }
    let changed: Vec<(Vec<u8>, u64)> = redis::cmd("ZRANGEBYSCORE")
        .arg(CHANGED)
        .arg(format!("({seen}"))
        .arg("+inf")
        .arg("WITHSCORES")
        .query_async(conn)
        .await?;
    let (tools, pairs): (Vec<_>, Vec<_>) = changed
        .iter()
        .map(|(member, _)| member)
        .partition(|m| m.first() == Some(&b't'));
    let newest = changed.iter().map(|(_, v)| *v).max().unwrap_or(version);
    if !tools.is_empty() {
        let fields: Vec<&[u8]> = tools.iter().map(|m| &m[1..]).collect();
        let values: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
            .arg(USAGE)
            .arg(&fields)
            .query_async(conn)
            .await?;
        let usage = usage.clone();
        let merged: Vec<(String, Vec<u8>)> = fields
            .iter()
            .zip(values)
            .filter_map(|(tool, value)| Some((String::from_utf8_lossy(tool).into_owned(), value?)))
            .collect();
        // Persisting writes the local store: off the async threads.
        let _ = tokio::task::spawn_blocking(move || {
            for (tool, bytes) in merged {
                usage.merge_learned(&tool, &bytes);
            }
        })
        .await;
    }
    let pairs: Vec<&[u8]> = pairs
        .iter()
        .filter(|m| m.first() == Some(&b'c'))
        .map(|m| &m[1..])
        .collect();
    if !pairs.is_empty() {
        let counts: Vec<Option<u32>> = redis::cmd("HMGET")
            .arg(COOC)
            .arg(&pairs)
            .query_async(conn)
            .await?;
        let usage = usage.clone();
        let merged: Vec<(String, String, u32)> = pairs
            .iter()
            .zip(counts)
            .filter_map(|(pair, count)| {
                let text = String::from_utf8_lossy(pair);
                let (a, b) = text.split_once('\0')?;
                Some((a.to_string(), b.to_string(), count?))
            })
            .collect();
        let _ = tokio::task::spawn_blocking(move || {
            for (a, b, count) in merged {
                usage.merge_cooccurrence(&a, &b, count);
            }
        })
        .await;
    }
    Ok(newest)
}
