//! rxd's benchmarks against its peers (issue 5).
//!
//! One binary, `rxd-bench`, plays every part:
//!
//! - `all [--quick]`: the orchestrator. It installs the peers, then for
//!   each workload and each system starts the server pinned to CPU 0,
//!   spawns load-generator processes pinned to the other CPU, drives
//!   commits inside the server, and writes `bench/RESULTS.md`.
//! - `serve-rxd`: the rxd bench server ([`server`]).
//! - `load <json>`: one load-generator process ([`load`]).
//! - `setup`: installs the peers only.
//!
//! Latency is commit to receipt: every server stamps the commit's
//! `CLOCK_REALTIME` into the payload ([`stamp`]) and the load generator
//! finds it by byte search.

pub mod drive;
pub mod hist;
pub mod load;
pub mod procs;
pub mod proto;
pub mod report;
pub mod server;
pub mod stamp;
pub mod sys;
pub mod workloads;
