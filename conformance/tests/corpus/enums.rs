//! Enums in serde's four representations, every variant kind, and the
//! variant attributes.

use std::collections::{BTreeMap, HashMap};

use rxd::TypeScript;
use rxd_conformance::{both, output, Case};
use serde::{Deserialize, Serialize};

use super::structs::{Audit, Defaults, Meters};

#[derive(TypeScript, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Color {
    Red,
    Green,
    Blue,
}

/// Externally tagged (serde's default), every variant kind.
#[derive(TypeScript, Serialize, Deserialize)]
pub enum External {
    Unit,
    Newtype(i64),
    Tuple(i32, String),
    Struct { a: bool, b: Option<String> },
    EmptyTuple(),
    EmptyStruct {},
    NewtypeStruct(Audit),
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Internal {
    Unit,
    Newtype(Audit),
    Struct { x: i32, y: Option<i32> },
    EmptyStruct {},
    Map(HashMap<String, i32>),
    UnitPayload(Nothing),
    EmptyPayload(()),
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Nothing;

/// Internally tagged and recursive.
#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Expr {
    Lit { value: f64 },
    Add { left: Box<Expr>, right: Box<Expr> },
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
pub enum Adjacent {
    Unit,
    Newtype(String),
    Tuple(u8, u8),
    Struct { value: f64 },
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Untagged {
    Number(i64),
    Text(String),
    Pair(bool, bool),
    Point { x: f64, y: f64 },
    Nothing,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnakeVariants {
    FirstOne,
    SecondOne(u8),
    #[serde(rename = "third")]
    ThirdOne,
    LastVariant,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum KebabInternal {
    MakeThing { thing_name: String },
    DropIt,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum FieldsCamel {
    Created {
        created_at: i64,
        by_user: String,
    },
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    Deleted {
        deleted_at: i64,
    },
}

#[derive(TypeScript, Serialize, Deserialize)]
#[allow(dead_code)]
pub enum VariantAttrs {
    #[serde(alias = "old_name")]
    NewName,
    #[serde(skip)]
    #[allow(dead_code)]
    Hidden(std::convert::Infallible),
    #[serde(skip_deserializing)]
    OutOnly,
    #[serde(skip_serializing)]
    InOnly(i32),
    #[serde(rename(serialize = "written", deserialize = "read"))]
    TwoNames,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum WithOther {
    Add {
        n: i32,
    },
    #[serde(other)]
    Unknown,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum PartlyUntagged {
    Tagged {
        a: i32,
    },
    #[serde(untagged)]
    Fallback(String),
}

/// A generic enum.
#[derive(TypeScript, Serialize, Deserialize)]
pub enum Either<L, R> {
    Left(L),
    Right(R),
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum Event<T> {
    Created(T),
    Updated { before: T, after: T },
    Deleted,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum InternalFlatten {
    Measured {
        #[serde(flatten)]
        audit: Audit,
        meters: Meters,
    },
    Defaulted {
        #[serde(default)]
        count: u32,
    },
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct ColorCounts {
    pub counts: BTreeMap<Color, u32>,
    pub favourite: Option<Color>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub enum NestedInput {
    Make(Defaults),
    Plain(Color),
}

#[derive(TypeScript, Serialize)]
#[serde(untagged)]
pub enum OutputOnly<'a> {
    Text(&'a str),
    Many(Vec<&'a str>),
}

pub fn cases() -> Vec<Case> {
    vec![
        both("Color", &[Color::Red, Color::Green, Color::Blue])
            .wrong("\"Yellow\"")
            .wrong("\"red\"")
            .wrong("0")
            .wrong_input("\"red\""),
        both(
            "External",
            &[
                External::Unit,
                External::Newtype(i64::MIN),
                External::Tuple(1, "a".into()),
                External::Struct { a: true, b: None },
                External::Struct {
                    a: false,
                    b: Some("b".into()),
                },
                External::EmptyTuple(),
                External::EmptyStruct {},
                External::NewtypeStruct(Audit {
                    created_by: "x".into(),
                    created_at: 1,
                }),
            ],
        )
        .wrong("\"Newtype\"")
        .wrong(r#"{ Unit: null }"#)
        .wrong(r#"{ Newtype: "1" }"#)
        .wrong(r#"{ Tuple: [1] }"#)
        .wrong(r#"{ Struct: { a: true } }"#)
        .wrong(r#"{ EmptyStruct: { a: 1 } }"#)
        .wrong(r#"{ Newtype: 1, Unit: null }"#)
        .input(r#"{"Struct": {"a": true}}"#)
        .wrong_input(r#"{"Tuple": [1, "a", 2]}"#)
        .wrong_input(r#""Other""#),
        both(
            "Internal",
            &[
                Internal::Unit,
                Internal::Newtype(Audit {
                    created_by: "a".into(),
                    created_at: 0,
                }),
                Internal::Struct { x: 1, y: None },
                Internal::EmptyStruct {},
                Internal::Map(HashMap::from([("k".into(), 1)])),
                Internal::UnitPayload(Nothing),
                Internal::EmptyPayload(()),
            ],
        )
        .wrong(r#"{ type: "Unit", x: 1 }"#)
        .wrong(r#"{ type: "Newtype" }"#)
        .wrong(r#"{ type: "Struct", y: 1 }"#)
        .wrong(r#"{ type: "Nope" }"#)
        .wrong(r#"{ type: "UnitPayload", x: 1 }"#)
        .wrong(r#""Unit""#)
        .input(r#"{"type": "Struct", "x": 1}"#)
        .wrong_input(r#"{"type": "Struct"}"#)
        .wrong_input(r#"{"x": 1}"#),
        both(
            "Adjacent",
            &[
                Adjacent::Unit,
                Adjacent::Newtype("n".into()),
                Adjacent::Tuple(1, 2),
                Adjacent::Struct { value: 0.5 },
            ],
        )
        .wrong(r#"{ t: "Newtype" }"#)
        .wrong(r#"{ t: "Newtype", c: 1 }"#)
        .wrong(r#"{ t: "Tuple", c: [1] }"#)
        .wrong(r#"{ Newtype: "n" }"#)
        .wrong_input(r#"{"t": "Struct", "c": {}}"#),
        both(
            "Untagged",
            &[
                Untagged::Number(-1),
                Untagged::Text("t".into()),
                Untagged::Pair(true, false),
                Untagged::Point { x: 1.0, y: 2.0 },
                Untagged::Nothing,
            ],
        )
        .wrong("true")
        .wrong("[true]")
        .wrong(r#"{ x: 1 }"#)
        .wrong(r#"{ Number: 1 }"#)
        .wrong_input("[1, 2]"),
        both(
            "SnakeVariants",
            &[
                SnakeVariants::FirstOne,
                SnakeVariants::SecondOne(2),
                SnakeVariants::ThirdOne,
                SnakeVariants::LastVariant,
            ],
        )
        .wrong("\"FirstOne\"")
        .wrong("\"third_one\"")
        .wrong(r#"{ SecondOne: 2 }"#)
        .wrong_input("\"FirstOne\""),
        both(
            "KebabInternal",
            &[
                KebabInternal::MakeThing {
                    thing_name: "n".into(),
                },
                KebabInternal::DropIt,
            ],
        )
        .wrong(r#"{ kind: "MakeThing", thing_name: "n" }"#)
        .wrong(r#"{ kind: "make-thing", thingName: "n" }"#)
        .wrong_input(r#"{"kind": "drop_it"}"#),
        both(
            "FieldsCamel",
            &[
                FieldsCamel::Created {
                    created_at: 1,
                    by_user: "u".into(),
                },
                FieldsCamel::Deleted { deleted_at: 2 },
            ],
        )
        .wrong(r#"{ Created: { created_at: 1, by_user: "u" } }"#)
        .wrong(r#"{ Deleted: { deletedAt: 2 } }"#)
        .wrong_input(r#"{"Deleted": {"deletedAt": 2}}"#),
        both(
            "VariantAttrs",
            &[
                VariantAttrs::NewName,
                VariantAttrs::OutOnly,
                VariantAttrs::TwoNames,
            ],
        )
        .wrong("\"old_name\"")
        .wrong("\"Hidden\"")
        .wrong(r#"{ InOnly: 1 }"#)
        .wrong("\"read\"")
        .no_roundtrip()
        .input("\"NewName\"")
        .input("\"old_name\"")
        .input(r#"{"InOnly": 1}"#)
        .input("\"read\"")
        .wrong_input("\"OutOnly\"")
        .wrong_input("\"written\"")
        .wrong_input("\"Hidden\""),
        both(
            "Expr",
            &[Expr::Add {
                left: Box::new(Expr::Lit { value: 1.0 }),
                right: Box::new(Expr::Lit { value: 2.0 }),
            }],
        )
        .wrong(r#"{ kind: "Add", left: { kind: "Lit" }, right: { kind: "Lit", value: 1 } }"#)
        .wrong(r#"{ kind: "Neg" }"#)
        .wrong(r#"{ kind: "Lit", value: 1, left: null }"#)
        .input(r#"{"kind": "Add", "left": {"kind": "Lit", "value": 1}, "right": {"kind": "Lit", "value": 2}}"#),
        both("WithOther", &[WithOther::Add { n: 1 }, WithOther::Unknown])
            .wrong(r#"{ op: "Sub" }"#)
            .wrong(r#"{ op: "Add" }"#),
        both(
            "PartlyUntagged",
            &[
                PartlyUntagged::Tagged { a: 1 },
                PartlyUntagged::Fallback("f".into()),
            ],
        )
        .wrong(r#"{ kind: "Fallback" }"#)
        .wrong("1"),
        both(
            "Either<i32, String>",
            &[Either::<i32, String>::Left(1), Either::Right("r".into())],
        )
        .wrong(r#"{ Left: "1" }"#)
        .wrong(r#"{ Right: 1 }"#)
        .wrong_input(r#"{"Left": "1"}"#),
        both(
            "Either<Defaults, Color>",
            &[
                Either::Left(Defaults {
                    count: 1,
                    label: "l".into(),
                    required: true,
                }),
                Either::Right(Color::Red),
            ],
        )
        .wrong(r#"{ Left: { required: true } }"#)
        .input(r#"{"Left": {"required": true}}"#)
        .wrong_input(r#"{"Left": {}}"#),
        both(
            "Event<Meters>",
            &[
                Event::Created(Meters(1.0)),
                Event::Updated {
                    before: Meters(1.0),
                    after: Meters(2.0),
                },
                Event::Deleted,
            ],
        )
        .wrong(r#"{ type: "Created" }"#)
        .wrong(r#"{ type: "Created", data: "1" }"#)
        .wrong(r#"{ type: "updated", data: { before: 1 } }"#)
        .wrong(r#"{ type: "Deleted" }"#),
        both(
            "InternalFlatten",
            &[
                InternalFlatten::Measured {
                    audit: Audit {
                        created_by: "a".into(),
                        created_at: 0,
                    },
                    meters: Meters(3.0),
                },
                InternalFlatten::Defaulted { count: 2 },
            ],
        )
        .wrong(r#"{ type: "Measured", meters: 3 }"#)
        .wrong(r#"{ type: "Defaulted" }"#)
        .input(r#"{"type": "Defaulted"}"#)
        .wrong_input(r#"{"type": "Measured", "meters": 3}"#),
        both(
            "ColorCounts",
            &[
                ColorCounts {
                    counts: BTreeMap::new(),
                    favourite: None,
                },
                ColorCounts {
                    counts: BTreeMap::from([(Color::Red, 1), (Color::Blue, 0)]),
                    favourite: Some(Color::Green),
                },
            ],
        )
        .wrong(r#"{ counts: { Yellow: 1 }, favourite: null }"#)
        .wrong(r#"{ counts: { Red: "1" }, favourite: null }"#)
        .input(r#"{"counts": {"Green": 2}}"#)
        .wrong_input(r#"{"counts": {"red": 1}}"#),
        both(
            "NestedInput",
            &[
                NestedInput::Make(Defaults {
                    count: 0,
                    label: "x".into(),
                    required: false,
                }),
                NestedInput::Plain(Color::Blue),
            ],
        )
        .wrong(r#"{ Make: { required: false } }"#)
        .input(r#"{"Make": {"required": false}}"#)
        .wrong_input(r#"{"Make": {"count": 1}}"#),
        output(
            "OutputOnly",
            &[OutputOnly::Text("a"), OutputOnly::Many(vec!["b"])],
        )
        .wrong("[1]")
        .wrong("null"),
    ]
}
