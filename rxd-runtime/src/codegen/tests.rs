//! Tests of the whole generator on hand-built descriptors.
//!
//! The Board/Column/Card/User fixture's output is committed in
//! `rxd-runtime/tests/codegen/`; after an intended change to the output,
//! regenerate it with `RXD_BLESS=1 cargo test -p rxd-runtime codegen`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use super::*;
use crate::channel::RouteParam;
use crate::state::ts::{NamedType, TsDecl, TsField, TsType};
use crate::state::{Cardinality, FieldType, Layer, LayerField, Relation};

// ---- building descriptors -------------------------------------------------

fn field(name: &str, ty: TsType) -> LayerField {
    LayerField {
        name: name.into(),
        ty: FieldType::Value(ty),
        optional: false,
        doc: None,
        writable: None,
    }
}

fn relation(name: &str, target: fn() -> &'static Layer, cardinality: Cardinality) -> LayerField {
    LayerField {
        name: name.into(),
        ty: FieldType::Relation(Relation {
            target,
            cardinality,
        }),
        optional: false,
        doc: None,
        writable: None,
    }
}

fn optional(mut f: LayerField) -> LayerField {
    f.optional = true;
    f
}

fn documented(mut f: LayerField, doc: &str) -> LayerField {
    f.doc = Some(doc.into());
    f
}

fn layer(rust_path: &str, type_name: &str, fields: Vec<LayerField>, doc: Option<&str>) -> Layer {
    Layer {
        rust_name: Box::leak(
            rust_path
                .rsplit("::")
                .next()
                .unwrap()
                .to_owned()
                .into_boxed_str(),
        ),
        rust_path: rust_path.into(),
        type_name: Arc::from(type_name),
        key_field: "id".into(),
        fields,
        parent: None,
        doc: doc.map(Into::into),
    }
}

/// `fn $name() -> &'static Layer`, built once.
macro_rules! static_layer {
    ($name:ident, $init:expr) => {
        fn $name() -> &'static Layer {
            static LAYER: OnceLock<Layer> = OnceLock::new();
            LAYER.get_or_init(|| $init)
        }
    };
}

fn named(name: &str, declare: fn() -> TsDecl) -> TsType {
    TsType::Named(NamedType {
        name: Arc::from(name),
        args: Vec::new(),
        declare,
    })
}

fn array(t: TsType) -> TsType {
    TsType::Array(Box::new(t))
}

fn channel(
    name: &'static str,
    route: &'static str,
    params: Vec<RouteParam>,
    state: fn() -> &'static Layer,
) -> ChannelDescriptor {
    ChannelDescriptor {
        name,
        route,
        anchor_param: params.first().map(|p| p.name),
        params,
        state,
        list: false,
        auto_update: false,
        actions: Vec::new(),
        runtime: None,
        writes: Vec::new(),
        doc: None,
    }
}

// ---- the Board fixture ------------------------------------------------------

fn priority_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("Priority"),
        rust_path: "app::Priority".into(),
        params: Vec::new(),
        ty: TsType::Union(vec![
            TsType::StringLiteral("Low".into()),
            TsType::StringLiteral("High".into()),
        ]),
        doc: Some(" How urgent a card is.".into()),
    }
}

fn user_id_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("UserId"),
        rust_path: "app::UserId".into(),
        params: Vec::new(),
        ty: TsType::String,
        doc: Some(" A user's id, a slug.".into()),
    }
}

fn label_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("Label"),
        rust_path: "app::Label".into(),
        params: Vec::new(),
        ty: TsType::Object(vec![
            TsField {
                name: "text".into(),
                ty: TsType::String,
                optional: false,
                doc: None,
            },
            TsField {
                name: "color".into(),
                ty: TsType::String,
                optional: false,
                doc: Some(" A CSS color, `*/` and all.".into()),
            },
        ]),
        doc: None,
    }
}

fn page_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("Page"),
        rust_path: "app::Page".into(),
        params: vec!["T".into()],
        ty: TsType::Object(vec![
            TsField {
                name: "items".into(),
                ty: array(TsType::Raw("T".into())),
                optional: false,
                doc: None,
            },
            TsField {
                name: "next".into(),
                ty: TsType::nullable(TsType::Number),
                optional: true,
                doc: None,
            },
        ]),
        doc: Some(" One page of a long list.".into()),
    }
}

fn user_id() -> TsType {
    named("UserId", user_id_decl)
}

static_layer!(
    board,
    layer(
        "app::board::Board",
        "Board",
        vec![
            field("id", TsType::Number),
            field("title", TsType::String),
            relation("columns", column, Cardinality::Many),
            documented(
                relation("owner", user, Cardinality::One),
                " Who may delete the board."
            ),
            field(
                "settings",
                TsType::Record(Box::new(TsType::String), Box::new(TsType::JsonValue)),
            ),
        ],
        Some(" A kanban board.\n\n Everything on one page."),
    )
);

static_layer!(
    column,
    layer(
        "app::board::Column",
        "Column",
        vec![
            field("id", TsType::Number),
            documented(
                field("board_id", TsType::Number),
                " The board that holds this column."
            ),
            field("name", TsType::String),
            relation("cards", card, Cardinality::Many),
        ],
        None,
    )
);

static_layer!(
    card,
    layer(
        "app::board::Card",
        "Card",
        vec![
            field("id", TsType::Number),
            field("column_id", TsType::Number),
            field("title", TsType::String),
            field("priority", named("Priority", priority_decl)),
            relation("assignee", user, Cardinality::Optional),
            field("labels", array(named("Label", label_decl))),
            field(
                "position",
                TsType::Tuple(vec![TsType::Number, TsType::Number])
            ),
            optional(field("due", TsType::nullable(TsType::String))),
            field("estimate-hours", TsType::nullable(TsType::Number)),
            field("checklist", array(TsType::nullable(TsType::String))),
            field(
                "votes",
                TsType::Record(
                    Box::new(named("Priority", priority_decl)),
                    Box::new(TsType::Number)
                ),
            ),
            field(
                "history",
                TsType::Named(NamedType {
                    name: Arc::from("Page"),
                    args: vec![TsType::String],
                    declare: page_decl,
                }),
            ),
            field("meta", TsType::JsonValue),
        ],
        Some(" A card: one task."),
    )
);

static_layer!(
    user,
    layer(
        "app::users::User",
        "User",
        vec![
            field("id", user_id()),
            field("name", TsType::String),
            optional(field("avatar", TsType::String)),
        ],
        None,
    )
);

fn board_channel() -> ChannelDescriptor {
    let mut c = channel(
        "BoardChannel",
        "/ws/boards/{board_id}",
        vec![RouteParam {
            name: "board_id",
            ty: TsType::Number,
        }],
        board,
    );
    c.doc = Some(" One board, live.".into());
    c
}

/// A route parameter named `token`, and a key of a named type.
fn user_channel() -> ChannelDescriptor {
    channel(
        "UserChannel",
        "/ws/users/{user_id}/tokens/{token}",
        vec![
            RouteParam {
                name: "user_id",
                ty: user_id(),
            },
            RouteParam {
                name: "token",
                ty: TsType::String,
            },
        ],
        user,
    )
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codegen")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("rxd-codegen-{tag}-{}-{nanos}", std::process::id()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// With `RXD_CODEGEN_DUMP=<dir>`, writes a test's output to `<dir>/<app>.*.ts`
/// for an outside `tsc --strict --noEmit` run.
fn dump(app: &str, out: &Frontend) {
    if let Some(dir) = std::env::var_os("RXD_CODEGEN_DUMP") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        let [i, c] = file_names(app);
        std::fs::write(dir.join(i), &out.interfaces).unwrap();
        std::fs::write(dir.join(c), &out.channels).unwrap();
    }
}

// ---- tests ------------------------------------------------------------------

static_layer!(
    note,
    layer(
        "notes::Note",
        "Note",
        vec![
            field("id", TsType::String),
            documented(field("text", TsType::String), " Markdown."),
            relation("author", author, Cardinality::Optional),
        ],
        Some(" A sticky note."),
    )
);

static_layer!(
    author,
    layer(
        "notes::Author",
        "Author",
        vec![field("id", TsType::Number)],
        None
    )
);

#[test]
fn codegen_golden_small() {
    let notes = channel(
        "NoteChannel",
        "/ws/notes/{note_id}",
        vec![RouteParam {
            name: "note_id",
            ty: TsType::String,
        }],
        note,
    );
    let out = generate("notes", &[&notes]).unwrap();
    dump("notes", &out);
    assert_eq!(
        out.interfaces,
        r#"// Generated by rxd from Rust types. Do not edit: run `cargo xtask makefrontend`.

export interface Author {
  id: number;
}

/** A flat `Author` instance, as it travels on the wire: nested layers replaced by keys. */
export interface AuthorInstance {
  _type: "Author";
  _v: number;
  id: number;
}

/** A sticky note. */
export interface Note {
  id: string;
  /** Markdown. */
  text: string;
  author: Author | null;
}

/** A flat `Note` instance, as it travels on the wire: nested layers replaced by keys. */
export interface NoteInstance {
  _type: "Note";
  _v: number;
  id: string;
  /** Markdown. */
  text: string;
  author: number | null;
}
"#
    );
    assert_eq!(
        out.channels,
        r#"// Generated by rxd from Rust types. Do not edit: run `cargo xtask makefrontend`.

import { ContextChannel, type ChannelModel, type ChannelOptions } from "rxd-client";
import type { Note } from "./notes.interfaces";

export class NoteChannel extends ContextChannel<Note> {
  static readonly route = "/ws/notes/{note_id}";
  static readonly model: ChannelModel = {
    anchor: "Note",
    types: {
      Author: { key: "id", relations: {} },
      Note: { key: "id", relations: { author: { type: "Author", cardinality: "optional" } } },
    },
  };

  constructor(noteId: string, token: string, options?: ChannelOptions) {
    super(`/ws/notes/${encodeURIComponent(String(noteId))}`, token, NoteChannel.model, options);
  }
}
"#
    );
}

#[test]
fn codegen_types_the_details_of_action_errors() {
    let mut notes = channel(
        "NoteChannel",
        "/ws/notes/{note_id}",
        vec![RouteParam {
            name: "note_id",
            ty: TsType::String,
        }],
        note,
    );
    let action = |name: &'static str, details: Option<TsType>| crate::channel::ActionDescriptor {
        name,
        params: Vec::new(),
        returns: TsType::Null,
        details,
        doc: Some("Does it.".into()),
    };
    notes.actions = vec![
        action("pin_note", Some(named("Label", label_decl))),
        action("unpin", None),
    ];
    let out = generate("notes", &[&notes]).unwrap();
    dump("notes_errors", &out);
    assert!(
        out.interfaces.contains("export interface Label {"),
        "the details type is declared"
    );
    assert!(out.channels.contains(
        "import { ContextChannel, type ActionError, type ChannelModel, type ChannelOptions } from \"rxd-client\";\nimport type { Label, Note } from \"./notes.interfaces\";"
    ));
    assert!(out.channels.contains(
        "  /**\n   * Does it.\n   *\n   * @throws {NoteChannelPinNoteError} when the server answers an error\n   */\n  pinNote(): Promise<null> {"
    ));
    assert!(out.channels.ends_with(
        "}\n\n/** What `NoteChannel.pinNote` rejects with when the server answers an error. */\nexport type NoteChannelPinNoteError = ActionError<Label>;\n"
    ));
    assert!(
        !out.channels.contains("UnpinError"),
        "no alias without details"
    );
}

/// The Board fixture against the committed files in `tests/codegen/`
/// (`RXD_BLESS=1` rewrites them).
#[test]
fn codegen_golden_board() {
    let (b, u) = (board_channel(), user_channel());
    let mode = if std::env::var_os("RXD_BLESS").is_some() {
        Mode::Write
    } else {
        Mode::Check
    };
    let report = write_frontend("board", &[&b, &u], &fixture_dir(), mode).unwrap();
    if mode == Mode::Check {
        assert!(
            report.is_up_to_date(),
            "tests/codegen is stale (RXD_BLESS=1 to update):\n{}",
            report.diff
        );
    }
}

#[test]
fn codegen_output_is_byte_stable() {
    let (b, u) = (board_channel(), user_channel());
    let first = generate("board", &[&b, &u]).unwrap();
    assert_eq!(first, generate("board", &[&b, &u]).unwrap());
    assert_eq!(first, generate("board", &[&u, &b]).unwrap());
    // A descriptor listed twice is generated once.
    assert_eq!(first, generate("board", &[&u, &b, &u]).unwrap());
    for text in [&first.interfaces, &first.channels] {
        assert!(text.starts_with(print::HEADER));
        assert!(text.ends_with("}\n"));
        assert!(!text.contains('\r') && !text.contains('\t'));
        assert!(!text.contains("\n\n\n"));
    }
    // The User layer, reached from Board.owner and Card.assignee and as an
    // anchor, is declared once.
    assert_eq!(
        first.interfaces.matches("export interface User {").count(),
        1
    );
}

#[test]
fn codegen_board_output_details() {
    let (b, u) = (board_channel(), user_channel());
    let out = generate("board", &[&b, &u]).unwrap();
    let i = &out.interfaces;
    for expected in [
        "  columns: Column[];\n",
        "  /** Who may delete the board. */\n  owner: User;\n",
        "  assignee: User | null;\n",
        "  columns: number[];\n",
        "  owner: UserId;\n",
        "  assignee: UserId | null;\n",
        "  due?: string | null;\n",
        "  \"estimate-hours\": number | null;\n",
        "  checklist: (string | null)[];\n",
        "  position: [number, number];\n",
        "  settings: { [key: string]: JsonValue };\n",
        "  votes: { [key in Priority]?: number };\n",
        "  history: Page<string>;\n",
        "export type Priority = \"Low\" | \"High\";\n",
        "/** A user's id, a slug. */\nexport type UserId = string;\n",
        "export interface Page<T> {\n  items: T[];\n  next?: number | null;\n}\n",
        "  /** A CSS color, `*\\/` and all. */\n  color: string;\n",
        "export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };\n",
        "/**\n * A kanban board.\n *\n * Everything on one page.\n */\nexport interface Board {\n",
    ] {
        assert!(i.contains(expected), "missing {expected:?} in\n{i}");
    }
    // Declarations sorted by name.
    let names: Vec<&str> = i
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .map(|l| l.split([' ', '<']).nth(1).unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.iter().filter(|n| **n == "JsonValue").count(), 1);

    let c = &out.channels;
    assert!(c.contains("import type { Board, User, UserId } from \"./board.interfaces\";\n"));
    assert!(c.contains(
        "/** One board, live. */\nexport class BoardChannel extends ContextChannel<Board> {\n"
    ));
    assert!(c.contains(
        "  constructor(userId: UserId, tokenParam: string, token: string, options?: ChannelOptions) {\n    super(`/ws/users/${encodeURIComponent(String(userId))}/tokens/${encodeURIComponent(String(tokenParam))}`, token, UserChannel.model, options);\n"
    ));
    assert!(c.contains(
        "      Board: { key: \"id\", relations: { columns: { type: \"Column\", cardinality: \"many\" }, owner: { type: \"User\", cardinality: \"one\" } } },\n      Card: "
    ));
    // Board's channel comes before User's.
    assert!(c.find("class BoardChannel").unwrap() < c.find("class UserChannel").unwrap());
}

static_layer!(
    admin_user,
    layer(
        "app::admin::User",
        "User",
        vec![field("id", TsType::Number)],
        None
    )
);

fn other_priority_decl() -> TsDecl {
    TsDecl {
        rust_path: "app::jira::Priority".into(),
        ..priority_decl()
    }
}

static_layer!(
    clashing_decl,
    layer(
        "app::Clash",
        "Clash",
        vec![
            field("id", TsType::Number),
            field("a", named("Priority", priority_decl)),
            field("b", named("Priority", other_priority_decl)),
        ],
        None,
    )
);

fn board_instance_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("BoardInstance"),
        rust_path: "app::BoardInstance".into(),
        params: Vec::new(),
        ty: TsType::Number,
        doc: None,
    }
}

static_layer!(
    instance_clash,
    layer(
        "app::Holder",
        "Holder",
        vec![
            field("id", TsType::Number),
            relation("board", board, Cardinality::One),
            field("x", named("BoardInstance", board_instance_decl)),
        ],
        None,
    )
);

fn collision(result: Result<Frontend, CodegenError>) -> (String, String, String) {
    match result {
        Err(CodegenError::NameCollision {
            name,
            first,
            second,
        }) => (name, first, second),
        other => panic!("expected a name collision, got {other:?}"),
    }
}

#[test]
fn codegen_name_collisions_name_both_rust_paths() {
    let b = board_channel();
    let admin = channel(
        "AdminChannel",
        "/ws/admin/{id}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        admin_user,
    );
    let (name, first, second) = collision(generate("app", &[&b, &admin]));
    assert_eq!(name, "User");
    let mut paths = [first, second];
    paths.sort();
    assert_eq!(
        paths,
        ["app::admin::User".to_owned(), "app::users::User".to_owned()]
    );
    let err = generate("app", &[&admin, &b]).unwrap_err().to_string();
    assert!(
        err.contains("app::admin::User") && err.contains("app::users::User"),
        "{err}"
    );

    let clash = channel(
        "ClashChannel",
        "/ws/c/{id}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        clashing_decl,
    );
    let (name, first, second) = collision(generate("app", &[&clash]));
    assert_eq!(
        (name.as_str(), first.as_str(), second.as_str()),
        ("Priority", "app::Priority", "app::jira::Priority")
    );

    // A type named like a generated instance interface.
    let holder = channel(
        "HolderChannel",
        "/ws/h/{id}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        instance_clash,
    );
    let (name, first, second) = collision(generate("app", &[&holder]));
    assert_eq!(name, "BoardInstance");
    assert!(
        first.contains("app::board::Board") && second == "app::BoardInstance",
        "{first} / {second}"
    );

    // A channel named like a declaration, or like an rxd-client import.
    let mut named_user = user_channel();
    named_user.name = "User";
    let (name, first, second) = collision(generate("app", &[&named_user]));
    assert_eq!(
        (name.as_str(), first.as_str(), second.as_str()),
        ("User", "app::users::User", "channel User")
    );
    named_user.name = "ContextChannel";
    assert_eq!(
        collision(generate("app", &[&named_user])).0,
        "ContextChannel"
    );

    // Two different channels with one name.
    let mut other = board_channel();
    other.route = "/ws/b/{board_id}";
    let (name, ..) = collision(generate("app", &[&b, &other]));
    assert_eq!(name, "BoardChannel");
}

static_layer!(
    reserved,
    layer(
        "app::Bad",
        "Bad",
        vec![field("id", TsType::Number), field("_v", TsType::Number)],
        None
    )
);

static_layer!(
    badly_named,
    layer(
        "app::Bad",
        "bad-name",
        vec![field("id", TsType::Number)],
        None
    )
);

#[test]
fn codegen_rejects_what_typescript_cannot_hold() {
    let c = channel(
        "BadChannel",
        "/ws/{id}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        reserved,
    );
    assert!(
        matches!(generate("app", &[&c]), Err(CodegenError::ReservedField { field, .. }) if field == "_v")
    );
    let c = channel(
        "BadChannel",
        "/ws/{id}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        badly_named,
    );
    assert!(
        matches!(generate("app", &[&c]), Err(CodegenError::InvalidName { name, .. }) if name == "bad-name")
    );
    let c = channel(
        "BoardChannel",
        "/ws/{other}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        note,
    );
    let err = generate("app", &[&c]).unwrap_err();
    assert!(matches!(err, CodegenError::Route { .. }), "{err}");
    let c = channel(
        "BoardChannel",
        "/ws/{id}/{other}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        note,
    );
    assert!(matches!(
        generate("app", &[&c]),
        Err(CodegenError::Route { .. })
    ));
    let c = channel(
        "NoteChannel",
        "/ws/{id}",
        vec![RouteParam {
            name: "id",
            ty: TsType::Number,
        }],
        note,
    );
    for bad in ["", "../x", "a/b", "a\"b", ".hidden"] {
        assert!(
            matches!(generate(bad, &[&c]), Err(CodegenError::InvalidAppName(_))),
            "{bad}"
        );
    }
    assert!(generate("my-app.v2", &[&c]).is_ok());
}

#[test]
fn codegen_routes_with_wildcards_and_escapes() {
    let c = channel(
        "FileChannel",
        "/ws/`files`/${{x}}/{*path}",
        vec![RouteParam {
            name: "path",
            ty: TsType::String,
        }],
        note,
    );
    let out = generate("files", &[&c]).unwrap();
    dump("files", &out);
    assert!(
        out.channels.contains(
            "super(`/ws/\\`files\\`/\\${x}/${String(path).split(\"/\").map(encodeURIComponent).join(\"/\")}`, token, FileChannel.model, options);"
        ),
        "{}",
        out.channels
    );
    assert!(out
        .channels
        .contains("static readonly route = \"/ws/`files`/${{x}}/{*path}\";"));
}

#[test]
fn codegen_without_channels() {
    let out = generate("empty", &[]).unwrap();
    dump("empty", &out);
    let empty_module = format!("{}\nexport {{}};\n", print::HEADER);
    assert_eq!(out.interfaces, empty_module);
    assert_eq!(out.channels, empty_module);
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn age(path: &Path) {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(old).unwrap();
}

#[test]
fn codegen_write_and_check_modes() {
    let (b, u) = (board_channel(), user_channel());
    let channels = [&b, &u];
    let tmp = TempDir::new("modes");
    let dir = tmp.0.join("frontend/src");
    let interfaces = dir.join("board.interfaces.ts");
    let channels_ts = dir.join("board.channels.ts");
    let expected = generate("board", &channels).unwrap();

    // Check on a missing directory: both files stale, nothing written.
    let report = write_frontend("board", &channels, &dir, Mode::Check).unwrap();
    assert_eq!(
        report.changed,
        vec![interfaces.clone(), channels_ts.clone()]
    );
    assert!(
        report.diff.contains("board.interfaces.ts (missing)"),
        "{}",
        report.diff
    );
    assert!(!dir.exists());

    // Write creates the directory and both files.
    let report = write_frontend("board", &channels, &dir, Mode::Write).unwrap();
    assert_eq!(
        report.changed,
        vec![interfaces.clone(), channels_ts.clone()]
    );
    assert!(report.diff.is_empty());
    assert_eq!(
        std::fs::read_to_string(&interfaces).unwrap(),
        expected.interfaces
    );
    assert_eq!(
        std::fs::read_to_string(&channels_ts).unwrap(),
        expected.channels
    );

    // Up to date: Check is clean and Write touches nothing.
    assert_eq!(
        write_frontend("board", &channels, &dir, Mode::Check).unwrap(),
        Report::default()
    );
    age(&interfaces);
    age(&channels_ts);
    let (before_i, before_c) = (mtime(&interfaces), mtime(&channels_ts));
    let report = write_frontend("board", &channels, &dir, Mode::Write).unwrap();
    assert!(report.is_up_to_date());
    assert_eq!(
        (mtime(&interfaces), mtime(&channels_ts)),
        (before_i, before_c)
    );

    // A stale file: Check names it alone, with a diff, and leaves it.
    let stale = expected
        .channels
        .replace("BoardChannel.model", "OldChannel.model");
    std::fs::write(&channels_ts, &stale).unwrap();
    let report = write_frontend("board", &channels, &dir, Mode::Check).unwrap();
    assert_eq!(report.changed, vec![channels_ts.clone()]);
    let label = channels_ts.display().to_string();
    assert!(
        report
            .diff
            .starts_with(&format!("--- {label}\n+++ {label} (generated)\n@@ ")),
        "{}",
        report.diff
    );
    assert!(report.diff.contains("\n-    super(`/ws/boards/${encodeURIComponent(String(boardId))}`, token, OldChannel.model, options);\n+    super(`/ws/boards/${encodeURIComponent(String(boardId))}`, token, BoardChannel.model, options);\n"), "{}", report.diff);
    assert_eq!(report.diff.matches("\n-").count(), 1, "{}", report.diff);
    assert_eq!(std::fs::read_to_string(&channels_ts).unwrap(), stale);

    // Write rewrites only that file.
    age(&interfaces);
    let before_i = mtime(&interfaces);
    let report = write_frontend("board", &channels, &dir, Mode::Write).unwrap();
    assert_eq!(report.changed, vec![channels_ts.clone()]);
    assert_eq!(mtime(&interfaces), before_i);
    assert_eq!(
        std::fs::read_to_string(&channels_ts).unwrap(),
        expected.channels
    );
}

// ---- value types outside channels: `declarations` ----------------------------

fn object(fields: Vec<(&str, TsType, bool)>) -> TsType {
    TsType::Object(
        fields
            .into_iter()
            .map(|(name, ty, optional)| TsField {
                name: name.into(),
                ty,
                optional,
                doc: None,
            })
            .collect(),
    )
}

fn t_param() -> TsType {
    TsType::Param(Arc::from("T"))
}

/// `Page<T> { items: T[]; next: Option<Box<Page<T>>> }`: its input shape
/// differs (a missing `Option` field reads as `None`).
fn page_out() -> TsDecl {
    TsDecl {
        name: Arc::from("Page"),
        rust_path: "shop::Page".into(),
        params: vec!["T".into()],
        ty: object(vec![
            ("items", array(t_param()), false),
            (
                "next",
                TsType::nullable(page_ref(vec![t_param()], page_out)),
                false,
            ),
        ]),
        doc: Some(" One page of results.".into()),
    }
}

fn page_in() -> TsDecl {
    TsDecl {
        ty: object(vec![
            ("items", array(t_param()), false),
            ("next", TsType::nullable(page_input(vec![t_param()])), true),
        ]),
        rust_path: "shop::Page (its input shape)".into(),
        ..page_out()
    }
}

fn page_ref(args: Vec<TsType>, declare: fn() -> TsDecl) -> TsType {
    TsType::Named(NamedType {
        name: Arc::from("Page"),
        args,
        declare,
    })
}

fn page_input(args: Vec<TsType>) -> TsType {
    NamedType::input_ref(
        page_ref(args.clone(), page_out),
        "Page",
        args,
        page_out,
        page_in,
    )
}

/// `Tagged { id, #[serde(flatten)] audit: Audit, #[serde(flatten)] extra:
/// HashMap<String, bool> }`, with an empty struct beside it.
fn tagged_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("Tagged"),
        rust_path: "shop::Tagged".into(),
        params: vec![],
        ty: TsType::Intersection(vec![
            object(vec![("id", TsType::Number, false)]),
            object(vec![("created_by", TsType::String, false)]),
            TsType::Record(Box::new(TsType::String), Box::new(TsType::Boolean)),
        ]),
        doc: None,
    }
}

fn empty_decl() -> TsDecl {
    TsDecl {
        name: Arc::from("Empty"),
        rust_path: "shop::Empty".into(),
        params: vec![],
        ty: object(vec![]),
        doc: None,
    }
}

fn golden_types() -> Vec<TsType> {
    vec![
        page_ref(vec![TsType::Number], page_out),
        page_input(vec![TsType::Number]),
        named("Tagged", tagged_decl),
        named("Empty", empty_decl),
        TsType::Record(Box::new(TsType::NumericString), Box::new(TsType::JsonValue)),
    ]
}

/// Value types through `declarations` against the committed
/// `tests/codegen/types.ts` (`RXD_BLESS=1` rewrites it).
#[test]
fn codegen_golden_types() {
    let out = declarations(&golden_types()).unwrap();
    assert_eq!(
        out.types,
        [
            "Page<number>",
            "PageInput<number>",
            "Tagged",
            "Empty",
            "{ [key: `${number}`]: JsonValue }",
        ]
    );
    let path = fixture_dir().join("types.ts");
    if std::env::var_os("RXD_BLESS").is_some() {
        std::fs::write(&path, &out.text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == out.text,
        "tests/codegen/types.ts is stale (RXD_BLESS=1 to update):\n{}",
        diff::unified(&committed, &out.text, "committed", "generated")
    );
    assert_eq!(out, declarations(&golden_types()).unwrap());
}

#[test]
fn codegen_list_channels_hold_an_array_of_anchors() {
    let mut c = channel("MyBoards", "/ws/my-boards", Vec::new(), board);
    c.list = true;
    let out = generate("lists", &[&c]).unwrap();
    dump("lists", &out);
    let channels = &out.channels;
    assert!(
        channels.contains("export class MyBoards extends ContextChannel<Board[]> {\n"),
        "{channels}"
    );
    assert!(
        channels.contains("    anchor: \"Board\",\n    list: true,\n"),
        "{channels}"
    );
    assert!(channels.contains("  constructor(token: string, options?: ChannelOptions) {\n"));
}

// ---- Python -----------------------------------------------------------------

/// With `RXD_CODEGEN_DUMP=<dir>`, writes a test's Python to
/// `<dir>/<app>_channels.py` for an outside `python3 -m py_compile` (or mypy).
fn dump_python(app: &str, py: &str) {
    if let Some(dir) = std::env::var_os("RXD_CODEGEN_DUMP") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(python_file_name(app)), py).unwrap();
    }
}

fn python_board_channel() -> ChannelDescriptor {
    let mut c = board_channel();
    c.actions = vec![
        crate::channel::ActionDescriptor {
            name: "rename_card",
            params: vec![
                crate::channel::ActionParam {
                    name: "card_id",
                    ty: TsType::Number,
                },
                crate::channel::ActionParam {
                    name: "class",
                    ty: TsType::String,
                },
                crate::channel::ActionParam {
                    name: "priority",
                    ty: TsType::nullable(named("Priority", priority_decl)),
                },
            ],
            returns: TsType::Layer(card),
            details: Some(named("Label", label_decl)),
            doc: Some(" Renames a card.".into()),
        },
        crate::channel::ActionDescriptor {
            name: "archive",
            params: Vec::new(),
            returns: array(TsType::nullable(TsType::Layer(card))),
            details: None,
            doc: None,
        },
        crate::channel::ActionDescriptor {
            name: "count",
            params: Vec::new(),
            returns: TsType::Number,
            details: None,
            doc: None,
        },
        crate::channel::ActionDescriptor {
            name: "touch",
            params: Vec::new(),
            returns: TsType::Null,
            details: None,
            doc: None,
        },
    ];
    c
}

#[test]
fn codegen_python_board() {
    let (b, u) = (python_board_channel(), user_channel());
    let py = generate_python("board", &[&b, &u]).unwrap();
    dump_python("board", &py);
    assert_eq!(
        py,
        generate_python("board", &[&u, &b, &u]).unwrap(),
        "stable"
    );
    assert_eq!(python_file_name("my-app.v2"), "my_app_v2_channels.py");
    let has = |needle: &str| assert!(py.contains(needle), "missing:\n{needle}\nin:\n{py}");
    has("# Generated by rxd from Rust types");
    has("from __future__ import annotations\n");
    has("import rxd_client\n");
    // Named declarations: a TypedDict, aliases; generic ones are `Any`.
    has("class Label(TypedDict):\n    text: str\n    color: str\n");
    has("Priority: TypeAlias = \"Literal[\\\"Low\\\", \\\"High\\\"]\"\n");
    has("UserId: TypeAlias = \"str\"\n");
    assert!(!py.contains("Page"), "generic declarations are Any");
    // Dataclasses, sorted by name, fields in order.
    has("@dataclass\nclass Board:\n    \"\"\"A kanban board.\n\n    Everything on one page.\n    \"\"\"\n\n    id: float\n    title: str\n    columns: list[Column]\n    # Who may delete the board.\n    owner: User\n    settings: dict[str, Any]\n");
    has("            columns=[Column.from_json(x) for x in data[\"columns\"] or []],\n            owner=User.from_json(data[\"owner\"]),\n");
    has("    priority: Priority\n    assignee: User | None\n    labels: list[Label]\n    position: tuple[float, float]\n    due: str | None\n    estimate_hours: float | None\n    checklist: list[str | None]\n    votes: dict[str, float]\n    history: Any\n    meta: Any\n");
    has("            assignee=None if data[\"assignee\"] is None else User.from_json(data[\"assignee\"]),\n");
    has("            due=data.get(\"due\"),\n            estimate_hours=data[\"estimate-hours\"],\n");
    has("class User:\n    id: UserId\n    name: str\n    avatar: str | None\n");
    let order: Vec<usize> = [
        "class Board:",
        "class Card:",
        "class Column:",
        "class User:",
        "class BoardChannel:",
        "class UserChannel:",
    ]
    .iter()
    .map(|c| py.find(c).unwrap_or_else(|| panic!("{c} missing")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // The channel class: model, path, connect, state, actions.
    has("class BoardChannel:\n    \"\"\"One board, live.\"\"\"\n\n    route = \"/ws/boards/{board_id}\"\n    model: rxd_client.Model = {\n        \"anchor\": \"Board\",\n        \"types\": {\n            \"Board\": {\"key\": \"id\", \"relations\": {\"columns\": {\"type\": \"Column\", \"cardinality\": \"many\"}, \"owner\": {\"type\": \"User\", \"cardinality\": \"one\"}}},\n            \"Card\": {\"key\": \"id\", \"relations\": {\"assignee\": {\"type\": \"User\", \"cardinality\": \"optional\"}}},\n");
    has("        return \"/ws/boards/\" + _segment(board_id)\n");
    has("    async def connect(cls, base_url: str, board_id: float, token: str, *, timeout: float = 10.0) -> BoardChannel:\n");
    has("    def state(self) -> Board | None:\n");
    has("    async def rename_card(self, card_id: float, class_: str, priority: Priority | None = None) -> Card:\n        \"\"\"Renames a card.\n\n        Raises `rxd_client.ActionError` (details: `Label`) on an error reply.\n        \"\"\"\n        result = await self.channel.call(\"rename_card\", card_id, class_, priority)\n        return Card.from_json(result)\n");
    has("    async def archive(self) -> list[Card | None]:\n");
    has("        return [None if x0 is None else Card.from_json(x0) for x0 in result]\n");
    has("    async def count(self) -> float:\n        \"\"\"Raises `rxd_client.ActionError` on an error reply.\"\"\"\n        result: float = await self.channel.call(\"count\")\n        return result\n");
    has("    async def touch(self) -> None:\n        \"\"\"Raises `rxd_client.ActionError` on an error reply.\"\"\"\n        await self.channel.call(\"touch\")\n");
    // A route parameter named like a connect argument.
    has("    def path(cls, user_id: UserId, token_: str) -> str:\n        \"\"\"The route with its parameters filled in.\"\"\"\n        return \"/ws/users/\" + _segment(user_id) + \"/tokens/\" + _segment(token_)\n");
    has("    async def connect(cls, base_url: str, user_id: UserId, token_: str, token: str, *, timeout: float = 10.0) -> UserChannel:\n");
    assert!(py.ends_with(")\n"), "a final newline");
}

#[test]
fn codegen_python_lists_and_refusals() {
    let mut list = channel("MyBoards", "/ws/my-boards", Vec::new(), board);
    list.list = true;
    let py = generate_python("lists", &[&list]).unwrap();
    dump_python("lists", &py);
    assert!(
        py.contains("        \"anchor\": \"Board\",\n        \"list\": True,\n"),
        "{py}"
    );
    assert!(py.contains("    def state(self) -> list[Board]:\n"), "{py}");
    assert!(py.contains("        return \"/ws/my-boards\"\n"), "{py}");

    // An action named like a member of the generated class.
    let mut b = board_channel();
    b.actions = vec![crate::channel::ActionDescriptor {
        name: "close",
        params: Vec::new(),
        returns: TsType::Null,
        details: None,
        doc: None,
    }];
    let error = generate_python("board", &[&b]).unwrap_err().to_string();
    assert!(error.contains("action `close`"), "{error}");
    // A Python keyword as an action name.
    b.actions[0].name = "lambda";
    let error = generate_python("board", &[&b]).unwrap_err().to_string();
    assert!(error.contains("cannot name a Python method"), "{error}");
    // A channel named like what the module imports.
    let mut any = board_channel();
    any.name = "Any";
    let error = generate_python("board", &[&any]).unwrap_err().to_string();
    assert!(
        error.contains("`Any`") && error.contains("Python"),
        "{error}"
    );
}

// ---- Rust -------------------------------------------------------------------

#[test]
fn codegen_rust_board() {
    let (b, u) = (python_board_channel(), user_channel());
    let rs = generate_rust("board", &[&b, &u]).unwrap();
    assert_eq!(rs, generate_rust("board", &[&u, &b, &u]).unwrap(), "stable");
    assert_eq!(rust_file_name("my-app.v2"), "my_app_v2_channels.rs");
    let has = |needle: &str| assert!(rs.contains(needle), "missing:\n{needle}\nin:\n{rs}");
    has("// Generated by rxd from Rust types");
    // A union of string literals is an enum; a struct per object; aliases.
    has("pub enum Priority {\n    #[serde(rename = \"Low\")]\n    Low,\n    #[serde(rename = \"High\")]\n    High,\n}\n");
    has("pub struct Label {\n    pub text: ::std::string::String,\n    /// A CSS color, `*/` and all.\n    pub color: ::std::string::String,\n}\n");
    has("pub type UserId = ::std::string::String;\n");
    // Layers derive ContextState; names Rust cannot use are renamed.
    has("#[derive(::rxd::ContextState, ::serde::Serialize, ::serde::Deserialize, Clone, Debug, PartialEq)]\npub struct Board {\n");
    has("    /// Who may delete the board.\n    pub owner: User,\n");
    has("    #[serde(rename = \"estimate-hours\")]\n    pub estimate_hours: ::std::option::Option<f64>,\n");
    has("    pub assignee: ::std::option::Option<User>,\n");
    has("    #[serde(default, skip_serializing_if = \"::std::option::Option::is_none\")]\n    pub due: ::std::option::Option<::std::string::String>,\n");
    // A generic declaration is a JSON value.
    has("    pub history: ::serde_json::Value,\n");
    // The channel: path, connect, typed actions with trailing options.
    has("    pub fn path(board_id: f64) -> ::std::string::String {\n        ::std::format!(\"/ws/boards/{}\", ::rxd::client::segment(&board_id, false))\n    }\n");
    has("    pub async fn rename_card(&mut self, card_id: f64, class: ::std::string::String, priority: ::std::option::Option<Priority>) -> ::std::result::Result<Card, ::rxd::client::CallError> {\n        self.session.call(\"rename_card\", ::std::vec![::rxd::client::arg(&card_id)?, ::rxd::client::arg(&class)?, ::rxd::client::arg(&priority)?]).await\n    }");
    has("    /// Error replies carry `details` of type `Label`.\n");
    has("    pub async fn touch(&mut self) -> ::std::result::Result<(), ::rxd::client::CallError> {\n");
    // A route parameter named like a connect argument.
    has("    pub async fn connect(base_url: &str, user_id: UserId, token_: ::std::string::String, token: &str)");

    // An action named like a generated method.
    let mut clash = board_channel();
    clash.actions = vec![crate::channel::ActionDescriptor {
        name: "state",
        params: Vec::new(),
        returns: TsType::Null,
        details: None,
        doc: None,
    }];
    let error = generate_rust("board", &[&clash]).unwrap_err().to_string();
    assert!(
        error.contains("action `state`") && error.contains("Rust"),
        "{error}"
    );
}
