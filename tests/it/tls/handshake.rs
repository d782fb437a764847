//! The handshake as `openssl s_client` sees it: ALPN, the protocol floor, the cipher list; and a
//! plain HTTP client on the TLS port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::pki::s_client;
use super::*;

#[test]
fn s_client_negotiates_h2_by_alpn_and_http1_when_offered_alone() {
    let gw = tls_gateway(&[], "");
    let (dir, port) = (gw.dir(), gw.addr.port());
    let (ok, text) = s_client(dir, port, &["-alpn", "h2,http/1.1"]);
    assert!(ok, "{text}");
    assert!(text.contains("ALPN protocol: h2"), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    let (ok, text) = s_client(dir, port, &["-alpn", "http/1.1"]);
    assert!(ok, "{text}");
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
    // The default cipher list (Mozilla intermediate) has no plain-RSA CBC suite.
    let (ok, text) = s_client(dir, port, &["-tls1_2", "-cipher", "AES128-SHA"]);
    assert!(!ok, "AES128-SHA is outside the default list: {text}");
}

#[test]
fn min_tls_version_1_3_refuses_a_tls_1_2_handshake() {
    let gw = tls_gateway(&[], "    min_tls_version: \"1.3\"\n");
    let (dir, port) = (gw.dir(), gw.addr.port());
    let (ok, text) = s_client(dir, port, &["-tls1_2"]);
    assert!(!ok, "a TLS 1.2 handshake succeeded: {text}");
    let (ok, text) = s_client(dir, port, &["-tls1_3"]);
    assert!(ok, "{text}");
    assert!(text.contains("TLSv1.3"), "{text}");
}

#[test]
fn the_seed_cipher_list_replaces_the_default_for_tls_1_2() {
    let gw = tls_gateway(&[], "    ciphers: \"HIGH:!aNULL:!MD5\"\n");
    let (dir, port) = (gw.dir(), gw.addr.port());
    // In HIGH, not in the default list: accepted only because the configured list applies.
    let (ok, text) = s_client(dir, port, &["-tls1_2", "-cipher", "AES128-SHA"]);
    assert!(ok, "{text}");
    assert!(text.contains("Cipher is AES128-SHA"), "{text}");
    // What HIGH leaves out on this OpenSSL: NULL encryption and anonymous suites.
    let (ok, text) = s_client(
        dir,
        port,
        &["-tls1_2", "-cipher", "ECDHE-RSA-NULL-SHA:@SECLEVEL=0"],
    );
    assert!(!ok, "a NULL cipher was accepted: {text}");
}

#[test]
fn a_single_configured_cipher_refuses_a_client_offering_another() {
    let gw = tls_gateway(&[], "    ciphers: \"ECDHE-RSA-AES256-GCM-SHA384\"\n");
    let (dir, port) = (gw.dir(), gw.addr.port());
    let (ok, text) = s_client(
        dir,
        port,
        &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
    );
    assert!(!ok, "a cipher outside the list was accepted: {text}");
    let (ok, text) = s_client(
        dir,
        port,
        &["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("Cipher is ECDHE-RSA-AES256-GCM-SHA384"),
        "{text}"
    );
}

#[test]
fn plain_http_to_the_tls_port_is_closed_not_left_hanging() {
    let gw = tls_gateway(&[], "");
    let mut stream = TcpStream::connect(gw.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection was left open: {e}"),
    }
    assert!(
        !String::from_utf8_lossy(&answer).contains("healthy"),
        "plain HTTP was answered"
    );
    // And TLS clients are still served.
    let (ok, text) = s_client(gw.dir(), gw.addr.port(), &[]);
    assert!(ok, "{text}");
}
