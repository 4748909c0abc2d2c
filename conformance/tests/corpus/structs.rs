//! Structs of every kind, generic structs, and every serde field and
//! container attribute.

use std::collections::{BTreeMap, HashMap};

use rxd::TypeScript;
use rxd_conformance::{both, output, Case};
use serde::{Deserialize, Serialize};

/// A plain struct.
#[derive(TypeScript, Serialize, Deserialize)]
pub struct Plain {
    /// The id.
    pub id: u64,
    pub name: String,
    pub score: f64,
    pub tags: Vec<String>,
    pub active: bool,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Tuple3(pub i32, pub String, pub Option<bool>);

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Meters(pub f64);

#[derive(TypeScript, Serialize, Deserialize)]
pub struct UnitStruct;

#[derive(TypeScript, Serialize, Deserialize)]
pub struct EmptyBraced {}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct EmptyTuple();

/// A generic struct: `export interface Page<T>`.
#[derive(TypeScript, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub next: Option<Box<Self>>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Pair<A, B>(pub A, pub B);

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Keyed<K: Ord, V> {
    pub map: BTreeMap<K, V>,
    pub first: Option<K>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Optionals {
    pub always: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sometimes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list: Vec<u8>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Defaults {
    #[serde(default)]
    pub count: u32,
    #[serde(default = "default_label")]
    pub label: String,
    pub required: bool,
}

fn default_label() -> String {
    "none".into()
}

#[derive(TypeScript, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ContainerDefault {
    pub a: i32,
    pub b: String,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Renamed {
    #[serde(rename = "ID")]
    pub id: i32,
    #[serde(rename = "due date")]
    pub due: String,
    #[serde(rename(serialize = "outName", deserialize = "inName"))]
    pub both_ways: bool,
    #[serde(rename(serialize = "onlyOut"))]
    pub half: u8,
}

macro_rules! rename_all {
    ($($name:ident: $rule:literal;)*) => {$(
        #[derive(TypeScript, Serialize, Deserialize)]
        #[serde(rename_all = $rule)]
        pub struct $name {
            pub first_field: i32,
            pub second_long_name: bool,
            pub r#type: String,
        }
    )*};
}
rename_all! {
    AllLower: "lowercase";
    AllUpper: "UPPERCASE";
    AllPascal: "PascalCase";
    AllCamel: "camelCase";
    AllSnake: "snake_case";
    AllScreaming: "SCREAMING_SNAKE_CASE";
    AllKebab: "kebab-case";
    AllScreamingKebab: "SCREAMING-KEBAB-CASE";
}

fn rename_all_case(name: &str, keys: [&str; 3]) -> Case {
    let [a, b, c] = keys;
    let value = format!(r#"{{"{a}": 1, "{b}": true, "{c}": "t"}}"#);
    let snake = r#"{"first_field": 1, "second_long_name": true, "type": "t"}"#;
    let mut case = match name {
        "AllLower" => both(
            name,
            &[AllLower {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        "AllUpper" => both(
            name,
            &[AllUpper {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        "AllPascal" => both(
            name,
            &[AllPascal {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        "AllCamel" => both(
            name,
            &[AllCamel {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        "AllSnake" => both(
            name,
            &[AllSnake {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        "AllScreaming" => both(
            name,
            &[AllScreaming {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        "AllKebab" => both(
            name,
            &[AllKebab {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
        _ => both(
            name,
            &[AllScreamingKebab {
                first_field: 1,
                second_long_name: true,
                r#type: "t".into(),
            }],
        ),
    };
    case = case
        .input(&value)
        .wrong(&format!(r#"{{"{a}": "1", "{b}": true, "{c}": "t"}}"#));
    if value.replace(' ', "") != snake.replace(' ', "") {
        case = case.wrong(snake).wrong_input(snake);
    }
    case
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Aliased {
    #[serde(alias = "colour", alias = "hue")]
    pub color: String,
    #[serde(default, alias = "qty")]
    pub quantity: u32,
    pub plain: bool,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[allow(dead_code)]
pub struct Skips {
    pub kept: i32,
    #[serde(skip)]
    pub never: i32,
    #[serde(skip_serializing)]
    pub write_only: String,
    #[serde(skip_deserializing)]
    pub read_only: bool,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strict {
    pub a: i32,
    #[serde(skip_deserializing)]
    pub computed: i32,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Audit {
    pub created_by: String,
    pub created_at: i64,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Flattened {
    pub id: i32,
    #[serde(flatten)]
    pub audit: Audit,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct FlattenOptional {
    pub id: i32,
    #[serde(flatten)]
    pub audit: Option<Audit>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct FlattenMap {
    pub id: i32,
    pub name: String,
    #[serde(flatten)]
    pub extra: HashMap<String, serde_json::Value>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct FlattenTwo {
    #[serde(flatten)]
    pub audit: Audit,
    #[serde(flatten)]
    pub meters: Wrapper,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Wrapper {
    pub meters: Meters,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Note {
    pub text: Option<String>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct HasTransparent {
    pub user: UserId,
    pub note: Note,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub struct TaggedStruct {
    pub x: i32,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "renamed_tagged")]
pub struct TaggedRenamed {
    pub x: i32,
}

mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

fn from_text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        N(u32),
        S(String),
    }
    match Either::deserialize(d)? {
        Either::N(n) => Ok(n),
        Either::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct WithTs {
    #[serde(with = "as_text")]
    #[rxd(ts = "`${number}`")]
    pub points: u32,
    #[serde(deserialize_with = "from_text_or_number")]
    #[rxd(ts_input = "number | `${number}`")]
    pub hours: u32,
}

/// A type with its own serde impl and no TypeScript impl: fields of it
/// name their TypeScript by hand.
#[derive(PartialEq, Debug)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Serialize for Rgb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2))
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rgb, D::Error> {
        let text = String::deserialize(d)?;
        let hex = text
            .strip_prefix('#')
            .filter(|h| h.len() == 6)
            .ok_or_else(|| serde::de::Error::custom("expected #rrggbb"))?;
        let byte =
            |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(serde::de::Error::custom);
        Ok(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct HandTyped {
    #[rxd(ts = "`#${string}`")]
    pub color: Rgb,
    #[rxd(ts = "`#${string}` | null")]
    pub accent: Option<Rgb>,
}

#[derive(TypeScript, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Swatch {
    #[rxd(ts = "`#${string}`")]
    pub color: Rgb,
}

/// Its TypeScript name comes from `#[rxd(rename)]`.
#[derive(TypeScript, Serialize, Deserialize)]
#[rxd(rename = "RenamedForTs")]
pub struct RustName {
    pub a: i32,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Keywords {
    pub r#type: String,
    pub r#async: bool,
    #[serde(rename = "kebab-key")]
    pub kebab: i32,
    #[serde(rename = "0starts-with-digit")]
    pub digit: i32,
}

/// A recursive type (naming itself `Self`).
#[derive(TypeScript, Serialize, Deserialize)]
pub struct Tree {
    pub value: i32,
    pub children: Vec<Self>,
}

/// Mutually recursive types, one with a different input shape.
#[derive(TypeScript, Serialize, Deserialize)]
pub struct Ping {
    pub pong: Option<Box<Pong>>,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Pong {
    pub ping: Vec<Ping>,
    #[serde(default)]
    pub count: u32,
}

#[derive(TypeScript, Serialize)]
pub struct Borrowed<'a> {
    pub name: &'a str,
    pub parts: Vec<&'a str>,
}

/// A struct holding a struct whose input shape differs: its own input
/// shape differs too.
#[derive(TypeScript, Serialize, Deserialize)]
pub struct Outer {
    pub inner: Defaults,
    pub same: Plain,
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct ArrayOfGenerics {
    pub pages: Vec<Page<Defaults>>,
    pub pairs: Vec<Pair<u8, Option<String>>>,
}

pub fn cases() -> Vec<Case> {
    let plain = Plain {
        id: u64::MAX,
        name: "n".into(),
        score: -0.5,
        tags: vec![],
        active: true,
    };
    let mut out = vec![
        both("Plain", &[plain])
            .wrong(r#"{ id: 1, name: "n", score: 0, tags: [] }"#)
            .wrong(r#"{ id: "1", name: "n", score: 0, tags: [], active: true }"#)
            .wrong(r#"{ id: 1, name: "n", score: 0, tags: [], active: true, extra: 1 }"#)
            .wrong_input(r#"{"id": 1, "name": "n", "score": 0, "tags": []}"#),
        both(
            "Tuple3",
            &[Tuple3(1, "a".into(), None), Tuple3(-1, "".into(), Some(false))],
        )
        .wrong(r#"[1, "a"]"#)
        .wrong(r#"{ 0: 1, 1: "a", 2: null }"#)
        .wrong_input(r#"[1, "a"]"#),
        both("Meters", &[Meters(1.5)])
            .wrong("[1.5]")
            .wrong("\"1.5\"")
            .wrong_input("[1.5]"),
        both("UnitStruct", &[UnitStruct])
            .wrong("{}")
            .wrong_input("{}"),
        both("EmptyBraced", &[EmptyBraced {}])
            .wrong("null")
            .wrong("[]")
            .wrong_input("null"),
        both("EmptyTuple", &[EmptyTuple()])
            .wrong("null")
            .wrong("[1]"),
        both(
            "Page<i32>",
            &[
                Page {
                    items: vec![],
                    total: 0,
                    next: None,
                },
                Page {
                    items: vec![1, 2],
                    total: 2,
                    next: Some(Box::new(Page {
                        items: vec![3],
                        total: 1,
                        next: None,
                    })),
                },
            ],
        )
        .wrong(r#"{ items: ["1"], total: 1, next: null }"#)
        .wrong(r#"{ items: [], total: 0 }"#)
        .input(r#"{"items": [], "total": 0}"#)
        .wrong_input(r#"{"items": ["1"], "total": 1}"#),
        both(
            "Page<Plain>",
            &[Page {
                items: vec![Plain {
                    id: 1,
                    name: "p".into(),
                    score: 1.0,
                    tags: vec!["t".into()],
                    active: false,
                }],
                total: 1,
                next: None,
            }],
        )
        .wrong(r#"{ items: [{ id: 1 }], total: 1, next: null }"#),
        both(
            "Pair<String, Vec<u8>>",
            &[Pair("a".to_owned(), vec![1u8])],
        )
        .wrong(r#"["a", 1]"#)
        .wrong(r#"[[1], "a"]"#),
        both(
            "Keyed<i64, bool>",
            &[Keyed {
                map: BTreeMap::from([(-1i64, true)]),
                first: Some(-1),
            }],
        )
        .wrong(r#"{ map: { "1": "true" }, first: null }"#)
        .wrong_input(r#"{"map": {"1": "true"}}"#),
        both(
            "Keyed<String, Page<u8>>",
            &[Keyed {
                map: BTreeMap::from([(
                    "k".to_owned(),
                    Page {
                        items: vec![1u8],
                        total: 1,
                        next: None,
                    },
                )]),
                first: None,
            }],
        )
        .wrong(r#"{ map: { k: { items: [], total: "1", next: null } }, first: null }"#),
        both(
            "Optionals",
            &[
                Optionals {
                    always: None,
                    sometimes: None,
                    list: vec![],
                },
                Optionals {
                    always: Some(1),
                    sometimes: Some("s".into()),
                    list: vec![1],
                },
            ],
        )
        .wrong(r#"{ sometimes: "s" }"#)
        .wrong(r#"{ always: 1, sometimes: null }"#)
        .input("{}")
        .input(r#"{"sometimes": null}"#)
        .wrong_input(r#"{"list": null}"#),
        both(
            "Defaults",
            &[Defaults {
                count: 0,
                label: "l".into(),
                required: true,
            }],
        )
        .wrong(r#"{ required: true }"#)
        .input(r#"{"required": false}"#)
        .wrong_input("{}")
        .wrong_input(r#"{"required": true, "count": null}"#),
        both(
            "ContainerDefault",
            &[ContainerDefault {
                a: 1,
                b: "b".into(),
            }],
        )
        .wrong(r#"{ a: 1 }"#)
        .input("{}")
        .input(r#"{"b": "only"}"#)
        .wrong_input(r#"{"a": "1"}"#),
        both(
            "Renamed",
            &[Renamed {
                id: 1,
                due: "d".into(),
                both_ways: true,
                half: 2,
            }],
        )
        .wrong(r#"{ id: 1, "due date": "d", outName: true, onlyOut: 2 }"#)
        .wrong(r#"{ ID: 1, due: "d", outName: true, onlyOut: 2 }"#)
        .no_roundtrip()
        .input(r#"{"ID": 1, "due date": "d", "inName": true, "half": 2}"#)
        .wrong_input(r#"{"ID": 1, "due date": "d", "outName": true, "half": 2}"#),
        rename_all_case("AllLower", ["first_field", "second_long_name", "type"]),
        rename_all_case("AllUpper", ["FIRST_FIELD", "SECOND_LONG_NAME", "TYPE"]),
        rename_all_case("AllPascal", ["FirstField", "SecondLongName", "Type"]),
        rename_all_case("AllCamel", ["firstField", "secondLongName", "type"]),
        rename_all_case("AllSnake", ["first_field", "second_long_name", "type"]),
        rename_all_case("AllScreaming", ["FIRST_FIELD", "SECOND_LONG_NAME", "TYPE"]),
        rename_all_case("AllKebab", ["first-field", "second-long-name", "type"]),
        rename_all_case("AllScreamingKebab", ["FIRST-FIELD", "SECOND-LONG-NAME", "TYPE"]),
        both(
            "Aliased",
            &[Aliased {
                color: "red".into(),
                quantity: 0,
                plain: true,
            }],
        )
        .wrong(r#"{ colour: "red", quantity: 0, plain: true }"#)
        .input(r#"{"colour": "red", "plain": true}"#)
        .input(r#"{"hue": "red", "qty": 2, "plain": true}"#)
        .input(r#"{"color": "red", "quantity": 2, "plain": false}"#)
        .wrong_input(r#"{"color": "red", "colour": "blue", "plain": true}"#)
        .wrong_input(r#"{"plain": true}"#)
        .wrong_input(r#"{"hue": 1, "plain": true}"#),
        both(
            "Skips",
            &[Skips {
                kept: 1,
                never: 2,
                write_only: "w".into(),
                read_only: true,
            }],
        )
        .wrong(r#"{ kept: 1, write_only: "w", read_only: true }"#)
        .wrong(r#"{ kept: 1 }"#)
        .no_roundtrip()
        .input(r#"{"kept": 1, "write_only": "w"}"#)
        .wrong_input(r#"{"kept": 1}"#),
        both("Strict", &[Strict { a: 1, computed: 2 }])
            .wrong(r#"{ a: 1 }"#)
            .no_roundtrip()
            .input(r#"{"a": 1}"#)
            .wrong_input(r#"{"a": 1, "computed": 2}"#),
        both(
            "Flattened",
            &[Flattened {
                id: 1,
                audit: Audit {
                    created_by: "ada".into(),
                    created_at: 0,
                },
            }],
        )
        .wrong(r#"{ id: 1, audit: { created_by: "ada", created_at: 0 } }"#)
        .wrong(r#"{ id: 1, created_by: "ada" }"#)
        .wrong_input(r#"{"id": 1, "created_by": "ada"}"#),
        both(
            "FlattenOptional",
            &[
                FlattenOptional { id: 1, audit: None },
                FlattenOptional {
                    id: 2,
                    audit: Some(Audit {
                        created_by: "b".into(),
                        created_at: 1,
                    }),
                },
            ],
        )
        .wrong(r#"{ created_by: "b", created_at: 1 }"#)
        .wrong(r#"{ id: "1" }"#),
        both(
            "FlattenMap",
            &[FlattenMap {
                id: 1,
                name: "n".into(),
                extra: HashMap::from([
                    ("color".to_owned(), serde_json::json!("red")),
                    ("size".to_owned(), serde_json::json!([1, 2])),
                ]),
            }],
        )
        .wrong(r#"{ id: 1, extra: {} }"#)
        .wrong(r#"{ name: "n" }"#)
        .input(r#"{"id": 1, "name": "n"}"#),
        both(
            "FlattenTwo",
            &[FlattenTwo {
                audit: Audit {
                    created_by: "a".into(),
                    created_at: 2,
                },
                meters: Wrapper { meters: Meters(2.0) },
            }],
        )
        .wrong(r#"{ created_by: "a", created_at: 2 }"#)
        .wrong(r#"{ created_by: "a", created_at: 2, meters: "2" }"#),
        both("UserId", &[UserId(7), UserId(u64::MAX)])
            .wrong(r#"{ 0: 7 }"#)
            .wrong("[7]")
            .wrong_input("\"7\""),
        both(
            "HasTransparent",
            &[
                HasTransparent {
                    user: UserId(1),
                    note: Note { text: None },
                },
                HasTransparent {
                    user: UserId(2),
                    note: Note {
                        text: Some("t".into()),
                    },
                },
            ],
        )
        .wrong(r#"{ user: { id: 1 }, note: null }"#)
        .wrong(r#"{ user: 1, note: { text: null } }"#)
        .wrong(r#"{ user: 1 }"#)
        .input(r#"{"user": 1}"#)
        .wrong_input(r#"{"note": "x"}"#),
        both("TaggedStruct", &[TaggedStruct { x: 1 }])
            .wrong(r#"{ x: 1 }"#)
            .wrong(r#"{ kind: "Other", x: 1 }"#)
            .no_roundtrip()
            .input(r#"{"x": 1}"#)
            .wrong_input(r#"{"kind": 1}"#),
        both("TaggedRenamed", &[TaggedRenamed { x: 1 }])
            .wrong(r#"{ kind: "TaggedRenamed", x: 1 }"#)
            .no_roundtrip()
            .input(r#"{"x": 2}"#),
        both("WithTs", &[WithTs { points: 5, hours: 2 }])
            .wrong(r#"{ points: 5, hours: 2 }"#)
            .wrong(r#"{ points: "five", hours: 2 }"#)
            .no_roundtrip()
            .input(r#"{"points": "5", "hours": "2"}"#)
            .input(r#"{"points": "5", "hours": 2}"#)
            .wrong_input(r#"{"points": 5, "hours": 2}"#),
        both("RustName", &[RustName { a: 1 }]).wrong(r#"{ a: "1" }"#),
        both(
            "HandTyped",
            &[
                HandTyped {
                    color: Rgb(255, 0, 16),
                    accent: None,
                },
                HandTyped {
                    color: Rgb(0, 0, 0),
                    accent: Some(Rgb(1, 2, 3)),
                },
            ],
        )
        .wrong(r#"{ color: [255, 0, 16], accent: null }"#)
        .wrong(r#"{ color: "red", accent: null }"#)
        .wrong(r##"{ color: "#ff0010" }"##)
        .input(r##"{"color": "#ffffff"}"##)
        .wrong_input(r#"{"accent": null}"#)
        .gap_input(r##"{"color": "#nothex"}"##),
        both("Swatch", &[Swatch { color: Rgb(1, 1, 1) }])
            .wrong("[1, 1, 1]")
            .wrong_input("[1, 1, 1]"),
        both(
            "Keywords",
            &[Keywords {
                r#type: "t".into(),
                r#async: false,
                kebab: 1,
                digit: 2,
            }],
        )
        .wrong(r#"{ type: "t", async: false, kebab: 1, "0starts-with-digit": 2 }"#),
        both(
            "Tree",
            &[Tree {
                value: 1,
                children: vec![
                    Tree {
                        value: 2,
                        children: vec![],
                    },
                    Tree {
                        value: 3,
                        children: vec![Tree {
                            value: 4,
                            children: vec![],
                        }],
                    },
                ],
            }],
        )
        .wrong(r#"{ value: 1, children: [{ value: 2 }] }"#),
        both(
            "Ping",
            &[Ping {
                pong: Some(Box::new(Pong {
                    ping: vec![Ping { pong: None }],
                    count: 3,
                })),
            }],
        )
        .wrong(r#"{ pong: { ping: [{ pong: 1 }], count: 3 } }"#)
        .input(r#"{"pong": {"ping": [{}]}}"#)
        .wrong_input(r#"{"pong": {"ping": [{"pong": {}}]}}"#),
        output(
            "Borrowed",
            &[Borrowed {
                name: "n",
                parts: vec!["a", "b"],
            }],
        )
        .wrong(r#"{ name: "n", parts: "a,b" }"#),
        both(
            "Outer",
            &[Outer {
                inner: Defaults {
                    count: 1,
                    label: "x".into(),
                    required: false,
                },
                same: Plain {
                    id: 0,
                    name: String::new(),
                    score: 0.0,
                    tags: vec![],
                    active: false,
                },
            }],
        )
        .wrong(r#"{ inner: { required: false }, same: {} }"#)
        .input(r#"{"inner": {"required": true}, "same": {"id": 0, "name": "", "score": 0, "tags": [], "active": true}}"#)
        .wrong_input(r#"{"inner": {"required": true}, "same": {"id": 0}}"#),
        both(
            "ArrayOfGenerics",
            &[ArrayOfGenerics {
                pages: vec![Page {
                    items: vec![Defaults {
                        count: 0,
                        label: String::new(),
                        required: true,
                    }],
                    total: 1,
                    next: None,
                }],
                pairs: vec![Pair(1, None), Pair(2, Some("two".into()))],
            }],
        )
        .wrong(r#"{ pages: [{ items: [{}], total: 1, next: null }], pairs: [] }"#)
        .input(r#"{"pages": [{"items": [{"required": true}], "total": 1}], "pairs": [[1, null]]}"#)
        .wrong_input(r#"{"pages": [], "pairs": [[1]]}"#),
    ];
    out.push(
        both(
            "Option<Page<Option<UserId>>>",
            &[
                None,
                Some(Page {
                    items: vec![None, Some(UserId(1))],
                    total: 2,
                    next: None,
                }),
            ],
        )
        .wrong(r#"{ items: [{ id: 1 }], total: 2, next: null }"#),
    );
    out
}
