//! Procedural macros for rxd: `#[derive(ContextState)]`,
//! `#[derive(TypeScript)]` and `#[rxd::channel]`.
//!
//! Use them through the `rxd` crate, which re-exports them; the code they
//! emit names `::rxd::...` paths. Each macro parses its input into an IR,
//! checks it, and expands it; every mistake is reported with a span, and a
//! failed expansion still emits a stub impl of its trait so that one mistake
//! gives one error.

#![warn(missing_docs)]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attr;
mod case;
mod channel;
mod consumer;
mod context_state;
mod typescript;

/// Derives `rxd::ContextState` (and `rxd::TypeScript`) for one layer of a
/// state tree: a struct with named fields and a key field.
///
/// ```ignore
/// #[derive(ContextState, Serialize, Deserialize, Clone)]
/// pub struct Column {
///     pub id: i64,                          // the key: `id`, or `#[rxd(key)]`
///     #[rxd(parent = Board::columns)]       // a new Column belongs in its board's `columns`
///     pub board_id: i64,
///     pub cards: Vec<Card>,                 // a nested layer: Vec<T>, T or Option<T>
///     #[serde(with = "my_dates")]
///     #[rxd(ts = "string")]                 // the TypeScript of a field serde cannot describe
///     pub due: MyDate,
/// }
/// ```
///
/// Struct attributes: `#[rxd(name = "...")]` sets the instance type name
/// (`_type`). Field attributes: `#[rxd(key)]`, `#[rxd(parent = Type::field)]`,
/// `#[rxd(ts = "...")]`. serde's `rename`, `rename_all`, `skip`,
/// `skip_serializing` and `skip_serializing_if` are honored.
#[proc_macro_derive(ContextState, attributes(rxd))]
pub fn derive_context_state(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    context_state::derive(&input).into()
}

/// Derives `rxd::TypeScript` for a plain value type used inside state or in
/// action parameters and results: a struct (generic ones become generic
/// declarations) or an enum, in any of serde's enum representations. Both
/// directions are derived: what serde writes (`ts_type`) and what it reads
/// (`ts_input_type`, declared as `NameInput` where the two differ).
///
/// Type attributes: `#[rxd(rename = "...")]` sets the TypeScript name,
/// `#[rxd(ts = "...")]` gives the whole type as TypeScript text,
/// `#[rxd(ts_input = "...")]` the input side alone. Field and variant
/// attributes: `#[rxd(ts = "...")]` / `#[rxd(ts_input = "...")]`, required
/// with serde's `with`, `serialize_with` and `deserialize_with`. The rule
/// for every type and attribute is in `docs/TYPES.md`.
#[proc_macro_derive(TypeScript, attributes(rxd))]
pub fn derive_typescript(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    typescript::derive(&input).into()
}

/// Makes an inherent `impl` block with `connect` and `load` into an
/// `rxd::Channel`.
///
/// ```ignore
/// #[rxd::channel(state = Board, route = "/ws/boards/{board_id}")]
/// impl BoardChannel {
///     async fn connect(ctx: &Connect, user: User, board_id: i64) -> Result<Self, Reject> { .. }
///     async fn load(&self, ctx: &Load) -> Result<Board, LoadError> { .. }
/// }
/// ```
///
/// Arguments: `state = Type` (the anchor layer), `route = "..."` (the axum
/// route; each `{param}` is a `connect` parameter of the same name, parsed
/// with `FromStr`), and `anchor = param` (the route parameter that holds the
/// anchor's key; needed only when the route has several).
///
/// Inside the block, `#[action]` marks `async fn name(&self, ctx: &Ctx,
/// params...) -> Result<T, E>` methods the browser calls, and
/// `#[consumer("kind")]` marks `async fn name(&self, ctx: &Ctx, event: E)`
/// methods that receive the events of that kind sent with
/// `hub.send_event(group, "kind", &event)` to a group the connection joined.
#[proc_macro_attribute]
pub fn channel(args: TokenStream, item: TokenStream) -> TokenStream {
    channel::expand(args.into(), item.into()).into()
}
