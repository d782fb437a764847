//! The shared session store (`session.backend: redis`): every instance behind a load balancer reads
//! and writes the same sessions, so any of them can continue a session another one opened.
//!
//! Keys (all under `ucp:`): `ucp:session:{id}` a hash (`meta`: [`SessionMeta`] as JSON, `seen`:
//! last activity in ms), `ucp:session:{id}:events` a list of [`SessionEvent`]s as JSON (oldest
//! first, trimmed to `max_history` on every append; the hash's `n` counts them all, so an instance
//! sees that another one wrote), `ucp:sessions` a sorted set of ids by last
//! activity (sweeps). Redis expires a session's keys `ttl` after its last activity; every
//! write is one `MULTI`/`EXEC`. Connections are `pool_size` auto-reconnecting multiplexed
//! connections, opened lazily, so the gateway starts (degraded) while Redis is away.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, IntoConnectionInfo, RedisResult};
use ucp_config::RedisConfig;

use super::record::{SessionEvent, SessionMeta, SessionRecord};

const SESSIONS: &str = "ucp:sessions";

/// Where to reach Redis: `session.redis` as validated, with its TLS files read.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    pub config: RedisConfig,
    /// TLS (`rediss://`), with what it was configured to trust and present.
    pub tls: Option<RedisTlsFiles>,
}

/// The contents of `session.redis.tls`'s files (PEM), read once at start.
#[derive(Clone)]
pub struct RedisTlsFiles {
    /// The CA bundle to verify Redis against; `None`: the system's roots.
    pub ca: Option<Vec<u8>>,
    /// A client certificate and its PKCS#8 key, for `tls-auth-clients`.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for RedisTlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RedisTlsFiles")
            .field("ca", &self.ca.is_some())
            .field("client", &self.client.is_some())
            .finish()
    }
}

/// A Redis command that does not answer within this fails (Redis is away or overloaded): requests
/// go on without the store rather than wait.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

impl RedisTarget {
    pub fn describe(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        let c = &self.config;
        format!("{scheme}://{}:{}/{}", c.host, c.port, c.db)
    }

    /// An auto-reconnecting multiplexed connection, opened on first use, whose commands time out
    /// after 500 ms (the session store and the shared usage both use these).
    pub fn connection(&self) -> RedisResult<ConnectionManager> {
        let c = &self.config;
        let mut settings = redis::RedisConnectionInfo::default().set_db(c.db);
        if let Some(password) = &c.password {
            settings = settings.set_password(password);
        }
        let (host, port) = (c.host.clone(), c.port);
        let addr = match &self.tls {
            None => redis::ConnectionAddr::Tcp(host, port),
            Some(_) => redis::ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                tls_params: None,
            },
        };
        let info = addr.into_connection_info()?.set_redis_settings(settings);
        let client = match &self.tls {
            None => redis::Client::open(info)?,
            Some(files) => redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: files.client.clone().map(|(client_cert, client_key)| {
                        redis::ClientTlsConfig {
                            client_cert,
                            client_key,
                        }
                    }),
                    root_cert: files.ca.clone(),
                },
            )?,
        };
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        ConnectionManager::new_lazy_with_config(client, config)
    }
}

pub struct RedisSessions {
    pool: Vec<ConnectionManager>,
    next: AtomicUsize,
    target: String,
}

impl RedisSessions {
    /// The connections (not opened yet: each opens on first use and reopens after a failure).
    pub fn new(target: &RedisTarget) -> RedisResult<RedisSessions> {
        let pool = (0..target.config.pool_size.max(1))
            .map(|_| target.connection())
            .collect::<RedisResult<Vec<_>>>()?;
        Ok(RedisSessions {
            pool,
            next: AtomicUsize::new(0),
            target: target.describe(),
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    fn conn(&self) -> ConnectionManager {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        self.pool[i].clone()
    }

    fn key(id: &str) -> String {
        format!("ucp:session:{id}")
    }

    fn events_key(id: &str) -> String {
        format!("ucp:session:{id}:events")
    }

    pub async fn ping(&self) -> RedisResult<()> {
        redis::cmd("PING").query_async(&mut self.conn()).await
    }

    pub async fn open_session(
        &self,
        id: &str,
        meta: &SessionMeta,
        now_ms: u64,
        ttl: Duration,
    ) -> RedisResult<()> {
        let key = Self::key(id);
        redis::pipe()
            .atomic()
            .hset_multiple(
                &key,
                &[("meta", encode(meta)), ("seen", now_ms.to_string())],
            )
            .ignore()
            .pexpire(&key, ttl_ms(ttl))
            .ignore()
            .zadd(SESSIONS, id, now_ms)
            .ignore()
            .query_async(&mut self.conn())
            .await
    }

    pub async fn meta(&self, id: &str) -> RedisResult<Option<(SessionMeta, u64)>> {
        let (meta, seen): (Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(Self::key(id))
            .arg("meta")
            .arg("seen")
            .query_async(&mut self.conn())
            .await?;
        Ok(decode_meta(id, meta, seen))
    }

    pub async fn load(&self, id: &str, max_history: usize) -> RedisResult<Option<SessionRecord>> {
        let ((meta, seen), events): ((Option<String>, Option<u64>), Vec<String>) = redis::pipe()
            .cmd("HMGET")
            .arg(Self::key(id))
            .arg("meta")
            .arg("seen")
            .lrange(Self::events_key(id), -(max_history as isize), -1)
            .query_async(&mut self.conn())
            .await?;
        let Some((meta, last_seen_ms)) = decode_meta(id, meta, seen) else {
            return Ok(None);
        };
        let events = events
            .iter()
            .filter_map(|e| serde_json::from_str(e).ok())
            .collect();
        Ok(Some(SessionRecord {
            id: id.to_string(),
            meta,
            last_seen_ms,
            events,
        }))
    }

    pub async fn append(
        &self,
        id: &str,
        event: &SessionEvent,
        now_ms: u64,
        ttl: Duration,
        max_history: usize,
    ) -> RedisResult<u64> {
        let (key, events) = (Self::key(id), Self::events_key(id));
        let (version,): (u64,) = redis::pipe()
            .atomic()
            .rpush(&events, encode(event))
            .ignore()
            .ltrim(&events, -(max_history as isize), -1)
            .ignore()
            .pexpire(&events, ttl_ms(ttl))
            .ignore()
            .hset(&key, "seen", now_ms)
            .ignore()
            .hincr(&key, "n", 1)
            .pexpire(&key, ttl_ms(ttl))
            .ignore()
            .zadd(SESSIONS, id, now_ms)
            .ignore()
            .query_async(&mut self.conn())
            .await?;
        Ok(version)
    }

    /// How many events the session has recorded in all (any instance): a session held in memory
    /// reloads its record when this moved.
    pub async fn version(&self, id: &str) -> RedisResult<u64> {
        let n: Option<u64> = self.conn().hget(Self::key(id), "n").await?;
        Ok(n.unwrap_or(0))
    }

    pub async fn touch(&self, id: &str, now_ms: u64, ttl: Duration) -> RedisResult<()> {
        let (key, events) = (Self::key(id), Self::events_key(id));
        redis::pipe()
            .atomic()
            .hset(&key, "seen", now_ms)
            .ignore()
            .pexpire(&key, ttl_ms(ttl))
            .ignore()
            .pexpire(&events, ttl_ms(ttl))
            .ignore()
            .zadd(SESSIONS, id, now_ms)
            .ignore()
            .query_async(&mut self.conn())
            .await
    }

    pub async fn delete(&self, id: &str) -> RedisResult<()> {
        redis::pipe()
            .atomic()
            .del(&[Self::key(id), Self::events_key(id)])
            .ignore()
            .zrem(SESSIONS, id)
            .ignore()
            .query_async(&mut self.conn())
            .await
    }

    /// Forgets ids not seen since `cutoff_ms` (Redis has expired their keys); how many.
    pub async fn sweep(&self, cutoff_ms: u64) -> RedisResult<usize> {
        self.conn()
            .zrembyscore(SESSIONS, "-inf", format!("({cutoff_ms}"))
            .await
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    ttl.as_millis().clamp(1, i64::MAX as u128) as i64
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("session records serialize")
}

fn decode_meta(id: &str, meta: Option<String>, seen: Option<u64>) -> Option<(SessionMeta, u64)> {
    let meta = meta?;
    match serde_json::from_str::<SessionMeta>(&meta) {
        Ok(meta) => {
            let seen = seen.unwrap_or(meta.created_ms);
            Some((meta, seen))
        }
        Err(_) => {
            tracing::warn!(session = id, "unreadable session record in Redis: ignored");
            None
        }
    }
}
