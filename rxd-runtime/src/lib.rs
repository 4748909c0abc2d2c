//! rxd: real-time state sync between Rust servers and React front ends.
//!
//! Derive [`ContextState`] on nested structs, write a channel with
//! [`channel`](macro@channel), register it in an [`App`], and mount
//! [`App::router`] into your axum `Router`. Writes go through the [`Hub`]:
//! commit a [`Batch`] after the database transaction and every browser that
//! shows a changed row receives it.
//!
//! See `docs/GUIDE.md` for a walk from `cargo new` to a live page, and
//! `docs/PROTOCOL.md` for the wire protocol.

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod broker;
pub mod channel;
pub mod client;
pub mod codegen;
pub mod connection;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod state;

pub use app::{App, AppBuilder, Limits};
pub use auth::{AuthError, Authenticator};
pub use channel::{
    ActionError, At, Channel, Connect, Ctx, Load, LoadError, Offer, Patch, PersistCreate,
    PersistDelete, PersistSave, Reject, Write, WriteOp,
};
pub use hub::{Batch, CommitError, Hub};
pub use state::ts::{TsType, TypeScript};
pub use state::{ContextState, InstanceId, Key};

/// Turns an `impl` block with `connect`, `load` and `#[action]` methods
/// into a [`Channel`].
pub use rxd_macros::channel;
/// Derives [`ContextState`] (and [`TypeScript`]) for one layer of a state tree.
pub use rxd_macros::ContextState;
/// Derives [`TypeScript`] for a plain value type used inside state.
pub use rxd_macros::TypeScript;

/// Support for the code that `rxd-macros` emits. Not a public API.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    pub use crate::channel::write::finish_write;
    pub use crate::channel::{
        action_result, consumer_event, ActionArgs, ActionDescriptor, ActionParam, BoxFuture,
        ChannelDescriptor, Connected, ConsumerOutcome, RouteParam, WriteDescriptor,
    };
    pub use crate::state::ts::{NamedType, TsDecl, TsField};
    pub use crate::state::{
        Cardinality, FieldType, Layer, LayerField, ParentLink, Relation, WritableField,
    };
    pub use serde_json;
    pub use std::sync::OnceLock;

    /// Tells a nested layer from a plain value by autoref specialization:
    /// `(&&Probe::<Full, Inner>::new()).rxd_field_type(card)` picks
    /// [`LayerProbe`] when `Inner: ContextState`, else [`ValueProbe`].
    pub struct Probe<Full: ?Sized, Inner: ?Sized>(PhantomData<Full>, PhantomData<Inner>);

    impl<Full: ?Sized, Inner: ?Sized> Probe<Full, Inner> {
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            Probe(PhantomData, PhantomData)
        }
    }

    /// The nested-layer arm of [`Probe`].
    pub trait LayerProbe {
        fn rxd_field_type(&self, cardinality: Cardinality) -> FieldType;
    }

    impl<Full: ?Sized, Inner: crate::ContextState> LayerProbe for &Probe<Full, Inner> {
        fn rxd_field_type(&self, cardinality: Cardinality) -> FieldType {
            FieldType::Relation(Relation {
                target: Inner::layer,
                cardinality,
            })
        }
    }

    /// The plain-value arm of [`Probe`].
    pub trait ValueProbe {
        fn rxd_field_type(&self, cardinality: Cardinality) -> FieldType;
    }

    impl<Full: crate::TypeScript + ?Sized, Inner: ?Sized> ValueProbe for Probe<Full, Inner> {
        fn rxd_field_type(&self, _cardinality: Cardinality) -> FieldType {
            FieldType::Value(Full::ts_type())
        }
    }
}
