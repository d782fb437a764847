//! The session store the HTTP front keeps its sessions in (`session.backend`), opened once at
//! start, and the task that sweeps expired sessions out of it.

use std::sync::Arc;
use std::time::Duration;

use ucp_config::{Config, SessionBackend};
use ucp_proxy::session::{RedisSessions, RedisTarget, RedisTlsFiles, RocksSessions, SessionStore};

/// Opens the configured store. `None` with the memory backend and when serving stdio (a stdio
/// client has no session id to come back with; `stdio` is what `serve` decided to speak). A RocksDB store that does not open stops the start: sessions
/// that silently stopped surviving restarts would be found out only at the next restart. Redis is
/// connected lazily: while it is away the gateway serves (degraded) and reconnects by itself.
pub fn open(config: &Config, stdio: bool) -> Result<Option<Arc<SessionStore>>, String> {
    let session = &config.session;
    if stdio {
        return Ok(None);
    }
    match session.backend {
        SessionBackend::Memory => Ok(None),
        SessionBackend::Redis => {
            let target = redis_target(config)?;
            let db = RedisSessions::new(&target)
                .map_err(|e| format!("session.redis: {}: {e}", target.describe()))?;
            tracing::info!(redis = %target.describe(), "sessions are kept in Redis");
            Ok(Some(Arc::new(SessionStore::redis(
                db,
                session.max_history,
                session.ttl,
            ))))
        }
        SessionBackend::Rocksdb => {
            let dir = crate::load::expand_home(&session.persist_dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("session.persist_dir: {}: {e}", dir.display()))?;
            let db = RocksSessions::open(&dir).map_err(|e| {
                format!(
                    "session.persist_dir: {}: cannot open the session store: {e} (is another \
                     ucp using this directory?)",
                    dir.display()
                )
            })?;
            tracing::info!(dir = %dir.display(), "sessions are kept in RocksDB");
            Ok(Some(Arc::new(SessionStore::rocks(
                db,
                session.max_history,
                session.ttl,
            ))))
        }
    }
}

/// Where `session.redis` points, with its TLS files read (an unreadable one stops the start,
/// named by its YAML path).
pub fn redis_target(config: &Config) -> Result<RedisTarget, String> {
    let redis = &config.session.redis;
    let read = |path: &Option<std::path::PathBuf>, key: &str| {
        path.as_ref()
            .map(|p| {
                let p = crate::load::expand_home(p);
                std::fs::read(&p).map_err(|e| format!("{key}: {}: {e}", p.display()))
            })
            .transpose()
    };
    let tls = if redis.tls.enabled {
        let ca = read(&redis.tls.ca_path, "session.redis.tls.ca_path")?;
        let cert = read(&redis.tls.cert_path, "session.redis.tls.cert_path")?;
        let key = read(&redis.tls.key_path, "session.redis.tls.key_path")?;
        Some(RedisTlsFiles {
            ca,
            client: cert.zip(key),
        })
    } else {
        None
    };
    Ok(RedisTarget {
        config: redis.clone(),
        tls,
    })
}

/// Sweeps expired sessions now and then for as long as the process runs (a tenth of the TTL,
/// between 1 s and 10 minutes), and probes the store every 2 s so `/health` follows it.
pub async fn sweep(store: Arc<SessionStore>, ttl: Duration) {
    let every = (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(600));
    let mut sweep = tokio::time::interval(every);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut probe = tokio::time::interval(Duration::from_secs(2));
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = sweep.tick() => match store.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions swept"),
                // The store logs its own failures once.
                Err(_) => {}
            },
            _ = probe.tick() => {
                let _ = store.probe().await;
            }
        }
    }
}
