//! Session store throughput, RocksDB (embedded) vs Redis (a real `redis-server` this bench starts
//! on a free loopback port): what a request pays to record an event, to read a session's meta
//! (the restore check) and to load a whole record (history of 100 events, the hydrate).
//!
//! Run: `cargo bench --bench session_store` (needs `redis-server` on PATH; scripts/setup.sh
//! installs it).

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ucp_proxy::session::{
    RedisSessions, RedisTarget, RocksSessions, SessionEvent, SessionMeta, SessionStore, now_ms,
};

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(dir: &std::path::Path) -> (Redis, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (scripts/setup.sh installs it)");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (Redis(child), port)
}

fn meta() -> SessionMeta {
    SessionMeta {
        identity: "bench".into(),
        created_ms: now_ms(),
        initialize: serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}),
    }
}

fn event(n: u64) -> SessionEvent {
    SessionEvent::Call {
        at_ms: now_ms(),
        tool: format!("server__tool_{}", n % 50),
        server: "server".into(),
        ok: true,
        ms: 3,
    }
}

fn bench_store(c: &mut Criterion, name: &str, store: &SessionStore, rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        for s in 0..100 {
            let id = format!("session-{s}");
            store.open(&id, &meta()).await.unwrap();
            for n in 0..100 {
                store.append(&id, &event(n), n as usize + 1).await.unwrap();
            }
        }
    });
    let mut group = c.benchmark_group(format!("session_store/{name}"));
    let mut n = 0u64;
    group.bench_function("append_event", |b| {
        b.iter(|| {
            n += 1;
            let id = format!("session-{}", n % 100);
            rt.block_on(store.append(&id, &event(n), 100)).unwrap();
        })
    });
    group.bench_function("read_meta", |b| {
        b.iter(|| {
            n += 1;
            let id = format!("session-{}", n % 100);
            black_box(rt.block_on(store.meta(&id)).unwrap());
        })
    });
    group.bench_function("load_record_100_events", |b| {
        b.iter(|| {
            n += 1;
            let id = format!("session-{}", n % 100);
            black_box(rt.block_on(store.load(&id)).unwrap());
        })
    });
    group.finish();
}

fn session_stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ttl = Duration::from_secs(3600);
    let rocks = SessionStore::rocks(
        RocksSessions::open(&dir.path().join("sessions")).unwrap(),
        100,
        ttl,
    );
    bench_store(c, "rocksdb", &rocks, &rt);
    let (_redis, port) = start_redis(dir.path());
    let target = RedisTarget {
        config: ucp_config::RedisConfig {
            port,
            pool_size: 1,
            ..Default::default()
        },
        tls: None,
    };
    let redis =
        rt.block_on(async { SessionStore::redis(RedisSessions::new(&target).unwrap(), 100, ttl) });
    bench_store(c, "redis", &redis, &rt);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = session_stores
}
criterion_main!(benches);
