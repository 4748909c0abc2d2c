//! Two Rust types that would emit one TypeScript name fail generation, and
//! the error names both Rust paths; `#[rxd(rename = "...")]` resolves it.

use rxd::codegen::{declarations, CodegenError};
use rxd::TypeScript;
use serde::{Deserialize, Serialize};

mod billing {
    #[derive(rxd::TypeScript, serde::Serialize)]
    pub struct Item {
        pub cents: i64,
    }
}

mod catalog {
    #[derive(rxd::TypeScript, serde::Serialize)]
    pub struct Item {
        pub sku: String,
    }

    #[derive(rxd::TypeScript, serde::Serialize)]
    #[rxd(rename = "CatalogItem")]
    pub struct Renamed {
        pub sku: String,
    }
}

/// Its input shape differs, so an input position declares `DraftInput`...
#[derive(TypeScript, Serialize, Deserialize)]
pub struct Draft {
    #[serde(default)]
    pub title: String,
}

/// ... which a type of that name collides with.
#[derive(TypeScript, Serialize, Deserialize)]
pub struct DraftInput {
    pub title: String,
}

fn collision(types: &[rxd::TsType]) -> (String, String, String) {
    match declarations(types) {
        Err(CodegenError::NameCollision {
            name,
            first,
            second,
        }) => (name, first, second),
        Err(other) => panic!("expected a name collision, got {other}"),
        Ok(_) => panic!("expected a name collision, got declarations"),
    }
}

#[test]
fn two_rust_types_with_one_name_name_both_paths() {
    let (name, first, second) = collision(&[billing::Item::ts_type(), catalog::Item::ts_type()]);
    assert_eq!(name, "Item");
    let mut paths = [first, second];
    paths.sort();
    assert_eq!(paths, ["names::billing::Item", "names::catalog::Item"]);
    let message = declarations(&[catalog::Item::ts_type(), billing::Item::ts_type()])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("names::billing::Item") && message.contains("names::catalog::Item"),
        "{message}"
    );
}

#[test]
fn rxd_rename_resolves_a_collision() {
    let out = declarations(&[billing::Item::ts_type(), catalog::Renamed::ts_type()])
        .expect("distinct names");
    assert!(out.text.contains("export interface Item {"));
    assert!(out.text.contains("export interface CatalogItem {"));
    assert_eq!(out.types, ["Item", "CatalogItem"]);
}

#[test]
fn an_input_declaration_collides_with_a_type_of_its_name() {
    // Output and input of one type: two declarations, no collision.
    let out = declarations(&[Draft::ts_type(), Draft::ts_input_type()]).unwrap();
    assert_eq!(out.types, ["Draft", "DraftInput"]);
    assert!(out
        .text
        .contains("export interface DraftInput {\n  title?: string;\n}"));
    // `DraftInput` the Rust type takes the name too.
    let (name, first, second) = collision(&[Draft::ts_input_type(), DraftInput::ts_type()]);
    assert_eq!(name, "DraftInput");
    let mut paths = [first, second];
    paths.sort();
    assert_eq!(
        paths,
        ["names::Draft (its input shape)", "names::DraftInput"]
    );
}
