//! Certificates for the TLS tests, made by the `openssl` CLI (a CA and leaves for localhost and
//! 127.0.0.1), and what a client was shown, read back with `openssl s_client` and `openssl x509`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `program` in `dir` under `timeout 10`, so a client that hangs fails the test instead.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("10")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, "openssl", args);
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ca.pem` (and `ca.key`): the CA every client here trusts, and nothing else.
pub fn make_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=UCP test CA",
        ],
    );
}

/// `{name}.pem` and `{name}.key`: a server leaf for localhost and 127.0.0.1 that the CA signs.
pub fn make_leaf(dir: &Path, name: &str, serial: u32) {
    make_leaf_for(dir, name, serial, "serverAuth");
}

/// `{name}.pem` and `{name}.key`: a client certificate (`clientAuth`) that the CA signs.
pub fn make_client_leaf(dir: &Path, name: &str, serial: u32) {
    make_leaf_for(dir, name, serial, "clientAuth");
}

fn make_leaf_for(dir: &Path, name: &str, serial: u32, usage: &str) {
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        format!(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"
        ),
    )
    .unwrap();
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let subject = format!("/CN=ucp-{name}");
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
            &subject,
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial.to_string(),
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &pem,
        ],
    );
}

/// Makes `{name}` the pair the gateway's config points at (`cert.pem`, `key.pem`).
pub fn install(dir: &Path, name: &str) {
    std::fs::copy(dir.join(format!("{name}.pem")), dir.join("cert.pem")).unwrap();
    std::fs::copy(dir.join(format!("{name}.key")), dir.join("key.pem")).unwrap();
}

/// A directory with the CA, leaf `a` (serial 1001) installed, and leaf `b` (serial 1002) beside it.
pub fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path());
    make_leaf(dir.path(), "a", 1001);
    make_leaf(dir.path(), "b", 1002);
    install(dir.path(), "a");
    dir
}

/// `openssl x509 -fingerprint -sha256` of a certificate file (PEM, or DER with `der`).
pub fn fingerprint(dir: &Path, file: &str, der: bool) -> String {
    let form = if der { "DER" } else { "PEM" };
    let out = openssl(
        dir,
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-inform",
            form,
            "-in",
            file,
        ],
    );
    let (_, value) = out.trim().split_once('=').expect("a fingerprint line");
    value.to_string()
}

/// `openssl s_client` to the gateway (verifying against the CA): whether the handshake
/// succeeded, and what it printed.
pub fn s_client(dir: &Path, port: u16, extra: &[&str]) -> (bool, String) {
    let connect = format!("127.0.0.1:{port}");
    let mut args = vec![
        "s_client",
        "-connect",
        &connect,
        "-servername",
        "localhost",
        "-CAfile",
        "ca.pem",
        "-verify_return_error",
    ];
    args.extend_from_slice(extra);
    let out = run(dir, "openssl", &args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The fingerprint of the certificate a new handshake gets now.
pub fn served_fingerprint(dir: &Path, port: u16) -> String {
    let (ok, text) = s_client(dir, port, &[]);
    assert!(ok, "handshake failed: {text}");
    let begin = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = text.find("-----END CERTIFICATE-----").expect("its end") + 25;
    std::fs::write(dir.join("served.pem"), &text[begin..end]).unwrap();
    fingerprint(dir, "served.pem", false)
}

/// The fingerprint of the certificate of the connection `response` came over.
pub fn connection_fingerprint(dir: &Path, response: &reqwest::Response) -> String {
    let der = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info with the peer certificate");
    std::fs::write(dir.join("connection.der"), der).unwrap();
    fingerprint(dir, "connection.der", true)
}
