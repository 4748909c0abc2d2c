//! Prometheus metrics of one app, rendered in the text exposition format
//! (version 0.0.4).
//!
//! Each [`App`](crate::App) owns its own set (not a process-wide static),
//! so several apps in one process, as in tests, never mix their counts.
//! Everything on a hot path is a relaxed atomic add; the socket byte and
//! frame counts are summed per connection and added once per flush, so the
//! hub's delivery to thousands of connections takes no shared lock and no
//! extra atomic per subscriber. The names are listed in `docs/DEPLOY.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A monotonically increasing count.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn inc(&self) {
        self.add(1);
    }

    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the latency buckets: 0.5 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with fixed buckets. Each observation is two atomic
/// adds and a short scan of the bounds.
pub(crate) struct Histogram {
    /// Non-cumulative counts per bucket; the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub(crate) fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "histogram");
        let mut cumulative = 0;
        for (i, count) in self.buckets.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// How an action call ended, the `outcome` label of
/// `rxd_actions_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered a value.
    Ok,
    /// The action returned an error with its own code (`not_found`, ...).
    Error,
    /// The action returned `internal` (a `?` on a server error).
    Internal,
    /// The action panicked (answered `internal`).
    Panic,
    /// Never ran: unknown action, bad arguments, a malformed call, too many
    /// calls in flight, or the server is shutting down.
    Rejected,
}

impl Outcome {
    const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Internal,
        Outcome::Panic,
        Outcome::Rejected,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Internal => "internal",
            Outcome::Panic => "panic",
            Outcome::Rejected => "rejected",
        }
    }

    /// The outcome of an action that ran to its end without panicking.
    pub(crate) fn of<T>(result: &Result<T, crate::ActionError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(error) => match error.code.as_str() {
                "internal" => Outcome::Internal,
                // Raised by the generated dispatch before the body runs.
                "bad_arguments" | "unknown_action" => Outcome::Rejected,
                _ => Outcome::Error,
            },
        }
    }
}

/// The counters of one app. Owned by its hub.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) connections_opened: Counter,
    /// Closes by label: a server close code, or `client`.
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
    pub(crate) frames_in: Counter,
    pub(crate) bytes_in: Counter,
    pub(crate) frames_out: Counter,
    pub(crate) bytes_out: Counter,
    actions: [Counter; Outcome::ALL.len()],
    action_seconds: Histogram,
    pub(crate) batches_committed: Counter,
    pub(crate) batch_instances: Counter,
    pub(crate) batches_failed: Counter,
    pub(crate) commit_seconds: Histogram,
    pub(crate) events_applied: Counter,
    pub(crate) anchor_loads: Counter,
}

impl Metrics {
    /// Counts a closed connection. `code` is the server's close code, or
    /// `None` when the client closed or went away.
    pub(crate) fn closed(&self, code: Option<u16>) {
        let label = code.map_or("client", close_label);
        *self.connections_closed.lock().entry(label).or_default() += 1;
    }

    /// Counts an action call; `elapsed` is its run time, `None` for one
    /// that never ran.
    pub(crate) fn action(&self, outcome: Outcome, elapsed: Option<Duration>) {
        self.actions[outcome as usize].inc();
        if let Some(elapsed) = elapsed {
            self.action_seconds.observe(elapsed);
        }
    }

    /// The exposition; `gauges` are read by the caller when scraped.
    pub(crate) fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(4096);
        gauge(
            &mut out,
            "rxd_connections_open",
            "WebSocket connections open now.",
            gauges.connections_open,
        );
        counter(
            &mut out,
            "rxd_connections_opened_total",
            "WebSocket connections accepted.",
            self.connections_opened.get(),
        );
        header(
            &mut out,
            "rxd_connections_closed_total",
            "WebSocket connections ended, by the server's close code (client: the client closed or went away).",
            "counter",
        );
        for (code, count) in self.connections_closed.lock().iter() {
            let _ = writeln!(
                out,
                "rxd_connections_closed_total{{code=\"{code}\"}} {count}"
            );
        }
        counter(
            &mut out,
            "rxd_frames_in_total",
            "WebSocket messages received from clients.",
            self.frames_in.get(),
        );
        counter(
            &mut out,
            "rxd_bytes_in_total",
            "Payload bytes received from clients.",
            self.bytes_in.get(),
        );
        counter(
            &mut out,
            "rxd_frames_out_total",
            "WebSocket messages written to clients.",
            self.frames_out.get(),
        );
        counter(
            &mut out,
            "rxd_bytes_out_total",
            "Payload bytes written to clients.",
            self.bytes_out.get(),
        );
        header(
            &mut out,
            "rxd_actions_total",
            "Action calls, by outcome (ok, error, internal, panic, rejected).",
            "counter",
        );
        for outcome in Outcome::ALL {
            let _ = writeln!(
                out,
                "rxd_actions_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.actions[outcome as usize].get()
            );
        }
        self.action_seconds.render(
            &mut out,
            "rxd_action_duration_seconds",
            "Run time of the action calls that ran.",
        );
        counter(
            &mut out,
            "rxd_batches_committed_total",
            "Batches committed by this process.",
            self.batches_committed.get(),
        );
        counter(
            &mut out,
            "rxd_batch_instances_total",
            "Instances saved or deleted by the committed batches.",
            self.batch_instances.get(),
        );
        counter(
            &mut out,
            "rxd_batches_failed_total",
            "Batches whose commit failed (the broker could not order them).",
            self.batches_failed.get(),
        );
        self.commit_seconds.render(
            &mut out,
            "rxd_batch_commit_duration_seconds",
            "From commit() to the event's delivery to this process's hub: the broker's lag.",
        );
        counter(
            &mut out,
            "rxd_hub_events_applied_total",
            "Change events of the deployment applied by this process's hub.",
            self.events_applied.get(),
        );
        counter(
            &mut out,
            "rxd_anchor_loads_total",
            "Cold loads: anchors loaded from the database because none was hot.",
            self.anchor_loads.get(),
        );
        gauge(
            &mut out,
            "rxd_anchors_hot",
            "Anchors held hot in this process.",
            gauges.anchors_hot,
        );
        counter(
            &mut out,
            "rxd_broker_reconnects_total",
            "Times the broker lost its connection to its server (Redis) and began reconnecting.",
            gauges.broker_reconnects,
        );
        counter(
            &mut out,
            "rxd_broker_resyncs_total",
            "Times the broker lost events and the hub dropped its hot anchors.",
            gauges.broker_resyncs,
        );
        out
    }
}

/// Values read from their owners when scraped.
pub(crate) struct Gauges {
    pub(crate) connections_open: u64,
    pub(crate) anchors_hot: u64,
    pub(crate) broker_reconnects: u64,
    pub(crate) broker_resyncs: u64,
}

fn close_label(code: u16) -> &'static str {
    // Labels must be few: the codes of docs/PROTOCOL.md, anything else
    // "other".
    match code {
        1001 => "1001",
        4001 => "4001",
        4002 => "4002",
        4003 => "4003",
        4004 => "4004",
        4008 => "4008",
        4009 => "4009",
        4010 => "4010",
        4011 => "4011",
        4029 => "4029",
        4030 => "4030",
        _ => "other",
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "gauge");
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets_sum_and_count() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "help");
        assert!(out.contains("x_seconds_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_count 3\n"), "{out}");
        assert!(out.contains("x_seconds_sum 60.0033\n"), "{out}");
        assert!(out.contains("# TYPE x_seconds histogram\n"), "{out}");
    }

    #[test]
    fn closes_are_labelled_by_code_and_unknown_codes_fold_into_other() {
        let m = Metrics::default();
        m.closed(Some(4008));
        m.closed(Some(4008));
        m.closed(None);
        m.closed(Some(4999));
        let gauges = Gauges {
            connections_open: 0,
            anchors_hot: 0,
            broker_reconnects: 0,
            broker_resyncs: 0,
        };
        let text = m.render(&gauges);
        assert!(text.contains("rxd_connections_closed_total{code=\"4008\"} 2\n"));
        assert!(text.contains("rxd_connections_closed_total{code=\"client\"} 1\n"));
        assert!(text.contains("rxd_connections_closed_total{code=\"other\"} 1\n"));
    }
}
