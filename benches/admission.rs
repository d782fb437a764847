//! The per-request cost of the admission stages (issue 8, point 9): the gateway's own pipeline,
//! built from YAML as `serve` builds it, admitting one HTTP request with its credential. Variants:
//! no auth (the baseline), an API key, HS256, RS256 and ES256 JWTs, and a JWT plus the rate limit
//! and the tool policy. Keys are made with the openssl CLI at start.
//! Run: `cargo bench --bench admission`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use ucp_proxy::{Credential, Exchange, Method, Pipeline, Transport};

struct Fs;

impl ucp_filters::ReadFile for Fs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

fn pipeline(yaml: &str) -> Pipeline<ucp_filters::FilterStage> {
    let config = ucp_config::parse(yaml, &|_| None)
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    let shared = ucp_filters::Shared::new(None, None, 16, 1 << 20, Default::default())
        .unwrap()
        .with_files(Arc::new(Fs));
    ucp_filters::build(&config, &shared).unwrap()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}");
}

fn claims() -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({"sub": "alice", "groups": ["eng"], "iss": "https://idp.test", "aud": "ucp",
           "exp": now + 3600, "nbf": now - 5})
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).display().to_string();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &file("rsa.pem"),
    ]);
    openssl(&[
        "pkey",
        "-in",
        &file("rsa.pem"),
        "-pubout",
        "-out",
        &file("rsa_pub.pem"),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &file("ec.pem"),
    ]);
    openssl(&[
        "pkey",
        "-in",
        &file("ec.pem"),
        "-pubout",
        "-out",
        &file("ec_pub.pem"),
    ]);
    let secret = "a-32-byte-secret-for-the-benches";
    let sign = |alg: Algorithm, key: EncodingKey| {
        jsonwebtoken::encode(&Header::new(alg), &claims(), &key).unwrap()
    };
    let hs = sign(
        Algorithm::HS256,
        EncodingKey::from_secret(secret.as_bytes()),
    );
    let rs = sign(
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(&std::fs::read(file("rsa.pem")).unwrap()).unwrap(),
    );
    let es = sign(
        Algorithm::ES256,
        EncodingKey::from_ec_pem(&std::fs::read(file("ec.pem")).unwrap()).unwrap(),
    );
    let key = "bench-api-key-0123456789";
    let jwt = |source: &str| {
        format!(
            "server:\n  auth:\n    enabled: true\n    {source}\n    issuer: https://idp.test\n    audience: ucp\n"
        )
    };
    let cases: Vec<(&str, String, Option<Credential>)> = vec![
        ("no_auth", String::new(), None),
        (
            "apikey",
            format!(
                "server:\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys: [{{identity: a, hash: {:?}}}]\n",
                ucp_filters::api_key_hash(key)
            ),
            Some(Credential::ApiKey(key.into())),
        ),
        (
            "jwt_hs256",
            jwt(&format!("secret: {secret:?}")),
            Some(Credential::Bearer(hs.as_str().into())),
        ),
        (
            "jwt_rs256",
            jwt(&format!("public_key_path: {:?}", file("rsa_pub.pem"))),
            Some(Credential::Bearer(rs.as_str().into())),
        ),
        (
            "jwt_es256",
            jwt(&format!("public_key_path: {:?}", file("ec_pub.pem"))),
            Some(Credential::Bearer(es.as_str().into())),
        ),
        (
            "jwt_hs256_rate_limit_policy",
            jwt(&format!("secret: {secret:?}"))
                + "    rate_limit: {requests_per_minute: 1000000000, burst: 1000000000}\n    policy:\n      rules:\n        - {groups: [eng], allow: [\"github__*\"]}\n",
            Some(Credential::Bearer(hs.as_str().into())),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("admission");
    for (name, yaml, credential) in cases {
        let pipeline = pipeline(&yaml);
        // Each admission must let the request through: a refused one would measure the wrong path.
        let admit = |credential: &Option<Credential>| {
            let mut ex = Exchange::new(Transport::Http, Method::ToolsCall);
            ex.peer = Some("127.0.0.1:40000".parse().unwrap());
            ex.credential = credential.clone();
            runtime.block_on(pipeline.admit(&mut ex)).expect("admitted");
            ex
        };
        assert_eq!(
            admit(&credential).identity.as_str(),
            if credential.is_some() {
                if name == "apikey" { "a" } else { "alice" }
            } else {
                "anonymous"
            }
        );
        group.bench_function(name, |b| b.iter(|| admit(&credential)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
