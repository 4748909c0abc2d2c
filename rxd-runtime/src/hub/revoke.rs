//! Revocation and permission re-checks: the hub closes a principal's
//! connections, or a token's, in every process, or makes them run
//! `connect` again.
//!
//! Each is a control event, so it reaches every process through the
//! broker. A process scans its own connections for the ones it names
//! (rare operations: a scan costs less than an index kept up to date on
//! every connect) and gives each an [`Order`], which the connection's loop
//! carries out.

use parking_lot::Mutex;

use super::control::{Mailbox, Registry};
use super::{Hub, Signal};
use crate::auth::token_hash;
use crate::broker::{BrokerError, ControlEvent};
use crate::connection::Close;

/// What the hub asks of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Close with this code and reason.
    Close(Close, &'static str),
    /// Run the channel's `connect` again; close if it refuses.
    Recheck,
}

/// One connection's pending order. A close outranks a re-check: once a
/// connection is to close, nothing else matters.
#[derive(Default)]
pub(crate) struct Orders {
    pending: Mutex<Option<Order>>,
    /// Raised when an order is given.
    pub(crate) given: Signal,
}

impl Orders {
    fn give(&self, order: Order) {
        let mut pending = self.pending.lock();
        if !matches!(*pending, Some(Order::Close(..))) {
            *pending = Some(order);
        }
        drop(pending);
        self.given.raise();
    }

    /// Takes the pending order, if any.
    pub(crate) fn take(&self) -> Option<Order> {
        self.pending.lock().take()
    }
}

/// Gives the connections of this process that `event` names their order.
pub(super) fn deliver(hub: &Hub, registry: &Registry, event: &ControlEvent) {
    if let ControlEvent::RevokeToken { token_hash } = event {
        hub.inner
            .gate
            .revoked(token_hash, hub.inner.limits.revoked_token_ttl);
    }
    let (target, order) = match event {
        ControlEvent::Disconnect { principal } => (
            Target::Principal(principal),
            Order::Close(Close::Revoked, "principal disconnected"),
        ),
        ControlEvent::RevokeToken { token_hash } => (
            Target::Token(token_hash),
            Order::Close(Close::Revoked, "token revoked"),
        ),
        ControlEvent::Recheck { principal } => (Target::Principal(principal), Order::Recheck),
        _ => return,
    };
    let matches = |mailbox: &&Mailbox| match target {
        Target::Principal(principal) => *mailbox.identity.principal == *principal,
        Target::Token(hash) => *mailbox.identity.token_hash == *hash,
    };
    for mailbox in registry.connections.values().filter(matches) {
        mailbox.orders.give(order);
    }
}

/// Which connections an event names.
enum Target<'a> {
    Principal(&'a str),
    Token(&'a str),
}

impl Hub {
    /// Closes every connection of a principal, in every process, with 4030
    /// (`revoked`); clients do not reconnect. The principal may connect
    /// again later: to keep them out, also revoke their tokens
    /// ([`revoke_token`](Hub::revoke_token)) or make `connect` refuse them.
    /// `principal` is the id of [`Authenticator::principal_id`](crate::Authenticator::principal_id).
    /// Resolves once every process has been told (this one has closed
    /// them or is closing them).
    pub async fn disconnect_principal(&self, principal: &str) -> Result<(), BrokerError> {
        let event = ControlEvent::Disconnect {
            principal: principal.to_owned(),
        };
        self.inner.broker.publish_control(event).await.map(drop)
    }

    /// Revokes a token: every connection that authenticated with it, in
    /// every process, closes with 4030 (`revoked`), and connects with it
    /// are refused with 4030 for `Limits::revoked_token_ttl` (set it to at
    /// least your tokens' lifetime). Only the token's SHA-256 is shared.
    pub async fn revoke_token(&self, token: &str) -> Result<(), BrokerError> {
        let hash = token_hash(token);
        // Remembered before the event goes out: a connect that misses the
        // event (its inbox opened after delivery) finds the hash instead.
        self.inner
            .gate
            .admission
            .revoke(&hash, self.inner.limits.revoked_token_ttl)
            .await?;
        let event = ControlEvent::RevokeToken { token_hash: hash };
        self.inner.broker.publish_control(event).await.map(drop)
    }

    /// Tells every connection of a principal, in every process, to run its
    /// channel's `connect` again with its principal and route parameters:
    /// call it when the app changed what the principal may see. A
    /// connection whose `connect` now refuses closes with 4003
    /// (`Forbidden`) or 4004 (`NotFound`); one whose `connect` fails closes
    /// with 4011 and its client reconnects. Groups that `connect` joins
    /// during a re-check are not joined again.
    pub async fn recheck(&self, principal: &str) -> Result<(), BrokerError> {
        let event = ControlEvent::Recheck {
            principal: principal.to_owned(),
        };
        self.inner.broker.publish_control(event).await.map(drop)
    }

    /// This process's connections of a principal, for tests and metrics.
    pub fn principal_connections(&self, principal: &str) -> usize {
        self.inner
            .mailboxes
            .count(|identity| *identity.principal == *principal)
    }
}
