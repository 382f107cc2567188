//! Inclusion proofs against a real PostgreSQL: `audit prove RUN_ID` writes one C2SP
//! tlog-proof per event of the run against the latest signed checkpoint, and `audit
//! verify-proof FILE` checks each with only the verifier key — no database — naming what
//! is wrong with a changed event, proof hash or checkpoint, a foreign key, or another
//! entry's proof.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use base64::prelude::{Engine, BASE64_STANDARD};
use common::audit::history;
use common::cli::{one_line_error, runproof, Output};
use common::{app, t0, wait_projected, worker, TestDb};
use runproof::audit::checkpoints;
use runproof::audit::keys;
use runproof_audit::SignerKey;
use runproof_domain::operation_run::TerminalOutcome;
use uuid::Uuid;

/// A database URL that reaches no database: offline verification must not need one.
const NO_DATABASE: &str = "postgres://nobody@127.0.0.1:1/no_database";

async fn sign(db: &TestDb, key: &SignerKey) {
    checkpoints::sign_current(&db.pool, key, key.name(), t0())
        .await
        .unwrap();
}

/// The runs in the log, in the order they were queued.
async fn runs(db: &TestDb) -> Vec<Uuid> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT aggregate_id FROM events WHERE aggregate_type = 'operation_run' \
         AND sequence = 1 ORDER BY position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    ids.iter().map(|i| i.parse().unwrap()).collect()
}

fn prove(db: &TestDb, run: Uuid, dir: &Path) -> Output {
    runproof(
        &db.url(),
        &[
            "audit",
            "prove",
            &run.to_string(),
            "--out",
            dir.to_str().unwrap(),
        ],
    )
}

fn verify_proof(file: &Path, key: &str) -> Output {
    runproof(
        NO_DATABASE,
        &[
            "audit",
            "verify-proof",
            file.to_str().unwrap(),
            "--key",
            key,
        ],
    )
}

/// The proof files in `dir`, by name.
fn proof_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Writes `text` as a new file in `dir` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The proof verification failed with exit code 1 and one line naming `reason`.
fn refused(o: &Output, reason: &str) {
    one_line_error(o, 1, reason);
}

/// Five runs queued and started, a checkpoint over them, then the third run completed
/// after the checkpoint: its two first events are covered, its completion is not.
async fn world(db: &TestDb, key: &SignerKey) -> Uuid {
    let (app, clock) = app(db);
    history(&app, &clock, 5).await;
    wait_projected(db, &app.projector).await;
    sign(db, key).await;
    let run = runs(db).await[2];
    app.lifecycle
        .complete(
            run,
            TerminalOutcome::Succeeded,
            Default::default(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    wait_projected(db, &app.projector).await;
    run
}

#[tokio::test]
async fn every_proof_of_a_run_verifies_offline_and_an_uncovered_event_is_named() {
    let db = TestDb::new().await;
    let key = keys::generate("runproof/test").unwrap();
    let run = world(&db, &key).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proofs");

    let o = prove(&db, run, &dir);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let files = proof_files(&dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // The run's events are leaves 7 (queued; each run also claims its slot first) and 8.
    assert_eq!(
        names,
        ["7-RunQueued.tlog-proof", "8-RunStarted.tlog-proof"],
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("RunCompleted") && l.contains("not covered")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("Wrote 2 inclusion proof(s)") && o.stdout.contains("1 event(s) not"),
        "{}",
        o.stdout
    );

    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{text}");
        assert!(text.contains("\n\nrunproof/test\n15\n"), "{text}");
        let o = verify_proof(file, key.verifier_key());
        assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
        assert!(o.stdout.contains("holds"), "{}", o.stdout);
        assert!(o.stdout.contains("tree of size 15"), "{}", o.stdout);
    }

    // The event travels in the extra line as its events.jsonl line.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let extra = text.lines().nth(1).unwrap().strip_prefix("extra ").unwrap();
    let line = String::from_utf8(BASE64_STANDARD.decode(extra).unwrap()).unwrap();
    assert!(line.starts_with("{\"leaf_index\":7,"), "{line}");
    assert!(
        line.contains(&run.to_string()) && line.ends_with("}\n"),
        "{line}"
    );
}

#[tokio::test]
async fn a_changed_event_proof_hash_or_checkpoint_a_foreign_key_and_another_entrys_index_each_fail_with_their_own_reason(
) {
    let db = TestDb::new().await;
    let key = keys::generate("runproof/test").unwrap();
    let run = world(&db, &key).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proofs");
    assert_eq!(prove(&db, run, &dir).code, 0);
    let file = &proof_files(&dir)[0];
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let vkey = key.verifier_key();

    // One byte of the event: the run type in its payload.
    let extra = lines[1].strip_prefix("extra ").unwrap().trim_end();
    let event = String::from_utf8(BASE64_STANDARD.decode(extra).unwrap()).unwrap();
    assert!(event.contains("report.export"));
    let changed = event.replacen("report.export", "report.exporT", 1);
    let changed = text.replacen(extra, &BASE64_STANDARD.encode(changed), 1);
    let o = verify_proof(&write(&bad, "event", &changed), vkey);
    refused(&o, "audit.proof_event_changed");
    assert!(o.stderr.contains("the event was changed"), "{}", o.stderr);

    // One bit of the first proof hash.
    let hash_line = lines[3].trim_end();
    let mut hash = BASE64_STANDARD.decode(hash_line).unwrap();
    hash[7] ^= 0x01;
    let changed = text.replacen(hash_line, &BASE64_STANDARD.encode(hash), 1);
    refused(
        &verify_proof(&write(&bad, "hash", &changed), vkey),
        "audit.proof_mismatch",
    );

    // One byte of the checkpoint: its tree size.
    let changed = text.replacen("\n\nrunproof/test\n15\n", "\n\nrunproof/test\n16\n", 1);
    assert_ne!(changed, text);
    refused(
        &verify_proof(&write(&bad, "checkpoint", &changed), vkey),
        "audit.proof_signature",
    );

    // Another key.
    let other = keys::generate("runproof/test").unwrap();
    let o = verify_proof(file, other.verifier_key());
    refused(&o, "audit.proof_wrong_key");
    assert!(o.stderr.contains(other.verifier_key()), "{}", o.stderr);

    // The proof claims another entry's index (the run's second event's).
    let changed = text.replacen("\nindex 7\n", "\nindex 8\n", 1);
    assert_ne!(changed, text);
    let o = verify_proof(&write(&bad, "index", &changed), vkey);
    refused(&o, "audit.proof_index");
    assert!(o.stderr.contains("leaf 8") && o.stderr.contains("leaf 7"));

    // The second event's proof hashes with the first event: they lead nowhere.
    let second = std::fs::read_to_string(&proof_files(&dir)[1]).unwrap();
    let second_extra = second.lines().nth(1).unwrap();
    let changed = second
        .replacen(second_extra, lines[1].trim_end(), 1)
        .replacen("\nindex 8\n", "\nindex 7\n", 1);
    refused(
        &verify_proof(&write(&bad, "swapped", &changed), vkey),
        "audit.proof_mismatch",
    );

    // Not a proof in its one form, and no event at all.
    refused(
        &verify_proof(
            &write(&bad, "header", &text.replacen("@v1", "@v2", 1)),
            vkey,
        ),
        "audit.proof_malformed",
    );
    let without_extra: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| *l)
        .collect();
    refused(
        &verify_proof(&write(&bad, "no-extra", &without_extra), vkey),
        "audit.proof_event",
    );

    // The untouched file still holds.
    assert_eq!(verify_proof(file, vkey).code, 0);
}

#[tokio::test]
async fn an_unknown_run_no_checkpoint_an_uncovered_run_and_a_full_directory_are_refused_in_one_line(
) {
    let db = TestDb::new().await;
    let key = keys::generate("runproof/test").unwrap();
    let (app, clock) = app(&db);
    history(&app, &clock, 2).await;
    wait_projected(&db, &app.projector).await;
    let first = runs(&db).await[0];
    let tmp = tempfile::tempdir().unwrap();

    let o = prove(&db, first, &tmp.path().join("a"));
    one_line_error(&o, 3, "audit.no_checkpoint");

    sign(&db, &key).await;
    let o = prove(&db, Uuid::new_v4(), &tmp.path().join("b"));
    one_line_error(&o, 2, "run.not_found");
    let o = prove(&db, first, &tmp.path().join("c"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = prove(&db, first, &tmp.path().join("c"));
    one_line_error(&o, 2, "audit.prove_dir_not_empty");

    // A run queued after the checkpoint: nothing to prove yet, nothing written.
    history(&app, &clock, 1).await;
    wait_projected(&db, &app.projector).await;
    let late = runs(&db).await[2];
    let dir = tmp.path().join("d");
    let o = prove(&db, late, &dir);
    one_line_error(&o, 3, "audit.prove_nothing_covered");
    assert!(!dir.exists());

    // A key that is not a verifier key, and a missing file.
    let o = runproof(
        NO_DATABASE,
        &["audit", "verify-proof", "x.tlog-proof", "--key", "nonsense"],
    );
    one_line_error(&o, 2, "audit.verifier_key_invalid");
    let o = verify_proof(&tmp.path().join("missing.tlog-proof"), key.verifier_key());
    one_line_error(&o, 2, "audit.proof_io");
}
