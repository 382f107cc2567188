//! NATS test support: the local JetStream server (CI starts it; a test that needs it
//! fails with a clear message when it is not there, it is never skipped), a stream and
//! subject prefix of each test's own, the relay binary as a child process, and a
//! nats-server of a test's own that it can stop and start.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use runproof::feed::cloudevent::event_id;
use serde_json::Value;
use uuid::Uuid;

use super::TestDb;

/// The NATS server the tests use (`RUNPROOF_TEST_NATS_URL`, else the local one).
pub fn url() -> String {
    std::env::var("RUNPROOF_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Fails the test with a clear message when the NATS server does not answer.
pub fn require() -> String {
    let url = url();
    let address = url.trim_start_matches("nats://").to_string();
    if TcpStream::connect_timeout(
        &address.parse().expect("the NATS test URL is host:port"),
        Duration::from_secs(2),
    )
    .is_err()
    {
        panic!(
            "NATS JetStream is not reachable at {url}; these tests need it (.ci/run starts it: \
             start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
             -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log)"
        );
    }
    url
}

/// A stream name and subject prefix no other test uses.
pub fn names() -> (String, String) {
    let id = Uuid::new_v4().simple().to_string();
    (format!("T_{id}"), format!("t{id}"))
}

pub async fn jetstream(url: &str) -> jetstream::Context {
    let client = async_nats::connect(url).await.expect("connect to NATS");
    jetstream::new(client)
}

/// The stream's last sequence (0 when it does not exist yet).
pub async fn last_sequence(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(s) => s
            .get_info()
            .await
            .map(|i| i.state.last_sequence)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// Every message of the stream in sequence order: (subject, Nats-Msg-Id, event).
pub async fn messages(js: &jetstream::Context, stream: &str) -> Vec<(String, String, Value)> {
    let s = js.get_stream(stream).await.expect("the stream exists");
    let info = s.get_info().await.unwrap();
    assert_eq!(
        info.state.first_sequence.max(1),
        1,
        "the stream lost no message"
    );
    let mut out = Vec::with_capacity(info.state.last_sequence as usize);
    for seq in 1..=info.state.last_sequence {
        let m = s.get_raw_message(seq).await.unwrap();
        let id = m
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let event: Value = serde_json::from_slice(&m.payload).unwrap();
        out.push((m.subject.to_string(), id, event));
    }
    out
}

/// Deletes a test's stream from the shared server once the test is done with it.
pub async fn forget(js: &jetstream::Context, stream: &str) {
    js.delete_stream(stream)
        .await
        .expect("delete the test's stream");
}

/// Waits (bounded) until the stream holds `n` messages.
pub async fn wait_for_sequence(js: &jetstream::Context, stream: &str, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let last = last_sequence(js, stream).await;
        if last >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stream holds {last} of {n} messages after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The log's event ids in commit order.
pub async fn log_ids(db: &TestDb) -> Vec<String> {
    super::feed::log_ids(db).await
}

/// Checks that the stream holds exactly the log, once each, in commit order.
pub async fn assert_stream_is_the_log(js: &jetstream::Context, stream: &str, db: &TestDb) {
    let want = log_ids(db).await;
    let got = messages(js, stream).await;
    let ids: Vec<&str> = got.iter().map(|(_, id, _)| id.as_str()).collect();
    let first_difference = ids.iter().zip(&want).position(|(a, b)| *a != b.as_str());
    assert!(
        ids.len() == want.len() && first_difference.is_none(),
        "the stream holds {} messages for {} events; first difference at {:?}: {:?}",
        ids.len(),
        want.len(),
        first_difference,
        first_difference.map(|i| (ids[i], &want[i], &got[i].2["id"]))
    );
    for (subject, id, event) in &got {
        assert_eq!(
            event["id"].as_str(),
            Some(id.as_str()),
            "Nats-Msg-Id is the event id"
        );
        let ty = event["type"].as_str().unwrap();
        let subject_id = event["subject"].as_str().unwrap();
        let seq: i64 = event["sequence"].as_str().unwrap().parse().unwrap();
        let aggregate = ty.split('.').nth(1).unwrap();
        assert_eq!(event_id(aggregate, subject_id, seq).to_string(), *id);
        let event_type = ty.split('.').nth(2).unwrap();
        let workspace = event["workspace"].as_str().unwrap_or("_");
        assert!(
            subject.ends_with(&format!(".{workspace}.{aggregate}.{event_type}")),
            "{subject}"
        );
    }
}

/// The built `runproof` binary.
pub fn runproof() -> &'static str {
    env!("CARGO_BIN_EXE_runproof")
}

/// A relay process over `db` publishing to `stream` under `prefix` at `url`, its log in
/// `log` (stderr).
pub fn spawn_relay(db: &TestDb, url: &str, stream: &str, prefix: &str, log: &Path) -> Child {
    spawn_relay_with(db, url, stream, prefix, log, &[])
}

/// [`spawn_relay`] with more options.
pub fn spawn_relay_with(
    db: &TestDb,
    url: &str,
    stream: &str,
    prefix: &str,
    log: &Path,
    extra: &[&str],
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(runproof())
        .args([
            "relay",
            "nats",
            "--url",
            url,
            "--stream",
            stream,
            "--subject-prefix",
            prefix,
            "--poll",
            "0.2",
            "--standby-poll",
            "0.2",
            "--max-backoff",
            "0.5",
            "--max-retries",
            "1000",
            "--window",
            "64",
        ])
        .args(extra)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn the relay")
}

/// A free TCP port on the loopback address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server of the test's own, with its own store, that the test stops and
/// starts again.
pub struct OwnServer {
    pub port: u16,
    store: PathBuf,
    child: Option<Child>,
}

const NATS_SERVER: &str = "/usr/sbin/nats-server";

impl OwnServer {
    pub fn start(store: &Path) -> OwnServer {
        assert!(
            Path::new(NATS_SERVER).exists(),
            "{NATS_SERVER} is missing; these tests need it (apt-get install nats-server)"
        );
        let mut server = OwnServer {
            port: free_port(),
            store: store.to_path_buf(),
            child: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (same port, same store) and waits until it answers.
    pub fn resume(&mut self) {
        let child = Command::new(NATS_SERVER)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGKILL) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Kills a process with SIGKILL and reaps it.
pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Stops a process with SIGTERM and waits (bounded) for it to exit; its exit status.
pub fn terminate(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) until `log` contains `needle`.
pub async fn wait_for_line(log: &Path, needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no line with {needle:?} within {within:?}; the log:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
