//! The binary as an operator meets it: one-line errors with reason codes and exit codes,
//! JSON where listed, German on request, and nothing that leaks SQL or stack traces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use assert_cmd::Command;
use common::{operator, worker, TestDb};
use runproof::app::App;
use runproof::clock::SystemClock;
use runproof::lifecycle::EnsureRun;
use runproof_domain::operation_run::TerminalOutcome;
use serde_json::{json, Value};
use uuid::Uuid;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn runproof(url: &str, args: &[&str]) -> Output {
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

/// Nothing a person reads contains SQL, driver wording or a stack trace (invariant 9).
fn assert_no_leak(o: &Output) {
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

fn one_line_error(o: &Output, code: i32, reason: &str) {
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

async fn seeded() -> (TestDb, Uuid, Uuid) {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let ws = Uuid::new_v4();
    let id = app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: ws,
                environment_id: None,
                run_type: "inventory.sync".into(),
                identity_inputs: json!({}),
                context: json!({"scope": "all"}),
            },
            &operator(),
        )
        .await
        .unwrap()
        .run_id();
    app.lifecycle.start(id, &worker()).await.unwrap();
    app.lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            Default::default(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    (db, ws, id)
}

#[tokio::test]
async fn migrate_is_idempotent_and_every_other_command_refuses_an_unmigrated_database() {
    let db = TestDb::unmigrated().await;
    let refused = runproof(&db.url(), &["runs", "list"]);
    one_line_error(&refused, 3, "db.not_migrated");
    assert!(refused.stderr.contains("runproof migrate"));

    let first = runproof(&db.url(), &["migrate"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let applied = format!("Applied {} migration(s)", runproof::MIGRATOR.iter().count());
    assert!(first.stdout.contains(&applied), "{}", first.stdout);
    let second = runproof(&db.url(), &["migrate"]);
    assert_eq!(second.code, 0);
    assert!(second.stdout.contains("up to date"), "{}", second.stdout);
    assert_eq!(runproof(&db.url(), &["runs", "list"]).code, 0);
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_runproof_is_refused() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', true, '\\x00', 1)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    for args in [&["runs", "list"][..], &["migrate"], &["replay"]] {
        let o = runproof(&db.url(), args);
        one_line_error(&o, 3, "db.schema_newer");
        assert!(o.stderr.contains("99990101000000"));
    }
}

#[tokio::test]
async fn a_database_whose_applied_migration_was_changed_is_refused_with_what_to_do() {
    let db = TestDb::new().await;
    let first = runproof::MIGRATOR.iter().next().unwrap().version;
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = $1")
        .bind(first)
        .execute(&db.pool)
        .await
        .unwrap();
    for args in [&["migrate"][..], &["runs", "list"]] {
        let o = runproof(&db.url(), args);
        one_line_error(&o, 3, "db.migration_changed");
        assert!(o.stderr.contains(&first.to_string()), "{}", o.stderr);
    }
    let de = runproof(&db.url(), &["--lang", "de", "migrate"]);
    assert!(de.stderr.contains("anderen Build"), "{}", de.stderr);
}

#[tokio::test]
async fn a_database_left_dirty_by_a_failed_migration_is_refused_by_migrate_too() {
    let db = TestDb::new().await;
    let last = runproof::MIGRATOR.iter().last().unwrap().version;
    sqlx::query("UPDATE _sqlx_migrations SET success = false WHERE version = $1")
        .bind(last)
        .execute(&db.pool)
        .await
        .unwrap();
    for args in [&["migrate"][..], &["runs", "list"]] {
        let o = runproof(&db.url(), args);
        one_line_error(&o, 3, "db.schema_dirty");
        assert!(o.stderr.contains(&last.to_string()), "{}", o.stderr);
    }
}

/// A TCP server on a free local port that answers every connection with `reply` and
/// closes it once the client has spoken; returns its address.
fn impostor_server(reply: &'static [u8]) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(reply);
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_is_not_postgresql_is_named_as_such() {
    // A banner like NATS, SMTP or Redis send, then the connection closes; and a reply
    // whose first byte is no PostgreSQL message at all.
    for reply in [
        &b"INFO {\"server_id\":\"x\"}\r\n"[..],
        b"-ERR unknown command\r\n",
    ] {
        let addr = impostor_server(reply);
        let url = format!("postgres://postgres@{addr}/runproof");
        let o = runproof(&url, &["runs", "list"]);
        one_line_error(&o, 3, "db.not_postgres");
        assert!(o.stderr.contains(&addr.to_string()), "{}", o.stderr);
    }
}

#[tokio::test]
async fn an_unknown_role_is_named_not_blamed_on_an_unreachable_server() {
    let db = TestDb::new().await;
    let url = db.url().replacen("postgres@", "runproof_no_such_role@", 1);
    assert_ne!(url, db.url(), "the test URL names a role");
    let o = runproof(&url, &["runs", "list"]);
    one_line_error(&o, 3, "db.role_refused");
    assert!(o.stderr.contains("runproof_no_such_role"), "{}", o.stderr);
    let de = runproof(&url, &["--lang", "de", "migrate"]);
    one_line_error(&de, 3, "db.role_refused");
    assert!(
        de.stderr.contains("Rolle runproof_no_such_role"),
        "{}",
        de.stderr
    );
}

#[tokio::test]
async fn bad_input_gets_a_one_line_error_and_a_non_zero_exit_code() {
    let (db, _, _) = seeded().await;
    one_line_error(
        &runproof(&db.url(), &["runs", "show", "not-a-uuid"]),
        2,
        "cli.invalid_uuid",
    );
    one_line_error(
        &runproof(&db.url(), &["history", "12345"]),
        2,
        "cli.invalid_uuid",
    );
    let unknown = Uuid::new_v4().to_string();
    one_line_error(
        &runproof(&db.url(), &["runs", "show", &unknown]),
        2,
        "run.not_found",
    );
    one_line_error(
        &runproof(&db.url(), &["history", &unknown]),
        2,
        "history.not_found",
    );
    one_line_error(
        &runproof(&db.url(), &["runs", "list", "--status", "cancelled"]),
        2,
        "cli.unknown_status",
    );
    one_line_error(
        &runproof(&db.url(), &["runs", "list", "--type", "backup.nightly"]),
        2,
        "run.unknown_type",
    );
    one_line_error(
        &runproof(&db.url(), &["runs", "list", "--workspace", "x"]),
        2,
        "cli.invalid_uuid",
    );
    let usage = runproof(&db.url(), &["runs", "lst"]);
    assert_eq!(usage.code, 2);
    assert_eq!(usage.stderr.trim_end().lines().count(), 1);
}

#[tokio::test]
async fn an_unreachable_or_missing_database_is_named_not_dumped() {
    let unreachable = runproof(
        "postgres://postgres@127.0.0.1:1/runproof",
        &["runs", "list"],
    );
    one_line_error(&unreachable, 3, "db.unreachable");
    assert!(unreachable.stderr.contains("127.0.0.1:1/runproof"));
    let missing = runproof(
        "postgres://postgres@127.0.0.1:5432/runproof_does_not_exist",
        &["runs", "list"],
    );
    one_line_error(&missing, 3, "db.missing");
    let garbage = runproof("not a url", &["runs", "list"]);
    one_line_error(&garbage, 2, "db.invalid_url");
}

#[tokio::test]
async fn list_show_and_history_print_the_decision_first_and_json_on_request() {
    let (db, ws, id) = seeded().await;
    let id_s = id.to_string();
    let ws_s = ws.to_string();

    let list = runproof(&db.url(), &["runs", "list", "--workspace", &ws_s]);
    assert_eq!(list.code, 0);
    assert!(list.stdout.contains(&id_s) && list.stdout.contains("succeeded"));

    let json: Value = serde_json::from_str(
        &runproof(&db.url(), &["--json", "runs", "list", "--workspace", &ws_s]).stdout,
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["id"], id_s);
    assert_eq!(json[0]["status"], "completed");
    let other: Value = serde_json::from_str(
        &runproof(
            &db.url(),
            &[
                "--json",
                "runs",
                "list",
                "--workspace",
                &Uuid::new_v4().to_string(),
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(other, json!([]));

    let show = runproof(&db.url(), &["runs", "show", &id_s]);
    assert_eq!(show.code, 0);
    let decision = show.stdout.find("Decision").unwrap();
    let diagnostics = show.stdout.find("Diagnostics").unwrap();
    let raw = show.stdout.find("Raw context").unwrap();
    assert!(
        decision < diagnostics && diagnostics < raw,
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("Reported succeeded by its own job."));

    let show_json: Value =
        serde_json::from_str(&runproof(&db.url(), &["--json", "runs", "show", &id_s]).stdout)
            .unwrap();
    assert_eq!(show_json["decision"]["outcome"], "succeeded");
    assert_eq!(show_json["context"]["scope"], "all");

    let history = runproof(&db.url(), &["history", &id_s]);
    assert_eq!(history.code, 0);
    let queued = history.stdout.find("RunQueued").unwrap();
    let started = history.stdout.find("RunStarted").unwrap();
    let completed = history.stdout.find("RunCompleted").unwrap();
    assert!(queued < started && started < completed);
    assert!(history.stdout.contains("system:worker"));

    let history_json: Value =
        serde_json::from_str(&runproof(&db.url(), &["--json", "history", &id_s]).stdout).unwrap();
    assert_eq!(history_json["stream"], "run");
    assert_eq!(history_json["id"], id_s);
    let entries = history_json["events"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries
        .windows(2)
        .all(|w| w[0]["position"].as_i64() < w[1]["position"].as_i64()));
    assert_eq!(entries[1]["metadata"]["actor"], "system:worker");
}

#[tokio::test]
async fn everything_printed_is_available_in_german() {
    let (db, _, id) = seeded().await;
    let show = runproof(
        &db.url(),
        &["--lang", "de", "runs", "show", &id.to_string()],
    );
    assert!(
        show.stdout.contains("Entscheidung") && show.stdout.contains("erfolgreich"),
        "{}",
        show.stdout
    );
    let err = runproof(&db.url(), &["--lang", "de", "runs", "show", "kaputt"]);
    one_line_error(&err, 2, "cli.invalid_uuid");
    assert!(err.stderr.contains("keine gültige ID"));
}

#[tokio::test]
async fn replay_verify_exits_1_on_any_difference_and_replay_repairs_it() {
    let (db, _, id) = seeded().await;
    let clean = runproof(&db.url(), &["replay", "--verify"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    sqlx::query("UPDATE operation_runs SET summary_counts = '{\"forged\": 1}' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let dirty = runproof(&db.url(), &["replay", "--verify"]);
    assert_eq!(dirty.code, 1);
    assert!(
        dirty.stdout.contains(&id.to_string()) && dirty.stdout.contains("summary_counts"),
        "{}",
        dirty.stdout
    );
    assert!(dirty.stderr.contains("[replay.differences]"));
    let dirty_json: Value =
        serde_json::from_str(&runproof(&db.url(), &["--json", "replay", "--verify"]).stdout)
            .unwrap();
    assert_eq!(dirty_json["clean"], false);
    assert_eq!(
        dirty_json["differences"][0]["columns"][0]["column"],
        "summary_counts"
    );

    let repaired = runproof(&db.url(), &["replay"]);
    assert_eq!(repaired.code, 0, "{}", repaired.stderr);
    assert!(repaired.stdout.contains("Rebuilt operation_runs"));
    assert_eq!(runproof(&db.url(), &["replay", "--verify"]).code, 0);
}

#[tokio::test]
async fn a_dropped_projection_table_is_reported_by_verify_and_created_again_by_replay() {
    let (db, _, id) = seeded().await;
    let before = runproof(&db.url(), &["--json", "runs", "show", &id.to_string()]);
    assert_eq!(before.code, 0, "{}", before.stderr);
    sqlx::query("DROP TABLE operation_runs")
        .execute(&db.pool)
        .await
        .unwrap();
    // `migrate` has nothing to do: the schema version is unchanged.
    assert_eq!(runproof(&db.url(), &["migrate"]).code, 0);

    let verify = runproof(&db.url(), &["replay", "--verify"]);
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    assert!(
        verify
            .stdout
            .contains("operation_runs: the live table is missing"),
        "{}",
        verify.stdout
    );
    let last = verify.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{}", verify.stderr);
    assert!(last.contains("[replay.table_missing]"), "{}", verify.stderr);
    let json: Value =
        serde_json::from_str(&runproof(&db.url(), &["--json", "replay", "--verify"]).stdout)
            .unwrap();
    assert_eq!(json["missing_tables"], json!(["operation_runs"]));

    let replay = runproof(&db.url(), &["--lang", "de", "replay"]);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    assert!(
        replay.stdout.contains(
            "Die Live-Tabelle operation_runs fehlte; sie wurde nach runproofs Schema angelegt."
        ),
        "{}",
        replay.stdout
    );
    let after = runproof(&db.url(), &["--json", "runs", "show", &id.to_string()]);
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(after.stdout, before.stdout);
    assert_eq!(runproof(&db.url(), &["replay", "--verify"]).code, 0);
}

#[tokio::test]
async fn a_replay_while_another_rebuild_runs_answers_replay_busy_with_exit_3() {
    let (db, _, _) = seeded().await;
    // Another replay holds the rebuild lock.
    let mut other = db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(runproof_projections::rebuild::REBUILD_LOCK_KEY)
        .execute(&mut *other)
        .await
        .unwrap();

    let replay = runproof(&db.url(), &["replay"]);
    one_line_error(&replay, 3, "replay.busy");
    assert!(replay.stderr.contains("A rebuild is already running"));
    let verify = runproof(&db.url(), &["--lang", "de", "replay", "--verify"]);
    one_line_error(&verify, 3, "replay.busy");
    assert!(verify.stderr.contains("Ein Neuaufbau läuft bereits"));

    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(runproof_projections::rebuild::REBUILD_LOCK_KEY)
        .execute(&mut *other)
        .await
        .unwrap();
    assert_eq!(runproof(&db.url(), &["replay"]).code, 0);
}

#[tokio::test]
async fn a_replay_behind_a_long_reader_gives_up_within_its_lock_timeout_with_exit_3() {
    let (db, _, id) = seeded().await;
    let mut reader = db.pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM operation_runs")
        .execute(&mut *reader)
        .await
        .unwrap();

    let replay = runproof(&db.url(), &["replay", "--lock-timeout", "0.1"]);
    assert_eq!(replay.code, 3, "{}", replay.stderr);
    let last = replay.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: The rebuilt operation_runs was not swapped in"),
        "{last}"
    );
    assert!(last.contains("(0.1 s) in 3 attempts"), "{last}");
    assert!(last.ends_with("[replay.lock_timeout]"), "{last}");
    let bad = runproof(&db.url(), &["replay", "--lock-timeout", "0"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);

    reader.commit().await.unwrap();
    assert_eq!(runproof(&db.url(), &["replay"]).code, 0);
    assert_eq!(
        runproof(&db.url(), &["runs", "show", &id.to_string()]).code,
        0
    );
}

#[tokio::test]
async fn the_demo_creates_its_database_and_can_run_again() {
    let db = TestDb::unmigrated().await;
    // The demo must create the database itself: point it at a name that does not exist.
    let name = format!("{}_demo", db.name);
    let url = db.url().replace(&db.name, &name);
    let first = runproof(&url, &["demo"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("Created the database"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("runproof history"));
    let second = runproof(&url, &["demo"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stdout.contains("still queued from an earlier demo"));

    let runs: Value =
        serde_json::from_str(&runproof(&url, &["--json", "runs", "list"]).stdout).unwrap();
    let runs = runs.as_array().unwrap();
    // Twelve runs the first time; the second demo adds ten: the queued export is still
    // active and its request reuses it, and prod's review is already available.
    assert_eq!(runs.len(), 22);
    // Each demo's stuck runs were decided by the reconciler: the restore proven by its
    // adapter, the silent sync ended as stale, the crashed compose blocked (its draft then
    // taken over by the next request), the stray compose proven a duplicate.
    let reasons: Vec<&str> = runs
        .iter()
        .filter_map(|r| r["context"]["reconciliation"]["reason_code"].as_str())
        .collect();
    for reason in [
        "restore.completed",
        "run.stale_running",
        "review.draft_stale",
        "review.duplicate_recovered",
    ] {
        assert_eq!(
            reasons.iter().filter(|r| **r == reason).count(),
            2,
            "{reason}: {reasons:?}"
        );
    }
    assert!(
        second.stdout.contains("already available"),
        "{}",
        second.stdout
    );
    let reviews: Value =
        serde_json::from_str(&runproof(&url, &["--json", "reviews", "list"]).stdout).unwrap();
    // prod's review once; dev's (taken over) and staging's (published) per demo.
    assert_eq!(reviews.as_array().unwrap().len(), 5);
    for status in ["queued", "running", "completed"] {
        assert!(runs.iter().any(|r| r["status"] == status), "a {status} run");
    }
    for outcome in ["succeeded", "failed", "partially_succeeded"] {
        assert!(
            runs.iter().any(|r| r["outcome"] == outcome),
            "a {outcome} run"
        );
    }
    assert_eq!(runproof(&url, &["replay", "--verify"]).code, 0);
    sqlx::query(&format!(
        "DROP DATABASE {} WITH (FORCE)",
        runproof_projections::sql::quote_ident(&name).unwrap()
    ))
    .execute(&db.pool)
    .await
    .ok();
}

#[tokio::test]
async fn reconcile_once_reports_a_pass_and_exits_0_even_when_nothing_is_stale() {
    let (db, _, id) = seeded().await;
    let once = runproof(&db.url(), &["reconcile", "--once"]);
    assert_eq!(once.code, 0, "{}", once.stderr);
    assert!(once.stdout.contains("0 run(s) decided"), "{}", once.stdout);
    let json: Value =
        serde_json::from_str(&runproof(&db.url(), &["--json", "reconcile", "--once"]).stdout)
            .unwrap();
    assert_eq!(json["leader"], true);
    assert_eq!(json["counts"]["decided_stale"], 0);
    let de = runproof(&db.url(), &["--lang", "de", "reconcile", "--once"]);
    assert!(de.stdout.contains("Durchlauf"), "{}", de.stdout);

    let explain = runproof(&db.url(), &["reconcile", "--explain", &id.to_string()]);
    assert_eq!(explain.code, 0);
    assert!(
        explain.stdout.contains("already completed"),
        "{}",
        explain.stdout
    );
    one_line_error(
        &runproof(&db.url(), &["reconcile", "--explain", "nope"]),
        2,
        "cli.invalid_uuid",
    );
    one_line_error(
        &runproof(
            &db.url(),
            &["reconcile", "--explain", &Uuid::new_v4().to_string()],
        ),
        2,
        "run.not_found",
    );
    let no_mode = runproof(&db.url(), &["reconcile"]);
    assert_eq!(no_mode.code, 2);
    assert_eq!(
        no_mode.stderr.trim_end().lines().count(),
        1,
        "{}",
        no_mode.stderr
    );
}

#[tokio::test]
async fn reconcile_explain_shows_the_decision_and_its_evidence_for_an_active_run() {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let id = app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: Uuid::new_v4(),
                environment_id: None,
                run_type: "report.export".into(),
                identity_inputs: json!({}),
                context: json!({}),
            },
            &operator(),
        )
        .await
        .unwrap()
        .run_id();
    let explain = runproof(&db.url(), &["reconcile", "--explain", &id.to_string()]);
    assert_eq!(explain.code, 0);
    assert!(
        explain.stdout.contains("[run.not_stale]") && explain.stdout.contains("Evidence"),
        "{}",
        explain.stdout
    );
    let json: Value = serde_json::from_str(
        &runproof(
            &db.url(),
            &["--json", "reconcile", "--explain", &id.to_string()],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        json["evaluation"]["decision"]["verdict"],
        "not_provable_yet"
    );
    assert_eq!(json["evaluation"]["source"], "stale");
}

fn id_of(o: &Output, key: &str) -> String {
    let v: Value = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|_| panic!("json: {} / {}", o.stdout, o.stderr));
    v[key].as_str().unwrap().to_string()
}

/// A workspace with an actor, an environment and captured evidence, made through the CLI.
fn cli_scene(url: &str) -> (String, String, String) {
    let ws = id_of(
        &runproof(
            url,
            &["--json", "workspaces", "create", "--name", "Contoso"],
        ),
        "workspace_id",
    );
    let actor = id_of(
        &runproof(url, &["--json", "actors", "create", "--name", "Ada"]),
        "actor_id",
    );
    assert_eq!(
        runproof(
            url,
            &[
                "actors",
                "add-member",
                "--workspace",
                &ws,
                "--actor",
                &actor
            ]
        )
        .code,
        0
    );
    let env = id_of(
        &runproof(
            url,
            &[
                "--json",
                "environments",
                "create",
                "--workspace",
                &ws,
                "--name",
                "prod",
            ],
        ),
        "environment_id",
    );
    let file = std::env::temp_dir().join(format!("runproof-evidence-{}.json", Uuid::new_v4()));
    std::fs::write(&file, r#"{"findings": [{"severity": "high", "category": "identity"}, {"severity": "low", "category": "backup"}]}"#).unwrap();
    let captured = runproof(
        url,
        &[
            "evidence",
            "capture",
            "--environment",
            &env,
            "--file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(captured.code, 0, "{}", captured.stderr);
    assert!(captured.stdout.contains("2 finding(s)"));
    std::fs::remove_file(file).ok();
    (ws, env, actor)
}

#[tokio::test]
async fn the_review_commands_tell_the_story_and_refuse_bad_input_in_one_line() {
    let db = TestDb::new().await;
    let url = db.url();
    let (ws, env, actor) = cli_scene(&url);
    let events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };

    // Bad evidence records nothing.
    let before = events().await;
    let bad = std::env::temp_dir().join(format!("runproof-bad-{}.json", Uuid::new_v4()));
    std::fs::write(&bad, "{ not json").unwrap();
    one_line_error(
        &runproof(
            &url,
            &[
                "evidence",
                "capture",
                "--environment",
                &env,
                "--file",
                bad.to_str().unwrap(),
            ],
        ),
        2,
        "evidence.invalid",
    );
    std::fs::write(
        &bad,
        r#"{"findings": [{"severity": "cosmic", "category": "x"}]}"#,
    )
    .unwrap();
    one_line_error(
        &runproof(
            &url,
            &[
                "evidence",
                "capture",
                "--environment",
                &env,
                "--file",
                bad.to_str().unwrap(),
            ],
        ),
        2,
        "evidence.invalid",
    );
    std::fs::write(&bad, r#"{"findings": []}"#).unwrap();
    one_line_error(
        &runproof(
            &url,
            &[
                "evidence",
                "capture",
                "--environment",
                &Uuid::new_v4().to_string(),
                "--file",
                bad.to_str().unwrap(),
            ],
        ),
        2,
        "environment.not_found",
    );
    one_line_error(
        &runproof(
            &url,
            &[
                "evidence",
                "capture",
                "--environment",
                &env,
                "--file",
                "/nonexistent/x.json",
            ],
        ),
        2,
        "file.unreadable",
    );
    std::fs::remove_file(bad).ok();
    assert_eq!(events().await, before, "nothing recorded");

    // Two triggers, one run; the worker; then already available.
    let compose = [
        "reviews",
        "compose",
        "--workspace",
        &ws,
        "--environment",
        &env,
        "--actor",
        &actor,
    ];
    let first = runproof(&url, &compose);
    assert!(
        first.stdout.starts_with("Queued compose run"),
        "{}",
        first.stdout
    );
    let second = runproof(&url, &compose);
    assert!(
        second.stdout.contains("already under way"),
        "{}",
        second.stdout
    );
    let de = runproof(&url, &[&["--lang", "de"][..], &compose[..]].concat());
    assert!(de.stdout.contains("läuft bereits"), "{}", de.stdout);
    // A batch outside 1..=64: one line, exit 2, and the queued run is left as it was.
    let refused = runproof(&url, &["worker", "--once", "--batch", "0"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--batch"), "{}", refused.stderr);
    let worker = runproof(&url, &["worker", "--once", "--batch", "1"]);
    assert_eq!(worker.code, 0, "{}", worker.stderr);
    assert!(
        worker.stdout.contains("composed review"),
        "{}",
        worker.stdout
    );
    let available = runproof(&url, &[&["--json"][..], &compose[..]].concat());
    let feedback: Value = serde_json::from_str(&available.stdout).unwrap();
    assert_eq!(feedback["result"]["feedback"], "already_available");
    let review = feedback["result"]["review_id"]
        .as_str()
        .unwrap()
        .to_string();

    let list: Value = serde_json::from_str(
        &runproof(&url, &["--json", "reviews", "list", "--workspace", &ws]).stdout,
    )
    .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The list's filters are the API's: environment and status.
    let listed = |filters: &[&str]| -> usize {
        let out = runproof(
            &url,
            &[&["--json", "reviews", "list"][..], filters].concat(),
        );
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(listed(&["--environment", &env, "--status", "ready"]), 1);
    assert_eq!(listed(&["--status", "published"]), 0);
    one_line_error(
        &runproof(&url, &["reviews", "list", "--status", "sideways"]),
        2,
        "cli.unknown_review_status",
    );
    let shown = runproof(&url, &["reviews", "show", &review]);
    assert!(
        shown.stdout.contains("identity") && shown.stdout.contains("ready"),
        "{}",
        shown.stdout
    );
    one_line_error(
        &runproof(
            &url,
            &[
                "reviews",
                "show",
                &review,
                "--actor",
                &Uuid::new_v4().to_string(),
            ],
        ),
        2,
        "review.not_found",
    );
    assert!(runproof(&url, &["reviews", "publish", &review])
        .stdout
        .starts_with("Published review"));
    assert!(runproof(&url, &["reviews", "archive", &review])
        .stdout
        .starts_with("Archived review"));
    one_line_error(
        &runproof(&url, &["reviews", "archive", &review]),
        2,
        "review.invalid_transition",
    );

    // Outsiders get "not found".
    let stranger = id_of(
        &runproof(&url, &["--json", "actors", "create", "--name", "Eve"]),
        "actor_id",
    );
    one_line_error(
        &runproof(
            &url,
            &[
                "reviews",
                "compose",
                "--workspace",
                &ws,
                "--environment",
                &env,
                "--actor",
                &stranger,
            ],
        ),
        2,
        "workspace.not_found",
    );
    one_line_error(
        &runproof(
            &url,
            &[
                "actors",
                "add-member",
                "--workspace",
                &ws,
                "--actor",
                &actor,
            ],
        ),
        2,
        "actor.already_member",
    );
    one_line_error(
        &runproof(&url, &["workspaces", "create", "--name", " "]),
        2,
        "name.invalid",
    );
}

fn capture(url: &str, env: &str, file: &std::path::Path, lang: &str) -> Output {
    runproof(
        url,
        &[
            "--lang",
            lang,
            "evidence",
            "capture",
            "--environment",
            env,
            "--file",
            file.to_str().unwrap(),
        ],
    )
}

#[tokio::test]
async fn an_evidence_document_with_a_nul_character_is_invalid_input_and_records_nothing() {
    let db = TestDb::new().await;
    let url = db.url();
    let (_, env, _) = cli_scene(&url);
    let events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    let before = events().await;
    let file = std::env::temp_dir().join(format!("runproof-nul-{}.json", Uuid::new_v4()));
    for document in [
        r#"{"findings": [{"severity": "low", "category": "x", "title": "a\u0000b"}]}"#,
        r#"{"findings": [], "key\u0000": true}"#,
    ] {
        std::fs::write(&file, document).unwrap();
        let o = capture(&url, &env, &file, "en");
        one_line_error(&o, 2, "evidence.invalid");
        assert!(o.stderr.contains("U+0000"), "{}", o.stderr);
    }
    std::fs::remove_file(&file).ok();
    assert_eq!(events().await, before, "nothing recorded");
}

#[tokio::test]
async fn an_evidence_file_is_read_only_up_to_its_limit() {
    let db = TestDb::new().await;
    let url = db.url();
    let (_, env, _) = cli_scene(&url);
    let big = std::env::temp_dir().join(format!("runproof-big-{}.json", Uuid::new_v4()));
    // Valid JSON of 2 MiB: refused for its size, not parsed.
    let padding = "x".repeat(2 * 1024 * 1024);
    std::fs::write(&big, format!(r#"{{"findings": [], "pad": "{padding}"}}"#)).unwrap();
    let o = capture(&url, &env, &big, "en");
    one_line_error(&o, 2, "evidence.invalid");
    assert!(o.stderr.contains("larger than 1 MiB"), "{}", o.stderr);
    std::fs::remove_file(&big).ok();
    // Endless inputs end promptly with the same answer (before, they were read until
    // memory ran out).
    for endless in ["/dev/zero", "/dev/urandom"] {
        let out = Command::cargo_bin("runproof")
            .unwrap()
            .env_remove("RUST_LOG")
            .args(["--database-url", &url, "evidence", "capture"])
            .args(["--environment", &env, "--file", endless])
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        let o = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        one_line_error(&o, 2, "evidence.invalid");
        assert!(
            o.stderr.contains("larger than 1 MiB"),
            "{endless}: {}",
            o.stderr
        );
    }
}

#[tokio::test]
async fn a_refused_document_is_explained_in_the_operators_language() {
    let db = TestDb::new().await;
    let url = db.url();
    let (_, env, _) = cli_scene(&url);
    let bad = std::env::temp_dir().join(format!("runproof-bad-{}.json", Uuid::new_v4()));
    std::fs::write(
        &bad,
        r#"{"findings": [{"severity": "low", "category": "x"}, {"severity": "cosmic", "category": "x"}]}"#,
    )
    .unwrap();
    let de = capture(&url, &env, &bad, "de");
    one_line_error(&de, 2, "evidence.invalid");
    assert!(
        de.stderr.contains("Befund 2 braucht einen Schweregrad"),
        "{}",
        de.stderr
    );
    assert!(!de.stderr.contains("needs"), "{}", de.stderr);
    let en = capture(&url, &env, &bad, "en");
    assert!(
        en.stderr.contains("finding 2 needs a severity"),
        "{}",
        en.stderr
    );
    std::fs::write(&bad, "{ not json").unwrap();
    let de = capture(&url, &env, &bad, "de");
    one_line_error(&de, 2, "evidence.invalid");
    assert!(
        de.stderr.contains("kein gültiges JSON (Zeile 1"),
        "{}",
        de.stderr
    );
    std::fs::remove_file(bad).ok();
}

#[tokio::test]
async fn a_name_with_a_bidirectional_override_is_refused() {
    let db = TestDb::new().await;
    let url = db.url();
    for name in [
        "invoice\u{202E}fdp.exe",
        "Contoso\u{200B}",
        "\u{2066}prod\u{2069}",
    ] {
        for args in [
            &["workspaces", "create", "--name", name][..],
            &["actors", "create", "--name", name],
        ] {
            one_line_error(&runproof(&url, args), 2, "name.invalid");
        }
    }
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
}

/// A transaction that holds an xid open on another database of the same server (xids are
/// cluster-wide, so it holds every reader's horizon); returns it and its server pid.
async fn hold_the_horizon(other: &TestDb) -> (sqlx::Transaction<'static, sqlx::Postgres>, i32) {
    let mut tx = other.pool.begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *tx)
        .await
        .unwrap();
    (tx, pid)
}

#[tokio::test]
async fn a_write_the_views_do_not_show_yet_says_so_and_names_what_holds_them() {
    let db = TestDb::new().await;
    let url = db.url();
    let (ws, env, actor) = cli_scene(&url);
    let other = TestDb::unmigrated().await;
    // A role that cannot see other roles' sessions (no pg_read_all_stats).
    let role = format!("runproof_lag_{}", Uuid::new_v4().simple());
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ] {
        sqlx::query(&sql).execute(&db.pool).await.unwrap();
    }
    let role_url = url.replacen("postgres@", &format!("{role}@"), 1);
    let fast = ["--read-your-writes-timeout", "0.2"];
    let compose = [
        "reviews",
        "compose",
        "--workspace",
        &ws,
        "--environment",
        &env,
        "--actor",
        &actor,
    ];

    // Keep this short: while the transaction is open, every reader on the server waits.
    let (tx, pid) = hold_the_horizon(&other).await;
    let queued = runproof(&url, &[&fast[..], &compose[..]].concat());
    // Another test's older transaction may hold the horizon for a moment: the holder is
    // always the oldest, so ask until it is this one (it is, once theirs ended).
    let named: Value = (0..20)
        .map(|i| {
            let o = runproof(
                &url,
                &[
                    &fast[..],
                    &["--json", "workspaces", "create", "--name", &format!("W{i}")],
                ]
                .concat(),
            );
            serde_json::from_str::<Value>(&o.stdout).unwrap()
        })
        .find(|v| v["lag"]["held_by"]["pid"] == pid)
        .expect("the lag names the session holding the horizon");
    let german = runproof(
        &url,
        &[
            &fast[..],
            &["--lang", "de", "actors", "create", "--name", "Grace"],
        ]
        .concat(),
    );
    let run = queued
        .stdout
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    let shown = runproof(&url, &["runs", "show", &run]);
    let stranger = Uuid::new_v4().to_string();
    let outside = runproof(&url, &["runs", "show", &run, "--actor", &stranger]);
    let unseen = runproof(
        &role_url,
        &[&fast[..], &["workspaces", "create", "--name", "Initech"]].concat(),
    );
    tx.rollback().await.unwrap();

    // The write went through and says so, naming the session, its database and age.
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    assert!(
        queued.stdout.starts_with("Queued compose run"),
        "{}",
        queued.stdout
    );
    assert_eq!(
        queued.stderr.trim_end().lines().count(),
        1,
        "{}",
        queued.stderr
    );
    assert!(
        queued
            .stderr
            .starts_with("warning: The change is recorded, but the views do not show it yet"),
        "{}",
        queued.stderr
    );
    assert!(
        queued
            .stderr
            .contains("held back by the transaction of session ")
            && queued.stderr.contains(" on database "),
        "{}",
        queued.stderr
    );
    assert!(queued.stderr.contains("open for"), "{}", queued.stderr);
    assert!(
        queued.stderr.trim_end().ends_with("[projection.lagging]"),
        "{}",
        queued.stderr
    );
    // JSON carries it as a field.
    assert_eq!(named["lag"]["held_by"]["kind"], "session");
    assert_eq!(named["lag"]["held_by"]["database"], other.name.as_str());
    assert!(named["lag"]["held_by"]["age_seconds"].is_i64(), "{named}");
    assert_eq!(named["lag"]["reason"], "projection.lagging");
    // In German.
    assert_eq!(german.code, 0, "{}", german.stderr);
    assert!(
        german
            .stderr
            .contains("aufgehalten durch die Transaktion der Sitzung "),
        "{}",
        german.stderr
    );
    // The run is in the log but not yet in the view: not "not found".
    one_line_error(&shown, 3, "run.not_yet_visible");
    assert!(
        shown
            .stderr
            .contains("held back by the transaction of session "),
        "{}",
        shown.stderr
    );
    assert!(
        shown.stderr.contains(&format!("runproof history {run}")),
        "{}",
        shown.stderr
    );
    // … unless the caller may not see it.
    one_line_error(&outside, 2, "run.not_found");
    // A role that may not see another role's session details says what it cannot see.
    assert_eq!(unseen.code, 0, "{}", unseen.stderr);
    assert!(
        unseen
            .stderr
            .contains("whose age this database role cannot see"),
        "{}",
        unseen.stderr
    );

    // Once it ends, the views catch up and the run shows.
    let shown = runproof(&url, &["runs", "show", &run]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let quiet = runproof(&url, &["--json", "actors", "create", "--name", "Linus"]);
    assert_eq!(quiet.stderr, "");
    assert_eq!(
        serde_json::from_str::<Value>(&quiet.stdout).unwrap()["lag"],
        Value::Null
    );
    for sql in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        sqlx::query(&sql).execute(&db.pool).await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_compose_requests_from_many_processes_collide_silently_into_one_run() {
    let db = TestDb::new().await;
    let url = db.url();
    let (ws, env, actor) = cli_scene(&url);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (url, ws, env, actor) = (url.clone(), ws.clone(), env.clone(), actor.clone());
            std::thread::spawn(move || {
                runproof(
                    &url,
                    &[
                        "reviews",
                        "compose",
                        "--workspace",
                        &ws,
                        "--environment",
                        &env,
                        "--actor",
                        &actor,
                    ],
                )
            })
        })
        .collect();
    for h in handles {
        let o = h.join().unwrap();
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(o.stdout.contains("compose run"), "{}", o.stdout);
    }
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM operation_runs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn a_tripped_unique_index_is_reported_without_sql_or_constraint_wording() {
    let db = TestDb::new().await;
    let url = db.url();
    let (ws, env, _) = cli_scene(&url);
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let (ws, env) = (ws.parse::<Uuid>().unwrap(), env.parse::<Uuid>().unwrap());
    let f = runproof_domain::fingerprint::Fingerprint::compute(ws, env, "sha256:0", "x");
    common::plant_review_draft(&app, ws, env, f.clone()).await;
    common::plant_review_draft(&app, ws, env, f).await;
    // Wait until the projector has reached the planted events (other tests' open
    // transactions on the server can hold the read horizon back for a moment).
    common::wait_until_stopped(&app.projector).await;
    let listed = runproof(&url, &["reviews", "list"]);
    one_line_error(&listed, 3, "projection.stopped");
    assert!(listed.stderr.contains("environment_reviews"));
    // Reading another projection still works; the stop is reported as a warning.
    let runs = runproof(&url, &["--lang", "de", "runs", "list"]);
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    assert_eq!(runs.stderr.trim_end().lines().count(), 1);
    assert!(
        runs.stderr
            .starts_with("warning: Die Projektion environment_reviews"),
        "{}",
        runs.stderr
    );
}

#[tokio::test]
async fn project_once_prints_every_projection_also_when_one_is_stopped() {
    let db = TestDb::new().await;
    let url = db.url();
    let (ws, env, _) = cli_scene(&url);
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let (ws, env) = (ws.parse::<Uuid>().unwrap(), env.parse::<Uuid>().unwrap());
    let f = runproof_domain::fingerprint::Fingerprint::compute(ws, env, "sha256:0", "x");
    common::plant_review_draft(&app, ws, env, f.clone()).await;
    common::plant_review_draft(&app, ws, env, f).await;
    common::wait_until_stopped(&app.projector).await;

    let once = runproof(&url, &["project", "--once"]);
    assert_eq!(once.code, 3, "{}", once.stderr);
    for p in runproof_projections::all() {
        assert!(
            once.stdout.contains(p.name()),
            "{}: {}",
            p.name(),
            once.stdout
        );
    }
    let stopped_line = once
        .stdout
        .lines()
        .find(|l| l.starts_with("environment_reviews"))
        .unwrap();
    assert!(
        stopped_line.contains("stopped at position"),
        "{stopped_line}"
    );
    assert!(
        once.stdout.contains("operation_runs: at position"),
        "{}",
        once.stdout
    );
    one_line_error(&once, 3, "projection.stopped");

    let json: Value =
        serde_json::from_str(&runproof(&url, &["--json", "project", "--once"]).stdout).unwrap();
    let items = json["projections"].as_array().unwrap();
    assert_eq!(items.len(), runproof_projections::all().len());
    for item in items {
        assert_eq!(
            item["stopped"],
            item["projection"] == "environment_reviews",
            "{item}"
        );
    }
}

#[tokio::test]
async fn the_projector_warns_when_a_transaction_stalls_it_and_names_the_session() {
    use std::io::{BufRead, BufReader};
    let db = TestDb::new().await;
    let other = TestDb::unmigrated().await;
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    // The holder begins first, so the event written next waits above the horizon.
    let (tx, pid) = hold_the_horizon(&other).await;
    app.directory
        .create_workspace(Uuid::new_v4(), "Contoso", &operator())
        .await
        .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runproof"))
        .env("RUST_LOG", "off")
        .args(["--database-url", &db.url(), "project", "--interval", "1"])
        .args(["--stall-after", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // The warning repeats every second while the stall lasts; another test's older
    // transaction may be the holder for a moment, so read until this one is named.
    let ours = format!("session {pid} on database {}", other.name);
    let mut warning = String::new();
    for _ in 0..60 {
        warning.clear();
        if stderr.read_line(&mut warning).unwrap() == 0 || warning.contains(&ours) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    tx.rollback().await.unwrap();
    assert!(
        warning.starts_with("warning: No projection has advanced for"),
        "{warning}"
    );
    assert!(
        warning.contains("1 event(s) wait above the read horizon"),
        "{warning}"
    );
    assert!(warning.contains(&ours), "{warning}");
    assert!(
        warning.trim_end().ends_with("[projection.stalled]"),
        "{warning}"
    );
}

/// Starts a long-running command, waits for its first output line containing `ready`,
/// sends SIGTERM, and returns its exit code and full output.
fn terminate_after(url: &str, args: &[&str], ready: &str) -> (i32, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runproof"))
        .env("RUST_LOG", "off")
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains(ready) {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    (code, seen + &rest)
}

#[tokio::test]
async fn reconcile_watch_and_the_worker_stop_cleanly_on_sigterm() {
    let (db, _, _) = seeded().await;
    let (code, output) = terminate_after(
        &db.url(),
        &["reconcile", "--watch", "--interval", "3600"],
        "Pass at",
    );
    assert_eq!(code, 0, "{output}");
    assert!(output.trim_end().ends_with("Stopped."), "{output}");

    let (code, output) = terminate_after(
        &db.url(),
        &["worker", "--interval", "3600"],
        "Worker polling",
    );
    assert_eq!(code, 0, "{output}");
    assert!(output.trim_end().ends_with("Stopped."), "{output}");
}
