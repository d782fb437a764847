//! The access-log stage: one structured record per request (and the seed's selection line), plus
//! the redaction that `server.sanitize_logs` applies to every log line.
//!
//! The stage writes its fields as they are: redaction happens once, where every record passes on
//! its way out (the log writer in `ops` holds a [`Redactor`]), so the dependencies' lines are
//! covered too and nothing is redacted twice.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use ucp_proxy::{Exchange, Outcome, Stage, Transport};

/// Writes the access record of each request after it has been answered.
#[derive(Debug, Default)]
pub struct SanitizeLog;

impl SanitizeLog {
    pub fn new() -> Self {
        SanitizeLog
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
        let target = ex.target.as_deref().unwrap_or("");
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
                if let Some(selected) = ex.select.as_ref().and_then(|w| w.answer.as_ref()) {
                    let tools_selected: Vec<&str> =
                        selected.iter().map(|t| t.name.as_str()).collect();
                    let selection_duration_ms = ex
                        .timings
                        .selection
                        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
                    let cached = ex.select.as_ref().is_some_and(|w| w.cached);
                    tracing::info!(target: "ucp::access", component = "router", session_id = session,
                        identity, tools_selected = ?tools_selected, selection_duration_ms, cached,
                        "Selected {} tools for session {session}", tools_selected.len());
                }
                tracing::info!(target: "ucp::access", component = "router", method, target, server,
                    transport, identity, session, peer, duration_ms, "request served")
            }
        }
    }
}

static SECRET_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let key = r"(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|token|secret|client[_-]?secret|password|passwd|pwd|authorization|private[_-]?key|session[_-]?id|cookie)";
    // A quote, bare or escaped (inside a JSON log record, a logged JSON text has `\"`).
    let q = r#"(?:\\?")?"#;
    [
        // JSON Web Tokens anywhere.
        (r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*".to_string(), "[REDACTED]"),
        // Authorization schemes.
        (r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}".to_string(), "$1 [REDACTED]"),
        // Well-known token formats (GitHub, Slack, OpenAI/Anthropic style, AWS access keys).
        (r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16})\b".to_string(), "[REDACTED]"),
        // key=value, key: value, "key": "value" for secret-looking keys.
        (format!(r#"(?i)({q}[A-Za-z0-9_-]*{key}[A-Za-z0-9_-]*{q}\s*[:=]\s*{q})([^"\\\s,;&}}]+)"#), "${1}[REDACTED]"),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (Regex::new(&pattern).expect("valid redaction pattern"), replacement))
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

/// Shortest configured value redacted word for word (shorter ones would blank ordinary words).
pub const MIN_LITERAL_SECRET: usize = 6;

/// The one redaction every log line passes: the secret shapes of [`redact`], plus the literal
/// values the configuration holds (downstream `env` and `headers` values, the JWT secret, the
/// Redis password), which have no recognisable shape.
#[derive(Debug)]
pub struct Redactor {
    literals: Option<Regex>,
}

impl Redactor {
    /// `literals`: values to redact wherever they appear; ones under [`MIN_LITERAL_SECRET`]
    /// bytes are left to the patterns.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(literals: I) -> Redactor {
        let mut values: Vec<String> = literals
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .filter(|s| s.len() >= MIN_LITERAL_SECRET)
            .collect();
        // Longest first, so a value that contains another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        let literals = (!values.is_empty()).then(|| {
            let alternatives: Vec<String> = values
                .iter()
                .flat_map(|v| {
                    // As written, and as it appears inside a JSON string (escaped).
                    let escaped = serde_json::to_string(v).unwrap_or_default();
                    let escaped = escaped.trim_matches('"').to_string();
                    [regex::escape(v), regex::escape(&escaped)]
                })
                .collect();
            Regex::new(&alternatives.join("|")).expect("escaped literals form a valid pattern")
        });
        Redactor { literals }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let shaped = redact(text);
        let Some(literals) = &self.literals else {
            return shaped;
        };
        let replaced = match literals.replace_all(&shaped, "[REDACTED]") {
            Cow::Owned(replaced) => Some(replaced),
            Cow::Borrowed(_) => None,
        };
        replaced.map_or(shaped, Cow::Owned)
    }
}

#[cfg(test)]
mod tests;
