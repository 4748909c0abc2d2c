//! The load generator: one process holds up to a few thousand connections
//! on a single-threaded runtime, records what they receive, and talks to
//! the orchestrator through stdin/stdout lines:
//!
//! - it prints `READY <json>` ([`ReadyReport`]) once every connection
//!   received its initial state (or failed);
//! - `RESET` clears the delivery statistics (answer `OK`);
//! - `PEEK` prints `PEEK <received>`;
//! - `REPORT` prints `REPORT <json>` ([`Report`]) and clears;
//! - `GO <ms>` (actions mode) runs closed-loop calls for that long, then
//!   prints `REPORT <json>`;
//! - `EXIT` (or end of input) exits at once.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{watch, Semaphore};

use crate::hist::{Hist, Wire};
use crate::proto::{Conn, Incoming, Target};
use crate::stamp::{self, now_ns};
use crate::sys::source_addr;

/// What the connections of one load process do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Receive deliveries until told to stop.
    Subscribe,
    /// Closed-loop action calls after `GO`.
    Actions,
}

/// The job of one load process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSpec {
    /// The server.
    pub target: Target,
    /// Connection `i` (global index) watches `anchor_lo + i % anchor_count`.
    pub anchor_lo: u64,
    /// How many anchors the connections spread over.
    pub anchor_count: u64,
    /// The global index of this process's first connection.
    pub first: usize,
    /// Connections of this process.
    pub conns: usize,
    /// Connection attempts in flight at once.
    pub concurrency: usize,
    /// Second byte of the source addresses (`127.<block>.x.y`).
    pub block: u8,
    /// Client WebSocket read buffer, bytes.
    pub read_buffer: usize,
    /// Keep per-commit statistics (first and last receipt of each commit).
    pub track_seqs: bool,
    /// What to do once connected.
    pub mode: Mode,
}

impl LoadSpec {
    /// The anchor of global connection `index`.
    pub fn anchor_of(&self, index: usize) -> u64 {
        self.anchor_lo + (index as u64 % self.anchor_count.max(1))
    }
}

/// How one commit reached this process's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqStat {
    /// Frames that carried it.
    pub count: u64,
    /// Earliest latency, ns.
    pub min_ns: u64,
    /// Latest latency, ns.
    pub max_ns: u64,
}

impl SeqStat {
    fn add(&mut self, other: &SeqStat) {
        self.count += other.count;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }
}

/// The connect phase of one or several load processes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReadyReport {
    /// Connections that received their initial state.
    pub connected: u64,
    /// Connections that failed.
    pub failed: u64,
    /// The first few failures.
    pub errors: Vec<String>,
    /// Time from TCP connect to the end of the initial state.
    pub ttfs: Wire,
    /// When the first attempt started (realtime ns).
    pub started_ns: u64,
    /// When the last initial state completed (realtime ns).
    pub finished_ns: u64,
    /// Bytes of initial state received.
    pub bytes: u64,
}

impl ReadyReport {
    /// Adds another process's connect phase.
    pub fn merge(&mut self, other: &ReadyReport) {
        self.connected += other.connected;
        self.failed += other.failed;
        for e in &other.errors {
            if self.errors.len() < 5 {
                self.errors.push(e.clone());
            }
        }
        let mut ttfs = Hist::from_wire(&self.ttfs);
        ttfs.merge(&Hist::from_wire(&other.ttfs));
        self.ttfs = ttfs.to_wire();
        self.started_ns = match (self.started_ns, other.started_ns) {
            (0, b) => b,
            (a, 0) => a,
            (a, b) => a.min(b),
        };
        self.finished_ns = self.finished_ns.max(other.finished_ns);
        self.bytes += other.bytes;
    }

    /// Connections per second over the whole phase.
    pub fn rate(&self) -> f64 {
        let span = self.finished_ns.saturating_sub(self.started_ns) as f64 / 1e9;
        if span > 0.0 {
            self.connected as f64 / span
        } else {
            0.0
        }
    }
}

/// What one or several load processes received since the last reset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Stamped frames received.
    pub received: u64,
    /// Frames whose stamp was later than their receipt (clock trouble).
    pub negative: u64,
    /// First receipt (realtime ns), 0 if none.
    pub first_ns: u64,
    /// Last receipt (realtime ns).
    pub last_ns: u64,
    /// Commit-to-receipt latency of every stamped frame.
    pub latency: Wire,
    /// Per-commit statistics, when tracked.
    pub seqs: Vec<(u64, SeqStat)>,
    /// Connections the server closed (cumulative).
    pub closed: u64,
    /// Their close codes.
    pub close_codes: BTreeMap<u16, u64>,
    /// Completed calls.
    pub actions: u64,
    /// Call round trips.
    pub action_latency: Wire,
    /// Failed calls.
    pub action_errors: u64,
    /// The first call failure.
    pub action_error: Option<String>,
}

impl Report {
    /// Stamped frames per second from `since_ns` (realtime) to the last
    /// receipt.
    pub fn received_per_sec(&self, since_ns: u64) -> f64 {
        let span = self.last_ns.saturating_sub(since_ns) as f64 / 1e9;
        if span > 0.0 {
            self.received as f64 / span
        } else {
            0.0
        }
    }

    /// Adds another process's report.
    pub fn merge(&mut self, other: &Report) {
        self.received += other.received;
        self.negative += other.negative;
        self.first_ns = match (self.first_ns, other.first_ns) {
            (0, b) => b,
            (a, 0) => a,
            (a, b) => a.min(b),
        };
        self.last_ns = self.last_ns.max(other.last_ns);
        let mut latency = Hist::from_wire(&self.latency);
        latency.merge(&Hist::from_wire(&other.latency));
        self.latency = latency.to_wire();
        let mut seqs: BTreeMap<u64, SeqStat> = self.seqs.iter().copied().collect();
        for (seq, stat) in &other.seqs {
            seqs.entry(*seq)
                .and_modify(|s| s.add(stat))
                .or_insert(*stat);
        }
        self.seqs = seqs.into_iter().collect();
        self.closed += other.closed;
        for (code, n) in &other.close_codes {
            *self.close_codes.entry(*code).or_default() += n;
        }
        self.actions += other.actions;
        let mut actions = Hist::from_wire(&self.action_latency);
        actions.merge(&Hist::from_wire(&other.action_latency));
        self.action_latency = actions.to_wire();
        self.action_errors += other.action_errors;
        if self.action_error.is_none() {
            self.action_error.clone_from(&other.action_error);
        }
    }
}

/// Live statistics of one process.
#[derive(Default)]
pub struct Stats {
    track_seqs: bool,
    received: u64,
    negative: u64,
    first_ns: u64,
    last_ns: u64,
    latency: Hist,
    seqs: HashMap<u64, SeqStat>,
    closed: u64,
    close_codes: BTreeMap<u16, u64>,
    actions: u64,
    action_latency: Hist,
    action_errors: u64,
    action_error: Option<String>,
}

impl Stats {
    /// Statistics that keep per-commit figures when `track_seqs`.
    pub fn new(track_seqs: bool) -> Stats {
        Stats {
            track_seqs,
            ..Stats::default()
        }
    }

    /// Records one frame received at `now` (realtime ns).
    pub fn frame(&mut self, frame: &[u8], now: u64) {
        let Some(stamp) = stamp::find(frame) else {
            return;
        };
        self.received += 1;
        if self.first_ns == 0 {
            self.first_ns = now;
        }
        self.last_ns = self.last_ns.max(now);
        let latency = match now.checked_sub(stamp.ns) {
            Some(l) => l,
            None => {
                self.negative += 1;
                0
            }
        };
        self.latency.record(latency);
        if self.track_seqs {
            self.seqs
                .entry(stamp.seq)
                .and_modify(|s| {
                    s.count += 1;
                    s.min_ns = s.min_ns.min(latency);
                    s.max_ns = s.max_ns.max(latency);
                })
                .or_insert(SeqStat {
                    count: 1,
                    min_ns: latency,
                    max_ns: latency,
                });
        }
    }

    /// Records a connection the server closed.
    pub fn closed(&mut self, code: Option<u16>) {
        self.closed += 1;
        *self.close_codes.entry(code.unwrap_or(1006)).or_default() += 1;
    }

    /// Stamped frames received since the last reset.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The report since the last reset; resets.
    pub fn take(&mut self) -> Report {
        let report = Report {
            received: self.received,
            negative: self.negative,
            first_ns: self.first_ns,
            last_ns: self.last_ns,
            latency: self.latency.to_wire(),
            seqs: {
                let mut seqs: Vec<_> = self.seqs.drain().collect();
                seqs.sort_unstable_by_key(|(s, _)| *s);
                seqs
            },
            closed: self.closed,
            close_codes: self.close_codes.clone(),
            actions: self.actions,
            action_latency: self.action_latency.to_wire(),
            action_errors: self.action_errors,
            action_error: self.action_error.take(),
        };
        self.reset();
        report
    }

    /// Clears the delivery and call statistics (not the close counts).
    pub fn reset(&mut self) {
        self.received = 0;
        self.negative = 0;
        self.first_ns = 0;
        self.last_ns = 0;
        self.latency.reset();
        self.seqs.clear();
        self.actions = 0;
        self.action_latency.reset();
        self.action_errors = 0;
        self.action_error = None;
    }
}

/// Receives on `conn` until it closes, recording stamped frames.
pub async fn receive(mut conn: Conn, stats: Rc<RefCell<Stats>>) {
    loop {
        match conn.next().await {
            Ok(Incoming::Data(text)) => {
                let now = now_ns();
                stats.borrow_mut().frame(text.as_bytes(), now);
            }
            Ok(Incoming::Closed(code)) => {
                stats.borrow_mut().closed(code);
                return;
            }
            Err(_) => {
                stats.borrow_mut().closed(None);
                return;
            }
        }
    }
}

/// Opens connection `index` of `spec` and reads its initial state; returns
/// it with its time to full state.
pub async fn connect(spec: &LoadSpec, index: usize) -> Result<(Conn, Duration), String> {
    let started = Instant::now();
    let mut conn = Conn::open(
        &spec.target,
        spec.anchor_of(index),
        source_addr(spec.block, index),
        spec.read_buffer,
    )
    .await
    .map_err(|e| e.to_string())?;
    conn.read_initial().await.map_err(|e| e.to_string())?;
    Ok((conn, started.elapsed()))
}

/// Runs a load process: the body of `rxd-bench load`.
pub fn run_process(spec: LoadSpec) -> std::io::Result<()> {
    crate::sys::raise_nofile();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, drive_process(spec))
}

fn emit(line: String) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn drive_process(spec: LoadSpec) -> std::io::Result<()> {
    let stats = Rc::new(RefCell::new(Stats::new(spec.track_seqs)));
    let ready = Rc::new(RefCell::new(ReadyReport::default()));
    let mut ttfs = Hist::new();
    let gate = Rc::new(Semaphore::new(spec.concurrency.max(1)));
    // Actions: the deadline of the current GO, if any.
    let (go_tx, go_rx) = watch::channel::<Option<Instant>>(None);
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::unbounded_channel::<Result<(Duration, u64), String>>();

    ready.borrow_mut().started_ns = now_ns();
    for i in 0..spec.conns {
        let index = spec.first + i;
        let spec = spec.clone();
        let gate = gate.clone();
        let stats = stats.clone();
        let done = done_tx.clone();
        let go = go_rx.clone();
        tokio::task::spawn_local(async move {
            let permit = gate.acquire().await;
            let outcome = connect(&spec, index).await;
            drop(permit);
            let conn = match outcome {
                Ok((conn, elapsed)) => {
                    let _ = done.send(Ok((elapsed, conn.bytes)));
                    conn
                }
                Err(error) => {
                    let _ = done.send(Err(format!("connection {index}: {error}")));
                    return;
                }
            };
            match spec.mode {
                Mode::Subscribe => receive(conn, stats).await,
                Mode::Actions => actions(conn, stats, go).await,
            }
        });
    }
    drop(done_tx);

    // The connect phase.
    let mut errors = Vec::new();
    let mut finished = 0;
    while finished < spec.conns {
        let Some(outcome) = done_rx.recv().await else {
            break;
        };
        finished += 1;
        let mut r = ready.borrow_mut();
        match outcome {
            Ok((elapsed, bytes)) => {
                r.connected += 1;
                r.bytes += bytes;
                ttfs.record(elapsed.as_nanos() as u64);
            }
            Err(error) => {
                r.failed += 1;
                if errors.len() < 5 {
                    eprintln!("rxd-bench load: {error}");
                    errors.push(error);
                }
            }
        }
    }
    {
        let mut r = ready.borrow_mut();
        r.finished_ns = now_ns();
        r.ttfs = ttfs.to_wire();
        r.errors = errors;
        emit(format!(
            "READY {}",
            serde_json::to_string(&*r).unwrap_or_default()
        ));
    }
    // Deliveries before the first RESET (initial states) do not count.
    stats.borrow_mut().reset();

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("RESET") => {
                stats.borrow_mut().reset();
                emit("OK".into());
            }
            Some("PEEK") => {
                let received = stats.borrow().received();
                emit(format!("PEEK {received}"));
            }
            Some("REPORT") => {
                let report = stats.borrow_mut().take();
                emit(format!(
                    "REPORT {}",
                    serde_json::to_string(&report).unwrap_or_default()
                ));
            }
            Some("GO") => {
                let ms: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(1000);
                stats.borrow_mut().reset();
                let deadline = Instant::now() + Duration::from_millis(ms);
                let _ = go_tx.send(Some(deadline));
                tokio::time::sleep_until(deadline.into()).await;
                // Let the calls in flight finish.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let report = stats.borrow_mut().take();
                emit(format!(
                    "REPORT {}",
                    serde_json::to_string(&report).unwrap_or_default()
                ));
            }
            Some("EXIT") | None => break,
            Some(other) => emit(format!("ERR unknown command {other}")),
        }
    }
    // Closing thousands of sockets one by one is slow and measures nothing.
    std::process::exit(0);
}

/// Closed-loop calls on one connection during each `GO` window.
async fn actions(
    mut conn: Conn,
    stats: Rc<RefCell<Stats>>,
    mut go: watch::Receiver<Option<Instant>>,
) {
    loop {
        if go.changed().await.is_err() {
            return;
        }
        let Some(deadline) = *go.borrow_and_update() else {
            continue;
        };
        while Instant::now() < deadline {
            let started = Instant::now();
            match conn.call().await {
                Ok(()) => {
                    let mut s = stats.borrow_mut();
                    s.actions += 1;
                    s.action_latency.record(started.elapsed().as_nanos() as u64);
                }
                Err(error) => {
                    let mut s = stats.borrow_mut();
                    s.action_errors += 1;
                    if s.action_error.is_none() {
                        s.action_error = Some(error.to_string());
                    }
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::title;

    fn frame(ns: u64, seq: u64) -> Vec<u8> {
        format!(
            r#"{{"type":"delta","instances":[{{"title":"{}"}}]}}"#,
            title(ns, seq)
        )
        .into_bytes()
    }

    #[test]
    fn stats_record_latency_and_seqs() {
        let mut stats = Stats::new(true);
        stats.frame(&frame(1_000, 1), 3_000);
        stats.frame(&frame(1_000, 1), 5_000);
        stats.frame(&frame(2_000, 2), 2_500);
        stats.frame(br#"{"type":"pong"}"#, 9_000);
        stats.frame(&frame(10_000, 3), 9_000); // before its commit
        let report = stats.take();
        assert_eq!(report.received, 4);
        assert_eq!(report.negative, 1);
        assert_eq!(report.first_ns, 3_000);
        assert_eq!(report.last_ns, 9_000);
        let seq1 = report.seqs.iter().find(|(s, _)| *s == 1).unwrap().1;
        assert_eq!(
            seq1,
            SeqStat {
                count: 2,
                min_ns: 2_000,
                max_ns: 4_000
            }
        );
        // Taking resets.
        assert_eq!(stats.take().received, 0);
    }

    #[test]
    fn reports_merge() {
        let mut a = Stats::new(true);
        let mut b = Stats::new(true);
        a.frame(&frame(1_000, 1), 2_000);
        b.frame(&frame(1_000, 1), 4_000);
        b.frame(&frame(1_000, 2), 1_500);
        b.closed(Some(4008));
        let mut merged = a.take();
        merged.merge(&b.take());
        assert_eq!(merged.received, 3);
        assert_eq!(merged.seqs.len(), 2);
        assert_eq!(
            merged.seqs[0].1,
            SeqStat {
                count: 2,
                min_ns: 1_000,
                max_ns: 3_000
            }
        );
        assert_eq!(merged.close_codes.get(&4008), Some(&1));
        assert_eq!(Hist::from_wire(&merged.latency).len(), 3);
        assert_eq!(merged.first_ns, 2_000);
    }

    #[test]
    fn ready_reports_merge_and_rate() {
        let mut a = ReadyReport {
            connected: 100,
            started_ns: 1_000_000_000,
            finished_ns: 1_500_000_000,
            ..ReadyReport::default()
        };
        let b = ReadyReport {
            connected: 100,
            failed: 1,
            errors: vec!["x".into()],
            started_ns: 1_100_000_000,
            finished_ns: 2_000_000_000,
            ..ReadyReport::default()
        };
        a.merge(&b);
        assert_eq!(a.connected, 200);
        assert_eq!(a.failed, 1);
        assert!((a.rate() - 200.0).abs() < 1e-9);
    }

    #[test]
    fn anchors_spread_round_robin() {
        let spec = LoadSpec {
            target: Target {
                proto: crate::proto::Proto::Rxd,
                addr: "127.0.0.1:1".parse().unwrap(),
            },
            anchor_lo: 10,
            anchor_count: 3,
            first: 0,
            conns: 6,
            concurrency: 1,
            block: 1,
            read_buffer: 4096,
            track_seqs: false,
            mode: Mode::Subscribe,
        };
        let anchors: Vec<u64> = (0..6).map(|i| spec.anchor_of(i)).collect();
        assert_eq!(anchors, vec![10, 11, 12, 10, 11, 12]);
    }
}
