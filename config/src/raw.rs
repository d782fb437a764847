//! The config as written: serde shapes with every field optional, checked later by `validate`.
//!
//! Enumerations are kept as strings here so that validation can name the accepted values and report
//! every bad one at once; keys this build knows from the seed but does not implement are kept as raw
//! YAML values so they can be warned about instead of silently dropped.
//!
//! `ucp config-schema` derives its JSON Schema from these shapes (`crate::schema`), so the schema
//! accepts what the parser accepts.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_yaml_ng::Value;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawConfig {
    pub server: Option<RawServer>,
    pub tool_zoo: Option<RawToolZoo>,
    pub router: Option<RawRouter>,
    pub session: Option<RawSession>,
    pub downstream_servers: Option<Vec<RawDownstream>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawServer {
    pub name: Option<String>,
    pub region: Option<String>,
    pub transport: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub log_output: Option<RawOneOrMany>,
    pub sanitize_logs: Option<bool>,
    pub max_body_bytes: Option<usize>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allow_public_without_auth: Option<bool>,
    pub admit_ops_endpoints: Option<bool>,
    pub drain_timeout: Option<f64>,
    pub ready_timeout: Option<f64>,
    pub ssl: Option<RawSsl>,
    pub auth: Option<RawAuth>,
    pub metrics: Option<RawMetrics>,
    pub ui: Option<RawUi>,
    pub limits: Option<RawLimits>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawLimits {
    pub header_timeout: Option<f64>,
    pub body_timeout: Option<f64>,
    pub keepalive_timeout: Option<f64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_peer: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_headers: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawSsl {
    pub enabled: Option<bool>,
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
    pub min_tls_version: Option<RawScalar>,
    pub ciphers: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawAuth {
    pub enabled: Option<bool>,
    pub provider: Option<String>,
    pub secret: Option<String>,
    pub public_key_path: Option<String>,
    pub jwks_path: Option<String>,
    pub algorithms: Option<RawOneOrMany>,
    pub issuer: Option<String>,
    pub audience: Option<RawOneOrMany>,
    pub leeway: Option<u64>,
    pub identity_claim: Option<String>,
    pub groups_claim: Option<String>,
    pub api_keys: Option<Vec<RawApiKey>>,
    pub resource: Option<String>,
    pub authorization_servers: Option<Vec<String>>,
    pub scopes_supported: Option<Vec<String>>,
    pub required_scopes: Option<Vec<String>>,
    pub rate_limit: Option<RawRateLimit>,
    pub policy: Option<RawPolicy>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawPolicy {
    pub default: Option<String>,
    pub rules: Option<Vec<RawPolicyRule>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawPolicyRule {
    pub identities: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    pub claims: Option<BTreeMap<String, String>>,
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawApiKey {
    pub identity: Option<String>,
    pub hash: Option<String>,
    pub groups: Option<Vec<String>>,
    pub revoked: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawRateLimit {
    pub requests_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawMetrics {
    pub enabled: Option<bool>,
    pub port: Option<u16>,
    pub path: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawUi {
    pub enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawToolZoo {
    pub embedding_model: Option<String>,
    pub top_k: Option<usize>,
    pub similarity_threshold: Option<f64>,
    pub persist_dir: Option<String>,
    pub cache_embeddings: Option<bool>,
    pub max_query_bytes: Option<usize>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "crate::schema::ignored_key")]
    pub chromadb_server: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "crate::schema::ignored_key")]
    pub cache_dir: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "crate::schema::ignored_key")]
    pub cache_ttl: Option<Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawRouter {
    pub mode: Option<String>,
    pub exposure: Option<String>,
    pub max_tools: Option<usize>,
    pub per_server_cap: Option<usize>,
    pub separator: Option<String>,
    pub pinned: Option<Vec<String>>,
    pub enable_co_occurrence: Option<bool>,
    pub enable_learning: Option<bool>,
    pub cache: Option<RawCache>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawCache {
    pub enabled: Option<bool>,
    pub max_size: Option<usize>,
    pub max_bytes: Option<usize>,
    pub ttl: Option<f64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawSession {
    pub backend: Option<String>,
    pub redis: Option<RawRedis>,
    pub persist_dir: Option<String>,
    pub max_history: Option<usize>,
    pub ttl: Option<f64>,
    pub max_sessions: Option<usize>,
    pub max_sessions_per_identity: Option<usize>,
    pub idle_timeout: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "crate::schema::ignored_key")]
    pub affinity: Option<Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawRedis {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub db: Option<i64>,
    pub password: Option<String>,
    pub pool_size: Option<usize>,
    pub tls: Option<RawRedisTls>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "crate::schema::ignored_key")]
    pub max_connections: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "crate::schema::ignored_key")]
    pub save_interval: Option<Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawRedisTls {
    pub enabled: Option<bool>,
    pub ca_path: Option<String>,
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct RawDownstream {
    pub name: Option<String>,
    pub prefix: Option<String>,
    pub transport: Option<String>,
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
    pub url: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<String>>,
    pub timeout: Option<f64>,
    pub max_result_bytes: Option<usize>,
    pub enabled: Option<bool>,
}

/// A key that is present, even as `null`, is `Some`: used for keys we only warn about.
fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(de).map(Some)
}

/// Any scalar kept as text, so `min_tls_version: 1.2` and `"1.2"` read the same.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawScalar(pub String);

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = RawScalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_owned()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawScalar, E> {
                Ok(RawScalar(v.to_string()))
            }
        }
        de.deserialize_any(ScalarVisitor)
    }
}

/// A value written as one string or as a list of strings (`log_output`, `auth.audience`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawOneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for RawOneOrMany {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = RawOneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawOneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(RawOneOrMany::Many(items))
            }
        }
        de.deserialize_any(OneOrMany)
    }
}
