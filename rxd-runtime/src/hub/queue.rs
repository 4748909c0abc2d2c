//! The bounded queue from the hub to one connection.
//!
//! Every connection holds two (its frames and its notices), and most of
//! them are empty most of the time: an idle connection must cost almost
//! nothing. `tokio::sync::mpsc` allocates its first block of slots (32 of
//! them, a kilobyte for a frame) when the channel is made, and keeps it;
//! this queue allocates on the first item and frees what a burst grew once
//! it is drained. One mutex guards the items and the receiver's waker, held
//! only to push or pop, never across an await.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

/// A drained queue keeps at most this many slots.
const KEEP_SLOTS: usize = 16;

struct Shared<T> {
    state: Mutex<State<T>>,
    senders: AtomicUsize,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    waker: Option<Waker>,
    receiver_gone: bool,
}

/// Why [`Sender::try_send`] refused an item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The queue holds its capacity.
    Full,
    /// The receiver is gone.
    Closed,
}

/// The pushing end; cloning it adds a sender.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The popping end.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A queue of at most `capacity` items (at least one).
pub(crate) fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            waker: None,
            receiver_gone: false,
        }),
        senders: AtomicUsize::new(1),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or its receiver gone.
    pub(crate) fn try_send(&self, item: T) -> Result<(), SendError> {
        let waker = {
            let mut state = self.shared.state.lock();
            if state.receiver_gone {
                return Err(SendError::Closed);
            }
            if state.items.len() >= self.shared.capacity {
                return Err(SendError::Full);
            }
            state.items.push_back(item);
            state.waker.take()
        };
        // Woken outside the lock, so the receiver never wakes into it.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waker = self.shared.state.lock().waker.take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once it is empty and every sender is gone.
    /// Cancel-safe: dropping the future loses nothing.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        let mut state = self.shared.state.lock();
        pop(&mut state)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.state.lock();
        if let Some(item) = pop(&mut state) {
            return Poll::Ready(Some(item));
        }
        // Read under the lock: a last sender dropping after this takes
        // the waker stored below and wakes it.
        if self.shared.senders.load(Ordering::Acquire) == 0 {
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

fn pop<T>(state: &mut State<T>) -> Option<T> {
    let item = state.items.pop_front()?;
    if state.items.is_empty() && state.items.capacity() > KEEP_SLOTS {
        state.items = VecDeque::new();
    }
    Some(item)
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut state = self.shared.state.lock();
            state.receiver_gone = true;
            state.waker = None;
            std::mem::take(&mut state.items)
        };
        // Dropped outside the lock: an item's destructor may take locks.
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_come_out_in_order_and_the_bound_holds() {
        let (tx, mut rx) = bounded(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(SendError::Full));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(tx.try_send(3), Ok(()));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_a_send_from_another_task() {
        let (tx, mut rx) = bounded(4);
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        let sender = tokio::spawn(async move { tx.try_send("frame") });
        assert_eq!(sender.await.ok(), Some(Ok(())));
        assert_eq!(waiting.await.ok(), Some(Some("frame")));
    }

    #[tokio::test]
    async fn recv_ends_once_every_sender_is_gone_and_the_queue_is_drained() {
        let (tx, mut rx) = bounded(4);
        let second = tx.clone();
        assert_eq!(second.try_send(7), Ok(()));
        drop(tx);
        drop(second);
        assert_eq!(rx.recv().await, Some(7));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_receiver_waiting_when_the_last_sender_leaves_wakes_with_none() {
        let (tx, mut rx) = bounded::<u8>(4);
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        drop(tx);
        assert_eq!(waiting.await.ok(), Some(None));
    }

    #[test]
    fn sends_fail_once_the_receiver_is_gone_and_its_items_are_freed() {
        let (tx, rx) = bounded(4);
        let item = Arc::new(());
        assert_eq!(tx.try_send(item.clone()), Ok(()));
        drop(rx);
        assert_eq!(Arc::strong_count(&item), 1);
        assert_eq!(tx.try_send(item), Err(SendError::Closed));
    }

    #[test]
    fn a_drained_queue_gives_back_what_a_burst_grew() {
        let (tx, mut rx) = bounded(1_000);
        for i in 0..500 {
            assert_eq!(tx.try_send(i), Ok(()));
        }
        while rx.try_recv().is_some() {}
        assert!(rx.shared.state.lock().items.capacity() <= KEEP_SLOTS);
    }
}
