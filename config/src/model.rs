//! The validated configuration: what the rest of UCP reads. Built only by `parse` (or `Default`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A whole, validated UCP config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub server: ServerConfig,
    pub tool_zoo: ToolZooConfig,
    pub router: RouterConfig,
    pub session: SessionConfig,
    pub downstream_servers: Vec<DownstreamConfig>,
}

/// The client-facing side: listener, logging, TLS, auth, metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub name: String,
    /// This instance's region (`/health`, a label on every metric); `None` when not set.
    pub region: Option<String>,
    pub transport: ServerTransport,
    pub host: String,
    /// 0 means an ephemeral port.
    pub port: u16,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub log_output: Vec<LogOutput>,
    pub sanitize_logs: bool,
    pub max_body_bytes: usize,
    /// Empty means only same-host / loopback origins are allowed (the proxy decides).
    pub allowed_origins: Vec<String>,
    /// Host names (without port) the HTTP front answers besides loopback ones; empty on a
    /// non-loopback bind turns the Host check off (a proxy in front owns the names).
    pub allowed_hosts: Vec<String>,
    /// Serve a non-loopback address with `auth` off (refused otherwise).
    pub allow_public_without_auth: bool,
    /// `/health` and `/metrics` pass the admission stages (authentication, limits) too.
    pub admit_ops_endpoints: bool,
    /// How long requests in flight get to finish after SIGTERM before the gateway exits anyway.
    pub drain_timeout: Duration,
    /// At start, how long a request waits for every downstream server to list its tools (or fail
    /// to connect) before it is served with whatever catalog there is.
    pub ready_timeout: Duration,
    pub ssl: SslConfig,
    pub auth: AuthConfig,
    pub metrics: MetricsConfig,
    pub ui: UiConfig,
    pub limits: ConnectionLimits,
}

/// What one HTTP client connection may take (`server.limits`): the defences against slow or
/// oversized requests and connection floods.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionLimits {
    /// The whole request head must arrive within this time, from its first byte (slowloris).
    pub header_timeout: Duration,
    /// The whole request body must arrive within this time, once the head is in.
    pub body_timeout: Duration,
    /// An idle keep-alive connection is closed after this time.
    pub keepalive_timeout: Duration,
    /// Open client connections overall, and from one peer address; more are closed at once.
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    /// The request head (request line and headers) in bytes, and the number of headers: more
    /// gets 431.
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_connections_per_peer: 256,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: "UCP Gateway".to_owned(),
            region: None,
            transport: ServerTransport::Stdio,
            host: "127.0.0.1".to_owned(),
            port: 8765,
            log_level: LogLevel::Info,
            log_format: LogFormat::Text,
            log_output: vec![LogOutput::Stderr],
            sanitize_logs: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            allow_public_without_auth: false,
            admit_ops_endpoints: false,
            drain_timeout: Duration::from_secs(10),
            ready_timeout: Duration::from_secs(10),
            ssl: SslConfig::default(),
            auth: AuthConfig::default(),
            metrics: MetricsConfig::default(),
            ui: UiConfig::default(),
            limits: ConnectionLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerTransport {
    /// For Claude Desktop and other clients that spawn the gateway.
    #[default]
    Stdio,
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    Json,
    #[default]
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOutput {
    Stdout,
    Stderr,
    /// `file:PATH`, reopened on SIGHUP.
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TlsVersion {
    #[default]
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// `"1.2"` or `"1.3"`, as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
}

/// TLS termination; `cert_path` and `key_path` are always set when `enabled` is true.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SslConfig {
    pub enabled: bool,
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    pub min_tls_version: TlsVersion,
    /// OpenSSL cipher list syntax, e.g. `HIGH:!aNULL:!MD5`.
    pub ciphers: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthProvider {
    #[default]
    Jwt,
    ApiKey,
    OAuth2,
}

/// Who may call the gateway over HTTP (stdio clients are the local user who started it).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    pub enabled: bool,
    pub provider: AuthProvider,
    /// HS256 shared secret (`jwt`).
    pub secret: Option<String>,
    /// A PEM public key (RSA or EC P-256) that verifies tokens (`jwt`, `oauth2`).
    pub public_key_path: Option<PathBuf>,
    /// A JWKS file: keys chosen by the token's `kid` (`jwt`, `oauth2`).
    pub jwks_path: Option<PathBuf>,
    /// Accepted signature algorithms; empty means the one the key implies.
    pub algorithms: Vec<JwtAlgorithm>,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Accepted `aud` values (any one); empty means `aud` is not checked. For `oauth2` it
    /// defaults to `resource`.
    pub audience: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The claim that names the identity (`sub`).
    pub identity_claim: String,
    /// The claim listing the identity's groups (`groups`): an array or a space-separated string.
    pub groups_claim: String,
    pub api_keys: Vec<ApiKeyConfig>,
    pub oauth2: OAuth2Config,
    pub rate_limit: Option<RateLimitConfig>,
    pub policy: PolicyConfig,
}

/// Which tools each caller may see and call. A tool is denied when a rule that applies to the
/// caller denies it; else allowed when such a rule allows it; else `default_allow` decides.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    pub default_allow: bool,
    /// At most [`MAX_POLICY_RULES`].
    pub rules: Vec<PolicyRule>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            default_allow: true,
            rules: Vec::new(),
        }
    }
}

pub const MAX_POLICY_RULES: usize = 64;

/// One rule: who it applies to (any listed identity, group or claim value; nobody listed means
/// everyone) and the patterns it allows and denies. A pattern matches a public tool name with
/// `*` and `?` wildcards; `server:NAME` (wildcards too) matches every tool of those servers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyRule {
    pub identities: Vec<String>,
    pub groups: Vec<String>,
    pub claims: BTreeMap<String, String>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            provider: AuthProvider::Jwt,
            secret: None,
            public_key_path: None,
            jwks_path: None,
            algorithms: Vec::new(),
            issuer: None,
            audience: Vec::new(),
            leeway: Duration::from_secs(30),
            identity_claim: "sub".to_owned(),
            groups_claim: "groups".to_owned(),
            api_keys: Vec::new(),
            oauth2: OAuth2Config::default(),
            rate_limit: None,
            policy: PolicyConfig::default(),
        }
    }
}

/// Signature algorithms a token may use. `none` and the others are never accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    HS256,
    RS256,
    ES256,
}

/// One API key: only its SHA-256 is in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyConfig {
    pub identity: String,
    pub sha256: [u8; 32],
    pub groups: Vec<String>,
    /// Kept in the file for the record, refused like an unknown key.
    pub revoked: bool,
}

/// The OAuth 2.1 resource server's side (RFC 9728 metadata); `resource` is set when the provider
/// is `oauth2`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OAuth2Config {
    /// This gateway's canonical URL, e.g. `https://ucp.example.com/mcp`.
    pub resource: Option<String>,
    /// Defaults to `[issuer]`.
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    /// Scopes every token must carry (in `scope`); a token without them gets 403.
    pub required_scopes: Vec<String>,
}

/// Where RFC 9728 metadata is served: this path, then the resource's own path (if any).
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

impl OAuth2Config {
    /// The metadata URL for `resource` (RFC 9728 section 3.1): the well-known path inserted
    /// between the host and the resource's path.
    pub fn metadata_url(&self) -> Option<String> {
        let resource = self.resource.as_deref()?;
        let (scheme, rest) = resource.split_once("://")?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path.trim_end_matches('/');
        Some(format!("{scheme}://{host}{RESOURCE_METADATA_PATH}{path}"))
    }
}

/// Per-identity limit; both numbers are greater than zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub requests_per_minute: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// `None` serves metrics on the main listener.
    pub port: Option<u16>,
    pub path: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            port: None,
            path: "/metrics".to_owned(),
        }
    }
}

/// The operator page (`/ui`): server states, the catalog, "try a query", recent selections and
/// reloads. Off unless enabled; behind the same admission stages as every other route.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UiConfig {
    pub enabled: bool,
}

/// The tool catalog and its embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolZooConfig {
    pub embedding_model: String,
    pub top_k: usize,
    /// In [-1, 1].
    pub similarity_threshold: f32,
    /// A leading `~` is kept as written; ops expands it.
    pub persist_dir: PathBuf,
    pub cache_embeddings: bool,
    /// Longest accepted search query (`ucp_search_tools`, `/v1/select`), in bytes.
    pub max_query_bytes: usize,
}

/// The model reads at most 256 tokens (~1,000-1,500 characters of English); the longest query of
/// the public dev sets is 1,016 bytes.
pub const DEFAULT_MAX_QUERY_BYTES: usize = 4096;

impl Default for ToolZooConfig {
    fn default() -> Self {
        ToolZooConfig {
            embedding_model: "all-MiniLM-L6-v2".to_owned(),
            top_k: 5,
            similarity_threshold: 0.0,
            persist_dir: PathBuf::from("~/.ucp/data/tool_zoo"),
            cache_embeddings: true,
            max_query_bytes: DEFAULT_MAX_QUERY_BYTES,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouterMode {
    Keyword,
    Semantic,
    #[default]
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exposure {
    /// Pinned tools plus `ucp_search_tools` and `ucp_call_tool`.
    #[default]
    Search,
    /// The top `max_tools` for the session's context.
    Dynamic,
    /// Every tool, namespaced.
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouterConfig {
    pub mode: RouterMode,
    pub exposure: Exposure,
    pub max_tools: usize,
    /// At most this many selected tools from one server (`None`: no cap; YAML 0 means none).
    pub per_server_cap: Option<usize>,
    /// Between server and tool name; non-empty, only `[A-Za-z0-9_-]`.
    pub separator: String,
    pub pinned: Vec<String>,
    pub enable_co_occurrence: bool,
    pub enable_learning: bool,
    pub cache: CacheConfig,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            mode: RouterMode::Hybrid,
            exposure: Exposure::Search,
            max_tools: 10,
            per_server_cap: None,
            separator: "__".to_owned(),
            pinned: Vec::new(),
            enable_co_occurrence: true,
            enable_learning: true,
            cache: CacheConfig::default(),
        }
    }
}

/// Selection cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    pub enabled: bool,
    pub max_size: usize,
    /// Bytes the cache may hold (queries, keys and results), whatever the entry count.
    pub max_bytes: usize,
    pub ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            max_size: 1000,
            max_bytes: 16 << 20,
            ttl: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionBackend {
    /// Embedded RocksDB under `persist_dir`.
    #[default]
    Rocksdb,
    /// Nothing persisted (tests, throwaway runs).
    Memory,
    /// Shared by several instances.
    Redis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    pub backend: SessionBackend,
    pub redis: RedisConfig,
    pub persist_dir: PathBuf,
    pub max_history: usize,
    pub ttl: Duration,
    /// Live MCP sessions the HTTP front holds at most; `initialize` beyond it gets 503.
    pub max_sessions: usize,
    /// Live sessions one identity may hold at most.
    pub max_sessions_per_identity: usize,
    /// A session without any request for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            backend: SessionBackend::Rocksdb,
            redis: RedisConfig::default(),
            persist_dir: PathBuf::from("~/.ucp/data/sessions"),
            max_history: 100,
            max_sessions: 10_000,
            max_sessions_per_identity: 1_000,
            idle_timeout: Duration::from_secs(300),
            ttl: Duration::from_secs(86400),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    pub host: String,
    pub port: u16,
    pub db: i64,
    /// An empty password in YAML is `None`.
    pub password: Option<String>,
    pub pool_size: usize,
    /// `rediss://`: TLS to Redis, verified against `ca_path` (else the system's roots).
    pub tls: RedisTls,
}

/// `session.redis.tls`; `cert_path` and `key_path` are both set or both unset (a client
/// certificate for a Redis with `tls-auth-clients yes`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedisTls {
    pub enabled: bool,
    pub ca_path: Option<PathBuf>,
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            host: "127.0.0.1".to_owned(),
            port: 6379,
            db: 0,
            password: None,
            pool_size: 8,
            tls: RedisTls::default(),
        }
    }
}

/// One MCP server behind the gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct DownstreamConfig {
    /// 1..=32 of `[A-Za-z0-9_-]`, unique.
    pub name: String,
    /// What the server's tool and prompt names are published under: `prefix` + the server's own
    /// name. Defaults to the server's name plus `router.separator`; empty publishes the names as
    /// the server has them. Unique among servers unless empty.
    pub prefix: String,
    pub transport: DownstreamTransport,
    pub tags: Vec<String>,
    pub timeout: Duration,
    /// A stdio server's largest message (a result): a longer one fails its call at once.
    pub max_result_bytes: usize,
    pub enabled: bool,
}

pub const DEFAULT_DOWNSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
/// rmcp's own cap on one stdio line.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum DownstreamTransport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}
