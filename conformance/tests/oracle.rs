//! The cross-check: for plain value types that `typescript-type-def` also
//! describes, its TypeScript and ours must describe the same JSON.
//!
//! How: both outputs are written beside each other (ours through
//! `rxd::codegen::declarations`, theirs through
//! `typescript_type_def::write_definition_file`), and for each type a line
//! asks `tsc` whether ours and theirs are mutually assignable and have the
//! same keys:
//!
//! ```ts
//! export const same_Plain: Same<ours.Plain, theirs.Plain> = true;
//! ```
//!
//! `Same<A, B>` is `true` only when `A` is assignable to `B`, `B` to `A`,
//! and `keyof A` and `keyof B` are mutually assignable too (mutual
//! assignability alone would let one side have an extra optional property).
//! Any other answer is a type error that names the type.
//!
//! Only the output direction is compared: `typescript-type-def` describes
//! what serde writes. Types it describes differently on purpose are not
//! listed (see `docs/TYPES.md`, "Cross-check").

use std::collections::{BTreeMap, HashMap};

use rxd::TypeScript;
use rxd_conformance::{diagnostic_line, run_tsc, scratch_dir};
use serde::Serialize;
use typescript_type_def::{write_definition_file, DefinitionFileOptions, TypeDef};

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OPlain {
    pub id: u64,
    pub name: String,
    pub score: f64,
    pub tags: Vec<String>,
    pub active: bool,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OOptionals {
    pub always: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sometimes: Option<String>,
    pub nested: Option<Vec<Option<u8>>>,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OTuple(pub i32, pub String, pub bool);

#[derive(TypeScript, TypeDef, Serialize)]
pub struct ONewtype(pub Vec<i64>);

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OMaps {
    pub by_name: HashMap<String, u32>,
    pub sorted: BTreeMap<String, Vec<bool>>,
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OCamel {
    pub first_field: i32,
    #[serde(rename = "SECOND")]
    pub second_field: String,
    #[serde(skip)]
    pub hidden: u8,
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OKebab {
    pub some_long_name: u8,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct ONested {
    pub plain: OPlain,
    pub list: Vec<OTuple>,
    pub maybe: Option<ONewtype>,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub enum OUnitEnum {
    Low,
    Medium,
    High,
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OExternal {
    UnitVariant,
    Newtype(String),
    Tuple(i32, bool),
    Struct { a: u8, b: Option<String> },
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(tag = "type")]
pub enum OInternal {
    Unit,
    Struct { x: i32, y: i32 },
    Newtype(OPlain),
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(tag = "t", content = "c")]
pub enum OAdjacent {
    Unit,
    Newtype(String),
    Tuple(u8, u8),
    Struct { value: f64 },
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(untagged)]
pub enum OUntagged {
    Number(i64),
    Text(String),
    Point { x: f64, y: f64 },
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum OFieldsCamel {
    Created {
        created_at: i64,
    },
    #[serde(rename = "gone")]
    Deleted {
        deleted_by: String,
    },
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OFlattened {
    pub id: i32,
    #[serde(flatten)]
    pub plain: OPlain,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OUnit;

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OTupleFields {
    pub pair: (i32, String),
    pub triple: (bool, Option<u8>, Vec<String>),
    pub unit: (),
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct ONumbers {
    pub a: i8,
    pub b: i16,
    pub c: i32,
    pub d: i64,
    pub e: u8,
    pub f: u16,
    pub g: u32,
    pub h: u64,
    pub i: usize,
    pub j: isize,
    pub k: f32,
    pub l: f64,
    pub m: char,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OBoxes {
    pub boxed: Box<OPlain>,
    pub list: Box<[u8]>,
}

#[derive(TypeScript, TypeDef, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OKebabInternal {
    MakeThing { thing_name: String },
    DropIt,
}

#[derive(TypeScript, TypeDef, Serialize)]
pub struct OJson {
    pub any: serde_json::Value,
    pub list: Vec<serde_json::Value>,
}

/// `(name, ours, theirs)`: ours as a `TsType`, theirs by name in its
/// namespace.
fn pairs() -> Vec<(&'static str, rxd::TsType)> {
    vec![
        ("OPlain", OPlain::ts_type()),
        ("OOptionals", OOptionals::ts_type()),
        ("OTuple", OTuple::ts_type()),
        ("ONewtype", ONewtype::ts_type()),
        ("OMaps", OMaps::ts_type()),
        ("OCamel", OCamel::ts_type()),
        ("OKebab", OKebab::ts_type()),
        ("ONested", ONested::ts_type()),
        ("OUnitEnum", OUnitEnum::ts_type()),
        ("OExternal", OExternal::ts_type()),
        ("OInternal", OInternal::ts_type()),
        ("OAdjacent", OAdjacent::ts_type()),
        ("OUntagged", OUntagged::ts_type()),
        ("OFieldsCamel", OFieldsCamel::ts_type()),
        ("OFlattened", OFlattened::ts_type()),
        ("OUnit", OUnit::ts_type()),
        ("OTupleFields", OTupleFields::ts_type()),
        ("ONumbers", ONumbers::ts_type()),
        ("OBoxes", OBoxes::ts_type()),
        ("OKebabInternal", OKebabInternal::ts_type()),
        ("OJson", OJson::ts_type()),
    ]
}

type Api = (
    (OPlain, OOptionals, OTuple, ONewtype, OMaps, OCamel, OKebab),
    (
        ONested,
        OUnitEnum,
        OExternal,
        OInternal,
        OAdjacent,
        OUntagged,
        OFieldsCamel,
    ),
    (
        OFlattened,
        OUnit,
        OTupleFields,
        ONumbers,
        OBoxes,
        OKebabInternal,
        OJson,
    ),
);

#[test]
fn typescript_type_def_agrees() {
    let pairs = pairs();
    let ours =
        rxd::codegen::declarations(&pairs.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>())
            .expect("our declarations");
    let theirs = {
        let mut buf = Vec::new();
        write_definition_file::<_, Api>(&mut buf, DefinitionFileOptions::default())
            .expect("typescript-type-def's declarations");
        String::from_utf8(buf).expect("utf-8")
    };
    let mut check = String::from(
        "import type * as ours from \"./ours\";\n\
         import type { types as theirs } from \"./theirs\";\n\
         type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;\n\
         type Same<A, B> = Mutual<A, B> extends true ? Mutual<keyof A, keyof B> : false;\n",
    );
    let first_line = check.lines().count() + 1;
    for ((name, _), printed) in pairs.iter().zip(&ours.types) {
        check.push_str(&format!(
            "export const same_{name}: Same<{}, theirs.{name}> = true;\n",
            printed
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .map(|n| format!("ours.{n}"))
                .unwrap_or_default()
        ));
    }
    let dir = scratch_dir("oracle");
    std::fs::write(dir.join("ours.ts"), &ours.text).unwrap();
    std::fs::write(dir.join("theirs.ts"), &theirs).unwrap();
    std::fs::write(dir.join("check.ts"), &check).unwrap();
    let mut failures = Vec::new();
    for (label, diagnostics) in run_tsc(&dir, &["ours.ts", "theirs.ts", "check.ts"]) {
        for line in diagnostics.lines() {
            match diagnostic_line(line, "check.ts") {
                Some(n) if n >= first_line && n - first_line < pairs.len() => {
                    let name = pairs[n - first_line].0;
                    failures.push(format!(
                        "{name} ({label}): ours and typescript-type-def's differ: {line}"
                    ));
                }
                _ if line.starts_with(|c: char| !c.is_whitespace()) => {
                    failures.push(format!("({label}) {line}"));
                }
                _ => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with typescript-type-def (files in {}):\n{}",
        failures.len(),
        dir.display(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "typescript-type-def cross-check: {} types describe the same JSON",
        pairs.len()
    );
}
