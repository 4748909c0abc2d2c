//! The TypeScript type model: what JSON a Rust type serializes to, as a
//! TypeScript type. Built at run time by [`TypeScript`] impls (std types here,
//! user types by `#[derive(ContextState)]` and `#[derive(TypeScript)]`), and
//! turned into text by [`crate::codegen`] alone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::layer::Layer;

/// A TypeScript type.
#[derive(Debug, Clone)]
pub enum TsType {
    /// `number` (every Rust integer and float; see the guide on precision
    /// above 2^53).
    Number,
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `null` (`()`, and the absent half of `Option<T>`).
    Null,
    /// `unknown` (`serde_json::Value` is emitted as the `JsonValue` alias).
    Unknown,
    /// Any JSON value (`serde_json::Value`).
    JsonValue,
    /// A string literal type, `"Done"`.
    StringLiteral(String),
    /// `T[]`.
    Array(Box<TsType>),
    /// `[A, B]`.
    Tuple(Vec<TsType>),
    /// `Record<K, V>` (maps; keys are always strings in JSON).
    Record(Box<TsType>, Box<TsType>),
    /// `A | B`.
    Union(Vec<TsType>),
    /// An inline object type `{ a: A; b?: B }`.
    Object(Vec<TsField>),
    /// A reference to a declared type, declared once in the output.
    Named(NamedType),
    /// The nested state interface of a layer (`Board`), declared once.
    Layer(fn() -> &'static Layer),
    /// TypeScript text given by the user (`#[rxd(ts = "...")]`), emitted as is.
    Raw(String),
}

/// One property of an object type.
#[derive(Debug, Clone)]
pub struct TsField {
    /// The property name as serialized.
    pub name: String,
    /// Its type.
    pub ty: TsType,
    /// Whether it may be absent (`name?: T`).
    pub optional: bool,
    /// The doc comment, carried into the output.
    pub doc: Option<String>,
}

/// A reference to a named declaration, such as a user enum.
#[derive(Debug, Clone)]
pub struct NamedType {
    /// The TypeScript name.
    pub name: Arc<str>,
    /// Type arguments, for generic declarations.
    pub args: Vec<TsType>,
    /// Builds the declaration; called by codegen once per name.
    pub declare: fn() -> TsDecl,
}

/// A named declaration: `export type Name<P> = ...;`
#[derive(Debug, Clone)]
pub struct TsDecl {
    /// The TypeScript name.
    pub name: Arc<str>,
    /// The Rust path it came from, to report two Rust types with one name.
    pub rust_path: String,
    /// Generic parameter names.
    pub params: Vec<String>,
    /// The declared type; an [`TsType::Object`] is emitted as an interface.
    pub ty: TsType,
    /// The doc comment.
    pub doc: Option<String>,
}

impl TsType {
    /// `T | null`.
    pub fn nullable(inner: TsType) -> TsType {
        TsType::Union(vec![inner, TsType::Null])
    }

    /// The first layer nested anywhere inside this type, not looking into
    /// named declarations (which are plain value types).
    pub fn nested_layer(&self) -> Option<&'static Layer> {
        match self {
            TsType::Layer(layer) => Some(layer()),
            TsType::Array(inner) => inner.nested_layer(),
            TsType::Record(key, value) => key.nested_layer().or_else(|| value.nested_layer()),
            TsType::Tuple(items) | TsType::Union(items) => {
                items.iter().find_map(TsType::nested_layer)
            }
            TsType::Object(fields) => fields.iter().find_map(|f| f.ty.nested_layer()),
            TsType::Named(named) => named.args.iter().find_map(TsType::nested_layer),
            _ => None,
        }
    }
}

/// A Rust type whose serde JSON has a known TypeScript type.
pub trait TypeScript {
    /// The TypeScript type of this type's JSON.
    fn ts_type() -> TsType;
}

macro_rules! ts_as {
    ($ts:expr => $($t:ty),* $(,)?) => {$(
        impl TypeScript for $t {
            fn ts_type() -> TsType {
                $ts
            }
        }
    )*};
}

ts_as!(TsType::Number => i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);
ts_as!(TsType::Number =>
    std::num::NonZeroI8, std::num::NonZeroI16, std::num::NonZeroI32, std::num::NonZeroI64,
    std::num::NonZeroU8, std::num::NonZeroU16, std::num::NonZeroU32, std::num::NonZeroU64,
);
ts_as!(TsType::String => String, str, char, std::path::PathBuf, std::net::IpAddr);
ts_as!(TsType::Boolean => bool);
ts_as!(TsType::Null => ());
ts_as!(TsType::JsonValue => serde_json::Value);

impl TypeScript for serde_json::Map<String, serde_json::Value> {
    fn ts_type() -> TsType {
        TsType::Record(Box::new(TsType::String), Box::new(TsType::JsonValue))
    }
}

impl<T: TypeScript> TypeScript for Option<T> {
    fn ts_type() -> TsType {
        TsType::nullable(T::ts_type())
    }
}

macro_rules! ts_array {
    ($($t:ident),*) => {$(
        impl<T: TypeScript> TypeScript for $t<T> {
            fn ts_type() -> TsType {
                TsType::Array(Box::new(T::ts_type()))
            }
        }
    )*};
}
ts_array!(Vec, BTreeSet);

impl<T: TypeScript, S> TypeScript for HashSet<T, S> {
    fn ts_type() -> TsType {
        TsType::Array(Box::new(T::ts_type()))
    }
}

impl<T: TypeScript> TypeScript for [T] {
    fn ts_type() -> TsType {
        TsType::Array(Box::new(T::ts_type()))
    }
}

impl<T: TypeScript, const N: usize> TypeScript for [T; N] {
    fn ts_type() -> TsType {
        TsType::Tuple((0..N).map(|_| T::ts_type()).collect())
    }
}

/// JSON object keys are strings whatever the Rust key type.
fn map_key(key: TsType) -> TsType {
    match key {
        TsType::Number => TsType::String,
        other => other,
    }
}

impl<K: TypeScript, V: TypeScript, S> TypeScript for HashMap<K, V, S> {
    fn ts_type() -> TsType {
        TsType::Record(Box::new(map_key(K::ts_type())), Box::new(V::ts_type()))
    }
}

impl<K: TypeScript, V: TypeScript> TypeScript for BTreeMap<K, V> {
    fn ts_type() -> TsType {
        TsType::Record(Box::new(map_key(K::ts_type())), Box::new(V::ts_type()))
    }
}

macro_rules! ts_transparent {
    ($($t:ident),*) => {$(
        impl<T: TypeScript + ?Sized> TypeScript for $t<T> {
            fn ts_type() -> TsType {
                T::ts_type()
            }
        }
    )*};
}
ts_transparent!(Box, Arc);
impl<T: TypeScript + ?Sized> TypeScript for std::rc::Rc<T> {
    fn ts_type() -> TsType {
        T::ts_type()
    }
}
impl<T: TypeScript + ?Sized> TypeScript for &T {
    fn ts_type() -> TsType {
        T::ts_type()
    }
}
impl<T: TypeScript + ToOwned + ?Sized> TypeScript for std::borrow::Cow<'_, T> {
    fn ts_type() -> TsType {
        T::ts_type()
    }
}

macro_rules! ts_tuple {
    ($($name:ident)+) => {
        impl<$($name: TypeScript),+> TypeScript for ($($name,)+) {
            fn ts_type() -> TsType {
                TsType::Tuple(vec![$($name::ts_type()),+])
            }
        }
    };
}
ts_tuple!(A);
ts_tuple!(A B);
ts_tuple!(A B C);
ts_tuple!(A B C D);
ts_tuple!(A B C D E);
ts_tuple!(A B C D E F);
