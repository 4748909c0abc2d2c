use std::sync::Arc;

use parking_lot::Mutex;

use super::history::{History, HistoryLimits, Ring};
use super::{Broker, BrokerError, ChangeEvent, ChangeSet, ControlEvent, EventSink};
use crate::channel::BoxFuture;

/// The single-process broker: a counter and a direct call into the hub.
///
/// Publishing assigns the next version and delivers the event while holding
/// one lock, so events reach the sink in version order with no queue and no
/// task in between. It keeps the recent events (bounded by
/// [`HistoryLimits`]) for resuming clients.
#[derive(Default)]
pub struct MemoryBroker {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    version: u64,
    sink: Option<Arc<dyn EventSink>>,
    history: Ring,
    limits: HistoryLimits,
}

impl MemoryBroker {
    /// A broker whose first event gets version 1.
    pub fn new() -> MemoryBroker {
        MemoryBroker::default()
    }

    /// A broker that keeps `limits` of history for resuming clients
    /// (default: [`HistoryLimits::default`]).
    pub fn with_history(limits: HistoryLimits) -> MemoryBroker {
        let broker = MemoryBroker::default();
        broker.inner.lock().limits = limits;
        broker
    }
}

impl Broker for MemoryBroker {
    fn publish(&self, changes: ChangeSet) -> BoxFuture<'_, Result<u64, BrokerError>> {
        let mut inner = self.inner.lock();
        inner.version += 1;
        let version = inner.version;
        let event = Arc::new(ChangeEvent {
            version,
            saved: changes
                .saved
                .into_iter()
                .map(|mut instance| {
                    instance.version = version;
                    Arc::new(instance)
                })
                .collect(),
            deleted: changes.deleted,
        });
        let limits = inner.limits;
        inner.history.push(event.clone(), &limits);
        if let Some(sink) = &inner.sink {
            sink.deliver(event);
        }
        Box::pin(std::future::ready(Ok(version)))
    }

    fn publish_control(&self, event: ControlEvent) -> BoxFuture<'_, Result<u64, BrokerError>> {
        let mut inner = self.inner.lock();
        inner.version += 1;
        let version = inner.version;
        // History stays consecutive: a control event is a change of nothing.
        let nothing = Arc::new(ChangeEvent::empty(version));
        let limits = inner.limits;
        inner.history.push(nothing, &limits);
        if let Some(sink) = &inner.sink {
            sink.control(version, Arc::new(event));
        }
        Box::pin(std::future::ready(Ok(version)))
    }

    fn attach(&self, sink: Arc<dyn EventSink>) {
        self.inner.lock().sink = Some(sink);
    }

    fn history(&self, after: u64) -> BoxFuture<'_, Result<History, BrokerError>> {
        let inner = self.inner.lock();
        let history = inner.history.after(after, inner.version, &inner.limits);
        Box::pin(std::future::ready(Ok(history)))
    }
}
