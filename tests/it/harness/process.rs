//! Child processes for tests: the gateway (`ucp serve`) and downstream servers, killed on drop.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `ucp serve` over HTTP or HTTPS.
pub struct GatewayProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// `http` or `https`, from the listening line.
    pub scheme: &'static str,
    pub logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl GatewayProcess {
    /// Writes `config` to a temp dir and starts the gateway on it; waits for the listening line.
    pub fn start(config: &str) -> GatewayProcess {
        Self::start_in(tempfile::tempdir().expect("tempdir"), config)
    }

    /// [`GatewayProcess::start`] in a prepared `dir` (files the config names, e.g. certificates).
    pub fn start_in(dir: tempfile::TempDir, config: &str) -> GatewayProcess {
        Self::start_with(dir, config, &[])
    }

    fn start_with(dir: tempfile::TempDir, config: &str, vars: &[(&str, &str)]) -> GatewayProcess {
        let path = dir.path().join("ucp_config.yaml");
        let config = own_session_store(config).replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&path, config).expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ucp"));
        command
            .args(["serve", "-c"])
            .arg(&path)
            .envs(vars.iter().copied());
        Self::spawn(command, dir)
    }

    /// `start` inside network namespace `ns` (`ip netns exec`); `addr` is then the namespace's
    /// `ns_ip` with the port the gateway printed.
    pub fn start_in_netns(ns: &super::NetNs, config: &str) -> GatewayProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ucp_config.yaml");
        let config = own_session_store(config).replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&path, config).expect("write config");
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &ns.name])
            .arg(env!("CARGO_BIN_EXE_ucp"))
            .args(["serve", "-c"])
            .arg(&path);
        let mut gw = Self::spawn(command, dir);
        gw.addr = SocketAddr::new(ns.ns_ip.parse().expect("ns ip"), gw.addr.port());
        gw
    }

    /// `start` with extra variables in the gateway's environment.
    pub fn start_with_env(config: &str, vars: &[(&str, &str)]) -> GatewayProcess {
        Self::start_with(tempfile::tempdir().expect("tempdir"), config, vars)
    }

    /// `ucp serve` with no config (the built-in default) on an ephemeral port.
    pub fn start_built_in() -> GatewayProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ucp"));
        command.arg("serve").env("UCP_PORT", "0");
        Self::spawn(command, tempfile::tempdir().expect("tempdir"))
    }

    fn spawn(mut command: Command, dir: tempfile::TempDir) -> GatewayProcess {
        let mut child = command
            .env("UCP_HOME", super::ucp_home())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ucp");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let listening = line
                    .strip_prefix("ucp: listening on ")
                    .and_then(|rest| rest.split_once("://"));
                if let Some((scheme, rest)) = listening {
                    let scheme = if scheme == "https" { "https" } else { "http" };
                    let addr = rest.split('/').next().unwrap_or_default().to_string();
                    let _ = tx.send((scheme, addr));
                }
                sink.lock().unwrap().push(line);
            }
        });
        let (scheme, addr) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((scheme, addr)) => (scheme, addr.parse().expect("listening address")),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "gateway did not start; logs:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        GatewayProcess {
            child,
            addr,
            scheme,
            logs,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn mcp_url(&self) -> String {
        self.url("/mcp")
    }

    /// The gateway's temp dir (its config, `{dir}` in configs).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The gateway's direct child (a stdio downstream server) whose command line contains `needle`.
    pub fn child_matching(&self, needle: &str) -> Option<u32> {
        children_of(self.child.id())
            .into_iter()
            .find(|pid| cmdline(*pid).contains(needle))
    }
}

/// `config` with its session store in the gateway's temp dir unless its `session:` section names
/// one: tests run in parallel, and one session directory admits one gateway at a time.
pub fn own_session_store(config: &str) -> String {
    let line = "  persist_dir: \"{dir}/sessions\"\n";
    let Some(at) = config
        .find("\nsession:\n")
        .map(|at| at + 1)
        .or_else(|| config.starts_with("session:\n").then_some(0))
    else {
        let sep = if config.ends_with('\n') { "" } else { "\n" };
        return format!("{config}{sep}session:\n{line}");
    };
    let body = at + "session:\n".len();
    let section_end = body
        + config[body..]
            .split_inclusive('\n')
            .take_while(|l| l.starts_with(' ') || l.trim().is_empty())
            .map(str::len)
            .sum::<usize>();
    if config[body..section_end].contains("persist_dir:") {
        return config.to_string();
    }
    format!("{}{line}{}", &config[..body], &config[body..])
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ucp serve --stdio -c CONFIG` with stdin and stdout piped to the test (stderr dropped).
pub fn spawn_stdio_gateway(
    config: &std::path::Path,
) -> (
    Child,
    std::process::ChildStdin,
    BufReader<std::process::ChildStdout>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .args(["serve", "--stdio", "-c"])
        .arg(config)
        .env("UCP_HOME", super::ucp_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ucp serve --stdio");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    (child, stdin, stdout)
}

/// Sends signal `name` (`HUP`, `TERM`, ...) to `pid` with kill(1).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

/// Direct children of `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let path: PathBuf = task.path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// The command line of `pid`, joined with spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// A downstream server child process (for HTTP downstreams), killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// `mcp-server-everything streamableHttp` on a free loopback port.
    pub fn everything_http() -> ServerProcess {
        Self::everything_http_on(free_port())
    }

    /// `mcp-server-everything streamableHttp` on `port`.
    pub fn everything_http_on(port: u16) -> ServerProcess {
        let mut command = Command::new(super::everything_bin());
        command.arg("streamableHttp").env("PORT", port.to_string());
        Self::serving(command, port)
    }

    /// Starts `command` (quiet) and waits until it listens on `port`.
    fn serving(mut command: Command, port: u16) -> ServerProcess {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a test server");
        wait_for_port(port, Duration::from_secs(30));
        ServerProcess { child, port }
    }

    /// `tests/fixtures/named_tools_server.py NAME` over Streamable HTTP on a free loopback port
    /// (with its `headers` tool).
    pub fn named_tools_http(name: &str) -> ServerProcess {
        let port = free_port();
        let mut command = Command::new(super::python_bin());
        command
            .arg(super::repo_file("tests/fixtures/named_tools_server.py"))
            .arg(name)
            .env("NAMED_TOOLS_HTTP_PORT", port.to_string());
        Self::serving(command, port)
    }

    pub fn mcp_url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn wait_for_port(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port} after {limit:?}");
}
