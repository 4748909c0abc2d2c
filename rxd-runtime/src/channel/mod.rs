//! Channels: what one WebSocket shows. A channel is a user type with
//! `connect` (permission) and `load` (cold state), made into a [`Channel`] by
//! `#[rxd::channel(state = Board, route = "/ws/boards/{board_id}")]`.

mod action;
mod consumer;
mod context;
mod error;
mod list;
pub mod write;

pub(crate) use action::RuntimeCell;
pub use action::{
    action_result, ActionArgs, ActionDescriptor, ActionError, ActionParam, Ctx, RuntimeTypeMismatch,
};
pub use consumer::{consumer_event, ConsumerError, ConsumerOutcome};
pub use context::{Connect, Data, Load, MissingData, RouteParams};
pub use error::{LoadError, Reject};
pub(crate) use list::ListOrder;
pub use list::{At, Offer};
pub use write::{
    Patch, PersistCreate, PersistDelete, PersistSave, Write, WriteDescriptor, WriteOp,
};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::state::ts::TsType;
use crate::state::{ContextState, Key, Layer};

/// A boxed, sendable future, as channel methods return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A channel: implemented by `#[rxd::channel]`, not by hand.
pub trait Channel: Sized + Send + Sync + 'static {
    /// The anchor layer: one value of it is one channel context.
    type State: ContextState;
    /// What the app's authenticator returns for a valid token.
    type Principal: Clone + Send + Sync + 'static;
    /// Per-connection values the server sets and the client reads
    /// (`#[rxd::channel(runtime = R)]`); `()` when the channel has none.
    type Runtime: Default + serde::Serialize + Send + 'static;

    /// Name, route, parameters and state, for the router and codegen.
    fn descriptor() -> ChannelDescriptor;

    /// Parses the route parameters, runs the user's `connect`, and returns
    /// the channel with the key of the anchor it shows.
    fn rxd_connect(
        ctx: Connect,
        principal: Self::Principal,
        params: RouteParams,
    ) -> BoxFuture<'static, Result<Connected<Self>, Reject>>;

    /// Runs the user's `load`: the state of the anchor `anchor`, cold from
    /// the database. (A channel of one anchor knows its key already.)
    fn rxd_load<'a>(
        &'a self,
        ctx: &'a Load,
        anchor: &'a Key,
    ) -> BoxFuture<'a, Result<Self::State, LoadError>>;

    /// A list channel's `anchors`: the keys of the anchors a new
    /// connection shows, in order.
    fn rxd_anchors<'a>(&'a self, ctx: &'a Load) -> BoxFuture<'a, Result<Vec<Key>, LoadError>> {
        let _ = ctx;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// A list channel's `is_visible`, asked about an instance of its layer
    /// that was saved and that the connection does not show.
    fn rxd_is_visible(self: Arc<Self>, ctx: Ctx, offer: Offer) -> BoxFuture<'static, bool> {
        let _ = (ctx, offer);
        Box::pin(async { false })
    }

    /// The channel's `ready`: the connection was admitted and its initial
    /// state sent. Runs once per connection (a live re-check runs
    /// `connect` again, never this), and the connection handles nothing
    /// else until it returns, so `disconnect` never overtakes it.
    /// `None` when the channel defines none: no allocation per connection.
    /// Borrows, so that a channel without the hook clones nothing.
    fn rxd_ready(channel: &Arc<Self>, ctx: &Ctx) -> Option<BoxFuture<'static, ()>> {
        let _ = (channel, ctx);
        None
    }

    /// The channel's `disconnect`: the connection that `connect` admitted
    /// has ended, for whatever reason. Runs once, after the connection's
    /// running calls were cancelled. Not run when the process dies: state
    /// kept elsewhere for a connection (presence, say) needs an expiry too.
    /// `None` when the channel defines none: no task per closed connection.
    fn rxd_disconnect(channel: &Arc<Self>, ctx: &Ctx) -> Option<BoxFuture<'static, ()>> {
        let _ = (channel, ctx);
        None
    }

    /// Starts the action `action` with JSON arguments: an error at once for
    /// an unknown action or bad arguments, else the call's future.
    fn rxd_call(
        self: Arc<Self>,
        ctx: Ctx,
        action: &str,
        args: Vec<Value>,
    ) -> Result<BoxFuture<'static, Result<Value, ActionError>>, ActionError> {
        let _ = (ctx, args);
        Err(ActionError::unknown_action(action))
    }

    /// Starts the `#[consumer(kind)]` method for one event; `None` when
    /// the channel has no consumer of `kind`.
    fn rxd_consume(
        self: Arc<Self>,
        ctx: Ctx,
        kind: &str,
        event: Arc<Value>,
    ) -> Option<BoxFuture<'static, Result<(), ConsumerError>>> {
        let _ = (ctx, kind, event);
        None
    }

    /// Runs a browser write that passed rxd's checks: the channel's
    /// `can_*` hook, then the layer's persistence code, then the batch's
    /// commit. Denies when the channel declares no writes.
    fn rxd_write(
        self: Arc<Self>,
        ctx: Ctx,
        write: Write,
    ) -> BoxFuture<'static, Result<Value, ActionError>> {
        let _ = (ctx, write);
        Box::pin(async { Err(write::forbidden()) })
    }
}

/// A channel value that `connect` admitted, with its anchor's key.
pub struct Connected<C> {
    /// The user's channel value.
    pub channel: C,
    /// The key of the anchor instance this connection shows; `None` for a
    /// list channel, whose `anchors` names them.
    pub anchor: Option<Key>,
}

/// What the router and codegen know of a channel.
#[derive(Debug)]
pub struct ChannelDescriptor {
    /// The Rust type name, also the generated TypeScript class name.
    pub name: &'static str,
    /// The axum route, `/ws/boards/{board_id}`.
    pub route: &'static str,
    /// The route parameters in route order, with their types.
    pub params: Vec<RouteParam>,
    /// The route parameter that is the anchor's key; `None` for a list
    /// channel.
    pub anchor_param: Option<&'static str>,
    /// The anchor layer (of each anchor, for a list channel).
    pub state: fn() -> &'static Layer,
    /// `state = Vec<T>`: the channel shows a list of anchors.
    pub list: bool,
    /// A list channel with `is_visible`: saved instances of its layer are
    /// offered to each connection.
    pub auto_update: bool,
    /// The actions, in declaration order.
    pub actions: Vec<ActionDescriptor>,
    /// The runtime state's TypeScript type, when the channel declares one.
    pub runtime: Option<TsType>,
    /// The layers the browser may write (`writable(...)`), in declaration
    /// order.
    pub writes: Vec<WriteDescriptor>,
    /// The doc comment of the channel's impl block.
    pub doc: Option<String>,
}

/// One route parameter.
#[derive(Debug)]
pub struct RouteParam {
    /// Its name in the route.
    pub name: &'static str,
    /// The TypeScript type of the matching `connect` argument.
    pub ty: TsType,
}
