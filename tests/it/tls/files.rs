//! The certificate and key files: refused at start-up when unusable, re-read on SIGHUP.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::pki::{connection_fingerprint, fingerprint, install, pki, served_fingerprint};
use super::*;

/// `ucp serve` on a config whose TLS files are `cert` and `key` (inside the PKI dir), plus
/// `ssl_extra`; it must exit.
fn serve_exit(dir: &Path, cert: &str, key: &str, ssl_extra: &str) -> Output {
    let config = tls_config(&[], ssl_extra)
        .replace("{dir}/cert.pem", &format!("{{dir}}/{cert}"))
        .replace("{dir}/key.pem", &format!("{{dir}}/{key}"))
        .replace("{dir}", &dir.display().to_string());
    let path = dir.join("bad.yaml");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .args(["serve", "-c"])
        .arg(&path)
        .env("UCP_HOME", ucp_home())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("ucp serve kept running with cert {cert} and key {key}");
        }
    }
}

#[test]
fn a_missing_unreadable_or_mismatched_file_stops_the_start_naming_it() {
    let pki = pki();
    let dir = pki.path();
    std::fs::create_dir(dir.join("a-directory")).unwrap();
    std::fs::write(dir.join("garbage.key"), "this is not PEM\n").unwrap();
    let d = dir.display();
    // The process runs as root here, where chmod 000 does not stop a read: "unreadable" is a
    // directory where a file belongs, and a file whose content is not PEM.
    let cases = [
        (
            "missing.pem",
            "a.key",
            format!(
                "server.ssl.cert_path: {d}/missing.pem: cannot read: No such file or directory"
            ),
        ),
        (
            "a.pem",
            "a-directory",
            format!("server.ssl.key_path: {d}/a-directory: cannot read: Is a directory"),
        ),
        (
            "a.pem",
            "garbage.key",
            format!("server.ssl.key_path: {d}/garbage.key: not an unencrypted PEM private key"),
        ),
        (
            "a.key",
            "a.key",
            format!("server.ssl.cert_path: {d}/a.key: holds no PEM certificate"),
        ),
        (
            "a.pem",
            "b.key",
            format!("server.ssl.key_path: {d}/b.key: does not match the certificate in {d}/a.pem"),
        ),
    ];
    for (cert, key, expected) in cases {
        let out = serve_exit(dir, cert, key, "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cert} + {key}: {stderr}");
        assert!(
            stderr.contains(&expected),
            "{cert} + {key}: expected {expected:?} in:\n{stderr}"
        );
        assert!(!stderr.contains("ucp: listening"), "{stderr}");
    }
    // A cipher list OpenSSL cannot use stops the start the same way.
    let out = serve_exit(dir, "a.pem", "a.key", "    ciphers: \"NO-SUCH-CIPHER\"\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(r#"server.ssl.ciphers: OpenSSL accepts none of "NO-SUCH-CIPHER""#),
        "{stderr}"
    );
    assert!(!stderr.contains("ucp: listening"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_rereads_the_pair_for_new_handshakes_while_open_connections_keep_serving() {
    let mut gw = tls_gateway(&[], "");
    let (dir, port) = (gw.dir().to_path_buf(), gw.addr.port());
    let (a, b) = (
        fingerprint(&dir, "a.pem", false),
        fingerprint(&dir, "b.pem", false),
    );
    assert_ne!(a, b);
    assert_eq!(served_fingerprint(&dir, port), a);

    // One keep-alive HTTP/1.1 connection, opened under A and used.
    let kept = https_client(&dir, false);
    let first = kept.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(connection_fingerprint(&dir, &first), a);
    let _ = first.text().await;

    install(&dir, "b");
    signal_hup(&gw);
    eventually(Duration::from_secs(10), "the reload log line", || async {
        gw.log_text()
            .contains("TLS certificate reloaded")
            .then_some(())
    })
    .await;
    assert_eq!(
        served_fingerprint(&dir, port),
        b,
        "a new handshake presents B"
    );
    // The connection from before the reload still serves, still under A.
    let again = kept.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(
        connection_fingerprint(&dir, &again),
        a,
        "the answer came over the connection opened before the reload"
    );

    // A broken key: the reload fails naming the file, and B stays.
    std::fs::write(dir.join("key.pem"), "not a key\n").unwrap();
    signal_hup(&gw);
    let key_path = format!("{}/key.pem", dir.display());
    let line = eventually(
        Duration::from_secs(10),
        "the failed reload log line",
        || async {
            gw.log_text()
                .lines()
                .find(|l| l.contains("TLS certificate not reloaded"))
                .map(str::to_string)
        },
    )
    .await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains(&format!("server.ssl.key_path: {key_path}")),
        "{line}"
    );
    assert_eq!(served_fingerprint(&dir, port), b, "still B");
    let fresh = https_client(&dir, true);
    let health = fresh.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(connection_fingerprint(&dir, &health), b);
    assert!(
        gw.child.try_wait().unwrap().is_none(),
        "SIGHUP never ends the process"
    );
}

fn signal_hup(gw: &GatewayProcess) {
    signal(gw.child.id(), "HUP");
}
