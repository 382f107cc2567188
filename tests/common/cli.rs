//! Running the binary as an operator does, and checking what it prints: one-line errors
//! with reason codes and nothing that leaks SQL or stack traces.

use assert_cmd::Command;

/// What one invocation printed and returned.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `runproof --database-url URL ARGS…`; fails the test if the output leaks.
pub fn runproof(url: &str, args: &[&str]) -> Output {
    let out = Command::cargo_bin("runproof")
        .unwrap()
        .env_remove("RUST_LOG")
        .arg("--database-url")
        .arg(url)
        .args(args)
        .output()
        .unwrap();
    let o = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_leak(&o);
    o
}

/// Runs the binary and parses its JSON output (the command must succeed).
pub fn runproof_json(url: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = runproof(url, &all);
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

/// Nothing a person reads contains SQL, driver wording or a stack trace (invariant 9).
pub fn assert_no_leak(o: &Output) {
    let text = format!("{}\n{}", o.stdout, o.stderr).to_lowercase();
    for word in [
        "select ",
        "insert ",
        "update ",
        "constraint",
        "duplicate key",
        "sqlstate",
        "sqlx",
        "error returned from database",
        "panicked",
        "stack backtrace",
        "relation \"",
    ] {
        assert!(!text.contains(word), "output leaks `{word}`:\n{text}");
    }
}

/// The invocation failed with exit code `code` and one line naming `reason`.
pub fn one_line_error(o: &Output, code: i32, reason: &str) {
    assert_eq!(o.code, code, "exit code; stderr: {}", o.stderr);
    assert_eq!(
        o.stderr.trim_end().lines().count(),
        1,
        "one line: {:?}",
        o.stderr
    );
    assert!(o.stderr.starts_with("error: "), "{:?}", o.stderr);
    assert!(o.stderr.contains(&format!("[{reason}]")), "{:?}", o.stderr);
}
