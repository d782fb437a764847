//! TLS termination on the pingora listener: `server.ssl` becomes OpenSSL acceptor settings, and the
//! certificate with its key sits behind an `ArcSwap` that every handshake reads, so a SIGHUP can
//! change what the next handshake presents while open connections keep the one they got.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::listeners::TlsAccept;
pub use pingora_core::listeners::tls::TlsSettings;
use pingora_core::protocols::tls::TlsRef;
use pingora_core::tls::error::ErrorStack;
use pingora_core::tls::hash::MessageDigest;
use pingora_core::tls::pkey::{PKey, Private};
use pingora_core::tls::ssl::{SslAcceptorBuilder, SslVersion};
use pingora_core::tls::x509::{X509, X509Ref};
use ucp_config::{SslConfig, TlsVersion};

const CERT_PATH: &str = "server.ssl.cert_path";
const KEY_PATH: &str = "server.ssl.key_path";

/// Why the TLS files or settings cannot be used; each names the config key and, for files, the path.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key}: {}: cannot read: {source}", path.display())]
    Unreadable {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key}: {}: {problem}", path.display())]
    Invalid {
        key: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("server.ssl.key_path: {}: does not match the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("server.ssl.ciphers: OpenSSL accepts none of {ciphers:?}: {detail}")]
    Ciphers { ciphers: String, detail: ErrorStack },
    #[error("server.ssl: cannot set up OpenSSL: {0}")]
    Setup(String),
}

/// A certificate chain and the private key of its leaf, checked to belong together.
pub struct CertifiedKey {
    leaf: X509,
    chain: Vec<X509>,
    key: PKey<Private>,
}

/// What the handshakes present; `ops` swaps it on SIGHUP.
pub type CertStore = Arc<ArcSwap<CertifiedKey>>;

impl CertifiedKey {
    /// Reads `cert_path` (PEM: the leaf, then any intermediates) and `key_path` (PEM, unencrypted).
    /// Blocking file reads: call it at start-up or from `spawn_blocking`.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
        let read = |key, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Unreadable {
                key,
                path: path.to_path_buf(),
                source,
            })
        };
        let cert_pem = read(CERT_PATH, cert_path)?;
        let key_pem = read(KEY_PATH, key_path)?;
        CertifiedKey::from_pem(&cert_pem, &key_pem, cert_path, key_path)
    }

    /// Parses and checks PEM text; the paths only name the files in errors.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<CertifiedKey, TlsError> {
        let invalid = |key, path: &Path, problem: String| TlsError::Invalid {
            key,
            path: path.to_path_buf(),
            problem,
        };
        let mut certs = X509::stack_from_pem(cert_pem)
            .map_err(|e| invalid(CERT_PATH, cert_path, format!("not a PEM certificate: {e}")))?;
        if certs.is_empty() {
            return Err(invalid(
                CERT_PATH,
                cert_path,
                "holds no PEM certificate".into(),
            ));
        }
        let leaf = certs.remove(0);
        // An empty passphrase: an encrypted key fails here instead of OpenSSL asking the terminal.
        let key = PKey::private_key_from_pem_callback(key_pem, |_| Ok(0)).map_err(|e| {
            invalid(
                KEY_PATH,
                key_path,
                format!("not an unencrypted PEM private key: {e}"),
            )
        })?;
        let public = leaf.public_key().map_err(|e| {
            invalid(
                CERT_PATH,
                cert_path,
                format!("unusable public key in the certificate: {e}"),
            )
        })?;
        if !key.public_eq(&public) {
            return Err(TlsError::Mismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            });
        }
        Ok(CertifiedKey {
            leaf,
            chain: certs,
            key,
        })
    }

    /// The leaf's [`fingerprint`].
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.leaf)
    }

    /// The leaf's expiry, as OpenSSL prints it (`Jan  1 00:00:00 2030 GMT`).
    pub fn not_after(&self) -> String {
        self.leaf.not_after().to_string()
    }

    /// Sets this pair on one connection.
    fn present(&self, ssl: &mut TlsRef) -> Result<(), ErrorStack> {
        ssl.set_certificate(&self.leaf)?;
        ssl.set_private_key(&self.key)?;
        for cert in &self.chain {
            ssl.add_chain_cert(cert.clone())?;
        }
        Ok(())
    }
}

/// SHA-256 of a certificate, as `openssl x509 -noout -fingerprint -sha256` prints it (`AB:CD:...`).
pub fn fingerprint(cert: &X509Ref) -> String {
    cert.digest(MessageDigest::sha256())
        .map(|d| {
            d.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default()
}

/// The listener's TLS settings: `ssl`'s protocol floor and cipher list, ALPN preferring h2 over
/// http/1.1, and the pair in `certs` at the moment of each handshake.
pub fn settings(ssl: &SslConfig, certs: CertStore) -> Result<TlsSettings, TlsError> {
    let mut settings = TlsSettings::with_callbacks(Box::new(PresentCurrent(certs)))
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    configure(&mut settings, ssl)?;
    settings.enable_h2();
    Ok(settings)
}

/// Applies the protocol floor and the TLS 1.2 cipher list on top of pingora's Mozilla
/// intermediate defaults (which keep their TLS 1.3 suites: OpenSSL configures those separately).
fn configure(builder: &mut SslAcceptorBuilder, ssl: &SslConfig) -> Result<(), TlsError> {
    let floor = match ssl.min_tls_version {
        TlsVersion::V1_2 => SslVersion::TLS1_2,
        TlsVersion::V1_3 => SslVersion::TLS1_3,
    };
    builder
        .set_min_proto_version(Some(floor))
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    if let Some(ciphers) = &ssl.ciphers {
        builder
            .set_cipher_list(ciphers)
            .map_err(|detail| TlsError::Ciphers {
                ciphers: ciphers.clone(),
                detail,
            })?;
        if ssl.min_tls_version == TlsVersion::V1_3 {
            tracing::warn!(
                %ciphers,
                "server.ssl.ciphers applies to TLS 1.2 only; with min_tls_version 1.3 it has no effect"
            );
        }
    }
    Ok(())
}

/// pingora's per-handshake hook: presents whatever pair the store holds right now.
struct PresentCurrent(CertStore);

#[async_trait]
impl TlsAccept for PresentCurrent {
    async fn certificate_callback(&self, ssl: &mut TlsRef) {
        if let Err(e) = self.0.load().present(ssl) {
            // Left without a certificate, this one handshake fails; the next one tries again.
            tracing::error!(error = %e, "cannot set the TLS certificate on a connection");
        }
    }
}

#[cfg(test)]
mod tests;
