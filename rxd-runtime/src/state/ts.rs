//! The TypeScript type model: what JSON a Rust type serializes to, as a
//! TypeScript type. Built at run time by [`TypeScript`] impls (std types here,
//! user types by `#[derive(ContextState)]` and `#[derive(TypeScript)]`), and
//! turned into text by [`crate::codegen`] alone.
//!
//! Every type has two shapes: what serde *writes* ([`TypeScript::ts_type`]:
//! state, action results) and what serde *accepts* when deserializing
//! ([`TypeScript::ts_input_type`]: action parameters, write payloads). They
//! differ where serde's attributes differ by direction (`default`,
//! `skip_deserializing`, `alias`, ...) and where serde accepts more than it
//! writes (a missing `Option<T>` field). A named type whose input shape
//! differs from its output shape is declared a second time as `<Name>Input`;
//! `docs/TYPES.md` gives every rule.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::sync::Arc;

use super::layer::Layer;

/// A TypeScript type.
#[derive(Debug, Clone)]
pub enum TsType {
    /// `number`: a Rust float (and `serde_json::Number`, which may be
    /// either).
    Number,
    /// `number` too, holding a Rust integer: TypeScript has one number
    /// type, but the Python and Rust clients type it `int` and `i64` (see
    /// `docs/TYPES.md` on precision above 2^53).
    Integer,
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `null` (`()`, and the absent half of `Option<T>`).
    Null,
    /// `unknown`.
    Unknown,
    /// Any JSON value (`serde_json::Value`), emitted as the `JsonValue` alias.
    JsonValue,
    /// A string literal type, `"Done"`.
    StringLiteral(String),
    /// `` `${number}` ``: a string holding a number, as a client sends the
    /// integer keys of a map.
    NumericString,
    /// `T[]`.
    Array(Box<TsType>),
    /// `[A, B]`.
    Tuple(Vec<TsType>),
    /// A map: `{ [key: string]: V }` (keys are always strings in JSON), or a
    /// mapped type over narrower keys.
    Record(Box<TsType>, Box<TsType>),
    /// `A | B`.
    Union(Vec<TsType>),
    /// `A & B`: `#[serde(flatten)]`, aliased fields, internally tagged
    /// newtype variants.
    Intersection(Vec<TsType>),
    /// An inline object type `{ a: A; b?: B }`.
    Object(Vec<TsField>),
    /// A reference to a declared type, declared once in the output.
    Named(NamedType),
    /// A type parameter of the generic declaration being described: `T` in
    /// `export interface Page<T> { items: T[] }`.
    Param(Arc<str>),
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
    /// It refers to the parameters as [`TsType::Param`].
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
            TsType::Tuple(items) | TsType::Union(items) | TsType::Intersection(items) => {
                items.iter().find_map(TsType::nested_layer)
            }
            TsType::Object(fields) => fields.iter().find_map(|f| f.ty.nested_layer()),
            TsType::Named(named) => named.args.iter().find_map(TsType::nested_layer),
            _ => None,
        }
    }

    /// What `self` adds beside other properties when serde flattens it
    /// (`#[serde(flatten)]`, an internally tagged newtype variant): a unit
    /// (`()`, a unit struct) adds nothing, which is `{}` in an
    /// intersection, not `null`.
    #[doc(hidden)]
    pub fn flattened(self) -> TsType {
        let unit = match &self {
            TsType::Null => true,
            // A declaration that flattens itself (`enum E { A(Box<E>) }`)
            // is looked into once.
            TsType::Named(named) => {
                let key = named.declare as usize;
                let fresh = FLATTENING.with(|f| {
                    let mut f = f.borrow_mut();
                    let fresh = !f.contains(&key);
                    if fresh {
                        f.push(key);
                    }
                    fresh
                });
                fresh && {
                    let _guard = FlatteningGuard(key);
                    matches!((named.declare)().ty, TsType::Null)
                }
            }
            _ => false,
        };
        if unit {
            TsType::Object(Vec::new())
        } else {
            self
        }
    }

    /// Whether `self` and `other` describe the same JSON, comparing named
    /// references by name and arguments (not by what they declare) and
    /// ignoring doc comments. A layer and a named reference with the layer's
    /// type name are the same.
    pub fn same_shape(&self, other: &TsType) -> bool {
        use TsType::*;
        let all = |a: &[TsType], b: &[TsType]| {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same_shape(b))
        };
        match (self, other) {
            (Number, Number)
            | (Integer, Integer)
            | (String, String)
            | (Boolean, Boolean)
            | (Null, Null)
            | (Unknown, Unknown)
            | (JsonValue, JsonValue)
            | (NumericString, NumericString) => true,
            (StringLiteral(a), StringLiteral(b)) | (Raw(a), Raw(b)) => a == b,
            (Param(a), Param(b)) => a == b,
            (Array(a), Array(b)) => a.same_shape(b),
            (Tuple(a), Tuple(b)) | (Union(a), Union(b)) | (Intersection(a), Intersection(b)) => {
                all(a, b)
            }
            (Record(ak, av), Record(bk, bv)) => ak.same_shape(bk) && av.same_shape(bv),
            (Object(a), Object(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(a, b)| {
                        a.name == b.name && a.optional == b.optional && a.ty.same_shape(&b.ty)
                    })
            }
            (Named(a), Named(b)) => a.name == b.name && all(&a.args, &b.args),
            (Layer(a), Layer(b)) => a().type_name == b().type_name,
            (Layer(l), Named(n)) | (Named(n), Layer(l)) => {
                n.args.is_empty() && n.name == l().type_name
            }
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------
// Input references

/// Builds a declaration.
type Declare = fn() -> TsDecl;

thread_local! {
    /// During [`input_differs`]'s walk: every input reference built, as its
    /// input `declare` address → its output `declare`.
    static WALK: RefCell<Option<HashMap<usize, Declare>>> = const { RefCell::new(None) };
    /// Whether the input shape of a declaration (by the address of its input
    /// `declare`) differs from its output shape.
    static INPUT_DIFFERS: RefCell<HashMap<usize, bool>> = RefCell::new(HashMap::new());
}

impl NamedType {
    /// What a derived `ts_input_type` returns: a reference to the input
    /// shape of a named type.
    ///
    /// `same` is the reference to use when the input shape is the output
    /// shape (the output declaration with input type arguments, or the
    /// layer); otherwise the reference is to a second declaration, built by
    /// `declare_input` and named `<name>Input`. Whether the shapes differ
    /// depends on the declarations this one refers to in turn, so the whole
    /// graph is walked once (cycles included) and the answer kept.
    #[doc(hidden)]
    pub fn input_ref(
        same: TsType,
        name: &str,
        args: Vec<TsType>,
        declare_output: fn() -> TsDecl,
        declare_input: fn() -> TsDecl,
    ) -> TsType {
        let key = declare_input as usize;
        let walking = WALK.with(|walk| match walk.borrow_mut().as_mut() {
            Some(seen) => {
                seen.insert(key, declare_output);
                true
            }
            None => false,
        });
        if walking {
            // Placeholder name: the walk compares shapes, not names.
            return TsType::Named(NamedType {
                name: Arc::from(name),
                args,
                declare: declare_input,
            });
        }
        if input_differs(declare_input, declare_output) {
            TsType::Named(NamedType {
                name: Arc::from(format!("{name}Input")),
                args,
                declare: declare_input,
            })
        } else {
            same
        }
    }
}

thread_local! {
    /// The declarations [`TsType::flattened`] is looking into.
    static FLATTENING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Leaves [`FLATTENING`] even on a panic.
struct FlatteningGuard(usize);

impl Drop for FlatteningGuard {
    fn drop(&mut self) {
        FLATTENING.with(|f| f.borrow_mut().retain(|k| *k != self.0));
    }
}

/// Ends the walk even on a panic inside a user's `declare`.
struct WalkGuard;

impl Drop for WalkGuard {
    fn drop(&mut self) {
        WALK.with(|walk| *walk.borrow_mut() = None);
    }
}

/// Whether the input declaration differs from the output one, itself or
/// through any input reference it reaches: the least fixpoint over the
/// graph of input references.
fn input_differs(start_input: fn() -> TsDecl, start_output: fn() -> TsDecl) -> bool {
    let start = start_input as usize;
    if let Some(known) = INPUT_DIFFERS.with(|c| c.borrow().get(&start).copied()) {
        return known;
    }
    let _guard = WalkGuard;
    let mut nodes: Vec<(Declare, Declare)> = vec![(start_input, start_output)];
    let mut index: HashMap<usize, usize> = HashMap::from([(start, 0)]);
    let mut differs: Vec<bool> = Vec::new();
    let mut edges: Vec<Vec<usize>> = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        let (input, output) = nodes[i];
        i += 1;
        if let Some(known) = INPUT_DIFFERS.with(|c| c.borrow().get(&(input as usize)).copied()) {
            differs.push(known);
            edges.push(Vec::new());
            continue;
        }
        WALK.with(|walk| *walk.borrow_mut() = Some(HashMap::new()));
        let input_decl = input();
        let seen = WALK
            .with(|walk| walk.borrow_mut().take())
            .unwrap_or_default();
        let output_decl = output();
        differs.push(!input_decl.ty.same_shape(&output_decl.ty));
        let mut refs = Vec::new();
        named_refs(&input_decl.ty, &mut refs);
        let mut out = Vec::new();
        for declare in refs {
            let address = declare as usize;
            let Some(&output) = seen.get(&address) else {
                continue;
            };
            let next = nodes.len();
            let at = *index.entry(address).or_insert(next);
            if at == next {
                nodes.push((declare, output));
            }
            out.push(at);
        }
        edges.push(out);
    }
    loop {
        let mut changed = false;
        for n in 0..nodes.len() {
            if !differs[n] && edges[n].iter().any(|&m| differs[m]) {
                differs[n] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    INPUT_DIFFERS.with(|cache| {
        let mut cache = cache.borrow_mut();
        for (n, (input, _)) in nodes.iter().enumerate() {
            cache.insert(*input as usize, differs[n]);
        }
    });
    differs[0]
}

/// The `declare` of every named reference inside `ty`, arguments included.
fn named_refs(ty: &TsType, out: &mut Vec<fn() -> TsDecl>) {
    match ty {
        TsType::Array(inner) => named_refs(inner, out),
        TsType::Record(key, value) => {
            named_refs(key, out);
            named_refs(value, out);
        }
        TsType::Tuple(items) | TsType::Union(items) | TsType::Intersection(items) => {
            items.iter().for_each(|t| named_refs(t, out))
        }
        TsType::Object(fields) => fields.iter().for_each(|f| named_refs(&f.ty, out)),
        TsType::Named(named) => {
            out.push(named.declare);
            named.args.iter().for_each(|t| named_refs(t, out));
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// The trait

/// A Rust type whose serde JSON has a known TypeScript type.
pub trait TypeScript {
    /// The TypeScript type of this type's JSON.
    fn ts_type() -> TsType;

    /// The TypeScript type of what this type accepts when deserializing (what a client may send).
    fn ts_input_type() -> TsType {
        Self::ts_type()
    }

    /// Whether serde accepts a struct field of this type being absent when
    /// deserializing (without `#[serde(default)]`): true for `Option<T>`,
    /// which serde then reads as `None`, and for wrappers that deserialize
    /// as their content.
    fn ts_input_optional() -> bool {
        false
    }
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

ts_as!(TsType::Integer => i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
ts_as!(TsType::Integer =>
    std::num::NonZeroI8, std::num::NonZeroI16, std::num::NonZeroI32, std::num::NonZeroI64,
    std::num::NonZeroI128, std::num::NonZeroIsize,
    std::num::NonZeroU8, std::num::NonZeroU16, std::num::NonZeroU32, std::num::NonZeroU64,
    std::num::NonZeroU128, std::num::NonZeroUsize,
);
ts_as!(TsType::Number => f32, f64, serde_json::Number);
ts_as!(TsType::String =>
    String, str, char, std::path::PathBuf, std::path::Path,
    std::net::IpAddr, std::net::Ipv4Addr, std::net::Ipv6Addr,
    std::net::SocketAddr, std::net::SocketAddrV4, std::net::SocketAddrV6,
);
ts_as!(TsType::Boolean => bool);
ts_as!(TsType::Null => ());
ts_as!(TsType::JsonValue => serde_json::Value);

impl<T: ?Sized> TypeScript for std::marker::PhantomData<T> {
    fn ts_type() -> TsType {
        TsType::Null
    }
}

fn object(fields: Vec<(&str, TsType)>) -> TsType {
    TsType::Object(
        fields
            .into_iter()
            .map(|(name, ty)| TsField {
                name: name.to_owned(),
                ty,
                optional: false,
                doc: None,
            })
            .collect(),
    )
}

/// `{ secs: number; nanos: number }`, as serde writes it.
impl TypeScript for std::time::Duration {
    fn ts_type() -> TsType {
        object(vec![("secs", TsType::Integer), ("nanos", TsType::Integer)])
    }
}

/// `{ secs_since_epoch: number; nanos_since_epoch: number }`.
impl TypeScript for std::time::SystemTime {
    fn ts_type() -> TsType {
        object(vec![
            ("secs_since_epoch", TsType::Integer),
            ("nanos_since_epoch", TsType::Integer),
        ])
    }
}

impl TypeScript for serde_json::Map<String, serde_json::Value> {
    fn ts_type() -> TsType {
        TsType::Record(Box::new(TsType::String), Box::new(TsType::JsonValue))
    }
}

impl<T: TypeScript> TypeScript for Option<T> {
    fn ts_type() -> TsType {
        TsType::nullable(T::ts_type())
    }
    fn ts_input_type() -> TsType {
        TsType::nullable(T::ts_input_type())
    }
    fn ts_input_optional() -> bool {
        true
    }
}

/// `{ "Ok": T } | { "Err": E }`: serde's externally tagged enum.
impl<T: TypeScript, E: TypeScript> TypeScript for Result<T, E> {
    fn ts_type() -> TsType {
        TsType::Union(vec![
            object(vec![("Ok", T::ts_type())]),
            object(vec![("Err", E::ts_type())]),
        ])
    }
    fn ts_input_type() -> TsType {
        TsType::Union(vec![
            object(vec![("Ok", T::ts_input_type())]),
            object(vec![("Err", E::ts_input_type())]),
        ])
    }
}

/// `{ "Included": T } | { "Excluded": T } | "Unbounded"`.
impl<T: TypeScript> TypeScript for std::ops::Bound<T> {
    fn ts_type() -> TsType {
        TsType::Union(vec![
            object(vec![("Included", T::ts_type())]),
            object(vec![("Excluded", T::ts_type())]),
            TsType::StringLiteral("Unbounded".into()),
        ])
    }
    fn ts_input_type() -> TsType {
        TsType::Union(vec![
            object(vec![("Included", T::ts_input_type())]),
            object(vec![("Excluded", T::ts_input_type())]),
            TsType::StringLiteral("Unbounded".into()),
        ])
    }
}

macro_rules! ts_range {
    ($($t:ident: $($field:literal),+;)*) => {$(
        impl<T: TypeScript> TypeScript for std::ops::$t<T> {
            fn ts_type() -> TsType {
                object(vec![$(($field, T::ts_type())),+])
            }
            fn ts_input_type() -> TsType {
                object(vec![$(($field, T::ts_input_type())),+])
            }
        }
    )*};
}
ts_range! {
    Range: "start", "end";
    RangeInclusive: "start", "end";
    RangeFrom: "start";
    RangeTo: "end";
}

macro_rules! ts_array {
    ($($t:ident),*) => {$(
        impl<T: TypeScript> TypeScript for $t<T> {
            fn ts_type() -> TsType {
                TsType::Array(Box::new(T::ts_type()))
            }
            fn ts_input_type() -> TsType {
                TsType::Array(Box::new(T::ts_input_type()))
            }
        }
    )*};
}
ts_array!(Vec, BTreeSet, VecDeque, LinkedList, BinaryHeap);

impl<T: TypeScript, S> TypeScript for HashSet<T, S> {
    fn ts_type() -> TsType {
        TsType::Array(Box::new(T::ts_type()))
    }
    fn ts_input_type() -> TsType {
        TsType::Array(Box::new(T::ts_input_type()))
    }
}

impl<T: TypeScript> TypeScript for [T] {
    fn ts_type() -> TsType {
        TsType::Array(Box::new(T::ts_type()))
    }
    fn ts_input_type() -> TsType {
        TsType::Array(Box::new(T::ts_input_type()))
    }
}

impl<T: TypeScript, const N: usize> TypeScript for [T; N] {
    fn ts_type() -> TsType {
        TsType::Tuple((0..N).map(|_| T::ts_type()).collect())
    }
    fn ts_input_type() -> TsType {
        TsType::Tuple((0..N).map(|_| T::ts_input_type()).collect())
    }
}

/// JSON object keys are strings whatever the Rust key type: serde_json
/// writes an integer key as its decimal text.
fn map_key(key: TsType) -> TsType {
    match key {
        TsType::Number | TsType::Integer => TsType::String,
        other => other,
    }
}

/// What serde_json accepts as a key: the text of an integer for an integer
/// key.
fn map_input_key(key: TsType) -> TsType {
    match key {
        TsType::Number | TsType::Integer => TsType::NumericString,
        other => other,
    }
}

impl<K: TypeScript, V: TypeScript, S> TypeScript for HashMap<K, V, S> {
    fn ts_type() -> TsType {
        TsType::Record(Box::new(map_key(K::ts_type())), Box::new(V::ts_type()))
    }
    fn ts_input_type() -> TsType {
        TsType::Record(
            Box::new(map_input_key(K::ts_input_type())),
            Box::new(V::ts_input_type()),
        )
    }
}

impl<K: TypeScript, V: TypeScript> TypeScript for BTreeMap<K, V> {
    fn ts_type() -> TsType {
        TsType::Record(Box::new(map_key(K::ts_type())), Box::new(V::ts_type()))
    }
    fn ts_input_type() -> TsType {
        TsType::Record(
            Box::new(map_input_key(K::ts_input_type())),
            Box::new(V::ts_input_type()),
        )
    }
}

/// Types that serialize and deserialize as their content.
macro_rules! ts_transparent {
    ($($t:ident)::+ $(, ?$sized:ident)?) => {
        impl<T: TypeScript $(+ ?$sized)?> TypeScript for $($t)::+<T> {
            fn ts_type() -> TsType {
                T::ts_type()
            }
            fn ts_input_type() -> TsType {
                T::ts_input_type()
            }
            fn ts_input_optional() -> bool {
                T::ts_input_optional()
            }
        }
    };
}
ts_transparent!(Box, ?Sized);
ts_transparent!(Arc, ?Sized);
ts_transparent!(std::rc::Rc, ?Sized);
ts_transparent!(std::cell::Cell);
ts_transparent!(std::cell::RefCell, ?Sized);
ts_transparent!(std::sync::Mutex, ?Sized);
ts_transparent!(std::sync::RwLock, ?Sized);
ts_transparent!(std::num::Wrapping);
ts_transparent!(std::num::Saturating);
ts_transparent!(std::cmp::Reverse);

impl<T: TypeScript + ?Sized> TypeScript for &T {
    fn ts_type() -> TsType {
        T::ts_type()
    }
    fn ts_input_type() -> TsType {
        T::ts_input_type()
    }
}

impl<T: TypeScript + ?Sized> TypeScript for &mut T {
    fn ts_type() -> TsType {
        T::ts_type()
    }
    fn ts_input_type() -> TsType {
        T::ts_input_type()
    }
}

impl<T: TypeScript + ToOwned + ?Sized> TypeScript for std::borrow::Cow<'_, T> {
    fn ts_type() -> TsType {
        T::ts_type()
    }
    fn ts_input_type() -> TsType {
        T::ts_input_type()
    }
}

macro_rules! ts_tuple {
    ($($name:ident)+) => {
        impl<$($name: TypeScript),+> TypeScript for ($($name,)+) {
            fn ts_type() -> TsType {
                TsType::Tuple(vec![$($name::ts_type()),+])
            }
            fn ts_input_type() -> TsType {
                TsType::Tuple(vec![$($name::ts_input_type()),+])
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
ts_tuple!(A B C D E F G);
ts_tuple!(A B C D E F G H);
ts_tuple!(A B C D E F G H I);
ts_tuple!(A B C D E F G H I J);
ts_tuple!(A B C D E F G H I J K);
ts_tuple!(A B C D E F G H I J K L);
ts_tuple!(A B C D E F G H I J K L M);
ts_tuple!(A B C D E F G H I J K L M N);
ts_tuple!(A B C D E F G H I J K L M N O);
ts_tuple!(A B C D E F G H I J K L M N O P);

// ---------------------------------------------------------------------------
// Optional crates, each behind the cargo feature of the same name, typed as
// their serde impls write and read JSON by default.

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::{TsType, TypeScript};

    /// RFC 3339 text, `"2024-05-01T12:00:00Z"`.
    impl<Tz: chrono::TimeZone> TypeScript for chrono::DateTime<Tz> {
        fn ts_type() -> TsType {
            TsType::String
        }
    }

    // `"2024-05-01"`, `"2024-05-01T12:00:00"`, `"12:00:00"`.
    ts_as!(TsType::String => chrono::NaiveDate, chrono::NaiveDateTime, chrono::NaiveTime);

    /// `chrono::Duration` (`TimeDelta`): `[seconds, nanoseconds]`.
    impl TypeScript for chrono::TimeDelta {
        fn ts_type() -> TsType {
            TsType::Tuple(vec![TsType::Number, TsType::Number])
        }
    }

    fn literals(names: &[&str]) -> TsType {
        TsType::Union(
            names
                .iter()
                .map(|n| TsType::StringLiteral((*n).to_owned()))
                .collect(),
        )
    }

    /// Written as `"Mon"` ... `"Sun"`; read from any spelling chrono parses
    /// (`"monday"`, `"MON"`).
    impl TypeScript for chrono::Weekday {
        fn ts_type() -> TsType {
            literals(&["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        }
        fn ts_input_type() -> TsType {
            TsType::String
        }
    }

    /// Written as `"January"` ... `"December"`; read from any spelling
    /// chrono parses (`"jan"`).
    impl TypeScript for chrono::Month {
        fn ts_type() -> TsType {
            literals(&[
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ])
        }
        fn ts_input_type() -> TsType {
            TsType::String
        }
    }
}

#[cfg(feature = "uuid")]
ts_as!(TsType::String => uuid::Uuid);

/// Written as a string (`"1.50"`, rust_decimal's default serde impl); read
/// from a string or a number.
#[cfg(feature = "rust_decimal")]
impl TypeScript for rust_decimal::Decimal {
    fn ts_type() -> TsType {
        TsType::String
    }
    fn ts_input_type() -> TsType {
        TsType::Union(vec![TsType::String, TsType::Number])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_shape_compares_names_not_declarations() {
        fn a() -> TsDecl {
            TsDecl {
                name: Arc::from("A"),
                rust_path: "a::A".into(),
                params: vec![],
                ty: TsType::Number,
                doc: None,
            }
        }
        fn b() -> TsDecl {
            TsDecl {
                ty: TsType::String,
                ..a()
            }
        }
        let named = |declare| {
            TsType::Named(NamedType {
                name: Arc::from("A"),
                args: vec![TsType::Number],
                declare,
            })
        };
        assert!(named(a).same_shape(&named(b)));
        assert!(!TsType::nullable(TsType::Number).same_shape(&TsType::Number));
        let field = |optional| {
            TsType::Object(vec![TsField {
                name: "x".into(),
                ty: TsType::Number,
                optional,
                doc: None,
            }])
        };
        assert!(field(true).same_shape(&field(true)));
        assert!(!field(true).same_shape(&field(false)));
    }

    fn decl(name: &str, fields: Vec<(&str, TsType, bool)>) -> TsDecl {
        TsDecl {
            name: Arc::from(name),
            rust_path: format!("t::{name}"),
            params: vec![],
            ty: TsType::Object(
                fields
                    .into_iter()
                    .map(|(name, ty, optional)| TsField {
                        name: name.into(),
                        ty,
                        optional,
                        doc: None,
                    })
                    .collect(),
            ),
            doc: None,
        }
    }

    fn output_ref(name: &str, declare: fn() -> TsDecl) -> TsType {
        TsType::Named(NamedType {
            name: Arc::from(name),
            args: vec![],
            declare,
        })
    }

    // A holds B, B holds A; only B's own input shape differs (`x` may be
    // left out), so A's does too, through B.
    fn a_out() -> TsDecl {
        decl("A", vec![("b", output_ref("B", b_out), false)])
    }
    fn a_in() -> TsDecl {
        decl("A", vec![("b", b_input(), false)])
    }
    fn a_input() -> TsType {
        NamedType::input_ref(output_ref("A", a_out), "A", vec![], a_out, a_in)
    }
    fn b_out() -> TsDecl {
        decl(
            "B",
            vec![
                ("a", TsType::Array(Box::new(output_ref("A", a_out))), false),
                ("x", TsType::Number, false),
            ],
        )
    }
    fn b_in() -> TsDecl {
        decl(
            "B",
            vec![
                ("a", TsType::Array(Box::new(a_input())), false),
                ("x", TsType::Number, true),
            ],
        )
    }
    fn b_input() -> TsType {
        NamedType::input_ref(output_ref("B", b_out), "B", vec![], b_out, b_in)
    }
    // C holds C and nothing else: one shape.
    fn c_out() -> TsDecl {
        decl(
            "C",
            vec![("c", TsType::nullable(output_ref("C", c_out)), false)],
        )
    }
    fn c_in() -> TsDecl {
        decl("C", vec![("c", TsType::nullable(c_input()), false)])
    }
    fn c_input() -> TsType {
        NamedType::input_ref(output_ref("C", c_out), "C", vec![], c_out, c_in)
    }

    fn name(ty: &TsType) -> &str {
        match ty {
            TsType::Named(named) => &named.name,
            other => panic!("not named: {other:?}"),
        }
    }

    #[test]
    fn input_names_follow_the_whole_graph() {
        assert_eq!(name(&a_input()), "AInput");
        assert_eq!(name(&b_input()), "BInput");
        assert_eq!(name(&c_input()), "C");
        // An input declaration refers to inputs by their final names.
        let TsType::Object(fields) = a_in().ty else {
            panic!("object")
        };
        assert_eq!(name(&fields[0].ty), "BInput");
        let TsType::Object(fields) = c_in().ty else {
            panic!("object")
        };
        assert!(fields[0]
            .ty
            .same_shape(&TsType::nullable(output_ref("C", c_out))));
    }

    // `S` flattens itself: looking into it for a unit must end.
    fn s_out() -> TsDecl {
        TsDecl {
            ty: TsType::Intersection(vec![
                TsType::Object(vec![]),
                output_ref("S", s_out).flattened(),
            ]),
            ..decl("S", vec![])
        }
    }
    fn unit_out() -> TsDecl {
        TsDecl {
            ty: TsType::Null,
            ..decl("Unit", vec![])
        }
    }

    #[test]
    fn flattened_units_add_nothing() {
        assert!(matches!(TsType::Null.flattened(), TsType::Object(f) if f.is_empty()));
        assert!(matches!(
            output_ref("Unit", unit_out).flattened(),
            TsType::Object(f) if f.is_empty()
        ));
        assert_eq!(name(&output_ref("A", a_out).flattened()), "A");
        let TsType::Intersection(members) = s_out().ty else {
            panic!("intersection")
        };
        assert_eq!(name(&members[1]), "S");
        assert!(FLATTENING.with(|f| f.borrow().is_empty()));
    }

    #[test]
    fn std_input_shapes() {
        assert!(<Option<u8>>::ts_input_optional());
        assert!(<Box<Option<u8>>>::ts_input_optional());
        assert!(!<Vec<u8>>::ts_input_optional());
        assert!(matches!(
            <HashMap<u32, bool>>::ts_input_type(),
            TsType::Record(k, _) if matches!(*k, TsType::NumericString)
        ));
        assert!(matches!(
            <HashMap<u32, bool>>::ts_type(),
            TsType::Record(k, _) if matches!(*k, TsType::String)
        ));
    }
}
