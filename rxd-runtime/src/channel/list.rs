//! List channels: `#[rxd::channel(state = Vec<Task>, ...)]` shows a list of
//! anchors, chosen per connection by the channel's `anchors` and changed at
//! run time with [`Ctx::add_anchor`] and [`Ctx::remove_anchor`].

use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::Ctx;
use crate::state::{FlatInstance, Key};

/// Where [`Ctx::add_anchor`] puts an anchor in the connection's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Before every anchor the list shows.
    Start,
    /// After every anchor the list shows.
    End,
}

/// A change to one connection's list, run by its connection in order.
#[derive(Debug)]
pub(crate) enum ListOrder {
    Add(Key, At),
    Remove(Key),
}

/// A saved instance of a list channel's layer that the connection does not
/// show: its `is_visible` says whether to add it (at the end).
#[derive(Debug, Clone)]
pub struct Offer {
    instance: Arc<FlatInstance>,
}

impl Offer {
    pub(crate) fn new(instance: Arc<FlatInstance>) -> Offer {
        Offer { instance }
    }

    /// The instance's key.
    pub fn key(&self) -> &Key {
        &self.instance.id.key
    }

    /// A scalar field of the saved row, deserialized; `None` when it is
    /// absent or not a `T`. Relation fields hold the children's keys, not
    /// the children.
    pub fn field<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let value = self.instance.fields.get(name)?;
        T::deserialize(value).ok()
    }
}

/// The sending half of a list connection's orders.
pub(crate) type ListOrders = mpsc::UnboundedSender<ListOrder>;

impl Ctx {
    /// Adds the anchor `key` to this connection's list, at its start or
    /// end; its state is loaded (or joined, when hot) and sent to the client
    /// with the new list. Adding an anchor the list shows does nothing.
    /// Runs after the current action returns; on a channel that is not a
    /// list, it does nothing and logs a warning.
    pub fn add_anchor(&self, key: impl Into<Key>, at: At) {
        self.order_list(ListOrder::Add(key.into(), at));
    }

    /// Removes the anchor `key` from this connection's list; the client
    /// drops what only that anchor showed.
    pub fn remove_anchor(&self, key: impl Into<Key>) {
        self.order_list(ListOrder::Remove(key.into()));
    }

    fn order_list(&self, order: ListOrder) {
        match &self.list {
            // The connection may have ended; then there is no list to change.
            Some(orders) => {
                let _ = orders.send(order);
            }
            None => tracing::warn!(
                ?order,
                "add_anchor/remove_anchor on a channel that is not a list"
            ),
        }
    }
}
