//! What `#[derive(ContextState)]`, `#[derive(TypeScript)]` and
//! `#[rxd::channel]` expand to, checked through the runtime descriptors.

// Types here exist to be described, not constructed.
#![allow(dead_code)]

use std::collections::HashMap;

use proptest::prelude::*;
use rxd::__private::{Cardinality, FieldType, Layer};
use rxd::channel::{Data, RouteParams};
use rxd::state::{flatten, rebuild, FlatInstance};
use rxd::{Connect, ContextState, InstanceId, Key, Load, LoadError, Reject, TsType, TypeScript};
use serde::{Deserialize, Serialize};
use serde_json::json;

// ---------------------------------------------------------------------------
// A board tree

#[derive(ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// A kanban board.
///
///  Second paragraph, indented.
#[derive(ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Board {
    pub id: i64,
    pub title: String,
    pub columns: Vec<Column>,
    /// Who owns the board.
    pub owner: User,
}

#[derive(ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Column {
    pub id: i64,
    #[rxd(parent = Board::columns)]
    pub board_id: i64,
    pub name: String,
    pub cards: std::vec::Vec<Card>,
}

#[derive(ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[rxd(name = "BoardCard")]
pub struct Card {
    pub id: i64,
    #[rxd(parent = Column::cards)]
    pub column_id: i64,
    pub title: String,
    pub assignee: ::std::option::Option<User>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub due_date: Option<String>,
    pub labels: Vec<Label>,
}

#[derive(TypeScript, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Bug,
    NeedsReview,
    Custom(String),
}

fn field<'a>(layer: &'a Layer, name: &str) -> &'a rxd::__private::LayerField {
    layer
        .field(name)
        .unwrap_or_else(|| panic!("{} has no field {name}", layer.rust_name))
}

fn relation(layer: &Layer, name: &str) -> (&'static Layer, Cardinality) {
    match &field(layer, name).ty {
        FieldType::Relation(r) => ((r.target)(), r.cardinality),
        FieldType::Value(ts) => panic!("{name} is a value: {}", show(ts)),
    }
}

fn value(layer: &Layer, name: &str) -> String {
    match &field(layer, name).ty {
        FieldType::Value(ts) => show(ts),
        FieldType::Relation(_) => panic!("{name} is a relation"),
    }
}

fn names(layer: &Layer) -> Vec<&str> {
    layer.fields.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn board_layer() {
    let board = Board::layer();
    assert_eq!(board.rust_name, "Board");
    assert_eq!(board.rust_path, "derive::Board");
    assert_eq!(&*board.type_name, "Board");
    assert_eq!(board.key_field, "id");
    assert_eq!(names(board), ["id", "title", "columns", "owner"]);
    assert_eq!(
        board.doc.as_deref(),
        Some("A kanban board.\n\n Second paragraph, indented.")
    );
    assert_eq!(value(board, "id"), "number");
    assert_eq!(value(board, "title"), "string");
    let (target, cardinality) = relation(board, "columns");
    assert!(std::ptr::eq(target, Column::layer()));
    assert_eq!(cardinality, Cardinality::Many);
    let (target, cardinality) = relation(board, "owner");
    assert!(std::ptr::eq(target, User::layer()));
    assert_eq!(cardinality, Cardinality::One);
    assert_eq!(
        field(board, "owner").doc.as_deref(),
        Some("Who owns the board.")
    );
    assert_eq!(field(board, "title").doc, None);
    assert!(board.parent.is_none());
    assert!(board.fields.iter().all(|f| !f.optional));
    assert!(matches!(Board::ts_type(), TsType::Layer(f) if std::ptr::eq(f(), board)));
}

#[test]
fn child_layers_link_to_their_parent() {
    let column = Column::layer();
    let parent = column.parent.as_ref().expect("Column has a parent");
    assert_eq!(parent.field, "board_id");
    assert!(std::ptr::eq((parent.parent)(), Board::layer()));
    assert_eq!(parent.relation, "columns");
    // `std::vec::Vec<Card>` is peeled like `Vec<Card>`.
    let (target, cardinality) = relation(column, "cards");
    assert!(std::ptr::eq(target, Card::layer()));
    assert_eq!(cardinality, Cardinality::Many);

    let card = Card::layer();
    assert_eq!(&*card.type_name, "BoardCard");
    assert_eq!(card.rust_name, "Card");
    assert_eq!(
        names(card),
        ["id", "columnId", "title", "assignee", "dueDate", "labels"]
    );
    let parent = card.parent.as_ref().expect("Card has a parent");
    assert_eq!(parent.field, "columnId");
    assert!(std::ptr::eq((parent.parent)(), Column::layer()));
    assert_eq!(parent.relation, "cards");
    let (target, cardinality) = relation(card, "assignee");
    assert!(std::ptr::eq(target, User::layer()));
    assert_eq!(cardinality, Cardinality::Optional);
    assert_eq!(value(card, "dueDate"), "string | null");
    assert!(field(card, "dueDate").optional);
    assert!(!field(card, "title").optional);
    assert_eq!(value(card, "labels"), "Label[]");
}

#[test]
fn field_constants_hold_serialized_names() {
    assert_eq!(Board::__rxd_field_columns, "columns");
    assert_eq!(Card::__rxd_field_column_id, "columnId");
    assert_eq!(Card::__rxd_field_due_date, "dueDate");
    assert_eq!(Board::__rxd_fields.columns, "columns");
    assert_eq!(Card::__rxd_fields.column_id, "columnId");
}

// ---------------------------------------------------------------------------
// Keys, renames, skips

mod other {
    use super::*;

    /// A layer keyed by a string, with every serde attribute the layer
    /// derive models.
    #[derive(ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
    #[serde(rename_all = "SCREAMING-KEBAB-CASE", deny_unknown_fields)]
    pub struct Tag {
        #[rxd(key)]
        pub slug: String,
        /// Not the key, though named `id`.
        pub id: i64,
        #[serde(rename = "label")]
        pub display_name: String,
        #[serde(rename(serialize = "hex", deserialize = "colour"))]
        pub color: String,
        #[serde(skip)]
        pub cached: u32,
        #[serde(skip_serializing, default)]
        pub secret: String,
        #[serde(skip_deserializing, default)]
        pub computed: bool,
        #[serde(with = "as_text")]
        #[rxd(ts = "`#${string}`")]
        pub rgb: u32,
        #[serde(alias = "r#type")]
        pub r#type: Option<u8>,
    }

    mod as_text {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&format!("#{v:06x}"))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
            let s = String::deserialize(d)?;
            u32::from_str_radix(s.trim_start_matches('#'), 16).map_err(serde::de::Error::custom)
        }
    }
}

#[test]
fn key_renames_and_skips() {
    let tag = other::Tag::layer();
    assert_eq!(tag.key_field, "SLUG");
    assert_eq!(tag.rust_path, "derive::other::Tag");
    assert_eq!(
        names(tag),
        ["SLUG", "ID", "label", "hex", "COMPUTED", "RGB", "TYPE"]
    );
    assert_eq!(value(tag, "RGB"), "`#${string}`");
    assert_eq!(value(tag, "TYPE"), "number | null");
    assert_eq!(
        field(tag, "ID").doc.as_deref(),
        Some("Not the key, though named `id`.")
    );
    assert_eq!(other::Tag::__rxd_field_type, "TYPE");
    assert_eq!(other::Tag::__rxd_fields.r#type, "TYPE");
    assert_eq!(other::Tag::__rxd_field_display_name, "label");

    // The descriptor agrees with what serde writes.
    let value = serde_json::to_value(other::Tag {
        slug: "urgent".into(),
        id: 3,
        display_name: "Urgent".into(),
        color: "red".into(),
        cached: 1,
        secret: "s".into(),
        computed: true,
        rgb: 0xff0000,
        r#type: None,
    })
    .unwrap();
    let mut written: Vec<&str> = value.as_object().unwrap().keys().map(|k| &**k).collect();
    let mut described = names(tag);
    written.sort();
    described.sort();
    assert_eq!(written, described);
}

// ---------------------------------------------------------------------------
// flatten + rebuild

fn user(id: i64) -> User {
    User {
        id,
        name: format!("user {id}"),
    }
}

fn by_id(instances: Vec<FlatInstance>) -> HashMap<InstanceId, FlatInstance> {
    instances.into_iter().map(|i| (i.id.clone(), i)).collect()
}

fn sample_board() -> Board {
    let alice = user(7);
    Board {
        id: 1,
        title: "Roadmap".into(),
        owner: alice.clone(),
        columns: vec![
            Column {
                id: 10,
                board_id: 1,
                name: "Todo".into(),
                cards: vec![
                    Card {
                        id: 100,
                        column_id: 10,
                        title: "Write docs".into(),
                        assignee: Some(alice),
                        due_date: Some("2025-01-01".into()),
                        labels: vec![Label::NeedsReview, Label::Custom("docs".into())],
                    },
                    Card {
                        id: 101,
                        column_id: 10,
                        title: "Nobody's".into(),
                        assignee: None,
                        due_date: None,
                        labels: vec![],
                    },
                ],
            },
            Column {
                id: 11,
                board_id: 1,
                name: "Done".into(),
                cards: vec![Card {
                    id: 102,
                    column_id: 11,
                    title: "Ship".into(),
                    assignee: Some(user(8)),
                    due_date: None,
                    labels: vec![Label::Bug],
                }],
            },
        ],
    }
}

#[test]
fn flatten_then_rebuild_a_board_with_a_shared_user() {
    let board = sample_board();
    let instances = flatten(&board, 5).unwrap();
    let ids: Vec<String> = instances.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "Board:1",
            "Column:10",
            "BoardCard:100",
            "User:7",
            "BoardCard:101",
            "Column:11",
            "BoardCard:102",
            "User:8"
        ]
    );
    assert!(instances.iter().all(|i| i.version == 5));

    let flat = by_id(instances);
    let board_flat = &flat[&InstanceId::new("Board", 1)];
    assert_eq!(
        serde_json::to_value(board_flat).unwrap(),
        json!({"_type": "Board", "_v": 5, "id": 1, "title": "Roadmap", "columns": [10, 11], "owner": 7})
    );
    let card = &flat[&InstanceId::new("BoardCard", 100)].fields;
    assert_eq!(card["assignee"], json!(7));
    assert_eq!(card["columnId"], json!(10));
    assert_eq!(card["labels"], json!(["needs_review", {"custom": "docs"}]));
    let unassigned = &flat[&InstanceId::new("BoardCard", 101)].fields;
    assert_eq!(unassigned["assignee"], json!(null));
    assert!(!unassigned.contains_key("dueDate"));

    let rebuilt: Board = rebuild(&Key::Int(1), &flat).unwrap();
    assert_eq!(rebuilt, board);
}

#[test]
fn string_keys_flatten() {
    let tag = other::Tag {
        slug: "urgent".into(),
        id: 3,
        display_name: "Urgent".into(),
        color: "red".into(),
        cached: 0,
        secret: String::new(),
        computed: false,
        rgb: 0x00ff00,
        r#type: Some(2),
    };
    let instances = flatten(&tag, 1).unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].id, InstanceId::new("Tag", "urgent"));
    assert_eq!(instances[0].fields["RGB"], json!("#00ff00"));
}

/// Users come from a small pool, so they are shared between boards' owners
/// and cards' assignees; a user's value depends on its id only.
fn arb_board() -> impl Strategy<Value = Board> {
    let card = (
        "[a-z ]{0,8}",
        proptest::option::of(0..4i64),
        proptest::option::of("[0-9]{4}"),
        proptest::collection::vec(
            prop_oneof![
                Just(Label::Bug),
                Just(Label::NeedsReview),
                "[a-z]{0,4}".prop_map(Label::Custom),
            ],
            0..3,
        ),
    );
    let column = ("[A-Za-z]{0,6}", proptest::collection::vec(card, 0..5));
    (
        any::<i64>(),
        ".{0,10}",
        0..4i64,
        proptest::collection::vec(column, 0..5),
    )
        .prop_map(|(id, title, owner, columns)| {
            let mut next_card = 0;
            let columns = columns
                .into_iter()
                .enumerate()
                .map(|(c, (name, cards))| {
                    let column_id = c as i64 * 1000;
                    Column {
                        id: column_id,
                        board_id: id,
                        name,
                        cards: cards
                            .into_iter()
                            .map(|(title, assignee, due_date, labels)| {
                                next_card += 1;
                                Card {
                                    id: next_card,
                                    column_id,
                                    title,
                                    assignee: assignee.map(user),
                                    due_date,
                                    labels,
                                }
                            })
                            .collect(),
                    }
                })
                .collect();
            Board {
                id,
                title,
                columns,
                owner: user(owner),
            }
        })
}

proptest! {
    #[test]
    fn flatten_then_rebuild_is_the_identity(board in arb_board()) {
        let instances = flatten(&board, 1).unwrap();
        let count = instances.len();
        let flat = by_id(instances);
        // Shared users appear once.
        prop_assert_eq!(flat.len(), count);
        let mut users: Vec<i64> = std::iter::once(board.owner.id)
            .chain(board.columns.iter().flat_map(|c| &c.cards).filter_map(|c| c.assignee.as_ref().map(|u| u.id)))
            .collect();
        users.sort();
        users.dedup();
        let cards: usize = board.columns.iter().map(|c| c.cards.len()).sum();
        prop_assert_eq!(count, 1 + board.columns.len() + cards + users.len());
        let rebuilt: Board = rebuild(&Key::Int(board.id), &flat).unwrap();
        prop_assert_eq!(rebuilt, board);
    }
}

// ---------------------------------------------------------------------------
// TypeScript derive

/// Renders a `TsType` as TypeScript-like text, for readable assertions.
fn show(ts: &TsType) -> String {
    fn object(fields: &[rxd::__private::TsField]) -> String {
        let fields: Vec<String> = fields
            .iter()
            .map(|f| {
                let opt = if f.optional { "?" } else { "" };
                format!("{:?}{opt}: {}", f.name, show(&f.ty))
            })
            .collect();
        format!("{{ {} }}", fields.join("; "))
    }
    match ts {
        TsType::Number | TsType::Integer => "number".into(),
        TsType::String => "string".into(),
        TsType::Boolean => "boolean".into(),
        TsType::Null => "null".into(),
        TsType::Unknown => "unknown".into(),
        TsType::JsonValue => "JsonValue".into(),
        TsType::StringLiteral(s) => format!("{s:?}"),
        TsType::Array(t) => format!("{}[]", show(t)),
        TsType::Tuple(items) => {
            format!(
                "[{}]",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            )
        }
        TsType::Record(k, v) => format!("Record<{}, {}>", show(k), show(v)),
        TsType::Union(items) if items.is_empty() => "never".into(),
        TsType::Union(items) => items.iter().map(show).collect::<Vec<_>>().join(" | "),
        TsType::Object(fields) => object(fields),
        TsType::Named(named) => named.name.to_string(),
        TsType::Layer(layer) => layer().type_name.to_string(),
        TsType::Raw(text) => text.clone(),
        TsType::NumericString => "`${number}`".into(),
        TsType::Param(name) => name.to_string(),
        TsType::Intersection(items) => items.iter().map(show).collect::<Vec<_>>().join(" & "),
    }
}

/// The declaration behind a derived `TypeScript` type, as text.
fn decl<T: TypeScript>() -> (String, String) {
    match T::ts_type() {
        TsType::Named(named) => {
            let decl = (named.declare)();
            assert_eq!(decl.name, named.name);
            assert!(named.args.is_empty() && decl.params.is_empty());
            (decl.name.to_string(), show(&decl.ty))
        }
        other => panic!("not a named type: {}", show(&other)),
    }
}

/// Checks the name and type of a derived declaration.
fn assert_ts<T: TypeScript>(name: &str, ty: &str) {
    assert_eq!(decl::<T>(), (name.to_owned(), ty.to_owned()));
}

#[derive(TypeScript, Serialize)]
enum External {
    Unit,
    #[serde(rename = "new")]
    Newtype(i64),
    Tuple(i64, String),
    Struct {
        a: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<String>,
    },
    #[serde(skip)]
    #[allow(dead_code)]
    Skipped(std::convert::Infallible),
}

#[derive(TypeScript, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
enum Internal {
    PlainUnit,
    WithFields {
        first_name: String,
        #[serde(rename = "LAST")]
        last_name: String,
    },
    #[serde(rename_all = "UPPERCASE")]
    Shouting {
        first_name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Unit,
    Newtype(String),
    Tuple(u8, u8),
    Struct { x: f64 },
}

#[derive(TypeScript, Serialize)]
#[serde(untagged)]
enum Untagged {
    Unit,
    Newtype(String),
    Tuple(u8, bool),
    Struct { x: f64 },
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "type")]
enum MixedUntagged {
    Known {
        id: i64,
    },
    #[serde(untagged)]
    Fallback(serde_json::Value),
}

#[derive(TypeScript, Serialize)]
enum Never {}

#[test]
fn enum_representations() {
    assert_ts::<External>(
        "External",
        r#""Unit" | { "new": number } | { "Tuple": [number, string] } | { "Struct": { "a": boolean; "b"?: string } }"#,
    );
    assert_ts::<Internal>(
        "Internal",
        r#"{ "kind": "plain-unit" } | { "kind": "with-fields"; "firstName": string; "LAST": string } | { "kind": "shouting"; "FIRST_NAME": string } | { "kind": "other" }"#,
    );
    assert_ts::<Adjacent>(
        "Adjacent",
        r#"{ "t": "Unit" } | { "t": "Newtype"; "c": string } | { "t": "Tuple"; "c": [number, number] } | { "t": "Struct"; "c": { "x": number } }"#,
    );
    assert_ts::<Untagged>(
        "Untagged",
        r#"null | string | [number, boolean] | { "x": number }"#,
    );
    assert_ts::<MixedUntagged>(
        "MixedUntagged",
        r#"{ "type": "Known"; "id": number } | JsonValue"#,
    );
    assert_ts::<Never>("Never", "never");
    assert_ts::<Label>("Label", r#""bug" | "needs_review" | { "custom": string }"#);
}

#[test]
fn the_shapes_match_serde() {
    let json = |v: &dyn erased::Ser| v.json();
    assert_eq!(json(&External::Unit), json!("Unit"));
    assert_eq!(json(&External::Newtype(1)), json!({"new": 1}));
    assert_eq!(
        json(&External::Struct { a: true, b: None }),
        json!({"Struct": {"a": true}})
    );
    assert_eq!(json(&Internal::PlainUnit), json!({"kind": "plain-unit"}));
    assert_eq!(
        json(&Internal::WithFields {
            first_name: "a".into(),
            last_name: "b".into()
        }),
        json!({"kind": "with-fields", "firstName": "a", "LAST": "b"})
    );
    assert_eq!(
        json(&Internal::Shouting {
            first_name: "a".into()
        }),
        json!({"kind": "shouting", "FIRST_NAME": "a"})
    );
    assert_eq!(json(&Adjacent::Unit), json!({"t": "Unit"}));
    assert_eq!(
        json(&Adjacent::Tuple(1, 2)),
        json!({"t": "Tuple", "c": [1, 2]})
    );
    assert_eq!(json(&Untagged::Unit), json!(null));
    assert_eq!(json(&Untagged::Tuple(1, true)), json!([1, true]));
    assert_eq!(
        json(&MixedUntagged::Fallback(json!({"any": 1}))),
        json!({"any": 1})
    );
}

mod erased {
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

/// A point.
#[derive(TypeScript, Serialize)]
#[rxd(rename = "Point2")]
struct Point {
    x: f64,
    /// The height.
    #[serde(rename = "Y")]
    y: f64,
    #[serde(skip)]
    #[allow(dead_code)]
    cache: (),
}

#[derive(TypeScript, Serialize)]
#[serde(rename_all = "PascalCase", tag = "kind")]
struct Tagged {
    some_field: Vec<Point>,
}

#[derive(TypeScript, Serialize)]
struct Pair(String, #[serde(skip)] i32, Option<bool>);

#[derive(TypeScript, Serialize)]
struct Meters(f64);

#[derive(TypeScript, Serialize)]
#[serde(transparent)]
struct Wrapper {
    inner: HashMap<String, Vec<u8>>,
}

#[derive(TypeScript, Serialize)]
struct Unit;

#[derive(TypeScript, Serialize)]
#[serde(into = "String")]
#[rxd(ts = "`${number}px`")]
#[derive(Clone)]
struct Pixels(u32);

impl From<Pixels> for String {
    fn from(p: Pixels) -> String {
        format!("{}px", p.0)
    }
}

#[derive(TypeScript, Serialize)]
struct Borrowed<'a> {
    name: &'a str,
    #[serde(serialize_with = "serialize_id")]
    #[rxd(ts = "string")]
    id: u64,
}

fn serialize_id<S: serde::Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

#[test]
fn struct_shapes() {
    assert_ts::<Point>("Point2", r#"{ "x": number; "Y": number }"#);
    match Point::ts_type() {
        TsType::Named(named) => {
            let decl = (named.declare)();
            assert_eq!(decl.rust_path, "derive::Point");
            assert_eq!(decl.doc.as_deref(), Some("A point."));
            let TsType::Object(fields) = decl.ty else {
                panic!("not an object")
            };
            assert_eq!(fields[1].doc.as_deref(), Some("The height."));
        }
        _ => panic!("not named"),
    }
    assert_ts::<Tagged>("Tagged", r#"{ "kind": "Tagged"; "SomeField": Point2[] }"#);
    assert_eq!(
        serde_json::to_value(Tagged { some_field: vec![] }).unwrap(),
        json!({"kind": "Tagged", "SomeField": []})
    );
    assert_ts::<Pair>("Pair", "[string, boolean | null]");
    assert_ts::<Meters>("Meters", "number");
    assert_ts::<Wrapper>("Wrapper", "Record<string, number[]>");
    assert_ts::<Unit>("Unit", "null");
    assert_ts::<Pixels>("Pixels", "`${number}px`");
    assert_ts::<Borrowed<'static>>("Borrowed", r#"{ "name": string; "id": string }"#);
}

// ---------------------------------------------------------------------------
// Channels

#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user_id: i64,
}

#[derive(Debug)]
pub struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

impl std::error::Error for Boom {}

pub struct BoardChannel {
    principal: Principal,
    board_id: i64,
    page: u32,
}

/// Shows one board.
#[rxd::channel(state = Board, route = "/ws/orgs/{org}/boards/{board_id}/{page}", anchor = board_id)]
impl BoardChannel {
    async fn connect(
        ctx: &Connect,
        principal: Principal,
        page: u32,
        board_id: i64,
        org: String,
    ) -> Result<Self, Reject> {
        assert_eq!(ctx.params().get("org"), Some(org.as_str()));
        if principal.user_id == 0 {
            return Err(Reject::Forbidden);
        }
        Ok(BoardChannel {
            principal,
            board_id,
            page,
        })
    }

    async fn load(&self, _ctx: &Load) -> Result<Board, Boom> {
        if self.board_id == 404 {
            return Err(Boom);
        }
        let mut board = sample_board();
        board.id = self.board_id;
        board.owner.id = self.principal.user_id;
        board.title = format!("page {}", self.page);
        Ok(board)
    }

    /// Untouched by the attribute.
    fn helper(&self) -> i64 {
        self.board_id
    }
}

pub struct TagChannel;

#[rxd::channel(state = other::Tag, route = "/ws/tags/{slug}")]
impl TagChannel {
    async fn connect(_: &Connect, _principal: (), slug: String) -> Result<Self, Boom> {
        if slug == "boom" {
            Err(Boom)
        } else {
            Ok(TagChannel)
        }
    }

    async fn load(&self, _: &Load) -> Result<other::Tag, LoadError> {
        Err(LoadError::NotFound)
    }
}

fn params(values: &[(&str, &str)]) -> RouteParams {
    RouteParams::new(
        values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[tokio::test]
async fn channel_expansion() {
    use rxd::Channel;

    let descriptor = BoardChannel::descriptor();
    assert_eq!(descriptor.name, "BoardChannel");
    assert_eq!(descriptor.route, "/ws/orgs/{org}/boards/{board_id}/{page}");
    let params_desc: Vec<(&str, String)> = descriptor
        .params
        .iter()
        .map(|p| (p.name, show(&p.ty)))
        .collect();
    assert_eq!(
        params_desc,
        [
            ("org", "string".to_owned()),
            ("board_id", "number".to_owned()),
            ("page", "number".to_owned())
        ]
    );
    assert_eq!(descriptor.anchor_param, Some("board_id"));
    assert!(std::ptr::eq((descriptor.state)(), Board::layer()));
    assert_eq!(descriptor.doc.as_deref(), Some("Shows one board."));

    let route = params(&[("org", "acme"), ("board_id", "42"), ("page", "3")]);
    let ctx = Connect::new(Data::default(), route.clone());
    let connected = BoardChannel::rxd_connect(ctx, Principal { user_id: 9 }, route)
        .await
        .unwrap();
    assert_eq!(connected.anchor, Some(Key::Int(42)));
    assert_eq!(connected.channel.helper(), 42);
    let load = Load::new(Data::default());
    let board = connected
        .channel
        .rxd_load(&load, &Key::Int(0))
        .await
        .unwrap();
    assert_eq!((board.id, board.owner.id, &*board.title), (42, 9, "page 3"));

    // A parameter that does not parse is "not found"; `connect`'s own
    // rejection and errors pass through.
    let bad = params(&[("org", "acme"), ("board_id", "forty-two"), ("page", "3")]);
    let ctx = Connect::new(Data::default(), bad.clone());
    let rejected = BoardChannel::rxd_connect(ctx, Principal { user_id: 9 }, bad).await;
    assert!(matches!(rejected, Err(Reject::NotFound)));
    let route = params(&[("org", "acme"), ("board_id", "404"), ("page", "3")]);
    let ctx = Connect::new(Data::default(), route.clone());
    let rejected = BoardChannel::rxd_connect(ctx, Principal { user_id: 0 }, route.clone()).await;
    assert!(matches!(rejected, Err(Reject::Forbidden)));
    let ctx = Connect::new(Data::default(), route.clone());
    let connected = BoardChannel::rxd_connect(ctx, Principal { user_id: 1 }, route)
        .await
        .unwrap();
    assert!(matches!(
        connected.channel.rxd_load(&load, &Key::Int(0)).await,
        Err(LoadError::Internal(e)) if e.to_string() == "boom"
    ));

    let descriptor = TagChannel::descriptor();
    assert_eq!(descriptor.anchor_param, Some("slug"));
    assert_eq!(descriptor.doc, None);
    let route = params(&[("slug", "urgent")]);
    let ctx = Connect::new(Data::default(), route.clone());
    let connected = TagChannel::rxd_connect(ctx, (), route).await.unwrap();
    assert_eq!(connected.anchor, Some(Key::from("urgent")));
    assert!(matches!(
        connected.channel.rxd_load(&load, &Key::Int(0)).await,
        Err(LoadError::NotFound)
    ));
    let route = params(&[("slug", "boom")]);
    let ctx = Connect::new(Data::default(), route.clone());
    let rejected = TagChannel::rxd_connect(ctx, (), route).await;
    assert!(matches!(rejected, Err(Reject::Internal(e)) if e.to_string() == "boom"));
}

#[test]
fn integers_and_floats_print_alike_but_stay_apart_in_the_model() {
    use rxd::TypeScript;
    assert!(matches!(i64::ts_type(), TsType::Integer));
    assert!(matches!(u8::ts_type(), TsType::Integer));
    assert!(matches!(std::num::NonZeroU32::ts_type(), TsType::Integer));
    assert!(matches!(f64::ts_type(), TsType::Number));
    assert!(matches!(serde_json::Number::ts_type(), TsType::Number));
    assert_eq!(show(&i64::ts_type()), show(&f64::ts_type()));
}
