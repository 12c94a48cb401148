//! Encryption of secrets at rest: XChaCha20-Poly1305 under the operator's key
//! (`ACTUATE_SECRETS_KEY`, 32 bytes in base64), with a fresh random 192-bit nonce per value
//! (large enough that random nonces never repeat in practice, unlike AES-GCM's 96 bits).
//!
//! Every sealed value names the key that sealed it by a fingerprint, so a [`Keyring`] can hold
//! the current key and earlier ones during a rotation: values are sealed under the current key
//! and opened under whichever key sealed them. The associated data binds a ciphertext to its
//! row (tenant, project, name): a value copied to another row, or another tenant, does not open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::fmt;

const NONCE_LEN: usize = 24;

/// One 256-bit key and its fingerprint.
#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn parse(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "is not valid base64".to_string())?;
        if bytes.len() != 32 {
            return Err(format!(
                "must be 32 bytes (44 characters of base64), not {}; make one with \
                 `openssl rand -base64 32`",
                bytes.len()
            ));
        }
        // The fingerprint says which key sealed a value without saying anything of the key.
        let digest = Sha256::new()
            .chain_update(b"actuate secrets key fingerprint\0")
            .chain_update(&bytes)
            .finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            id,
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32 bytes"),
        })
    }
}

/// A value as stored: the fingerprint of the key that sealed it, and nonce ‖ ciphertext ‖ tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({}, {} bytes)", self.key_id, self.bytes.len())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error(
        "it was encrypted under a key this process does not have (fingerprint {0}): add that key \
         to ACTUATE_SECRETS_PREVIOUS_KEYS"
    )]
    UnknownKey(String),
    #[error("it does not decrypt: the stored value is damaged or belongs to another record")]
    Damaged,
}

/// The keys of this process: the current one seals, any of them opens.
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// `current`: base64 of 32 bytes; `previous`: earlier keys, comma-separated, for values
    /// not yet sealed again under the current one.
    pub fn parse(current: &str, previous: Option<&str>) -> Result<Self, String> {
        let current = Key::parse(current).map_err(|e| format!("ACTUATE_SECRETS_KEY {e}"))?;
        let previous = previous
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| Key::parse(k).map_err(|e| format!("ACTUATE_SECRETS_PREVIOUS_KEYS: a key {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { current, previous })
    }

    /// A new random key, in the form [`parse`](Self::parse) reads.
    pub fn generate_key() -> String {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        STANDARD.encode(key)
    }

    /// The fingerprint of the key values are sealed under.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Encrypts `plaintext` for the record `context` names.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Sealed {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption of an in-memory value cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Sealed {
            key_id: self.current.id.clone(),
            bytes,
        }
    }

    /// Decrypts a value sealed for the record `context` names.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, OpenError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        key.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Damaged)
    }

    /// Whether `sealed` is under a key other than the current one (to seal again when
    /// rotating).
    pub fn is_stale(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::parse(&Keyring::generate_key(), None).unwrap()
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let ring = ring();
        let a = ring.seal("t/p/NAME", b"hunter2");
        let b = ring.seal("t/p/NAME", b"hunter2");
        assert_ne!(a.bytes, b.bytes, "each seal has its own nonce");
        assert_eq!(ring.open("t/p/NAME", &a).unwrap(), b"hunter2");
        assert!(!a.bytes.windows(7).any(|w| w == b"hunter2"));
    }

    #[test]
    fn bound_to_its_record() {
        let ring = ring();
        let sealed = ring.seal("t/p/NAME", b"hunter2");
        assert_eq!(ring.open("t/p/OTHER", &sealed), Err(OpenError::Damaged));
        let mut flipped = sealed.clone();
        *flipped.bytes.last_mut().unwrap() ^= 1;
        assert_eq!(ring.open("t/p/NAME", &flipped), Err(OpenError::Damaged));
        let short = Sealed {
            key_id: sealed.key_id.clone(),
            bytes: vec![0; 3],
        };
        assert_eq!(ring.open("t/p/NAME", &short), Err(OpenError::Damaged));
    }

    #[test]
    fn rotation_opens_old_values_and_seals_under_the_new_key() {
        let old_key = Keyring::generate_key();
        let old = Keyring::parse(&old_key, None).unwrap();
        let sealed = old.seal("ctx", b"v");
        let new = Keyring::parse(&Keyring::generate_key(), Some(&format!(" ,{old_key}"))).unwrap();
        assert!(new.is_stale(&sealed));
        assert_eq!(new.open("ctx", &sealed).unwrap(), b"v");
        assert!(!new.is_stale(&new.seal("ctx", b"v")));
        let without = Keyring::parse(&Keyring::generate_key(), None).unwrap();
        assert!(matches!(
            without.open("ctx", &sealed),
            Err(OpenError::UnknownKey(id)) if id == old.current_key_id()
        ));
    }

    #[test]
    fn bad_keys_are_named() {
        let e = Keyring::parse("not base64!", None).unwrap_err();
        assert!(e.contains("ACTUATE_SECRETS_KEY is not valid base64"), "{e}");
        let e = Keyring::parse(&STANDARD.encode([0u8; 16]), None).unwrap_err();
        assert!(e.contains("must be 32 bytes"), "{e}");
        let e = Keyring::parse(&Keyring::generate_key(), Some("abc")).unwrap_err();
        assert!(e.contains("ACTUATE_SECRETS_PREVIOUS_KEYS"), "{e}");
        let key = Keyring::generate_key();
        let shown = format!("{:?}", Keyring::parse(&key, None).unwrap());
        assert!(
            !shown.contains(&key) && shown.contains("current"),
            "{shown}"
        );
    }
}
