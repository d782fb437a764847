//! The systemd unit and the logrotate file of the deploy kit: checked by `systemd-analyze` and
//! logrotate, and run: the unit's commands start and reload a real gateway, logrotate's reload
//! makes it reopen its log.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

pub(super) const SYSTEMD_SETUP: &str = "systemd-analyze comes with Debian's systemd package";

/// The binary the unit runs (`scripts/install.sh`'s default); a test run puts the one under test there.
pub(super) const UNIT_BINARY: &str = "/usr/local/bin/ucp";
/// The config the unit names; a test run puts its own there.
const UNIT_CONFIG: &str = "/etc/ucp/ucp_config.yaml";

/// A config for the gateway the unit's commands start: HTTP on a free port, logs in
/// `{dir}/log/ucp.log`, nothing downstream.
fn service_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_output: [\"file:{d}/log/ucp.log\"]\n\
         tool_zoo:\n  persist_dir: \"{d}/tool_zoo\"\nsession:\n  backend: memory\ndownstream_servers: []\n"
    )
}

/// A gateway started with the unit's `ExecStart` (its paths swapped for the test's), killed on drop.
struct Service {
    child: Child,
    dir: tempfile::TempDir,
    exec_reload: Vec<String>,
}

impl Service {
    fn start(unit: &unit::Unit) -> Service {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("log")).unwrap();
        let config = dir.path().join("ucp_config.yaml");
        fs::write(&config, service_config(dir.path())).unwrap();
        let swap = |line: &str| -> Vec<String> {
            unit::argv(line)
                .into_iter()
                .map(|a| match a.as_str() {
                    UNIT_BINARY => env!("CARGO_BIN_EXE_ucp").to_string(),
                    UNIT_CONFIG => config.display().to_string(),
                    _ => a,
                })
                .collect()
        };
        let exec_start = swap(unit.get("Service", "ExecStart").expect("ExecStart"));
        let exec_reload = swap(unit.get("Service", "ExecReload").expect("ExecReload"));
        let child = Command::new(&exec_start[0])
            .args(&exec_start[1..])
            .env("UCP_HOME", ucp_home())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("ExecStart {exec_start:?}: {e}"));
        let service = Service {
            child,
            dir,
            exec_reload,
        };
        service.wait_log("serving MCP over Streamable HTTP", 1);
        service
    }

    fn log_dir(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.log_dir().join("ucp.log")).unwrap_or_default()
    }

    /// Waits until `ucp.log` holds `count` lines containing `needle`.
    fn wait_log(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.log().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} (x{count}) in the gateway's log:\n{}\nstderr:\n{}",
                self.log(),
                fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The unit's `ExecReload` with `$MAINPID` set, as systemd runs it.
    fn reload_argv(&self) -> Vec<String> {
        let pid = self.child.id().to_string();
        self.exec_reload
            .iter()
            .map(|a| a.replace("$MAINPID", &pid))
            .collect()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("ucp_config.yaml")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_systemd_unit_verifies_and_its_commands_start_and_reload_the_real_gateway() {
    let text = read_kit("ucp.service");
    let unit = unit::parse(&text);
    let service = |key: &str| {
        unit.get("Service", key)
            .unwrap_or_else(|| panic!("no {key}="))
    };

    assert_eq!(
        unit::argv(service("ExecStart")),
        [UNIT_BINARY, "serve", "-c", UNIT_CONFIG]
    );
    assert_eq!(
        unit::argv(service("ExecReload")),
        [
            UNIT_BINARY,
            "reload",
            "-c",
            UNIT_CONFIG,
            "--pid",
            "$MAINPID"
        ]
    );
    // The secrets file is the `.env` beside the config, which the gateway reads too.
    assert_eq!(
        service("EnvironmentFile").trim_start_matches('-'),
        "/etc/ucp/.env"
    );
    assert_ne!(service("User"), "root");
    for (key, want) in [
        ("NoNewPrivileges", "true"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "true"),
        ("PrivateTmp", "true"),
        ("PrivateDevices", "true"),
        ("ProtectKernelTunables", "true"),
        ("ProtectKernelModules", "true"),
        ("ProtectControlGroups", "true"),
        ("RestrictSUIDSGID", "true"),
        ("CapabilityBoundingSet", ""),
        ("Restart", "on-failure"),
    ] {
        assert_eq!(service(key), want, "{key}=");
    }
    // systemd waits for the drain the gateway does on SIGTERM.
    assert_eq!(service("KillSignal"), "SIGTERM");
    let stop = service("TimeoutStopSec")
        .parse::<u64>()
        .expect("TimeoutStopSec in seconds");
    let drain = template_u64(&template_defaults(), "server", "drain_timeout");
    assert!(
        stop > drain,
        "TimeoutStopSec={stop} <= server.drain_timeout {drain}"
    );

    // systemd's own checks, on a copy naming the binary under test (verify wants it to exist).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ucp.service");
    fs::write(&copy, text.replace(UNIT_BINARY, env!("CARGO_BIN_EXE_ucp"))).unwrap();
    let out = run(
        Command::new("systemd-analyze").arg("verify").arg(&copy),
        SYSTEMD_SETUP,
    );
    // Unknown keys and bad values are only warnings (exit 0): any output fails.
    assert!(
        out.status.success() && output_text(&out).trim().is_empty(),
        "systemd-analyze verify ({}):\n{}",
        out.status,
        output_text(&out)
    );
    let out = run(
        Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager", "--threshold=49"])
            .arg(&copy),
        SYSTEMD_SETUP,
    );
    assert!(
        out.status.success(),
        "exposure above 4.9 (\"OK\"):\n{}",
        output_text(&out)
    );

    // The commands, run as systemd runs them: start, reload, a reload of a broken file (fails,
    // keeps the running config), a reload once it is fixed.
    let gw = Service::start(&unit);
    let reload = |gw: &Service| {
        let argv = gw.reload_argv();
        run(Command::new(&argv[0]).args(&argv[1..]), "the ucp binary")
    };
    let out = reload(&gw);
    assert!(out.status.success(), "ExecReload: {}", output_text(&out));
    gw.wait_log("SIGHUP: configuration reloaded", 1);
    let good = fs::read_to_string(gw.config_path()).unwrap();
    fs::write(gw.config_path(), format!("{good}no_such_key: 1\n")).unwrap();
    let out = reload(&gw);
    assert_eq!(
        out.status.code(),
        Some(1),
        "ExecReload on a broken file: {}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains("no_such_key"),
        "{}",
        output_text(&out)
    );
    gw.wait_log("SIGHUP: configuration not reloaded", 1);
    fs::write(gw.config_path(), good).unwrap();
    let out = reload(&gw);
    assert!(out.status.success(), "ExecReload: {}", output_text(&out));
    gw.wait_log("SIGHUP: configuration reloaded", 2);
}

const LOGROTATE_SETUP: &str = "scripts/setup.sh installs logrotate (apt)";

#[test]
fn logrotate_rotates_the_gateway_s_log_and_its_reload_makes_the_gateway_reopen_it() {
    let text = read_kit("logrotate-ucp");
    let unit = unit::parse(&read_kit("ucp.service"));
    let user = unit.get("Service", "User").expect("User=");
    let group = unit.get("Service", "Group").expect("Group=");
    let logs = format!(
        "/var/log/{}/",
        unit.get("Service", "LogsDirectory")
            .expect("LogsDirectory=")
    );

    // The file as committed: the unit's log directory, its user, and `systemctl reload` of the
    // unit, whose ExecReload is `ucp reload` (a SIGHUP: the gateway reopens its log files).
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(lines[0], format!("{logs}*.log {{"));
    assert!(
        lines.contains(&format!("su {user} {group}").as_str()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("create 0640 {user} {group}").as_str()),
        "{lines:?}"
    );
    let script: Vec<&str> = lines
        .iter()
        .skip_while(|l| **l != "postrotate")
        .skip(1)
        .take_while(|l| **l != "endscript")
        .copied()
        .collect();
    assert_eq!(script.len(), 1, "postrotate: {script:?}");
    let reload = "systemctl reload ucp";
    assert!(script[0].starts_with(reload), "postrotate: {script:?}");
    assert!(
        read_kit("README.md").contains(&format!("\"file:{logs}ucp.log\"")),
        "the kit's README configures log_output under {logs}"
    );

    // Run for real on a gateway started by the unit's ExecStart, the paths and owner made this
    // test's, `systemctl reload ucp` replaced by what it runs (the unit's ExecReload).
    let gw = Service::start(&unit);
    assert!(gw.log().contains("serving MCP"), "{}", gw.log());
    let (me, my_group) = (id("-un"), id("-gn"));
    let su = if me == "root" {
        format!("su {me} {my_group}")
    } else {
        String::new() // only root may switch users; as itself logrotate needs no `su`
    };
    let conf = text
        .replace(&logs, &format!("{}/", gw.log_dir().display()))
        .replace(&format!("su {user} {group}"), &su)
        .replace(
            &format!("create 0640 {user} {group}"),
            &format!("create 0640 {me} {my_group}"),
        )
        .replace(reload, &gw.reload_argv().join(" "));
    let work = tempfile::tempdir().unwrap();
    let conf_path = work.path().join("logrotate.conf");
    fs::write(&conf_path, conf).unwrap();
    let state = work.path().join("state");
    let logrotate = |args: &[&str]| {
        let out = run(
            Command::new("logrotate")
                .args(args)
                .arg("-s")
                .arg(&state)
                .arg(&conf_path),
            LOGROTATE_SETUP,
        );
        let all = output_text(&out);
        assert!(
            out.status.success() && !all.contains("error:"),
            "logrotate {args:?} ({}):\n{all}",
            out.status
        );
        all
    };
    let dry = logrotate(&["-d", "-f"]);
    assert!(dry.contains("running postrotate script"), "{dry}");
    assert!(gw.log_dir().join("ucp.log").exists() && !gw.log_dir().join("ucp.log.1").exists());

    logrotate(&["-f"]);
    let rotated = fs::read_to_string(gw.log_dir().join("ucp.log.1")).expect("ucp.log.1");
    assert!(rotated.contains("serving MCP"), "{rotated}");
    // The new file is logrotate's (`create 0640`), and the gateway writes to it after the reload.
    gw.wait_log("SIGHUP: log files reopened", 1);
    gw.wait_log("SIGHUP: configuration reloaded", 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(gw.log_dir().join("ucp.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(
        !fs::read_to_string(gw.log_dir().join("ucp.log.1"))
            .unwrap()
            .contains("SIGHUP")
    );
}
