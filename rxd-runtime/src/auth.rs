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
    ) -> BoxFuture<'a, Result<Box<dyn std::any::Any + Send + Sync>, AuthError>>;
}

impl<A: Authenticator> ErasedAuthenticator for A {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn std::any::Any + Send + Sync>, AuthError>> {
        Box::pin(async move {
            let principal = Authenticator::authenticate(self, token).await?;
            Ok(Box::new(principal) as Box<dyn std::any::Any + Send + Sync>)
        })
    }
}
