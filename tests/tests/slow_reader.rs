//! Backpressure: a client that stops reading while deltas keep flowing
//! never grows the server's memory without bound. The server runs in its
//! own process (`rxd-flood-server`) so that its RSS, read from
//! `/proc/PID/status`, is the server's alone.
#![cfg(target_os = "linux")]

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rxd::client::{Client, ServerMessage};
use rxd_tests::{http_get, scrape, Exposition};

/// Deltas committed while the client does not read.
const DELTAS: usize = 100_000;
/// Bytes of text in each delta (a delta frame is a little larger).
const DELTA_BYTES: usize = 1024;
/// How far the server's peak RSS may rise above its warmed-up RSS while
/// one client stalls through the flood. Unbounded queueing would need more
/// than DELTAS × DELTA_BYTES ≈ 100 MiB; the bounded queue
/// (`max_pending_frames` = 1024 frames ≈ 1 MiB) plus the socket's write
/// buffer and allocator slack stay far below.
const RSS_GROWTH_BOUND_KIB: u64 = 32 * 1024;

/// The flood server, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rxd-flood-server"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start rxd-flood-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server { child, addr }
    }

    /// A field of `/proc/PID/status`, in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    fn feed_url(&self) -> String {
        format!("ws://{}/ws/feed/1", self.addr)
    }

    /// Commits `n` deltas of `bytes` each; returns the last version.
    async fn flood(&self, n: usize, bytes: usize) -> u64 {
        let (status, _, body) =
            http_get(self.addr, &format!("/flood?n={n}&bytes={bytes}&feed=1")).await;
        assert_eq!(status, 200, "flood: {body}");
        body.trim().parse().expect("the last version")
    }

    async fn metrics(&self) -> Exposition {
        scrape(self.addr, "/metrics").await
    }

    /// Scrapes until `done` holds, for at most `within`.
    async fn metrics_until(
        &self,
        within: Duration,
        done: impl Fn(&Exposition) -> bool,
    ) -> Exposition {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let metrics = self.metrics().await;
            if done(&metrics) {
                return metrics;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "metrics never got there: {metrics:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client past its initial state (`ready`).
async fn connect(server: &Server) -> Client {
    let mut client = Client::connect(&server.feed_url(), "any")
        .await
        .expect("connect");
    loop {
        match client
            .next_within(Duration::from_secs(5))
            .await
            .expect("initial state")
        {
            ServerMessage::Ready { .. } => return client,
            ServerMessage::Closed { code, reason } => panic!("closed {code} {reason}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_the_server_stays_small() {
    let server = Server::start(&[]);

    // Warm up the paths a flood uses (encoding, queues, the allocator) with
    // a reader that keeps up: fewer deltas than fit in its queue.
    let mut warm = connect(&server).await;
    server.flood(1000, DELTA_BYTES).await;
    let mut seen = 0;
    while seen < 1000 {
        if let ServerMessage::Delta { .. } = warm.next_within(Duration::from_secs(5)).await.unwrap()
        {
            seen += 1;
        }
    }
    warm.close().await.unwrap();
    let baseline = server.status_kib("VmRSS");

    // This client reads its initial state, then nothing more.
    let mut slow = connect(&server).await;
    let last = server.flood(DELTAS, DELTA_BYTES).await;
    let peak = server.status_kib("VmHWM");
    let after = server.status_kib("VmRSS");
    eprintln!(
        "server RSS: {baseline} KiB warmed up, {peak} KiB peak (VmHWM) over {DELTAS} deltas of {DELTA_BYTES} B to a client that does not read, {after} KiB after"
    );
    assert!(
        peak < baseline + RSS_GROWTH_BOUND_KIB,
        "the server grew from {baseline} KiB to {peak} KiB"
    );
    let flooded = server.metrics().await;
    assert!(flooded.get("rxd_hub_events_applied_total") >= DELTAS as f64);

    // When it reads again, it finds what was already on its way, then close
    // 4008: it fell too far behind and must reconnect for a fresh state.
    let mut deltas = 0;
    let code = loop {
        match slow
            .next_within(Duration::from_secs(10))
            .await
            .expect("a frame or the close")
        {
            ServerMessage::Delta { .. } => deltas += 1,
            ServerMessage::Closed { code, .. } => break code,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, 4008);
    assert!(
        deltas < DELTAS,
        "the slow client got every delta: nothing was bounded"
    );
    eprintln!("the slow client read {deltas} of {DELTAS} deltas before close 4008");

    // The server is fine: a new client gets the final state.
    let mut fresh = Client::connect(&server.feed_url(), "any").await.unwrap();
    let version = loop {
        match fresh.next_within(Duration::from_secs(5)).await.unwrap() {
            ServerMessage::Ready { v, .. } => break v,
            ServerMessage::Closed { code, reason } => panic!("closed {code} {reason}"),
            _ => {}
        }
    };
    assert_eq!(version, last);
    let metrics = server
        .metrics_until(Duration::from_secs(5), |m| {
            m.get("rxd_connections_open") == 1.0
        })
        .await;
    assert_eq!(
        metrics.get("rxd_connections_closed_total{code=\"4008\"}"),
        1.0
    );
}

#[tokio::test]
async fn a_client_that_never_reads_again_is_closed_after_the_heartbeat_timeout() {
    let server = Server::start(&["--heartbeat-timeout-ms", "3000"]);
    let slow = connect(&server).await;
    // Far more than the socket buffers and the queue hold (48 MiB), so the
    // server's write to this client stalls, and stays stuck.
    server.flood(3_000, 16 * 1024).await;
    // The client never reads again; the server frees the connection on its
    // own, with 4008, although its write is stuck.
    let metrics = server
        .metrics_until(Duration::from_secs(20), |m| {
            m.get("rxd_connections_open") == 0.0
        })
        .await;
    assert_eq!(
        metrics.get("rxd_connections_closed_total{code=\"4008\"}"),
        1.0
    );
    assert_eq!(
        metrics.get_or_zero("rxd_connections_closed_total{code=\"4010\"}"),
        0.0
    );
    drop(slow);
}
