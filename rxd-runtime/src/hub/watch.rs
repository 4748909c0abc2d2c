//! Auto-update for list channels: every saved instance of a watched layer
//! type is offered to each watching connection, whose channel's
//! `is_visible` decides whether the connection shows it from then on.
//!
//! The cost is one queued offer per watching connection per saved instance
//! of that type, and one `is_visible` call for each offer the connection
//! does not already show; see `docs/GUIDE.md`, "List channels".

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{FeedSignals, Hub, HubState};
use crate::broker::ChangeEvent;
use crate::channel::Offer;

pub(super) struct Watcher {
    id: u64,
    offers: mpsc::Sender<Offer>,
    signals: Arc<FeedSignals>,
}

/// A connection's registration for offers. Dropping it stops them.
pub(crate) struct Watch {
    hub: Hub,
    id: u64,
    type_name: Arc<str>,
    /// The offered instances, in the order they were saved.
    pub(crate) offers: mpsc::Receiver<Offer>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut state = self.hub.inner.state.lock();
        if let Some(watchers) = state.watchers.get_mut(&self.type_name) {
            watchers.retain(|w| w.id != self.id);
            if watchers.is_empty() {
                state.watchers.remove(&self.type_name);
            }
        }
    }
}

impl Hub {
    /// Offers the connection with `signals` every instance of `type_name`
    /// saved from now on. An offer queue that fills up overflows the
    /// connection, as its frame queue does: no offer is lost in silence.
    pub(crate) fn watch(&self, type_name: Arc<str>, signals: Arc<FeedSignals>) -> Watch {
        let (tx, rx) = mpsc::channel(self.inner.limits.max_pending_frames.max(1));
        let mut state = self.inner.state.lock();
        state.next_id += 1;
        let id = state.next_id;
        state
            .watchers
            .entry(type_name.clone())
            .or_default()
            .push(Watcher {
                id,
                offers: tx,
                signals,
            });
        Watch {
            hub: self.clone(),
            id,
            type_name,
            offers: rx,
        }
    }

    pub(super) fn offer_to_watchers(&self, state: &mut HubState, event: &ChangeEvent) {
        if state.watchers.is_empty() {
            return;
        }
        for instance in &event.saved {
            let Some(watchers) = state.watchers.get_mut(&instance.id.type_name) else {
                continue;
            };
            let offer = Offer::new(instance.clone());
            watchers.retain(|w| match w.offers.try_send(offer.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    w.signals.overflow.raise();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        }
    }
}
