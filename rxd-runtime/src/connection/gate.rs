//! Admission after authentication (connection limits, revoked tokens) and
//! the hub's orders to a live connection (close, re-check permission).

use super::Ending;
use crate::app::AppInner;
use crate::auth::Identity;
use crate::channel::{Channel, Connect, Reject, RouteParams};
use crate::connection::Close;
use crate::hub::Order;
use crate::limits::{Refused, Slots};

/// Takes the connection's slots, or says why it may not stay. Runs after
/// authentication and before `connect` and the load, so that a refused
/// connection costs no database work.
pub(super) async fn admit(
    app: &AppInner,
    identity: &Identity,
    connection: u64,
) -> Result<Slots, Ending> {
    let limits = &app.limits;
    app.hub
        .inner
        .gate
        .admit(
            &identity.principal,
            &identity.token_hash,
            connection,
            limits.max_connections_per_process,
            identity
                .max_connections
                .or(limits.max_connections_per_principal),
        )
        .await
        .map_err(|refused| match refused {
            Refused::Full(reason) => Ending::new(Close::TooManyConnections, reason),
            Refused::Revoked => Ending::new(Close::Revoked, "token revoked"),
            Refused::Failed(error) => {
                tracing::error!(%error, "connection limits could not be checked");
                Ending::new(Close::ServerError, "connection limits unavailable")
            }
        })
}

/// Carries out an order of the hub: `Err` ends the connection.
pub(super) async fn obey<C: Channel>(
    app: &AppInner,
    order: Order,
    principal: &C::Principal,
    params: &RouteParams,
) -> Result<(), Ending> {
    match order {
        Order::Close(close, reason) => Err(Ending::new(close, reason)),
        Order::Recheck => {
            // A fresh `Connect`: groups it joins now are not joined again,
            // and the channel value it builds is dropped; only the answer
            // counts.
            let connect = Connect::new(app.data.clone(), params.clone());
            match C::rxd_connect(connect, principal.clone(), params.clone()).await {
                Ok(_) => Ok(()),
                Err(Reject::Forbidden) => {
                    Err(Ending::new(Close::Forbidden, "permission withdrawn"))
                }
                Err(Reject::NotFound) => Err(Ending::new(Close::NotFound, "not found")),
                Err(Reject::Internal(error)) => {
                    tracing::error!(%error, "connect failed during a re-check");
                    Err(Ending::new(Close::ServerError, "re-check failed"))
                }
            }
        }
    }
}
