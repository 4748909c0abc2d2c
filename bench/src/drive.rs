//! The commit driver's contract, shared by every bench server (the rxd one
//! in Rust, the peers in JavaScript and Python): `POST /bench/drive` with a
//! [`DriveSpec`] runs the commits inside the server and answers a
//! [`DriveResult`]. `GET /bench/health` answers 200 once the server is up.
//!
//! Commit `i` (from 0) changes anchor `anchor_lo + i % anchor_count`, in
//! one transaction of `k = k_min + i % (k_max - k_min + 1)` items, the
//! items `(i * 7919 + m) % children` for `m < k`; every item's title is the
//! stamp `@T<now>#<seq_start + i>` taken just before the commit.
//!
//! A `Rate` drive that falls behind stops committing [`GRACE_MS`] after its
//! duration, so that a server that cannot keep up does not hold the run:
//! its result says how many commits it made.

use serde::{Deserialize, Serialize};

/// How long a `Rate` drive may overrun its duration.
pub const GRACE_MS: u64 = 1_000;

/// How commits are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriveMode {
    /// `rate` commits per second, `round(rate * duration)` in all.
    Rate,
    /// As many as the server manages during `duration_ms`, yielding to
    /// the connections between commits.
    Max,
    /// rxd only: one batch saving item 0 of `anchor_lo` `k_max` times
    /// (stamped `seq_start`), then a batch saving item 1 (stamped
    /// `seq_start + 1`) that is dropped uncommitted.
    Check,
}

/// A run of commits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriveSpec {
    /// Pacing.
    pub mode: DriveMode,
    /// Commits per second (`Rate`).
    pub rate: f64,
    /// How long.
    pub duration_ms: u64,
    /// First anchor.
    pub anchor_lo: u64,
    /// Anchors, round-robin.
    pub anchor_count: u64,
    /// Fewest items per commit.
    pub k_min: u64,
    /// Most items per commit.
    pub k_max: u64,
    /// The stamp sequence of commit 0.
    pub seq_start: u64,
    /// `Max`: how many writers commit at once, each waiting for its own
    /// commit (many request handlers saving at the same time). Socket.IO's
    /// emits are synchronous, so it has nothing to overlap and ignores it.
    #[serde(default = "one_writer")]
    pub writers: u64,
}

fn one_writer() -> u64 {
    1
}

/// What a drive did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriveResult {
    /// Commits made.
    pub commits: u64,
    /// Items changed, over all commits.
    pub instances: u64,
    /// Wall time, ms.
    pub elapsed_ms: f64,
}

impl DriveSpec {
    /// A paced run over some anchors, one item per commit.
    pub fn rate(rate: f64, duration_ms: u64, anchor_lo: u64, anchor_count: u64) -> DriveSpec {
        DriveSpec {
            mode: DriveMode::Rate,
            rate,
            duration_ms,
            anchor_lo,
            anchor_count,
            k_min: 1,
            k_max: 1,
            seq_start: 0,
            writers: 1,
        }
    }

    /// The same with `writers` concurrent writers (`Max`).
    pub fn writers(mut self, writers: u64) -> DriveSpec {
        self.writers = writers.max(1);
        self
    }

    /// The same with `k_min..=k_max` items per commit.
    pub fn items(mut self, k_min: u64, k_max: u64) -> DriveSpec {
        self.k_min = k_min;
        self.k_max = k_max.max(k_min);
        self
    }

    /// The same starting at stamp sequence `seq`.
    pub fn from_seq(mut self, seq: u64) -> DriveSpec {
        self.seq_start = seq;
        self
    }

    /// The same paced `Max` or `Check`.
    pub fn mode(mut self, mode: DriveMode) -> DriveSpec {
        self.mode = mode;
        self
    }

    /// Commits a `Rate` drive makes.
    pub fn total(&self) -> u64 {
        (self.rate * self.duration_ms as f64 / 1000.0).round() as u64
    }

    /// The anchor of commit `i`.
    pub fn anchor(&self, i: u64) -> u64 {
        self.anchor_lo + i % self.anchor_count.max(1)
    }

    /// Items in commit `i`.
    pub fn k(&self, i: u64) -> u64 {
        self.k_min + i % (self.k_max - self.k_min + 1)
    }

    /// The item indexes (within the anchor) of commit `i`.
    pub fn item_indexes(&self, i: u64, children: u64) -> impl Iterator<Item = u64> {
        let k = self.k(i).min(children);
        (0..k).map(move |m| (i.wrapping_mul(7919) + m) % children.max(1))
    }

    /// How many deliveries `commits` commits make when anchor `a` has
    /// `subscribers(a)` subscribers.
    pub fn expected_deliveries(&self, commits: u64, subscribers: impl Fn(u64) -> u64) -> u64 {
        let n = self.anchor_count.max(1);
        let (rounds, rest) = (commits / n, commits % n);
        (0..n)
            .map(|j| {
                let times = rounds + u64::from(j < rest);
                times * subscribers(self.anchor_lo + j)
            })
            .sum()
    }
}

/// How many of `conns` connections, spread round-robin from `anchor_lo`
/// over `anchor_count` anchors, watch `anchor`.
pub fn subscribers(conns: u64, anchor_lo: u64, anchor_count: u64, anchor: u64) -> u64 {
    let n = anchor_count.max(1);
    if anchor < anchor_lo || anchor >= anchor_lo + n {
        return 0;
    }
    let j = anchor - anchor_lo;
    conns / n + u64::from(j < conns % n)
}

/// The key of item `j` of `anchor`.
pub fn item_id(anchor: u64, j: u64) -> u64 {
    anchor * 10_000 + j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_deliveries_counts_each_anchor() {
        let spec = DriveSpec::rate(10.0, 1000, 5, 3);
        // Connections 0..7 over anchors 5, 6, 7: 3, 2, 2 subscribers.
        let subs = |a| subscribers(7, 5, 3, a);
        assert_eq!((subs(5), subs(6), subs(7), subs(8)), (3, 2, 2, 0));
        // Commits 0..4 hit anchors 5, 6, 7, 5.
        assert_eq!(spec.expected_deliveries(4, subs), 3 + 2 + 2 + 3);
        assert_eq!(spec.expected_deliveries(0, subs), 0);
        assert_eq!(spec.total(), 10);
    }

    #[test]
    fn items_are_distinct_within_a_commit() {
        let spec = DriveSpec::rate(1.0, 1000, 1, 1).items(1, 10);
        for i in 0..100 {
            let items: Vec<u64> = spec.item_indexes(i, 10).collect();
            assert_eq!(items.len() as u64, spec.k(i));
            let mut sorted = items.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), items.len());
            assert!(items.iter().all(|&j| j < 10));
        }
        assert_eq!(spec.k(0), 1);
        assert_eq!(spec.k(9), 10);
        assert_eq!(spec.k(10), 1);
    }

    #[test]
    fn spec_json_is_what_the_peers_read() {
        let spec = DriveSpec::rate(2.5, 100, 1, 2).items(1, 3).from_seq(9);
        let json = serde_json::to_value(spec).unwrap();
        assert_eq!(json["mode"], "rate");
        assert_eq!(json["seq_start"], 9);
        assert_eq!(json["k_max"], 3);
    }
}
