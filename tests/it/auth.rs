//! Authentication from outside: real keys made with openssl, tokens signed with them, a real MCP
//! server behind the gateway that records every call it gets. Every bad credential is answered 401
//! (403 for a missing scope) with a `WWW-Authenticate` challenge and reaches no downstream; a
//! session opened by one identity is not found by another.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::harness::*;

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "ucp-test";
const RESOURCE: &str = "https://ucp.test/mcp";

/// Keys made for one test with the openssl CLI.
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        let keys = Keys {
            dir: tempfile::tempdir().unwrap(),
        };
        for name in ["rsa", "rsa_other"] {
            keys.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &keys.file(name),
            ]);
            keys.openssl(&[
                "pkey",
                "-in",
                &keys.file(name),
                "-pubout",
                "-out",
                &keys.file(&format!("{name}_pub")),
            ]);
        }
        keys.openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &keys.file("ec"),
        ]);
        keys.openssl(&[
            "pkey",
            "-in",
            &keys.file("ec"),
            "-pubout",
            "-out",
            &keys.file("ec_pub"),
        ]);
        // A JWKS with the EC key under kid "ec-1" and the RSA key under "rsa-1".
        let jwk = |name: &str, alg: Algorithm, kid: &str| {
            let mut jwk = serde_json::to_value(
                jsonwebtoken::jwk::Jwk::from_encoding_key(&keys.encoding(name, alg), alg).unwrap(),
            )
            .unwrap();
            jwk["kid"] = json!(kid);
            jwk
        };
        let jwks = json!({"keys": [jwk("ec", Algorithm::ES256, "ec-1"), jwk("rsa", Algorithm::RS256, "rsa-1")]});
        std::fs::write(keys.path("jwks.json"), jwks.to_string()).unwrap();
        keys
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl (apt: openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str) -> String {
        self.path(&format!("{name}.pem")).display().to_string()
    }

    fn pem(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).unwrap()
    }

    fn encoding(&self, name: &str, alg: Algorithm) -> EncodingKey {
        match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&self.pem(name)).unwrap(),
            _ => EncodingKey::from_rsa_pem(&self.pem(name)).unwrap(),
        }
    }

    /// A token signed by key `name` with `alg`.
    fn sign(&self, name: &str, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding(name, alg)).unwrap()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "nbf": now() - 5,
           "groups": ["eng"]})
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

fn hs(secret: &[u8], alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// base64url without padding (to craft tokens no library would sign).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A gateway with `auth` (YAML lines under `server:`) in front of the recording server.
struct Fixture {
    gw: GatewayProcess,
    calls: tempfile::NamedTempFile,
}

impl Fixture {
    fn start(auth: &str) -> Fixture {
        let calls = tempfile::NamedTempFile::new().unwrap();
        let server = stdio_server(
            "named",
            &python_bin(),
            &[&repo_file("tests/fixtures/named_tools_server.py"), "probe"],
        ) + &format!(
            "    env:\n      NAMED_TOOLS_CALL_LOG: {:?}\n",
            calls.path().display().to_string()
        );
        let gw = GatewayProcess::start(&http_config(&[server], auth));
        Fixture { gw, calls }
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.calls.path()).unwrap()
    }

    /// Opens a session with `token` and returns its id once `named__probe` answers through it.
    async fn session(&self, token: &str) -> String {
        let auth = format!("Bearer {token}");
        let (status, headers, body) = post(
            &self.gw.mcp_url(),
            initialize_body(),
            &[("authorization", &auth)],
        )
        .await;
        assert_eq!(status, 200, "initialize with a good token: {body}");
        let id = headers["mcp-session-id"].to_str().unwrap().to_string();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
        let (status, _, _) = post(
            &self.gw.mcp_url(),
            note,
            &[("authorization", &auth), ("mcp-session-id", &id)],
        )
        .await;
        assert_eq!(status, 202);
        eventually(
            std::time::Duration::from_secs(60),
            "named__probe through the session",
            || {
                let (auth, id) = (auth.clone(), id.clone());
                async move {
                    let (status, _, body) = post(
                        &self.gw.mcp_url(),
                        probe("ready"),
                        &[("authorization", &auth), ("mcp-session-id", &id)],
                    )
                    .await;
                    (status == 200
                        && messages(&body)
                            .iter()
                            .any(|m| m["result"]["content"][0]["text"] == "probe says ready"))
                    .then_some(())
                }
            },
        )
        .await;
        id
    }
}

fn probe(text: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
           "params": {"name": "named__probe", "arguments": {"text": text}}})
    .to_string()
}

/// `assert_refused` with `Authorization: Bearer <token>`.
async fn assert_bearer_refused(fx: &Fixture, case: &str, id: &str, token: &str, status: u16) {
    let bearer = format!("Bearer {token}");
    assert_refused(fx, case, id, &[("authorization", &bearer)], status).await;
}

/// Sends `tools/call named__probe` in session `id` with `headers`; asserts the refusal.
async fn assert_refused(fx: &Fixture, case: &str, id: &str, headers: &[(&str, &str)], status: u16) {
    let mut all = headers.to_vec();
    all.push(("mcp-session-id", id));
    let (got, response_headers, body) = post(&fx.gw.mcp_url(), probe(case), &all).await;
    assert_eq!(got, status, "{case}: {body}");
    let challenge = response_headers
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("{case}: no WWW-Authenticate"))
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("realm=\"ucp\""), "{case}: {challenge}");
    let error = &messages(&body)[0]["error"];
    let code = if status == 401 { -32001 } else { -32003 };
    assert_eq!(error["code"], code, "{case}: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_jwts_and_headers_get_401_and_reach_no_downstream() {
    let keys = Keys::new();
    let secret_like_public_key = String::from_utf8(keys.pem("rsa_pub")).unwrap();
    let fx = Fixture::start(&format!(
        "  auth:\n    enabled: true\n    provider: jwt\n    public_key_path: {:?}\n    issuer: {ISSUER}\n    audience: {AUDIENCE}\n",
        keys.file("rsa_pub")
    ));
    let good = keys.sign("rsa", Algorithm::RS256, None, &claims("alice"));
    let id = fx.session(&good).await;
    assert_eq!(
        fx.calls(),
        "probe ready\n",
        "the recording server did not record the good call"
    );

    let rs = |c: Value| keys.sign("rsa", Algorithm::RS256, None, &c);
    let (head, rest) = good.split_once('.').unwrap();
    let signature = good.rsplit('.').next().unwrap();
    let forged_payload = b64(with(claims("alice"), "sub", json!("root"))
        .to_string()
        .as_bytes());
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = rest.split_once('.').unwrap().0;
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            rs(with(claims("alice"), "exp", json!(now() - 3600))),
        ),
        (
            "not yet valid",
            rs(with(claims("alice"), "nbf", json!(now() + 3600))),
        ),
        (
            "wrong issuer",
            rs(with(claims("alice"), "iss", json!("https://evil.test"))),
        ),
        (
            "wrong audience",
            rs(with(claims("alice"), "aud", json!("another-service"))),
        ),
        ("no exp", rs(with(claims("alice"), "exp", Value::Null))),
        ("no iss", rs(with(claims("alice"), "iss", Value::Null))),
        ("no aud", rs(with(claims("alice"), "aud", Value::Null))),
        ("no sub", rs(with(claims("alice"), "sub", Value::Null))),
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "alg none with the signature kept",
            format!("{none_header}.{payload}.{signature}"),
        ),
        (
            "HS256 signed with the public key (confusion)",
            hs(
                secret_like_public_key.as_bytes(),
                Algorithm::HS256,
                &claims("alice"),
            ),
        ),
        (
            "tampered payload",
            format!("{head}.{forged_payload}.{signature}"),
        ),
        (
            "signed by another key",
            keys.sign("rsa_other", Algorithm::RS256, None, &claims("alice")),
        ),
        (
            "ES256 token for an RSA key",
            keys.sign("ec", Algorithm::ES256, None, &claims("alice")),
        ),
        (
            "RS512 not accepted",
            keys.sign("rsa", Algorithm::RS512, None, &claims("alice")),
        ),
        ("truncated signature", good[..good.len() - 8].to_string()),
        ("no signature part", format!("{head}.{payload}")),
        ("garbage", "definitely-not-a-token".to_string()),
        (
            "empty header JSON",
            format!("{}.{payload}.{signature}", b64(b"{}")),
        ),
    ];
    for (case, token) in &cases {
        assert_bearer_refused(&fx, case, &id, token, 401).await;
    }
    let headers: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no Authorization header", vec![]),
        (
            "Bearer without a token",
            vec![("authorization", "Bearer ".into())],
        ),
        (
            "Basic scheme",
            vec![("authorization", "Basic YWxpY2U6cGFzcw==".into())],
        ),
        (
            "token without a scheme",
            vec![("authorization", good.clone())],
        ),
        (
            "two Authorization headers",
            vec![
                ("authorization", format!("Bearer {good}")),
                ("authorization", format!("Bearer {good}")),
            ],
        ),
        ("a JWT as an API key", vec![("x-api-key", good.clone())]),
    ];
    for (case, hs) in &headers {
        let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_refused(&fx, case, &id, &hs, 401).await;
    }
    assert_eq!(
        fx.calls(),
        "probe ready\n",
        "a refused request reached the downstream"
    );
    // Every route is behind the same check, `initialize` included.
    for (method, path) in [
        ("POST", "/mcp"),
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
        ("POST", "/v1/select"),
        ("POST", &format!("/v1/sessions/{id}/context") as &str),
    ] {
        let request = reqwest::Client::new()
            .request(method.parse().unwrap(), fx.gw.url(path))
            .header("content-type", "application/json")
            .header("accept", ACCEPT)
            .body(if path == "/mcp" {
                initialize_body()
            } else {
                json!({"context": "x"}).to_string()
            });
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{method} {path}"
        );
    }
    // The scheme is case-insensitive; the good token still works after all of that.
    let (status, _, body) = post(
        &fx.gw.mcp_url(),
        probe("after"),
        &[
            ("authorization", &format!("bearer {good}")),
            ("mcp-session-id", &id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fx.calls(), "probe ready\nprobe after\n");
    let logs = fx.gw.log_text();
    assert!(
        logs.lines()
            .any(|l| l.contains("authentication failed") && l.contains("algorithm")),
        "{logs}"
    );
    assert!(
        !logs.contains(signature),
        "a token's signature reached the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hs256_rejects_other_secrets_and_hmac_variants() {
    let secret = "a-32-byte-secret-for-the-hs-test";
    let fx = Fixture::start(&format!(
        "  auth:\n    enabled: true\n    secret: {secret:?}\n    issuer: {ISSUER}\n    audience: {AUDIENCE}\n"
    ));
    let id = fx
        .session(&hs(secret.as_bytes(), Algorithm::HS256, &claims("bob")))
        .await;
    let cases = [
        (
            "wrong secret",
            hs(
                b"another-32-byte-secret-for-tests",
                Algorithm::HS256,
                &claims("bob"),
            ),
        ),
        (
            "HS384 not accepted",
            hs(secret.as_bytes(), Algorithm::HS384, &claims("bob")),
        ),
        (
            "HS512 not accepted",
            hs(secret.as_bytes(), Algorithm::HS512, &claims("bob")),
        ),
    ];
    for (case, token) in &cases {
        assert_bearer_refused(&fx, case, &id, token, 401).await;
    }
    assert_eq!(fx.calls(), "probe ready\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth2_resource_server_serves_rfc9728_metadata_and_checks_the_resource() {
    let keys = Keys::new();
    let fx = Fixture::start(&format!(
        "  auth:\n    enabled: true\n    provider: oauth2\n    jwks_path: {:?}\n    issuer: {ISSUER}\n    resource: {RESOURCE}\n    scopes_supported: [mcp]\n    required_scopes: [mcp]\n",
        keys.path("jwks.json").display().to_string()
    ));
    let scoped = |sub: &str| {
        with(
            with(claims(sub), "aud", json!(RESOURCE)),
            "scope",
            json!("mcp"),
        )
    };
    let good = keys.sign("ec", Algorithm::ES256, Some("ec-1"), &scoped("carol"));
    let id = fx.session(&good).await;
    // The RSA key of the set verifies too, by its kid.
    let (status, _, body) = post(
        &fx.gw.mcp_url(),
        probe("rsa"),
        &[
            (
                "authorization",
                &format!(
                    "Bearer {}",
                    keys.sign("rsa", Algorithm::RS256, Some("rsa-1"), &scoped("carol"))
                ),
            ),
            ("mcp-session-id", &id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, metadata) =
        get_json(&fx.gw.url("/.well-known/oauth-protected-resource/mcp")).await;
    assert_eq!(status, 200);
    assert_eq!(metadata["resource"], RESOURCE);
    assert_eq!(metadata["authorization_servers"], json!([ISSUER]));
    assert_eq!(metadata["scopes_supported"], json!(["mcp"]));
    assert_eq!(
        get_json(&fx.gw.url("/.well-known/oauth-protected-resource"))
            .await
            .0,
        200
    );

    let (status, headers, _) = post(&fx.gw.mcp_url(), initialize_body(), &[]).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(
                "resource_metadata=\"https://ucp.test/.well-known/oauth-protected-resource/mcp\""
            ),
        "{challenge}"
    );
    assert!(
        !challenge.contains("error="),
        "no error code without credentials: {challenge}"
    );

    let cases = [
        (
            "token for another resource",
            keys.sign(
                "ec",
                Algorithm::ES256,
                Some("ec-1"),
                &with(scoped("carol"), "aud", json!("https://other.test/mcp")),
            ),
        ),
        (
            "unknown kid",
            keys.sign(
                "rsa_other",
                Algorithm::RS256,
                Some("rsa-9"),
                &scoped("carol"),
            ),
        ),
        (
            "kid of the EC key on an RSA token",
            keys.sign("rsa", Algorithm::RS256, Some("ec-1"), &scoped("carol")),
        ),
        (
            "wrong issuer",
            keys.sign(
                "ec",
                Algorithm::ES256,
                Some("ec-1"),
                &with(scoped("carol"), "iss", json!("https://evil.test")),
            ),
        ),
    ];
    for (case, token) in &cases {
        assert_bearer_refused(&fx, case, &id, token, 401).await;
    }
    let unscoped = keys.sign(
        "ec",
        Algorithm::ES256,
        Some("ec-1"),
        &with(scoped("carol"), "scope", json!("openid")),
    );
    assert_bearer_refused(&fx, "missing scope", &id, &unscoped, 403).await;
    assert_eq!(fx.calls(), "probe ready\nprobe rsa\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_by_hash_and_sessions_bound_to_their_identity() {
    let (key_a, key_b, key_old) = (
        "ucp-key-team-a-0123456789",
        "ucp-key-team-b-0123456789",
        "ucp-key-old-0123456789",
    );
    let fx = Fixture::start(&format!(
        "  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: team-a, hash: {:?}, groups: [a]}}\n      - {{identity: team-b, hash: {:?}}}\n      - {{identity: team-old, hash: {:?}, revoked: true}}\n",
        hash_api_key(key_a),
        hash_api_key(key_b),
        hash_api_key(key_old)
    ));
    assert!(
        !std::fs::read_to_string(fx.gw.dir().join("ucp_config.yaml"))
            .unwrap()
            .contains(key_a)
    );
    let id_a = fx.session(key_a).await;
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "unknown key",
            vec![("x-api-key", "ucp-key-nobody-0123456789")],
        ),
        ("revoked key", vec![("x-api-key", key_old)]),
        ("empty key", vec![("x-api-key", "")]),
        ("two keys", vec![("x-api-key", key_a), ("x-api-key", key_a)]),
        (
            "key in another case",
            vec![("x-api-key", "UCP-KEY-TEAM-A-0123456789")],
        ),
        (
            "key with a suffix",
            vec![("x-api-key", "ucp-key-team-a-01234567890")],
        ),
    ];
    for (case, headers) in &cases {
        assert_refused(&fx, case, &id_a, headers, 401).await;
    }
    assert_eq!(fx.calls(), "probe ready\n");

    // Session hijack: team-b, well authenticated, presents team-a's session id.
    let bearer_b = format!("Bearer {key_b}");
    for headers in [
        [("x-api-key", key_b), ("mcp-session-id", id_a.as_str())],
        [
            ("authorization", bearer_b.as_str()),
            ("mcp-session-id", id_a.as_str()),
        ],
    ] {
        let (status, _, body) = post(&fx.gw.mcp_url(), probe("hijack"), &headers).await;
        assert_eq!(status, 404, "{body}");
    }
    let (status, _, _) = post(
        &fx.gw.url(&format!("/v1/sessions/{id_a}/context")),
        json!({"context": "x"}).to_string(),
        &[("x-api-key", key_b)],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        fx.calls(),
        "probe ready\n",
        "a hijacking request reached the downstream"
    );
    // team-a's own session goes on, over either header.
    let (status, _, body) = post(
        &fx.gw.mcp_url(),
        probe("mine"),
        &[("x-api-key", key_a), ("mcp-session-id", &id_a)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // And an rmcp client with the key as its bearer token works end to end.
    let client = connect_http_with_token(&fx.gw.mcp_url(), key_b).await;
    assert!(
        tool_names(&client)
            .await
            .contains(&"named__probe".to_string())
    );
    assert_eq!(
        call_text(&client, "named__probe", json!({"text": "rmcp"}))
            .await
            .unwrap(),
        "probe says rmcp"
    );
    assert_eq!(fx.calls(), "probe ready\nprobe mine\nprobe rmcp\n");
    let _ = client.cancel().await;
}

#[test]
fn unreadable_key_files_stop_the_start_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "public_key_path",
            dir.path().join("missing.pem"),
            "cannot read",
        ),
        (
            "public_key_path",
            dir.path().to_path_buf(),
            "not a regular file",
        ),
        (
            "public_key_path",
            write(dir.path(), "junk.pem", "not a key"),
            "not a PEM RSA or EC (P-256) public key",
        ),
        (
            "jwks_path",
            write(dir.path(), "jwks.json", "{\"keys\": 3}"),
            "not a JWKS document",
        ),
    ];
    for (key, path, expected) in cases {
        let config = write(
            dir.path(),
            "ucp_config.yaml",
            &format!(
                "server:\n  transport: http\n  port: 0\n  auth:\n    enabled: true\n    {key}: {:?}\n",
                path.display().to_string()
            ),
        );
        for command in ["serve", "check-config"] {
            let out = Command::new(env!("CARGO_BIN_EXE_ucp"))
                .args([command, "-c"])
                .arg(&config)
                .env("UCP_HOME", ucp_home())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "{command} accepted {key} = {}",
                path.display()
            );
            let named = format!("server.auth.{key}: {}", path.display());
            assert!(
                stderr.contains(&named) && stderr.contains(expected),
                "{command}: {stderr}"
            );
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_token_never_reaches_a_downstream() {
    let server = ServerProcess::named_tools_http("probe");
    let secret = "a-32-byte-secret-for-the-hs-test";
    let downstream = http_server("named", &server.mcp_url())
        + "    headers:\n      X-Configured: for-the-server\n";
    let gw = GatewayProcess::start(&http_config(
        &[downstream],
        &format!("  auth:\n    enabled: true\n    secret: {secret:?}\n"),
    ));
    let token = hs(secret.as_bytes(), Algorithm::HS256, &claims("dana"));
    let client = connect_http_with_token(&gw.mcp_url(), &token).await;
    let seen = call_eventually(&client, "named__headers", json!({})).await;
    let seen: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(seen["x-configured"], "for-the-server", "{seen}");
    let text = seen.to_string();
    assert!(
        !text.contains(&token) && !text.contains(token.rsplit('.').next().unwrap()),
        "{seen}"
    );
    assert!(seen.get("authorization").is_none(), "{seen}");
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_metrics_need_credentials_only_when_admitted() {
    let key = "ops-key-0123456789abcdef";
    let auth = |admit: bool| {
        format!(
            "  admit_ops_endpoints: {admit}\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys: [{{identity: ops, hash: {:?}}}]\n",
            hash_api_key(key)
        )
    };
    let servers = [stdio_server("time", &time_bin(), &[])];
    let open = GatewayProcess::start(&http_config(&servers, &auth(false)));
    let guarded = GatewayProcess::start(&http_config(&servers, &auth(true)));
    let client = reqwest::Client::new();
    for path in ["/health", "/metrics"] {
        assert_eq!(
            client.get(open.url(path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
        let refused = client.get(guarded.url(path)).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{path}");
        assert!(refused.headers().contains_key("www-authenticate"), "{path}");
        let allowed = client
            .get(guarded.url(path))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), 200, "{path}");
    }
}
