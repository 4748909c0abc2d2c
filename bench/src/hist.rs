//! Latency histograms (HDR, nanoseconds) and their transfer between the
//! load-generator processes and the orchestrator.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency recorded: two minutes. Larger values are clamped.
const HIGHEST_NS: u64 = 120_000_000_000;

/// A latency histogram in nanoseconds, three significant figures.
#[derive(Clone)]
pub struct Hist {
    inner: Histogram<u64>,
}

impl Default for Hist {
    fn default() -> Self {
        Hist::new()
    }
}

impl std::fmt::Debug for Hist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hist({:?})", self.summary())
    }
}

/// The figures a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median, ns.
    pub p50: u64,
    /// 90th percentile, ns.
    pub p90: u64,
    /// 99th percentile, ns.
    pub p99: u64,
    /// 99.9th percentile, ns.
    pub p999: u64,
    /// Largest, ns.
    pub max: u64,
    /// Mean, ns.
    pub mean: f64,
}

/// A histogram as `(value, count)` pairs: what load generators print.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Wire(pub Vec<(u64, u64)>);

impl Hist {
    /// An empty histogram.
    pub fn new() -> Hist {
        Hist {
            inner: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .expect("static histogram bounds are valid"),
        }
    }

    /// Records one latency (clamped into the histogram's range).
    pub fn record(&mut self, ns: u64) {
        self.record_n(ns, 1);
    }

    /// Records `n` samples of one latency.
    pub fn record_n(&mut self, ns: u64, n: u64) {
        let v = ns.clamp(1, HIGHEST_NS);
        // In range by construction.
        let _ = self.inner.record_n(v, n);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Hist) {
        // Same bounds by construction.
        let _ = self.inner.add(&other.inner);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Value at a quantile (0..=1), ns.
    pub fn quantile(&self, q: f64) -> u64 {
        self.inner.value_at_quantile(q)
    }

    /// Percentiles, max and mean.
    pub fn summary(&self) -> Summary {
        if self.inner.is_empty() {
            return Summary::default();
        }
        Summary {
            count: self.inner.len(),
            p50: self.inner.value_at_quantile(0.50),
            p90: self.inner.value_at_quantile(0.90),
            p99: self.inner.value_at_quantile(0.99),
            p999: self.inner.value_at_quantile(0.999),
            max: self.inner.max(),
            mean: self.inner.mean(),
        }
    }

    /// The pairs to transfer.
    pub fn to_wire(&self) -> Wire {
        Wire(
            self.inner
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    /// Rebuilds a transferred histogram.
    pub fn from_wire(wire: &Wire) -> Hist {
        let mut hist = Hist::new();
        for &(value, count) in &wire.0 {
            hist.record_n(value, count);
        }
        hist
    }

    /// Empties the histogram.
    pub fn reset(&mut self) {
        self.inner.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_samples_and_keeps_percentiles() {
        let mut a = Hist::new();
        let mut b = Hist::new();
        for i in 1..=1000u64 {
            a.record(i * 1_000);
        }
        for _ in 0..1000 {
            b.record(5_000_000);
        }
        let mut merged = Hist::new();
        merged.merge(&a);
        merged.merge(&b);
        assert_eq!(merged.len(), 2000);
        // The lower half comes from `a`, the upper from `b`.
        let p25 = merged.quantile(0.25);
        assert!((495_000..=505_000).contains(&p25), "{p25}");
        let p99 = merged.quantile(0.99);
        assert!((4_990_000..=5_010_000).contains(&p99), "{p99}");
        assert_eq!(merged.summary().count, 2000);
    }

    #[test]
    fn wire_round_trip_is_lossless_at_histogram_precision() {
        let mut a = Hist::new();
        for i in 0..10_000u64 {
            a.record(i * 37 + 1);
        }
        a.record(0); // clamped to 1
        a.record(u64::MAX); // clamped to the highest value
        let wire = a.to_wire();
        let text = serde_json::to_string(&wire).unwrap();
        let back = Hist::from_wire(&serde_json::from_str(&text).unwrap());
        assert_eq!(back.len(), a.len());
        assert_eq!(back.summary(), a.summary());
    }

    #[test]
    fn empty_summary_is_zero() {
        assert_eq!(Hist::new().summary(), Summary::default());
    }

    #[test]
    fn merge_of_wires_equals_merge_of_histograms() {
        let mut a = Hist::new();
        let mut b = Hist::new();
        for i in 0..500u64 {
            a.record(1_000 + i);
            b.record(2_000_000 + i * 10);
        }
        let mut direct = a.clone();
        direct.merge(&b);
        let mut via_wire = Hist::from_wire(&a.to_wire());
        via_wire.merge(&Hist::from_wire(&b.to_wire()));
        assert_eq!(direct.summary(), via_wire.summary());
    }
}
