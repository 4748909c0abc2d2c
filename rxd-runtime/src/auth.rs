//! Authentication: credentials to a principal.

use std::future::Future;

use crate::channel::BoxFuture;

/// Turns a token into the principal that channels' `connect` receives.
///
/// The token comes from the first message (`{"type":"auth","token":...}`)
/// or from an `Authorization: Bearer <token>` header.
///
/// ```
/// use rxd::{AuthError, Authenticator};
///
/// #[derive(Clone)]
/// struct User { id: i64 }
///
/// struct StaticTokens;
///
/// impl Authenticator for StaticTokens {
///     type Principal = User;
///     async fn authenticate(&self, token: &str) -> Result<User, AuthError> {
///         match token {
///             "secret" => Ok(User { id: 1 }),
///             _ => Err(AuthError::InvalidToken),
///         }
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Who the token belongs to.
    type Principal: Clone + Send + Sync + 'static;

    /// Checks a token.
    fn authenticate(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Self::Principal, AuthError>> + Send;

    /// A stable id for the principal, the same in every process: what
    /// per-principal connection limits count (`Limits::max_connections_per_principal`)
    /// and what [`Hub::disconnect_principal`](crate::Hub::disconnect_principal)
    /// and [`Hub::recheck`](crate::Hub::recheck) name.
    ///
    /// The default, `None`, identifies a principal by its token: limits
    /// then count connections per token (`token:<sha-256 of the token>`).
    /// Return a user id (`Some(format!("user:{}", user.id))`) to count
    /// a user's connections whatever token they hold.
    fn principal_id(&self, principal: &Self::Principal) -> Option<String> {
        let _ = principal;
        None
    }

    /// The most connections this principal may hold at once across the
    /// deployment, when it has its own cap (a device token allowed one
    /// socket, say); `None` applies `Limits::max_connections_per_principal`.
    /// Counted like that limit: per [`Authenticator::principal_id`], in
    /// every process (through Redis with `RedisBroker`); over it, the
    /// connection closes with 4029.
    fn max_connections(&self, principal: &Self::Principal) -> Option<usize> {
        let _ = principal;
        None
    }
}

/// The SHA-256 of a token, in hex: how rxd names a token anywhere it is
/// shared (Redis keys, control events, logs), never the token itself.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Who a connection authenticated as, in the forms the runtime shares.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// [`Authenticator::principal_id`], or `token:<hash>`.
    pub(crate) principal: std::sync::Arc<str>,
    /// [`token_hash`] of the connection's token.
    pub(crate) token_hash: std::sync::Arc<str>,
    /// [`Authenticator::max_connections`].
    pub(crate) max_connections: Option<usize>,
}

/// An authenticated principal (type-erased) and its identity.
pub(crate) struct Authenticated {
    pub(crate) principal: Box<dyn std::any::Any + Send + Sync>,
    pub(crate) identity: Identity,
}

/// Why a token was refused. Both close the socket with 4001; `Internal` is
/// logged.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is unknown, expired or malformed.
    #[error("invalid token")]
    InvalidToken,
    /// The authenticator failed (a database error, say).
    #[error("authentication failed: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// [`Authenticator`] with its principal erased, so that `App` is one type.
pub(crate) trait ErasedAuthenticator: Send + Sync {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Authenticated, AuthError>>;
}

impl<A: Authenticator> ErasedAuthenticator for A {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Authenticated, AuthError>> {
        Box::pin(async move {
            let principal = Authenticator::authenticate(self, token).await?;
            let token_hash = token_hash(token);
            let id = self
                .principal_id(&principal)
                .unwrap_or_else(|| format!("token:{token_hash}"));
            let max_connections = self.max_connections(&principal);
            Ok(Authenticated {
                principal: Box::new(principal),
                identity: Identity {
                    principal: id.into(),
                    token_hash: token_hash.into(),
                    max_connections,
                },
            })
        })
    }
}
