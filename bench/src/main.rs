//! `rxd-bench`: see the crate documentation (`bench/src/lib.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use rxd_bench::load::LoadSpec;
use rxd_bench::procs::{self, Ctx};
use rxd_bench::report::{self, Run, System, Workload};
use rxd_bench::server::{self, Shape};
use rxd_bench::workloads::{self, Params};

#[derive(Parser)]
#[command(name = "rxd-bench", about = "rxd against its peers, side by side")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the workloads and writes bench/RESULTS.md.
    All {
        /// Smaller, shorter workloads (under five minutes).
        #[arg(long)]
        quick: bool,
        /// Systems to run (comma-separated): rxd, socketio, channels-core,
        /// channels-pubsub.
        #[arg(long, value_delimiter = ',')]
        systems: Vec<String>,
        /// Workloads to run (comma-separated numbers 1-6); all by default.
        #[arg(long, value_delimiter = ',')]
        workloads: Vec<u8>,
        /// A remark on the load conditions, printed in RESULTS.md.
        #[arg(long)]
        note: Option<String>,
        /// Where to write the results (default: bench/RESULTS.md).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Installs the peers (npm, virtualenv).
    Setup,
    /// Serves the rxd bench channel and driver.
    ServeRxd {
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Items per anchor.
        #[arg(long, default_value_t = 10)]
        children: u64,
        /// Padding per item, bytes.
        #[arg(long, default_value_t = procs::BODY_BYTES)]
        body: usize,
    },
    /// One load-generator process (spawned by `all`).
    Load {
        /// The LoadSpec, as JSON.
        spec: String,
    },
}

fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Load { spec } => {
            let spec: LoadSpec = match serde_json::from_str(&spec) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("rxd-bench load: bad spec: {e}");
                    return ExitCode::from(2);
                }
            };
            match rxd_bench::load::run_process(spec) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("rxd-bench load: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::ServeRxd {
            port,
            children,
            body,
        } => {
            rxd_bench::sys::raise_nofile();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("rxd-bench serve-rxd: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            match runtime.block_on(server::serve(addr, Shape::new(children, body))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("rxd-bench serve-rxd: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Setup => {
            let ctx = match Ctx::new(root()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("rxd-bench: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let missing = procs::setup(&ctx);
            for (s, why) in &missing {
                eprintln!("rxd-bench: {} unavailable: {why}", s.name());
            }
            if missing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::All {
            quick,
            systems,
            workloads,
            note,
            out,
        } => match all(quick, &systems, &workloads, note, out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rxd-bench: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn all(
    quick: bool,
    systems: &[String],
    which: &[u8],
    note: Option<String>,
    out: Option<PathBuf>,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    rxd_bench::sys::raise_nofile();
    let root = root();
    let ctx = Ctx::new(root.clone()).map_err(|e| e.to_string())?;
    let mut chosen: Vec<System> = if systems.is_empty() {
        System::ALL.to_vec()
    } else {
        systems
            .iter()
            .map(|s| System::parse(s).ok_or_else(|| format!("unknown system {s}")))
            .collect::<Result<_, _>>()?
    };
    if !chosen.contains(&System::Rxd) {
        chosen.insert(0, System::Rxd);
    }
    let missing = procs::setup(&ctx);
    let mut unavailable = Vec::new();
    for (s, why) in &missing {
        eprintln!("rxd-bench: {} unavailable: {why}", s.name());
        unavailable.push(format!("{}: {why}", s.label()));
    }
    let runnable: Vec<System> = chosen
        .iter()
        .copied()
        .filter(|s| !missing.iter().any(|(m, _)| m == s))
        .collect();
    let params = if quick {
        Params::quick()
    } else {
        Params::full()
    };
    let load_before = loadavg();
    let cpu_before = cpu_jiffies();
    let mut results = workloads::run(&ctx, &params, &runnable, which);
    let load_after = loadavg();
    let steal = steal_share(cpu_before, cpu_jiffies());
    for w in &mut results {
        for u in &unavailable {
            w.notes.push(format!("not run: {u}"));
        }
    }

    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut command = String::from("cargo xtask bench");
    if quick {
        command.push_str(" --quick");
    }
    let conditions = format!(
        "load average (1, 5, 15 min) {load_before} before the run and {load_after} after it; {steal}. {}",
        note.unwrap_or_else(|| "No remark given (`--note`).".into())
    );
    let run = Run {
        date: report::utc(unix),
        mode: params.mode.to_owned(),
        command,
        machine: machine(&ctx),
        conditions,
        systems: runnable.clone(),
        method: method(&params),
    };
    let path = out.unwrap_or_else(|| root.join("bench/RESULTS.md"));
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let history = report::history_of(&existing);
    let entry = history_entry(&run, &results);
    let text = report::render(&run, &results, &history, &entry);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "rxd-bench: wrote {} in {:.0?}",
        path.display(),
        started.elapsed()
    );
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The machine's CPU time so far from `/proc/stat`: (steal, total), in
/// clock ticks.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: guest time is
    // already counted in user.
    let total = ticks.iter().take(8).sum();
    Some((*ticks.get(7)?, total))
}

/// How much CPU time the hypervisor gave to others during the run: on a
/// shared host the same binary's figures vary from run to run.
fn steal_share(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> String {
    match (before, after) {
        (Some((s0, t0)), Some((s1, t1))) if t1 > t0 => format!(
            "CPU steal (time the hypervisor ran others) {:.1}% of the machine's CPU time during it",
            (s1 - s0) as f64 * 100.0 / (t1 - t0) as f64
        ),
        _ => "CPU steal unknown".into(),
    }
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_owned())
        .unwrap_or_else(|_| format!("({program} unavailable)"))
}

fn machine(ctx: &Ctx) -> String {
    let lscpu = output("lscpu", &[]);
    let keep = [
        "Architecture",
        "CPU(s):",
        "Model name",
        "Thread(s) per core",
        "Core(s) per socket",
        "Hypervisor vendor",
        "L2 cache",
        "L3 cache",
    ];
    let lscpu: Vec<&str> = lscpu
        .lines()
        .filter(|l| keep.iter().any(|k| l.trim_start().starts_with(k)))
        .collect();
    let python = ctx.work.join("venv/bin/python");
    format!(
        "$ lscpu\n{}\n$ nproc\n{}\n$ free -m\n{}\n$ uname -r\n{}\nnode {}, Python {}, {}, {}\npinning: server on CPU {}, load generators on CPU {}",
        lscpu.join("\n"),
        output("nproc", &[]),
        output("free", &["-m"]),
        output("uname", &["-r"]),
        output("node", &["--version"]),
        output(python.to_str().unwrap_or("python3"), &["-c", "import sys, django, channels, channels_redis, daphne; print(sys.version.split()[0], '/ Django', django.__version__, '/ channels', channels.__version__, '/ channels_redis', channels_redis.__version__, '/ daphne', daphne.__version__)"]),
        output("redis-server", &["--version"]).split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        output("rustc", &["--version"]),
        ctx.server_cpus.as_deref().unwrap_or("(not pinned)"),
        ctx.load_cpus.as_deref().unwrap_or("(not pinned)"),
    )
}

fn method(params: &Params) -> String {
    format!("\
- Each system runs as one server process pinned to CPU 0 (`taskset`); the load generators (`rxd-bench load`, Rust, one single-threaded tokio runtime per process, at most 5,000 connections per process) are pinned to CPU 1. A fresh server is started for every workload, so its peak RSS (`VmHWM`) is that workload's.
- Every server has the same state and payloads: an anchor with N items of ~300 bytes (`{{_type, _v, id, anchor_id, title, body}}`), one room / group / channel per anchor, any token accepted. rxd uses the in-memory broker. Socket.IO 4 uses rooms and `io.to(room).emit` (WebSocket transport only). The Django Channels peer is a consumer per connection with a group per anchor, on daphne, with channels_redis at its defaults (RedisChannelLayer or RedisPubSubChannelLayer); each recipient encodes the change itself, as Channels apps do.
- Commits happen inside the server (`POST /bench/drive`, see `bench/src/drive.rs`): each stamps the item titles with `CLOCK_REALTIME` nanoseconds and a sequence number. The load generator finds the stamp by byte search and records commit-to-receipt latency into HDR histograms (merged across processes).
- Server CPU is utime + stime from `/proc/<pid>/stat` over the phase (for the Channels peers plus the Redis server's), divided by the unit of work; it includes the in-server commit driver. RSS is from `/proc/<pid>/status`.
- Lost deliveries = deliveries expected (commits × subscribers of the anchor) − stamped frames received by the end of the phase: when deliveries stopped for {quiet:?} or {max:?} after the commits (this run's settings). A commit driver that falls behind its rate stops 1 s after the phase's duration; *made* rows show the rate it reached. A server left with undelivered messages is restarted before the next phase (noted under the table).
- ↑ higher is better, ↓ lower is better; ratios are rxd / peer.
- Quick mode keeps the issue's rates but uses fewer connections and shorter phases: its figures are a smoke check, not the published numbers.
- The rxd bench server sets `TCP_NODELAY` on its sockets (axum's `serve` does not by default; Node's http server does); daphne runs with Twisted's defaults.",
        quiet = params.quiet,
        max = params.drain_max,
    )
}

fn history_entry(run: &Run, results: &[Workload]) -> String {
    let pick = |title: &str, metric: &str| -> String {
        results
            .iter()
            .find(|w| w.title.starts_with(title))
            .and_then(|w| w.metrics.iter().find(|m| m.name == metric))
            .map(|m| {
                let rxd = match m.values.get(&System::Rxd) {
                    Some(report::Value::Num(v)) => report::format_value(*v, m.unit),
                    Some(report::Value::Text(t)) => t.clone(),
                    None => "—".into(),
                };
                format!("{metric} {rxd}")
            })
            .unwrap_or_default()
    };
    let figures: Vec<String> = [
        pick("1. ", "sustained: deliveries/s ↑"),
        pick("1. ", "sustained: p99 latency ↓"),
        pick("1. ", "sustained: server CPU per delivery ↓"),
        pick("2. ", "large: connections/s ↑"),
        pick("3. ", "server RSS per idle connection ↓"),
        pick("5. ", "flat out: changed instances/s committed ↑"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    format!(
        "- {} ({} mode, rxd): {}.",
        run.date,
        run.mode,
        figures.join("; ")
    )
}
