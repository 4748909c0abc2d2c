//! Redis goes away under load and comes back empty: processes keep
//! serving, writes fail loudly while it is gone, and afterwards every client
//! shows what the database holds. See `redis_support` for how servers are
//! started.

mod redis_support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use redis_support::*;
use serde_json::json;
use tokio::sync::watch;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    ok: usize,
    failed: usize,
}

#[tokio::test]
async fn clients_converge_after_redis_restarts_without_its_data() {
    let dir = TempDir::new("failure");
    let (db_url, db) = shared_db(&dir).await;
    let mut redis = PrivateRedis::start().await;
    let url = with_namespace(&redis.url(), "failure");
    let a = Arc::new(Server::start(&db_url, &url).await);
    let b = Arc::new(Server::start(&db_url, &url).await);

    let mut followers = Vec::new();
    for (board, urls, token) in [
        (1, vec![a.board_url(1), b.board_url(1)], "ada-token"),
        (1, vec![b.board_url(1), a.board_url(1)], "grace-token"),
        (1, vec![a.board_url(1)], "grace-token"),
        (1, vec![b.board_url(1)], "ada-token"),
        (2, vec![a.board_url(2), b.board_url(2)], "ada-token"),
        (2, vec![b.board_url(2)], "ada-token"),
    ] {
        followers.push((board, Follower::start(urls, token).await));
    }

    // One writer, one request at a time, alternating processes: renames,
    // moves, new cards.
    let (phase_tx, phase) = watch::channel(0usize);
    let writer = {
        let (a, b) = (a.clone(), b.clone());
        tokio::spawn(async move {
            let mut counts = [Counts::default(); 3];
            let mut i = 0u64;
            loop {
                if *phase.borrow() >= 3 {
                    return counts;
                }
                let server = if i % 2 == 0 { &a } else { &b };
                let card = [1, 2, 3, 5][(i % 4) as usize];
                let (method, path, body) = match i % 5 {
                    3 => (
                        "PATCH".to_owned(),
                        format!("/api/cards/{card}"),
                        json!({"column_id": if card == 5 { 4 + (i / 5) % 2 } else { 1 + (i / 5) % 3 }}),
                    ),
                    4 => (
                        "POST".to_owned(),
                        "/api/cards".to_owned(),
                        json!({"column_id": 1 + i % 3, "title": format!("new {i}")}),
                    ),
                    _ => (
                        "PATCH".to_owned(),
                        format!("/api/cards/{card}"),
                        json!({"title": format!("title {i}")}),
                    ),
                };
                let (status, _) = server.rest(&method, &path, "ada-token", Some(body)).await;
                // Counted in the phase it ended in: the test moves to the
                // next phase before it stops Redis.
                let current = (*phase.borrow()).min(2);
                if (200..300).contains(&status) {
                    counts[current].ok += 1;
                } else {
                    assert_eq!(status, 500, "{method} {path}");
                    counts[current].failed += 1;
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(800)).await;
    phase_tx.send_replace(1);
    redis.kill().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.restart().await;
    phase_tx.send_replace(2);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    phase_tx.send_replace(3);
    let [before, during, after] = writer.await.expect("writer");
    eprintln!("writes before {before:?}, while Redis was down {during:?}, after {after:?}");
    assert!(before.ok > 0 && before.failed == 0, "{before:?}");
    assert!(
        during.failed > 0,
        "writes fail while Redis is away: {during:?}"
    );
    assert!(after.ok > 0, "writes succeed again: {after:?}");

    // Every client, wherever it is, shows what the database holds.
    for (i, (board, follower)) in followers.iter().enumerate() {
        let expected = fresh(&db, *board).await;
        follower
            .converge(&expected, &format!("follower {i} on board {board}"))
            .await;
        assert!(
            follower.reconnects.load(Ordering::SeqCst) >= 1,
            "follower {i} was made to reload"
        );
    }

    // Each process's metrics saw the outage: its reader lost Redis, the
    // events it missed made it resync, and the failed writes are counted.
    let mut failed_commits = 0.0;
    for server in [&a, &b] {
        let metrics = rxd_tests::scrape(server.addr, "/metrics").await;
        assert!(
            metrics.get("rxd_broker_reconnects_total") >= 1.0,
            "{metrics:?}"
        );
        assert!(
            metrics.get("rxd_broker_resyncs_total") >= 1.0,
            "{metrics:?}"
        );
        failed_commits += metrics.get("rxd_batches_failed_total");
    }
    assert!(failed_commits >= 1.0, "failed commits are counted");

    // The deployment is healthy again: a write on either process reaches
    // every client as a delta.
    for (server, title) in [(&a, "healthy on A"), (&b, "healthy on B")] {
        let (status, _) = server
            .rest(
                "PATCH",
                "/api/cards/1",
                "ada-token",
                Some(json!({"title": title})),
            )
            .await;
        assert_eq!(status, 200);
        let expected = fresh(&db, 1).await;
        for (i, (board, follower)) in followers.iter().enumerate() {
            if *board == 1 {
                follower
                    .converge(&expected, &format!("follower {i} after {title}"))
                    .await;
            }
        }
    }
}
