//! Turning a presented credential into a verified [`Principal`]: JWTs (HS256 with a secret, RS256
//! or ES256 with a PEM key or a JWKS file) and API keys (SHA-256 hashes compared in constant time).
//!
//! Every key fixes the one algorithm it verifies, so `alg: none`, an HMAC token signed with a
//! public key (algorithm confusion) or any algorithm the config did not name never verifies.

use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ucp_config::{AuthConfig, AuthProvider, JwtAlgorithm};
use ucp_proxy::{Credential, Principal};

use super::ReadFile;

/// Why a credential was refused: a bounded set (a metric label), each with what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Missing,
    Malformed,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    Signature,
    Algorithm,
    UnknownKey,
    Claims,
    Revoked,
    /// Valid, but without a scope the config requires (403, not 401).
    Scope,
}

impl Failure {
    pub fn label(self) -> &'static str {
        match self {
            Failure::Missing => "missing",
            Failure::Malformed => "malformed",
            Failure::Expired => "expired",
            Failure::NotYetValid => "not_yet_valid",
            Failure::Issuer => "issuer",
            Failure::Audience => "audience",
            Failure::Signature => "signature",
            Failure::Algorithm => "algorithm",
            Failure::UnknownKey => "unknown_key",
            Failure::Claims => "claims",
            Failure::Revoked => "revoked",
            Failure::Scope => "scope",
        }
    }

    /// What the client reads (`error_description`); never names which key or secret was tried.
    pub fn description(self) -> &'static str {
        match self {
            Failure::Missing => "credentials required",
            Failure::Malformed => "malformed credentials",
            Failure::Expired => "the token has expired",
            Failure::NotYetValid => "the token is not valid yet",
            Failure::Issuer => "the token was issued by an issuer this gateway does not trust",
            Failure::Audience => "the token was issued for another audience",
            Failure::Signature => "the token's signature does not verify",
            Failure::Algorithm => "the token's signature algorithm is not accepted",
            Failure::UnknownKey => "unknown credentials",
            Failure::Claims => "the token lacks a required claim",
            Failure::Revoked => "unknown credentials",
            Failure::Scope => "the token lacks a required scope",
        }
    }

    fn of_jwt(kind: &ErrorKind) -> Failure {
        match kind {
            ErrorKind::ExpiredSignature => Failure::Expired,
            ErrorKind::ImmatureSignature => Failure::NotYetValid,
            ErrorKind::InvalidIssuer => Failure::Issuer,
            ErrorKind::InvalidAudience => Failure::Audience,
            ErrorKind::InvalidSignature => Failure::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Failure::Algorithm,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                Failure::Claims
            }
            _ => Failure::Malformed,
        }
    }
}

/// The configured way of verifying callers.
pub enum Verifier {
    Jwt(JwtVerifier),
    ApiKeys(Vec<ApiKey>),
}

impl Verifier {
    /// Builds the verifier of `auth` (enabled), reading key files through `files`. Errors name the
    /// YAML key and the file.
    pub fn from_config(auth: &AuthConfig, files: &dyn ReadFile) -> Result<Verifier, String> {
        match auth.provider {
            AuthProvider::ApiKey => Ok(Verifier::ApiKeys(
                auth.api_keys
                    .iter()
                    .map(|k| ApiKey {
                        sha256: k.sha256,
                        revoked: k.revoked,
                        principal: Arc::new(Principal {
                            name: k.identity.as_str().into(),
                            groups: k.groups.iter().map(|g| g.as_str().into()).collect(),
                            claims: Map::new(),
                        }),
                    })
                    .collect(),
            )),
            AuthProvider::Jwt | AuthProvider::OAuth2 => {
                JwtVerifier::from_config(auth, files).map(Verifier::Jwt)
            }
        }
    }

    pub fn verify(&self, credential: Option<&Credential>) -> Result<Arc<Principal>, Failure> {
        let credential = credential.ok_or(Failure::Missing)?;
        match (self, credential) {
            (_, Credential::Malformed(_)) => Err(Failure::Malformed),
            (Verifier::ApiKeys(keys), Credential::ApiKey(key) | Credential::Bearer(key)) => {
                verify_api_key(keys, key)
            }
            (Verifier::Jwt(jwt), Credential::Bearer(token)) => jwt.verify_cached(token),
            (Verifier::Jwt(_), Credential::ApiKey(_)) => Err(Failure::Malformed),
        }
    }
}

/// One configured API key.
pub struct ApiKey {
    sha256: [u8; 32],
    revoked: bool,
    principal: Arc<Principal>,
}

/// The key whose hash matches, compared against every configured hash in constant time.
fn verify_api_key(keys: &[ApiKey], presented: &str) -> Result<Arc<Principal>, Failure> {
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let mut found = None;
    for key in keys {
        if bool::from(key.sha256.ct_eq(&digest)) {
            found = Some(key);
        }
    }
    match found {
        Some(key) if key.revoked => Err(Failure::Revoked),
        Some(key) => Ok(key.principal.clone()),
        None => Err(Failure::UnknownKey),
    }
}

/// The SHA-256 of an API key as the config stores it: `sha256:<hex>`.
pub fn api_key_hash(key: &str) -> String {
    let digest = Sha256::digest(key.trim().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// How many verified tokens are remembered (by their SHA-256): a client presents the same token
/// on every request, and an RS256 or ES256 signature costs 0.2-0.3 ms to check.
const VERIFIED_TOKENS: usize = 4096;

/// The SHA-256 of a token.
type TokenDigest = [u8; 32];

/// Verifies JWTs with a fixed set of keys, each bound to its algorithm.
pub struct JwtVerifier {
    /// Tokens that verified, by digest, with their `exp`: until then (plus leeway) the same token
    /// is the same principal. Bounded; a token is never stored, only its hash.
    verified: parking_lot::Mutex<lru::LruCache<TokenDigest, (Arc<Principal>, u64)>>,
    leeway: u64,
    keys: Vec<JwtKey>,
    identity_claim: String,
    groups_claim: String,
    required_scopes: Vec<String>,
}

struct JwtKey {
    kid: Option<String>,
    key: DecodingKey,
    /// The algorithm this key verifies, and the checks on claims.
    validation: Validation,
}

impl JwtVerifier {
    fn from_config(auth: &AuthConfig, files: &dyn ReadFile) -> Result<JwtVerifier, String> {
        let mut keys: Vec<(Option<String>, DecodingKey, Algorithm)> = Vec::new();
        if let Some(secret) = &auth.secret {
            keys.push((
                None,
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ));
        }
        if let Some(path) = &auth.public_key_path {
            let pem = read(files, path, "server.auth.public_key_path")?;
            keys.push(
                pem_key(&pem)
                    .map_err(|e| format!("server.auth.public_key_path: {}: {e}", path.display()))?,
            );
        }
        if let Some(path) = &auth.jwks_path {
            let text = read(files, path, "server.auth.jwks_path")?;
            keys.extend(
                jwks_keys(&text)
                    .map_err(|e| format!("server.auth.jwks_path: {}: {e}", path.display()))?,
            );
        }
        let allowed: Vec<Algorithm> = auth.algorithms.iter().map(|a| algorithm(*a)).collect();
        if !allowed.is_empty() {
            keys.retain(|(_, _, alg)| allowed.contains(alg));
            if keys.is_empty() {
                return Err(format!(
                    "server.auth.algorithms: no configured key verifies {:?}",
                    auth.algorithms
                ));
            }
        }
        let keys = keys
            .into_iter()
            .map(|(kid, key, alg)| JwtKey {
                kid,
                key,
                validation: validation(auth, alg),
            })
            .collect();
        Ok(JwtVerifier {
            verified: parking_lot::Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(VERIFIED_TOKENS).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
            leeway: auth.leeway.as_secs(),
            keys,
            identity_claim: auth.identity_claim.clone(),
            groups_claim: auth.groups_claim.clone(),
            required_scopes: auth.oauth2.required_scopes.clone(),
        })
    }

    /// `verify`, answered from the verified tokens while the token has not expired.
    fn verify_cached(&self, token: &str) -> Result<Arc<Principal>, Failure> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        if let Some((principal, exp)) = self.verified.lock().get(&digest)
            && now <= exp.saturating_add(self.leeway)
        {
            return Ok(principal.clone());
        }
        let principal = Arc::new(self.verify(token)?);
        if let Some(exp) = principal
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
        {
            self.verified.lock().put(digest, (principal.clone(), exp));
        }
        Ok(principal)
    }

    fn verify(&self, token: &str) -> Result<Principal, Failure> {
        // `alg: none` and unknown algorithms fail here: jsonwebtoken has no such variant.
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName => Failure::Algorithm,
            // serde's words for an `alg` outside the enum (`none`, `HS1`).
            ErrorKind::Json(json) if json.to_string().contains("unknown variant") => {
                Failure::Algorithm
            }
            _ => Failure::Malformed,
        })?;
        let key = match &header.kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .or_else(|| self.single_unnamed()),
            None => self
                .single_unnamed()
                .or(self.keys.first().filter(|_| self.keys.len() == 1)),
        }
        .ok_or(Failure::UnknownKey)?;
        if !key.validation.algorithms.contains(&header.alg) {
            return Err(Failure::Algorithm);
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &key.validation)
            .map_err(|e| Failure::of_jwt(e.kind()))?;
        self.principal(data.claims)
    }

    /// The one key without a `kid` (a secret or a PEM key), when there is exactly one.
    fn single_unnamed(&self) -> Option<&JwtKey> {
        let mut unnamed = self.keys.iter().filter(|k| k.kid.is_none());
        let first = unnamed.next()?;
        unnamed.next().is_none().then_some(first)
    }

    fn principal(&self, claims: Map<String, Value>) -> Result<Principal, Failure> {
        let name: Arc<str> = match claims.get(&self.identity_claim) {
            Some(Value::String(s)) if !s.is_empty() => s.as_str().into(),
            Some(Value::Number(n)) => n.to_string().into(),
            _ => return Err(Failure::Claims),
        };
        let groups = strings(claims.get(&self.groups_claim));
        if !self.required_scopes.is_empty() {
            let mut scopes = strings(claims.get("scope"));
            scopes.extend(strings(claims.get("scp")));
            if !self
                .required_scopes
                .iter()
                .all(|s| scopes.iter().any(|t| **t == **s))
            {
                return Err(Failure::Scope);
            }
        }
        Ok(Principal {
            name,
            groups,
            claims,
        })
    }
}

/// An array of strings, or one space-separated string.
fn strings(value: Option<&Value>) -> Vec<Arc<str>> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().map(Arc::from).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(Arc::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn algorithm(alg: JwtAlgorithm) -> Algorithm {
    match alg {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::ES256 => Algorithm::ES256,
    }
}

fn validation(auth: &AuthConfig, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = auth.leeway.as_secs();
    v.validate_exp = true;
    v.validate_nbf = true;
    let mut required = vec!["exp"];
    if let Some(issuer) = &auth.issuer {
        v.set_issuer(&[issuer]);
        required.push("iss");
    }
    if auth.audience.is_empty() {
        v.validate_aud = false;
    } else {
        v.set_audience(&auth.audience);
        required.push("aud");
    }
    v.set_required_spec_claims(&required);
    v
}

fn read(files: &dyn ReadFile, path: &Path, key: &str) -> Result<Vec<u8>, String> {
    files
        .read(path)
        .map_err(|e| format!("{key}: {}: cannot read: {e}", path.display()))
}

/// A PEM public key: RSA (RS256) or EC P-256 (ES256).
fn pem_key(pem: &[u8]) -> Result<(Option<String>, DecodingKey, Algorithm), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not a PEM file".to_string())?;
    if text.contains("PRIVATE KEY") {
        return Err("holds a private key; give the public key only".into());
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok((None, key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Ok((None, key, Algorithm::ES256));
    }
    Err("not a PEM RSA or EC (P-256) public key".into())
}

/// The RSA and P-256 keys of a JWKS document, each with its `kid`.
fn jwks_keys(text: &[u8]) -> Result<Vec<(Option<String>, DecodingKey, Algorithm)>, String> {
    let set: JwkSet =
        serde_json::from_slice(text).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = Vec::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            continue;
        }
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err(format!(
                    "keys[{i}] is a symmetric key; a shared secret belongs in server.auth.secret"
                ));
            }
            _ => {
                return Err(format!(
                    "keys[{i}]: only RSA and EC P-256 keys are supported"
                ));
            }
        };
        let declared_ok = match jwk.common.key_algorithm {
            None => true,
            Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
            Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
            Some(_) => false,
        };
        if !declared_ok {
            return Err(format!(
                "keys[{i}]: only RS256 and ES256 keys are supported"
            ));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("keys[{i}]: {e}"))?;
        keys.push((jwk.common.key_id.clone(), key, alg));
    }
    if keys.is_empty() {
        return Err("holds no keys".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
