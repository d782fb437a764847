//! The verifier on HS256 tokens and API keys (RS256 / ES256 with real keys are in the
//! integration tests, which make their keys with openssl).

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use ucp_config::{ApiKeyConfig, AuthConfig, AuthProvider};

use super::*;
use crate::NoFiles;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn jwt_config() -> AuthConfig {
    AuthConfig {
        enabled: true,
        secret: Some(SECRET.into()),
        issuer: Some("https://idp.test".into()),
        audience: vec!["ucp".into()],
        ..AuthConfig::default()
    }
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn claims() -> Value {
    json!({"sub": "alice", "groups": ["eng", "ops"], "iss": "https://idp.test", "aud": "ucp",
           "exp": now() + 600, "nbf": now() - 10})
}

fn sign(claims: &Value, alg: Algorithm, secret: &str) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

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

fn verify(config: &AuthConfig, token: &str) -> Result<Arc<Principal>, Failure> {
    let verifier = Verifier::from_config(config, &NoFiles).unwrap();
    verifier.verify(Some(&Credential::Bearer(token.into())))
}

#[test]
fn a_valid_hs256_token_names_its_identity_and_groups() {
    let principal = verify(&jwt_config(), &sign(&claims(), Algorithm::HS256, SECRET)).unwrap();
    assert_eq!(&*principal.name, "alice");
    assert_eq!(principal.groups, vec![Arc::from("eng"), Arc::from("ops")]);
    assert_eq!(principal.claims["iss"], "https://idp.test");
}

#[test]
fn each_bad_token_fails_for_its_reason() {
    let config = jwt_config();
    let with = |key: &str, value: Value| {
        let mut c = claims();
        c[key] = value;
        sign(&c, Algorithm::HS256, SECRET)
    };
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let good = sign(&claims(), Algorithm::HS256, SECRET);
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, _sig) = rest.split_once('.').unwrap();
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let tampered = format!(
        "{head}.{}.{}",
        b64(serde_json::to_string(
            &json!({"sub": "root", "iss": "https://idp.test", "aud": "ucp",
            "exp": now() + 600})
        )
        .unwrap()
        .as_bytes()),
        good.rsplit('.').next().unwrap()
    );
    let cases = [
        (with("exp", json!(now() - 3600)), Failure::Expired),
        (with("nbf", json!(now() + 3600)), Failure::NotYetValid),
        (with("iss", json!("https://evil.test")), Failure::Issuer),
        (with("aud", json!("another-service")), Failure::Audience),
        (sign(&no_exp, Algorithm::HS256, SECRET), Failure::Claims),
        (with("sub", json!(null)), Failure::Claims),
        (
            sign(
                &claims(),
                Algorithm::HS256,
                "another secret of 32 bytes......",
            ),
            Failure::Signature,
        ),
        (
            sign(&claims(), Algorithm::HS512, SECRET),
            Failure::Algorithm,
        ),
        (none, Failure::Algorithm),
        (tampered, Failure::Signature),
        ("not-a-jwt".to_owned(), Failure::Malformed),
        ("a.b.c".to_owned(), Failure::Malformed),
    ];
    for (token, expected) in cases {
        assert_eq!(verify(&config, &token).unwrap_err(), expected, "{token}");
    }
    // Within the leeway an expired token still passes (clock skew), beyond it never.
    assert!(verify(&config, &with("exp", json!(now() - 10))).is_ok());
}

#[test]
fn required_scopes_are_checked() {
    let mut config = jwt_config();
    config.oauth2.required_scopes = vec!["mcp".into()];
    assert_eq!(
        verify(&config, &sign(&claims(), Algorithm::HS256, SECRET)).unwrap_err(),
        Failure::Scope
    );
    let mut c = claims();
    c["scope"] = json!("openid mcp");
    assert!(verify(&config, &sign(&c, Algorithm::HS256, SECRET)).is_ok());
}

#[test]
fn api_keys_match_by_hash_and_revoked_ones_fail() {
    let hash = |key: &str| -> [u8; 32] { Sha256::digest(key.as_bytes()).into() };
    let config = AuthConfig {
        enabled: true,
        provider: AuthProvider::ApiKey,
        api_keys: vec![
            ApiKeyConfig {
                identity: "team-a".into(),
                sha256: hash("key-a"),
                groups: vec!["a".into()],
                revoked: false,
            },
            ApiKeyConfig {
                identity: "team-old".into(),
                sha256: hash("key-old"),
                groups: vec![],
                revoked: true,
            },
        ],
        ..AuthConfig::default()
    };
    let verifier = Verifier::from_config(&config, &NoFiles).unwrap();
    let check = |c: Credential| verifier.verify(Some(&c));
    assert_eq!(
        &*check(Credential::ApiKey("key-a".into())).unwrap().name,
        "team-a"
    );
    assert_eq!(
        &*check(Credential::Bearer("key-a".into())).unwrap().name,
        "team-a"
    );
    assert_eq!(
        check(Credential::ApiKey("key-old".into())).unwrap_err(),
        Failure::Revoked
    );
    assert_eq!(
        check(Credential::ApiKey("key-b".into())).unwrap_err(),
        Failure::UnknownKey
    );
    assert_eq!(verifier.verify(None).unwrap_err(), Failure::Missing);
    assert_eq!(
        api_key_hash("key-a\n"),
        format!(
            "sha256:{}",
            hash("key-a")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    );
}

#[test]
fn key_files_that_cannot_be_read_name_their_key_and_path() {
    let config = AuthConfig {
        enabled: true,
        public_key_path: Some("/etc/ucp/missing.pem".into()),
        ..AuthConfig::default()
    };
    let Err(error) = Verifier::from_config(&config, &NoFiles) else {
        panic!("a missing key file was accepted");
    };
    assert!(
        error.starts_with("server.auth.public_key_path: /etc/ucp/missing.pem: cannot read"),
        "{error}"
    );
}

#[test]
fn a_remembered_token_still_expires() {
    let mut config = jwt_config();
    config.leeway = std::time::Duration::ZERO;
    let verifier = Verifier::from_config(&config, &NoFiles).unwrap();
    let mut c = claims();
    c["exp"] = json!(now() + 1);
    let token = Credential::Bearer(sign(&c, Algorithm::HS256, SECRET).into());
    let first = verifier.verify(Some(&token)).unwrap();
    let again = verifier.verify(Some(&token)).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "the second check was not answered from memory"
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(verifier.verify(Some(&token)).unwrap_err(), Failure::Expired);
}
