//! Attribute parsing shared by every macro: `#[rxd(...)]`, the serde
//! attributes that change the JSON shape, and doc comments.
//!
//! rxd attributes are parsed strictly: an unknown or repeated key is an error.
//! serde attributes are parsed tolerantly: whatever is not modelled here is
//! skipped, and malformed serde attributes are left for serde to report, so
//! one mistake gives one error.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::{token, Attribute, Expr, ExprLit, Ident, Lit, LitStr, Token};

use crate::case::RenameRule;

/// The errors found in one macro input, reported together.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Records an error spanning `tokens`.
    pub fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Whether nothing went wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every error as `compile_error!` invocations.
    pub fn to_compile_error(&self) -> TokenStream {
        let mut combined: Option<syn::Error> = None;
        for error in &self.errors {
            match &mut combined {
                Some(all) => all.combine(error.clone()),
                None => combined = Some(error.clone()),
            }
        }
        combined.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

/// The name serde uses for an identifier: `r#type` is `type`.
pub fn unraw(ident: &Ident) -> String {
    ident.unraw().to_string()
}

// ---------------------------------------------------------------------------
// #[rxd(...)]

/// A key that `#[rxd(...)]` accepts somewhere.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RxdKey {
    /// `#[rxd(key)]` on a layer field.
    Key,
    /// `#[rxd(parent = Type::field)]` on a layer field.
    Parent,
    /// `#[rxd(ts = "...")]`: the TypeScript text of a field or type.
    Ts,
    /// `#[rxd(name = "...")]`: the instance type name of a layer.
    Name,
    /// `#[rxd(rename = "...")]`: the TypeScript name of a value type.
    Rename,
    /// `#[rxd(ts_input = "...")]`: the TypeScript text of what a field or
    /// type accepts on input, when it differs from `ts`.
    TsInput,
    /// `#[rxd(writable)]`: a layer field the browser may write.
    Writable,
}

impl RxdKey {
    const ALL: [RxdKey; 7] = [
        RxdKey::Key,
        RxdKey::Parent,
        RxdKey::Ts,
        RxdKey::Name,
        RxdKey::Rename,
        RxdKey::TsInput,
        RxdKey::Writable,
    ];

    fn spelling(self) -> &'static str {
        match self {
            RxdKey::Key => "key",
            RxdKey::Parent => "parent",
            RxdKey::Ts => "ts",
            RxdKey::Name => "name",
            RxdKey::Rename => "rename",
            RxdKey::TsInput => "ts_input",
            RxdKey::Writable => "writable",
        }
    }
}

/// The `#[rxd(...)]` attributes of one item, field or variant.
#[derive(Default)]
pub struct RxdAttrs {
    /// `key`, with the span of the word.
    pub key: Option<Span>,
    /// `parent = ...`, as written; checked by the layer derive.
    pub parent: Option<Expr>,
    /// `ts = "..."`.
    pub ts: Option<LitStr>,
    /// `name = "..."`.
    pub name: Option<LitStr>,
    /// `rename = "..."`.
    pub rename: Option<LitStr>,
    /// `ts_input = "..."`.
    pub ts_input: Option<LitStr>,
    /// `writable`, with the span of the word.
    pub writable: Option<Span>,
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(keys: &[RxdKey]) -> String {
    let names: Vec<String> = keys.iter().map(|k| format!("`{}`", k.spelling())).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
    }
}

/// Parses every `#[rxd(...)]` in `attrs`, accepting only the `allowed` keys.
pub fn rxd_attrs(attrs: &[Attribute], allowed: &[RxdKey], errors: &mut Errors) -> RxdAttrs {
    let mut out = RxdAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("rxd")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = RxdKey::ALL
                .into_iter()
                .find(|k| meta.path.is_ident(k.spelling()));
            let key = match key {
                Some(key) if allowed.contains(&key) => key,
                _ => {
                    let name = meta.path.to_token_stream().to_string().replace(' ', "");
                    let message = if allowed.is_empty() {
                        format!("unknown rxd attribute `{name}`: no rxd attribute belongs here")
                    } else {
                        format!(
                            "unknown rxd attribute `{name}`; expected {}",
                            one_of(allowed)
                        )
                    };
                    errors.push(meta.error(message));
                    return skip_value(&meta);
                }
            };
            let duplicate = match key {
                RxdKey::Key => {
                    let duplicate = out.key.is_some();
                    out.key = Some(meta.path.span_of_ident());
                    duplicate
                }
                RxdKey::Parent => {
                    let value: Expr = meta.value()?.parse()?;
                    out.parent.replace(value).is_some()
                }
                RxdKey::Ts => out.ts.replace(meta.value()?.parse()?).is_some(),
                RxdKey::Name => out.name.replace(meta.value()?.parse()?).is_some(),
                RxdKey::Rename => out.rename.replace(meta.value()?.parse()?).is_some(),
                RxdKey::TsInput => out.ts_input.replace(meta.value()?.parse()?).is_some(),
                RxdKey::Writable => out.writable.replace(meta.path.span_of_ident()).is_some(),
            };
            if duplicate {
                errors
                    .push(meta.error(format_args!("duplicate rxd attribute `{}`", key.spelling())));
            }
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    out
}

trait SpanOfIdent {
    fn span_of_ident(&self) -> Span;
}

impl SpanOfIdent for syn::Path {
    fn span_of_ident(&self) -> Span {
        self.segments
            .last()
            .map(|s| s.ident.span())
            .unwrap_or_else(Span::call_site)
    }
}

// ---------------------------------------------------------------------------
// #[serde(...)]

/// Which way the JSON goes: what serde writes (state, action results) or
/// what it reads (action parameters, write payloads).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    /// Serialization: what the server sends.
    Output,
    /// Deserialization: what a client may send.
    Input,
}

impl Dir {
    /// Both directions, output first.
    pub const BOTH: [Dir; 2] = [Dir::Output, Dir::Input];
}

/// A value for each direction: serde's `serialize` and `deserialize` halves.
#[derive(Clone, Debug)]
pub struct Both<T> {
    /// The serialize half.
    pub ser: T,
    /// The deserialize half.
    pub de: T,
}

impl<T: Default> Default for Both<T> {
    fn default() -> Self {
        Both {
            ser: T::default(),
            de: T::default(),
        }
    }
}

impl<T> Both<T> {
    /// The half for `dir`.
    pub fn get(&self, dir: Dir) -> &T {
        match dir {
            Dir::Output => &self.ser,
            Dir::Input => &self.de,
        }
    }
}

/// Skips the value of a meta item we do not model: `= expr`, `(...)` or
/// nothing.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(token::Paren) {
        meta.input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// `= "text"`: the text, or `None` when it is not a string (serde reports
/// that).
fn string_value(meta: &ParseNestedMeta) -> syn::Result<Option<String>> {
    let expr: Expr = meta.value()?.parse()?;
    let mut value = &expr;
    while let Expr::Group(group) = value {
        value = &group.expr;
    }
    Ok(match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    })
}

/// `= "x"` (both halves) or `(serialize = "x", deserialize = "y")`; a half
/// not given is `None`.
fn both_values(meta: &ParseNestedMeta) -> syn::Result<Both<Option<String>>> {
    if meta.input.peek(Token![=]) {
        let value = string_value(meta)?;
        return Ok(Both {
            ser: value.clone(),
            de: value,
        });
    }
    let mut out = Both::default();
    if meta.input.peek(token::Paren) {
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("serialize") {
                out.ser = string_value(&inner)?;
                Ok(())
            } else if inner.path.is_ident("deserialize") {
                out.de = string_value(&inner)?;
                Ok(())
            } else {
                skip_value(&inner)
            }
        })?;
    }
    Ok(out)
}

/// Sets each half of `target` that `value` gives.
fn merge<T>(target: &mut Both<Option<T>>, value: Both<Option<T>>) {
    if value.ser.is_some() {
        target.ser = value.ser;
    }
    if value.de.is_some() {
        target.de = value.de;
    }
}

fn both_rules(meta: &ParseNestedMeta) -> syn::Result<Both<Option<RenameRule>>> {
    let values = both_values(meta)?;
    Ok(Both {
        ser: values.ser.and_then(|s| RenameRule::parse(&s)),
        de: values.de.and_then(|s| RenameRule::parse(&s)),
    })
}

/// Runs `each` on every item of every `#[serde(...)]`; a malformed attribute
/// is left for serde to report.
fn for_each_serde(attrs: &[Attribute], mut each: impl FnMut(&ParseNestedMeta) -> syn::Result<()>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| each(&meta));
    }
}

/// Container attributes that make a type serialize or deserialize as
/// another type's shape (or, for `remote`, another type's impl), with the
/// directions they affect.
const FOREIGN: &[(&str, Option<Dir>)] = &[
    ("from", Some(Dir::Input)),
    ("try_from", Some(Dir::Input)),
    ("into", Some(Dir::Output)),
    ("remote", None),
];

/// Field and variant attributes whose JSON only user code knows, with the
/// directions they affect (`None`: both).
const WITH: &[(&str, Option<Dir>)] = &[
    ("with", None),
    ("serialize_with", Some(Dir::Output)),
    ("deserialize_with", Some(Dir::Input)),
    ("getter", Some(Dir::Output)),
];

/// An attribute whose shape cannot be known, with its span.
pub type Unknowable = (&'static str, Span);

/// Records `meta` in `out` if it is one of `table`'s attributes.
fn unknowable(
    meta: &ParseNestedMeta,
    table: &[(&'static str, Option<Dir>)],
    out: &mut Both<Option<Unknowable>>,
) -> syn::Result<bool> {
    let Some(&(name, dir)) = table.iter().find(|(n, _)| meta.path.is_ident(n)) else {
        return Ok(false);
    };
    let span = meta.path.span_of_ident();
    if dir != Some(Dir::Input) && out.ser.is_none() {
        out.ser = Some((name, span));
    }
    if dir != Some(Dir::Output) && out.de.is_none() {
        out.de = Some((name, span));
    }
    skip_value(meta)?;
    Ok(true)
}

/// The serde attributes of a struct or enum.
#[derive(Default)]
pub struct SerdeContainer {
    /// `rename`: the struct's name, written under a struct's `tag`.
    pub rename: Both<Option<String>>,
    /// `rename_all`.
    pub rename_all: Both<Option<RenameRule>>,
    /// `rename_all_fields`, enums only.
    pub rename_all_fields: Both<Option<RenameRule>>,
    /// `tag = "..."`.
    pub tag: Option<(String, Span)>,
    /// `content = "..."`.
    pub content: Option<(String, Span)>,
    /// `untagged`.
    pub untagged: Option<Span>,
    /// `transparent`.
    pub transparent: Option<Span>,
    /// `default` or `default = "path"`: every field may be missing on input.
    pub default: bool,
    /// `from`, `try_from` (input), `into` (output), `remote` (both).
    pub foreign: Both<Option<Unknowable>>,
}

impl SerdeContainer {
    /// Reads the container attributes from `attrs`.
    pub fn parse(attrs: &[Attribute]) -> SerdeContainer {
        let mut out = SerdeContainer::default();
        for_each_serde(attrs, |meta| {
            let span = meta.path.span_of_ident();
            if meta.path.is_ident("rename") {
                merge(&mut out.rename, both_values(meta)?);
            } else if meta.path.is_ident("rename_all") {
                merge(&mut out.rename_all, both_rules(meta)?);
            } else if meta.path.is_ident("rename_all_fields") {
                merge(&mut out.rename_all_fields, both_rules(meta)?);
            } else if meta.path.is_ident("tag") {
                out.tag = string_value(meta)?.map(|t| (t, span));
            } else if meta.path.is_ident("content") {
                out.content = string_value(meta)?.map(|c| (c, span));
            } else if meta.path.is_ident("untagged") {
                out.untagged = Some(span);
            } else if meta.path.is_ident("transparent") {
                out.transparent = Some(span);
            } else if meta.path.is_ident("default") {
                out.default = true;
                skip_value(meta)?;
            } else if !unknowable(meta, FOREIGN, &mut out.foreign)? {
                skip_value(meta)?;
            }
            Ok(())
        });
        out
    }

    /// Every attribute whose shape cannot be known, in either direction,
    /// once.
    pub fn all_foreign(&self) -> Vec<Unknowable> {
        let mut all: Vec<Unknowable> = self.foreign.ser.into_iter().collect();
        if let Some(de) = self.foreign.de {
            if all.iter().all(|(name, _)| *name != de.0) {
                all.push(de);
            }
        }
        all
    }
}

/// The serde attributes of a field.
#[derive(Default)]
pub struct SerdeField {
    /// `rename`.
    pub rename: Both<Option<String>>,
    /// `alias`: more names accepted on input.
    pub aliases: Vec<String>,
    /// `skip` or `skip_serializing`: never written.
    pub skip: Option<Span>,
    /// `skip` or `skip_deserializing`: never read.
    pub skip_de: Option<Span>,
    /// `skip_serializing_if`: sometimes absent on output.
    pub skip_if: bool,
    /// `skip_serializing_if = "Option::is_none"`: absent exactly when
    /// `None`, so never `null`.
    pub skip_if_none: bool,
    /// `default` or `default = "path"`: may be missing on input.
    pub default: bool,
    /// `flatten`.
    pub flatten: Option<Span>,
    /// `with` (both), `serialize_with`, `getter` (output),
    /// `deserialize_with` (input).
    pub with: Both<Option<Unknowable>>,
}

impl SerdeField {
    /// Reads the field attributes from `attrs`.
    pub fn parse(attrs: &[Attribute]) -> SerdeField {
        let mut out = SerdeField::default();
        for_each_serde(attrs, |meta| {
            let span = meta.path.span_of_ident();
            if meta.path.is_ident("rename") {
                merge(&mut out.rename, both_values(meta)?);
            } else if meta.path.is_ident("alias") {
                out.aliases.extend(string_value(meta)?);
            } else if meta.path.is_ident("skip") {
                out.skip = Some(span);
                out.skip_de = Some(span);
            } else if meta.path.is_ident("skip_serializing") {
                out.skip = Some(span);
            } else if meta.path.is_ident("skip_deserializing") {
                out.skip_de = Some(span);
            } else if meta.path.is_ident("skip_serializing_if") {
                out.skip_if = true;
                let path = string_value(meta)?.unwrap_or_default();
                out.skip_if_none = matches!(
                    path.as_str(),
                    "Option::is_none"
                        | "std::option::Option::is_none"
                        | "core::option::Option::is_none"
                );
            } else if meta.path.is_ident("default") {
                out.default = true;
                skip_value(meta)?;
            } else if meta.path.is_ident("flatten") {
                out.flatten = Some(span);
            } else if !unknowable(meta, WITH, &mut out.with)? {
                skip_value(meta)?;
            }
            Ok(())
        });
        out
    }

    /// Whether serde leaves the field out in direction `dir`.
    pub fn skipped(&self, dir: Dir) -> bool {
        match dir {
            Dir::Output => self.skip.is_some(),
            Dir::Input => self.skip_de.is_some(),
        }
    }

    /// The serialized name of a field named `ident` under `rule`, on output.
    pub fn name(&self, ident: &Ident, rule: Option<RenameRule>) -> String {
        self.name_in(Dir::Output, ident, rule)
    }

    /// The name of a field named `ident` under `rule` in direction `dir`.
    pub fn name_in(&self, dir: Dir, ident: &Ident, rule: Option<RenameRule>) -> String {
        match (self.rename.get(dir), rule) {
            (Some(name), _) => name.clone(),
            (None, Some(rule)) => rule.apply_to_field(&unraw(ident)),
            (None, None) => unraw(ident),
        }
    }

    /// Every name serde accepts for the field on input: its name, then its
    /// aliases, without repeats.
    pub fn input_names(&self, ident: &Ident, rule: Option<RenameRule>) -> Vec<String> {
        let mut names = vec![self.name_in(Dir::Input, ident, rule)];
        for alias in &self.aliases {
            if !names.contains(alias) {
                names.push(alias.clone());
            }
        }
        names
    }
}

/// The serde attributes of an enum variant.
#[derive(Default)]
pub struct SerdeVariant {
    /// `rename`.
    pub rename: Both<Option<String>>,
    /// `alias`: more names accepted on input.
    pub aliases: Vec<String>,
    /// `rename_all`: renames the variant's fields.
    pub rename_all: Both<Option<RenameRule>>,
    /// `skip` or `skip_serializing`.
    pub skip: bool,
    /// `skip` or `skip_deserializing`.
    pub skip_de: bool,
    /// `untagged`: this variant is serialized untagged.
    pub untagged: bool,
    /// `other`: the variant read for an unknown tag.
    pub other: bool,
    /// `with`, `serialize_with`, `deserialize_with`.
    pub with: Both<Option<Unknowable>>,
}

impl SerdeVariant {
    /// Reads the variant attributes from `attrs`.
    pub fn parse(attrs: &[Attribute]) -> SerdeVariant {
        let mut out = SerdeVariant::default();
        for_each_serde(attrs, |meta| {
            if meta.path.is_ident("rename") {
                merge(&mut out.rename, both_values(meta)?);
            } else if meta.path.is_ident("alias") {
                out.aliases.extend(string_value(meta)?);
            } else if meta.path.is_ident("rename_all") {
                merge(&mut out.rename_all, both_rules(meta)?);
            } else if meta.path.is_ident("skip") {
                out.skip = true;
                out.skip_de = true;
            } else if meta.path.is_ident("skip_serializing") {
                out.skip = true;
            } else if meta.path.is_ident("skip_deserializing") {
                out.skip_de = true;
            } else if meta.path.is_ident("untagged") {
                out.untagged = true;
            } else if meta.path.is_ident("other") {
                out.other = true;
            } else if !unknowable(meta, WITH, &mut out.with)? {
                skip_value(meta)?;
            }
            Ok(())
        });
        out
    }

    /// Whether serde leaves the variant out in direction `dir`.
    pub fn skipped(&self, dir: Dir) -> bool {
        match dir {
            Dir::Output => self.skip,
            Dir::Input => self.skip_de,
        }
    }

    /// The name of a variant named `ident` under `rule` in direction `dir`.
    pub fn name_in(&self, dir: Dir, ident: &Ident, rule: Option<RenameRule>) -> String {
        match (self.rename.get(dir), rule) {
            (Some(name), _) => name.clone(),
            (None, Some(rule)) => rule.apply_to_variant(&unraw(ident)),
            (None, None) => unraw(ident),
        }
    }

    /// Every tag serde writes (one) or accepts (its name and aliases) for
    /// the variant in direction `dir`.
    pub fn names(&self, dir: Dir, ident: &Ident, rule: Option<RenameRule>) -> Vec<String> {
        let mut names = vec![self.name_in(dir, ident, rule)];
        if dir == Dir::Input {
            for alias in &self.aliases {
                if !names.contains(alias) {
                    names.push(alias.clone());
                }
            }
        }
        names
    }
}

// ---------------------------------------------------------------------------
// Doc comments

/// The doc comment in `attrs`: one leading space trimmed from each line,
/// lines joined with `\n`; `None` without any `///`.
pub fn docs(attrs: &[Attribute]) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        let syn::Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = &nv.value
        else {
            continue;
        };
        for line in s.value().split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            lines.push(line.strip_prefix(' ').unwrap_or(line).to_owned());
        }
    }
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n"))
    }
}

/// `Option<String>` as an expression.
pub fn opt_string(value: &Option<String>) -> TokenStream {
    match value {
        Some(s) => {
            quote::quote!(::core::option::Option::Some(::std::borrow::ToOwned::to_owned(#s)))
        }
        None => quote::quote!(::core::option::Option::None),
    }
}
