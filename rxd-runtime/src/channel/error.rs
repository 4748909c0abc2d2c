use std::fmt;

/// Why `connect` refused a connection. Each variant closes the socket with
/// its own documented close code (see `docs/PROTOCOL.md`).
///
/// Any `std::error::Error` converts into [`Reject::Internal`], so `?` works
/// on database calls inside `connect`.
pub enum Reject {
    /// The principal may not see this anchor (close 4003).
    Forbidden,
    /// The anchor does not exist, or a route parameter does not parse
    /// (close 4004).
    NotFound,
    /// The server failed; the message is logged, not sent (close 4011).
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Reject {
    fn from(error: E) -> Self {
        Reject::Internal(Box::new(error))
    }
}

impl fmt::Debug for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Forbidden => f.write_str("Forbidden"),
            Reject::NotFound => f.write_str("NotFound"),
            Reject::Internal(e) => write!(f, "Internal({e})"),
        }
    }
}

/// Why `load` produced no state.
///
/// Any `std::error::Error` converts into [`LoadError::Internal`].
pub enum LoadError {
    /// The anchor does not exist (close 4004).
    NotFound,
    /// The server failed; logged, not sent (close 4011).
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for LoadError {
    fn from(error: E) -> Self {
        LoadError::Internal(Box::new(error))
    }
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound => f.write_str("NotFound"),
            LoadError::Internal(e) => write!(f, "Internal({e})"),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound => f.write_str("not found"),
            LoadError::Internal(e) => write!(f, "{e}"),
        }
    }
}
