//! `#[derive(TypeScript)]`: the TypeScript type of a plain value type, as
//! serde serializes it.
//!
//! Parse the type and its serde attributes into a [`Ts`] tree (recording
//! errors as it goes), then expand the tree into the runtime's `TsType`
//! wrapped in a named declaration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DataEnum, DeriveInput, Field, Fields, GenericParam, LitStr, Type, Variant};

use crate::attr::{
    self, docs, opt_string, unraw, Errors, RxdKey, SerdeContainer, SerdeField, SerdeVariant,
};
use crate::case::RenameRule;

/// A TypeScript type, as the derive knows it at compile time.
enum Ts {
    /// `<T as TypeScript>::ts_type()`.
    Of(Type),
    /// `#[rxd(ts = "...")]`.
    Raw(LitStr),
    /// `null`.
    Null,
    /// `"name"`.
    Literal(String),
    /// `[A, B]`.
    Tuple(Vec<Ts>),
    /// `{ a: A; b?: B }`.
    Object(Vec<TsField>),
    /// `A | B`.
    Union(Vec<Ts>),
}

/// One property of [`Ts::Object`].
struct TsField {
    name: String,
    ty: Ts,
    optional: bool,
    doc: Option<String>,
}

impl TsField {
    fn new(name: String, ty: Ts) -> TsField {
        TsField {
            name,
            ty,
            optional: false,
            doc: None,
        }
    }
}

impl ToTokens for Ts {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            Ts::Of(ty) => quote_spanned!(ty.span()=> <#ty as ::rxd::TypeScript>::ts_type()),
            Ts::Raw(text) => quote!(::rxd::TsType::Raw(::std::borrow::ToOwned::to_owned(#text))),
            Ts::Null => quote!(::rxd::TsType::Null),
            Ts::Literal(s) => {
                quote!(::rxd::TsType::StringLiteral(::std::borrow::ToOwned::to_owned(#s)))
            }
            Ts::Tuple(items) => quote!(::rxd::TsType::Tuple(::std::vec![#(#items),*])),
            Ts::Union(items) => quote!(::rxd::TsType::Union(::std::vec![#(#items),*])),
            Ts::Object(fields) => {
                let fields = fields.iter().map(|f| {
                    let TsField {
                        name,
                        ty,
                        optional,
                        doc,
                    } = f;
                    let doc = opt_string(doc);
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
        });
    }
}

/// A type's named declaration, parsed.
struct Decl {
    /// The TypeScript name: `#[rxd(rename)]` or the Rust name.
    name: String,
    doc: Option<String>,
    ty: Ts,
}

/// Expands `#[derive(TypeScript)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let decl = parse(input, &mut errors);
    let generic = input
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)));
    if errors.is_empty() {
        expand(input, &decl)
    } else if generic {
        errors.to_compile_error()
    } else {
        let mut out = errors.to_compile_error();
        out.extend(stub(input));
        out
    }
}

fn parse(input: &DeriveInput, errors: &mut Errors) -> Decl {
    let rxd = attr::rxd_attrs(&input.attrs, &[RxdKey::Rename, RxdKey::Ts], errors);
    Decl {
        name: rxd
            .rename
            .map(|r| r.value())
            .unwrap_or_else(|| unraw(&input.ident)),
        doc: docs(&input.attrs),
        ty: match rxd.ts {
            // The user names the type; nothing else matters.
            Some(ts) => Ts::Raw(ts),
            None => shape(input, errors),
        },
    }
}

/// The type's JSON shape, from its fields and serde attributes.
fn shape(input: &DeriveInput, errors: &mut Errors) -> Ts {
    if input
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)))
    {
        errors.spanned(
            &input.generics,
            "generic TypeScript types are not supported yet",
        );
    }
    let serde = SerdeContainer::parse(&input.attrs);
    for (name, span) in &serde.foreign {
        errors.at(
            *span,
            format_args!(
                "cannot know the TypeScript shape of a type with serde({name}); name it with #[rxd(ts = \"...\")] on the type"
            ),
        );
    }
    match &input.data {
        Data::Struct(data) => {
            if serde.transparent.is_some() {
                return transparent(&data.fields, errors);
            }
            match &data.fields {
                Fields::Named(named) => {
                    let mut fields = Vec::new();
                    if let Some((tag, _)) = &serde.tag {
                        // serde writes the struct's name under the tag first.
                        fields.push(TsField::new(tag.clone(), Ts::Literal(unraw(&input.ident))));
                    }
                    fields.extend(object_fields(named.named.iter(), serde.rename_all, errors));
                    Ts::Object(fields)
                }
                Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                    field_ts(&unnamed.unnamed[0], errors)
                }
                Fields::Unnamed(unnamed) => Ts::Tuple(tuple_items(unnamed.unnamed.iter(), errors)),
                Fields::Unit => Ts::Null,
            }
        }
        Data::Enum(data) => enumeration(data, &serde, errors),
        Data::Union(data) => {
            let (token, ident) = (data.union_token, &input.ident);
            errors.spanned(
                quote!(#token #ident),
                "TypeScript derives only on structs and enums",
            );
            Ts::Null
        }
    }
}

/// `#[serde(transparent)]`: the one serialized field.
fn transparent(fields: &Fields, errors: &mut Errors) -> Ts {
    fields
        .iter()
        .find(|f| SerdeField::parse(&f.attrs).skip.is_none())
        .map(|f| field_ts(f, errors))
        .unwrap_or(Ts::Null)
}

/// The type of one field: `#[rxd(ts)]`, else its Rust type.
fn field_ts(field: &Field, errors: &mut Errors) -> Ts {
    let rxd = attr::rxd_attrs(&field.attrs, &[RxdKey::Ts], errors);
    let serde = SerdeField::parse(&field.attrs);
    if let Some(span) = serde.flatten {
        errors.at(
            span,
            "serde(flatten) is not supported by #[derive(TypeScript)] yet",
        );
    }
    match (rxd.ts, serde.with) {
        (Some(ts), _) => Ts::Raw(ts),
        (None, Some((with, span))) => {
            errors.at(
                span,
                format_args!(
                    "cannot know the TypeScript shape of a field with serde({with}); name it with #[rxd(ts = \"...\")]"
                ),
            );
            Ts::Null
        }
        (None, None) => Ts::Of(field.ty.clone()),
    }
}

/// The properties of a struct or struct variant, serialized fields only.
fn object_fields<'a>(
    fields: impl Iterator<Item = &'a Field>,
    rule: Option<RenameRule>,
    errors: &mut Errors,
) -> Vec<TsField> {
    let mut out = Vec::new();
    for field in fields {
        let serde = SerdeField::parse(&field.attrs);
        let Some(ident) = &field.ident else { continue };
        if serde.skip.is_some() {
            continue;
        }
        out.push(TsField {
            name: serde.name(ident, rule),
            ty: field_ts(field, errors),
            optional: serde.skip_if,
            doc: docs(&field.attrs),
        });
    }
    out
}

/// The items of a tuple struct or tuple variant, serialized fields only.
fn tuple_items<'a>(fields: impl Iterator<Item = &'a Field>, errors: &mut Errors) -> Vec<Ts> {
    fields
        .filter(|f| SerdeField::parse(&f.attrs).skip.is_none())
        .map(|f| field_ts(f, errors))
        .collect()
}

/// How serde writes an enum.
enum Repr<'a> {
    External,
    Internal { tag: &'a str },
    Adjacent { tag: &'a str, content: &'a str },
    Untagged,
}

fn enumeration(data: &DataEnum, serde: &SerdeContainer, errors: &mut Errors) -> Ts {
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
        if attrs.skip {
            continue;
        }
        let name = attrs.name(&variant.ident, serde.rename_all);
        let doc = docs(&variant.attrs);
        let fields_rule = attrs.rename_all.or(serde.rename_all_fields);
        let content = variant_content(variant, &attrs, fields_rule, errors);
        let repr = if attrs.untagged {
            &Repr::Untagged
        } else {
            &repr
        };
        variants.push(match (repr, content) {
            (Repr::External, None) => Ts::Literal(name),
            (Repr::External, Some(content)) => Ts::Object(vec![TsField {
                name,
                ty: content,
                optional: false,
                doc,
            }]),
            (Repr::Internal { tag }, None) => {
                Ts::Object(vec![TsField::new((*tag).to_owned(), Ts::Literal(name))])
            }
            (Repr::Internal { tag }, Some(Ts::Object(fields))) => {
                let mut all = vec![TsField::new((*tag).to_owned(), Ts::Literal(name))];
                all.extend(fields);
                Ts::Object(all)
            }
            (Repr::Internal { tag }, Some(_)) => {
                if matches!(variant.fields, Fields::Unnamed(_)) && variant.fields.len() == 1 {
                    errors.spanned(
                        &variant.ident,
                        "an internally tagged newtype variant (#[serde(tag)]) is not supported by #[derive(TypeScript)] yet: make it a struct variant",
                    );
                }
                // Tuple variants: serde rejects them with `tag` and says so.
                Ts::Object(vec![TsField::new((*tag).to_owned(), Ts::Literal(name))])
            }
            (Repr::Adjacent { tag, .. }, None) => {
                Ts::Object(vec![TsField::new((*tag).to_owned(), Ts::Literal(name))])
            }
            (Repr::Adjacent { tag, content: key }, Some(content)) => Ts::Object(vec![
                TsField::new((*tag).to_owned(), Ts::Literal(name)),
                TsField::new((*key).to_owned(), content),
            ]),
            (Repr::Untagged, None) => Ts::Null,
            (Repr::Untagged, Some(content)) => content,
        });
    }
    Ts::Union(variants)
}

/// What a variant carries besides its name; `None` for a unit variant.
fn variant_content(
    variant: &Variant,
    attrs: &SerdeVariant,
    fields_rule: Option<RenameRule>,
    errors: &mut Errors,
) -> Option<Ts> {
    let rxd = attr::rxd_attrs(&variant.attrs, &[RxdKey::Ts], errors);
    if let Some(ts) = rxd.ts {
        return Some(Ts::Raw(ts));
    }
    if let Some((with, span)) = attrs.with {
        errors.at(
            span,
            format_args!(
                "cannot know the TypeScript shape of a variant with serde({with}); name it with #[rxd(ts = \"...\")]"
            ),
        );
        return Some(Ts::Null);
    }
    match &variant.fields {
        Fields::Unit => None,
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
            Some(field_ts(&unnamed.unnamed[0], errors))
        }
        Fields::Unnamed(unnamed) => Some(Ts::Tuple(tuple_items(unnamed.unnamed.iter(), errors))),
        Fields::Named(named) => Some(Ts::Object(object_fields(
            named.named.iter(),
            fields_rule,
            errors,
        ))),
    }
}

fn expand(input: &DeriveInput, decl: &Decl) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let rust_name = ident.to_string();
    let Decl { name, doc, ty } = decl;
    let doc = opt_string(doc);
    quote! {
        #[automatically_derived]
        impl #impl_generics ::rxd::TypeScript for #ident #ty_generics #where_clause {
            fn ts_type() -> ::rxd::TsType {
                ::rxd::TsType::Named(::rxd::__private::NamedType {
                    name: ::std::sync::Arc::from(#name),
                    args: ::std::vec::Vec::new(),
                    declare: || ::rxd::__private::TsDecl {
                        name: ::std::sync::Arc::from(#name),
                        rust_path: ::std::format!("{}::{}", ::std::module_path!(), #rust_name),
                        params: ::std::vec::Vec::new(),
                        ty: #ty,
                        doc: #doc,
                    },
                })
            }
        }
    }
}

/// What a failed derive emits besides its errors.
fn stub(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::rxd::TypeScript for #ident #ty_generics #where_clause {
            fn ts_type() -> ::rxd::TsType {
                ::core::unimplemented!("#[derive(TypeScript)] failed")
            }
        }
    }
}
