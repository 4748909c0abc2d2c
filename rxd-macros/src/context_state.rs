//! `#[derive(ContextState)]`: one layer of a state tree.
//!
//! Parse the struct into a [`LayerIr`] (recording errors as it goes), check
//! the key and parent, then expand to `impl ContextState` (the [`Layer`]
//! descriptor), `impl TypeScript`, and the hidden field names that
//! `#[rxd(parent = Type::field)]` in other layers refers to (see
//! [`field_names`]).
//!
//! [`Layer`]: https://docs.rs/rxd/latest/rxd/state/struct.Layer.html

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Expr, ExprPath, Field, Fields, GenericArgument, Ident, LitStr, Path,
    PathArguments, Type,
};

use crate::attr::{self, docs, opt_string, unraw, Errors, RxdKey, SerdeContainer, SerdeField};

/// A layer struct, parsed.
struct LayerIr<'a> {
    ident: &'a Ident,
    /// `_type`: `#[rxd(name)]` or the Rust name.
    type_name: String,
    doc: Option<String>,
    fields: Vec<FieldIr<'a>>,
    /// The serialized name of the key field, once checked.
    key: Option<String>,
    /// The output and input object types of the fields, as expressions.
    objects: [TokenStream; 2],
}

/// One named field of a layer.
struct FieldIr<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    /// The serialized name.
    name: String,
    /// serde never writes it.
    skip: Option<Span>,
    /// serde may leave it out.
    optional: bool,
    doc: Option<String>,
    /// `#[rxd(ts = "...")]`.
    ts: Option<LitStr>,
    /// `#[rxd(key)]`.
    key: Option<Span>,
    /// `#[rxd(parent = Type::field)]`.
    parent: Option<ParentIr>,
    /// `#[rxd(writable)]`: the browser may write this field.
    writable: Option<Span>,
}

/// `#[rxd(parent = Board::columns)]`: the parent type and its field.
struct ParentIr {
    ty: Path,
    field: Ident,
}

/// Expands `#[derive(ContextState)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let mut layer = parse(input, &mut errors);
    if let Some(layer) = &mut layer {
        layer.key = check(input, layer, &mut errors);
    }
    match layer {
        Some(layer) if errors.is_empty() => expand(&layer),
        layer => {
            let mut out = errors.to_compile_error();
            // A stub keeps one mistake from cascading into every use of the
            // type; a generic stub would need bounds, so skip it then.
            if input.generics.params.is_empty() && input.generics.where_clause.is_none() {
                out.extend(stub(&input.ident));
                if let Some(layer) = &layer {
                    out.extend(field_names(layer));
                }
            }
            out
        }
    }
}

fn parse<'a>(input: &'a DeriveInput, errors: &mut Errors) -> Option<LayerIr<'a>> {
    const ONLY_NAMED: &str = "ContextState derives only on structs with named fields";
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(fields) => {
                errors.spanned(fields, ONLY_NAMED);
                return None;
            }
            Fields::Unit => {
                let (token, ident) = (data.struct_token, &input.ident);
                errors.spanned(quote!(#token #ident), ONLY_NAMED);
                return None;
            }
        },
        Data::Enum(data) => {
            let (token, ident) = (data.enum_token, &input.ident);
            errors.spanned(quote!(#token #ident), ONLY_NAMED);
            return None;
        }
        Data::Union(data) => {
            let (token, ident) = (data.union_token, &input.ident);
            errors.spanned(quote!(#token #ident), ONLY_NAMED);
            return None;
        }
    };
    if !input.generics.params.is_empty() {
        errors.spanned(&input.generics, "a state layer cannot be generic");
    } else if let Some(where_clause) = &input.generics.where_clause {
        errors.spanned(where_clause, "a state layer cannot be generic");
    }

    let rxd = attr::rxd_attrs(&input.attrs, &[RxdKey::Name], errors);
    let serde = SerdeContainer::parse(&input.attrs);
    let plain_object_violations = serde
        .tag
        .as_ref()
        .map(|(_, span)| ("tag", *span))
        .into_iter()
        .chain(serde.content.as_ref().map(|(_, span)| ("content", *span)))
        .chain(serde.untagged.map(|span| ("untagged", span)))
        .chain(serde.transparent.map(|span| ("transparent", span)))
        .chain(serde.all_foreign());
    for (name, span) in plain_object_violations {
        errors.at(
            span,
            format_args!(
                "serde({name}) cannot be used on a state layer: a layer must serialize as a plain object of its fields"
            ),
        );
    }

    let fields = named
        .named
        .iter()
        .filter_map(|field| parse_field(field, &serde, errors))
        .collect();
    Some(LayerIr {
        objects: crate::typescript::layer_objects(&input.ident, named, &serde),
        ident: &input.ident,
        type_name: rxd
            .name
            .map(|n| n.value())
            .unwrap_or_else(|| unraw(&input.ident)),
        doc: docs(&input.attrs),
        fields,
        key: None,
    })
}

fn parse_field<'a>(
    field: &'a Field,
    container: &SerdeContainer,
    errors: &mut Errors,
) -> Option<FieldIr<'a>> {
    let ident = field.ident.as_ref()?;
    let rxd = attr::rxd_attrs(
        &field.attrs,
        &[
            RxdKey::Key,
            RxdKey::Parent,
            RxdKey::Ts,
            RxdKey::TsInput,
            RxdKey::Writable,
        ],
        errors,
    );
    let serde = SerdeField::parse(&field.attrs);
    if let Some(span) = serde.flatten {
        errors.at(span, "serde(flatten) is not supported in a state layer yet");
    }
    if let (Some((with, span)), None) = (serde.with.ser, &rxd.ts) {
        errors.at(
            span,
            format_args!(
                "cannot know the TypeScript shape of a field with serde({with}); name it with #[rxd(ts = \"...\")]"
            ),
        );
    } else if let (Some((with, span)), None, None) = (serde.with.de, &rxd.ts, &rxd.ts_input) {
        errors.at(
            span,
            format_args!(
                "cannot know the TypeScript shape of a field with serde({with}); name it with #[rxd(ts_input = \"...\")]"
            ),
        );
    }
    let parent = rxd
        .parent
        .as_ref()
        .and_then(|expr| match parse_parent(expr) {
            Ok(parent) => Some(parent),
            Err(error) => {
                errors.push(error);
                None
            }
        });
    Some(FieldIr {
        ident,
        ty: &field.ty,
        name: serde.name(ident, container.rename_all.ser),
        skip: serde.skip,
        optional: serde.skip_if,
        doc: docs(&field.attrs),
        ts: rxd.ts,
        key: rxd.key,
        parent,
        writable: rxd.writable,
    })
}

/// `Board::columns` → (`Board`, `columns`).
fn parse_parent(expr: &Expr) -> syn::Result<ParentIr> {
    const EXPECTED: &str = "expected the parent's relation field as `Type::field`, e.g. #[rxd(parent = Board::columns)]";
    let Expr::Path(ExprPath {
        qself: None, path, ..
    }) = expr
    else {
        return Err(syn::Error::new_spanned(expr, EXPECTED));
    };
    let mut ty = path.clone();
    let field = match ty.segments.pop() {
        Some(last) if !ty.segments.is_empty() && last.value().arguments.is_none() => {
            last.into_value().ident
        }
        _ => return Err(syn::Error::new_spanned(expr, EXPECTED)),
    };
    // `Board::` → `Board`
    let _ = ty.segments.pop_punct();
    Ok(ParentIr { ty, field })
}

/// Checks the key and parent fields; returns the key's serialized name.
fn check(input: &DeriveInput, layer: &LayerIr, errors: &mut Errors) -> Option<String> {
    // The key: the one `#[rxd(key)]` field, else the field named `id`.
    let mut marked = layer
        .fields
        .iter()
        .filter_map(|f| f.key.map(|span| (f, span)));
    let key = match marked.next() {
        Some((first, _)) => {
            for (_, span) in marked {
                errors.at(
                    span,
                    format_args!(
                        "a layer has one key field, and `{}` is marked #[rxd(key)] already",
                        first.ident
                    ),
                );
            }
            Some(first)
        }
        None => layer.fields.iter().find(|f| unraw(f.ident) == "id"),
    };
    match key {
        None => errors.spanned(
            &input.ident,
            "ContextState needs a key field: name it `id` or mark one with #[rxd(key)]",
        ),
        Some(key) => {
            if let Some(span) = key.skip {
                errors.at(span, "the key field of a layer cannot be skipped by serde");
            }
            if let Some(span) = key.writable {
                errors.at(
                    span,
                    "the key field is never writable: it names the instance a write targets",
                );
            }
        }
    }
    for field in &layer.fields {
        if let (Some(span), Some(_)) = (field.writable, field.skip) {
            errors.at(
                span,
                "a field that serde skips cannot be writable: the browser never sees it",
            );
        }
    }
    let key = key.map(|f| f.name.clone());

    // The parent link: at most one, on a serialized field.
    let mut parents = layer.fields.iter().filter(|f| f.parent.is_some());
    if let Some(first) = parents.next() {
        if let Some(span) = first.skip {
            errors.at(
                span,
                "the field that holds the parent's key cannot be skipped by serde",
            );
        }
        for other in parents {
            if let Some(parent) = &other.parent {
                errors.spanned(
                    &parent.field,
                    format_args!(
                        "a layer has one parent, and `{}` names it already",
                        first.ident
                    ),
                );
            }
        }
    }
    key
}

/// `Vec<T>` → (`T`, Many), `Option<T>` → (`T`, Optional), `X` → (`X`, One).
fn peel(ty: &Type) -> (&Type, Ident) {
    let mut inner = ty;
    while let Type::Group(group) = inner {
        inner = &group.elem;
    }
    if let Type::Path(path) = inner {
        if path.qself.is_none() {
            if let Some(last) = path.path.segments.last() {
                let cardinality = if last.ident == "Vec" {
                    Some("Many")
                } else if last.ident == "Option" {
                    Some("Optional")
                } else {
                    None
                };
                if let (Some(cardinality), PathArguments::AngleBracketed(args)) =
                    (cardinality, &last.arguments)
                {
                    let mut types = args.args.iter().filter_map(|a| match a {
                        GenericArgument::Type(t) => Some(t),
                        _ => None,
                    });
                    if let (Some(t), None) = (types.next(), types.next()) {
                        return (t, Ident::new(cardinality, Span::call_site()));
                    }
                }
            }
        }
    }
    (ty, Ident::new("One", Span::call_site()))
}

fn field_type(field: &FieldIr) -> TokenStream {
    if let Some(ts) = &field.ts {
        return quote! {
            ::rxd::__private::FieldType::Value(
                ::rxd::TsType::Raw(::std::borrow::ToOwned::to_owned(#ts))
            )
        };
    }
    let ty = field.ty;
    let (inner, cardinality) = peel(ty);
    quote_spanned! {ty.span()=>
        {
            #[allow(unused_imports)]
            use ::rxd::__private::{LayerProbe as _, ValueProbe as _};
            (&&::rxd::__private::Probe::<#ty, #inner>::new())
                .rxd_field_type(::rxd::__private::Cardinality::#cardinality)
        }
    }
}

/// The hidden names that other layers' `#[rxd(parent = Type::field)]` use:
///
/// - `Board::__rxd_field_columns`, one constant per serialized field, holding
///   its serialized name;
/// - `Board::__rxd_fields`, a value of a hidden struct with one
///   `&'static str` field per serialized field, so that a parent naming a
///   missing field reads `Board::__rxd_fields.colums` and rustc answers "no
///   field `colums` on type `BoardFields`", suggesting `columns`.
fn field_names(layer: &LayerIr) -> TokenStream {
    let ident = layer.ident;
    let serialized: Vec<&FieldIr> = layer.fields.iter().filter(|f| f.skip.is_none()).collect();
    let consts = serialized.iter().map(|f| {
        let name = format_ident!("__rxd_field_{}", unraw(f.ident));
        let value = &f.name;
        quote! {
            #[doc(hidden)]
            pub const #name: &'static str = #value;
        }
    });
    let struct_name = format_ident!("{}Fields", unraw(ident));
    let idents: Vec<&Ident> = serialized.iter().map(|f| f.ident).collect();
    let values = serialized.iter().map(|f| &f.name);
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        impl #ident {
            #(#consts)*
        }

        #[doc(hidden)]
        const _: () = {
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            pub struct #struct_name {
                #(pub #idents: &'static str,)*
            }

            #[doc(hidden)]
            #[allow(non_upper_case_globals, dead_code)]
            impl #ident {
                #[doc(hidden)]
                pub const __rxd_fields: #struct_name = #struct_name {
                    #(#idents: #values,)*
                };
            }
        };
    }
}

fn expand(layer: &LayerIr) -> TokenStream {
    let ident = layer.ident;
    let rust_name = ident.to_string();
    let type_name = &layer.type_name;
    // `check` found the key, or reported an error and we are not here.
    let key_field = layer.key.as_deref().unwrap_or_default();
    let fields = layer.fields.iter().filter(|f| f.skip.is_none()).map(|f| {
        let name = &f.name;
        let ty = field_type(f);
        let optional = f.optional;
        let doc = opt_string(&f.doc);
        // A writable field carries a check that a client's value
        // deserializes as the field's type, so a bad value is named before
        // the app's code runs.
        let writable = match f.writable {
            Some(span) => {
                let field_ty = f.ty;
                let check = quote_spanned! {span=>
                    |value: ::rxd::__private::serde_json::Value| {
                        ::rxd::__private::serde_json::from_value::<#field_ty>(value)
                            .map(|_| ())
                            .map_err(|error| ::std::string::ToString::to_string(&error))
                    }
                };
                quote!(::core::option::Option::Some(::rxd::__private::WritableField { check: #check }))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::rxd::__private::LayerField {
                name: ::std::borrow::ToOwned::to_owned(#name),
                ty: #ty,
                optional: #optional,
                doc: #doc,
                writable: #writable,
            }
        }
    });
    let parent = match layer
        .fields
        .iter()
        .find_map(|f| f.parent.as_ref().map(|p| (f, p)))
    {
        Some((field, parent)) => {
            let name = &field.name;
            let ty = &parent.ty;
            let relation = &parent.field;
            let layer_fn = quote_spanned!(ty.span()=> <#ty as ::rxd::ContextState>::layer);
            quote! {
                ::core::option::Option::Some(::rxd::__private::ParentLink {
                    field: ::std::borrow::ToOwned::to_owned(#name),
                    parent: #layer_fn,
                    relation: ::std::borrow::ToOwned::to_owned(<#ty>::__rxd_fields.#relation),
                })
            }
        }
        None => quote!(::core::option::Option::None),
    };
    let doc = opt_string(&layer.doc);
    let names = field_names(layer);
    let [output_object, input_object] = &layer.objects;
    quote! {
        #[automatically_derived]
        impl ::rxd::ContextState for #ident {
            fn layer() -> &'static ::rxd::__private::Layer {
                static LAYER: ::rxd::__private::OnceLock<::rxd::__private::Layer> =
                    ::rxd::__private::OnceLock::new();
                LAYER.get_or_init(|| ::rxd::__private::Layer {
                    rust_name: #rust_name,
                    rust_path: ::std::format!("{}::{}", ::std::module_path!(), #rust_name),
                    type_name: ::std::sync::Arc::from(#type_name),
                    key_field: ::std::borrow::ToOwned::to_owned(#key_field),
                    fields: ::std::vec![#(#fields),*],
                    parent: #parent,
                    doc: #doc,
                })
            }
        }

        #[automatically_derived]
        impl ::rxd::TypeScript for #ident {
            fn ts_type() -> ::rxd::TsType {
                ::rxd::TsType::Layer(<#ident as ::rxd::ContextState>::layer)
            }

            fn ts_input_type() -> ::rxd::TsType {
                fn __rxd_declare_output() -> ::rxd::__private::TsDecl {
                    ::rxd::__private::TsDecl {
                        name: ::std::sync::Arc::from(#type_name),
                        rust_path: ::std::format!("{}::{}", ::std::module_path!(), #rust_name),
                        params: ::std::vec::Vec::new(),
                        ty: #output_object,
                        doc: #doc,
                    }
                }

                fn __rxd_declare_input() -> ::rxd::__private::TsDecl {
                    ::rxd::__private::TsDecl {
                        name: ::std::sync::Arc::from(#type_name),
                        rust_path: ::std::format!(
                            "{}::{} (its input shape)",
                            ::std::module_path!(),
                            #rust_name
                        ),
                        params: ::std::vec::Vec::new(),
                        ty: #input_object,
                        doc: #doc,
                    }
                }

                ::rxd::__private::NamedType::input_ref(
                    ::rxd::TsType::Layer(<#ident as ::rxd::ContextState>::layer),
                    #type_name,
                    ::std::vec::Vec::new(),
                    __rxd_declare_output,
                    __rxd_declare_input,
                )
            }
        }

        #names
    }
}

/// What a failed derive emits besides its errors.
fn stub(ident: &Ident) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl ::rxd::ContextState for #ident {
            fn layer() -> &'static ::rxd::__private::Layer {
                ::core::unimplemented!("#[derive(ContextState)] failed")
            }
        }

        #[automatically_derived]
        impl ::rxd::TypeScript for #ident {
            fn ts_type() -> ::rxd::TsType {
                ::core::unimplemented!("#[derive(ContextState)] failed")
            }
        }
    }
}
