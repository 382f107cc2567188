//! Key files and keys given on the command line.
//!
//! `audit keygen` writes the signer key once: the file is created with mode 0600 and
//! never overwritten. A verifier key is given as its text or as a file holding it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use runproof_audit::{SignerKey, VerifierKey};

/// Why a key could not be made, written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file exists already; it is left as it was.
    #[error("the key file exists")]
    Exists,
    /// The file cannot be created, written or read.
    #[error("cannot use the key file")]
    Io(#[from] std::io::Error),
    /// The file does not hold a signer key.
    #[error("not a signer key")]
    Invalid,
    /// The name cannot name a log.
    #[error("invalid key name")]
    InvalidName,
    /// The system's random source failed.
    #[error("no randomness")]
    Random,
}

/// The default name of a log (and of its key): `runproof/<database name>`.
pub fn default_name(database: &str) -> String {
    let cleaned: String = database
        .chars()
        .map(|c| match c.is_whitespace() || c == '+' {
            true => '_',
            false => c,
        })
        .collect();
    format!("runproof/{cleaned}")
}

/// A new signer key named `name`, from the system's random source.
pub fn generate(name: &str) -> Result<SignerKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|_| KeyFileError::Random)?;
    SignerKey::from_seed(name, seed).map_err(|_| KeyFileError::InvalidName)
}

/// Writes `key` to a new file at `path` (mode 0600 from the start). An existing file is
/// never touched.
pub fn write_new(path: &Path, key: &SignerKey) -> Result<(), KeyFileError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::Exists,
        _ => KeyFileError::Io(e),
    })?;
    file.write_all(format!("{}\n", key.secret_text()).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Reads the signer key in the file at `path`.
pub fn read_signer(path: &Path) -> Result<SignerKey, KeyFileError> {
    let text = std::fs::read_to_string(path)?;
    SignerKey::parse(&text).map_err(|_| KeyFileError::Invalid)
}

/// A verifier key given as its text, or as the path of a file holding it.
pub fn read_verifier(arg: &str) -> Option<VerifierKey> {
    if let Ok(key) = VerifierKey::parse(arg) {
        return Some(key);
    }
    let text = std::fs::read_to_string(arg).ok()?;
    VerifierKey::parse(&text).ok()
}
