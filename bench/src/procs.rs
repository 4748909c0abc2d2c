//! Processes of a run: the server under test (pinned to one core) and the
//! load-generator fleet (pinned to the other), the peers' installation,
//! and a tiny HTTP client for the driver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::drive::{DriveResult, DriveSpec};
use crate::load::{LoadSpec, ReadyReport, Report};
use crate::proto::{Proto, Target};
use crate::report::System;
use crate::sys;

/// Most connections one load process holds (each process may open 20,000
/// files).
pub const PER_PROCESS: usize = 5_000;

/// Padding of each item: an item weighs about 300 bytes on the wire.
pub const BODY_BYTES: usize = 200;

/// Where things are and how to pin them.
pub struct Ctx {
    /// The workspace root.
    pub root: PathBuf,
    /// `bench/work` (gitignored): venv, logs.
    pub work: PathBuf,
    /// This executable.
    pub exe: PathBuf,
    /// `taskset -c` list for servers, if pinning is possible.
    pub server_cpus: Option<String>,
    /// `taskset -c` list for load generators.
    pub load_cpus: Option<String>,
    /// The Redis server's pid (its CPU counts for the Channels peers).
    pub redis_pid: Option<u32>,
    counter: std::cell::Cell<u32>,
}

impl Ctx {
    /// The context of a run from the workspace root.
    pub fn new(root: PathBuf) -> std::io::Result<Ctx> {
        let work = root.join("bench/work");
        std::fs::create_dir_all(work.join("logs"))?;
        let exe = std::env::current_exe()?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let (server_cpus, load_cpus) = if taskset && cpus >= 2 {
            // Server on CPU 0, load on the others.
            (
                Some("0".to_owned()),
                Some(if cpus == 2 {
                    "1".to_owned()
                } else {
                    format!("1-{}", cpus - 1)
                }),
            )
        } else {
            (None, None)
        };
        Ok(Ctx {
            root,
            work,
            exe,
            server_cpus,
            load_cpus,
            redis_pid: redis_pid(),
            counter: std::cell::Cell::new(0),
        })
    }

    /// A fresh number for log names, source blocks and Redis prefixes.
    pub fn next(&self) -> u32 {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        n
    }

    /// A source address block (second byte of 127.x.y.z) not used lately.
    fn block(&self) -> u8 {
        (10 + (self.next() * 7 + std::process::id()) % 240) as u8
    }

    fn pinned(&self, cpus: &Option<String>, program: &Path) -> Command {
        match cpus {
            Some(list) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(list).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// The Redis server's pid, from `INFO server` on 127.0.0.1:6379.
pub fn redis_pid() -> Option<u32> {
    let mut stream = TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().expect("static address"),
        Duration::from_secs(1),
    )
    .ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut text = String::new();
    while !text.contains("process_id:") || !text[text.find("process_id:")?..].contains('\n') {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let line = text.lines().find(|l| l.starts_with("process_id:"))?;
    line["process_id:".len()..].trim().parse().ok()
}

/// Installs the peers: Socket.IO with npm, Channels in a virtualenv.
/// Returns the systems that cannot run and why.
pub fn setup(ctx: &Ctx) -> Vec<(System, String)> {
    let mut missing = Vec::new();
    let sio = ctx.root.join("bench/peers/socketio");
    if !sio.join("node_modules/socket.io/package.json").exists() {
        let verb = if sio.join("package-lock.json").exists() {
            "ci"
        } else {
            "install"
        };
        let status = Command::new("npm")
            .args([verb, "--no-audit", "--no-fund", "--prefix"])
            .arg(&sio)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            missing.push((
                System::SocketIo,
                format!("npm {verb} failed in {}", sio.display()),
            ));
        }
    }
    let requirements = ctx.root.join("bench/peers/channels/requirements.txt");
    let venv = ctx.work.join("venv");
    let stamp = venv.join(".rxd-bench-requirements");
    let wanted = std::fs::read_to_string(&requirements).unwrap_or_default();
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if wanted != installed || !venv.join("bin/daphne").exists() {
        let mut ok = venv.join("bin/python").exists()
            || Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
        ok = ok
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements)
                .status()
                .is_ok_and(|s| s.success());
        if ok {
            let _ = std::fs::write(&stamp, wanted);
        } else {
            for s in [System::ChannelsCore, System::ChannelsPubSub] {
                missing.push((s, "virtualenv or pip install failed".into()));
            }
        }
    }
    if ctx.redis_pid.is_none() {
        for s in [System::ChannelsCore, System::ChannelsPubSub] {
            if !missing.iter().any(|(m, _)| *m == s) {
                missing.push((s, "no Redis on 127.0.0.1:6379".into()));
            }
        }
    }
    missing
}

/// One HTTP/1.1 request; returns the status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    parse_http(&response)
}

/// Status and body of a raw HTTP/1.1 response (content-length, chunked or
/// close-delimited).
pub fn parse_http(response: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("bad HTTP response: {:?}", &text[..text.len().min(200)]))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "bad HTTP status line".to_owned())?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || after.len() < n {
                break;
            }
            out.push_str(&after[..n]);
            rest = after[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

/// The server under test.
pub struct Server {
    /// Which system.
    pub system: System,
    /// Its address.
    pub addr: SocketAddr,
    /// Its pid.
    pub pid: u32,
    child: Child,
    extra_pids: Vec<u32>,
    /// Its log file.
    pub log: PathBuf,
}

impl Server {
    /// Starts `system` serving anchors of `children` items, and waits
    /// until it answers.
    pub fn start(ctx: &Ctx, system: System, children: u64) -> Result<Server, String> {
        Server::start_in(ctx, system, children, None)
    }

    /// Starts `system` as one process of a deployment that shares changes
    /// through Redis under `namespace`: rxd's Redis broker, Socket.IO's
    /// Redis adapter, or the Channels layer's prefix.
    pub fn start_shared(
        ctx: &Ctx,
        system: System,
        children: u64,
        namespace: &str,
    ) -> Result<Server, String> {
        Server::start_in(ctx, system, children, Some(namespace))
    }

    fn start_in(
        ctx: &Ctx,
        system: System,
        children: u64,
        shared: Option<&str>,
    ) -> Result<Server, String> {
        let port = sys::free_port().map_err(|e| e.to_string())?;
        let n = ctx.next();
        let log = ctx.work.join(format!("logs/{}-{n}.log", system.name()));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = match system {
            System::Rxd => {
                let mut c = ctx.pinned(&ctx.server_cpus, &ctx.exe);
                c.args(["serve-rxd", "--port", &port.to_string()])
                    .args(["--children", &children.to_string()])
                    .args(["--body", &BODY_BYTES.to_string()]);
                c
            }
            System::SocketIo => {
                let mut c = ctx.pinned(&ctx.server_cpus, Path::new("node"));
                c.arg(ctx.root.join("bench/peers/socketio/server.js"));
                c
            }
            System::ChannelsCore | System::ChannelsPubSub => {
                let python = ctx.work.join("venv/bin/python");
                let mut c = ctx.pinned(&ctx.server_cpus, &python);
                c.args(["-m", "daphne", "-v", "0", "-e"])
                    .arg(format!("tcp:port={port}:interface=127.0.0.1:backlog=4096"))
                    .arg("benchsite.asgi:application")
                    .current_dir(ctx.root.join("bench/peers/channels"))
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .env(
                        "BENCH_LAYER",
                        if system == System::ChannelsPubSub {
                            "pubsub"
                        } else {
                            "core"
                        },
                    )
                    .env(
                        "BENCH_PREFIX",
                        shared.map_or_else(
                            || format!("rxdbench{}x{n}", std::process::id()),
                            str::to_owned,
                        ),
                    );
                c
            }
        };
        if let (Some(namespace), System::Rxd | System::SocketIo) = (shared, system) {
            command.env("BENCH_REDIS_NS", namespace);
        }
        command
            .env("BENCH_PORT", port.to_string())
            .env("BENCH_CHILDREN", children.to_string())
            .env("BENCH_BODY", BODY_BYTES.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command
            .spawn()
            .map_err(|e| format!("start {}: {e}", system.name()))?;
        let pid = child.id();
        let extra_pids = match system {
            System::ChannelsCore | System::ChannelsPubSub => ctx.redis_pid.into_iter().collect(),
            _ => Vec::new(),
        };
        let mut server = Server {
            system,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            pid,
            child,
            extra_pids,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http(
                server.addr,
                "GET",
                "/bench/health",
                None,
                Duration::from_secs(2),
            ) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{} exited at start ({status}); see {}",
                    system.name(),
                    server.log.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not answer within 60 s", system.name()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The protocol target.
    pub fn target(&self) -> Target {
        Target {
            proto: match self.system {
                System::Rxd => Proto::Rxd,
                System::SocketIo => Proto::SocketIo,
                System::ChannelsCore | System::ChannelsPubSub => Proto::Channels,
            },
            addr: self.addr,
        }
    }

    /// CPU time of the server (and of Redis for the Channels peers).
    pub fn cpu(&self) -> Duration {
        std::iter::once(self.pid)
            .chain(self.extra_pids.iter().copied())
            .filter_map(sys::cpu_time)
            .sum()
    }

    /// `(VmRSS, VmHWM)` of the server process, KB.
    pub fn memory(&self) -> (u64, u64) {
        sys::memory_kb(self.pid).unwrap_or((0, 0))
    }

    /// Runs a drive inside the server.
    pub fn drive(&self, spec: &DriveSpec) -> Result<DriveResult, String> {
        let body = serde_json::to_string(spec).map_err(|e| e.to_string())?;
        let timeout = Duration::from_millis(spec.duration_ms * 3 + 60_000);
        let (status, text) = http(self.addr, "POST", "/bench/drive", Some(&body), timeout)?;
        if status != 200 {
            return Err(format!("drive: HTTP {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("drive: {e}: {text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn send(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("load process: {e}"))
    }

    fn expect(&mut self, prefix: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_owned());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("load process: no {prefix} within {timeout:?}"))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!("load process exited before {prefix}"))
                }
            }
        }
    }
}

/// The load-generator processes of one phase.
pub struct Fleet {
    workers: Vec<Worker>,
    /// Connections asked for.
    pub conns: usize,
}

impl Fleet {
    /// Spawns enough processes for `conns` connections as `base` says
    /// (its `first`, `conns`, `block` and `concurrency` are set here;
    /// `concurrency` is split between the processes).
    pub fn spawn(ctx: &Ctx, base: &LoadSpec, conns: usize) -> Result<Fleet, String> {
        let procs = conns.div_ceil(PER_PROCESS).max(1);
        let mut workers = Vec::new();
        for p in 0..procs {
            let first = p * conns / procs;
            let last = (p + 1) * conns / procs;
            let mut spec = base.clone();
            spec.first = first;
            spec.conns = last - first;
            spec.block = ctx.block();
            spec.concurrency = (base.concurrency / procs).max(1);
            let json = serde_json::to_string(&spec).map_err(|e| e.to_string())?;
            let mut command = ctx.pinned(&ctx.load_cpus, &ctx.exe);
            command
                .arg("load")
                .arg(json)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            let mut child = command.spawn().map_err(|e| format!("spawn load: {e}"))?;
            let stdin = child.stdin.take().ok_or("no stdin")?;
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            workers.push(Worker {
                child,
                stdin,
                lines: rx,
            });
        }
        Ok(Fleet { workers, conns })
    }

    /// Waits until every connection has its initial state (or failed).
    pub fn ready(&mut self, timeout: Duration) -> Result<ReadyReport, String> {
        let mut merged = ReadyReport::default();
        for w in &mut self.workers {
            let json = w.expect("READY", timeout)?;
            let r: ReadyReport = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            merged.merge(&r);
        }
        Ok(merged)
    }

    /// Clears the delivery statistics.
    pub fn reset(&mut self) -> Result<(), String> {
        for w in &mut self.workers {
            w.send("RESET")?;
        }
        for w in &mut self.workers {
            w.expect("OK", Duration::from_secs(30))?;
        }
        Ok(())
    }

    /// Stamped frames received since the last reset.
    pub fn peek(&mut self) -> Result<u64, String> {
        for w in &mut self.workers {
            w.send("PEEK")?;
        }
        let mut total = 0;
        for w in &mut self.workers {
            total += w
                .expect("PEEK", Duration::from_secs(30))?
                .parse::<u64>()
                .map_err(|e| e.to_string())?;
        }
        Ok(total)
    }

    /// The statistics since the last reset (and a reset).
    pub fn report(&mut self) -> Result<Report, String> {
        for w in &mut self.workers {
            w.send("REPORT")?;
        }
        self.collect(Duration::from_secs(60))
    }

    /// Runs closed-loop calls for `ms` on every connection.
    pub fn go(&mut self, ms: u64) -> Result<Report, String> {
        for w in &mut self.workers {
            w.send(&format!("GO {ms}"))?;
        }
        self.collect(Duration::from_millis(ms + 30_000))
    }

    fn collect(&mut self, timeout: Duration) -> Result<Report, String> {
        let mut merged = Report::default();
        for w in &mut self.workers {
            let json = w.expect("REPORT", timeout)?;
            let r: Report = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            merged.merge(&r);
        }
        Ok(merged)
    }

    /// Waits until `expected` stamped frames arrived, or none arrived for
    /// `quiet`, or `max` passed; then reports.
    pub fn drain(
        &mut self,
        expected: u64,
        quiet: Duration,
        max: Duration,
    ) -> Result<Report, String> {
        let started = Instant::now();
        let (mut last, mut last_change) = (0, Instant::now());
        loop {
            let got = self.peek()?;
            if got >= expected || started.elapsed() > max {
                break;
            }
            if got != last {
                last = got;
                last_change = Instant::now();
            } else if last_change.elapsed() > quiet {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.report()
    }

    /// CPU time of the load processes.
    pub fn cpu(&self) -> Duration {
        self.workers
            .iter()
            .filter_map(|w| sys::cpu_time(w.child.id()))
            .sum()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.send("EXIT");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for w in &mut self.workers {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = w.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_responses() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        assert_eq!(parse_http(plain), Ok((200, "ok".into())));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(parse_http(chunked), Ok((200, "{\"a\":1}".into())));
        assert!(parse_http(b"garbage").is_err());
    }
}
