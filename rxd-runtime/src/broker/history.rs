//! The broker's history: the recent change events a process asks for when
//! a client resumes from a version its own caches cannot answer from.
//! `docs/PROTOCOL.md` ("Resume") and `docs/DESIGN.md` have the rules.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ChangeEvent;

/// How much history is kept for resuming clients: at most `max_events`
/// events (or, for a hot anchor's tombstones, removed instances), none
/// older than `max_age`. A client that comes back after more than that
/// receives a full state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Most events (or tombstones) kept.
    pub max_events: usize,
    /// Oldest event (or tombstone) kept.
    pub max_age: Duration,
}

impl Default for HistoryLimits {
    /// 1 000 events, 5 minutes.
    fn default() -> Self {
        HistoryLimits {
            max_events: 1_000,
            max_age: Duration::from_secs(300),
        }
    }
}

/// The answer to [`Broker::history`](super::Broker::history).
#[derive(Debug, Clone)]
pub enum History {
    /// Every event after the asked version, consecutive and in order, up to
    /// the last one the broker had when it answered (empty when nothing
    /// followed).
    Events(Vec<Arc<ChangeEvent>>),
    /// The broker cannot list every event after that version: they are
    /// older than it keeps, the version is from the future, or events were
    /// lost (a resync) in between.
    Beyond,
}

impl History {
    /// Checks that `events` follow `after` consecutively: what a broker
    /// returns when it can vouch for every event in between. A gap (a
    /// trimmed or lost event) makes it [`History::Beyond`].
    pub fn consecutive(after: u64, events: Vec<Arc<ChangeEvent>>) -> History {
        let mut expected = after;
        for event in &events {
            if event.version != expected + 1 {
                return History::Beyond;
            }
            expected = event.version;
        }
        History::Events(events)
    }
}

/// A bounded ring of recent events: the in-memory broker's history.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    events: VecDeque<(Instant, Arc<ChangeEvent>)>,
    /// The newest version that fell out of the ring (or the version the
    /// ring started at): history after it is complete.
    floor: u64,
}

impl Ring {
    /// Records an event and forgets what the limits no longer allow.
    pub(crate) fn push(&mut self, event: Arc<ChangeEvent>, limits: &HistoryLimits) {
        let now = Instant::now();
        self.events.push_back((now, event));
        while self.events.len() > limits.max_events
            || self
                .events
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > limits.max_age)
        {
            match self.events.pop_front() {
                Some((_, old)) => self.floor = old.version,
                None => break,
            }
        }
    }

    /// The events after `after`, given that the newest version handed out
    /// is `last`.
    pub(crate) fn after(&self, after: u64, last: u64, limits: &HistoryLimits) -> History {
        if after > last {
            return History::Beyond;
        }
        if after < self.floor {
            return History::Beyond;
        }
        let now = Instant::now();
        let mut events = Vec::new();
        for (at, event) in &self.events {
            if event.version <= after {
                continue;
            }
            if now.duration_since(*at) > limits.max_age {
                return History::Beyond;
            }
            events.push(event.clone());
        }
        History::consecutive(after, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(version: u64) -> Arc<ChangeEvent> {
        Arc::new(ChangeEvent {
            version,
            saved: Vec::new(),
            deleted: Vec::new(),
        })
    }

    fn versions(history: &History) -> Option<Vec<u64>> {
        match history {
            History::Events(events) => Some(events.iter().map(|e| e.version).collect()),
            History::Beyond => None,
        }
    }

    #[test]
    fn the_ring_answers_within_its_bounds_only() {
        let limits = HistoryLimits {
            max_events: 3,
            max_age: Duration::from_secs(60),
        };
        let mut ring = Ring::default();
        for v in 1..=5 {
            ring.push(event(v), &limits);
        }
        assert_eq!(versions(&ring.after(5, 5, &limits)), Some(vec![]));
        assert_eq!(versions(&ring.after(3, 5, &limits)), Some(vec![4, 5]));
        assert_eq!(versions(&ring.after(2, 5, &limits)), Some(vec![3, 4, 5]));
        assert_eq!(
            versions(&ring.after(1, 5, &limits)),
            None,
            "event 2 is gone"
        );
        assert_eq!(versions(&ring.after(6, 5, &limits)), None, "the future");
    }

    #[test]
    fn old_events_fall_out_by_age() {
        let limits = HistoryLimits {
            max_events: 100,
            max_age: Duration::ZERO,
        };
        let mut ring = Ring::default();
        ring.push(event(1), &limits);
        std::thread::sleep(Duration::from_millis(2));
        ring.push(event(2), &limits);
        assert_eq!(versions(&ring.after(0, 2, &limits)), None);
    }

    #[test]
    fn a_gap_is_beyond_history() {
        assert!(versions(&History::consecutive(1, vec![event(2), event(4)])).is_none());
        assert_eq!(
            versions(&History::consecutive(1, vec![event(2), event(3)])),
            Some(vec![2, 3])
        );
    }
}
