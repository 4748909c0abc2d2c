use std::sync::Arc;

use parking_lot::Mutex;

use super::{Broker, BrokerError, ChangeEvent, ChangeSet, ControlEvent, EventSink};
use crate::channel::BoxFuture;

/// The single-process broker: a counter and a direct call into the hub.
///
/// Publishing assigns the next version and delivers the event while holding
/// one lock, so events reach the sink in version order with no queue and no
/// task in between.
#[derive(Default)]
pub struct MemoryBroker {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    version: u64,
    sink: Option<Arc<dyn EventSink>>,
}

impl MemoryBroker {
    /// A broker whose first event gets version 1.
    pub fn new() -> MemoryBroker {
        MemoryBroker::default()
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
        if let Some(sink) = &inner.sink {
            sink.deliver(event);
        }
        Box::pin(std::future::ready(Ok(version)))
    }

    fn publish_control(&self, event: ControlEvent) -> BoxFuture<'_, Result<u64, BrokerError>> {
        let mut inner = self.inner.lock();
        inner.version += 1;
        let version = inner.version;
        if let Some(sink) = &inner.sink {
            sink.control(version, Arc::new(event));
        }
        Box::pin(std::future::ready(Ok(version)))
    }

    fn attach(&self, sink: Arc<dyn EventSink>) {
        self.inner.lock().sink = Some(sink);
    }
}
