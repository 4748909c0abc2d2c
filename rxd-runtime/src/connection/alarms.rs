//! The rare signals a connection waits on: its queues overflowed, a resync
//! dropped an anchor it shows, the hub gave it an order, the app shuts
//! down. They fire almost never, but polling each of them on every turn
//! of the connection's loop (every delta, every call) would cost atomics
//! per signal per turn. Here they wait registered once, behind their own
//! waker, and the loop polls them only after one of them woke.
//!
//! The hub's signals are [`Signal`]s, a flag and a waker slot each; only
//! the shutdown, a `watch`, needs a future, boxed until it fires.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::sync::watch;

use crate::hub::{FeedSignals, Orders, Signal};

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
    /// The app is shutting down. It fires once.
    ShutDown,
}

/// The signals, armed; resolves with the first that fires (in the order
/// of [`Alarm`]'s variants when several did), and can be polled again to
/// keep waiting for the others.
pub(super) struct Alarms {
    woken: Arc<Woken>,
    feed: Arc<FeedSignals>,
    notices_overflow: Arc<Signal>,
    orders: Arc<Orders>,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
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
    /// Arms the signals; `shutdown` is the app's shutdown flag.
    pub(super) fn arm(
        feed: Arc<FeedSignals>,
        notices_overflow: Arc<Signal>,
        orders: Arc<Orders>,
        shutdown: watch::Receiver<bool>,
    ) -> Alarms {
        Alarms {
            // Set, so that the first poll registers the waiters.
            woken: Arc::new(Woken {
                flag: AtomicBool::new(true),
                connection: AtomicWaker::new(),
            }),
            feed,
            notices_overflow,
            orders,
            shutdown: Some(Box::pin(shut_down(shutdown))),
        }
    }

    /// Polls every signal with the alarms' own waker.
    fn poll_signals(&mut self) -> Poll<Alarm> {
        let waker = Waker::from(self.woken.clone());
        let cx = &mut Context::from_waker(&waker);
        let hub_signals = [
            (&self.feed.overflow, Alarm::FramesOverflow),
            (&self.feed.dropped, Alarm::AnchorDropped),
            (&*self.notices_overflow, Alarm::NoticesOverflow),
            (&self.orders.given, Alarm::Order),
        ];
        for (signal, alarm) in hub_signals {
            if signal.poll_take(cx).is_ready() {
                return Poll::Ready(alarm);
            }
        }
        if let Some(shutdown) = &mut self.shutdown {
            if shutdown.as_mut().poll(cx).is_ready() {
                self.shutdown = None;
                return Poll::Ready(Alarm::ShutDown);
            }
        }
        Poll::Pending
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
        let fired = self.poll_signals();
        if fired.is_ready() {
            // The signals after the one that fired were not polled: the
            // next poll looks at them all again.
            self.woken.flag.store(true, Ordering::Release);
        }
        fired
    }
}

/// Resolves once the app shuts down; never if the app is gone. (The
/// `watch::Ref` that `wait_for` returns must not live across an await: it
/// is not `Send`.)
async fn shut_down(mut shutdown: watch::Receiver<bool>) {
    if shutdown.wait_for(|down| *down).await.is_err() {
        // The app is gone and will never shut down.
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn armed() -> (
        Alarms,
        Arc<FeedSignals>,
        Arc<Signal>,
        Arc<Orders>,
        watch::Sender<bool>,
    ) {
        let feed = Arc::new(FeedSignals::default());
        let notices = Arc::new(Signal::default());
        let orders = Arc::new(Orders::default());
        let (shutdown, receiver) = watch::channel(false);
        let alarms = Alarms::arm(feed.clone(), notices.clone(), orders.clone(), receiver);
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
                    feed.overflow.raise();
                    Alarm::FramesOverflow
                }
                1 => {
                    feed.dropped.raise();
                    Alarm::AnchorDropped
                }
                2 => {
                    notices.raise();
                    Alarm::NoticesOverflow
                }
                3 => {
                    orders.given.raise();
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
        feed.dropped.raise();
        assert_eq!((&mut alarms).now_or_never(), Some(Alarm::AnchorDropped));
    }

    #[tokio::test]
    async fn after_one_fires_the_others_still_wait_and_shutdown_fires_once() {
        let (mut alarms, _feed, _notices, orders, shutdown) = armed();
        orders.given.raise();
        shutdown.send_replace(true);
        assert_eq!((&mut alarms).now_or_never(), Some(Alarm::Order));
        assert_eq!((&mut alarms).now_or_never(), Some(Alarm::ShutDown));
        assert_eq!((&mut alarms).now_or_never(), None, "each fires once");
        let waiting = tokio::spawn(alarms);
        tokio::task::yield_now().await;
        orders.given.raise();
        let fired = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the order woke its task")
            .expect("the task ran");
        assert_eq!(fired, Alarm::Order);
    }

    #[tokio::test]
    async fn a_shutdown_under_way_when_armed_fires_at_once() {
        let (_shutdown, receiver) = watch::channel(true);
        let mut alarms = Alarms::arm(Arc::default(), Arc::default(), Arc::default(), receiver);
        assert_eq!((&mut alarms).now_or_never(), Some(Alarm::ShutDown));
    }
}
