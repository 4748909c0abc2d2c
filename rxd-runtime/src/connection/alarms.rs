//! The rare signals a connection waits on: its queues overflowed, a resync
//! dropped an anchor it shows, the hub gave it an order, the app shuts
//! down. They fire almost never, but polling each of them on every turn
//! of the connection's loop (every delta, every call) locked each one's
//! waiter list, registered a waiter and unlinked it again. Here they wait
//! registered once, and the loop polls them only after one of them woke.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::sync::{watch, Notify};

use crate::hub::{FeedSignals, Orders};

/// Which signal fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alarm {
    /// More than `max_pending_frames` deltas are queued for the client.
    FramesOverflow,
    /// A resync dropped an anchor the connection shows.
    AnchorDropped,
    /// More than `max_pending_frames` notices are queued.
    NoticesOverflow,
    /// The hub gave an order (`Orders::take` has it).
    Order,
    /// The app is shutting down.
    ShutDown,
}

/// The signals, armed; resolves with the first that fires. Arm again
/// after it resolves to keep waiting.
pub(super) struct Alarms {
    woken: Arc<Woken>,
    signals: Pin<Box<dyn Future<Output = Alarm> + Send>>,
}

/// Set when a signal's waiter is woken; carries the connection's waker.
struct Woken {
    flag: AtomicBool,
    connection: AtomicWaker,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::Release);
        self.connection.wake();
    }
}

impl Alarms {
    /// Arms the signals; `shutdown` is `None` once the shutdown was seen.
    pub(super) fn arm(
        feed: Arc<FeedSignals>,
        notices_overflow: Arc<Notify>,
        orders: Arc<Orders>,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> Alarms {
        let signals = async move {
            tokio::select! {
                biased;
                _ = feed.overflow.notified() => Alarm::FramesOverflow,
                _ = feed.dropped.notified() => Alarm::AnchorDropped,
                _ = notices_overflow.notified() => Alarm::NoticesOverflow,
                _ = orders.given.notified() => Alarm::Order,
                () = shut_down(shutdown) => Alarm::ShutDown,
            }
        };
        Alarms {
            // Set, so that the first poll registers the waiters.
            woken: Arc::new(Woken {
                flag: AtomicBool::new(true),
                connection: AtomicWaker::new(),
            }),
            signals: Box::pin(signals),
        }
    }
}

impl Future for Alarms {
    type Output = Alarm;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Alarm> {
        // Registered before the flag is read: a wake in between is seen.
        self.woken.connection.register(cx.waker());
        if !self.woken.flag.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = Waker::from(self.woken.clone());
        self.signals.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

/// Resolves once the app shuts down; never without a receiver. (The
/// `watch::Ref` that `wait_for` returns must not live across an await: it
/// is not `Send`.)
async fn shut_down(shutdown: Option<watch::Receiver<bool>>) {
    if let Some(mut shutdown) = shutdown {
        if shutdown.wait_for(|down| *down).await.is_ok() {
            return;
        }
    }
    // No receiver, or the app is gone and will never shut down.
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn armed() -> (
        Alarms,
        Arc<FeedSignals>,
        Arc<Notify>,
        Arc<Orders>,
        watch::Sender<bool>,
    ) {
        let feed = Arc::new(FeedSignals::default());
        let notices = Arc::new(Notify::new());
        let orders = Arc::new(Orders::default());
        let (shutdown, receiver) = watch::channel(false);
        let alarms = Alarms::arm(
            feed.clone(),
            notices.clone(),
            orders.clone(),
            Some(receiver),
        );
        (alarms, feed, notices, orders, shutdown)
    }

    #[tokio::test]
    async fn each_signal_wakes_the_waiting_connection() {
        for fire in 0..5 {
            let (mut alarms, feed, notices, orders, shutdown) = armed();
            assert_eq!((&mut alarms).now_or_never(), None, "nothing fired yet");
            let waiting = tokio::spawn(alarms);
            tokio::task::yield_now().await;
            let expected = match fire {
                0 => {
                    feed.overflow.notify_one();
                    Alarm::FramesOverflow
                }
                1 => {
                    feed.dropped.notify_one();
                    Alarm::AnchorDropped
                }
                2 => {
                    notices.notify_one();
                    Alarm::NoticesOverflow
                }
                3 => {
                    orders.given.notify_one();
                    Alarm::Order
                }
                _ => {
                    shutdown.send_replace(true);
                    Alarm::ShutDown
                }
            };
            let fired = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
                .await
                .expect("the alarm woke its task")
                .expect("the task ran");
            assert_eq!(fired, expected);
        }
    }

    #[tokio::test]
    async fn a_signal_given_before_the_first_poll_is_not_lost() {
        let (mut alarms, feed, _notices, _orders, _shutdown) = armed();
        feed.dropped.notify_one();
        assert_eq!((&mut alarms).now_or_never(), Some(Alarm::AnchorDropped));
    }

    #[tokio::test]
    async fn a_shutdown_under_way_when_armed_fires_at_once() {
        let (_shutdown, receiver) = watch::channel(true);
        let mut alarms = Alarms::arm(
            Arc::default(),
            Arc::default(),
            Arc::default(),
            Some(receiver),
        );
        assert_eq!((&mut alarms).now_or_never(), Some(Alarm::ShutDown));
    }
}
