//! API keys. A token is `act_` followed by 256 random bits (base64url); only its SHA-256 is
//! stored, and a presented token is compared with the stored hash in constant time.

use crate::domain::ids::{KeyId, ProjectId, TenantId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

pub const TOKEN_PREFIX: &str = "act_";
/// `act_` + 43 base64url characters (32 bytes).
const TOKEN_LEN: usize = 4 + 43;

/// A bearer token in clear text. Only ever exists while being created (printed once) or while
/// a request is being authenticated; `Debug` hides it so it cannot reach a log by accident.
pub struct Token(String);

impl Token {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random source failed");
        Self(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts only strings shaped like a token we issued, so junk never reaches storage.
    pub fn parse(s: &str) -> Option<Self> {
        let body = s.strip_prefix(TOKEN_PREFIX)?;
        (s.len() == TOKEN_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// SHA-256 of a token: what storage keeps and looks keys up by.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The SHA-256 of `secret` (a token, or a dashboard session's id).
    pub fn of(secret: &str) -> Self {
        TokenHash(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn matches(&self, other: &[u8]) -> bool {
        other.len() == 32 && bool::from(self.0.ct_eq(other))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    pub key_id: KeyId,
    pub tenant_id: TenantId,
    /// A project-scoped key may only reach that project.
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// May only read: any request but GET (and HEAD) is a 403.
    pub read_only: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_prefixed_and_parse_back() {
        let t = Token::generate();
        assert!(t.expose().starts_with("act_"));
        assert_eq!(t.expose().len(), TOKEN_LEN);
        let back = Token::parse(t.expose()).expect("parses");
        assert!(back.hash() == t.hash());
        assert!(t.hash().matches(&back.hash().0));
        assert_ne!(Token::generate().expose(), t.expose());
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn junk_is_not_a_token() {
        for junk in [
            "",
            "act_",
            "abc",
            "act_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(Token::parse(junk).is_none(), "{junk}");
        }
        let long = format!("{}x", Token::generate().expose());
        assert!(Token::parse(&long).is_none());
    }
}
