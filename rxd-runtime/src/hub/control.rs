//! Control events in one process: system messages for every connection,
//! and consumer events for the connections that joined a group.
//!
//! Every connection opens an [`Inbox`] with the hub. The hub keeps the
//! inboxes and group memberships under their own lock (not the anchors'),
//! so a burst of consumer events never waits for state work, or the
//! reverse. A control event goes through the broker first, like a change,
//! so every process receives it in the deployment's one order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use super::revoke::Orders;
use super::{queue, Hub, Signal};
use crate::auth::Identity;
use crate::broker::{BrokerError, ControlEvent, SystemLevel, SystemMessage};
use crate::connection::frames::{self, Frame};

/// This process's connections, as the hub reaches them for control events.
#[derive(Default)]
pub(crate) struct Mailboxes {
    registry: Mutex<Registry>,
}

impl Mailboxes {
    /// How many connections' identities match.
    pub(super) fn count(&self, matches: impl Fn(&Identity) -> bool) -> usize {
        let registry = self.registry.lock();
        registry
            .connections
            .values()
            .filter(|m| matches(&m.identity))
            .count()
    }
}

#[derive(Default)]
pub(super) struct Registry {
    next_id: u64,
    pub(super) connections: HashMap<u64, Mailbox>,
    /// Group → the connections that joined it.
    groups: HashMap<String, HashSet<u64>>,
}

pub(super) struct Mailbox {
    notices: queue::Sender<Notice>,
    overflow: Arc<Signal>,
    groups: HashSet<String>,
    /// Who the connection authenticated as.
    pub(super) identity: Identity,
    /// Closes and re-checks, kept apart from the notices so that a full
    /// queue cannot lose them.
    pub(super) orders: Arc<Orders>,
}

/// What reaches one connection from the hub besides state deltas.
#[derive(Debug)]
pub(crate) enum Notice {
    /// A frame to send as it is (a system message, encoded once for all).
    Frame(Frame),
    /// An event for one of the channel's consumers.
    Event {
        /// The consumer's kind.
        kind: Arc<str>,
        /// The event as JSON; the consumer deserializes it.
        event: Arc<serde_json::Value>,
    },
}

/// One connection's mailbox for control events. Dropping it leaves every
/// group the connection joined.
pub(crate) struct Inbox {
    hub: Hub,
    /// The connection's id among this process's connections.
    pub(crate) id: u64,
    pub(crate) notices: queue::Receiver<Notice>,
    /// Raised when the connection fell more than `max_pending_frames`
    /// notices behind: it cannot keep up and is closed.
    pub(crate) overflow: Arc<Signal>,
    /// What the hub asks of the connection: close, or run `connect` again.
    pub(crate) orders: Arc<Orders>,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut registry = self.hub.inner.mailboxes.registry.lock();
        if let Some(mailbox) = registry.connections.remove(&self.id) {
            for group in mailbox.groups {
                registry.leave(self.id, &group);
            }
        }
    }
}

impl Registry {
    fn leave(&mut self, connection: u64, group: &str) {
        if let Some(members) = self.groups.get_mut(group) {
            members.remove(&connection);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
    }
}

/// A consumer event could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The event does not serialize to JSON.
    #[error("the event does not serialize: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The broker could not order the event.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl Hub {
    /// Sends a system message to every connection of the deployment (every
    /// process, with the Redis broker). Clients show `info` and `warning`;
    /// on `maintenance` they reconnect with backoff. Resolves once the
    /// message is ordered and handed to this process's connections.
    pub async fn system(
        &self,
        level: SystemLevel,
        message: impl Into<String>,
    ) -> Result<(), BrokerError> {
        let event = ControlEvent::System(SystemMessage {
            level,
            message: message.into(),
        });
        self.inner.broker.publish_control(event).await.map(drop)
    }

    /// Sends `event` to the `#[consumer("kind")]` method of every
    /// connection, in any process, that joined `group`. Connections whose
    /// channel has no consumer of `kind` ignore it.
    pub async fn send_event<E: Serialize + ?Sized>(
        &self,
        group: &str,
        kind: &str,
        event: &E,
    ) -> Result<(), SendError> {
        self.send_event_to_groups(&[group], kind, event).await
    }

    /// [`Hub::send_event`] to the connections of several groups, as one
    /// event: a connection in more than one of them runs its consumer once.
    /// Sends nothing when `groups` is empty.
    pub async fn send_event_to_groups<E: Serialize + ?Sized>(
        &self,
        groups: &[&str],
        kind: &str,
        event: &E,
    ) -> Result<(), SendError> {
        let Some((group, also)) = groups.split_first() else {
            return Ok(());
        };
        let event = ControlEvent::Group {
            group: (*group).to_owned(),
            also: also.iter().map(|g| (*g).to_owned()).collect(),
            kind: kind.to_owned(),
            event: serde_json::to_value(event)?,
        };
        self.inner.broker.publish_control(event).await?;
        Ok(())
    }

    /// Opens a connection's inbox.
    pub(crate) fn open_inbox(&self, identity: Identity) -> Inbox {
        let (notices, receiver) = queue::bounded(self.inner.limits.max_pending_frames);
        let overflow = Arc::new(Signal::default());
        let orders = Arc::new(Orders::default());
        let mut registry = self.inner.mailboxes.registry.lock();
        registry.next_id += 1;
        let id = registry.next_id;
        registry.connections.insert(
            id,
            Mailbox {
                notices,
                overflow: overflow.clone(),
                groups: HashSet::new(),
                identity,
                orders: orders.clone(),
            },
        );
        Inbox {
            hub: self.clone(),
            id,
            notices: receiver,
            overflow,
            orders,
        }
    }

    /// Adds a connection to a group. Joining twice is joining once.
    pub(crate) fn join_group(&self, connection: u64, group: &str) {
        let mut registry = self.inner.mailboxes.registry.lock();
        let Some(mailbox) = registry.connections.get_mut(&connection) else {
            return;
        };
        if mailbox.groups.insert(group.to_owned()) {
            registry
                .groups
                .entry(group.to_owned())
                .or_default()
                .insert(connection);
        }
    }

    /// Takes a connection out of a group.
    pub(crate) fn leave_group(&self, connection: u64, group: &str) {
        let mut registry = self.inner.mailboxes.registry.lock();
        let Some(mailbox) = registry.connections.get_mut(&connection) else {
            return;
        };
        if mailbox.groups.remove(group) {
            registry.leave(connection, group);
        }
    }

    /// Hands a control event to the connections it is for.
    pub(super) fn deliver_control(&self, event: &ControlEvent) {
        let registry = self.inner.mailboxes.registry.lock();
        let post = |mailbox: &Mailbox, notice: Notice| {
            if let Err(queue::SendError::Full) = mailbox.notices.try_send(notice) {
                mailbox.overflow.raise();
            }
        };
        match event {
            ControlEvent::System(message) => {
                let frame = frames::system(message);
                for mailbox in registry.connections.values() {
                    post(mailbox, Notice::Frame(frame.clone()));
                }
            }
            ControlEvent::Group {
                group,
                also,
                kind,
                event,
            } => {
                let (kind, event): (Arc<str>, _) = (kind.as_str().into(), Arc::new(event.clone()));
                let notify = |id: &u64| {
                    if let Some(mailbox) = registry.connections.get(id) {
                        let notice = Notice::Event {
                            kind: kind.clone(),
                            event: event.clone(),
                        };
                        post(mailbox, notice);
                    }
                };
                if also.is_empty() {
                    // One group: its members, with no copy of the set.
                    registry
                        .groups
                        .get(group)
                        .into_iter()
                        .flatten()
                        .for_each(notify);
                } else {
                    // Several: each connection once.
                    let members: std::collections::BTreeSet<&u64> = std::iter::once(group)
                        .chain(also)
                        .filter_map(|g| registry.groups.get(g))
                        .flatten()
                        .collect();
                    members.into_iter().for_each(notify);
                }
            }
            ControlEvent::Disconnect { .. }
            | ControlEvent::RevokeToken { .. }
            | ControlEvent::Recheck { .. } => super::revoke::deliver(self, &registry, event),
        }
    }

    /// The members of a group in this process, for tests and metrics.
    pub fn group_size(&self, group: &str) -> usize {
        let registry = self.inner.mailboxes.registry.lock();
        registry.groups.get(group).map_or(0, HashSet::len)
    }
}
