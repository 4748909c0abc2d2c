//! The workloads of issue 5, run for each system in turn, and their rows.

use std::time::{Duration, Instant};

use crate::drive::{subscribers, DriveMode, DriveSpec};
use crate::hist::Hist;
use crate::load::{LoadSpec, Mode, Report};
use crate::procs::{Ctx, Fleet, Server};
use crate::proto::{Conn, Target};
use crate::report::{System, Unit, Workload};
use crate::stamp::now_ns;
use crate::sys::source_addr;

/// Sizes and durations of a run.
#[derive(Debug, Clone)]
pub struct Params {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// W1: subscribers of the one anchor.
    pub w1_conns: usize,
    /// W1: single changes measured.
    pub w1_single: u64,
    /// W1: sustained phase.
    pub w1_sustain_ms: u64,
    /// W1: deliveries per second asked for.
    pub w1_delivery_rate: f64,
    /// W1: each batch-size phase.
    pub w1_batch_ms: u64,
    /// W1 variant: anchors (10 subscribers each).
    pub w1v_anchors: usize,
    /// W1 variant: saves per second.
    pub w1v_rate: f64,
    /// W1 variant: duration.
    pub w1v_ms: u64,
    /// W2: connections to the 1,000-instance tree.
    pub w2_big: usize,
    /// W2: connections to the 10-instance tree.
    pub w2_small: usize,
    /// W2: connection attempts in flight.
    pub w2_concurrency: usize,
    /// W3: idle connections.
    pub w3_conns: usize,
    /// W3: anchors.
    pub w3_anchors: usize,
    /// W3: idle CPU window.
    pub w3_idle_ms: u64,
    /// W3: wait after the burst.
    pub w3_after_ms: u64,
    /// W4: connections with a call outstanding.
    pub w4_conns: usize,
    /// W4: duration.
    pub w4_ms: u64,
    /// W4: one client alone.
    pub w4_single_ms: u64,
    /// W5: anchors (10 subscribers each).
    pub w5_anchors: usize,
    /// W5: flat-out phase.
    pub w5_max_ms: u64,
    /// W5: the 1,000 transactions/s phase.
    pub w5_rate_ms: u64,
    /// Workload 6: subscribers (spread over `w6_anchors`), the rate and
    /// length of the latency phase, the length of the throughput phase.
    pub w6_conns: usize,
    pub w6_anchors: u64,
    pub w6_rate: f64,
    pub w6_ms: u64,
    pub w6_max_ms: u64,
    /// A phase ends once deliveries stop for this long...
    pub quiet: Duration,
    /// ...or after this long: what is still missing then is counted lost.
    pub drain_max: Duration,
}

impl Params {
    /// The sizes.
    pub fn full() -> Params {
        Params {
            mode: "full",
            w1_conns: 10_000,
            w1_single: 20,
            w1_sustain_ms: 10_000,
            w1_delivery_rate: 100_000.0,
            w1_batch_ms: 5_000,
            w1v_anchors: 1_000,
            w1v_rate: 10_000.0,
            w1v_ms: 10_000,
            w2_big: 5_000,
            w2_small: 10_000,
            w2_concurrency: 64,
            w3_conns: 19_000,
            w3_anchors: 1_000,
            w3_idle_ms: 5_000,
            w3_after_ms: 10_000,
            w4_conns: 1_000,
            w4_ms: 10_000,
            w4_single_ms: 3_000,
            w5_anchors: 100,
            w5_max_ms: 10_000,
            w5_rate_ms: 10_000,
            w6_conns: 5_000,
            w6_anchors: 500,
            w6_rate: 2_000.0,
            w6_ms: 10_000,
            w6_max_ms: 10_000,
            quiet: Duration::from_secs(2),
            drain_max: Duration::from_secs(30),
        }
    }

    /// Smaller and shorter: the whole run in under five minutes. Rates
    /// stay those of the issue; connection counts and durations shrink.
    pub fn quick() -> Params {
        Params {
            mode: "quick",
            w1_conns: 1_000,
            w1_single: 5,
            w1_sustain_ms: 2_000,
            w1_delivery_rate: 100_000.0,
            w1_batch_ms: 1_000,
            w1v_anchors: 100,
            w1v_rate: 10_000.0,
            w1v_ms: 2_000,
            w2_big: 300,
            w2_small: 1_000,
            w2_concurrency: 64,
            w3_conns: 2_000,
            w3_anchors: 200,
            w3_idle_ms: 2_000,
            w3_after_ms: 3_000,
            w4_conns: 200,
            w4_ms: 2_000,
            w4_single_ms: 1_000,
            w5_anchors: 100,
            w5_max_ms: 2_000,
            w5_rate_ms: 2_000,
            w6_conns: 1_000,
            w6_anchors: 100,
            w6_rate: 2_000.0,
            w6_ms: 2_000,
            w6_max_ms: 2_000,
            quiet: Duration::from_secs(1),
            drain_max: Duration::from_secs(3),
        }
    }
}

/// Items per anchor unless a workload says otherwise.
const CHILDREN: u64 = 10;
/// How long a fleet may take to connect, per connection.
fn connect_timeout(conns: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(conns as u64 * 20)
}

fn base_spec(server: &Server, anchor_lo: u64, anchor_count: u64) -> LoadSpec {
    LoadSpec {
        target: server.target(),
        ..placeholder_spec(anchor_lo, anchor_count)
    }
}

/// A spec whose target a [`Bed`] fills in.
fn placeholder_spec(anchor_lo: u64, anchor_count: u64) -> LoadSpec {
    LoadSpec {
        target: Target {
            proto: crate::proto::Proto::Rxd,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        },
        anchor_lo,
        anchor_count,
        first: 0,
        conns: 0,
        concurrency: 64,
        block: 1,
        read_buffer: 4096,
        track_seqs: false,
        mode: Mode::Subscribe,
    }
}

/// A count with thousands separators, for descriptions.
fn n(v: impl Into<f64>) -> String {
    crate::report::format_value(v.into(), Unit::Count)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

/// Connects a fleet and checks that enough connections made it.
fn connect(
    ctx: &Ctx,
    spec: &LoadSpec,
    conns: usize,
    w: &mut Workload,
    system: System,
) -> Result<(Fleet, u64), String> {
    let mut fleet = Fleet::spawn(ctx, spec, conns)?;
    let ready = fleet.ready(connect_timeout(conns))?;
    eprintln!(
        "rxd-bench:   {}: {} connected at {:.0}/s, {} failed",
        system.name(),
        ready.connected,
        ready.rate(),
        ready.failed
    );
    if ready.connected == 0 {
        return Err(format!(
            "no connection succeeded: {}",
            ready.errors.first().cloned().unwrap_or_default()
        ));
    }
    if ready.failed > 0 {
        w.notes.push(format!(
            "{}: {} of {conns} connections failed ({})",
            system.label(),
            ready.failed,
            ready.errors.first().cloned().unwrap_or_default()
        ));
    }
    Ok((fleet, ready.connected))
}

/// A server and its connected fleet. A phase that leaves deliveries
/// behind (a peer that cannot keep up) would burn CPU in the next phase,
/// so the bed is rebuilt after it.
struct Bed<'a> {
    ctx: &'a Ctx,
    system: System,
    children: u64,
    conns: usize,
    template: LoadSpec,
    server: Option<Server>,
    fleet: Option<Fleet>,
    subs: u64,
    peak_kb: u64,
}

impl<'a> Bed<'a> {
    fn open(
        ctx: &'a Ctx,
        system: System,
        children: u64,
        conns: usize,
        template: LoadSpec,
        w: &mut Workload,
    ) -> Result<Bed<'a>, String> {
        let mut bed = Bed {
            ctx,
            system,
            children,
            conns,
            template,
            server: None,
            fleet: None,
            subs: 0,
            peak_kb: 0,
        };
        bed.start(w)?;
        Ok(bed)
    }

    fn start(&mut self, w: &mut Workload) -> Result<(), String> {
        let server = Server::start(self.ctx, self.system, self.children)?;
        let mut spec = self.template.clone();
        spec.target = server.target();
        let (fleet, subs) = connect(self.ctx, &spec, self.conns, w, self.system)?;
        self.server = Some(server);
        self.fleet = Some(fleet);
        self.subs = subs;
        Ok(())
    }

    fn server(&self) -> &Server {
        self.server
            .as_ref()
            .expect("a bed has a server between phases")
    }

    fn fleet(&mut self) -> &mut Fleet {
        self.fleet
            .as_mut()
            .expect("a bed has a fleet between phases")
    }

    /// Rebuilds the bed if the last phase left `missing` deliveries.
    fn after(&mut self, missing: u64, phase: &str, w: &mut Workload) -> Result<(), String> {
        if missing == 0 {
            return Ok(());
        }
        w.notes.push(format!(
            "{}: {missing} deliveries of the {phase} phase had not arrived when it ended; the server was restarted for the next phase.",
            self.system.label()
        ));
        self.peak_kb = self.peak();
        self.fleet = None;
        self.server = None;
        self.start(w)
    }

    /// Peak RSS over every server of the bed, KB.
    fn peak(&self) -> u64 {
        self.peak_kb
            .max(self.server.as_ref().map_or(0, |s| s.memory().1))
    }
}

/// Per-delivery latency figures and losses of one phase.
fn deliveries(
    w: &mut Workload,
    system: System,
    prefix: &str,
    report: &Report,
    expected: u64,
    p99_target: &str,
) {
    let h = Hist::from_wire(&report.latency);
    w.set(
        system,
        &format!("{prefix}: p50 latency ↓"),
        "",
        Unit::Ms,
        h.quantile(0.5) as f64,
    );
    w.set(
        system,
        &format!("{prefix}: p99 latency ↓"),
        p99_target,
        Unit::Ms,
        h.quantile(0.99) as f64,
    );
    w.set(
        system,
        &format!("{prefix}: lost deliveries ↓"),
        if p99_target.is_empty() { "" } else { "0" },
        Unit::Count,
        expected.saturating_sub(report.received) as f64,
    );
}

/// Workload 1, fan-out on one anchor: single changes, a sustained rate,
/// and a batch of 10 against a single change.
pub fn fanout(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "1. Fan-out: one anchor",
        &format!(
            "{} connections watch one anchor (10 items). *Single change*: {} changes 200 ms apart; latency is per recipient, commit to receipt; *time to reach all* is the last recipient of a change. *Sustained*: changes at {}/s (= {} deliveries/s) for {} s. *Batch*: 10 changes/s for {} s with one item per commit, then with 10 items per commit; the ratio is server CPU per commit, and every subscriber must get one frame per commit. Server CPU includes Redis for the Channels peers.",
            n(p.w1_conns as f64),
            p.w1_single,
            n(p.w1_delivery_rate / p.w1_conns as f64),
            n(p.w1_delivery_rate),
            p.w1_sustain_ms / 1000,
            p.w1_batch_ms / 1000
        ),
    );
    for &system in systems {
        if let Err(e) = fanout_one(ctx, p, system, &mut w) {
            w.fail(system, &e);
        }
    }
    w
}

fn fanout_one(ctx: &Ctx, p: &Params, system: System, w: &mut Workload) -> Result<(), String> {
    let mut template = placeholder_spec(1, 1);
    template.track_seqs = true;
    let mut bed = Bed::open(ctx, system, CHILDREN, p.w1_conns, template, w)?;
    w.set(system, "connections", "", Unit::Count, bed.subs as f64);
    let mut seq = 0;

    // Single changes.
    bed.fleet().reset()?;
    let drive = DriveSpec::rate(5.0, p.w1_single * 200, 1, 1).from_seq(seq);
    let done = bed.server().drive(&drive)?;
    seq += done.commits + 1;
    let expected = done.commits * bed.subs;
    let r = bed.fleet().drain(expected, p.quiet, p.drain_max)?;
    deliveries(w, system, "single change", &r, expected, "≤ 60 ms");
    let mut reach = Hist::new();
    for (_, s) in &r.seqs {
        reach.record(s.max_ns);
    }
    w.set(
        system,
        "single change: time to reach all, median change ↓",
        "",
        Unit::Ms,
        reach.quantile(0.5) as f64,
    );
    w.set(
        system,
        "single change: time to reach all, worst change ↓",
        "≤ 60 ms",
        Unit::Ms,
        reach.summary().max as f64,
    );
    bed.after(expected.saturating_sub(r.received), "single change", w)?;

    // Sustained.
    bed.fleet().reset()?;
    let subs = bed.subs;
    let rate = p.w1_delivery_rate / subs as f64;
    let drive = DriveSpec::rate(rate, p.w1_sustain_ms, 1, 1).from_seq(seq);
    let (cpu0, load0, start) = (bed.server().cpu(), bed.fleet().cpu(), now_ns());
    let done = bed.server().drive(&drive)?;
    seq += done.commits + 1;
    let expected = done.commits * subs;
    let r = bed.fleet().drain(expected, p.quiet, p.drain_max)?;
    let (cpu, load) = (bed.server().cpu() - cpu0, bed.fleet().cpu() - load0);
    w.set(
        system,
        "sustained: changes/s made ↑",
        "",
        Unit::PerSec,
        done.commits as f64 / (done.elapsed_ms / 1000.0),
    );
    w.set(
        system,
        "sustained: deliveries/s ↑",
        "≥ 100,000/s",
        Unit::PerSec,
        r.received_per_sec(start),
    );
    deliveries(w, system, "sustained", &r, expected, "≤ 100 ms");
    w.set(
        system,
        "sustained: server CPU per delivery ↓",
        "≤ 7 µs",
        Unit::Us,
        ns(cpu) / r.received.max(1) as f64,
    );
    w.set(
        system,
        "sustained: load-generator CPU (share of its core)",
        "",
        Unit::Percent,
        secs(load) / (r.last_ns.saturating_sub(start) as f64 / 1e9).max(1e-9),
    );
    bed.after(expected.saturating_sub(r.received), "sustained", w)?;

    // One item per commit against ten.
    let mut per_commit = [0.0f64; 2];
    for (slot, k) in [(0, 1u64), (1, 10u64)] {
        bed.fleet().reset()?;
        let drive = DriveSpec::rate(10.0, p.w1_batch_ms, 1, 1)
            .items(k, k)
            .from_seq(seq);
        let cpu0 = bed.server().cpu();
        let done = bed.server().drive(&drive)?;
        seq += done.commits + 1;
        let expected = done.commits * bed.subs;
        let r = bed.fleet().drain(expected, p.quiet, p.drain_max)?;
        per_commit[slot] = ns(bed.server().cpu() - cpu0) / done.commits.max(1) as f64;
        if k == 10 {
            w.set(
                system,
                "batch of 10: frames per subscriber per commit",
                "1",
                Unit::Ratio,
                r.received as f64 / expected.max(1) as f64,
            );
        }
        bed.after(
            expected.saturating_sub(r.received),
            &format!("{k}-item commit"),
            w,
        )?;
    }
    w.set(
        system,
        "server CPU per commit, 1 item ↓",
        "",
        Unit::Ms,
        per_commit[0],
    );
    w.set(
        system,
        "server CPU per commit, 10 items ↓",
        "",
        Unit::Ms,
        per_commit[1],
    );
    w.set(
        system,
        "batch of 10 / single change, server CPU ↓",
        "≤ 1.3×",
        Unit::Ratio,
        per_commit[1] / per_commit[0].max(1.0),
    );
    w.set(system, "peak server RSS ↓", "", Unit::Mb, bed.peak() as f64);
    Ok(())
}

/// 1 (variant). Fan-out over many anchors with few subscribers each.
pub fn fanout_many(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "1b. Fan-out: many anchors",
        &format!(
            "{} anchors × 10 subscribers ({} connections); {} saves/s round-robin over the anchors for {} s (= {} deliveries/s).",
            n(p.w1v_anchors as f64),
            n(p.w1v_anchors as f64 * 10.0),
            n(p.w1v_rate),
            p.w1v_ms / 1000,
            n(p.w1v_rate * 10.0)
        ),
    );
    for &system in systems {
        if let Err(e) = fanout_many_one(ctx, p, system, &mut w) {
            w.fail(system, &e);
        }
    }
    w
}

fn fanout_many_one(ctx: &Ctx, p: &Params, system: System, w: &mut Workload) -> Result<(), String> {
    let server = Server::start(ctx, system, CHILDREN)?;
    let anchors = p.w1v_anchors as u64;
    let conns = p.w1v_anchors * 10;
    let spec = base_spec(&server, 1, anchors);
    let (mut fleet, _) = connect(ctx, &spec, conns, w, system)?;
    fleet.reset()?;
    let drive = DriveSpec::rate(p.w1v_rate, p.w1v_ms, 1, anchors);
    let (cpu0, start) = (server.cpu(), now_ns());
    let done = server.drive(&drive)?;
    let expected =
        drive.expected_deliveries(done.commits, |a| subscribers(conns as u64, 1, anchors, a));
    let r = fleet.drain(expected, p.quiet, p.drain_max)?;
    let cpu = server.cpu() - cpu0;
    w.set(
        system,
        "saves/s made ↑",
        "10,000/s",
        Unit::PerSec,
        done.commits as f64 / (done.elapsed_ms / 1000.0),
    );
    w.set(
        system,
        "deliveries/s ↑",
        "",
        Unit::PerSec,
        r.received_per_sec(start),
    );
    deliveries(w, system, "per delivery", &r, expected, "≤ 20 ms");
    w.set(
        system,
        "server CPU per save ↓",
        "",
        Unit::Us,
        ns(cpu) / done.commits.max(1) as f64,
    );
    w.set(
        system,
        "server CPU per delivery ↓",
        "",
        Unit::Us,
        ns(cpu) / r.received.max(1) as f64,
    );
    w.set(
        system,
        "peak server RSS ↓",
        "",
        Unit::Mb,
        server.memory().1 as f64,
    );
    Ok(())
}

/// 2. Connect storm: connect, authenticate and receive the full state.
pub fn storm(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "2. Connect storm",
        &format!(
            "Clients open a TCP connection, upgrade, authenticate and read the whole initial state of one anchor, {} attempts in flight; connections stay open. *Large*: a 1,000-instance tree (~300 KB), {} clients. *Small*: a 10-instance tree, {} clients. Time to full state runs from the TCP connect to the last byte of the state. The anchor is cold for the first client.",
            p.w2_concurrency,
            n(p.w2_big as f64),
            n(p.w2_small as f64)
        ),
    );
    for &system in systems {
        for (label, children, conns, target_rate) in [
            ("large", 1_000u64, p.w2_big, "≥ 2,000/s"),
            ("small", 10u64, p.w2_small, "≥ 8,000/s"),
        ] {
            if let Err(e) = storm_one(ctx, p, system, &mut w, label, children, conns, target_rate) {
                w.notes
                    .push(format!("{} ({label} tree): {e}", system.label()));
            }
        }
    }
    w
}

#[allow(clippy::too_many_arguments)]
fn storm_one(
    ctx: &Ctx,
    p: &Params,
    system: System,
    w: &mut Workload,
    label: &str,
    children: u64,
    conns: usize,
    target_rate: &str,
) -> Result<(), String> {
    let server = Server::start(ctx, system, children)?;
    let mut spec = base_spec(&server, 1, 1);
    spec.concurrency = p.w2_concurrency;
    // tungstenite zero-fills the free part of its read buffer, up to this
    // size, before every read: at 64 KiB that memset (and its page faults)
    // made the load generator, not the server, the limit of the storm.
    // 16 KiB is the size of rxd's initial-state frames.
    spec.read_buffer = 16 * 1024;
    let cpu0 = server.cpu();
    let mut fleet = Fleet::spawn(ctx, &spec, conns)?;
    let ready = fleet.ready(connect_timeout(conns))?;
    let cpu = server.cpu() - cpu0;
    let load = fleet.cpu();
    drop(fleet);
    if ready.failed > 0 {
        w.notes.push(format!(
            "{} ({label} tree): {} of {conns} connections failed ({})",
            system.label(),
            ready.failed,
            ready.errors.first().cloned().unwrap_or_default()
        ));
    }
    let ttfs = Hist::from_wire(&ready.ttfs);
    w.set(
        system,
        &format!("{label}: connections/s ↑"),
        target_rate,
        Unit::PerSec,
        ready.rate(),
    );
    w.set(
        system,
        &format!("{label}: p50 time to full state ↓"),
        "",
        Unit::Ms,
        ttfs.quantile(0.5) as f64,
    );
    w.set(
        system,
        &format!("{label}: p99 time to full state ↓"),
        if children >= 1_000 { "≤ 200 ms" } else { "" },
        Unit::Ms,
        ttfs.quantile(0.99) as f64,
    );
    w.set(
        system,
        &format!("{label}: server CPU per connect ↓"),
        if children >= 1_000 { "≤ 250 µs" } else { "" },
        Unit::Us,
        ns(cpu) / ready.connected.max(1) as f64,
    );
    w.set(
        system,
        &format!("{label}: initial state received per client"),
        "",
        Unit::Kb,
        ready.bytes as f64 / ready.connected.max(1) as f64 / 1024.0,
    );
    let span = ready.finished_ns.saturating_sub(ready.started_ns) as f64 / 1e9;
    w.set(
        system,
        &format!("{label}: load-generator CPU (share of its core)"),
        "",
        Unit::Percent,
        secs(load) / span.max(1e-9),
    );
    w.set(
        system,
        &format!("{label}: peak server RSS ↓"),
        "",
        Unit::Mb,
        server.memory().1 as f64,
    );
    Ok(())
}

/// 3. Idle memory per connection, and memory after a burst.
pub fn idle(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "3. Idle memory",
        &format!(
            "{} subscribed connections over {} anchors of 10 items, in one server process. RSS per connection = (RSS with every connection idle − RSS before the first) / connections. Idle CPU over {} s. Then a burst (5 changes to every anchor within a second), and RSS {} s later against the idle RSS.",
            n(p.w3_conns as f64),
            n(p.w3_anchors as f64),
            p.w3_idle_ms / 1000,
            p.w3_after_ms / 1000
        ),
    );
    for &system in systems {
        if let Err(e) = idle_one(ctx, p, system, &mut w) {
            w.fail(system, &e);
        }
    }
    w
}

fn idle_one(ctx: &Ctx, p: &Params, system: System, w: &mut Workload) -> Result<(), String> {
    let server = Server::start(ctx, system, CHILDREN)?;
    std::thread::sleep(Duration::from_millis(500));
    let before = server.memory().0;
    let anchors = p.w3_anchors as u64;
    let spec = base_spec(&server, 1, anchors);
    let (mut fleet, subs) = connect(ctx, &spec, p.w3_conns, w, system)?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = server.memory().0;
    let cpu0 = server.cpu();
    std::thread::sleep(Duration::from_millis(p.w3_idle_ms));
    let idle_cpu = server.cpu() - cpu0;
    w.set(system, "connections", "19,000", Unit::Count, subs as f64);
    w.set(
        system,
        "server RSS per idle connection ↓",
        "≤ 10 KB (aim 6)",
        Unit::Kb,
        idle_rss.saturating_sub(before) as f64 / subs.max(1) as f64,
    );
    w.set(system, "server RSS, idle ↓", "", Unit::Mb, idle_rss as f64);
    w.set(
        system,
        "idle server CPU (share of a core) ↓",
        "",
        Unit::Percent,
        secs(idle_cpu) / (p.w3_idle_ms as f64 / 1000.0),
    );
    fleet.reset()?;
    let drive = DriveSpec::rate(anchors as f64 * 5.0, 1_000, 1, anchors);
    let done = server.drive(&drive)?;
    let expected = drive.expected_deliveries(done.commits, |a| subscribers(subs, 1, anchors, a));
    let r = fleet.drain(expected, p.quiet, p.drain_max)?;
    w.set(
        system,
        "burst: lost deliveries ↓",
        "0",
        Unit::Count,
        expected.saturating_sub(r.received) as f64,
    );
    std::thread::sleep(Duration::from_millis(p.w3_after_ms));
    let (after, peak) = server.memory();
    w.set(
        system,
        "RSS after the burst / idle RSS ↓",
        "≤ 1.10×",
        Unit::Ratio,
        after as f64 / idle_rss.max(1) as f64,
    );
    w.set(system, "peak server RSS ↓", "", Unit::Mb, peak as f64);
    Ok(())
}

/// Whether an rxd server answers a call with a reply (actions landed and
/// the bench channel has its `echo` action).
fn probe_call(target: Target) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let mut conn = Conn::open(&target, 1, source_addr(9, 1), 4096)
            .await
            .map_err(|e| e.to_string())?;
        conn.read_initial().await.map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(5), conn.call())
            .await
            .map_err(|_| "no answer to a call".to_owned())?
            .map_err(|e| e.to_string())
    })
}

/// 4. Actions: closed-loop calls.
pub fn actions(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "4. Actions",
        &format!(
            "{} connections, each with one call outstanding (closed loop) for {} s; then one client alone for {} s. The action echoes its two arguments; the round trip is measured by the client.",
            n(p.w4_conns as f64),
            p.w4_ms / 1000,
            p.w4_single_ms / 1000
        ),
    );
    for &system in systems {
        if let Err(e) = actions_one(ctx, p, system, &mut w) {
            w.fail(system, &e);
        }
    }
    w
}

const ACTION_ROWS: [(&str, &str, Unit); 5] = [
    ("actions/s ↑", "≥ 60,000/s", Unit::PerSec),
    ("p50 round trip ↓", "", Unit::Ms),
    ("p99 round trip ↓", "≤ 5 ms", Unit::Ms),
    ("server CPU per action ↓", "", Unit::Us),
    ("one client alone: p50 round trip ↓", "≤ 100 µs", Unit::Us),
];

fn actions_one(ctx: &Ctx, p: &Params, system: System, w: &mut Workload) -> Result<(), String> {
    let server = Server::start(ctx, system, CHILDREN)?;
    if system == System::Rxd {
        if let Err(e) = probe_call(server.target()) {
            for (name, target, unit) in ACTION_ROWS {
                w.set_text(system, name, target, unit, "not yet available");
            }
            w.notes.push(format!(
                "rxd: actions not yet available in the bench server ({e})"
            ));
            return Ok(());
        }
    }
    let mut spec = base_spec(&server, 1, 100);
    spec.mode = Mode::Actions;
    let (mut fleet, _) = connect(ctx, &spec, p.w4_conns, w, system)?;
    let (cpu0, load0) = (server.cpu(), fleet.cpu());
    let r = fleet.go(p.w4_ms)?;
    let (cpu, load) = (server.cpu() - cpu0, fleet.cpu() - load0);
    drop(fleet);
    if let Some(e) = &r.action_error {
        w.notes.push(format!(
            "{}: {} calls failed ({e})",
            system.label(),
            r.action_errors
        ));
    }
    let h = Hist::from_wire(&r.action_latency);
    w.set(
        system,
        "actions/s ↑",
        "≥ 60,000/s",
        Unit::PerSec,
        r.actions as f64 / (p.w4_ms as f64 / 1000.0),
    );
    w.set(
        system,
        "p50 round trip ↓",
        "",
        Unit::Ms,
        h.quantile(0.5) as f64,
    );
    w.set(
        system,
        "p99 round trip ↓",
        "≤ 5 ms",
        Unit::Ms,
        h.quantile(0.99) as f64,
    );
    w.set(
        system,
        "server CPU per action ↓",
        "",
        Unit::Us,
        ns(cpu) / r.actions.max(1) as f64,
    );
    w.set(
        system,
        "load-generator CPU (share of its core)",
        "",
        Unit::Percent,
        secs(load) / (p.w4_ms as f64 / 1000.0),
    );
    let mut single = base_spec(&server, 1, 1);
    single.mode = Mode::Actions;
    let (mut fleet, _) = connect(ctx, &single, 1, w, system)?;
    let r = fleet.go(p.w4_single_ms)?;
    let h = Hist::from_wire(&r.action_latency);
    w.set(
        system,
        "one client alone: p50 round trip ↓",
        "≤ 100 µs",
        Unit::Us,
        h.quantile(0.5) as f64,
    );
    Ok(())
}

/// 5. Hub throughput and commit-to-first-delta latency.
pub fn hub(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "5. Hub throughput",
        &format!(
            "{} anchors × 10 subscribers. Transactions of 1–10 items of one anchor (round-robin over anchors). *Flat out*: commits back to back for {} s (the driver yields between commits). *At 1,000 tx/s* for {} s: commit to the first delta of each transaction. *Checks* (rxd only, peers have no batches): k = 5 saves of one instance in one batch give one delta per subscriber; a dropped batch gives none.",
            p.w5_anchors,
            p.w5_max_ms / 1000,
            p.w5_rate_ms / 1000
        ),
    );
    for &system in systems {
        if let Err(e) = hub_one(ctx, p, system, &mut w) {
            w.fail(system, &e);
        }
    }
    w
}

fn hub_one(ctx: &Ctx, p: &Params, system: System, w: &mut Workload) -> Result<(), String> {
    let anchors = p.w5_anchors as u64;
    let conns = p.w5_anchors * 10;
    let mut template = placeholder_spec(1, anchors);
    template.track_seqs = true;
    let mut bed = Bed::open(ctx, system, CHILDREN, conns, template, w)?;
    let mut seq = 0;

    // Flat out.
    bed.fleet().reset()?;
    let subs = bed.subs;
    let subs_of = |a| subscribers(subs, 1, anchors, a);
    let drive = DriveSpec::rate(0.0, p.w5_max_ms, 1, anchors)
        .items(1, 10)
        .mode(DriveMode::Max);
    let (cpu0, start) = (bed.server().cpu(), now_ns());
    let done = bed.server().drive(&drive)?;
    seq += done.commits + 1;
    let expected = drive.expected_deliveries(done.commits, subs_of);
    let r = bed.fleet().drain(expected, p.quiet, p.drain_max)?;
    let cpu = bed.server().cpu() - cpu0;
    let elapsed = done.elapsed_ms / 1000.0;
    w.set(
        system,
        "flat out: changed instances/s committed ↑",
        "≥ 50,000/s",
        Unit::PerSec,
        done.instances as f64 / elapsed,
    );
    w.set(
        system,
        "flat out: transactions/s ↑",
        "",
        Unit::PerSec,
        done.commits as f64 / elapsed,
    );
    w.set(
        system,
        "flat out: deliveries/s ↑",
        "",
        Unit::PerSec,
        r.received_per_sec(start),
    );
    w.set(
        system,
        "flat out: lost deliveries ↓",
        "0",
        Unit::Count,
        expected.saturating_sub(r.received) as f64,
    );
    w.set(
        system,
        "flat out: server CPU per changed instance ↓",
        "",
        Unit::Us,
        ns(cpu) / done.instances.max(1) as f64,
    );
    bed.after(expected.saturating_sub(r.received), "flat-out", w)?;

    // 1,000 transactions/s.
    bed.fleet().reset()?;
    let subs = bed.subs;
    let subs_of = |a| subscribers(subs, 1, anchors, a);
    let drive = DriveSpec::rate(1_000.0, p.w5_rate_ms, 1, anchors)
        .items(1, 10)
        .from_seq(seq);
    let done = bed.server().drive(&drive)?;
    seq += done.commits + 1;
    let expected = drive.expected_deliveries(done.commits, subs_of);
    let r = bed.fleet().drain(expected, p.quiet, p.drain_max)?;
    let mut first = Hist::new();
    for (_, s) in &r.seqs {
        first.record(s.min_ns);
    }
    w.set(
        system,
        "1,000 tx/s: transactions/s made ↑",
        "1,000/s",
        Unit::PerSec,
        done.commits as f64 / (done.elapsed_ms / 1000.0),
    );
    w.set(
        system,
        "1,000 tx/s: p50 commit to first delta ↓",
        "",
        Unit::Ms,
        first.quantile(0.5) as f64,
    );
    w.set(
        system,
        "1,000 tx/s: p99 commit to first delta ↓",
        "≤ 5 ms",
        Unit::Ms,
        first.quantile(0.99) as f64,
    );
    deliveries(w, system, "1,000 tx/s, per delivery", &r, expected, "");

    // Checks.
    const KEPT: &str = "check: 5 saves of one instance in a batch → deltas per subscriber";
    const DROPPED: &str = "check: dropped batch → deltas";
    if system == System::Rxd {
        bed.fleet().reset()?;
        let drive = DriveSpec::rate(0.0, 0, 1, anchors)
            .items(5, 5)
            .mode(DriveMode::Check)
            .from_seq(seq);
        bed.server().drive(&drive)?;
        let subs1 = subs_of(1);
        let r = bed
            .fleet()
            .drain(subs1, Duration::from_millis(500), Duration::from_secs(5))?;
        // Anything late would show up here too.
        std::thread::sleep(Duration::from_millis(200));
        let late = bed.fleet().report()?;
        let count = |s: u64| {
            r.seqs
                .iter()
                .chain(late.seqs.iter())
                .filter(|(q, _)| *q == s)
                .map(|(_, st)| st.count)
                .sum::<u64>()
        };
        let (kept, dropped) = (count(seq), count(seq + 1));
        w.set_text(
            system,
            KEPT,
            "exactly 1",
            Unit::Count,
            &if kept == subs1 {
                "ok: 1".to_owned()
            } else {
                format!("FAILED: {kept} frames for {subs1} subscribers")
            },
        );
        w.set_text(
            system,
            DROPPED,
            "0",
            Unit::Count,
            &if dropped == 0 {
                "ok: 0".to_owned()
            } else {
                format!("FAILED: {dropped}")
            },
        );
    } else {
        w.set_text(system, KEPT, "", Unit::Count, "n/a");
        w.set_text(system, DROPPED, "", Unit::Count, "n/a");
    }
    w.set(system, "peak server RSS ↓", "", Unit::Mb, bed.peak() as f64);
    Ok(())
}

/// Workload 6, two processes through Redis: subscribers on one server
/// process, changes committed on another, against the same subscribers
/// and changes on one process alone (its default setup: rxd's in-memory
/// broker, Socket.IO without an adapter, Channels on its Redis layer).
pub fn two_processes(ctx: &Ctx, p: &Params, systems: &[System]) -> Workload {
    let mut w = Workload::new(
        "6. Two processes through Redis",
        &format!(
            "Two server processes share changes through Redis (rxd's Redis broker; Socket.IO's Redis adapter; Channels' layer with one prefix). {} subscribers on process B over {} anchors; process A commits {} changes/s for {:.0} s (each change reaches its anchor's {} subscribers), then as fast as {} concurrent writers can for {:.0} s to one subscriber per anchor (Socket.IO's emits are synchronous: one writer). *Added latency* is the cross-process figure minus the same phase on one process in its default setup. Redis connections are counted with `INFO clients` before and after the subscribers connect.",
            n(p.w6_conns as f64),
            n(p.w6_anchors as f64),
            n(p.w6_rate),
            p.w6_ms as f64 / 1000.0,
            n((p.w6_conns as u64 / p.w6_anchors.max(1)) as f64),
            W6_WRITERS,
            p.w6_max_ms as f64 / 1000.0,
        ),
    );
    w.notes.push(
        "Channels' one-process setup already goes through Redis and falls behind at 2,000 changes/s, so its added latency compares two overloaded runs (hence negative figures).".into(),
    );
    for &system in systems {
        eprintln!("rxd-bench: workload 6, {}", system.name());
        if let Err(e) = two_processes_one(ctx, p, system, &mut w) {
            w.fail(system, &e);
        }
    }
    w
}

/// Concurrent writers of workload 6's throughput phase: a process serving
/// many requests commits many changes at once.
const W6_WRITERS: u64 = 64;

/// `connected_clients` of the local Redis, through `redis-cli`.
fn redis_clients() -> Option<u64> {
    let out = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379", "INFO", "clients"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.trim().parse().ok())
}

/// One latency phase: `rate` changes/s over `anchors` for `ms`, committed
/// on `driver`, received by `fleet`; returns the delivery report and what
/// was expected.
fn latency_phase(
    driver: &Server,
    fleet: &mut Fleet,
    per_anchor: u64,
    p: &Params,
    seq: u64,
) -> Result<(Report, u64, u64), String> {
    fleet.reset()?;
    let drive = DriveSpec::rate(p.w6_rate, p.w6_ms, 1, p.w6_anchors).from_seq(seq);
    let done = driver.drive(&drive)?;
    let expected = done.commits * per_anchor;
    let report = fleet.drain(expected, p.quiet, p.drain_max)?;
    Ok((report, expected, done.commits + 1))
}

fn two_processes_one(
    ctx: &Ctx,
    p: &Params,
    system: System,
    w: &mut Workload,
) -> Result<(), String> {
    let per_anchor = (p.w6_conns as u64 / p.w6_anchors.max(1)).max(1);
    let conns = (per_anchor * p.w6_anchors) as usize;
    let quantiles = |r: &Report| {
        let h = Hist::from_wire(&r.latency);
        (h.quantile(0.5) as f64, h.quantile(0.99) as f64)
    };

    // One process, its default setup.
    let (base, seq) = {
        let server = Server::start(ctx, system, CHILDREN)?;
        let (mut fleet, _) = connect(ctx, &base_spec(&server, 1, p.w6_anchors), conns, w, system)?;
        let (r, _, seq) = latency_phase(&server, &mut fleet, per_anchor, p, 0)?;
        (quantiles(&r), seq)
    };

    // Two processes sharing Redis: commits on A, subscribers on B.
    let namespace = format!("rxdbench6-{}-{}", std::process::id(), ctx.next());
    let before = redis_clients();
    let a = Server::start_shared(ctx, system, CHILDREN, &namespace)?;
    let b = Server::start_shared(ctx, system, CHILDREN, &namespace)?;
    // Give the processes' Redis connections time to open.
    std::thread::sleep(Duration::from_millis(500));
    let servers_only = redis_clients();
    let (mut fleet, subs) = connect(ctx, &base_spec(&b, 1, p.w6_anchors), conns, w, system)?;
    std::thread::sleep(Duration::from_millis(500));
    let with_subscribers = redis_clients();
    w.set(
        system,
        "subscribers on process B",
        "",
        Unit::Count,
        subs as f64,
    );
    let (r, expected, seq) = latency_phase(&a, &mut fleet, per_anchor, p, seq)?;
    let (p50, p99) = quantiles(&r);
    w.set(system, "cross-process p50 latency ↓", "", Unit::Ms, p50);
    w.set(system, "cross-process p99 latency ↓", "", Unit::Ms, p99);
    w.set(system, "one-process p50 latency ↓", "", Unit::Ms, base.0);
    w.set(system, "one-process p99 latency ↓", "", Unit::Ms, base.1);
    w.set(
        system,
        "added p50 latency ↓",
        "≤ 0.3 ms",
        Unit::Ms,
        p50 - base.0,
    );
    w.set(
        system,
        "added p99 latency ↓",
        "≤ 1.5 ms",
        Unit::Ms,
        p99 - base.1,
    );
    w.set(
        system,
        "cross-process lost deliveries ↓",
        "0",
        Unit::Count,
        expected.saturating_sub(r.received) as f64,
    );
    drop(fleet);

    // Throughput: one subscriber per anchor, A commits as fast as it can.
    let (mut fleet, _) = connect(
        ctx,
        &base_spec(&b, 1, p.w6_anchors),
        p.w6_anchors as usize,
        w,
        system,
    )?;
    fleet.reset()?;
    let start = now_ns();
    let drive = DriveSpec::rate(0.0, p.w6_max_ms, 1, p.w6_anchors)
        .from_seq(seq)
        .mode(DriveMode::Max)
        .writers(W6_WRITERS);
    let done = a.drive(&drive)?;
    let r = fleet.drain(done.commits, p.quiet, p.drain_max)?;
    w.set(
        system,
        "changes/s committed on A ↑",
        "",
        Unit::PerSec,
        done.commits as f64 / (done.elapsed_ms / 1000.0).max(1e-9),
    );
    w.set(
        system,
        "cross-process changes/s received on B ↑",
        "≥ 50,000/s",
        Unit::PerSec,
        r.received_per_sec(start),
    );
    w.set(
        system,
        "throughput phase: lost changes ↓",
        "0",
        Unit::Count,
        done.commits.saturating_sub(r.received) as f64,
    );
    match (before, servers_only, with_subscribers) {
        (Some(before), Some(servers), Some(after)) => {
            w.set(
                system,
                "Redis connections of the two processes",
                "",
                Unit::Count,
                servers.saturating_sub(before) as f64,
            );
            w.set(
                system,
                "Redis connections added by the subscribers ↓",
                "0",
                Unit::Count,
                after.saturating_sub(servers) as f64,
            );
        }
        _ => w
            .notes
            .push("redis-cli INFO clients did not answer: Redis connections not counted.".into()),
    }
    Ok(())
}

/// Runs the chosen workloads.
pub fn run(ctx: &Ctx, p: &Params, systems: &[System], which: &[u8]) -> Vec<Workload> {
    let mut out = Vec::new();
    let wants = |n: u8| which.is_empty() || which.contains(&n);
    let timed = |name: &str, f: &mut dyn FnMut() -> Workload| -> Workload {
        let started = Instant::now();
        eprintln!("rxd-bench: == {name}");
        let w = f();
        eprintln!("rxd-bench: {name} took {:.0?}", started.elapsed());
        w
    };
    if wants(1) {
        out.push(timed("1. fan-out, one anchor", &mut || {
            fanout(ctx, p, systems)
        }));
        out.push(timed("1b. fan-out, many anchors", &mut || {
            fanout_many(ctx, p, systems)
        }));
    }
    if wants(2) {
        out.push(timed("2. connect storm", &mut || storm(ctx, p, systems)));
    }
    if wants(3) {
        out.push(timed("3. idle memory", &mut || idle(ctx, p, systems)));
    }
    if wants(4) {
        out.push(timed("4. actions", &mut || actions(ctx, p, systems)));
    }
    if wants(5) {
        out.push(timed("5. hub throughput", &mut || hub(ctx, p, systems)));
    }
    if wants(6) {
        out.push(two_processes(ctx, p, systems));
    }
    out
}
