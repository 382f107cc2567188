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
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    holder.rollback().await.unwrap();
    let answer = in_flight.join().unwrap();
    assert!(
        answer.contains("200 OK"),
        "the request in flight finished: {answer}"
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("Stopped"), "{rest}");
    // And nothing listens any more.
    assert!(TcpStream::connect(&address).is_err());
}
