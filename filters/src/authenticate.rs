//! The authentication stage: at the head of every HTTP request (`initialize`, the GET stream,
//! DELETE, `/v1/*`, and `/health` / `/metrics` when they are admitted) the presented credential
//! becomes a verified identity, or the request is answered 401 with a `WWW-Authenticate`
//! challenge (RFC 6750; with `resource_metadata` for an OAuth 2.1 resource server, RFC 9728).
//! stdio clients are the local user who started the gateway and pass as `local`.

mod verify;

use std::path::Path;
use std::sync::Arc;

use http::StatusCode;
use ucp_config::{AuthConfig, AuthProvider};
use ucp_proxy::{Exchange, Flow, Identity, ProxyError, Refusal, Stage, Transport};

pub use verify::{Failure, Verifier, api_key_hash};

/// How stages read files they are configured with (key files); `ops` hands in the real one.
pub trait ReadFile: Send + Sync {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
}

/// For builds that read no files (tests, benches): every read fails.
pub struct NoFiles;

impl ReadFile for NoFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("no file reader was handed in to read {}", path.display()),
        ))
    }
}

pub struct Authenticate {
    verifier: Verifier,
    /// `Bearer realm="ucp"` plus, for `oauth2`, `resource_metadata="..."`.
    challenge: String,
    failures: prometheus::IntCounterVec,
}

impl Authenticate {
    pub fn new(
        auth: &AuthConfig,
        files: &dyn ReadFile,
        failures: prometheus::IntCounterVec,
    ) -> Result<Authenticate, String> {
        let verifier = Verifier::from_config(auth, files)?;
        let mut challenge = match auth.provider {
            AuthProvider::ApiKey => "ApiKey realm=\"ucp\"".to_owned(),
            _ => "Bearer realm=\"ucp\"".to_owned(),
        };
        if auth.provider == AuthProvider::OAuth2
            && let Some(url) = auth.oauth2.metadata_url()
        {
            challenge.push_str(&format!(", resource_metadata=\"{url}\""));
        }
        if !auth.oauth2.required_scopes.is_empty() {
            challenge.push_str(&format!(
                ", scope=\"{}\"",
                auth.oauth2.required_scopes.join(" ")
            ));
        }
        Ok(Authenticate {
            verifier,
            challenge,
            failures,
        })
    }

    fn refusal(&self, failure: Failure) -> ProxyError {
        // RFC 6750 section 3.1: no error code when the request carried no credentials.
        let (status, challenge) = match failure {
            Failure::Missing => (StatusCode::UNAUTHORIZED, self.challenge.clone()),
            Failure::Scope => (
                StatusCode::FORBIDDEN,
                format!(
                    "{}, error=\"insufficient_scope\", error_description=\"{}\"",
                    self.challenge,
                    failure.description()
                ),
            ),
            _ => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "{}, error=\"invalid_token\", error_description=\"{}\"",
                    self.challenge,
                    failure.description()
                ),
            ),
        };
        ProxyError::Refused(
            Refusal::new(status, format!("unauthorized: {}", failure.description()))
                .challenge(challenge),
        )
    }
}

impl Stage for Authenticate {
    fn name(&self) -> &'static str {
        "authenticate"
    }

    async fn on_request(&self, ex: &mut Exchange) -> Flow {
        if ex.transport != Transport::Http {
            return Flow::Next;
        }
        // Taken, not read: nothing after this stage holds the client's secret.
        let credential = ex.credential.take();
        match self.verifier.verify(credential.as_ref()) {
            Ok(principal) => {
                ex.identity = Identity::Verified(principal);
                Flow::Next
            }
            Err(failure) => {
                self.failures.with_label_values(&[failure.label()]).inc();
                tracing::warn!(component = "auth", reason = failure.label(),
                    peer = %ex.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                    method = ex.method.as_str(), "authentication failed");
                Flow::Reply(self.refusal(failure))
            }
        }
    }
}

/// Shared handle type for the file reader.
pub type Files = Arc<dyn ReadFile>;
