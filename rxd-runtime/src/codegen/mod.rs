//! TypeScript generation: channel descriptors to `<app>.interfaces.ts` and
//! `<app>.channels.ts`; and, from the same model, typed clients in Python,
//! `<app>_channels.py` ([`generate_python`], over `rxd-client-py/rxd_client.py`),
//! and Rust, `<app>_channels.rs` ([`generate_rust`], over
//! [`crate::client::Session`]).
//!
//! [`generate`] returns the two files' text; [`write_frontend`] writes them
//! (or, with [`Mode::Check`], reports which committed files are stale).
//! `cargo xtask makefrontend` drives both through [`crate::App`].
//!
//! # `<app>.interfaces.ts`
//!
//! Every layer reachable from a channel's state layer (through relation
//! fields, and through [`TsType::Layer`] inside plain values) gets two
//! interfaces:
//!
//! - the nested state, named after the instance type name:
//!   `export interface Board { id: number; columns: Column[]; owner: User; }`.
//!   A relation is `T[]` (`Vec`), `T` or `T | null` (`Option`); a field that
//!   serde may leave out is `name?: T`;
//! - the flat instance as it travels, `<Name>Instance`:
//!   `{ _type: "Board"; _v: number; id: number; columns: number[]; owner: number; }`,
//!   each relation replaced by the target's key type (`K[]`, `K`,
//!   `K | null`). Relation fields are never optional there: flattening always
//!   writes them.
//!
//! Every [`TsType::Named`] reference is declared once (its `declare` is
//! called once per name and function): `export interface X { ... }` when the
//! declared type is an object, else `export type X = ...;`, with its generic
//! parameters. [`TsType::JsonValue`] refers to one
//! `export type JsonValue = ...` alias, declared only when used.
//!
//! Types print as follows: maps are `{ [key: string]: V }` (every JSON key is
//! a string) or, for narrower keys such as an enum, the mapped type
//! `{ [key in K]?: V }` (a map need not hold every key). `Record<K, V>` is not
//! used, so a user type named `Record` cannot break the file. Unions are
//! flattened and deduplicated (`Option<Option<T>>` is `T | null`) and
//! parenthesized inside arrays (`(A | B)[]`); raw TypeScript
//! (`#[rxd(ts = "...")]`) is parenthesized inside unions and arrays unless it
//! is a plain name. Inline objects sit on one line unless a property has a
//! doc comment. Property names that are not identifiers are quoted as
//! `JSON.stringify` quotes them. Doc comments become JSDoc (`*/` escaped).
//!
//! One namespace holds every declaration: two different Rust types (by Rust
//! path) with one TypeScript name, a layer `X` beside a type named
//! `XInstance`, or a user type named `JsonValue` beside `serde_json::Value`,
//! are a [`CodegenError::NameCollision`] naming both. A name that is not a
//! usable TypeScript type name is a [`CodegenError::InvalidName`]; a layer
//! field named `_type` or `_v` a [`CodegenError::ReservedField`].
//!
//! # `<app>.channels.ts`
//!
//! One `ContextChannel<State>` subclass per channel, named after the channel,
//! with its route, its [`ChannelModel`](#the-model) and a constructor taking
//! the route parameters (in route order, typed from [`RouteParam::ty`]), then
//! `token: string`, then `options?: ChannelOptions`:
//!
//! ```ts
//! export class BoardChannel extends ContextChannel<Board> {
//!   static readonly route = "/ws/boards/{board_id}";
//!   static readonly model: ChannelModel = {
//!     anchor: "Board",
//!     types: {
//!       Board: { key: "id", relations: { columns: { type: "Column", cardinality: "many" } } },
//!       Column: { key: "id", relations: {} },
//!     },
//!   };
//!
//!   constructor(boardId: number, token: string, options?: ChannelOptions) {
//!     super(`/ws/boards/${encodeURIComponent(String(boardId))}`, token, BoardChannel.model, options);
//!   }
//! }
//! ```
//!
//! Parameter names are camelCased (`board_id` → `boardId`); one that would
//! clash with `token`, `options`, a reserved word, the class, the globals the
//! constructor calls or an earlier parameter gets the suffix `Param`
//! (`token` → `tokenParam`), then `Param2`, ... Each `{param}` of the route
//! is filled in with `encodeURIComponent`; an axum wildcard `{*rest}` is
//! encoded segment by segment so that its slashes stay. The file imports
//! exactly the declarations it uses, sorted. A channel class may not share
//! its name with another channel, a declaration in the interfaces file, or
//! the names imported from `rxd-client`.
//!
//! Each action becomes a method named in camelCase (`move_card` →
//! `moveCard`), its parameters typed with what the server accepts
//! ([`TypeScript::ts_input_type`]), returning `Promise<T>` of the `Ok` type
//! and rejecting with `ActionError`. Trailing parameters that accept `null`
//! (`Option<T>`) are optional. A method name that `ContextChannel` already
//! uses, or two actions with one method name, is a [`CodegenError::Action`].
//!
//! A channel with runtime state (`#[rxd::channel(runtime = R)]`) extends
//! `ContextChannel<State, R>`.
//!
//! ## The model
//!
//! `anchor` is the state layer's type name; `types` holds, for the anchor and
//! every layer its relations reach (sorted by type name), its key field and
//! its relation fields in declaration order with target type name and
//! cardinality (`"many"`, `"one"` or `"optional"`).
//!
//! # Stability
//!
//! Output is byte-stable: declarations and channels sorted by name, fields in
//! declaration order, `\n` line endings, two-space indentation, a final
//! newline, no timestamps, and the same text whatever the order of the
//! channel slice. Both files start with a header saying they are generated.
//!
//! [`TsType::Layer`]: crate::state::ts::TsType::Layer
//! [`TsType::Named`]: crate::state::ts::TsType::Named
//! [`TsType::JsonValue`]: crate::state::ts::TsType::JsonValue
//! [`RouteParam::ty`]: crate::channel::RouteParam::ty
//! [`TypeScript::ts_input_type`]: crate::state::ts::TypeScript::ts_input_type

mod channels;
mod collect;
mod diff;
mod interfaces;
mod print;
mod python;
mod rust;
#[cfg(test)]
mod tests;
mod writes;

use std::io;
use std::path::{Path, PathBuf};

use crate::channel::ChannelDescriptor;

pub use interfaces::{declarations, Declarations};

/// The text of the two generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontend {
    /// `<app>.interfaces.ts`: state interfaces, instance interfaces and
    /// named declarations.
    pub interfaces: String,
    /// `<app>.channels.ts`: one channel class per channel.
    pub channels: String,
}

/// What [`write_frontend`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write every file whose content changed (creating the directory).
    Write,
    /// Write nothing; report the files that are missing or stale.
    Check,
}

/// What [`write_frontend`] did or would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The files that were rewritten ([`Mode::Write`]) or would be
    /// ([`Mode::Check`]), interfaces first.
    pub changed: Vec<PathBuf>,
    /// In [`Mode::Check`], a unified diff from each stale file on disk to
    /// what would be written (a missing file shows as empty). Empty in
    /// [`Mode::Write`].
    pub diff: String,
}

impl Report {
    /// Whether every file was already up to date.
    pub fn is_up_to_date(&self) -> bool {
        self.changed.is_empty()
    }

    /// Adds another write's files and diff (the Python or Rust client
    /// beside the TypeScript).
    pub fn merge(mut self, other: Report) -> Report {
        self.changed.extend(other.changed);
        self.diff.push_str(&other.diff);
        self
    }

    /// Ends a `makefrontend` command: in [`Mode::Check`], prints the diff
    /// and the stale files to stderr and fails when there are any; in
    /// [`Mode::Write`], prints the files written.
    pub fn finish(&self, mode: Mode) -> std::process::ExitCode {
        if mode == Mode::Check && !self.is_up_to_date() {
            eprintln!("{}", self.diff);
            eprintln!("stale generated files; run `cargo xtask makefrontend`:");
            for path in &self.changed {
                eprintln!("  {}", path.display());
            }
            return std::process::ExitCode::FAILURE;
        }
        for path in &self.changed {
            println!("wrote {}", path.display());
        }
        std::process::ExitCode::SUCCESS
    }
}

/// Why the front end could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// Two different Rust types (or a Rust type and a generated name) want
    /// one TypeScript name.
    #[error(
        "two declarations are named `{name}` in the generated TypeScript: {first} and {second}"
    )]
    NameCollision {
        /// The TypeScript name.
        name: String,
        /// Where the first comes from (a Rust path, or `channel X`).
        first: String,
        /// Where the second comes from.
        second: String,
    },
    /// A type or channel name that TypeScript cannot use as a declaration name.
    #[error("`{name}` (from {rust_path}) is not a usable TypeScript type name")]
    InvalidName {
        /// The name.
        name: String,
        /// Where it comes from.
        rust_path: String,
    },
    /// A layer field whose name the flat instance reserves.
    #[error("{rust_path} has a field named `{field}`, which flat instances reserve")]
    ReservedField {
        /// `_type` or `_v`.
        field: String,
        /// The layer's Rust path.
        rust_path: String,
    },
    /// A route template that does not match the channel's parameters.
    #[error("channel {channel}: route `{route}`: {message}")]
    Route {
        /// The channel name.
        channel: String,
        /// The route template.
        route: String,
        /// What is wrong.
        message: String,
    },
    /// An action whose TypeScript method cannot be generated.
    #[error("channel {channel}: action `{action}`: {message}")]
    Action {
        /// The channel name.
        channel: String,
        /// The action name.
        action: String,
        /// What is wrong.
        message: String,
    },
    /// An app name that cannot name the generated files.
    #[error("`{0}` cannot name generated files: use letters, digits, `_`, `-` and `.`")]
    InvalidAppName(String),
    /// Reading or writing a generated file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// The two files for these channels. `app_name` names the interfaces module
/// that the channels file imports (`./<app_name>.interfaces`).
///
/// The result does not depend on the order of `channels`; a descriptor
/// listed twice is generated once.
pub fn generate(app_name: &str, channels: &[&ChannelDescriptor]) -> Result<Frontend, CodegenError> {
    check_app_name(app_name)?;
    let channels = sorted_channels(channels)?;
    let model = collect_model(&channels)?;
    Ok(Frontend {
        interfaces: interfaces::render(&model),
        channels: channels::render(app_name, &channels, &model)?,
    })
}

/// The text of `<app>_channels.py` ([`python_file_name`]): a typed Python
/// client per channel over `rxd_client.py` (`rxd-client-py/`), from the
/// same type model as [`generate`]: a `@dataclass` per layer with
/// `from_json`, a `TypedDict` or alias per named declaration, and one class
/// per channel with its model, a typed `state` and an `async def` per
/// action. It passes the same checks as the TypeScript, and Python's own
/// (keywords, names the module imports).
pub fn generate_python(
    app_name: &str,
    channels: &[&ChannelDescriptor],
) -> Result<String, CodegenError> {
    check_app_name(app_name)?;
    let channels = sorted_channels(channels)?;
    let model = collect_model(&channels)?;
    python::render(app_name, &channels, &model)
}

/// The text of `<app>_channels.rs` ([`rust_file_name`]): a typed Rust
/// client per channel over [`crate::client::Session`], from the same type
/// model as [`generate`]: a struct per layer (deriving `ContextState`, so
/// the session rebuilds it), a struct, enum or alias per named declaration,
/// and one struct per channel with `connect`, a typed `state` and an
/// `async fn` per action. The including crate needs `rxd`, `serde` (with
/// `derive`) and `serde_json`.
pub fn generate_rust(
    app_name: &str,
    channels: &[&ChannelDescriptor],
) -> Result<String, CodegenError> {
    check_app_name(app_name)?;
    let channels = sorted_channels(channels)?;
    let model = collect_model(&channels)?;
    rust::render(app_name, &channels, &model)
}

/// The Rust module file for `app_name`: `<app_name>_channels.rs`, `-` and
/// `.` replaced by `_`.
pub fn rust_file_name(app_name: &str) -> String {
    format!("{}_channels.rs", app_name.replace(['-', '.'], "_"))
}

/// The Python module file for `app_name`: `<app_name>_channels.py`, `-`
/// and `.` replaced by `_` so that it imports.
pub fn python_file_name(app_name: &str) -> String {
    format!("{}_channels.py", app_name.replace(['-', '.'], "_"))
}

/// Every layer and declaration the channels reach, checked: the channels'
/// names against the declarations and the client's names.
fn collect_model(channels: &[&ChannelDescriptor]) -> Result<collect::Model, CodegenError> {
    let mut collector = collect::Collector::default();
    for channel in channels {
        collector.layer((channel.state)())?;
        for param in &channel.params {
            collector.ty(&param.ty)?;
        }
        for action in &channel.actions {
            for param in &action.params {
                collector.ty(&param.ty)?;
            }
            collector.ty(&action.returns)?;
            if let Some(details) = &action.details {
                collector.ty(details)?;
            }
        }
        if let Some(runtime) = &channel.runtime {
            collector.ty(runtime)?;
        }
    }
    let model = collector.finish()?;
    for channel in channels {
        if !print::is_type_name(channel.name) {
            return Err(CodegenError::InvalidName {
                name: channel.name.to_owned(),
                rust_path: format!("channel {}", channel.name),
            });
        }
        let clash = model.names.get(channel.name).cloned().or_else(|| {
            channels::CLIENT_NAMES
                .contains(&channel.name)
                .then(|| "rxd-client".to_owned())
        });
        if let Some(first) = clash {
            return Err(CodegenError::NameCollision {
                name: channel.name.to_owned(),
                first,
                second: format!("channel {}", channel.name),
            });
        }
    }
    Ok(model)
}

/// The file names for `app_name`: `<app_name>.interfaces.ts` and
/// `<app_name>.channels.ts`.
pub fn file_names(app_name: &str) -> [String; 2] {
    [
        format!("{app_name}.interfaces.ts"),
        format!("{app_name}.channels.ts"),
    ]
}

/// Generates the two files into `dir` ([`file_names`]), or checks them.
///
/// [`Mode::Write`] creates `dir` if needed and rewrites only the files whose
/// content changed, so that an up-to-date tree is not touched.
/// [`Mode::Check`] writes nothing and reports the missing or stale files with
/// a diff; the caller decides to fail.
pub fn write_frontend(
    app_name: &str,
    channels: &[&ChannelDescriptor],
    dir: &Path,
    mode: Mode,
) -> Result<Report, CodegenError> {
    let frontend = generate(app_name, channels)?;
    let [interfaces_name, channels_name] = file_names(app_name);
    write_files(
        [
            (dir.join(interfaces_name), frontend.interfaces),
            (dir.join(channels_name), frontend.channels),
        ],
        dir,
        mode,
    )
}

/// Generates the Python module ([`python_file_name`]) into `dir`, or checks
/// it, as [`write_frontend`] does the TypeScript.
pub fn write_python(
    app_name: &str,
    channels: &[&ChannelDescriptor],
    dir: &Path,
    mode: Mode,
) -> Result<Report, CodegenError> {
    let module = generate_python(app_name, channels)?;
    write_files([(dir.join(python_file_name(app_name)), module)], dir, mode)
}

/// Generates the Rust module ([`rust_file_name`]) into `dir`, or checks it,
/// as [`write_frontend`] does the TypeScript.
pub fn write_rust(
    app_name: &str,
    channels: &[&ChannelDescriptor],
    dir: &Path,
    mode: Mode,
) -> Result<Report, CodegenError> {
    let module = generate_rust(app_name, channels)?;
    write_files([(dir.join(rust_file_name(app_name)), module)], dir, mode)
}

/// Writes (or checks) generated files into `dir`, touching only those that
/// changed, as [`write_frontend`] does: for a generated file of the app's
/// own (the profile example writes its REST types with [`declarations`]).
pub fn write_files(
    files: impl IntoIterator<Item = (PathBuf, String)>,
    dir: &Path,
    mode: Mode,
) -> Result<Report, CodegenError> {
    let mut report = Report::default();
    for (path, content) in files {
        let io_error = |source| CodegenError::Io {
            path: path.clone(),
            source,
        };
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(e)),
        };
        if current.as_deref() == Some(content.as_bytes()) {
            continue;
        }
        match mode {
            Mode::Check => {
                let label = path.display().to_string();
                let (old, old_label) = match &current {
                    Some(bytes) => (String::from_utf8_lossy(bytes).into_owned(), label.clone()),
                    None => (String::new(), format!("{label} (missing)")),
                };
                report.diff.push_str(&diff::unified(
                    &old,
                    &content,
                    &old_label,
                    &format!("{label} (generated)"),
                ));
            }
            Mode::Write => {
                std::fs::create_dir_all(dir).map_err(|source| CodegenError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
                std::fs::write(&path, content.as_bytes()).map_err(io_error)?;
            }
        }
        report.changed.push(path);
    }
    Ok(report)
}

/// Letters, digits, `_`, `-` and `.`, not starting with `.`: safe as a file
/// name and inside an import path.
fn check_app_name(app_name: &str) -> Result<(), CodegenError> {
    let ok = !app_name.is_empty()
        && !app_name.starts_with('.')
        && app_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CodegenError::InvalidAppName(app_name.to_owned()))
    }
}

/// The channels sorted by name, exact repeats dropped; two different
/// channels with one name are a collision.
fn sorted_channels<'a>(
    channels: &[&'a ChannelDescriptor],
) -> Result<Vec<&'a ChannelDescriptor>, CodegenError> {
    let describe = |c: &ChannelDescriptor| {
        format!(
            "channel {} ({}, state {})",
            c.name,
            c.route,
            (c.state)().rust_path
        )
    };
    let mut sorted = channels.to_vec();
    sorted.sort_by(|a, b| (a.name, a.route).cmp(&(b.name, b.route)));
    let mut out: Vec<&ChannelDescriptor> = Vec::with_capacity(sorted.len());
    for channel in sorted {
        if let Some(last) = out.last() {
            if last.name == channel.name {
                let (first, second) = (describe(last), describe(channel));
                if first == second {
                    continue;
                }
                return Err(CodegenError::NameCollision {
                    name: channel.name.to_owned(),
                    first,
                    second,
                });
            }
        }
        out.push(channel);
    }
    Ok(out)
}
