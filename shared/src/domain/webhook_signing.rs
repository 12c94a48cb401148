//! Signatures of outgoing webhooks, per the Standard Webhooks specification
//! (<https://www.standardwebhooks.com>): each request carries `webhook-id`, `webhook-timestamp`
//! (Unix seconds) and `webhook-signature`, a space-separated list of `v1,` + base64 of
//! HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the base64-decoded part of a
//! `whsec_...` secret. A project has one signing secret; right after a rotation it has two,
//! and both sign until the old one expires, so receivers can switch without losing a request.

use crate::domain::ids::{ExecutionId, Scope};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use std::time::Duration;

pub const PREFIX: &str = "whsec_";
/// How long the secret a rotation replaces keeps signing.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// Bytes of a secret we create (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// A signing secret, `whsec_` + base64 of its key bytes. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    text: String,
    key: Vec<u8>,
}

impl SigningSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut key);
        Self {
            text: format!("{PREFIX}{}", STANDARD.encode(&key)),
            key,
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("a signing secret starts with {PREFIX}"))?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "a signing secret is whsec_ and base64".to_string())?;
        if key.is_empty() {
            return Err("a signing secret must not be empty".into());
        }
        Ok(Self {
            text: text.to_string(),
            key,
        })
    }

    /// The secret as shown to the project's callers, to configure receivers with.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

/// The `webhook-signature` value: one signature per live secret, newest first.
pub fn signature_header(
    secrets: &[SigningSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `webhook-id` of a step's request: the same for every attempt and retry of that step of
/// that execution (receivers drop repeats by it), different for any other.
pub fn message_id(execution_id: ExecutionId, step_number: i32) -> String {
    format!("msg_{}_{step_number}", execution_id.0.simple())
}

/// The associated data a project's signing secret is sealed with at rest.
pub fn seal_context(scope: Scope) -> String {
    format!(
        "actuate webhook signing secret v1 {}/{}",
        scope.tenant_id, scope.project_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        secret: String,
        id: String,
        timestamp: i64,
        payload: String,
        signature: String,
    }

    /// The specification's own examples, kept as test data.
    #[test]
    fn published_vectors() {
        let text = include_str!("../../tests/data/standard_webhooks_vectors.json");
        let vectors: Vectors = serde_json::from_str(text).unwrap();
        assert!(!vectors.vectors.is_empty());
        for v in vectors.vectors {
            let secret = SigningSecret::parse(&v.secret).unwrap();
            assert_eq!(
                secret.sign(&v.id, v.timestamp, v.payload.as_bytes()),
                v.signature,
                "vector {}",
                v.id
            );
        }
    }

    #[test]
    fn generated_secrets_parse_back_and_every_live_secret_signs() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert_ne!(a, b);
        assert_eq!(SigningSecret::parse(a.expose()).unwrap(), a);
        assert_eq!(a.expose().len(), PREFIX.len() + 44);
        assert!(!format!("{a:?}").contains(a.expose()));
        let header = signature_header(&[a.clone(), b.clone()], "msg_1", 5, b"{}");
        assert_eq!(
            header,
            format!(
                "{} {}",
                a.sign("msg_1", 5, b"{}"),
                b.sign("msg_1", 5, b"{}")
            )
        );
        assert_ne!(a.sign("msg_1", 5, b"{}"), a.sign("msg_1", 6, b"{}"));
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for bad in ["", "whsec_", "abc", "whsec_???", "WHSEC_AAAA"] {
            assert!(SigningSecret::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn message_ids_are_per_step_of_an_execution() {
        let e = ExecutionId::new();
        assert_eq!(message_id(e, 2), message_id(e, 2));
        assert_ne!(message_id(e, 2), message_id(e, 3));
        assert_ne!(message_id(e, 2), message_id(ExecutionId::new(), 2));
    }
}
