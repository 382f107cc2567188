//! Vendored third-party files are exactly what their VERSION files say: the SHA-256 written
//! there is the file's, and the version named there is the one inside the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};

/// The value of `key: value` in a VERSION file.
fn field<'a>(version_file: &'a str, key: &str) -> &'a str {
    version_file
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key:?} in the VERSION file"))
        .trim()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn the_vendored_axe_core_is_the_file_its_version_file_describes() {
    let file = include_bytes!("assets/axe.min.js");
    let version = include_str!("assets/axe.VERSION");
    assert_eq!(field(version, "package"), "axe-core");
    assert_eq!(sha256(file), field(version, "sha256"));
    let header = format!("/*! axe v{}", field(version, "version"));
    assert!(
        file.starts_with(header.as_bytes()),
        "the file is not {header}"
    );
}

#[test]
fn the_vendored_htmx_is_the_file_its_version_file_describes() {
    let file = include_bytes!("../static/htmx.min.js");
    let version = include_str!("../static/htmx.VERSION");
    assert_eq!(field(version, "package"), "htmx.org");
    let v = field(version, "version");
    assert!(v.starts_with("2.0."), "htmx {v} is not 2.0.x");
    assert_eq!(sha256(file), field(version, "sha256"));
    let text = std::str::from_utf8(file).unwrap();
    assert!(
        text.contains(&format!("version:\"{v}\"")),
        "the file is not htmx {v}"
    );
}
