//! The access-log stage: one structured record per request, with secrets redacted from every field
//! when `server.sanitize_logs` is on.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use ucp_proxy::{Exchange, Outcome, Stage, Transport};

/// Writes the access record of each request after it has been answered.
#[derive(Debug)]
pub struct SanitizeLog {
    enabled: bool,
}

impl SanitizeLog {
    pub fn new(enabled: bool) -> Self {
        SanitizeLog { enabled }
    }

    fn clean<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.enabled {
            redact(text)
        } else {
            Cow::Borrowed(text)
        }
    }
}

impl Stage for SanitizeLog {
    fn name(&self) -> &'static str {
        "sanitize_log"
    }

    async fn on_response(&self, ex: &mut Exchange) {
        let failed = !matches!(ex.outcome, Outcome::Ok | Outcome::Pending);
        let level_on = if failed {
            tracing::enabled!(target: "ucp::access", tracing::Level::WARN)
        } else {
            tracing::enabled!(target: "ucp::access", tracing::Level::INFO)
        };
        if ex.transport == Transport::Internal || !level_on {
            return; // nothing to format (the common case of a quiet log costs one check)
        }
        let target = ex.target.as_deref().map(|t| self.clean(t));
        let target = target.as_deref().unwrap_or("");
        let server = ex.server.as_deref().unwrap_or("");
        let session = ex.session_id.as_deref().unwrap_or("");
        let peer = ex.peer.map(|p| p.to_string()).unwrap_or_default();
        let duration_ms = ex.timings.total().as_secs_f64() * 1000.0;
        let (method, transport, identity) = (
            ex.method.as_str(),
            ex.transport.as_str(),
            ex.identity.as_str(),
        );
        match &ex.outcome {
            Outcome::Failed { code, message } => {
                let message = self.clean(message);
                tracing::warn!(target: "ucp::access", component = "router", method, target, server,
                    transport, identity, session, peer, duration_ms, code, error = %message, "request failed");
            }
            Outcome::Refused {
                stage,
                status,
                code,
            } => {
                tracing::warn!(target: "ucp::access", component = "router", method, target, server,
                    transport, identity, session, peer, duration_ms, code, status = status.as_u16(),
                    stage, "request refused");
            }
            Outcome::Status(status) => {
                tracing::warn!(target: "ucp::access", component = "router", method, target, server,
                    transport, identity, session, peer, duration_ms, status = status.as_u16(), "request failed");
            }
            Outcome::Ok | Outcome::Pending => {
                tracing::info!(target: "ucp::access", component = "router", method, target, server,
                    transport, identity, session, peer, duration_ms, "request served")
            }
        }
    }
}

static SECRET_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let key = r"(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|token|secret|client[_-]?secret|password|passwd|pwd|authorization|private[_-]?key|session[_-]?id|cookie)";
    [
        // JSON Web Tokens anywhere.
        (r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", "[REDACTED]"),
        // Authorization schemes.
        (r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}", "$1 [REDACTED]"),
        // Well-known token formats (GitHub, Slack, OpenAI/Anthropic style, AWS access keys).
        (r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16})\b", "[REDACTED]"),
        // key=value, key: value, "key": "value" for secret-looking keys.
        (&format!(r#"(?i)("?[A-Za-z0-9_-]*{key}[A-Za-z0-9_-]*"?\s*[:=]\s*"?)([^"\s,;&}}]+)"#), "${1}[REDACTED]"),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (Regex::new(pattern).expect("valid redaction pattern"), replacement))
    .collect()
});

/// Replaces tokens, keys, passwords, JWTs and `Authorization` values in `text` with `[REDACTED]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (pattern, replacement) in SECRET_PATTERNS.iter() {
        if let Cow::Owned(replaced) = pattern.replace_all(&out, *replacement) {
            out = Cow::Owned(replaced);
        }
    }
    out
}

#[cfg(test)]
mod tests;
