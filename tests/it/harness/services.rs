//! Real infrastructure for multi-instance tests, as child processes in a temp dir: `redis-server`
//! and an nginx load balancer (both from Debian, installed by scripts/setup.sh), killed on drop.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_for_port};

/// A `redis-server` on a loopback port, persisting nothing.
pub struct RedisServer {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_on(free_port(), tempfile::tempdir().expect("tempdir"))
    }

    /// A server that also listens on `addresses` (e.g. the host side of network namespaces).
    pub fn start_bound(addresses: &[&str]) -> RedisServer {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let child = redis_server(dir.path())
            .arg("--bind")
            .args(std::iter::once("127.0.0.1").chain(addresses.iter().copied()))
            .args(["--port", &port.to_string(), "--protected-mode", "no"])
            .spawn()
            .expect("redis-server (scripts/setup.sh installs it)");
        wait_for_port(port, Duration::from_secs(10));
        RedisServer { port, child, dir }
    }

    fn start_on(port: u16, dir: tempfile::TempDir) -> RedisServer {
        let child = spawn_redis(port, dir.path());
        wait_for_port(port, Duration::from_secs(10));
        RedisServer { port, child, dir }
    }

    /// A server that speaks only TLS, with `redis.pem`/`redis.key` from `pki` (signed by its
    /// `ca.pem`), and asks every client for a certificate that CA signed.
    pub fn start_tls(pki: &Path) -> RedisServer {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |name: &str| pki.join(name).display().to_string();
        let child = redis_server(dir.path())
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(["--tls-port", &port.to_string()])
            .args(["--tls-cert-file", &file("redis.pem")])
            .args(["--tls-key-file", &file("redis.key")])
            .args(["--tls-ca-cert-file", &file("ca.pem")])
            .args(["--tls-auth-clients", "yes"])
            .spawn()
            .expect("redis-server (scripts/setup.sh installs it)");
        wait_for_port(port, Duration::from_secs(10));
        RedisServer { port, child, dir }
    }

    /// Stops the server (its data goes with it).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a new, empty server on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn_redis(self.port, self.dir.path());
        wait_for_port(self.port, Duration::from_secs(10));
    }
}

fn spawn_redis(port: u16, dir: &Path) -> Child {
    redis_server(dir)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .spawn()
        .expect("redis-server (scripts/setup.sh installs it)")
}

/// `redis-server` in the foreground, quiet, persisting nothing, working in `dir`.
fn redis_server(dir: &Path) -> Command {
    let mut command = Command::new("redis-server");
    command
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A network namespace (a test host of its own) joined to this one by a veth pair: this side
/// `10.231.N.1`, the namespace's side `10.231.N.2`. Removed on drop.
pub struct NetNs {
    pub name: String,
    pub host_ip: String,
    pub ns_ip: String,
    host_link: String,
}

impl NetNs {
    pub fn create(n: u8) -> NetNs {
        let name = format!("ucp-test-{n}");
        let (host_link, ns_link) = (format!("ucpvh{n}"), format!("ucpvn{n}"));
        let (host_ip, ns_ip) = (format!("10.231.{n}.1"), format!("10.231.{n}.2"));
        // Left over from a run that was killed: start clean.
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &host_link])
            .status();
        let ip = |args: &[&str]| {
            let status = Command::new("ip")
                .args(args)
                .status()
                .expect("ip (iproute2)");
            assert!(status.success(), "ip {}", args.join(" "));
        };
        let in_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", name.as_str(), "ip"];
            all.extend_from_slice(args);
            ip(&all);
        };
        ip(&["netns", "add", &name]);
        ip(&[
            "link", "add", &host_link, "type", "veth", "peer", "name", &ns_link,
        ]);
        ip(&["link", "set", &ns_link, "netns", &name]);
        ip(&["addr", "add", &format!("{host_ip}/24"), "dev", &host_link]);
        ip(&["link", "set", &host_link, "up"]);
        in_ns(&["addr", "add", &format!("{ns_ip}/24"), "dev", &ns_link]);
        in_ns(&["link", "set", &ns_link, "up"]);
        in_ns(&["link", "set", "lo", "up"]);
        in_ns(&["route", "add", "default", "via", &host_ip]);
        NetNs {
            name,
            host_ip,
            ns_ip,
            host_link,
        }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_link])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// nginx balancing round robin, without affinity, over `upstreams`; its master process in the
/// foreground, so the upstreams can change with a graceful reload (`set_down`).
pub struct Nginx {
    pub port: u16,
    child: Child,
    upstreams: Vec<SocketAddr>,
    dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start(upstreams: &[SocketAddr]) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let conf = dir.path().join("nginx.conf");
        let up = vec![false; upstreams.len()];
        std::fs::write(&conf, nginx_conf(dir.path(), port, upstreams, &up)).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (scripts/setup.sh installs it)");
        wait_for_port(port, Duration::from_secs(10));
        Nginx {
            port,
            child,
            upstreams: upstreams.to_vec(),
            dir,
        }
    }

    /// Marks the upstreams whose flag is true `down` and reloads gracefully, the way an operator
    /// takes an instance out of rotation: returns once the new worker serves and the old one has
    /// finished the requests it held.
    pub fn set_down(&self, down: &[bool]) {
        let dir = self.dir.path();
        let conf = nginx_conf(dir, self.port, &self.upstreams, down);
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let master = self.child.id();
        let before = super::children_of(master);
        super::signal(master, "HUP");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let now = super::children_of(master);
            if now.len() == 1 && !before.contains(&now[0]) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not reload: workers {before:?} -> {now:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM: the master stops its worker too (a killed master would leave it running).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx in the foreground (master and one worker), round robin with no affinity, unbuffered for
/// SSE; an upstream whose `down` flag is set gets no new requests.
/// `max_fails=0`: an instance that refused a connection is not benched for `fail_timeout` (10 s by
/// default), so replacing the instances one after the other never leaves nginx with "no live
/// upstreams"; a refused connection is retried on the other instance, even for a POST.
fn nginx_conf(dir: &Path, port: u16, upstreams: &[SocketAddr], down: &[bool]) -> String {
    let dir = dir.display();
    let servers: String = upstreams
        .iter()
        .zip(down)
        .map(|(a, down)| {
            let flag = if *down { " down" } else { "" };
            format!("    server {a} max_fails=0{flag};\n")
        })
        .collect();
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log;\nevents {{ worker_connections 256; }}\nhttp {{\n\
         access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
         upstream ucp {{\n{servers}  }}\n  server {{\n    listen 127.0.0.1:{port};\n\
         location / {{\n      proxy_pass http://ucp;\n      proxy_http_version 1.1;\n\
         proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n\
         proxy_buffering off;\n      proxy_read_timeout 300s;\n    }}\n  }}\n}}\n"
    )
}
