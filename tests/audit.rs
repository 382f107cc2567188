//! The tamper-evident log against a real PostgreSQL: every event one dense leaf in commit
//! order (rebuilt identically), signed checkpoints, and `audit verify --database` finding
//! and naming each kind of tampering (invariant 12).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use common::audit::{found, history, tamper};
use common::cli::{one_line_error, runproof};
use common::{app, t0, wait_projected, TestDb};
use runproof::app::App;
use runproof::audit::checkpoints::{self, Signed};
use runproof::audit::keys;
use runproof::audit::schedule::Checkpointer;
use runproof::audit::verify::{self, Problem};
use runproof::clock::{Clock, ManualClock};
use runproof_audit::{tree, SignerKey, Tree, VerifierKey};
use runproof_projections::log::{self, StoredEvent};
use runproof_projections::log_leaves::{self, LogLeavesProjection};
use runproof_projections::{rebuild, LogPosition, NoProgress, Projector};

async fn all_events(db: &TestDb) -> Vec<StoredEvent> {
    let mut conn = db.pool.acquire().await.unwrap();
    log::read_after(&mut conn, LogPosition::START, None, 100_000)
        .await
        .unwrap()
}

async fn leaves(db: &TestDb) -> Vec<log_leaves::Leaf> {
    let mut conn = db.pool.acquire().await.unwrap();
    log_leaves::read_leaves(&mut conn, 0, 100_000)
        .await
        .unwrap()
}

/// Waits until every event written so far is readable (below the read horizon, which
/// other tests' open transactions can hold back for a moment) without sequencing it.
async fn wait_readable_unsequenced(db: &TestDb) {
    let others: Vec<_> = runproof_projections::all()
        .into_iter()
        .filter(|p| p.name() != log_leaves::NAME)
        .collect();
    wait_projected(db, &Projector::new(db.pool.clone(), others)).await;
    assert_eq!(leaves(db).await, vec![]);
}

/// A signer key (and its file in `dir`).
fn key(dir: &Path, file: &str, name: &str) -> (SignerKey, PathBuf) {
    let key = keys::generate(name).unwrap();
    let path = dir.join(file);
    keys::write_new(&path, &key).unwrap();
    (key, path)
}

async fn sign(db: &TestDb, key: &SignerKey) -> checkpoints::StoredCheckpoint {
    match checkpoints::sign_current(&db.pool, key, key.name(), t0())
        .await
        .unwrap()
    {
        Signed::New(c) => c,
        Signed::Unchanged(c) => panic!("expected a new checkpoint, got {c:?}"),
    }
}

async fn leaf_at(db: &TestDb, index: i64) -> log_leaves::Leaf {
    let mut conn = db.pool.acquire().await.unwrap();
    log_leaves::read_leaves(&mut conn, index, 1)
        .await
        .unwrap()
        .remove(0)
}

/// A history of 8 runs (24 events), sequenced and signed; the key's file and verifier key.
async fn signed_log(db: &TestDb, dir: &Path) -> (App, Arc<ManualClock>, SignerKey) {
    let (app, clock) = app(db);
    history(&app, &clock, 8).await;
    wait_projected(db, &app.projector).await;
    let (key, _) = key(dir, "log.key", "runproof/test");
    sign(db, &key).await;
    (app, clock, key)
}

fn verify_cli(db: &TestDb, key: &SignerKey) -> common::cli::Output {
    runproof(
        &db.url(),
        &["audit", "verify", "--database", "--key", key.verifier_key()],
    )
}

#[tokio::test]
async fn every_event_gets_one_dense_leaf_in_commit_order_with_its_recomputed_hash() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app, &clock, 5).await;
    wait_projected(&db, &app.projector).await;
    let events = all_events(&db).await;
    let leaves = leaves(&db).await;
    assert_eq!(events.len(), 15);
    assert_eq!(leaves.len(), events.len());
    for (i, (leaf, event)) in leaves.iter().zip(&events).enumerate() {
        assert_eq!(leaf.index, i as i64);
        assert_eq!(leaf.at, event.at);
        assert_eq!(
            (
                leaf.aggregate_type.as_str(),
                leaf.aggregate_id.as_str(),
                leaf.sequence
            ),
            (
                event.aggregate_type.as_str(),
                event.aggregate_id.as_str(),
                event.sequence
            )
        );
        assert_eq!(leaf.hash, Some(log_leaves::leaf_hash(event).unwrap()));
        // The database records when each event was written; the leaf covers it.
        assert!(event.recorded_at.is_some());
    }
}

#[tokio::test]
async fn a_rebuild_gives_the_same_leaves_and_replay_verify_finds_no_difference() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app, &clock, 6).await;
    wait_projected(&db, &app.projector).await;
    let before = leaves(&db).await;
    rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(leaves(&db).await, before);
    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn events_written_while_no_sequencer_ran_are_sequenced_once_by_the_next_one() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    // Writes without waiting for the projections: nothing sequences them here.
    let writer = app.clone().without_read_your_writes();
    history(&writer, &clock, 4).await;
    wait_readable_unsequenced(&db).await;
    // A sequencer in "another process" catches up from its checkpoint, twice.
    let second = db.second_pool().await;
    let sequencer = Projector::new(second, vec![Arc::new(LogLeavesProjection)]);
    sequencer.catch_up().await.unwrap();
    sequencer.catch_up().await.unwrap();
    let leaves = leaves(&db).await;
    let indexes: Vec<i64> = leaves.iter().map(|l| l.index).collect();
    assert_eq!(indexes, (0..12).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_checkpoint_signs_the_tree_head_of_the_sequenced_leaves() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (app, _clock, key) = signed_log(&db, dir.path()).await;
    let stored = checkpoints::latest(&mut db.pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    let hashes: Vec<_> = leaves(&db).await.iter().map(|l| l.hash.unwrap()).collect();
    let root = Tree::from_leaves(hashes).unwrap().root().unwrap();
    assert_eq!(stored.tree_size, 24);
    assert_eq!(stored.root_hash, root.0.to_vec());
    let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
    let head = runproof_audit::checkpoint::open(&stored.note, &verifier).unwrap();
    assert_eq!(
        (head.origin.as_str(), head.size, head.root),
        ("runproof/test", 24, root)
    );
    assert!(stored.note.starts_with(&format!(
        "runproof/test\n24\n{root}\n\n\u{2014} runproof/test "
    )));

    // Nothing new: not signed again. New events: a new checkpoint extending the first.
    assert!(matches!(
        checkpoints::sign_current(&db.pool, &key, key.name(), t0())
            .await
            .unwrap(),
        Signed::Unchanged(_)
    ));
    history(&app, &ManualClock::new(t0()), 1).await;
    wait_projected(&db, &app.projector).await;
    let second = sign(&db, &key).await;
    assert_eq!(second.tree_size, 27);
    let verify = verify_cli(&db, &key);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    assert!(verify
        .stdout
        .contains("27 events, 27 sequenced leaves and 2 checkpoint(s) agree"));
    assert!(verify.stdout.contains(key.verifier_key()));
}

#[tokio::test]
async fn a_changed_payload_is_found_at_its_leaf_and_against_the_checkpoint() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    // Leaf 5 is the second run's RunStarted.
    let leaf = leaf_at(&db, 5).await;
    tamper(
        &db,
        &format!(
            "UPDATE events SET payload = json_build_object(event_type, \
               json_build_object('started_at', '2020-01-01T00:00:00Z')) \
             WHERE position = {}",
            leaf.at.position
        ),
    )
    .await;
    let o = verify_cli(&db, &key);
    found(
        &o,
        "audit.leaf_changed",
        &format!("Leaf 5 (position {},", leaf.at.position),
    );
    found(&o, "audit.checkpoint_root", "Checkpoint 1 (tree size 24)");
}

#[tokio::test]
async fn a_deleted_event_is_found_and_named() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    let leaf = leaf_at(&db, 7).await;
    tamper(
        &db,
        &format!("DELETE FROM events WHERE position = {}", leaf.at.position),
    )
    .await;
    let o = verify_cli(&db, &key);
    found(
        &o,
        "audit.event_missing",
        &format!("Leaf 7 (position {},", leaf.at.position),
    );
    found(
        &o,
        "audit.checkpoint_truncated",
        "Checkpoint 1 vouches for 24 events, but the log holds only 23",
    );
    assert!(o.stdout.contains(&leaf.aggregate_id));
}

#[tokio::test]
async fn an_event_inserted_among_sequenced_ones_is_found_and_named() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    // A forged copy of leaf 10's event, written into leaf 10's transaction: it sorts
    // right after it, among events already sequenced.
    let leaf = leaf_at(&db, 10).await;
    tamper(
        &db,
        &format!(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
                                 payload, metadata, transaction_id, recorded_at) \
             SELECT aggregate_type, 'forged', sequence, event_type, event_version, payload, \
                    metadata, transaction_id, recorded_at FROM events WHERE position = {}",
            leaf.at.position
        ),
    )
    .await;
    let o = verify_cli(&db, &key);
    found(&o, "audit.event_inserted", "(after leaf 10)");
    found(&o, "audit.event_inserted", "/forged#");
    found(&o, "audit.checkpoint_root", "Checkpoint 1");
}

#[tokio::test]
async fn two_swapped_events_are_found_at_both_leaves() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    let (a, b) = (leaf_at(&db, 2).await, leaf_at(&db, 11).await);
    let (pa, pb) = (a.at.position, b.at.position);
    // Each row takes the other's event (stream, sequence, type, payload, metadata, time).
    tamper(
        &db,
        &format!(
            "UPDATE events SET aggregate_id = aggregate_id || '~' WHERE position IN ({pa}, {pb}); \
             UPDATE events e SET aggregate_type = o.aggregate_type, \
                 aggregate_id = rtrim(o.aggregate_id, '~'), sequence = o.sequence, \
                 event_type = o.event_type, event_version = o.event_version, \
                 payload = o.payload, metadata = o.metadata, recorded_at = o.recorded_at \
             FROM events o WHERE (e.position, o.position) IN (({pa}, {pb}), ({pb}, {pa}))"
        ),
    )
    .await;
    let o = verify_cli(&db, &key);
    found(
        &o,
        "audit.leaf_moved",
        &format!(
            "Leaf 2 (position {pa}): the event stored there now is the one sequenced as leaf 11"
        ),
    );
    found(
        &o,
        "audit.leaf_moved",
        &format!(
            "Leaf 11 (position {pb}): the event stored there now is the one sequenced as leaf 2"
        ),
    );
    found(&o, "audit.checkpoint_root", "Checkpoint 1");
}

#[tokio::test]
async fn events_reordered_by_their_transaction_ids_are_found_out_of_order() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    // Leaf 2 (the first run's RunStarted) and leaf 14 are in different transactions.
    let (a, b) = (leaf_at(&db, 2).await, leaf_at(&db, 14).await);
    assert_ne!(a.at.transaction_id, b.at.transaction_id);
    tamper(
        &db,
        &format!(
            "UPDATE events SET transaction_id = CASE position \
               WHEN {pa} THEN '{tb}'::xid8 ELSE '{ta}'::xid8 END \
             WHERE position IN ({pa}, {pb})",
            pa = a.at.position,
            pb = b.at.position,
            ta = a.at.transaction_id,
            tb = b.at.transaction_id
        ),
    )
    .await;
    let o = verify_cli(&db, &key);
    found(&o, "audit.leaf_out_of_order", "Leaf ");
    found(&o, "audit.checkpoint_root", "Checkpoint 1");
}

#[tokio::test]
async fn a_tail_truncated_after_a_checkpoint_is_found_and_named() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    let from = leaf_at(&db, 21).await.at.position;
    tamper(&db, &format!("DELETE FROM events WHERE position >= {from}")).await;
    let o = verify_cli(&db, &key);
    found(
        &o,
        "audit.checkpoint_truncated",
        "Checkpoint 1 vouches for 24 events, but the log holds only 21",
    );
    for index in 21..24 {
        found(
            &o,
            "audit.event_missing",
            &format!("Leaf {index} (position"),
        );
    }
}

#[tokio::test]
async fn a_replay_over_a_changed_log_cannot_hide_it_from_the_checkpoint_nor_get_it_signed() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (app, _clock, key) = signed_log(&db, dir.path()).await;
    let leaf = leaf_at(&db, 5).await;
    tamper(
        &db,
        &format!(
            "UPDATE events SET payload = json_build_object(event_type, \
               json_build_object('started_at', '2020-01-01T00:00:00Z')) \
             WHERE position = {}",
            leaf.at.position
        ),
    )
    .await;
    // The leaves are rebuilt from the changed log: they agree with it now.
    rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    let o = verify_cli(&db, &key);
    assert!(!o.stdout.contains("[audit.leaf_changed]"), "{}", o.stdout);
    found(&o, "audit.checkpoint_root", "Checkpoint 1 (tree size 24)");
    found(&o, "audit.checkpoint_leaves", "Checkpoint 1 (tree size 24)");

    // And no new checkpoint vouches for the changed history.
    let key_file = dir.path().join("log.key");
    let refused = runproof(
        &db.url(),
        &["audit", "checkpoint", "--key", key_file.to_str().unwrap()],
    );
    one_line_error(&refused, 3, "audit.fork");
}

#[tokio::test]
async fn a_checkpoint_signed_with_another_key_is_refused() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, _key) = signed_log(&db, dir.path()).await;
    let other = keys::generate("runproof/test").unwrap();
    let o = verify_cli(&db, &other);
    found(
        &o,
        "audit.checkpoint_signature",
        "Checkpoint 1 (tree size 24) is not signed by the key",
    );

    // Without a key the log still verifies, and says the signatures were not checked.
    let unsigned = runproof(&db.url(), &["audit", "verify", "--database"]);
    assert_eq!(unsigned.code, 0, "{}", unsigned.stdout);
    assert!(unsigned.stdout.contains("Signatures were not checked"));
}

#[tokio::test]
async fn verify_reports_every_problem_in_json_and_in_german() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    let leaf = leaf_at(&db, 7).await;
    tamper(
        &db,
        &format!("DELETE FROM events WHERE position = {}", leaf.at.position),
    )
    .await;
    let o = runproof(
        &db.url(),
        &[
            "--json",
            "audit",
            "verify",
            "--database",
            "--key",
            key.verifier_key(),
        ],
    );
    assert_eq!(o.code, 1);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report["clean"], false);
    let problems = report["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p["kind"] == "event_missing"
        && p["index"] == 7
        && p["position"] == leaf.at.position
        && p["reason"] == "audit.event_missing"));
    let de = runproof(
        &db.url(),
        &[
            "--lang",
            "de",
            "audit",
            "verify",
            "--database",
            "--key",
            key.verifier_key(),
        ],
    );
    assert!(de.stdout.contains("Blatt 7 (Position"), "{}", de.stdout);
    assert!(de
        .stderr
        .contains("Das Audit-Log lässt sich nicht bestätigen"));
}

#[tokio::test]
async fn analyse_names_a_gap_in_the_leaves() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, _clock, key) = signed_log(&db, dir.path()).await;
    sqlx::query("DELETE FROM log_leaves WHERE leaf_index = 3")
        .execute(&db.pool)
        .await
        .unwrap();
    let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
    let report = verify::verify_database(&db.pool, Some(&verifier))
        .await
        .unwrap();
    assert!(report.problems.contains(&Problem::LeafGap { index: 3 }));
    // The event of the lost leaf is among sequenced ones without a leaf.
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::EventInserted { after: Some(2), .. })));
    // Nothing is signed over leaves with a gap.
    let refused = checkpoints::sign_current(&db.pool, &key, key.name(), t0()).await;
    assert!(matches!(
        refused,
        Err(runproof::audit::AuditError::LeavesIncomplete { index: 3 })
    ));
}

#[tokio::test]
async fn keygen_writes_a_private_key_file_once_and_prints_its_verifier_key() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.key");
    let path = file.to_str().unwrap();
    let o = runproof(&db.url(), &["audit", "keygen", "--out", path]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let verifier = o.stdout.trim();
    let expected_name = format!("runproof/{}", db.name);
    assert!(
        verifier.starts_with(&format!("{expected_name}+")),
        "{verifier}"
    );
    let key = keys::read_signer(&file).unwrap();
    assert_eq!(key.verifier_key(), verifier);
    assert!(o.stderr.contains("mode 0600"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwritten.
    let again = runproof(&db.url(), &["audit", "keygen", "--out", path]);
    one_line_error(&again, 2, "audit.key_exists");
    assert_eq!(keys::read_signer(&file).unwrap().verifier_key(), verifier);
    // A name that cannot name a log is refused.
    let bad = runproof(
        &db.url(),
        &[
            "audit",
            "keygen",
            "--out",
            dir.path().join("x").to_str().unwrap(),
            "--name",
            "a+b",
        ],
    );
    one_line_error(&bad, 2, "audit.name_invalid");
}

#[tokio::test]
async fn bad_keys_are_refused_with_one_line() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let not_a_key = dir.path().join("not-a-key");
    std::fs::write(&not_a_key, "hello\n").unwrap();
    let url = db.url();
    one_line_error(
        &runproof(
            &url,
            &["audit", "checkpoint", "--key", not_a_key.to_str().unwrap()],
        ),
        2,
        "audit.key_invalid",
    );
    one_line_error(
        &runproof(&url, &["audit", "checkpoint", "--key", "/nonexistent/key"]),
        2,
        "audit.key_file_failed",
    );
    one_line_error(
        &runproof(&url, &["audit", "checkpoint"]),
        2,
        "audit.key_missing",
    );
    one_line_error(
        &runproof(&url, &["audit", "verify", "--database", "--key", "nope"]),
        2,
        "audit.verifier_key_invalid",
    );
}

#[tokio::test]
async fn audit_checkpoint_sequences_first_and_takes_its_key_from_the_environment() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app.clone().without_read_your_writes(), &clock, 2).await;
    wait_readable_unsequenced(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let (key, file) = key(dir.path(), "k", "example.com/log");
    let out = assert_cmd::Command::cargo_bin("runproof")
        .unwrap()
        .env("RUNPROOF_AUDIT_KEY", &file)
        .args([
            "--database-url",
            &db.url(),
            "audit",
            "checkpoint",
            "--origin",
            "example.com/runproof",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Signed checkpoint 1: 6 leaves"), "{stdout}");
    assert!(stdout.contains("origin example.com/runproof"), "{stdout}");
    let stored = checkpoints::latest(&mut db.pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.key, key.verifier_key());
    assert!(stored.note.starts_with("example.com/runproof\n6\n"));
}

#[tokio::test]
async fn the_periodic_checkpoint_signs_when_due_by_the_clock_and_only_then() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app, &clock, 1).await;
    wait_projected(&db, &app.projector).await;
    let key = keys::generate("runproof/periodic").unwrap();
    let every = Duration::from_secs(600);
    let checkpointer = Checkpointer::new(db.pool.clone(), key, "runproof/periodic".into(), every);
    // The first tick of a process signs at once.
    let first = checkpointer.tick(clock.now()).await.unwrap();
    assert!(matches!(first, Some(Signed::New(ref c)) if c.tree_size == 3));
    history(&app, &clock, 1).await;
    wait_projected(&db, &app.projector).await;
    clock.advance(Span::minutes(5));
    assert_eq!(checkpointer.tick(clock.now()).await.unwrap(), None);
    clock.advance(Span::minutes(5));
    let second = checkpointer.tick(clock.now()).await.unwrap();
    assert!(matches!(second, Some(Signed::New(ref c)) if c.tree_size == 6));
    // Due again, but nothing new: nothing signed.
    clock.advance(Span::minutes(10));
    let third = checkpointer.tick(clock.now()).await.unwrap();
    assert!(matches!(third, Some(Signed::Unchanged(ref c)) if c.tree_size == 6));
}

#[tokio::test]
async fn project_once_with_a_key_signs_a_checkpoint_of_what_it_sequenced() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app.clone().without_read_your_writes(), &clock, 2).await;
    wait_readable_unsequenced(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let (_key, file) = key(dir.path(), "k", "runproof/project");
    let o = runproof(
        &db.url(),
        &[
            "project",
            "--once",
            "--audit-key",
            file.to_str().unwrap(),
            "--checkpoint-every",
            "5m",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("log_leaves"), "{}", o.stdout);
    assert!(
        o.stdout.contains("Signed checkpoint 1: 6 leaves"),
        "{}",
        o.stdout
    );
    let json = common::cli::runproof_json(
        &db.url(),
        &["project", "--once", "--audit-key", file.to_str().unwrap()],
    );
    assert_eq!(json["checkpoint"]["new"], false);
    assert_eq!(json["checkpoint"]["tree_size"], 6);
}

#[tokio::test]
async fn a_root_computed_from_the_stored_leaves_matches_a_tree_of_recomputed_events() {
    // The checkpoint's root is over the stored leaves; the auditor's over events.
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app, &clock, 3).await;
    wait_projected(&db, &app.projector).await;
    let from_events = Tree::from_leaves(
        all_events(&db)
            .await
            .iter()
            .map(|e| log_leaves::leaf_hash(e).unwrap()),
    )
    .unwrap();
    let hashes = log_leaves::read_hashes(&mut db.pool.acquire().await.unwrap(), 9)
        .await
        .unwrap();
    let from_leaves = Tree::from_leaves(hashes).unwrap();
    assert_eq!(
        tree::to_hex(&from_events.root().unwrap()),
        tree::to_hex(&from_leaves.root().unwrap())
    );
}

#[tokio::test]
async fn the_checkpoint_loop_of_serve_and_project_signs_at_start_and_stops_at_shutdown() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    history(&app, &clock, 1).await;
    wait_projected(&db, &app.projector).await;
    let key = keys::generate("runproof/loop").unwrap();
    let checkpointer = Arc::new(Checkpointer::new(
        db.pool.clone(),
        key,
        "runproof/loop".into(),
        Duration::from_secs(600),
    ));
    // Shutdown already requested: the loop still makes its first tick, then returns.
    checkpointer
        .clone()
        .run(clock.clone(), Duration::from_secs(3600), async {})
        .await;
    let stored = checkpoints::all(&mut db.pool.acquire().await.unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].tree_size, 3);
    assert!(!checkpointer.due(clock.now()));
}
