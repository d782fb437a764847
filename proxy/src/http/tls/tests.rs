//! TLS in memory: certificates made with OpenSSL's API, real handshakes over a duplex pipe through
//! the same acceptor settings and certificate hook the listener uses.

use std::path::Path;
use std::pin::Pin;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::ssl::{SslAcceptor, SslConnector, SslMethod, SslVerifyMode};
use openssl::symm::Cipher;
use openssl::x509::{X509Builder, X509NameBuilder};
use pingora_core::protocols::tls::SslStream as ServerStream;
use pingora_core::protocols::tls::server::handshake_with_callback;
use pingora_core::tls::tokio_ssl::SslStream as ClientStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

/// A self-signed P-256 certificate for `cn` and its key, both PEM.
fn issue(cn: &str, serial: u32) -> (Vec<u8>, Vec<u8>) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut cert = X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    let serial = BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap();
    cert.set_serial_number(&serial).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = cert.build();
    (
        cert.to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

fn pair(cn: &str, serial: u32) -> CertifiedKey {
    let (cert, key) = issue(cn, serial);
    CertifiedKey::from_pem(&cert, &key, Path::new("/c.pem"), Path::new("/k.pem")).unwrap()
}

fn error_of(cert: &[u8], key: &[u8]) -> String {
    match CertifiedKey::from_pem(cert, key, Path::new("/c.pem"), Path::new("/k.pem")) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

/// The acceptor `settings` builds, minus ALPN (pingora's selector is private; curl covers it).
fn accepting(ssl: &SslConfig) -> pingora_core::tls::ssl::SslAcceptor {
    // `TlsSettings::with_callbacks` starts from this same builder.
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    configure(&mut builder, ssl).unwrap();
    builder.build()
}

/// A client that accepts any certificate: the tests compare what it was shown instead.
fn client() -> openssl::ssl::SslConnectorBuilder {
    let mut builder = SslConnector::builder(SslMethod::tls()).unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    builder
}

type Connected = (ClientStream<DuplexStream>, ServerStream<DuplexStream>);

/// One handshake through the certificate hook; `Err` with both sides' errors when it fails.
async fn handshake(
    acceptor: &pingora_core::tls::ssl::SslAcceptor,
    certs: &CertStore,
    client: openssl::ssl::SslConnectorBuilder,
) -> Result<Connected, String> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let hook = PresentCurrent(certs.clone());
    let server = handshake_with_callback(acceptor, server_io, &hook);
    let client = async {
        let ssl = client
            .build()
            .configure()
            .unwrap()
            .into_ssl("localhost")
            .unwrap();
        let mut stream = ClientStream::new(ssl, client_io).unwrap();
        Pin::new(&mut stream).connect().await.map(|()| stream)
    };
    match tokio::join!(client, server) {
        (Ok(c), Ok(s)) => Ok((c, s)),
        (c, s) => Err(format!(
            "client: {:?}; server: {:?}",
            c.err(),
            s.err().map(|e| e.to_string())
        )),
    }
}

fn shown(stream: &ClientStream<DuplexStream>) -> String {
    fingerprint(
        &stream
            .ssl()
            .peer_certificate()
            .expect("a server certificate"),
    )
}

#[tokio::test]
async fn each_handshake_presents_the_pair_stored_at_that_moment() {
    let (a, b) = (pair("a.test", 1), pair("b.test", 2));
    let (fa, fb) = (a.fingerprint(), b.fingerprint());
    assert_ne!(fa, fb);
    let certs: CertStore = Arc::new(ArcSwap::from_pointee(a));
    let acceptor = accepting(&SslConfig::default());
    let (mut first, mut first_server) = handshake(&acceptor, &certs, client()).await.unwrap();
    assert_eq!(shown(&first), fa);

    certs.store(Arc::new(b));
    let (second, _) = handshake(&acceptor, &certs, client()).await.unwrap();
    assert_eq!(shown(&second), fb, "a new handshake gets the new pair");

    // The connection made before the swap still carries data, still under the old certificate.
    first.write_all(b"still here").await.unwrap();
    let mut got = [0u8; 10];
    first_server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"still here");
    assert_eq!(shown(&first), fa);
}

#[tokio::test]
async fn intermediates_after_the_leaf_are_sent_along() {
    let (leaf, key) = issue("leaf.test", 3);
    let (other, _) = issue("intermediate.test", 4);
    let chain = [leaf, other].concat();
    let pair = CertifiedKey::from_pem(&chain, &key, Path::new("/c"), Path::new("/k")).unwrap();
    let certs: CertStore = Arc::new(ArcSwap::from_pointee(pair));
    let (client, _) = handshake(&accepting(&SslConfig::default()), &certs, client())
        .await
        .unwrap();
    let sent = client.ssl().peer_cert_chain().expect("a chain");
    assert_eq!(sent.len(), 2, "leaf and intermediate");
}

#[tokio::test]
async fn min_tls_version_1_3_refuses_a_tls_1_2_client() {
    let certs: CertStore = Arc::new(ArcSwap::from_pointee(pair("v.test", 5)));
    let floor = SslConfig {
        min_tls_version: TlsVersion::V1_3,
        ..SslConfig::default()
    };
    let acceptor = accepting(&floor);
    let mut old = client();
    old.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    assert!(handshake(&acceptor, &certs, old).await.is_err());
    let (modern, _) = handshake(&acceptor, &certs, client()).await.unwrap();
    assert_eq!(modern.ssl().version_str(), "TLSv1.3");

    // The default floor (1.2) takes the same TLS 1.2 client.
    let mut old = client();
    old.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    let (taken, _) = handshake(&accepting(&SslConfig::default()), &certs, old)
        .await
        .unwrap();
    assert_eq!(taken.ssl().version_str(), "TLSv1.2");
}

#[tokio::test]
async fn ciphers_limit_the_tls_1_2_suites() {
    let certs: CertStore = Arc::new(ArcSwap::from_pointee(pair("c.test", 6)));
    let only = SslConfig {
        ciphers: Some("ECDHE-ECDSA-AES256-GCM-SHA384".into()),
        ..SslConfig::default()
    };
    let acceptor = accepting(&only);
    let offering = |cipher: &str| {
        let mut c = client();
        c.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
        c.set_cipher_list(cipher).unwrap();
        c
    };
    let refused = handshake(&acceptor, &certs, offering("ECDHE-ECDSA-AES128-GCM-SHA256")).await;
    assert!(refused.is_err(), "a suite outside the list is refused");
    let (taken, _) = handshake(&acceptor, &certs, offering("ECDHE-ECDSA-AES256-GCM-SHA384"))
        .await
        .unwrap();
    assert_eq!(
        taken.ssl().current_cipher().map(|c| c.name()),
        Some("ECDHE-ECDSA-AES256-GCM-SHA384")
    );
}

#[test]
fn a_cipher_list_openssl_does_not_know_is_a_config_error() {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    let bad = SslConfig {
        ciphers: Some("NO-SUCH-CIPHER".into()),
        ..SslConfig::default()
    };
    let error = configure(&mut builder, &bad).unwrap_err().to_string();
    assert!(
        error.starts_with(r#"server.ssl.ciphers: OpenSSL accepts none of "NO-SUCH-CIPHER""#),
        "{error}"
    );
}

#[test]
fn a_key_of_another_certificate_is_a_mismatch_naming_both_files() {
    let (cert, _) = issue("one.test", 7);
    let (_, other_key) = issue("two.test", 8);
    assert_eq!(
        error_of(&cert, &other_key),
        "server.ssl.key_path: /k.pem: does not match the certificate in /c.pem"
    );
}

#[test]
fn text_that_is_not_pem_names_the_file_and_key() {
    let (cert, key) = issue("p.test", 9);
    assert_eq!(
        error_of(b"hello", &key),
        "server.ssl.cert_path: /c.pem: holds no PEM certificate"
    );
    let error = error_of(&cert, b"hello");
    assert!(
        error.starts_with("server.ssl.key_path: /k.pem: not an unencrypted PEM private key"),
        "{error}"
    );
    // A key where the certificate belongs is not a certificate.
    assert_eq!(
        error_of(&key, &key),
        "server.ssl.cert_path: /c.pem: holds no PEM certificate"
    );
}

#[test]
fn an_encrypted_key_is_refused_without_asking_for_a_passphrase() {
    let (cert, key) = issue("e.test", 10);
    let key = PKey::private_key_from_pem(&key).unwrap();
    let locked = key
        .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"secret")
        .unwrap();
    let error = error_of(&cert, &locked);
    assert!(
        error.starts_with("server.ssl.key_path: /k.pem: not an unencrypted PEM private key"),
        "{error}"
    );
}

#[test]
fn the_fingerprint_is_the_sha256_of_the_certificate_in_openssl_notation() {
    let (cert, key) = issue("f.test", 11);
    let pair = CertifiedKey::from_pem(&cert, &key, Path::new("/c"), Path::new("/k")).unwrap();
    let der = X509::from_pem(&cert).unwrap().to_der().unwrap();
    let digest = openssl::sha::sha256(&der);
    let expected = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(pair.fingerprint(), expected);
    assert_eq!(pair.fingerprint().len(), 32 * 3 - 1);
}
