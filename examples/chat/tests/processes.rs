//! Two chat processes sharing PostgreSQL and Redis: messages, idempotent
//! retries and the rate limit across them, and presence when one of them
//! dies without a word (SIGKILL).
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (trust auth, database `test`, or
//! `CHAT_TEST_POSTGRES`) and Redis at 127.0.0.1:6379 (or
//! `CHAT_TEST_REDIS`); it fails, never skips, without them.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::{present, Peer, WAIT};

const HEARTBEAT_MS: u64 = 200;
const TIMEOUT_MS: u64 = 1_000;

/// A `chat serve` process, killed when dropped.
struct Process {
    child: Child,
    base: String,
}

impl Process {
    fn start(db: &str, redis: &str) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat"))
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--db",
                db,
                "--redis",
                redis,
            ])
            .args(["--window", "5", "--rate-limit", "4/60"])
            .args(["--presence-heartbeat-ms", &HEARTBEAT_MS.to_string()])
            .args(["--presence-timeout-ms", &TIMEOUT_MS.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start chat serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the address");
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Process {
            child,
            base: format!("ws://{addr}"),
        }
    }

    /// Dies at once: no shutdown, no `disconnect`, no presence cleanup.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh PostgreSQL database, dropped at the end.
struct Database {
    admin: sqlx::AnyPool,
    name: String,
    url: String,
}

impl Database {
    async fn create() -> Database {
        sqlx::any::install_default_drivers();
        let server = std::env::var("CHAT_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let admin = sqlx::AnyPool::connect(&format!("{server}/test"))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server}/test is needed: {e}"));
        let name = format!("chat_test_{}_{}", std::process::id(), unique());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create the test database");
        Database {
            admin,
            url: format!("{server}/{name}"),
            name,
        }
    }

    async fn drop_it(self) {
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await
        .expect("drop the test database");
    }
}

fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_messages_retries_limits_and_presence_and_a_killed_one_leaves() {
    let database = Database::create().await;
    let redis =
        std::env::var("CHAT_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis = format!("{redis}/?namespace=chat-test-{}", unique());
    // One after the other: the first creates the tables.
    let mut first = Process::start(&database.url, &redis);
    let second = Process::start(&database.url, &redis);

    let mut ada = Peer::open(&first.base, 1, "ada-token").await;
    let mut grace = Peer::open(&second.base, 1, "grace-token").await;
    ada.until(|room| present(room) == ["Ada", "Grace"]).await;
    grace.until(|room| present(room) == ["Ada", "Grace"]).await;

    // A message sent on one process reaches the other.
    ada.call("send", vec![json!("a-1"), json!("hello from the first")])
        .await
        .unwrap();
    grace
        .until(|room| room.messages.last().is_some_and(|m| m.client_id == "a-1"))
        .await;

    // Grace's retry lands on the other process: still one message.
    let sent = grace
        .call("send", vec![json!("g-1"), json!("once")])
        .await
        .unwrap();
    let mut grace_on_first = Peer::open(&first.base, 1, "grace-token").await;
    let retried = grace_on_first
        .call("send", vec![json!("g-1"), json!("once")])
        .await
        .unwrap();
    assert_eq!(sent, retried);
    let page = grace
        .call("history", vec![json!(i64::MAX), json!(100)])
        .await
        .unwrap();
    let copies = page
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["client_id"] == "g-1")
        .count();
    assert_eq!(copies, 1, "one row, whichever process took the retry");

    // The rate limit (4 a minute) counts Grace's messages on both processes.
    grace_on_first
        .call("send", vec![json!("g-2"), json!("two")])
        .await
        .unwrap();
    grace
        .call("send", vec![json!("g-3"), json!("three")])
        .await
        .unwrap();
    grace_on_first
        .call("send", vec![json!("g-4"), json!("four")])
        .await
        .unwrap();
    let refused = grace
        .call("send", vec![json!("g-5"), json!("five")])
        .await
        .unwrap_err();
    assert_eq!(refused.code, "rate_limited");

    // The first process dies. Its users leave the presence that the second
    // process's clients see, within the timeout and a heartbeat or two.
    grace.until(|room| room.members.len() == 3).await;
    drop(grace_on_first);
    let killed = Instant::now();
    first.kill();
    let room = grace.until(|room| present(room) == ["Grace"]).await;
    let took = killed.elapsed();
    assert_eq!(room.members.len(), 1, "Grace's own connection stays");
    eprintln!(
        "presence: a killed process's users left after {took:?} (timeout {TIMEOUT_MS} ms, heartbeat {HEARTBEAT_MS} ms)"
    );
    assert!(took < WAIT);

    // Messages go on, and Ada, reconnecting to the live process, is back.
    let mut ada_again = Peer::open(&second.base, 1, "ada-token").await;
    let room = ada_again
        .until(|room| present(room) == ["Ada", "Grace"])
        .await;
    assert!(room.messages.iter().any(|m| m.client_id == "g-4"));
    drop((ada, grace, ada_again, second));
    database.drop_it().await;
}
