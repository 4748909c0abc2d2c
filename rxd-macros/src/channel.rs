//! `#[rxd::channel(state = Board, route = "/ws/boards/{board_id}")]` on an
//! inherent `impl` block with `connect` and `load`.
//!
//! Parse the arguments and the two methods into a [`ChannelIr`] (recording
//! errors as it goes), then emit the impl block unchanged plus
//! `impl rxd::Channel`. On errors, the impl block, the errors and a stub
//! `impl rxd::Channel` (when the state type is known), so that uses of the
//! channel elsewhere do not add errors of their own.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, Receiver, Type};

use crate::attr::{docs, opt_string, unraw, Errors};
use crate::consumer::{generate_consume, is_consumer_attr, parse_consumers, ConsumerIr};

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    state: Option<Type>,
    route: Option<LitStr>,
    anchor: Option<Ident>,
    runtime: Option<Type>,
    /// `writable(Card(save, create, delete), ...)`.
    writable: Vec<WritableIr>,
}

/// `Card(save, create, delete)` inside `writable(...)`: a layer and the
/// operations the browser may perform on it, each with its token's span.
struct WritableIr {
    ty: syn::Path,
    save: Option<Span>,
    create: Option<Span>,
    delete: Option<Span>,
}

/// A checked channel, ready to expand.
struct ChannelIr<'a> {
    self_ty: &'a Type,
    name: String,
    state: &'a Type,
    /// `runtime = R`: per-connection state the client reads.
    runtime: Option<&'a Type>,
    route: &'a LitStr,
    /// The route parameters in route order, with their `connect` types.
    params: Vec<(String, &'a Type)>,
    /// The anchor parameter: its name in the route, its `connect` argument.
    /// `None` for a list channel.
    anchor: Option<(String, &'a Ident, &'a Type)>,
    /// `state = Vec<T>`: the type of `load`'s key parameter.
    list_key: Option<&'a Type>,
    /// A list channel defines `is_visible`: auto-update.
    is_visible: bool,
    /// The channel defines `ready` (after the initial state) and
    /// `disconnect` (when the connection ends).
    lifecycle: [bool; 2],
    principal: &'a Type,
    /// `connect`'s parameters after the principal, in the fn's order.
    connect_args: Vec<(&'a Ident, &'a Type)>,
    actions: Vec<ActionIr<'a>>,
    consumers: Vec<ConsumerIr<'a>>,
    /// `writable(...)`, checked.
    writable: &'a [WritableIr],
    /// Which of `can_save`, `can_create`, `can_delete` the impl defines.
    hooks: [bool; 3],
    doc: Option<String>,
}

/// One `#[action]` method.
struct ActionIr<'a> {
    ident: &'a Ident,
    /// The name on the wire.
    name: String,
    /// The parameters after the context.
    params: Vec<(&'a Ident, &'a Type)>,
    /// `T` of the `Result<T, E>` it returns.
    ok: &'a Type,
    /// `#[action(details = T)]`: the type of its errors' details.
    details: Option<Type>,
    doc: Option<String>,
}

/// Expands `#[rxd::channel(...)]`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse_args(args, &mut errors);
    let imp: ItemImpl = match syn::parse2(item.clone()) {
        Ok(imp) => imp,
        Err(_) => {
            errors.at(
                Span::call_site(),
                "#[rxd::channel] goes on an inherent `impl` block with `connect` and `load`",
            );
            let mut out = errors.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let ir = parse(&args, &imp, &mut errors);
    let mut out = without_action_attrs(&imp).to_token_stream();
    match ir {
        Some(ir) if errors.is_empty() => out.extend(generate(&ir)),
        _ => {
            out.extend(errors.to_compile_error());
            if let (Some(state), true) = (&args.state, imp.generics.params.is_empty()) {
                let state = vec_element(state).unwrap_or(state);
                out.extend(stub(&imp.self_ty, state, principal_of(&imp)));
            }
        }
    }
    out
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> Args {
    let mut out = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("state") {
            out.state = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("route") {
            out.route = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("anchor") {
            out.anchor = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("runtime") {
            out.runtime = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("writable") {
            meta.parse_nested_meta(|layer| {
                let ty = layer.path.clone();
                if out.writable.iter().any(|w| w.ty == ty) {
                    return Err(layer.error("this layer is declared writable twice"));
                }
                let mut entry = WritableIr {
                    ty,
                    save: None,
                    create: None,
                    delete: None,
                };
                layer.parse_nested_meta(|op| {
                    let span = op.path.span();
                    let slot = if op.path.is_ident("save") {
                        &mut entry.save
                    } else if op.path.is_ident("create") {
                        &mut entry.create
                    } else if op.path.is_ident("delete") {
                        &mut entry.delete
                    } else {
                        return Err(op.error(
                            "unknown write operation; expected `save`, `create` or `delete`",
                        ));
                    };
                    if slot.replace(span).is_some() {
                        return Err(op.error("this operation is declared twice"));
                    }
                    Ok(())
                })?;
                if entry.save.is_none() && entry.create.is_none() && entry.delete.is_none() {
                    return Err(layer.error(
                        "name the operations the browser may perform, as in `Card(save, create, delete)`",
                    ));
                }
                out.writable.push(entry);
                Ok(())
            })?;
        } else {
            return Err(meta.error(
                "unknown channel argument; expected `state = Type`, `route = \"/path/{param}\"`, `anchor = param`, `runtime = Type` or `writable(Type(save, create, delete), ...)`",
            ));
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    out
}

/// A route's `{param}` names, in order; `{*rest}` counts as `rest`, `{{` and
/// `}}` are literal braces.
fn route_params(route: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    let mut rest = route;
    while let Some(i) = rest.find(['{', '}']) {
        let (brace, after) = (&rest[i..i + 1], &rest[i + 1..]);
        if after.starts_with(brace) {
            rest = &after[1..];
            continue;
        }
        if brace == "}" {
            return Err("unmatched `}` in the route".to_owned());
        }
        let Some(end) = after.find('}') else {
            return Err("unclosed `{` in the route".to_owned());
        };
        let name = after[..end].strip_prefix('*').unwrap_or(&after[..end]);
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "route parameter `{{{}}}` must be a Rust identifier, as it names a `connect` parameter",
                &after[..end]
            ));
        }
        if params.iter().any(|p| p == name) {
            return Err(format!("route parameter `{name}` appears twice"));
        }
        params.push(name.to_owned());
        rest = &after[end + 1..];
    }
    Ok(params)
}

fn find_fn<'a>(imp: &'a ItemImpl, name: &str) -> Option<&'a ImplItemFn> {
    imp.items.iter().find_map(|item| match item {
        ImplItem::Fn(f) if f.sig.ident == name => Some(f),
        _ => None,
    })
}

/// The `fn name` tokens, to span errors about a whole method.
pub(crate) fn fn_name(f: &ImplItemFn) -> TokenStream {
    let (token, ident) = (&f.sig.fn_token, &f.sig.ident);
    quote!(#token #ident)
}

fn parse<'a>(args: &'a Args, imp: &'a ItemImpl, errors: &mut Errors) -> Option<ChannelIr<'a>> {
    if let Some((_, path, _)) = &imp.trait_ {
        errors.spanned(
            path,
            "#[rxd::channel] goes on an inherent `impl` block, not a trait impl",
        );
        return None;
    }
    if !imp.generics.params.is_empty() {
        errors.spanned(&imp.generics, "a channel cannot be generic");
    }
    let name = match &*imp.self_ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| {
            if !s.arguments.is_none() {
                errors.spanned(&s.arguments, "a channel cannot be generic");
            }
            unraw(&s.ident)
        }),
        _ => None,
    };
    let Some(name) = name else {
        errors.spanned(&imp.self_ty, "a channel is a named struct or enum");
        return None;
    };

    let declared_state = args.state.as_ref();
    let list = declared_state.and_then(vec_element);
    let state = list.or(declared_state);
    if state.is_none() {
        errors.at(
            Span::call_site(),
            "#[rxd::channel] needs the anchor layer: `state = Type`",
        );
    }
    let route = args.route.as_ref();
    // `None` when the route is missing or malformed: then its parameters
    // cannot be matched against `connect`'s without spurious errors.
    let params: Option<Vec<String>> = match route {
        None => {
            errors.at(
                Span::call_site(),
                "#[rxd::channel] needs the WebSocket route: `route = \"/ws/things/{thing_id}\"`",
            );
            None
        }
        Some(route) => {
            let text = route.value();
            if !text.starts_with('/') {
                errors.spanned(route, "a channel route starts with `/`");
            }
            route_params(&text)
                .map_err(|message| errors.spanned(route, message))
                .ok()
        }
    };

    let connect = find_fn(imp, "connect");
    let load = find_fn(imp, "load");
    let impl_token = imp.impl_token;
    if connect.is_none() {
        errors.spanned(
            impl_token,
            "this channel has no `connect`: add `async fn connect(ctx: &rxd::Connect, principal: P, <route parameters>) -> Result<Self, rxd::Reject>`",
        );
    }
    if load.is_none() {
        errors.spanned(
            impl_token,
            "this channel has no `load`: add `async fn load(&self, ctx: &rxd::Load) -> Result<State, rxd::LoadError>`",
        );
    }
    let connect = connect.and_then(|f| check_connect(f, errors));
    let list_key = load.and_then(|load| check_load(load, list.is_some(), errors));
    let is_visible = find_fn(imp, "is_visible");
    if list.is_some() {
        match find_fn(imp, "anchors") {
            Some(anchors) => is_async(anchors, errors),
            None => errors.spanned(
                impl_token,
                "a list channel (`state = Vec<T>`) needs `anchors`: add `async fn anchors(&self, ctx: &rxd::Load) -> Result<Vec<K>, rxd::LoadError>`",
            ),
        }
        if let Some(f) = is_visible {
            is_async(f, errors);
        }
    } else if let Some(f) = is_visible {
        errors.spanned(
            fn_name(f),
            "`is_visible` is for list channels (`state = Vec<T>`): this channel shows one anchor",
        );
    }
    let lifecycle = ["ready", "disconnect"].map(|hook| {
        let f = find_fn(imp, hook);
        if let Some(f) = f {
            is_async(f, errors);
        }
        f.is_some()
    });
    let (principal, connect_args) = connect?;

    // Route parameters and connect parameters match by name.
    let (route, params) = (route?, params?);
    for (ident, _) in &connect_args {
        if !params.contains(&unraw(ident)) {
            errors.spanned(
                ident,
                format_args!(
                    "`{ident}` is not a parameter of the route {:?}: every `connect` parameter after the principal is a route parameter",
                    route.value()
                ),
            );
        }
    }
    let mut typed = Vec::new();
    for param in &params {
        match connect_args.iter().find(|(ident, _)| unraw(ident) == *param) {
            Some((ident, ty)) => typed.push((param.clone(), *ident, *ty)),
            None => errors.spanned(
                route,
                format_args!(
                    "route parameter `{param}` has no `connect` parameter: add `{param}: T` to `connect`"
                ),
            ),
        }
    }

    let anchor = match &args.anchor {
        Some(anchor) if list.is_some() => {
            errors.spanned(
                anchor,
                "a list channel has no anchor parameter: its `anchors` names the anchors",
            );
            None
        }
        None if list.is_some() => None,
        Some(anchor) => match typed.iter().find(|(p, ..)| unraw(anchor) == *p) {
            Some(found) => Some(found.clone()),
            None => {
                if !params.contains(&unraw(anchor)) {
                    errors.spanned(
                        anchor,
                        format_args!(
                            "`{anchor}` is not a parameter of the route {:?}",
                            route.value()
                        ),
                    );
                }
                None
            }
        },
        None => match params.len() {
            0 => {
                errors.spanned(
                    route,
                    "the route needs a parameter for the anchor's key, as in \"/ws/boards/{board_id}\"",
                );
                None
            }
            1 => typed.first().cloned(),
            _ => {
                let listed: Vec<String> = params.iter().map(|p| format!("`{p}`")).collect();
                errors.spanned(
                    route,
                    format_args!(
                        "the route has several parameters ({}): name the one that holds the anchor's key, as in `anchor = {}`",
                        listed.join(", "),
                        params[params.len() - 1]
                    ),
                );
                None
            }
        },
    };
    let actions = parse_actions(imp, errors);
    let consumers = parse_consumers(imp, is_action_attr, errors);
    let hooks = ["can_save", "can_create", "can_delete"].map(|hook| find_fn(imp, hook).is_some());
    Some(ChannelIr {
        self_ty: &imp.self_ty,
        name,
        state: state?,
        runtime: args.runtime.as_ref(),
        route,
        params: typed
            .iter()
            .map(|(name, _, ty)| (name.clone(), *ty))
            .collect(),
        anchor: if list.is_some() { None } else { Some(anchor?) },
        list_key: if list.is_some() {
            Some(list_key.flatten()?)
        } else {
            None
        },
        is_visible: list.is_some() && is_visible.is_some(),
        lifecycle,
        principal,
        connect_args,
        actions,
        consumers,
        writable: &args.writable,
        hooks,
        doc: docs(&imp.attrs),
    })
}

fn is_action_attr(attr: &syn::Attribute) -> bool {
    is_rxd_attr(attr, "action")
}

/// `#[name]` or `#[rxd::name]`.
pub(crate) fn is_rxd_attr(attr: &syn::Attribute, name: &str) -> bool {
    let path = attr.path();
    path.is_ident(name)
        || (path.segments.len() == 2
            && path.segments[0].ident == "rxd"
            && path.segments[1].ident == name)
}

/// The impl block as the compiler should see it: `#[action]` and
/// `#[consumer]` are ours.
fn without_action_attrs(imp: &ItemImpl) -> ItemImpl {
    let mut imp = imp.clone();
    for item in &mut imp.items {
        if let ImplItem::Fn(f) = item {
            f.attrs
                .retain(|a| !is_action_attr(a) && !is_consumer_attr(a));
        }
    }
    imp
}

/// Every `#[action]` method, checked: `async fn name(&self, ctx: &Ctx,
/// params...) -> Result<T, E>`.
fn parse_actions<'a>(imp: &'a ItemImpl, errors: &mut Errors) -> Vec<ActionIr<'a>> {
    const SHAPE: &str = "async fn name(&self, ctx: &rxd::Ctx, <parameters>) -> Result<T, E>";
    let mut actions: Vec<ActionIr> = Vec::new();
    for item in &imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let Some(attr) = f.attrs.iter().find(|a| is_action_attr(a)) else {
            continue;
        };
        let mut name = unraw(&f.sig.ident);
        let mut name_span = f.sig.ident.span();
        let mut details = None;
        if let syn::Meta::List(_) = &attr.meta {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let lit: LitStr = meta.value()?.parse()?;
                    name = lit.value();
                    name_span = lit.span();
                    Ok(())
                } else if meta.path.is_ident("details") {
                    details = Some(meta.value()?.parse::<Type>()?);
                    Ok(())
                } else {
                    Err(meta.error(
                        "unknown action argument; expected `name = \"...\"` or `details = Type`",
                    ))
                }
            });
            if let Err(error) = parsed {
                errors.push(error);
                continue;
            }
        }
        if f.sig.ident == "connect" || f.sig.ident == "load" {
            errors.spanned(
                fn_name(f),
                format_args!("`{}` is a channel hook, not an action", f.sig.ident),
            );
            continue;
        }
        is_async(f, errors);
        if !f.sig.generics.params.is_empty() {
            errors.spanned(&f.sig.generics, "an action cannot be generic");
        }
        let mut inputs = f.sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(receiver)) if is_shared_self(receiver) => {}
            Some(FnArg::Receiver(receiver)) => {
                errors.spanned(
                    receiver,
                    format_args!(
                        "an action takes `&self`: calls on one socket run concurrently: `{SHAPE}`"
                    ),
                );
                continue;
            }
            _ => {
                errors.spanned(
                    fn_name(f),
                    format_args!("an action takes `&self` and the context first: `{SHAPE}`"),
                );
                continue;
            }
        }
        match inputs.next() {
            Some(FnArg::Typed(ctx)) if matches!(&*ctx.ty, Type::Reference(r) if r.mutability.is_none()) =>
                {}
            Some(other) => {
                errors.spanned(
                    other,
                    format_args!("the first parameter of an action is the context, `ctx: &rxd::Ctx`: `{SHAPE}`"),
                );
                continue;
            }
            None => {
                errors.spanned(
                    fn_name(f),
                    format_args!("an action takes the context after `&self`: `{SHAPE}`"),
                );
                continue;
            }
        }
        let mut params = Vec::new();
        let mut ok = true;
        for arg in inputs {
            match named_arg(arg) {
                Some(named) => params.push(named),
                None => {
                    errors.spanned(arg, "an action parameter is a plain `name: Type`");
                    ok = false;
                }
            }
        }
        let Some(ok_ty) = result_ok_type(&f.sig.output) else {
            errors.spanned(
                &f.sig.output,
                format_args!("an action returns `Result<T, E>` where E converts into rxd::ActionError: `{SHAPE}`"),
            );
            continue;
        };
        if !ok {
            continue;
        }
        if actions.iter().any(|a| a.name == name) {
            errors.at(
                name_span,
                format_args!(
                    "two actions are named `{name}`; rename one with #[action(name = \"...\")]"
                ),
            );
            continue;
        }
        actions.push(ActionIr {
            ident: &f.sig.ident,
            name,
            params,
            ok: ok_ty,
            details,
            doc: docs(&f.attrs),
        });
    }
    actions
}

/// `T` of a `-> Result<T, E>` (any path ending in `Result` with type
/// arguments).
fn result_ok_type(output: &syn::ReturnType) -> Option<&Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}

/// A typed, named parameter: `name: Type`.
fn named_arg(arg: &FnArg) -> Option<(&Ident, &Type)> {
    match arg {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(pat) if pat.subpat.is_none() && pat.by_ref.is_none() => {
                Some((&pat.ident, &*typed.ty))
            }
            _ => None,
        },
        FnArg::Receiver(_) => None,
    }
}

pub(crate) fn is_async(f: &ImplItemFn, errors: &mut Errors) {
    if f.sig.asyncness.is_none() {
        errors.spanned(
            fn_name(f),
            format_args!("`{}` must be an `async fn`", f.sig.ident),
        );
    }
}

/// The principal type of a `connect` that may have failed other checks.
fn principal_of(imp: &ItemImpl) -> TokenStream {
    let principal = find_fn(imp, "connect").and_then(|f| match f.sig.inputs.iter().nth(1) {
        Some(FnArg::Typed(p)) if !matches!(&*p.ty, Type::Reference(_) | Type::ImplTrait(_)) => {
            Some(&p.ty)
        }
        _ => None,
    });
    match principal {
        Some(ty) => ty.to_token_stream(),
        None => quote!(()),
    }
}

/// Checks `async fn connect(ctx: &Connect, principal: P, params...)`;
/// returns the principal type and the route-parameter arguments.
fn check_connect<'a>(
    f: &'a ImplItemFn,
    errors: &mut Errors,
) -> Option<(&'a Type, Vec<(&'a Ident, &'a Type)>)> {
    is_async(f, errors);
    if !f.sig.generics.params.is_empty() {
        errors.spanned(&f.sig.generics, "`connect` cannot be generic");
    }
    let mut inputs = f.sig.inputs.iter();
    if let Some(FnArg::Receiver(receiver)) = f.sig.inputs.first() {
        errors.spanned(
            receiver,
            "`connect` creates the channel, so it takes no `self`: `async fn connect(ctx: &rxd::Connect, principal: P, ...)`",
        );
        return None;
    }
    let (Some(ctx), Some(principal)) = (inputs.next(), inputs.next()) else {
        errors.spanned(
            fn_name(f),
            "`connect` takes the context and the principal first: `async fn connect(ctx: &rxd::Connect, principal: P, <route parameters>)`",
        );
        return None;
    };
    if let FnArg::Typed(ctx) = ctx {
        if !matches!(&*ctx.ty, Type::Reference(r) if r.mutability.is_none()) {
            errors.spanned(
                &ctx.ty,
                "the first parameter of `connect` is the context: `ctx: &rxd::Connect`",
            );
        }
    }
    let principal = match principal {
        FnArg::Typed(p) if !matches!(&*p.ty, Type::Reference(_) | Type::ImplTrait(_)) => &*p.ty,
        FnArg::Typed(p) => {
            errors.spanned(
                &p.ty,
                "the second parameter of `connect` is the principal, by value: the type your Authenticator returns",
            );
            return None;
        }
        FnArg::Receiver(_) => return None,
    };
    // A parameter that is not a plain name would make every route check
    // below report a mismatch: stop after its own error.
    let mut ok = true;
    let mut args = Vec::new();
    for arg in inputs {
        match named_arg(arg) {
            Some(named) => args.push(named),
            None => {
                errors.spanned(
                    arg,
                    "a route parameter of `connect` is a plain `name: Type`, the name as in the route",
                );
                ok = false;
            }
        }
    }
    ok.then_some((principal, args))
}

/// `&self`: not `self`, `&mut self`, nor `self: Type`. `load` and actions
/// take it, as the channel is shared by concurrent calls.
pub(crate) fn is_shared_self(receiver: &Receiver) -> bool {
    receiver.reference.is_some() && receiver.mutability.is_none() && receiver.colon_token.is_none()
}

/// `T` of `Vec<T>`, the state of a list channel.
fn vec_element(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(element) => Some(element),
            _ => None,
        },
        _ => None,
    }
}

/// Checks `async fn load(&self, ctx: &Load)`, or for a list channel
/// `async fn load(&self, ctx: &Load, key: K)`; returns `Some(K)` for a
/// list, `Some(None)` for one anchor, `None` when it is malformed.
fn check_load<'a>(f: &'a ImplItemFn, list: bool, errors: &mut Errors) -> Option<Option<&'a Type>> {
    is_async(f, errors);
    if !f.sig.generics.params.is_empty() {
        errors.spanned(&f.sig.generics, "`load` cannot be generic");
    }
    let shape = if list {
        "async fn load(&self, ctx: &rxd::Load, key: K)"
    } else {
        "async fn load(&self, ctx: &rxd::Load)"
    };
    let mut inputs = f.sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver)) if is_shared_self(receiver) => {}
        Some(FnArg::Receiver(receiver)) => errors.spanned(
            receiver,
            format_args!("`load` takes `&self`, as the channel stays in use: `{shape}`"),
        ),
        _ => errors.spanned(
            fn_name(f),
            format_args!("`load` takes `&self` and the context: `{shape}`"),
        ),
    }
    if inputs.next().is_none() {
        errors.spanned(
            &f.sig.inputs,
            format_args!("`load` takes the context after `&self`: `{shape}`"),
        );
        return None;
    }
    let key = if list {
        match inputs.next().and_then(named_arg) {
            Some((_, ty)) => Some(ty),
            None => {
                errors.spanned(
                    &f.sig.inputs,
                    format_args!(
                        "a list channel's `load` takes the anchor's key after the context: `{shape}`"
                    ),
                );
                return None;
            }
        }
    } else {
        None
    };
    if let Some(extra) = inputs.next() {
        errors.spanned(
            extra,
            format_args!(
                "`load` takes only `&self`, the context{}: `{shape}`",
                if list { " and the key" } else { "" }
            ),
        );
    }
    Some(key)
}

fn generate(ir: &ChannelIr) -> TokenStream {
    let ChannelIr {
        self_ty,
        name,
        state,
        route,
        principal,
        ..
    } = ir;
    let params = ir.params.iter().map(|(name, ty)| {
        let ts = quote_spanned!(ty.span()=> <#ty as ::rxd::TypeScript>::ts_type());
        quote! {
            ::rxd::__private::RouteParam { name: #name, ty: #ts }
        }
    });
    let doc = opt_string(&ir.doc);

    // Our own bindings are hygienic, so a route parameter named `ctx` or
    // `params` cannot clash with them.
    let ctx = Ident::new("ctx", Span::mixed_site());
    let principal_arg = Ident::new("principal", Span::mixed_site());
    let params_arg = Ident::new("params", Span::mixed_site());
    let anchor_var = Ident::new("anchor", Span::mixed_site());
    let channel_var = Ident::new("channel", Span::mixed_site());
    let parse_params = ir.connect_args.iter().map(|(ident, ty)| {
        let name = unraw(ident);
        let parse = quote_spanned!(ty.span()=> #params_arg.parse::<#ty>(#name));
        quote!(let #ident: #ty = #parse?;)
    });
    let key_var = Ident::new("key", Span::mixed_site());
    let (anchor_param, anchor_key, load_fns) = match (&ir.anchor, ir.list_key) {
        (Some((param, ident, ty)), _) => (
            quote!(::core::option::Option::Some(#param)),
            quote_spanned! {ty.span()=>
                ::core::option::Option::Some(<::rxd::Key as ::core::convert::From<#ty>>::from(
                    ::core::clone::Clone::clone(&#ident)
                ))
            },
            quote! {
                fn rxd_load<'rxd>(
                    &'rxd self,
                    #ctx: &'rxd ::rxd::Load,
                    _: &'rxd ::rxd::Key,
                ) -> ::rxd::__private::BoxFuture<
                    'rxd,
                    ::core::result::Result<#state, ::rxd::LoadError>,
                > {
                    ::std::boxed::Box::pin(async move {
                        <#self_ty>::load(self, #ctx)
                            .await
                            .map_err(::core::convert::Into::<::rxd::LoadError>::into)
                    })
                }
            },
        ),
        (_, key_ty) => {
            let key_ty = key_ty.into_iter();
            (
                quote!(::core::option::Option::None),
                quote!(::core::option::Option::None),
                quote! {
                    fn rxd_load<'rxd>(
                        &'rxd self,
                        #ctx: &'rxd ::rxd::Load,
                        #anchor_var: &'rxd ::rxd::Key,
                    ) -> ::rxd::__private::BoxFuture<
                        'rxd,
                        ::core::result::Result<#state, ::rxd::LoadError>,
                    > {
                        ::std::boxed::Box::pin(async move {
                            // A key that is not a `K` names no anchor.
                            let #key_var #(: #key_ty)* = ::rxd::__private::serde_json::from_value(
                                ::rxd::Key::to_json(#anchor_var),
                            )
                            .map_err(|_| ::rxd::LoadError::NotFound)?;
                            <#self_ty>::load(self, #ctx, #key_var)
                                .await
                                .map_err(::core::convert::Into::<::rxd::LoadError>::into)
                        })
                    }

                    fn rxd_anchors<'rxd>(
                        &'rxd self,
                        #ctx: &'rxd ::rxd::Load,
                    ) -> ::rxd::__private::BoxFuture<
                        'rxd,
                        ::core::result::Result<::std::vec::Vec<::rxd::Key>, ::rxd::LoadError>,
                    > {
                        ::std::boxed::Box::pin(async move {
                            let keys = <#self_ty>::anchors(self, #ctx)
                                .await
                                .map_err(::core::convert::Into::<::rxd::LoadError>::into)?;
                            ::core::result::Result::Ok(
                                ::core::iter::IntoIterator::into_iter(keys)
                                    .map(::core::convert::Into::<::rxd::Key>::into)
                                    .collect(),
                            )
                        })
                    }
                },
            )
        }
    };
    let is_visible = ir.is_visible.then(|| {
        quote! {
            fn rxd_is_visible(
                self: ::std::sync::Arc<Self>,
                #ctx: ::rxd::Ctx,
                offer: ::rxd::channel::Offer,
            ) -> ::rxd::__private::BoxFuture<'static, bool> {
                ::std::boxed::Box::pin(async move { <#self_ty>::is_visible(&self, &#ctx, &offer).await })
            }
        }
    });
    let lifecycle = ["ready", "disconnect"]
        .iter()
        .zip(ir.lifecycle)
        .filter(|(_, defined)| *defined)
        .map(|(hook, _)| {
            let user_fn = Ident::new(hook, Span::call_site());
            let rxd_fn = format_ident!("rxd_{hook}");
            quote! {
                fn #rxd_fn(
                    channel: &::std::sync::Arc<Self>,
                    #ctx: &::rxd::Ctx,
                ) -> ::core::option::Option<::rxd::__private::BoxFuture<'static, ()>> {
                    let (channel, #ctx) = (::std::sync::Arc::clone(channel), ::core::clone::Clone::clone(#ctx));
                    ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                        <#self_ty>::#user_fn(&channel, &#ctx).await
                    }))
                }
            }
        });
    let (list, auto_update) = (ir.list_key.is_some(), ir.is_visible);
    let call_args = ir.connect_args.iter().map(|(ident, _)| ident);
    let action_descriptors = ir.actions.iter().map(|action| {
        let name = &action.name;
        let params = action.params.iter().map(|(ident, ty)| {
            let param = unraw(ident);
            let ts = quote_spanned!(ty.span()=> <#ty as ::rxd::TypeScript>::ts_input_type());
            quote!(::rxd::__private::ActionParam { name: #param, ty: #ts })
        });
        let ok = action.ok;
        let returns = quote_spanned!(ok.span()=> <#ok as ::rxd::TypeScript>::ts_type());
        let details = match &action.details {
            Some(ty) => quote_spanned!(ty.span()=>
                ::core::option::Option::Some(<#ty as ::rxd::TypeScript>::ts_type())
            ),
            None => quote!(::core::option::Option::None),
        };
        let doc = opt_string(&action.doc);
        quote! {
            ::rxd::__private::ActionDescriptor {
                name: #name,
                params: ::std::vec![#(#params),*],
                returns: #returns,
                details: #details,
                doc: #doc,
            }
        }
    });
    let call = generate_call(ir);
    let consume = generate_consume(self_ty, &ir.consumers);
    let write = generate_write(ir);
    let write_descriptors = ir.writable.iter().map(|w| {
        let ty = &w.ty;
        // Spanned at the type, so naming a type that is not a layer is an
        // error at that token.
        let layer = quote_spanned!(ty.span()=> <#ty as ::rxd::ContextState>::layer);
        let (save, create, delete) = (w.save.is_some(), w.create.is_some(), w.delete.is_some());
        quote! {
            ::rxd::__private::WriteDescriptor {
                layer: #layer,
                save: #save,
                create: #create,
                delete: #delete,
            }
        }
    });
    let (runtime_ty, runtime_ts) = match ir.runtime {
        Some(ty) => (
            quote!(#ty),
            quote_spanned!(ty.span()=> ::core::option::Option::Some(<#ty as ::rxd::TypeScript>::ts_type())),
        ),
        None => (quote!(()), quote!(::core::option::Option::None)),
    };

    quote! {
        #[automatically_derived]
        impl ::rxd::Channel for #self_ty {
            type State = #state;
            type Principal = #principal;
            type Runtime = #runtime_ty;

            fn descriptor() -> ::rxd::__private::ChannelDescriptor {
                ::rxd::__private::ChannelDescriptor {
                    name: #name,
                    route: #route,
                    params: ::std::vec![#(#params),*],
                    anchor_param: #anchor_param,
                    state: <#state as ::rxd::ContextState>::layer,
                    list: #list,
                    auto_update: #auto_update,
                    actions: ::std::vec![#(#action_descriptors),*],
                    runtime: #runtime_ts,
                    writes: ::std::vec![#(#write_descriptors),*],
                    doc: #doc,
                }
            }

            #call
            #write
            #load_fns
            #is_visible
            #(#lifecycle)*

            #consume

            fn rxd_connect(
                #ctx: ::rxd::Connect,
                #principal_arg: #principal,
                #params_arg: ::rxd::channel::RouteParams,
            ) -> ::rxd::__private::BoxFuture<
                'static,
                ::core::result::Result<::rxd::__private::Connected<Self>, ::rxd::Reject>,
            > {
                ::std::boxed::Box::pin(async move {
                    #(#parse_params)*
                    let #anchor_var = #anchor_key;
                    let #channel_var = <#self_ty>::connect(&#ctx, #principal_arg, #(#call_args),*)
                        .await
                        .map_err(::core::convert::Into::<::rxd::Reject>::into)?;
                    ::core::result::Result::Ok(::rxd::__private::Connected {
                        channel: #channel_var,
                        anchor: #anchor_var,
                    })
                })
            }
        }
    }
}

/// `rxd_call`: a match on the action name that takes the arguments in
/// order and returns the call's future.
fn generate_call(ir: &ChannelIr) -> TokenStream {
    if ir.actions.is_empty() {
        return TokenStream::new();
    }
    let self_ty = ir.self_ty;
    let ctx = Ident::new("ctx", Span::mixed_site());
    let action_var = Ident::new("action", Span::mixed_site());
    let args_var = Ident::new("args", Span::mixed_site());
    let arms = ir.actions.iter().map(|action| {
        let (name, method) = (&action.name, action.ident);
        let arity = action.params.len();
        // Parameter bindings get mixed-site names so that a parameter named
        // `ctx` or `args` cannot clash with ours.
        let bindings: Vec<Ident> = (0..arity)
            .map(|i| Ident::new(&format!("arg{i}"), Span::mixed_site()))
            .collect();
        let takes = action
            .params
            .iter()
            .zip(&bindings)
            .map(|((ident, ty), binding)| {
                let param = unraw(ident);
                let next = quote_spanned!(ty.span()=> #args_var.next::<#ty>(#param));
                quote!(let #binding: #ty = #next?;)
            });
        quote! {
            #name => {
                let mut #args_var = ::rxd::__private::ActionArgs::new(#name, #args_var, #arity)?;
                #(#takes)*
                ::core::result::Result::Ok(::std::boxed::Box::pin(async move {
                    let value = <#self_ty>::#method(&*self, &#ctx, #(#bindings),*)
                        .await
                        .map_err(::core::convert::Into::<::rxd::ActionError>::into)?;
                    ::rxd::__private::action_result(&value)
                }))
            }
        }
    });
    quote! {
        fn rxd_call(
            self: ::std::sync::Arc<Self>,
            #ctx: ::rxd::Ctx,
            #action_var: &str,
            #args_var: ::std::vec::Vec<::rxd::__private::serde_json::Value>,
        ) -> ::core::result::Result<
            ::rxd::__private::BoxFuture<
                'static,
                ::core::result::Result<::rxd::__private::serde_json::Value, ::rxd::ActionError>,
            >,
            ::rxd::ActionError,
        > {
            match #action_var {
                #(#arms)*
                other => ::core::result::Result::Err(::rxd::ActionError::unknown_action(other)),
            }
        }
    }
}

/// `rxd_write`: the channel's hook for the operation (deny without one),
/// then the layer's `Persist*` impl, then the batch's commit.
fn generate_write(ir: &ChannelIr) -> TokenStream {
    if ir.writable.is_empty() {
        return TokenStream::new();
    }
    let self_ty = ir.self_ty;
    let ctx = Ident::new("ctx", Span::mixed_site());
    let write = Ident::new("write", Span::mixed_site());
    let batch = Ident::new("batch", Span::mixed_site());
    let forbidden = quote!(::rxd::channel::write::forbidden());
    let hook = |index: usize, name: &str| {
        if ir.hooks[index] {
            let method = Ident::new(name, Span::call_site());
            quote!(<#self_ty>::#method(&*self, &#ctx, &#write).await)
        } else {
            quote!(false)
        }
    };
    let (can_save, can_create, can_delete) = (
        hook(0, "can_save"),
        hook(1, "can_create"),
        hook(2, "can_delete"),
    );
    let missing_key =
        quote!(::core::option::Option::ok_or_else(#write.key, ::rxd::ActionError::internal)?);
    let missing_parent =
        quote!(::core::option::Option::ok_or_else(#write.parent, ::rxd::ActionError::internal)?);
    let arms = ir.writable.iter().map(|w| {
        let ty = &w.ty;
        // Each call is spanned at its operation's token: an operation
        // declared without its `Persist*` impl is an error there.
        let save = match w.save {
            Some(span) => quote_spanned! {span=>
                ::rxd::WriteOp::Save => {
                    <#ty as ::rxd::PersistSave<#self_ty>>::save(&*self, &#ctx, #missing_key, #write.patch, &mut #batch).await?;
                    ::core::option::Option::None
                }
            },
            None => TokenStream::new(),
        };
        let create = match w.create {
            Some(span) => quote_spanned! {span=>
                ::rxd::WriteOp::Create => ::core::option::Option::Some(
                    <#ty as ::rxd::PersistCreate<#self_ty>>::create(&*self, &#ctx, #missing_parent, #write.patch, &mut #batch).await?
                ),
            },
            None => TokenStream::new(),
        };
        let delete = match w.delete {
            Some(span) => quote_spanned! {span=>
                ::rxd::WriteOp::Delete => {
                    <#ty as ::rxd::PersistDelete<#self_ty>>::delete(&*self, &#ctx, #missing_key, &mut #batch).await?;
                    ::core::option::Option::None
                }
            },
            None => TokenStream::new(),
        };
        quote! {
            if #write.is::<#ty>() {
                match #write.op {
                    #save
                    #create
                    #delete
                    #[allow(unreachable_patterns)]
                    _ => return ::core::result::Result::Err(#forbidden),
                }
            } else
        }
    });
    quote! {
        fn rxd_write(
            self: ::std::sync::Arc<Self>,
            #ctx: ::rxd::Ctx,
            #write: ::rxd::Write,
        ) -> ::rxd::__private::BoxFuture<
            'static,
            ::core::result::Result<::rxd::__private::serde_json::Value, ::rxd::ActionError>,
        > {
            ::std::boxed::Box::pin(async move {
                let allowed: bool = match #write.op {
                    ::rxd::WriteOp::Save => #can_save,
                    ::rxd::WriteOp::Create => #can_create,
                    ::rxd::WriteOp::Delete => #can_delete,
                };
                if !allowed {
                    return ::core::result::Result::Err(#forbidden);
                }
                let mut #batch = ::rxd::Ctx::hub(&#ctx).batch();
                let key: ::core::option::Option<::rxd::Key> = #(#arms)* {
                    return ::core::result::Result::Err(#forbidden);
                };
                ::rxd::__private::finish_write(#batch, key).await
            })
        }
    }
}

/// What a failed expansion emits besides its errors.
fn stub(self_ty: &Type, state: &Type, principal: TokenStream) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl ::rxd::Channel for #self_ty {
            type State = #state;
            type Principal = #principal;
            type Runtime = ();

            fn descriptor() -> ::rxd::__private::ChannelDescriptor {
                ::core::unimplemented!("#[rxd::channel] failed")
            }

            fn rxd_connect(
                _: ::rxd::Connect,
                _: Self::Principal,
                _: ::rxd::channel::RouteParams,
            ) -> ::rxd::__private::BoxFuture<
                'static,
                ::core::result::Result<::rxd::__private::Connected<Self>, ::rxd::Reject>,
            > {
                ::core::unimplemented!("#[rxd::channel] failed")
            }

            fn rxd_load<'rxd>(
                &'rxd self,
                _: &'rxd ::rxd::Load,
                _: &'rxd ::rxd::Key,
            ) -> ::rxd::__private::BoxFuture<'rxd, ::core::result::Result<#state, ::rxd::LoadError>>
            {
                ::core::unimplemented!("#[rxd::channel] failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::route_params;

    #[test]
    fn route_parameters() {
        assert_eq!(
            route_params("/ws/boards/{board_id}"),
            Ok(vec!["board_id".to_owned()])
        );
        assert_eq!(
            route_params("/ws/{org}/b/{id}/{*rest}"),
            Ok(vec!["org".to_owned(), "id".to_owned(), "rest".to_owned()])
        );
        assert_eq!(route_params("/ws/{{literal}}/x"), Ok(vec![]));
        assert_eq!(route_params("/ws"), Ok(vec![]));
        assert!(route_params("/ws/{id").is_err());
        assert!(route_params("/ws/id}").is_err());
        assert!(route_params("/ws/{}").is_err());
        assert!(route_params("/ws/{a-b}").is_err());
        assert!(route_params("/ws/{1a}").is_err());
        assert!(route_params("/ws/{a}/{a}").is_err());
    }
}
