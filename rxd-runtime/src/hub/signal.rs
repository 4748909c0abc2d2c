//! A signal the hub raises on one connection: a queue overflowed, a resync
//! dropped an anchor, an order was given. They fire almost never, and every
//! connection waits on several of them for its whole life, so each is a
//! flag and a waker slot (32 bytes) rather than a `Notify`, whose waiter
//! (64 bytes a signal) the connection would otherwise hold to wait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// Raised by the hub, taken by the connection. A raise with no one waiting
/// is kept until taken, as `Notify::notify_one` keeps its permit; raises
/// before a take count as one.
#[derive(Default)]
pub(crate) struct Signal {
    raised: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    /// Raises the signal and wakes whoever waits on it.
    pub(crate) fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Takes the signal if it was raised; otherwise `cx` is woken when it is.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<()> {
        // Registered before the flag is read: a raise in between is seen.
        self.waker.register(cx.waker());
        if self.raised.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_raise_wakes_the_waiter_once_and_is_taken_once() {
        let signal = Arc::new(Signal::default());
        let waiting = tokio::spawn({
            let signal = signal.clone();
            async move { std::future::poll_fn(|cx| signal.poll_take(cx)).await }
        });
        tokio::task::yield_now().await;
        signal.raise();
        signal.raise();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the raise woke the waiter")
            .expect("the waiter ran");
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        assert_eq!(
            signal.poll_take(&mut cx),
            Poll::Pending,
            "two raises, one take"
        );
    }

    #[test]
    fn a_raise_before_the_wait_is_kept() {
        let signal = Signal::default();
        signal.raise();
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        assert_eq!(signal.poll_take(&mut cx), Poll::Ready(()));
        assert_eq!(signal.poll_take(&mut cx), Poll::Pending);
    }
}
