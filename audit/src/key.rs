//! Ed25519 note keys, written as Go's `sumdb/note` writes them.
//!
//! - signer key (secret): `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ 32-byte seed)>`
//! - verifier key (public): `<name>+<id>+<base64(0x01 ‖ 32-byte public key)>`
//!
//! `<id>` is eight hex digits: the first four bytes of
//! `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)` (C2SP signed-note). The name identifies the
//! log; runproof uses it as the checkpoint's origin line unless told otherwise.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use signed_note::{StandardSigner, StandardVerifier};

const ALG_ED25519: u8 = 0x01;

/// Whether `name` can name a log and its key: non-empty, without whitespace or `+`
/// (C2SP signed-note).
pub fn is_valid_name(name: &str) -> bool {
    signed_note::is_key_name_valid(name)
}

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The name is empty or contains whitespace or `+`.
    #[error("a key name must be non-empty, without spaces or '+'")]
    InvalidName,
    /// The text is not a signer key of this form.
    #[error("not a signer key (PRIVATE+KEY+<name>+<id>+<key>)")]
    MalformedSigner,
    /// The text is not a verifier key of this form.
    #[error("not a verifier key (<name>+<id>+<key>)")]
    MalformedVerifier,
}

/// A signer key: signs checkpoints. Its text is secret; `Debug` does not show it.
#[derive(Clone)]
pub struct SignerKey {
    encoded: String,
    name: String,
    verifier: String,
    signer: StandardSigner,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    /// The key named `name` whose Ed25519 secret is `seed` (32 random bytes).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(KeyError::InvalidName);
        }
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let id = signed_note::key_id(
            name,
            &[&[ALG_ED25519], public.as_bytes().as_slice()].concat(),
        );
        let secret = [&[ALG_ED25519], seed.as_slice()].concat();
        SignerKey::parse(&format!(
            "PRIVATE+KEY+{name}+{id:08x}+{}",
            BASE64.encode(secret)
        ))
    }

    /// Reads a signer key's text (surrounding whitespace, such as a final newline, is
    /// ignored).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let encoded = text.trim();
        let signer = StandardSigner::new(encoded).map_err(|_| KeyError::MalformedSigner)?;
        let mut parts = encoded.splitn(5, '+');
        let (Some(_), Some(_), Some(name), Some(_), Some(key)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(KeyError::MalformedSigner);
        };
        let seed: [u8; 32] = BASE64
            .decode(key)
            .ok()
            .and_then(|k| k.get(1..).and_then(|s| s.try_into().ok()))
            .ok_or(KeyError::MalformedSigner)?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        Ok(SignerKey {
            encoded: encoded.to_string(),
            name: name.to_string(),
            verifier: signed_note::new_ed25519_verifier_key(name, &public),
            signer,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, as a verifier key.
    pub fn verifier_key(&self) -> &str {
        &self.verifier
    }

    /// The secret text, for writing the key file.
    pub fn secret_text(&self) -> &str {
        &self.encoded
    }

    pub(crate) fn signer(&self) -> &StandardSigner {
        &self.signer
    }
}

/// A verifier key: checks checkpoint signatures.
#[derive(Clone)]
pub struct VerifierKey {
    encoded: String,
    name: String,
    id: u32,
    verifier: StandardVerifier,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encoded)
    }
}

impl VerifierKey {
    /// Reads a verifier key (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let encoded = text.trim();
        let verifier = StandardVerifier::new(encoded).map_err(|_| KeyError::MalformedVerifier)?;
        let (name, rest) = encoded.split_once('+').ok_or(KeyError::MalformedVerifier)?;
        let id = rest
            .split_once('+')
            .and_then(|(id, _)| u32::from_str_radix(id, 16).ok())
            .ok_or(KeyError::MalformedVerifier)?;
        Ok(VerifierKey {
            encoded: encoded.to_string(),
            name: name.to_string(),
            id,
            verifier,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (eight hex digits in the text).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    pub(crate) fn verifier(&self) -> &StandardVerifier {
        &self.verifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_from_a_seed_round_trips_through_its_text() {
        let key = SignerKey::from_seed("runproof/example", [7; 32]).unwrap();
        let again = SignerKey::parse(&format!("{}\n", key.secret_text())).unwrap();
        assert_eq!(again.verifier_key(), key.verifier_key());
        assert_eq!(again.name(), "runproof/example");
        let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
        assert_eq!(verifier.name(), "runproof/example");
        assert!(key.verifier_key().starts_with("runproof/example+"));
        assert_eq!(
            key.verifier_key().split('+').nth(1).unwrap(),
            format!("{:08x}", verifier.id())
        );
    }

    #[test]
    fn go_notes_example_key_reads_as_go_wrote_it() {
        // From golang.org/x/mod/sumdb/note's documentation.
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let key = SignerKey::parse(skey).unwrap();
        assert_eq!(key.verifier_key(), vkey);
        assert_eq!(VerifierKey::parse(vkey).unwrap().id(), 0xc74f20a3);
    }

    #[test]
    fn malformed_keys_and_names_are_refused() {
        assert_eq!(
            SignerKey::from_seed("has space", [1; 32]).unwrap_err(),
            KeyError::InvalidName
        );
        assert_eq!(
            SignerKey::from_seed("a+b", [1; 32]).unwrap_err(),
            KeyError::InvalidName
        );
        assert_eq!(
            SignerKey::parse("PRIVATE+KEY+x+00000000+AAAA").unwrap_err(),
            KeyError::MalformedSigner
        );
        let key = SignerKey::from_seed("n", [1; 32]).unwrap();
        // A verifier key is not a signer key and the other way round.
        assert!(SignerKey::parse(key.verifier_key()).is_err());
        assert_eq!(
            VerifierKey::parse(key.secret_text()).unwrap_err(),
            KeyError::MalformedVerifier
        );
        // A wrong id is refused.
        let mut parts: Vec<&str> = key.verifier_key().split('+').collect();
        parts[1] = "00000000";
        assert!(VerifierKey::parse(&parts.join("+")).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = SignerKey::from_seed("n", [9; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.secret_text()));
        assert!(!shown.contains("PRIVATE"));
    }
}
