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
}

impl RxdKey {
    const ALL: [RxdKey; 5] = [
        RxdKey::Key,
        RxdKey::Parent,
        RxdKey::Ts,
        RxdKey::Name,
        RxdKey::Rename,
    ];

    fn spelling(self) -> &'static str {
        match self {
            RxdKey::Key => "key",
            RxdKey::Parent => "parent",
            RxdKey::Ts => "ts",
            RxdKey::Name => "name",
            RxdKey::Rename => "rename",
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

/// `= "x"` or `(serialize = "x", deserialize = "y")`: the serialize half.
fn serialize_value(meta: &ParseNestedMeta) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        return string_value(meta);
    }
    let mut out = None;
    if meta.input.peek(token::Paren) {
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("serialize") {
                out = string_value(&inner)?;
                Ok(())
            } else {
                skip_value(&inner)
            }
        })?;
    }
    Ok(out)
}

fn serialize_rule(meta: &ParseNestedMeta) -> syn::Result<Option<RenameRule>> {
    Ok(serialize_value(meta)?.and_then(|s| RenameRule::parse(&s)))
}

/// Runs `each` on every item of every `#[serde(...)]`; a malformed attribute
/// is left for serde to report.
fn for_each_serde(attrs: &[Attribute], mut each: impl FnMut(&ParseNestedMeta) -> syn::Result<()>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| each(&meta));
    }
}

/// The serde attribute name at `meta`, if it is one of `names`.
fn which(meta: &ParseNestedMeta, names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|n| meta.path.is_ident(n))
}

/// Container attributes that make a type serialize as another type's shape
/// (or, for `remote`, another type's impl).
const FOREIGN: &[&str] = &["from", "into", "try_from", "remote"];

/// Field and variant attributes whose serialized shape only user code knows.
const WITH: &[&str] = &["with", "serialize_with", "deserialize_with", "getter"];

/// The serde attributes of a struct or enum.
#[derive(Default)]
pub struct SerdeContainer {
    /// `rename_all` (serialize half).
    pub rename_all: Option<RenameRule>,
    /// `rename_all_fields` (serialize half), enums only.
    pub rename_all_fields: Option<RenameRule>,
    /// `tag = "..."`.
    pub tag: Option<(String, Span)>,
    /// `content = "..."`.
    pub content: Option<(String, Span)>,
    /// `untagged`.
    pub untagged: Option<Span>,
    /// `transparent`.
    pub transparent: Option<Span>,
    /// `from`, `into`, `try_from`, `remote`.
    pub foreign: Vec<(&'static str, Span)>,
}

impl SerdeContainer {
    /// Reads the container attributes from `attrs`.
    pub fn parse(attrs: &[Attribute]) -> SerdeContainer {
        let mut out = SerdeContainer::default();
        for_each_serde(attrs, |meta| {
            let span = meta.path.span_of_ident();
            if meta.path.is_ident("rename_all") {
                out.rename_all = serialize_rule(meta)?.or(out.rename_all);
            } else if meta.path.is_ident("rename_all_fields") {
                out.rename_all_fields = serialize_rule(meta)?.or(out.rename_all_fields);
            } else if meta.path.is_ident("tag") {
                out.tag = string_value(meta)?.map(|t| (t, span));
            } else if meta.path.is_ident("content") {
                out.content = string_value(meta)?.map(|c| (c, span));
            } else if meta.path.is_ident("untagged") {
                out.untagged = Some(span);
            } else if meta.path.is_ident("transparent") {
                out.transparent = Some(span);
            } else if let Some(name) = which(meta, FOREIGN) {
                out.foreign.push((name, span));
                skip_value(meta)?;
            } else {
                skip_value(meta)?;
            }
            Ok(())
        });
        out
    }
}

/// The serde attributes of a field.
#[derive(Default)]
pub struct SerdeField {
    /// `rename` (serialize half).
    pub rename: Option<String>,
    /// `skip` or `skip_serializing`: never serialized.
    pub skip: Option<Span>,
    /// `skip_serializing_if`: sometimes absent.
    pub skip_if: bool,
    /// `flatten`.
    pub flatten: Option<Span>,
    /// `with`, `serialize_with`, `deserialize_with` or `getter`.
    pub with: Option<(&'static str, Span)>,
}

impl SerdeField {
    /// Reads the field attributes from `attrs`.
    pub fn parse(attrs: &[Attribute]) -> SerdeField {
        let mut out = SerdeField::default();
        for_each_serde(attrs, |meta| {
            let span = meta.path.span_of_ident();
            if meta.path.is_ident("rename") {
                out.rename = serialize_value(meta)?.or(out.rename.take());
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                out.skip = Some(span);
            } else if meta.path.is_ident("skip_serializing_if") {
                out.skip_if = true;
                skip_value(meta)?;
            } else if meta.path.is_ident("flatten") {
                out.flatten = Some(span);
            } else if let Some(name) = which(meta, WITH) {
                out.with = out.with.or(Some((name, span)));
                skip_value(meta)?;
            } else {
                skip_value(meta)?;
            }
            Ok(())
        });
        out
    }

    /// The serialized name of a field named `ident` under `rule`.
    pub fn name(&self, ident: &Ident, rule: Option<RenameRule>) -> String {
        match (&self.rename, rule) {
            (Some(name), _) => name.clone(),
            (None, Some(rule)) => rule.apply_to_field(&unraw(ident)),
            (None, None) => unraw(ident),
        }
    }
}

/// The serde attributes of an enum variant.
#[derive(Default)]
pub struct SerdeVariant {
    /// `rename` (serialize half).
    pub rename: Option<String>,
    /// `rename_all` (serialize half): renames the variant's fields.
    pub rename_all: Option<RenameRule>,
    /// `skip` or `skip_serializing`.
    pub skip: bool,
    /// `untagged`: this variant is serialized untagged.
    pub untagged: bool,
    /// `with`, `serialize_with`, `deserialize_with`.
    pub with: Option<(&'static str, Span)>,
}

impl SerdeVariant {
    /// Reads the variant attributes from `attrs`.
    pub fn parse(attrs: &[Attribute]) -> SerdeVariant {
        let mut out = SerdeVariant::default();
        for_each_serde(attrs, |meta| {
            let span = meta.path.span_of_ident();
            if meta.path.is_ident("rename") {
                out.rename = serialize_value(meta)?.or(out.rename.take());
            } else if meta.path.is_ident("rename_all") {
                out.rename_all = serialize_rule(meta)?.or(out.rename_all);
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                out.skip = true;
            } else if meta.path.is_ident("untagged") {
                out.untagged = true;
            } else if let Some(name) = which(meta, WITH) {
                out.with = out.with.or(Some((name, span)));
                skip_value(meta)?;
            } else {
                skip_value(meta)?;
            }
            Ok(())
        });
        out
    }

    /// The serialized name of a variant named `ident` under `rule`.
    pub fn name(&self, ident: &Ident, rule: Option<RenameRule>) -> String {
        match (&self.rename, rule) {
            (Some(name), _) => name.clone(),
            (None, Some(rule)) => rule.apply_to_variant(&unraw(ident)),
            (None, None) => unraw(ident),
        }
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
