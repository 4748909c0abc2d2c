//! `rxd watch` against a real board server.

use std::process::Stdio;
use std::time::Duration;

use axum::http::Method;
use rxd_tests::TestServer;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("a line in time")
        .expect("read")
        .expect("not the end");
    serde_json::from_str(&line).expect("a JSON line")
}

#[tokio::test]
async fn watch_prints_the_initial_state_and_deltas_as_json_lines() {
    let server = TestServer::start().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rxd"))
        .args(["watch", &server.board_url(1), "--token", "ada-token"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run rxd");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut message = next_json(&mut lines).await;
    while message["type"] == "instances" {
        message = next_json(&mut lines).await;
    }
    assert_eq!(message["type"], "ready");
    server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "Seen by the CLI"})),
        )
        .await;
    let delta = next_json(&mut lines).await;
    assert_eq!(delta["type"], "delta");
    assert_eq!(delta["instances"][0]["title"], "Seen by the CLI");
}

#[tokio::test]
async fn watch_prints_the_close_and_fails_on_a_bad_token() {
    let server = TestServer::start().await;
    let output = Command::new(env!("CARGO_BIN_EXE_rxd"))
        .args(["watch", &server.board_url(1), "--token", "nope", "--header"])
        .output()
        .await
        .expect("run rxd");
    assert!(!output.status.success());
    let line: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(line["type"], "closed");
    assert_eq!(line["code"], 4001);
}

/// Runs `rxd watch` with `args` and returns the messages up to `ready`.
async fn initial_messages(server: &TestServer, args: &[&str]) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rxd"))
        .args(["watch", &server.board_url(1), "--token", "ada-token"])
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run rxd");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut messages = vec![next_json(&mut lines).await];
    while messages.last().expect("one")["type"] != "ready" {
        messages.push(next_json(&mut lines).await);
    }
    messages
}

#[tokio::test]
async fn watch_resume_from_receives_only_what_changed_since() {
    let server = TestServer::start().await;
    let full = initial_messages(&server, &[]).await;
    let version = full.last().unwrap()["v"].as_u64().expect("ready.v");
    server
        .rest(
            Method::PATCH,
            "/api/cards/1",
            "ada-token",
            Some(json!({"title": "Changed while away"})),
        )
        .await;
    let from = version.to_string();
    for header in [false, true] {
        let mut args = vec!["--resume-from", from.as_str()];
        if header {
            args.push("--header");
        }
        let resumed = initial_messages(&server, &args).await;
        assert_eq!(resumed[0]["type"], "resume", "header: {header}");
        assert_eq!(resumed[0]["from"], version);
        let instances: Vec<&Value> = resumed
            .iter()
            .filter(|m| m["type"] == "instances")
            .flat_map(|m| m["instances"].as_array().unwrap())
            .collect();
        assert_eq!(instances.len(), 1, "only the renamed card: {instances:?}");
        assert_eq!(instances[0]["title"], "Changed while away");
    }
}
