//! Audit bundles against a real PostgreSQL: `audit export` writes the log between two
//! signed checkpoints, identically every time, and `audit verify DIR` checks it with only
//! the verifier key — no database — finding tampering, a foreign key, and any changed
//! byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Duration as Span;
use common::audit::{found, history, tamper};
use common::cli::{one_line_error, runproof};
use common::{app, t0, wait_projected, TestDb};
use proptest::prelude::*;
use runproof::app::App;
use runproof::audit::bundle::{self, BundleProblem};
use runproof::audit::checkpoints::{self, Signed};
use runproof::audit::export;
use runproof::audit::keys;
use runproof::clock::ManualClock;
use runproof_audit::{SignerKey, VerifierKey};
use runproof_projections::log_leaves;

/// A database URL that reaches no database: offline verification must not need one.
const NO_DATABASE: &str = "postgres://nobody@127.0.0.1:1/no_database";

async fn sign(db: &TestDb, key: &SignerKey) -> u64 {
    match checkpoints::sign_current(&db.pool, key, key.name(), t0())
        .await
        .unwrap()
    {
        Signed::New(c) | Signed::Unchanged(c) => c.tree_size as u64,
    }
}

fn new_key(name: &str) -> SignerKey {
    keys::generate(name).unwrap()
}

fn verifier(key: &SignerKey) -> VerifierKey {
    VerifierKey::parse(key.verifier_key()).unwrap()
}

/// `n` runs (3n events), sequenced and signed at 3·first and at 3n.
async fn two_checkpoints(db: &TestDb, key: &SignerKey, first: u32, n: u32) -> (App, u64, u64) {
    let (app, clock) = app(db);
    history(&app, &clock, first).await;
    wait_projected(db, &app.projector).await;
    let from = sign(db, key).await;
    history(&app, &clock, n - first).await;
    wait_projected(db, &app.projector).await;
    let to = sign(db, key).await;
    (app, from, to)
}

fn export_cli(db: &TestDb, dir: &Path, extra: &[&str]) -> common::cli::Output {
    let dir = dir.to_str().unwrap();
    let mut args = vec!["audit", "export", "--out", dir];
    args.extend_from_slice(extra);
    runproof(&db.url(), &args)
}

fn verify_cli(dir: &Path, key: &SignerKey) -> common::cli::Output {
    runproof(
        NO_DATABASE,
        &[
            "audit",
            "verify",
            dir.to_str().unwrap(),
            "--key",
            key.verifier_key(),
        ],
    )
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    bundle::read_dir(dir).unwrap()
}

#[tokio::test]
async fn an_exported_range_verifies_offline_with_only_the_verifier_key() {
    let db = TestDb::new().await;
    let key = new_key("runproof/test");
    let (_app, from, to) = two_checkpoints(&db, &key, 3, 7).await;
    assert_eq!((from, to), (9, 21));
    let tmp = tempfile::tempdir().unwrap();

    // The default: the whole signed log, from the empty tree.
    let whole = tmp.path().join("whole");
    let o = export_cli(&db, &whole, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let names: Vec<_> = files(&whole).into_keys().collect();
    assert_eq!(
        names,
        [
            "compact-range",
            "consistency.proof",
            "events.jsonl",
            "manifest.json",
            "to.checkpoint"
        ]
    );
    let o = verify_cli(&whole, &key);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("21 events"), "{}", o.stdout);

    // A range between two checkpoints: both signed, the proofs non-trivial.
    let range = tmp.path().join("range");
    let o = export_cli(&db, &range, &["--from", "9", "--to", "21"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let bundle = files(&range);
    assert!(bundle.contains_key("from.checkpoint"));
    assert_eq!(
        std::str::from_utf8(&bundle["events.jsonl"])
            .unwrap()
            .lines()
            .count(),
        12
    );
    let o = verify_cli(&range, &key);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let report = bundle::verify(&bundle, &verifier(&key));
    assert_eq!(report.problems, vec![]);
    assert_eq!((report.from, report.to, report.events.len()), (9, 21, 12));
    assert_eq!(report.events[0].leaf_index, 9);
}

#[tokio::test]
async fn the_same_range_exported_twice_gives_the_same_bytes() {
    let db = TestDb::new().await;
    let key = new_key("runproof/test");
    let (app, _, _) = two_checkpoints(&db, &key, 2, 5).await;
    // More events and another checkpoint afterwards change nothing in that range.
    let clock = ManualClock::new(t0() + Span::days(1));
    history(&app, &clock, 1).await;
    wait_projected(&db, &app.projector).await;
    sign(&db, &key).await;
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(export_cli(&db, &a, &["--from", "6", "--to", "15"]).code, 0);
    assert_eq!(export_cli(&db, &b, &["--from", "6", "--to", "15"]).code, 0);
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 6);
    assert_eq!(fa, fb);
}

#[tokio::test]
async fn export_refuses_a_non_empty_directory_and_names_bad_checkpoints() {
    let db = TestDb::new().await;
    let key = new_key("runproof/test");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    // Nothing signed yet.
    one_line_error(&export_cli(&db, &out, &[]), 3, "audit.no_checkpoint");
    two_checkpoints(&db, &key, 1, 2).await;
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    one_line_error(&export_cli(&db, &out, &[]), 2, "audit.bundle_dir_not_empty");
    assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"mine");
    assert_eq!(files(&out).len(), 1);
    let fresh = tmp.path().join("fresh");
    for (args, reason) in [
        (&["--to", "latest"][..], "audit.checkpoint_name_invalid"),
        (&["--from", "-3"][..], "audit.checkpoint_name_invalid"),
        (&["--to", "4"][..], "audit.checkpoint_unknown"),
        (&["--from", "6", "--to", "3"][..], "audit.range_reversed"),
    ] {
        one_line_error(&export_cli(&db, &fresh, args), 2, reason);
        assert!(!fresh.exists(), "{args:?} wrote something");
    }
    assert_eq!(export_cli(&db, &fresh, &["--from", "3"]).code, 0);
    // Verifying a bundle needs a key; a missing bundle is named.
    let o = runproof(NO_DATABASE, &["audit", "verify", fresh.to_str().unwrap()]);
    one_line_error(&o, 2, "audit.verifier_key_missing");
    let o = verify_cli(&tmp.path().join("nothing"), &key);
    one_line_error(&o, 3, "audit.bundle_io");
}

#[tokio::test]
async fn an_export_of_a_changed_log_fails_offline_verification_naming_the_leaf() {
    let db = TestDb::new().await;
    let key = new_key("runproof/test");
    two_checkpoints(&db, &key, 2, 4).await;
    let mut conn = db.pool.acquire().await.unwrap();
    let leaves = log_leaves::read_leaves(&mut conn, 0, 100).await.unwrap();
    drop(conn);
    let changed = &leaves[8];
    tamper(
        &db,
        &format!(
            "UPDATE events SET payload = json_build_object(event_type, \
               json_build_object('started_at', '2020-01-01T00:00:00Z')) \
             WHERE position = {}",
            changed.at.position
        ),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("changed");
    assert_eq!(export_cli(&db, &dir, &["--from", "6"]).code, 0);
    let o = verify_cli(&dir, &key);
    found(&o, "audit.bundle_leaf_changed", "Leaf 8 (");
    found(&o, "audit.bundle_leaf_changed", &changed.aggregate_id);
    found(&o, "audit.bundle_root", "size 12");

    let deleted = &leaves[10];
    tamper(
        &db,
        &format!(
            "DELETE FROM events WHERE position = {}",
            deleted.at.position
        ),
    )
    .await;
    let dir = tmp.path().join("deleted");
    assert_eq!(export_cli(&db, &dir, &[]).code, 0);
    let o = verify_cli(&dir, &key);
    found(&o, "audit.bundle_leaf_missing", "Leaf 10:");
    // With a leaf missing, the stated leaf hashes cannot be confirmed by the root: the
    // changed event is still named, by the hash its line states.
    found(&o, "audit.bundle_leaf_hash", "Leaf 8 (");
}

#[tokio::test]
async fn a_bundle_signed_with_another_key_is_refused() {
    let db = TestDb::new().await;
    let key = new_key("runproof/test");
    let other = new_key("runproof/test");
    two_checkpoints(&db, &key, 1, 3).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    assert_eq!(export_cli(&db, &dir, &["--from", "3"]).code, 0);
    let o = verify_cli(&dir, &other);
    found(&o, "audit.bundle_signature", "to.checkpoint");
    found(&o, "audit.bundle_signature", "from.checkpoint");
    let report = bundle::verify(&files(&dir), &verifier(&other));
    assert!(report.problems.contains(&BundleProblem::Signature {
        file: "to.checkpoint".into()
    }));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// For random small logs signed at random points and a random range between two of
    /// the checkpoints, the export verifies; changing any one byte of it (several
    /// random ones are tried per case) makes verification fail.
    #[test]
    fn any_exported_range_verifies_and_any_changed_byte_fails(
        segments in prop::collection::vec(0u32..3, 1..4),
        pick in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..=255), 8),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let db = TestDb::new().await;
            let key = new_key("runproof/prop");
            let (app, clock) = app(&db);
            let mut sizes = vec![0u64];
            for runs in &segments {
                history(&app, &clock, *runs).await;
                wait_projected(&db, &app.projector).await;
                let size = sign(&db, &key).await;
                if sizes.last() != Some(&size) {
                    sizes.push(size);
                }
            }
            // The tree sizes of signed checkpoints (0 is the empty tree, always allowed).
            let signed: Vec<u64> = sizes.iter().copied().filter(|s| *s > 0).collect();
            prop_assume!(!signed.is_empty());
            let a = sizes[pick.0.index(sizes.len())];
            let b = signed[pick.1.index(signed.len())];
            let (from, to) = (a.min(b), a.max(b).max(signed[0]));
            let bundle = export::export(&db.pool, Some(from), Some(to)).await.unwrap();
            let files: BTreeMap<String, Vec<u8>> = bundle
                .files
                .iter()
                .map(|(n, b)| (n.to_string(), b.clone()))
                .collect();
            let vkey = verifier(&key);
            let report = bundle::verify(&files, &vkey);
            prop_assert_eq!(&report.problems, &vec![]);
            prop_assert_eq!((report.from, report.to), (from, to));

            let names: Vec<&String> = files.keys().filter(|n| !files[*n].is_empty()).collect();
            for (file, at, xor) in flips {
                let name = names[file.index(names.len())];
                let mut changed = files.clone();
                let bytes = changed.get_mut(name).unwrap();
                let i = at.index(bytes.len());
                bytes[i] ^= xor;
                let report = bundle::verify(&changed, &vkey);
                prop_assert!(
                    !report.problems.is_empty(),
                    "{name} byte {i} ^ {xor} was not noticed"
                );
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
