//! Admission of authenticated connections: connection limits per
//! principal and per process, and tokens that were revoked.
//!
//! The per-process limit is a counter of this process. Per-principal
//! limits and revoked tokens must hold across every process of a
//! deployment, so they live behind [`Admission`], which the broker
//! provides: [`MemoryAdmission`] for one process, a Redis one (leases that
//! expire when their process stops renewing them) with `RedisBroker`.
//!
//! Every slot taken is held by a guard that gives it back when the
//! connection ends, whichever way it ends: counters cannot leak.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::broker::BrokerError;
use crate::channel::BoxFuture;

/// What a connection asks of [`Admission::acquire`].
#[derive(Debug, Clone, Copy)]
pub struct SlotRequest<'a> {
    /// The principal's id ([`Authenticator::principal_id`](crate::Authenticator::principal_id)).
    pub principal: &'a str,
    /// [`token_hash`](crate::auth::token_hash) of the connection's token.
    pub token_hash: &'a str,
    /// The connection's id, unique in this process.
    pub connection: u64,
    /// At most this many connections of the principal in the deployment;
    /// `None`: no limit (only the revocation check runs).
    pub max: Option<usize>,
}

/// The answer to a [`SlotRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// The connection holds a slot; release it when it ends.
    Admitted,
    /// The token was revoked: close with 4030.
    Revoked,
    /// The principal holds `max` connections already: close with 4029.
    Full,
}

/// The deployment-wide part of admission: per-principal slots and revoked
/// tokens. Provided by the broker ([`Broker::admission`](crate::broker::Broker::admission)).
pub trait Admission: Send + Sync + 'static {
    /// Checks that the token is not revoked and, if `max` is set, takes
    /// one of the principal's slots. An error refuses the connection
    /// (4011): a limit that cannot be checked is not enforced by guessing.
    fn acquire<'a>(&'a self, request: SlotRequest<'a>)
        -> BoxFuture<'a, Result<Admit, BrokerError>>;

    /// Gives back a slot taken by [`acquire`](Admission::acquire) with a
    /// `max`. Never fails: a slot that cannot be given back expires with
    /// its lease.
    fn release(self: Arc<Self>, principal: &str, connection: u64);

    /// Refuses the token (by its hash) on later connects, in every
    /// process, for `ttl`.
    fn revoke(&self, token_hash: &str, ttl: Duration) -> BoxFuture<'_, Result<(), BrokerError>>;
}

/// Admission for one process: counters and revoked tokens in memory.
#[derive(Default)]
pub struct MemoryAdmission {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    /// Principal → connections holding a slot.
    slots: HashMap<String, usize>,
    /// Token hash → when the revocation ends.
    revoked: HashMap<String, Instant>,
}

impl Admission for MemoryAdmission {
    fn acquire<'a>(
        &'a self,
        request: SlotRequest<'a>,
    ) -> BoxFuture<'a, Result<Admit, BrokerError>> {
        let mut inner = self.inner.lock();
        let now = Instant::now();
        let revoked = inner
            .revoked
            .get(request.token_hash)
            .is_some_and(|until| *until > now);
        let admit = if revoked {
            Admit::Revoked
        } else if let Some(max) = request.max {
            let held = inner.slots.entry(request.principal.to_owned()).or_default();
            if *held >= max {
                Admit::Full
            } else {
                *held += 1;
                Admit::Admitted
            }
        } else {
            Admit::Admitted
        };
        Box::pin(std::future::ready(Ok(admit)))
    }

    fn release(self: Arc<Self>, principal: &str, _connection: u64) {
        let mut inner = self.inner.lock();
        if let Some(held) = inner.slots.get_mut(principal) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                inner.slots.remove(principal);
            }
        }
    }

    fn revoke(&self, token_hash: &str, ttl: Duration) -> BoxFuture<'_, Result<(), BrokerError>> {
        let mut inner = self.inner.lock();
        let now = Instant::now();
        inner.revoked.retain(|_, until| *until > now);
        inner.revoked.insert(token_hash.to_owned(), now + ttl);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// This process's admission: its own connection counter and the
/// deployment's [`Admission`].
pub(crate) struct Gate {
    pub(crate) admission: Arc<dyn Admission>,
    open: Arc<AtomicUsize>,
    /// Token hashes whose revocation reached this process, so that a token
    /// stays refused here while the shared admission cannot be asked.
    revoked_here: MemoryAdmission,
}

/// Why a connection was not admitted.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The process or the principal is at its limit.
    Full(&'static str),
    /// The token was revoked.
    Revoked,
    /// The shared admission failed.
    Failed(BrokerError),
}

/// The slots one connection holds; dropping it gives them back.
pub(crate) struct Slots {
    process: Option<Arc<AtomicUsize>>,
    principal: Option<(Arc<dyn Admission>, Arc<str>, u64)>,
}

impl Drop for Slots {
    fn drop(&mut self) {
        if let Some(open) = &self.process {
            open.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some((admission, principal, connection)) = &self.principal {
            admission.clone().release(principal, *connection);
        }
    }
}

impl Gate {
    pub(crate) fn new(admission: Arc<dyn Admission>) -> Gate {
        Gate {
            admission,
            open: Arc::new(AtomicUsize::new(0)),
            revoked_here: MemoryAdmission::default(),
        }
    }

    /// Remembers a revocation that reached this process.
    pub(crate) fn revoked(&self, token_hash: &str, ttl: Duration) {
        // MemoryAdmission answers at once; its future holds no work.
        drop(self.revoked_here.revoke(token_hash, ttl));
    }

    /// Admits a connection: this process's limit first (no shared work
    /// for a connection refused here), then the deployment's check.
    pub(crate) async fn admit(
        &self,
        principal: &Arc<str>,
        token_hash: &str,
        connection: u64,
        max_per_process: Option<usize>,
        max_per_principal: Option<usize>,
    ) -> Result<Slots, Refused> {
        let mut slots = Slots {
            process: None,
            principal: None,
        };
        if let Some(max) = max_per_process {
            self.open
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                    (open < max).then_some(open + 1)
                })
                .map_err(|_| Refused::Full("too many connections on this server"))?;
            slots.process = Some(self.open.clone());
        }
        let mut request = SlotRequest {
            principal,
            token_hash,
            connection,
            max: None,
        };
        if matches!(self.revoked_here.acquire(request).await, Ok(Admit::Revoked)) {
            return Err(Refused::Revoked);
        }
        request.max = max_per_principal;
        match self.admission.acquire(request).await {
            Ok(Admit::Admitted) => {
                if max_per_principal.is_some() {
                    slots.principal = Some((self.admission.clone(), principal.clone(), connection));
                }
                Ok(slots)
            }
            Ok(Admit::Revoked) => Err(Refused::Revoked),
            Ok(Admit::Full) => Err(Refused::Full("too many connections for this principal")),
            // With no limit to count, only revocations were asked: the
            // ones that reached this process were checked above. Serving
            // clients matters more while the shared store is away.
            Err(error) if max_per_principal.is_none() => {
                tracing::warn!(%error, "revoked tokens could not be checked; admitting");
                Ok(slots)
            }
            Err(error) => Err(Refused::Failed(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(connection: u64, token: &'static str) -> SlotRequest<'static> {
        SlotRequest {
            principal: "user:1",
            token_hash: token,
            connection,
            max: Some(2),
        }
    }

    #[tokio::test]
    async fn a_slot_comes_back_when_its_guard_drops() {
        let gate = Gate::new(Arc::new(MemoryAdmission::default()));
        let principal: Arc<str> = "user:1".into();
        let first = gate.admit(&principal, "t", 1, None, Some(2)).await.unwrap();
        let _second = gate.admit(&principal, "t", 2, None, Some(2)).await.unwrap();
        assert!(matches!(
            gate.admit(&principal, "t", 3, None, Some(2)).await,
            Err(Refused::Full(_))
        ));
        drop(first);
        assert!(gate.admit(&principal, "t", 4, None, Some(2)).await.is_ok());
    }

    #[tokio::test]
    async fn the_process_limit_counts_every_principal() {
        let gate = Gate::new(Arc::new(MemoryAdmission::default()));
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let held = gate.admit(&a, "t", 1, Some(1), None).await.unwrap();
        assert!(matches!(
            gate.admit(&b, "u", 2, Some(1), None).await,
            Err(Refused::Full(_))
        ));
        drop(held);
        assert!(gate.admit(&b, "u", 3, Some(1), None).await.is_ok());
    }

    #[tokio::test]
    async fn a_revoked_token_is_refused_until_its_ttl_ends() {
        let admission = MemoryAdmission::default();
        admission
            .revoke("bad", Duration::from_secs(60))
            .await
            .unwrap();
        admission.revoke("old", Duration::ZERO).await.unwrap();
        assert_eq!(
            admission.acquire(request(1, "bad")).await.unwrap(),
            Admit::Revoked
        );
        assert_eq!(
            admission.acquire(request(2, "old")).await.unwrap(),
            Admit::Admitted
        );
    }
}
