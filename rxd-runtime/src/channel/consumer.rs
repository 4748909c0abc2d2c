//! What `#[consumer("kind")]` methods need from the runtime.

use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A consumer could not handle an event. The runtime logs it and the
/// connection goes on: an event has no caller to answer.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// The event does not deserialize into the consumer's event type.
    #[error("a {kind:?} event does not deserialize: {error}")]
    BadEvent {
        /// The event kind.
        kind: String,
        /// Why.
        error: serde_json::Error,
    },
    /// The consumer returned an error.
    #[error("{0}")]
    Failed(String),
}

/// What a consumer may return: `()`, or `Result<(), E>` with a
/// displayable `E` (logged when it is an error).
#[diagnostic::on_unimplemented(
    message = "a consumer returns `()` or `Result<(), E>` with `E: Display`, not `{Self}`",
    label = "a consumer's result has no caller to go to: return `()` or `Result<(), E>`"
)]
pub trait ConsumerOutcome {
    /// `Ok` when the consumer handled the event.
    fn into_outcome(self) -> Result<(), ConsumerError>;
}

impl ConsumerOutcome for () {
    fn into_outcome(self) -> Result<(), ConsumerError> {
        Ok(())
    }
}

impl<E: Display> ConsumerOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), ConsumerError> {
        self.map_err(|error| ConsumerError::Failed(error.to_string()))
    }
}

/// Deserializes a consumer's event; generated code calls it.
pub fn consumer_event<E: DeserializeOwned>(kind: &str, event: &Value) -> Result<E, ConsumerError> {
    E::deserialize(event).map_err(|error| ConsumerError::BadEvent {
        kind: kind.to_owned(),
        error,
    })
}
