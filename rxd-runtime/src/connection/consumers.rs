//! A connection's consumer events, handled one at a time in arrival order,
//! so that a consumer sees the effects of the one before it.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;
use tokio::task::JoinSet;

use super::{Close, Ending};
use crate::channel::{Channel, Ctx};

pub(super) struct Consumers<C> {
    channel: Arc<C>,
    ctx: Ctx,
    /// The consumer running now, if any; dropping the set cancels it.
    running: JoinSet<()>,
    /// Events waiting for it.
    backlog: VecDeque<(Arc<str>, Arc<Value>)>,
    /// How many events may wait before the connection counts as too slow.
    limit: usize,
}

impl<C: Channel> Consumers<C> {
    pub(super) fn new(channel: Arc<C>, ctx: Ctx, limit: usize) -> Self {
        Consumers {
            channel,
            ctx,
            running: JoinSet::new(),
            backlog: VecDeque::new(),
            limit,
        }
    }

    /// Whether a consumer is running.
    pub(super) fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    /// Runs the event's consumer now, or after those before it.
    pub(super) fn offer(&mut self, kind: Arc<str>, event: Arc<Value>) -> Result<(), Ending> {
        if self.busy() {
            if self.backlog.len() >= self.limit {
                return Err(Ending::new(
                    Close::TooSlow,
                    "too many consumer events pending",
                ));
            }
            self.backlog.push_back((kind, event));
        } else {
            self.start(kind, event);
        }
        Ok(())
    }

    /// Waits for the running consumer, then starts the next waiting one.
    /// Poll it only while [`busy`](Self::busy).
    pub(super) async fn next(&mut self) {
        let _ = self.running.join_next().await;
        while let Some((kind, event)) = self.backlog.pop_front() {
            if self.start(kind, event) {
                break;
            }
        }
    }

    /// Starts the consumer of `kind`; `false` if the channel has none.
    fn start(&mut self, kind: Arc<str>, event: Arc<Value>) -> bool {
        let Some(consume) = self
            .channel
            .clone()
            .rxd_consume(self.ctx.clone(), &kind, event)
        else {
            tracing::debug!(%kind, "no consumer of this kind; event ignored");
            return false;
        };
        self.running.spawn(async move {
            match std::panic::AssertUnwindSafe(consume).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%kind, %error, "consumer failed"),
                Err(_) => tracing::error!(%kind, "consumer panicked"),
            }
        });
        true
    }
}
