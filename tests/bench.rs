//! The bench's scratch database: whatever the database name holds, it is one quoted
//! identifier, so creating and dropping the scratch database touches nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestDb;
use runproof::bench;
use runproof::database::DatabaseTarget;
use runproof_domain::ReasonCode;
use runproof_projections::sql::quote_ident;

/// `db`'s connection string with another database name, percent-encoded as an operator
/// would type it.
fn url_with_database(db: &TestDb, name: &str) -> String {
    format!(
        "{}/{}",
        db.url().rsplit_once('/').unwrap().0,
        name.replace('"', "%22").replace(' ', "%20")
    )
}

async fn database_exists(db: &TestDb, name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// `runproof <args>` against a fresh test database; its scratch database
/// (`<the test's database>_bench`) is dropped afterwards. The run must succeed.
async fn bench_cli(args: &[&str]) -> common::cli::Output {
    let out = bench_cli_on(&TestDb::unmigrated().await, args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    out
}

/// `runproof <args>` against `db`, whatever its exit; the scratch database is dropped
/// afterwards.
async fn bench_cli_on(db: &TestDb, args: &[&str]) -> common::cli::Output {
    let target = DatabaseTarget::parse(&db.url()).unwrap();
    let url = db.url();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::cli::runproof(&url, &args)
    })
    .await
    .unwrap();
    bench::scratch_target(&target)
        .drop_if_exists()
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn a_hostile_database_name_recreates_only_its_own_scratch_database() {
    // Any database on the server will do as the admin connection for the checks.
    let db = TestDb::unmigrated().await;
    let victim = format!(
        "victim_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut admin = db.pool.acquire().await.unwrap();
    sqlx::query(&format!(
        "CREATE DATABASE {}",
        quote_ident(&victim).unwrap()
    ))
    .execute(&mut *admin)
    .await
    .unwrap();

    // `--database-url postgres://…/victim%22%20WITH%20(FORCE)%20--`
    let hostile = format!("{victim}\" WITH (FORCE) --");
    let target = DatabaseTarget::parse(&url_with_database(&db, &hostile)).unwrap();
    assert_eq!(target.database(), hostile);
    let scratch = bench::scratch_target(&target);
    let scratch_name = scratch.database().to_string();

    let pool = bench::fresh_database(&scratch).await.unwrap();
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('events') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(migrated, "the scratch database is created and migrated");
    assert!(database_exists(&db, &scratch_name).await);
    assert!(database_exists(&db, &victim).await, "the victim survives");

    // Again: this time the hostile-named scratch database exists and is dropped first.
    let pool = bench::fresh_database(&scratch).await.unwrap();
    pool.close().await;
    assert!(database_exists(&db, &victim).await, "the victim survives");

    scratch.drop_if_exists().await.unwrap();
    assert!(!database_exists(&db, &scratch_name).await, "dropped");
    assert!(database_exists(&db, &victim).await, "the victim survives");

    sqlx::query(&format!(
        "DROP DATABASE {} WITH (FORCE)",
        quote_ident(&victim).unwrap()
    ))
    .execute(&mut *admin)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_scratch_name_postgres_would_shorten_into_another_database_is_refused() {
    let db = TestDb::unmigrated().await;
    // PostgreSQL keeps 63 bytes of a name: `<60 bytes>_bench` would become `<60 bytes>_be`.
    let prefix = format!("victim_{}", uuid::Uuid::new_v4().simple());
    let base = format!("{prefix:x<60}");
    let victim = format!("{base}_be");
    assert_eq!(victim.len(), 63);
    let mut admin = db.pool.acquire().await.unwrap();
    sqlx::query(&format!(
        "CREATE DATABASE {}",
        quote_ident(&victim).unwrap()
    ))
    .execute(&mut *admin)
    .await
    .unwrap();

    let target = DatabaseTarget::parse(&url_with_database(&db, &base)).unwrap();
    let err = bench::fresh_database(&bench::scratch_target(&target))
        .await
        .unwrap_err();
    assert_eq!(err.reason, ReasonCode::DbInvalidName);
    assert_eq!(err.exit, 2, "a bad name is bad input");
    assert!(database_exists(&db, &victim).await, "the victim survives");

    sqlx::query(&format!(
        "DROP DATABASE {} WITH (FORCE)",
        quote_ident(&victim).unwrap()
    ))
    .execute(&mut *admin)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_http_benchmark_serves_both_callers_and_prints_its_rows() {
    let out = bench_cli(&[
        "bench",
        "--only",
        "http",
        "--http-runs",
        "2000",
        "--http-clients",
        "4",
        "--http-requests",
        "20",
        "--http-pages",
        "3",
        "--rounds",
        "2",
    ])
    .await;

    // The table: a list and a detail row per caller (the member sees one workspace of
    // eight), the console's runs page per caller, then the profile row; nothing else
    // from the other benchmarks.
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("| "))
        .take_while(|l| !l.starts_with("| profile: raw SQL"))
        .collect();
    assert!(
        rows[0].starts_with("| HTTP API: 2000 runs, 4 clients × 20 requests, median of 2 rounds |"),
        "{}",
        out.stdout
    );
    let expected = [
        (
            "`GET /api/v1/runs` (newest page or a deep cursor, then up to 3 pages), operator",
            "2000 runs",
        ),
        (
            "`GET /api/v1/runs/{id}` (random run), operator",
            "2000 runs",
        ),
        (
            "`GET /api/v1/runs` (newest page or a deep cursor, then up to 3 pages), member",
            "250 runs",
        ),
        ("`GET /api/v1/runs/{id}` (random run), member", "250 runs"),
        (
            "console `GET /runs` (newest page or a deep `after=` address, then up to 3 \"older\" links), operator",
            "2000 runs",
        ),
        (
            "console `GET /runs` (newest page or a deep `after=` address, then up to 3 \"older\" links), member",
            "250 runs",
        ),
    ];
    assert_eq!(rows.len(), 1 + expected.len() + 1, "{}", out.stdout);
    for (row, (what, sees)) in rows[1..].iter().zip(expected) {
        let cells: Vec<&str> = row.split(" | ").collect();
        assert_eq!(cells[0], format!("| {what}"));
        assert_eq!(cells[1], sees);
        for rate in [cells[3], cells[5]] {
            assert!(rate.parse::<f64>().unwrap() > 0.0, "{row}");
        }
        assert!(cells[6].parse::<f64>().unwrap() > 0.0, "{row}");
    }
    assert!(
        rows[7].starts_with("| profile: `GET /healthz`"),
        "{}",
        out.stdout
    );
    // The explanatory profile: one row per API measurement.
    let profile = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("| profile: raw SQL"))
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("| ") && !l.starts_with("| profile"))
        .count();
    assert_eq!(profile, 4, "{}", out.stdout);
    // The console's server time (the bench router's `Server-Timing`), per caller, with
    // the target judged.
    let server: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("| console runs page: server time"))
        .skip(2)
        .take_while(|l| l.starts_with("| "))
        .map(|l| l.split(" | ").collect())
        .collect();
    assert_eq!(server.len(), 2, "{}", out.stdout);
    for (cells, caller) in server.iter().zip(["| operator", "| member"]) {
        assert_eq!(cells[0], caller);
        for times in [cells[1], cells[2]] {
            let p99: f64 = times
                .trim_end_matches(" ms")
                .split(" / ")
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            assert!(p99 > 0.0, "{cells:?}");
        }
        assert!(cells[3].parse::<usize>().unwrap() > 0, "{cells:?}");
        assert!(
            cells[4].starts_with("first page p99 < 100 ms: met")
                || cells[4].starts_with("first page p99 < 100 ms: missed"),
            "{cells:?}"
        );
    }
    assert!(!out.stdout.contains("lifecycles/s"));
}

#[tokio::test]
async fn the_audit_benchmark_compares_the_rebuild_with_and_without_the_sequencer_and_prints_its_figures(
) {
    let out = bench_cli(&[
        "bench", "--only", "audit", "--events", "3000", "--rounds", "1",
    ])
    .await;

    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("| ") && !l.starts_with("| benchmark") && !l.starts_with("| audit log")
        })
        .map(|l| l.split(" | ").collect())
        .collect();
    // The comparison: with the sequencer (ours) against without it, target 0.8.
    let comparison = &rows[0];
    assert_eq!(
        comparison[0],
        "| rebuild of 3000 events with the sequencer (`log_leaves`) vs without"
    );
    for rate in [comparison[1], comparison[2]] {
        let rate: f64 = rate.trim_end_matches(" events/s").parse().unwrap();
        assert!(rate > 0.0, "{comparison:?}");
    }
    assert!(comparison[3].parse::<f64>().unwrap() > 0.0);
    assert_eq!(comparison[4], "≥ 0.80 |");

    let figures: Vec<(&str, &str)> = rows[1..].iter().map(|c| (c[0], c[1])).collect();
    assert_eq!(figures.len(), 6, "{}", out.stdout);
    assert!(figures[0].0.contains("sequencer alone") && figures[0].1.ends_with("leaves/s |"));
    assert!(figures[1].0.contains("audit verify DIR") && figures[1].1.ends_with("events/s |"));
    assert!(figures[2].0.contains("audit prove") && figures[2].1.ends_with("ms |"));
    // At 1,000,000 leaves leaf 0's proof holds 20 hashes, the last leaf's 12.
    assert_eq!(figures[3].1, "20 / 12 (640 / 384 bytes) |");
    let file_bytes: usize = figures[4].1.trim_end_matches(" bytes |").parse().unwrap();
    assert!(file_bytes > 20 * 45, "{}", figures[4].1);
    assert!(!out.stdout.contains("lifecycles/s"));
}

#[tokio::test]
async fn the_review_benchmark_drains_with_each_worker_count_each_round_and_prints_the_scaling_per_round(
) {
    let db = TestDb::unmigrated().await;
    let out = bench_cli_on(
        &db,
        &[
            "bench",
            "--only",
            "reviews",
            "--review-requests",
            "4",
            "--review-composes",
            "6",
            "--rounds",
            "2",
            "--review-workers",
            "3,2",
            "--review-batch",
            "4",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| review compose"))
        .map(|l| l.split(" | ").collect())
        .collect();
    assert_eq!(rows[2], ["| runs created by those requests", "1 |"]);
    // Per worker count (one worker always, then the counts asked for, fewest first, each
    // on one queue and apart): its rate in each of the two rounds and their median.
    for (row, workers, apart) in [
        (&rows[3], 1, false),
        (&rows[6], 2, false),
        (&rows[9], 2, true),
        (&rows[12], 3, false),
        (&rows[15], 3, true),
    ] {
        let who = if apart {
            format!("{workers} workers apart (each alone on a database of its own, the reviews split evenly: what {workers} workers get from this machine and server)")
        } else {
            format!("{workers} worker(s)")
        };
        let prefix = format!(
            "| compose throughput, {who}, batches of 4 (6 reviews per drain, median of 2 rounds: "
        );
        assert!(row[0].starts_with(&prefix), "{}", out.stdout);
        let rounds: Vec<f64> = row[0][prefix.len()..]
            .trim_end_matches(')')
            .split(", ")
            .map(|r| r.parse().unwrap())
            .collect();
        assert_eq!(rounds.len(), 2);
        assert!(rounds.iter().all(|r| *r > 0.0));
        let median: f64 = row[1].trim_end_matches(" reviews/s |").parse().unwrap();
        assert!(median > 0.0);
    }
    // What the machine's cores did: four figures that add up to about the core count.
    let machine = &rows[5];
    assert!(
        machine[0].contains("1 worker(s): the machine's"),
        "{}",
        out.stdout
    );
    let cores: f64 = machine[1]
        .trim_end_matches(" |")
        .split(", ")
        .map(|c| c.parse::<f64>().unwrap())
        .sum();
    let available = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(
        cores > available * 0.5 && cores < available * 1.5,
        "{machine:?}"
    );
    assert!(
        rows[10][0].contains("2 workers apart: CPU per review"),
        "{}",
        out.stdout
    );
    // Each count ÷ one worker, on one queue and apart, for each round, and the median;
    // and how much of the count apart the count on one queue keeps.
    assert_eq!(rows.len(), 24, "{}", out.stdout);
    for (i, workers) in [(18, 2), (21, 3)] {
        for (row, prefix, unit) in [
            (
                &rows[i],
                format!("| compose, {workers} workers ÷ 1, round by round ("),
                "× (median) |",
            ),
            (
                &rows[i + 1],
                format!("| compose, {workers} workers apart ÷ 1, round by round ("),
                "× (median) |",
            ),
            (
                &rows[i + 2],
                format!(
                    "| compose, {workers} workers on one queue ÷ {workers} apart, round by round ("
                ),
                " (median) |",
            ),
        ] {
            assert!(row[0].starts_with(&prefix), "{}", out.stdout);
            let per_round = row[0].trim_start_matches(&prefix).trim_end_matches(')');
            assert_eq!(per_round.split(", ").count(), 2, "{per_round}");
            assert!(row[1].ends_with(unit), "{}", out.stdout);
        }
    }
    // The databases apart are gone with the bench.
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname LIKE $1")
        .bind(format!("{}_bench_apart%", db.name))
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn the_review_benchmark_shows_each_drains_statements_or_refuses_in_one_line_without_pg_stat_statements(
) {
    let db = TestDb::unmigrated().await;
    let preloaded: bool = sqlx::query_scalar(
        "SELECT 'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let out = bench_cli_on(
        &db,
        &[
            "bench",
            "--only",
            "reviews",
            "--review-requests",
            "2",
            "--review-composes",
            "4",
            "--rounds",
            "1",
            "--review-statements",
            "3",
        ],
    )
    .await;
    if preloaded {
        assert_eq!(out.code, 0, "{}", out.stderr);
        for workers in [1, 2] {
            let heading = format!("Compose statements, round 1, {workers} worker(s), 4 reviews: ");
            let at = out.stdout.find(&heading).expect(&out.stdout);
            let rows: Vec<&str> = out.stdout[at..]
                .lines()
                .skip(4)
                .take_while(|l| l.starts_with("| `"))
                .collect();
            assert_eq!(rows.len(), 3, "{}", out.stdout);
        }
    } else {
        // Refused before anything is measured: one line, the environment's exit code.
        assert_eq!(out.code, 3, "{}", out.stderr);
        let reason = ReasonCode::BenchStatementsUnavailable;
        assert_eq!(
            out.stderr.lines().last(),
            Some(
                format!(
                    "error: {} [{}]",
                    reason.text(runproof_domain::lang::Lang::En),
                    reason.code()
                )
                .as_str()
            ),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("bench: round"), "{}", out.stderr);
        assert!(!out.stdout.contains("compose throughput"), "{}", out.stdout);
    }
}
