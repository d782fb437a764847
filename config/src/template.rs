//! The commented config written by `ucp init-config`: every key, its default, one line on what it does.

/// Parses with no errors, no warnings and an empty environment (see the tests in `load`).
pub const INIT_TEMPLATE: &str = r#"# UCP gateway configuration.
#
# Values may use ${VAR} or ${VAR:-default}; variables come from the environment and from a .env
# file beside this config. Write $${ for a literal "${". Durations are in seconds.
# Check a config with: ucp check-config -c FILE

server:
  # Name reported to MCP clients in the initialize handshake.
  name: "UCP Gateway"
  # stdio (Claude Desktop and other clients that spawn the gateway) or http (Streamable HTTP at /mcp).
  transport: stdio
  # Address and port of the HTTP listener; port 0 picks a free port.
  host: "127.0.0.1"
  port: 8765
  # trace, debug, info, warning or error.
  log_level: info
  # text or json (json records carry timestamp, level, component, message, context).
  log_format: text
  # One or a list of: stdout, stderr, file:/path/to/ucp.log (files are reopened on SIGHUP).
  log_output: [stderr]
  # Redact tokens, keys, passwords, JWTs and Authorization values in log records.
  sanitize_logs: true
  # Largest accepted HTTP request body, in bytes (at least 1024).
  max_body_bytes: 4194304
  # Browser origins allowed to call /mcp, e.g. ["https://app.example.com"]; empty allows only the
  # gateway's own host and loopback origins.
  allowed_origins: []
  # Whether /health and /metrics pass the request stages (authentication, rate limits) like every
  # other request; false answers them first, so load balancers and Prometheus need no credentials.
  admit_ops_endpoints: false
  # After SIGTERM: stop accepting, end notification streams (clients reconnect elsewhere), and
  # give requests in flight this many seconds to finish before stopping the servers and exiting.
  drain_timeout: 10
  # At start, requests wait up to this many seconds for every downstream server to list its tools
  # (or to fail), so a new instance behind a load balancer never answers "unknown tool" for a
  # server that is still starting. /health and /metrics answer at once.
  ready_timeout: 10
  # This instance's region, shown in /health and added as a `region` label to every metric (for
  # per-region instances behind one dashboard), e.g. eu-west-1. Unset: no label.
  # region: eu-west-1
  # Host names (no port) the HTTP listener answers besides localhost, 127.0.0.1 and ::1; a request
  # with another Host gets 403 on every route (DNS rebinding). Empty on a non-loopback bind turns
  # the check off, for a proxy in front that owns the public names.
  allowed_hosts: []
  # What one client connection may take. The whole request head must arrive within
  # header_timeout seconds (slowloris), the body within body_timeout; an idle keep-alive
  # connection closes after keepalive_timeout. Connections beyond max_connections overall or
  # max_connections_per_peer from one address are closed at once. A head over max_header_bytes or
  # with more than max_headers headers gets 431.
  limits:
    header_timeout: 10
    body_timeout: 30
    keepalive_timeout: 60
    max_connections: 4096
    max_connections_per_peer: 256
    max_header_bytes: 65536
    max_headers: 100
  # A non-loopback host with auth disabled lets anyone who can reach it use every tool: `serve`
  # refuses it unless this is true.
  allow_public_without_auth: false

  ssl:
    # Terminate TLS on the HTTP listener; cert_path and key_path are then required.
    enabled: false
    # PEM certificate chain and private key (re-read on SIGHUP).
    # cert_path: /etc/ucp/ssl/cert.pem
    # key_path: /etc/ucp/ssl/key.pem
    # Oldest TLS version accepted: "1.2" or "1.3".
    min_tls_version: "1.2"
    # OpenSSL cipher list; unset uses the TLS library's defaults.
    # ciphers: "HIGH:!aNULL:!MD5"

  auth:
    # Require credentials on the HTTP transport.
    enabled: false
    # jwt, apikey or oauth2.
    provider: jwt
    # jwt: one of secret (HS256), public_key_path (PEM, RS256 or ES256) or jwks_path (keys by kid).
    # secret: "${JWT_SECRET}"
    # public_key_path: /etc/ucp/jwt_public.pem
    # jwks_path: /etc/ucp/jwks.json
    # Accepted algorithms (HS256, RS256, ES256); unset accepts only the one the key implies.
    # algorithms: [RS256]
    # Required iss, and accepted aud values (oauth2: aud defaults to resource).
    # issuer: "https://idp.example.com"
    # audience: ucp
    # Clock skew allowed on exp and nbf, in seconds (at most 300).
    leeway: 30
    # Which claims name the identity and list its groups.
    identity_claim: sub
    groups_claim: groups
    # apikey: each key's SHA-256 (print one with `ucp hash-api-key`), never the key itself.
    # api_keys:
    #   - identity: team-search
    #     hash: "sha256:<64 hex digits>"
    #     groups: [search]
    #     revoked: false
    # oauth2 (an OAuth 2.1 resource server): this gateway's URL, served as RFC 9728 metadata at
    # /.well-known/oauth-protected-resource; tokens must be issued for it.
    # resource: "https://ucp.example.com/mcp"
    # authorization_servers: ["https://idp.example.com"]
    # scopes_supported: [mcp]
    # required_scopes: [mcp]
    # Which tools each caller may see and call (tools/list, searches, /v1/select, calls). A
    # tool is denied when a rule for the caller denies it, else allowed when one allows it, else
    # `default` decides. Rules apply to identities, groups or claims (none listed: everyone);
    # patterns match public tool names with * and ?, or server:NAME.
    # policy:
    #   default: allow
    #   rules:
    #     - groups: [eng]
    #       identities: [alice]
    #       claims: {dept: platform}
    #       allow: ["github__*"]
    #       deny: ["github__delete_*", "server:prod-db"]
    # Per-identity request limit; over it, HTTP 429 with Retry-After. Both numbers must be > 0.
    # rate_limit:
    #   requests_per_minute: 100
    #   burst: 20

  metrics:
    # Serve Prometheus metrics.
    enabled: true
    # Separate port for metrics; unset serves them on the main listener.
    # port: 9090
    # URL path of the metrics endpoint.
    path: /metrics

  ui:
    # The operator page at /ui (HTTP only): downstream server states, the catalog with search,
    # "try a query" with each signal's score, recent selections and reloads. Behind the same
    # authentication as every other route (send the API key or token as a header).
    enabled: false

tool_zoo:
  # Sentence-embedding model used for semantic search (384-d, ONNX).
  embedding_model: "all-MiniLM-L6-v2"
  # How many tools a search returns.
  top_k: 5
  # Minimum cosine similarity for a semantic match, between -1 and 1.
  similarity_threshold: 0.0
  # Where the tool catalog, embeddings and index snapshot are stored (RocksDB).
  persist_dir: "~/.ucp/data/tool_zoo"
  # Keep embeddings across restarts so unchanged tools are never re-embedded.
  cache_embeddings: true
  # Longest search query accepted (ucp_search_tools, /v1/select), in bytes; longer ones get an
  # invalid-params error. The model reads ~1,000-1,500 characters of a query at most.
  max_query_bytes: 4096

router:
  # keyword (BM25), semantic (embeddings) or hybrid (both, fused).
  mode: hybrid
  # What tools/list shows: search (pinned tools plus ucp_search_tools and ucp_call_tool),
  # dynamic (the top max_tools for the session's context) or all (every tool).
  exposure: search
  # How many tools dynamic exposure lists at most.
  max_tools: 10
  # At most this many selected tools from one server (0 = no cap).
  per_server_cap: 0
  # Between server and tool name in namespaced tool names ([A-Za-z0-9_-] only).
  separator: "__"
  # Namespaced tools always listed, e.g. ["everything__echo"].
  pinned: []
  # Tools used together in a session boost each other.
  enable_co_occurrence: true
  # Tools called after a search gain weight for similar queries.
  enable_learning: true
  cache:
    # Cache tool selections for repeated contexts.
    enabled: true
    # Most entries kept.
    max_size: 1000
    # Most bytes kept (queries and results), whatever the entry count.
    max_bytes: 16777216
    # Seconds an entry stays valid.
    ttl: 3600

session:
  # rocksdb (embedded, under persist_dir), redis (shared by several instances) or memory (nothing kept).
  backend: rocksdb
  # Used when backend is redis.
  redis:
    host: "127.0.0.1"
    port: 6379
    db: 0
    # Leave empty for no password.
    password: "${REDIS_PASSWORD:-}"
    # Connections kept open.
    pool_size: 8
    # TLS to Redis, verified against ca_path (unset: the system's roots). cert_path and key_path
    # (PEM, PKCS#8 key) only for a Redis that asks for client certificates (tls-auth-clients).
    tls:
      enabled: false
      # ca_path: /etc/ucp/redis-ca.pem
  # Where sessions are stored with the rocksdb backend.
  persist_dir: "~/.ucp/data/sessions"
  # Events (searches, tool calls) kept per session.
  max_history: 100
  # Seconds of inactivity before a session expires.
  ttl: 86400
  # Live MCP sessions over HTTP, overall and per identity; an initialize beyond either gets 503.
  max_sessions: 10000
  max_sessions_per_identity: 1000
  # Seconds without a request after which an HTTP session is closed (its client re-initializes).
  idle_timeout: 300

# MCP servers behind the gateway. Each one's tools and prompts appear as <prefix><tool>, where
# prefix defaults to <name><separator>; prefix: "" publishes the server's own names (a name two
# servers publish stays with the first and is held back from the other, with a warning).
# Keys: name (1-32 of [A-Za-z0-9_-], unique), prefix, transport (stdio or http; inferred from command or url),
# command, args, env, cwd (stdio, with max_result_bytes: a longer message fails its call at once,
# default 16777216); url, headers (http); tags, timeout (seconds, default 30), enabled.
downstream_servers:
  - name: everything
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-everything"]
    # Extra environment for the child process, e.g. API_TOKEN: "${API_TOKEN}".
    env: {}
    tags: [example, test]
    timeout: 30
    enabled: true

  # - name: remote
  #   transport: http
  #   url: "https://mcp.example.com/mcp"
  #   headers:
  #     Authorization: "Bearer ${REMOTE_TOKEN}"
  #   tags: [remote]
  #   timeout: 30
"#;
