//! Actions: typed server methods the browser calls over the channel's
//! socket (`#[action]` inside `#[rxd::channel]`).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Data, MissingData};
use crate::hub::Hub;
use crate::state::ts::TsType;

/// What an action (and later a consumer) gets besides its arguments.
#[derive(Clone)]
pub struct Ctx {
    data: Data,
    hub: Hub,
    runtime: Arc<RuntimeCell>,
    /// The connection's id in the hub's mailboxes, for groups.
    connection: u64,
    /// A list channel's orders to its connection.
    pub(super) list: Option<super::list::ListOrders>,
}

/// One connection's runtime state: the value, and whether the client has
/// seen its latest change.
pub(crate) struct RuntimeCell {
    value: Mutex<Box<dyn Any + Send>>,
    to_json: fn(&(dyn Any + Send)) -> Option<Value>,
    pub(crate) changed: tokio::sync::Notify,
}

impl RuntimeCell {
    pub(crate) fn new<R: Serialize + Send + 'static>(initial: R) -> RuntimeCell {
        RuntimeCell {
            value: Mutex::new(Box::new(initial)),
            to_json: |value| {
                let value = value.downcast_ref::<R>()?;
                serde_json::to_value(value).ok()
            },
            changed: tokio::sync::Notify::new(),
        }
    }

    /// The current value as JSON.
    pub(crate) fn json(&self) -> Value {
        (self.to_json)(&**self.value.lock()).unwrap_or(Value::Null)
    }
}

/// `update_runtime::<R>` named a type other than the channel's `runtime`.
#[derive(Debug, thiserror::Error)]
#[error("this channel's runtime state is not a {0}")]
pub struct RuntimeTypeMismatch(pub &'static str);

impl Ctx {
    /// Builds a context; the runtime does this once per connection.
    pub(crate) fn new(data: Data, hub: Hub, runtime: Arc<RuntimeCell>, connection: u64) -> Ctx {
        Ctx {
            data,
            hub,
            runtime,
            connection,
            list: None,
        }
    }

    /// The context of a list connection, whose list `orders` change.
    pub(crate) fn with_list(mut self, orders: super::list::ListOrders) -> Ctx {
        self.list = Some(orders);
        self
    }

    /// Adds this connection to `group`: events sent to it with
    /// [`Hub::send_event`] reach this channel's `#[consumer]` methods. The
    /// connection leaves every group when it closes.
    pub fn join(&self, group: &str) {
        self.hub.join_group(self.connection, group);
    }

    /// Takes this connection out of `group`.
    pub fn leave(&self, group: &str) {
        self.hub.leave_group(self.connection, group);
    }

    /// Changes this connection's runtime state (`#[rxd::channel(runtime =
    /// R)]`) and pushes it to the client. Changes made before an action
    /// returns reach the client before its reply; several changes in a row
    /// may reach it as one.
    pub fn update_runtime<R: Send + 'static>(
        &self,
        change: impl FnOnce(&mut R),
    ) -> Result<(), RuntimeTypeMismatch> {
        {
            let mut value = self.runtime.value.lock();
            let value = value
                .downcast_mut::<R>()
                .ok_or(RuntimeTypeMismatch(std::any::type_name::<R>()))?;
            change(value);
        }
        self.runtime.changed.notify_one();
        Ok(())
    }

    /// A copy of this connection's runtime state.
    pub fn runtime<R: Clone + Send + 'static>(&self) -> Result<R, RuntimeTypeMismatch> {
        self.runtime
            .value
            .lock()
            .downcast_ref::<R>()
            .cloned()
            .ok_or(RuntimeTypeMismatch(std::any::type_name::<R>()))
    }

    /// A value registered with `App::builder().data(...)`.
    pub fn data<T: Send + Sync + 'static>(&self) -> Result<&T, MissingData> {
        self.data.get()
    }

    /// The hub, to commit the action's writes.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

/// A failed action, answered to the caller as `{code, message, details?}`.
/// The socket stays open.
///
/// Any `std::error::Error` converts into an `internal` error whose message
/// says nothing of the cause (it is logged instead), so `?` on a database
/// call never leaks server internals to a browser.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ActionError {
    /// A stable, machine-readable code (`not_found`, `invalid`, ...).
    pub code: String,
    /// For humans.
    pub message: String,
    /// Structured details (which field, why), when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl ActionError {
    /// An error with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ActionError {
        ActionError {
            code: code.into(),
            message: message.into(),
            details: None,
        }
    }

    /// Adds structured details. A value that does not serialize leaves the
    /// details out.
    pub fn with_details(mut self, details: impl Serialize) -> ActionError {
        self.details = serde_json::to_value(details).ok();
        self
    }

    /// `unknown_action`: the channel has no action by that name.
    pub fn unknown_action(name: &str) -> ActionError {
        let shown: String = name.chars().take(64).collect();
        ActionError::new("unknown_action", format!("no action named {shown:?}"))
    }

    /// `bad_arguments`: wrong arity, or a parameter that does not
    /// deserialize (`details.param` names it).
    pub fn bad_arguments(message: impl Into<String>) -> ActionError {
        ActionError::new("bad_arguments", message)
    }

    /// `internal`: the server failed; the cause is in the server log.
    pub fn internal() -> ActionError {
        ActionError::new("internal", "internal error")
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ActionError {
    fn from(error: E) -> Self {
        tracing::error!(%error, "action failed");
        ActionError::internal()
    }
}

/// What codegen knows of an action.
#[derive(Debug)]
pub struct ActionDescriptor {
    /// The name on the wire: the Rust method name, or `#[action(name = ..)]`.
    pub name: &'static str,
    /// The parameters after the context, in order.
    pub params: Vec<ActionParam>,
    /// The TypeScript type of the `Ok` value.
    pub returns: TsType,
    /// The TypeScript type of an error's `details`, when the action
    /// declares it with `#[action(details = T)]`.
    pub details: Option<TsType>,
    /// The method's doc comment.
    pub doc: Option<String>,
}

/// One action parameter.
#[derive(Debug)]
pub struct ActionParam {
    /// The Rust parameter name.
    pub name: &'static str,
    /// What a client may send for it (`TypeScript::ts_input_type`).
    pub ty: TsType,
}

/// The arguments of one call, taken in order by the generated dispatcher.
#[doc(hidden)]
pub struct ActionArgs {
    args: std::vec::IntoIter<Value>,
}

impl ActionArgs {
    /// Checks the arity: at most `arity` arguments; missing trailing ones
    /// read as `null` (so trailing `Option` parameters may be left out).
    pub fn new(action: &str, args: Vec<Value>, arity: usize) -> Result<ActionArgs, ActionError> {
        if args.len() > arity {
            return Err(ActionError::bad_arguments(format!(
                "{action} takes {arity} argument(s), got {}",
                args.len()
            )));
        }
        Ok(ActionArgs {
            args: args.into_iter(),
        })
    }

    /// The next argument, deserialized; the error names the parameter.
    pub fn next<T: DeserializeOwned>(&mut self, param: &'static str) -> Result<T, ActionError> {
        let value = self.args.next().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|error| {
            ActionError::bad_arguments(format!("{param}: {error}"))
                .with_details(serde_json::json!({"param": param, "reason": error.to_string()}))
        })
    }
}

/// Serializes an action's `Ok` value.
#[doc(hidden)]
pub fn action_result<T: Serialize>(value: &T) -> Result<Value, ActionError> {
    serde_json::to_value(value).map_err(ActionError::from)
}
