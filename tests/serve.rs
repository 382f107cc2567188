//! `runproof serve` as a process: it listens, answers, and on SIGTERM stops accepting,
//! finishes the request in flight, and exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::TestDb;

/// One HTTP/1.1 GET over a plain socket; the whole response as text.
fn http_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test]
async fn serve_answers_and_a_sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let db = TestDb::new().await;
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("runproof"))
        .env("RUST_LOG", "off")
        .args(["--database-url", &db.url()])
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-worker",
            "--no-reconciler",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut child = Serving(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the serving line names the address")
        .to_string();
    assert!(http_get(&address, "/healthz").contains("200 OK"));

    // A request that cannot finish yet: readiness reads a table the test holds.
    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let in_flight = {
        let address = address.clone();
        std::thread::spawn(move || http_get(&address, "/readyz"))
    };
    // Wait until the request waits on the lock, then stop the server.
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '_sqlx_migrations'::regclass",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    holder.rollback().await.unwrap();
    let answer = in_flight.join().unwrap();
    assert!(
        answer.contains("200 OK"),
        "the request in flight finished: {answer}"
    );
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("Stopped"), "{rest}");
    // And nothing listens any more.
    assert!(TcpStream::connect(&address).is_err());
}

/// One HTTP/1.1 GET with a bearer token; the response body as JSON.
fn api_get(address: &str, path: &str, token: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

/// A `runproof serve` process, killed if the test fails before it stops it.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `serve --demo`, reads its output up to the printed token, and answers the
/// process, its address, the token and everything printed.
fn serve_demo(url: &str) -> (Serving, String, String, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("runproof"))
        .env("RUST_LOG", "off")
        .args(["--database-url", url])
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--no-worker",
            "--no-reconciler",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Serving(child);
    let mut printed = String::new();
    let mut token = None;
    while !printed.contains("curl -H") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{printed}");
        printed.push_str(&line);
        if let Some(secret) = line.trim().strip_prefix("rp_") {
            token = Some(format!("rp_{secret}"));
        }
    }
    let token = token.expect("the token is printed on its own line");
    let address = printed
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the serving line names the address")
        .to_string();
    (child, address, token, printed)
}

fn stop(mut serving: Serving) {
    let killed = Command::new("kill")
        .args(["-TERM", &serving.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(serving.0.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn serve_demo_records_the_story_once_and_prints_an_operators_token() {
    let db = TestDb::unmigrated().await;
    // serve --demo creates the database itself: a name that does not exist yet.
    let name = format!("{}_serve_demo", db.name);
    let url = db.url().replace(&db.name, &name);

    let (child, address, token, printed) = serve_demo(&url);
    assert!(printed.contains("Created the database"), "{printed}");
    assert!(
        printed.contains("curl -H 'Authorization: Bearer rp_"),
        "{printed}"
    );
    let first = api_get(&address, "/api/v1/runs?limit=1000", &token);
    let runs = first["runs"].as_array().unwrap();
    assert!(!runs.is_empty(), "{first}");
    // The demo's operator sees every workspace, not only the one it is a member of.
    let workspaces: std::collections::BTreeSet<&str> = runs
        .iter()
        .map(|r| r["workspace_id"].as_str().unwrap())
        .collect();
    assert!(workspaces.len() >= 2, "{workspaces:?}");
    stop(child);

    // Again: the history is kept as it is, and a new token is printed.
    let (child, address, second_token, printed) = serve_demo(&url);
    assert!(printed.contains("already has a history"), "{printed}");
    assert_ne!(token, second_token);
    let again = api_get(&address, "/api/v1/runs?limit=1000", &second_token);
    assert_eq!(again["runs"].as_array().unwrap().len(), runs.len());
    // The first token still works: both are recorded, neither replaced the other.
    api_get(&address, "/api/v1/runs?limit=1", &token);
    stop(child);

    sqlx::query(&format!(
        "DROP DATABASE {} WITH (FORCE)",
        runproof_projections::sql::quote_ident(&name).unwrap()
    ))
    .execute(&db.pool)
    .await
    .ok();
}
