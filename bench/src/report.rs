//! Results: figures per workload and system, and their Markdown in
//! `bench/RESULTS.md` (tables, machine, date, and a History section that
//! survives every rewrite).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// A system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// rxd, in-memory broker.
    Rxd,
    /// Socket.IO 4 on Node, rooms.
    SocketIo,
    /// Django Channels on daphne, `channels_redis.core.RedisChannelLayer`.
    ChannelsCore,
    /// Django Channels on daphne, `channels_redis.pubsub.RedisPubSubChannelLayer`.
    ChannelsPubSub,
}

impl System {
    /// Every system, rxd first.
    pub const ALL: [System; 4] = [
        System::Rxd,
        System::SocketIo,
        System::ChannelsCore,
        System::ChannelsPubSub,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            System::Rxd => "rxd",
            System::SocketIo => "socketio",
            System::ChannelsCore => "channels-core",
            System::ChannelsPubSub => "channels-pubsub",
        }
    }

    /// Column header.
    pub fn label(self) -> &'static str {
        match self {
            System::Rxd => "rxd",
            System::SocketIo => "Socket.IO 4",
            System::ChannelsCore => "Channels (RedisChannelLayer)",
            System::ChannelsPubSub => "Channels (RedisPubSubChannelLayer)",
        }
    }

    /// Short label for ratio columns.
    pub fn short(self) -> &'static str {
        match self {
            System::Rxd => "rxd",
            System::SocketIo => "SIO",
            System::ChannelsCore => "Ch-core",
            System::ChannelsPubSub => "Ch-pubsub",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<System> {
        System::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How a figure is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// A duration given in nanoseconds, shown in ms.
    Ms,
    /// A duration given in nanoseconds, shown in µs.
    Us,
    /// A rate per second.
    PerSec,
    /// A count.
    Count,
    /// Kilobytes (given in KB).
    Kb,
    /// Megabytes (given in KB).
    Mb,
    /// A plain ratio.
    Ratio,
    /// Percent (given as a fraction).
    Percent,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A number in the metric's unit (see [`Unit`]).
    Num(f64),
    /// Text: "ok", "not yet available", an error.
    Text(String),
}

/// One row: a figure for each system.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metric {
    /// What it is.
    pub name: String,
    /// The issue's target for rxd, if any.
    pub target: String,
    /// Unit.
    pub unit: Unit,
    /// Values per system.
    pub values: BTreeMap<System, Value>,
}

impl Metric {
    /// A row without values yet.
    pub fn new(name: &str, target: &str, unit: Unit) -> Metric {
        Metric {
            name: name.to_owned(),
            target: target.to_owned(),
            unit,
            values: BTreeMap::new(),
        }
    }

    /// The number for a system, if it is one.
    pub fn num(&self, system: System) -> Option<f64> {
        match self.values.get(&system) {
            Some(Value::Num(v)) => Some(*v),
            _ => None,
        }
    }
}

/// One workload's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workload {
    /// Heading, e.g. "1. Fan-out: one anchor".
    pub title: String,
    /// What it measures and with which parameters.
    pub description: String,
    /// Rows.
    pub metrics: Vec<Metric>,
    /// Remarks (failures, caveats).
    pub notes: Vec<String>,
}

impl Workload {
    /// An empty workload.
    pub fn new(title: &str, description: &str) -> Workload {
        Workload {
            title: title.to_owned(),
            description: description.to_owned(),
            metrics: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The row named `name`, created with `target` and `unit` if new.
    pub fn metric(&mut self, name: &str, target: &str, unit: Unit) -> &mut Metric {
        if let Some(i) = self.metrics.iter().position(|m| m.name == name) {
            return &mut self.metrics[i];
        }
        self.metrics.push(Metric::new(name, target, unit));
        self.metrics.last_mut().expect("just pushed")
    }

    /// Sets a number.
    pub fn set(&mut self, system: System, name: &str, target: &str, unit: Unit, value: f64) {
        let value = if value.is_finite() {
            Value::Num(value)
        } else {
            Value::Text("—".into())
        };
        self.metric(name, target, unit).values.insert(system, value);
    }

    /// Sets a text cell.
    pub fn set_text(&mut self, system: System, name: &str, target: &str, unit: Unit, text: &str) {
        self.metric(name, target, unit)
            .values
            .insert(system, Value::Text(text.to_owned()));
    }

    /// Marks every row of `system` (and adds a note) when a run failed.
    pub fn fail(&mut self, system: System, why: &str) {
        for metric in &mut self.metrics {
            metric
                .values
                .entry(system)
                .or_insert_with(|| Value::Text("failed".into()));
        }
        self.notes.push(format!("{}: {why}", system.label()));
    }
}

/// Formats a number in a unit.
pub fn format_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{} ms", sig(v / 1e6)),
        Unit::Us => format!("{} µs", sig(v / 1e3)),
        Unit::PerSec => format!("{}/s", group(v)),
        Unit::Count => group(v),
        Unit::Kb => format!("{} KB", sig(v)),
        Unit::Mb => format!("{} MB", sig(v / 1024.0)),
        Unit::Ratio => format!("{}×", sig(v)),
        Unit::Percent => format!("{}%", sig(v * 100.0)),
    }
}

/// Three significant figures, no exponent.
fn sig(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        group(v)
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

/// An integer with thousands separators.
fn group(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn cell(value: Option<&Value>, unit: Unit) -> String {
    match value {
        None => "—".into(),
        Some(Value::Num(v)) => format_value(*v, unit),
        Some(Value::Text(t)) => t.replace('|', "/"),
    }
}

/// `rxd / peer`, when both are numbers and the peer's is not zero.
pub fn ratio(metric: &Metric, peer: System) -> String {
    match (metric.num(System::Rxd), metric.num(peer)) {
        (Some(r), Some(p)) if p != 0.0 => format!("{}×", sig(r / p)),
        _ => "—".into(),
    }
}

/// The Markdown table of a workload: metric, target, rxd, then each peer
/// with its ratio.
pub fn table(workload: &Workload, systems: &[System]) -> String {
    let peers: Vec<System> = systems
        .iter()
        .copied()
        .filter(|s| *s != System::Rxd)
        .collect();
    let mut out = String::from("| metric | target (rxd) | rxd |");
    for p in &peers {
        let _ = write!(out, " {} | rxd/{} |", p.label(), p.short());
    }
    out.push_str("\n| --- | --- | ---: |");
    for _ in &peers {
        out.push_str(" ---: | ---: |");
    }
    out.push('\n');
    for metric in &workload.metrics {
        let _ = write!(
            out,
            "| {} | {} | {} |",
            metric.name,
            if metric.target.is_empty() {
                "—"
            } else {
                &metric.target
            },
            cell(metric.values.get(&System::Rxd), metric.unit)
        );
        for p in &peers {
            let _ = write!(
                out,
                " {} | {} |",
                cell(metric.values.get(p), metric.unit),
                ratio(metric, *p)
            );
        }
        out.push('\n');
    }
    out
}

/// Everything RESULTS.md shows besides the workloads.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// UTC date and time.
    pub date: String,
    /// `quick` or `full`.
    pub mode: String,
    /// The command that produced it.
    pub command: String,
    /// Machine description (preformatted).
    pub machine: String,
    /// Load conditions (free text, including load averages).
    pub conditions: String,
    /// Systems measured.
    pub systems: Vec<System>,
    /// How to read the tables.
    pub method: String,
}

/// The heading of the section kept across runs.
pub const HISTORY: &str = "## History";

/// The History section of an existing RESULTS.md (heading excluded).
pub fn history_of(existing: &str) -> String {
    match existing.find(&format!("\n{HISTORY}\n")) {
        Some(i) => existing[i + HISTORY.len() + 2..]
            .trim_matches('\n')
            .to_owned(),
        None => String::new(),
    }
}

/// The whole file: `entry` is added on top of the kept history.
pub fn render(run: &Run, workloads: &[Workload], history: &str, entry: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# rxd benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `{}` on {} ({} mode). Every system ran in the same run on the same machine.\n",
        run.command, run.date, run.mode
    );
    let _ = writeln!(out, "**Load conditions:** {}\n", run.conditions);
    let _ = writeln!(out, "## Machine\n\n```text\n{}\n```\n", run.machine.trim());
    let _ = writeln!(out, "## Method\n\n{}\n", run.method.trim());
    for w in workloads {
        let _ = writeln!(out, "## {}\n\n{}\n", w.title, w.description.trim());
        out.push_str(&table(w, &run.systems));
        if !w.notes.is_empty() {
            out.push('\n');
            for n in &w.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{HISTORY}\n");
    let _ = writeln!(out, "{}", entry.trim_end());
    if !history.trim().is_empty() {
        let _ = writeln!(out, "{}", history.trim_end());
    }
    out
}

/// UTC `YYYY-MM-DD HH:MM` of a Unix time in seconds.
pub fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(format_value(12_345_678.0, Unit::Ms), "12.3 ms");
        assert_eq!(format_value(1_500.0, Unit::Us), "1.50 µs");
        assert_eq!(format_value(123_456.4, Unit::PerSec), "123,456/s");
        assert_eq!(format_value(-1_234.0, Unit::Count), "-1,234");
        assert_eq!(format_value(6.25, Unit::Kb), "6.25 KB");
        assert_eq!(format_value(2048.0, Unit::Mb), "2.00 MB");
        assert_eq!(format_value(0.052, Unit::Percent), "5.20%");
        assert_eq!(format_value(0.0, Unit::Ratio), "0×");
        assert_eq!(format_value(0.5, Unit::Us), "5.00e-4 µs");
    }

    #[test]
    fn table_has_ratios_and_text_cells() {
        let mut w = Workload::new("1. Fan-out", "desc");
        w.set(System::Rxd, "p99 ↓", "≤ 60 ms", Unit::Ms, 10e6);
        w.set(System::SocketIo, "p99 ↓", "≤ 60 ms", Unit::Ms, 40e6);
        w.set_text(
            System::ChannelsCore,
            "p99 ↓",
            "≤ 60 ms",
            Unit::Ms,
            "failed | x",
        );
        w.set_text(
            System::Rxd,
            "actions/s ↑",
            "",
            Unit::PerSec,
            "not yet available",
        );
        let t = table(&w, &[System::Rxd, System::SocketIo, System::ChannelsCore]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "| metric | target (rxd) | rxd | Socket.IO 4 | rxd/SIO | Channels (RedisChannelLayer) | rxd/Ch-core |"
        );
        assert_eq!(
            lines[2],
            "| p99 ↓ | ≤ 60 ms | 10.0 ms | 40.0 ms | 0.250× | failed / x | — |"
        );
        assert_eq!(
            lines[3],
            "| actions/s ↑ | — | not yet available | — | — | — | — |"
        );
        // Every row has as many cells as the header.
        let cols = lines[0].matches('|').count();
        assert!(lines.iter().all(|l| l.matches('|').count() == cols));
    }

    #[test]
    fn failing_a_system_fills_its_cells() {
        let mut w = Workload::new("x", "y");
        w.set(System::Rxd, "a", "", Unit::Count, 1.0);
        w.fail(System::SocketIo, "did not start");
        assert_eq!(
            w.metrics[0].values.get(&System::SocketIo),
            Some(&Value::Text("failed".into()))
        );
        assert_eq!(w.notes, vec!["Socket.IO 4: did not start"]);
    }

    #[test]
    fn history_survives_a_rewrite() {
        let run = Run {
            date: "2025-01-01 00:00 UTC".into(),
            mode: "quick".into(),
            command: "cargo xtask bench --quick".into(),
            systems: vec![System::Rxd],
            ..Run::default()
        };
        let first = render(&run, &[], "", "- run one");
        assert_eq!(history_of(&first), "- run one");
        let mut edited = first.clone();
        edited.push_str("- a hand-written note: snapshot cache bought 3×\n");
        let second = render(&run, &[], &history_of(&edited), "- run two");
        assert_eq!(
            history_of(&second),
            "- run two\n- run one\n- a hand-written note: snapshot cache bought 3×"
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_732_238_100), "2024-11-22 01:15 UTC");
    }
}
