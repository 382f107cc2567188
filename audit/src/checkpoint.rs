//! Tree heads as C2SP `tlog-checkpoint` bodies, signed as C2SP `signed-note`s.
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//!
//! — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>
//! ```
//!
//! The first three lines are the note's text (each ending in a newline); the signature
//! covers exactly those bytes. A blank line separates the signature lines.

use signed_note::{Note, VerifierList};
use tlog_tiles::Checkpoint;

use crate::key::{SignerKey, VerifierKey};
use crate::tree::Hash;

/// A tree head: which log, how many leaves, and the root of those leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeHead {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Why a checkpoint cannot be made, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin is empty or contains whitespace or `+` (it is also a note key name).
    #[error("an origin must be non-empty, without spaces or '+'")]
    InvalidOrigin,
    /// The text is not a signed note with a checkpoint body.
    #[error("not a signed checkpoint")]
    Malformed,
    /// The note carries no signature by the given key (its name and id).
    #[error("not signed by the given key")]
    NotSignedByKey,
    /// A signature claims the given key, but does not verify: the text was changed or
    /// the signature forged.
    #[error("the signature by the given key does not verify")]
    BadSignature,
    /// Signing failed.
    #[error("cannot sign")]
    Signing,
}

impl TreeHead {
    /// The checkpoint body (the note's text).
    pub fn body(&self) -> Result<String, CheckpointError> {
        if !signed_note::is_key_name_valid(&self.origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        let checkpoint = Checkpoint::new(&self.origin, self.size, self.root, "")
            .map_err(|_| CheckpointError::InvalidOrigin)?;
        String::from_utf8(checkpoint.to_bytes()).map_err(|_| CheckpointError::Malformed)
    }

    /// Reads a checkpoint body (extension lines are allowed and ignored).
    pub fn parse_body(text: &[u8]) -> Result<TreeHead, CheckpointError> {
        let checkpoint = Checkpoint::from_bytes(text).map_err(|_| CheckpointError::Malformed)?;
        Ok(TreeHead {
            origin: checkpoint.origin().to_string(),
            size: checkpoint.size(),
            root: *checkpoint.hash(),
        })
    }

    /// The signed note of this tree head, signed with `key`.
    pub fn sign(&self, key: &SignerKey) -> Result<String, CheckpointError> {
        let body = self.body()?;
        let mut note = Note::new(body.as_bytes(), &[]).map_err(|_| CheckpointError::Malformed)?;
        note.add_sigs(&[key.signer()])
            .map_err(|_| CheckpointError::Signing)?;
        String::from_utf8(note.to_bytes()).map_err(|_| CheckpointError::Malformed)
    }
}

/// Reads a signed checkpoint without checking any signature (to show what it claims).
pub fn parse_unverified(note: &str) -> Result<TreeHead, CheckpointError> {
    let note = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::Malformed)?;
    TreeHead::parse_body(note.text())
}

/// Whether `note` is written exactly as a signed note is written: re-encoding what it
/// says (text and signatures, base64 included) gives the same bytes. A note in another
/// spelling (for example base64 with non-zero padding bits, which some decoders accept)
/// is not.
pub fn is_canonical(note: &str) -> bool {
    Note::from_bytes(note.as_bytes()).is_ok_and(|n| n.to_bytes() == note.as_bytes())
}

/// Reads a signed checkpoint and checks that `key` signed it. Signatures by other keys
/// are ignored (a note may carry several, for example witnesses').
pub fn open(note: &str, key: &VerifierKey) -> Result<TreeHead, CheckpointError> {
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::Malformed)?;
    let verifier = key.verifier().clone();
    let known = VerifierList::new(vec![Box::new(verifier)]);
    match parsed.verify(&known) {
        Ok(_) => TreeHead::parse_body(parsed.text()),
        Err(signed_note::NoteError::UnverifiedNote) => Err(CheckpointError::NotSignedByKey),
        Err(signed_note::NoteError::InvalidSignature { .. }) => Err(CheckpointError::BadSignature),
        // Any other refusal (an ambiguous or mismatched key): not a checkpoint by this key.
        Err(_) => Err(CheckpointError::NotSignedByKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::record_hash;

    fn head() -> TreeHead {
        TreeHead {
            origin: "runproof/example".into(),
            size: 123,
            root: record_hash(b"hello world"),
        }
    }

    #[test]
    fn the_body_is_the_three_c2sp_checkpoint_lines() {
        assert_eq!(
            head().body().unwrap(),
            "runproof/example\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
        );
        assert_eq!(
            TreeHead::parse_body(head().body().unwrap().as_bytes()),
            Ok(head())
        );
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_names_what_it_claims() {
        let key = SignerKey::from_seed("runproof/example", [3; 32]).unwrap();
        let note = head().sign(&key).unwrap();
        assert!(note.starts_with(&head().body().unwrap()));
        assert!(note.contains("\n\n\u{2014} runproof/example "));
        let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
        assert_eq!(open(&note, &verifier), Ok(head()));
        assert_eq!(parse_unverified(&note), Ok(head()));
        assert!(is_canonical(&note));
        // The signature's (68 bytes) last base64 digit before "=" carries 2 unused bits:
        // setting one spells the same signature another way.
        const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let at = note.len() - 3;
        let digit = B64.find(&note[at..at + 1]).unwrap();
        let other = &B64[(digit | 1)..(digit | 1) + 1];
        let respelled = format!("{}{other}{}", &note[..at], &note[at + 1..]);
        assert!(respelled.ends_with("=\n") && respelled != note);
        assert!(!is_canonical(&respelled));
    }

    #[test]
    fn a_checkpoint_signed_with_another_key_is_refused() {
        let key = SignerKey::from_seed("runproof/example", [3; 32]).unwrap();
        let other = SignerKey::from_seed("runproof/example", [4; 32]).unwrap();
        let note = head().sign(&other).unwrap();
        let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
        assert_eq!(open(&note, &verifier), Err(CheckpointError::NotSignedByKey));
    }

    #[test]
    fn a_changed_body_fails_the_signature() {
        let key = SignerKey::from_seed("runproof/example", [3; 32]).unwrap();
        let note = head().sign(&key).unwrap().replacen("\n123\n", "\n124\n", 1);
        let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
        assert_eq!(open(&note, &verifier), Err(CheckpointError::BadSignature));
    }

    #[test]
    fn go_sumdb_notes_open_as_go_signed_them() {
        // golang.org/x/mod/sumdb/note's documented example.
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let msg = "If you think cryptography is the answer to your problem,\n\
                   then you don't know what your problem is.\n\
                   \n\
                   \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let parsed = Note::from_bytes(msg.as_bytes()).unwrap();
        let verifier = VerifierKey::parse(vkey).unwrap();
        let known = VerifierList::new(vec![Box::new(verifier.verifier().clone())]);
        assert!(parsed.verify(&known).is_ok());
    }

    #[test]
    fn an_invalid_origin_or_malformed_note_is_refused() {
        let mut bad = head();
        bad.origin = "two words".into();
        assert_eq!(bad.body(), Err(CheckpointError::InvalidOrigin));
        assert_eq!(parse_unverified("no note"), Err(CheckpointError::Malformed));
    }
}
