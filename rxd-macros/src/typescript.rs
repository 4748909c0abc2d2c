//! `#[derive(TypeScript)]`: the TypeScript type of a plain value type, as
//! serde writes it (output) and as serde reads it (input).
//!
//! Parse the type and its serde attributes into a [`Ts`] tree per direction
//! (recording errors as it goes), then expand each tree into the runtime's
//! `TsType`, inside a named declaration. A generic type is described once,
//! with its parameters standing for themselves (`Page<T>` is
//! `export interface Page<T>`): each type parameter is replaced in the field
//! types by a hidden type whose TypeScript is the parameter's name.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Data, DataEnum, DeriveInput, Field, Fields, GenericArgument, GenericParam, Ident, Lifetime,
    LitStr, PathArguments, Type, Variant, WherePredicate,
};

use crate::attr::{
    self, docs, opt_string, unraw, Dir, Errors, RxdKey, SerdeContainer, SerdeField, SerdeVariant,
};
use crate::case::RenameRule;

/// A TypeScript type, as the derive knows it at compile time.
pub(crate) enum Ts {
    /// `<T as TypeScript>::ts_type()` (or `ts_input_type()` on input).
    Of(Type),
    /// `#[rxd(ts = "...")]`.
    Raw(LitStr),
    /// `null`.
    Null,
    /// `never`.
    Never,
    /// `"name"`.
    Literal(String),
    /// `[A, B]`.
    Tuple(Vec<Ts>),
    /// `{ a: A; b?: B }`.
    Object(Vec<TsField>),
    /// `A | B`.
    Union(Vec<Ts>),
    /// `A & B`.
    Intersection(Vec<Ts>),
    /// What a type adds to an object it is flattened into (`TsType::flattened`).
    Flattened(Box<Ts>),
}

/// Whether a property may be absent.
pub(crate) enum Optional {
    No,
    Yes,
    /// On input, when the field's type accepts being missing
    /// (`<T as TypeScript>::ts_input_optional()`: `Option<T>`).
    IfTypeAllows(Box<Type>),
}

/// One property of [`Ts::Object`].
pub(crate) struct TsField {
    pub name: String,
    pub ty: Ts,
    pub optional: Optional,
    pub doc: Option<String>,
}

impl TsField {
    fn new(name: String, ty: Ts) -> TsField {
        TsField {
            name,
            ty,
            optional: Optional::No,
            doc: None,
        }
    }
}

impl Ts {
    /// The expression building this type's `TsType` in direction `dir`.
    pub(crate) fn expand(&self, dir: Dir) -> TokenStream {
        match self {
            Ts::Of(ty) => match dir {
                Dir::Output => quote_spanned!(ty.span()=> <#ty as ::rxd::TypeScript>::ts_type()),
                Dir::Input => {
                    quote_spanned!(ty.span()=> <#ty as ::rxd::TypeScript>::ts_input_type())
                }
            },
            Ts::Raw(text) => quote!(::rxd::TsType::Raw(::std::borrow::ToOwned::to_owned(#text))),
            Ts::Null => quote!(::rxd::TsType::Null),
            Ts::Never => quote!(::rxd::TsType::Union(::std::vec::Vec::new())),
            Ts::Literal(s) => {
                quote!(::rxd::TsType::StringLiteral(::std::borrow::ToOwned::to_owned(#s)))
            }
            Ts::Tuple(items) => {
                let items = items.iter().map(|t| t.expand(dir));
                quote!(::rxd::TsType::Tuple(::std::vec![#(#items),*]))
            }
            Ts::Union(items) => {
                let items = items.iter().map(|t| t.expand(dir));
                quote!(::rxd::TsType::Union(::std::vec![#(#items),*]))
            }
            Ts::Intersection(items) => {
                let items = items.iter().map(|t| t.expand(dir));
                quote!(::rxd::TsType::Intersection(::std::vec![#(#items),*]))
            }
            Ts::Flattened(inner) => {
                let inner = inner.expand(dir);
                quote!(::rxd::TsType::flattened(#inner))
            }
            Ts::Object(fields) => {
                let fields = fields.iter().map(|f| {
                    let name = &f.name;
                    let ty = f.ty.expand(dir);
                    let optional = match &f.optional {
                        Optional::No => quote!(false),
                        Optional::Yes => quote!(true),
                        Optional::IfTypeAllows(ty) => quote_spanned! {ty.span()=>
                            <#ty as ::rxd::TypeScript>::ts_input_optional()
                        },
                    };
                    let doc = opt_string(&f.doc);
                    quote! {
                        ::rxd::__private::TsField {
                            name: ::std::borrow::ToOwned::to_owned(#name),
                            ty: #ty,
                            optional: #optional,
                            doc: #doc,
                        }
                    }
                });
                quote!(::rxd::TsType::Object(::std::vec![#(#fields),*]))
            }
        }
    }
}

/// The generic parameters of the type, and how field types refer to them.
struct Params {
    /// `(T, __RxdParamT)` for each type parameter.
    types: Vec<(Ident, Ident)>,
    /// What `Self` stands for in a field type: the type with placeholders.
    self_ty: Option<Type>,
}

impl Params {
    fn new(input: &DeriveInput, errors: &mut Errors) -> Params {
        let mut types = Vec::new();
        for param in &input.generics.params {
            match param {
                GenericParam::Type(t) => {
                    types.push((t.ident.clone(), format_ident!("__RxdParam{}", t.ident)))
                }
                GenericParam::Const(c) => errors.spanned(
                    c,
                    "#[derive(TypeScript)] cannot describe a const generic parameter: name the type's TypeScript with #[rxd(ts = \"...\")]",
                ),
                GenericParam::Lifetime(_) => {}
            }
        }
        let ident = &input.ident;
        let args = input.generics.params.iter().filter_map(|p| match p {
            GenericParam::Type(t) => {
                let placeholder = format_ident!("__RxdParam{}", t.ident);
                Some(quote!(#placeholder))
            }
            GenericParam::Lifetime(_) => Some(quote!('static)),
            GenericParam::Const(_) => None,
        });
        let args: Vec<TokenStream> = args.collect();
        let self_ty = if args.is_empty() {
            syn::parse2(quote!(#ident)).ok()
        } else {
            syn::parse2(quote!(#ident<#(#args),*>)).ok()
        };
        Params { types, self_ty }
    }

    /// `ty` with every type parameter replaced by its placeholder and every
    /// lifetime by `'static`, so that it can be named outside the impl.
    fn substitute(&self, ty: &Type, errors: &mut Errors) -> Type {
        let mut ty = ty.clone();
        let mut visitor = Substitute {
            params: self,
            error: None,
        };
        visitor.visit_type_mut(&mut ty);
        if let Some(span) = visitor.error {
            errors.at(
                span,
                "#[derive(TypeScript)] cannot describe a field whose type names an associated type of a type parameter: name its TypeScript with #[rxd(ts = \"...\")]",
            );
        }
        ty
    }
}

struct Substitute<'a> {
    params: &'a Params,
    error: Option<Span>,
}

impl VisitMut for Substitute<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = ty {
            if path.qself.is_none() && path.path.is_ident("Self") {
                if let Some(self_ty) = &self.params.self_ty {
                    *ty = self_ty.clone();
                    return;
                }
            }
            if path.qself.is_none() {
                if let Some(first) = path.path.segments.first() {
                    if let Some((_, placeholder)) =
                        self.params.types.iter().find(|(p, _)| *p == first.ident)
                    {
                        if path.path.segments.len() == 1 && first.arguments.is_none() {
                            *ty = syn::parse_quote!(#placeholder);
                            return;
                        }
                        self.error.get_or_insert(first.ident.span());
                    }
                }
            } else if let Some(qself) = &path.qself {
                if let Type::Path(inner) = &*qself.ty {
                    if let Some(first) = inner.path.segments.first() {
                        if self.params.types.iter().any(|(p, _)| *p == first.ident) {
                            self.error.get_or_insert(first.ident.span());
                        }
                    }
                }
            }
        }
        visit_mut::visit_type_mut(self, ty);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new("'static", lifetime.span());
    }
}

/// What the parse of one direction needs.
struct Cx<'a> {
    dir: Dir,
    /// Whether `skip_serializing_if = "Option::is_none"` on an `Option<T>`
    /// field types it `?: T` (a state layer's descriptor keeps
    /// `?: T | null`, and its declarations must match it).
    tighten_none: bool,
    params: &'a Params,
    errors: &'a mut Errors,
}

impl Cx<'_> {
    /// Errors are reported by the output pass, or by the input pass for
    /// what only concerns input, so that each is reported once.
    fn report(&mut self, dir_specific: Option<Dir>, span: Span, message: String) {
        let owner = dir_specific.unwrap_or(Dir::Output);
        if owner == self.dir {
            self.errors.at(span, message);
        }
    }
}

/// Expands `#[derive(TypeScript)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let rxd = attr::rxd_attrs(
        &input.attrs,
        &[RxdKey::Rename, RxdKey::Ts, RxdKey::TsInput],
        &mut errors,
    );
    let name = rxd
        .rename
        .map(|r| r.value())
        .unwrap_or_else(|| unraw(&input.ident));
    let raw = rxd.ts.is_some();
    let params = if raw {
        // The user names the type; its parameters stay unused.
        Params {
            types: Vec::new(),
            self_ty: None,
        }
    } else {
        Params::new(input, &mut errors)
    };
    let serde = SerdeContainer::parse(&input.attrs);
    let mut shapes = Vec::new();
    for dir in Dir::BOTH {
        let text = match dir {
            Dir::Output => rxd.ts.clone(),
            Dir::Input => rxd.ts_input.clone().or_else(|| rxd.ts.clone()),
        };
        let mut cx = Cx {
            dir,
            tighten_none: true,
            params: &params,
            errors: &mut errors,
        };
        shapes.push(match text {
            Some(text) => Ts::Raw(text),
            None => shape(input, &serde, &mut cx),
        });
    }
    let input_ts = shapes.pop().expect("two shapes");
    let output_ts = shapes.pop().expect("two shapes");
    let input_optional = match (&input.data, &serde.transparent, raw) {
        (Data::Struct(data), Some(_), false) => {
            transparent_field(&data.fields, Dir::Input).map(|f| {
                let ty = &f.ty;
                // A field typed by hand need not implement TypeScript.
                if f.attrs.iter().any(|a| a.path().is_ident("rxd")) {
                    let optional = option_inner(ty).is_some();
                    quote!(#optional)
                } else {
                    quote_spanned!(ty.span()=> <#ty as ::rxd::TypeScript>::ts_input_optional())
                }
            })
        }
        _ => None,
    };
    if errors.is_empty() {
        expand(input, &name, &params, &output_ts, &input_ts, input_optional)
    } else {
        let mut out = errors.to_compile_error();
        out.extend(stub(input));
        out
    }
}

/// The type's JSON shape in one direction, from its fields and serde
/// attributes.
fn shape(input: &DeriveInput, serde: &SerdeContainer, cx: &mut Cx) -> Ts {
    if let Some((name, span)) = serde.foreign.get(cx.dir) {
        // `remote` concerns both directions: the output pass reports it.
        if cx.dir == Dir::Output || serde.foreign.ser.map(|(n, _)| n) != Some(name) {
            let key = if cx.dir == Dir::Input && *name != "remote" {
                "ts_input"
            } else {
                "ts"
            };
            cx.errors.at(
                *span,
                format_args!(
                    "cannot know the TypeScript shape of a type with serde({name}); name it with #[rxd({key} = \"...\")] on the type"
                ),
            );
        }
        return Ts::Null;
    }
    match &input.data {
        Data::Struct(data) => {
            if serde.transparent.is_some() {
                return transparent_field(&data.fields, cx.dir)
                    .map(|f| field_ts(f, &SerdeField::parse(&f.attrs), cx))
                    .unwrap_or(Ts::Null);
            }
            match &data.fields {
                Fields::Named(named) => {
                    let mut object = struct_object(
                        named.named.iter(),
                        *serde.rename_all.get(cx.dir),
                        serde.default,
                        cx,
                    );
                    if let (Some((tag, _)), Dir::Output) = (&serde.tag, cx.dir) {
                        // serde writes the struct's name under the tag first,
                        // and ignores the tag when reading.
                        let struct_name = serde
                            .rename
                            .ser
                            .clone()
                            .unwrap_or_else(|| unraw(&input.ident));
                        let tag = TsField::new(tag.clone(), Ts::Literal(struct_name));
                        object = with_tag(tag, object);
                    }
                    object
                }
                // serde writes a newtype struct as its field, `skip` or not.
                Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                    let field = &unnamed.unnamed[0];
                    field_ts(field, &SerdeField::parse(&field.attrs), cx)
                }
                Fields::Unnamed(unnamed) => Ts::Tuple(tuple_items(unnamed.unnamed.iter(), cx)),
                Fields::Unit => Ts::Null,
            }
        }
        Data::Enum(data) => enumeration(data, serde, cx),
        Data::Union(data) => {
            if cx.dir == Dir::Output {
                let (token, ident) = (data.union_token, &input.ident);
                cx.errors.spanned(
                    quote!(#token #ident),
                    "TypeScript derives only on structs and enums",
                );
            }
            Ts::Null
        }
    }
}

/// `#[serde(transparent)]`: the one field serde reads or writes.
fn transparent_field(fields: &Fields, dir: Dir) -> Option<&Field> {
    fields
        .iter()
        .find(|f| !SerdeField::parse(&f.attrs).skipped(dir))
}

/// The type of one field in one direction: `#[rxd(ts)]` (or `ts_input`),
/// else its Rust type; a field serde reads or writes with user code needs
/// the former.
fn field_ts(field: &Field, serde: &SerdeField, cx: &mut Cx) -> Ts {
    // Only the output pass reports bad rxd attributes.
    let mut scratch = Errors::default();
    let errors = if cx.dir == Dir::Output {
        &mut *cx.errors
    } else {
        &mut scratch
    };
    let rxd = attr::rxd_attrs(&field.attrs, &[RxdKey::Ts, RxdKey::TsInput], errors);
    let text = match cx.dir {
        Dir::Output => rxd.ts,
        Dir::Input => rxd.ts_input.or(rxd.ts),
    };
    if let Some(text) = text {
        return Ts::Raw(text);
    }
    if let Some((with, span)) = serde.with.get(cx.dir) {
        report_unknowable(cx, with, *span, "field");
        return Ts::Null;
    }
    Ts::Of(cx.params.substitute(&field.ty, cx.errors))
}

/// A field or variant whose shape serde's `with`, `serialize_with` or
/// `deserialize_with` hides: an error in the direction it hides, naming the
/// `#[rxd(...)]` key that fixes it.
fn report_unknowable(cx: &mut Cx, with: &str, span: Span, what: &str) {
    let (only, key) = match with {
        "with" => (None, "ts"),
        "deserialize_with" => (Some(Dir::Input), "ts_input"),
        _ => (Some(Dir::Output), "ts"),
    };
    cx.report(
        only,
        span,
        format!(
            "cannot know the TypeScript shape of a {what} with serde({with}); name it with #[rxd({key} = \"...\")]"
        ),
    );
}

/// `Option<T>` → `T`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

/// The properties of a struct or struct variant in one direction: an
/// object, intersected with flattened fields and with the alternatives of
/// aliased fields.
fn struct_object<'a>(
    fields: impl Iterator<Item = &'a Field>,
    rule: Option<RenameRule>,
    container_default: bool,
    cx: &mut Cx,
) -> Ts {
    let mut props = Vec::new();
    let mut more = Vec::new();
    for field in fields {
        let serde = SerdeField::parse(&field.attrs);
        let Some(ident) = &field.ident else { continue };
        if serde.skipped(cx.dir) {
            continue;
        }
        if serde.flatten.is_some() {
            // A flattened `Option<T>` adds T's properties or none.
            let flattened = match option_inner(&field.ty) {
                Some(inner) if serde.with.get(cx.dir).is_none() => {
                    let inner = cx.params.substitute(inner, cx.errors);
                    Ts::Union(vec![Ts::Of(inner), Ts::Object(Vec::new())])
                }
                _ => Ts::Flattened(Box::new(field_ts(field, &serde, cx))),
            };
            more.push(flattened);
            continue;
        }
        let mut ty = field_ts(field, &serde, cx);
        if let (Dir::Output, true, Ts::Of(_), Some(inner)) = (
            cx.dir,
            cx.tighten_none && serde.skip_if_none,
            &ty,
            option_inner(&field.ty),
        ) {
            // Written only when `Some`: never `null`.
            ty = Ts::Of(cx.params.substitute(inner, cx.errors));
        }
        let optional = match cx.dir {
            Dir::Output if serde.skip_if => Optional::Yes,
            Dir::Output => Optional::No,
            Dir::Input if serde.default || container_default => Optional::Yes,
            // serde reports a missing field that has `deserialize_with`.
            Dir::Input if serde.with.de.is_some() => Optional::No,
            // A field typed by `#[rxd(ts)]` need not implement TypeScript:
            // only a literal `Option<T>` says it may be missing.
            Dir::Input if matches!(ty, Ts::Raw(_)) => {
                if option_inner(&field.ty).is_some() {
                    Optional::Yes
                } else {
                    Optional::No
                }
            }
            Dir::Input => {
                Optional::IfTypeAllows(Box::new(cx.params.substitute(&field.ty, cx.errors)))
            }
        };
        let doc = docs(&field.attrs);
        let names = match cx.dir {
            Dir::Output => vec![serde.name_in(Dir::Output, ident, rule)],
            Dir::Input => serde.input_names(ident, rule),
        };
        if names.len() == 1 {
            props.push(TsField {
                name: names.into_iter().next().expect("one name"),
                ty,
                optional,
                doc,
            });
            continue;
        }
        // An aliased field: one of its names, never two (serde reports a
        // duplicate field).
        let members = names
            .iter()
            .map(|name| {
                Ts::Object(
                    names
                        .iter()
                        .map(|other| {
                            if other == name {
                                TsField {
                                    name: name.clone(),
                                    ty: ty.clone_shallow(),
                                    optional: optional.clone_shallow(),
                                    doc: doc.clone(),
                                }
                            } else {
                                TsField {
                                    name: other.clone(),
                                    ty: Ts::Never,
                                    optional: Optional::Yes,
                                    doc: None,
                                }
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        more.push(Ts::Union(members));
    }
    if more.is_empty() {
        Ts::Object(props)
    } else {
        let mut all = vec![Ts::Object(props)];
        all.extend(more);
        Ts::Intersection(all)
    }
}

impl Ts {
    /// A copy of a field's type (`Of`, `Raw` or `Null`, as [`field_ts`]
    /// builds them).
    fn clone_shallow(&self) -> Ts {
        match self {
            Ts::Of(ty) => Ts::Of(ty.clone()),
            Ts::Raw(text) => Ts::Raw(text.clone()),
            Ts::Null => Ts::Null,
            Ts::Never => Ts::Never,
            Ts::Literal(s) => Ts::Literal(s.clone()),
            Ts::Tuple(items) => Ts::Tuple(items.iter().map(Ts::clone_shallow).collect()),
            Ts::Union(items) => Ts::Union(items.iter().map(Ts::clone_shallow).collect()),
            Ts::Intersection(items) => {
                Ts::Intersection(items.iter().map(Ts::clone_shallow).collect())
            }
            Ts::Flattened(inner) => Ts::Flattened(Box::new(inner.clone_shallow())),
            Ts::Object(fields) => Ts::Object(
                fields
                    .iter()
                    .map(|f| TsField {
                        name: f.name.clone(),
                        ty: f.ty.clone_shallow(),
                        optional: f.optional.clone_shallow(),
                        doc: f.doc.clone(),
                    })
                    .collect(),
            ),
        }
    }
}

impl Optional {
    fn clone_shallow(&self) -> Optional {
        match self {
            Optional::No => Optional::No,
            Optional::Yes => Optional::Yes,
            Optional::IfTypeAllows(ty) => Optional::IfTypeAllows(ty.clone()),
        }
    }
}

/// `tag` first, then the object's properties.
fn with_tag(tag: TsField, content: Ts) -> Ts {
    match content {
        Ts::Object(fields) => {
            let mut all = vec![tag];
            all.extend(fields);
            Ts::Object(all)
        }
        Ts::Intersection(mut members) => {
            if let Some(Ts::Object(fields)) = members.first_mut() {
                fields.insert(0, tag);
            } else {
                members.insert(0, Ts::Object(vec![tag]));
            }
            Ts::Intersection(members)
        }
        other => Ts::Intersection(vec![Ts::Object(vec![tag]), Ts::Flattened(Box::new(other))]),
    }
}

/// The items of a tuple struct or tuple variant in one direction.
fn tuple_items<'a>(fields: impl Iterator<Item = &'a Field>, cx: &mut Cx) -> Vec<Ts> {
    let mut items = Vec::new();
    for field in fields {
        let serde = SerdeField::parse(&field.attrs);
        if !serde.skipped(cx.dir) {
            items.push(field_ts(field, &serde, cx));
        }
    }
    items
}

/// How serde writes an enum.
enum Repr<'a> {
    External,
    Internal { tag: &'a str },
    Adjacent { tag: &'a str, content: &'a str },
    Untagged,
}

fn enumeration(data: &DataEnum, serde: &SerdeContainer, cx: &mut Cx) -> Ts {
    let repr = match (&serde.tag, &serde.content, serde.untagged) {
        (_, _, Some(_)) => Repr::Untagged,
        (Some((tag, _)), Some((content, _)), None) => Repr::Adjacent { tag, content },
        (Some((tag, _)), None, None) => Repr::Internal { tag },
        // `content` without `tag` is a serde error; serde reports it.
        (None, _, None) => Repr::External,
    };
    let mut variants = Vec::new();
    for variant in &data.variants {
        let attrs = SerdeVariant::parse(&variant.attrs);
        if attrs.skipped(cx.dir) {
            continue;
        }
        // `#[serde(other)]` reads any unknown tag as this variant; input
        // types list its own name only (TypeScript cannot say "any other
        // string"), which serde accepts too.
        let names = attrs.names(cx.dir, &variant.ident, *serde.rename_all.get(cx.dir));
        let doc = docs(&variant.attrs);
        let fields_rule = attrs
            .rename_all
            .get(cx.dir)
            .or(*serde.rename_all_fields.get(cx.dir));
        let content = variant_content(variant, &attrs, fields_rule, cx);
        let repr = if attrs.untagged {
            &Repr::Untagged
        } else {
            &repr
        };
        if let Repr::Untagged = repr {
            variants.push(content.unwrap_or(Ts::Null));
            continue;
        }
        for name in names {
            let content = content.as_ref().map(Ts::clone_shallow);
            variants.push(match (repr, content) {
                (Repr::External, None) => Ts::Literal(name),
                (Repr::External, Some(content)) => Ts::Object(vec![TsField {
                    name,
                    ty: content,
                    optional: Optional::No,
                    doc: doc.clone(),
                }]),
                (Repr::Internal { tag }, None) => {
                    Ts::Object(vec![TsField::new((*tag).to_owned(), Ts::Literal(name))])
                }
                (Repr::Internal { tag }, Some(content)) => {
                    if matches!(&variant.fields, Fields::Unnamed(u) if u.unnamed.len() > 1) {
                        // serde rejects tuple variants with `tag` and says so.
                        Ts::Object(vec![TsField::new((*tag).to_owned(), Ts::Literal(name))])
                    } else {
                        with_tag(TsField::new((*tag).to_owned(), Ts::Literal(name)), content)
                    }
                }
                (Repr::Adjacent { tag, .. }, None) => {
                    Ts::Object(vec![TsField::new((*tag).to_owned(), Ts::Literal(name))])
                }
                (Repr::Adjacent { tag, content: key }, Some(content)) => Ts::Object(vec![
                    TsField::new((*tag).to_owned(), Ts::Literal(name)),
                    TsField::new((*key).to_owned(), content),
                ]),
                (Repr::Untagged, _) => unreachable!("handled above"),
            });
        }
    }
    Ts::Union(variants)
}

/// What a variant carries besides its name; `None` for a unit variant.
fn variant_content(
    variant: &Variant,
    attrs: &SerdeVariant,
    fields_rule: Option<RenameRule>,
    cx: &mut Cx,
) -> Option<Ts> {
    let mut scratch = Errors::default();
    let errors = if cx.dir == Dir::Output {
        &mut *cx.errors
    } else {
        &mut scratch
    };
    let rxd = attr::rxd_attrs(&variant.attrs, &[RxdKey::Ts, RxdKey::TsInput], errors);
    let text = match cx.dir {
        Dir::Output => rxd.ts,
        Dir::Input => rxd.ts_input.or(rxd.ts),
    };
    if let Some(ts) = text {
        return Some(Ts::Raw(ts));
    }
    if let Some((with, span)) = attrs.with.get(cx.dir) {
        report_unknowable(cx, with, *span, "variant");
        return Some(Ts::Null);
    }
    match &variant.fields {
        Fields::Unit => None,
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
            let field = &unnamed.unnamed[0];
            Some(field_ts(field, &SerdeField::parse(&field.attrs), cx))
        }
        Fields::Unnamed(unnamed) => Some(Ts::Tuple(tuple_items(unnamed.unnamed.iter(), cx))),
        Fields::Named(named) => Some(struct_object(named.named.iter(), fields_rule, false, cx)),
    }
}

/// The output and input object types of a state layer's fields, as
/// expressions (the layer derive reports the errors).
pub(crate) fn layer_objects(
    ident: &Ident,
    fields: &syn::FieldsNamed,
    serde: &SerdeContainer,
) -> [TokenStream; 2] {
    let params = Params {
        types: Vec::new(),
        self_ty: syn::parse2(quote!(#ident)).ok(),
    };
    let mut scratch = Errors::default();
    Dir::BOTH.map(|dir| {
        let mut cx = Cx {
            dir,
            tighten_none: false,
            params: &params,
            errors: &mut scratch,
        };
        struct_object(
            fields.named.iter(),
            *serde.rename_all.get(dir),
            serde.default,
            &mut cx,
        )
        .expand(dir)
    })
}

/// The impl's generics: the type's, with `T: TypeScript` for each type
/// parameter.
fn bounded_generics(input: &DeriveInput) -> syn::Generics {
    let mut generics = input.generics.clone();
    let bounds: Vec<WherePredicate> = generics
        .type_params()
        .map(|p| {
            let ident = &p.ident;
            syn::parse_quote!(#ident: ::rxd::TypeScript)
        })
        .collect();
    generics.make_where_clause().predicates.extend(bounds);
    generics
}

fn expand(
    input: &DeriveInput,
    name: &str,
    params: &Params,
    output: &Ts,
    input_ts: &Ts,
    input_optional: Option<TokenStream>,
) -> TokenStream {
    let ident = &input.ident;
    let generics = bounded_generics(input);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let rust_name = ident.to_string();
    let doc = opt_string(&docs(&input.attrs));
    let param_names: Vec<String> = params.types.iter().map(|(p, _)| unraw(p)).collect();
    let placeholders = params.types.iter().map(|(param, placeholder)| {
        let text = unraw(param);
        quote! {
            #[allow(non_camel_case_types, dead_code)]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
            struct #placeholder;

            impl ::rxd::TypeScript for #placeholder {
                fn ts_type() -> ::rxd::TsType {
                    ::rxd::TsType::Param(::std::sync::Arc::from(#text))
                }
            }
        }
    });
    let output_args = params
        .types
        .iter()
        .map(|(p, _)| quote!(<#p as ::rxd::TypeScript>::ts_type()));
    let input_args: Vec<TokenStream> = params
        .types
        .iter()
        .map(|(p, _)| quote!(<#p as ::rxd::TypeScript>::ts_input_type()))
        .collect();
    let output_ty = output.expand(Dir::Output);
    let input_ty = input_ts.expand(Dir::Input);
    let input_optional = input_optional.map(|expr| {
        quote! {
            fn ts_input_optional() -> bool {
                #expr
            }
        }
    });
    quote! {
        const _: () = {
            #(#placeholders)*

            fn __rxd_declare_output() -> ::rxd::__private::TsDecl {
                ::rxd::__private::TsDecl {
                    name: ::std::sync::Arc::from(#name),
                    rust_path: ::std::format!("{}::{}", ::std::module_path!(), #rust_name),
                    params: ::std::vec![#(::std::borrow::ToOwned::to_owned(#param_names)),*],
                    ty: #output_ty,
                    doc: #doc,
                }
            }

            fn __rxd_declare_input() -> ::rxd::__private::TsDecl {
                ::rxd::__private::TsDecl {
                    name: ::std::sync::Arc::from(#name),
                    rust_path: ::std::format!(
                        "{}::{} (its input shape)",
                        ::std::module_path!(),
                        #rust_name
                    ),
                    params: ::std::vec![#(::std::borrow::ToOwned::to_owned(#param_names)),*],
                    ty: #input_ty,
                    doc: #doc,
                }
            }

            #[automatically_derived]
            impl #impl_generics ::rxd::TypeScript for #ident #ty_generics #where_clause {
                fn ts_type() -> ::rxd::TsType {
                    ::rxd::TsType::Named(::rxd::__private::NamedType {
                        name: ::std::sync::Arc::from(#name),
                        args: ::std::vec![#(#output_args),*],
                        declare: __rxd_declare_output,
                    })
                }

                fn ts_input_type() -> ::rxd::TsType {
                    ::rxd::__private::NamedType::input_ref(
                        ::rxd::TsType::Named(::rxd::__private::NamedType {
                            name: ::std::sync::Arc::from(#name),
                            args: ::std::vec![#(#input_args),*],
                            declare: __rxd_declare_output,
                        }),
                        #name,
                        ::std::vec![#(#input_args),*],
                        __rxd_declare_output,
                        __rxd_declare_input,
                    )
                }

                #input_optional
            }
        };
    }
}

/// What a failed derive emits besides its errors.
fn stub(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let generics = bounded_generics(input);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::rxd::TypeScript for #ident #ty_generics #where_clause {
            fn ts_type() -> ::rxd::TsType {
                ::core::unimplemented!("#[derive(TypeScript)] failed")
            }
        }
    }
}
