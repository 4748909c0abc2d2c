//! `#[consumer("kind")]` methods inside `#[rxd::channel]`: parsed and
//! checked into [`ConsumerIr`], expanded into `rxd_consume`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, LitStr, Type};

use crate::attr::Errors;

const SHAPE: &str = "async fn name(&self, ctx: &rxd::Ctx, event: E)";

/// One `#[consumer("kind")]` method.
pub(crate) struct ConsumerIr<'a> {
    ident: &'a Ident,
    /// The event kind it receives.
    kind: String,
    /// The event's type.
    event: &'a Type,
    /// The return type, `()` when omitted.
    output: &'a syn::ReturnType,
}

pub(crate) fn is_consumer_attr(attr: &syn::Attribute) -> bool {
    crate::channel::is_rxd_attr(attr, "consumer")
}

/// Every `#[consumer("kind")]` method, checked.
pub(crate) fn parse_consumers<'a>(
    imp: &'a ItemImpl,
    is_action: impl Fn(&syn::Attribute) -> bool,
    errors: &mut Errors,
) -> Vec<ConsumerIr<'a>> {
    let mut consumers: Vec<ConsumerIr> = Vec::new();
    for item in &imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let Some(attr) = f.attrs.iter().find(|a| is_consumer_attr(a)) else {
            continue;
        };
        let kind = match attr.parse_args::<LitStr>() {
            Ok(kind) if !kind.value().is_empty() => kind,
            Ok(kind) => {
                errors.spanned(&kind, "the event kind cannot be empty");
                continue;
            }
            Err(_) => {
                errors.spanned(
                    attr,
                    "a consumer names the kind of event it receives: `#[consumer(\"board.events\")]`",
                );
                continue;
            }
        };
        if let Some(action) = f.attrs.iter().find(|a| is_action(a)) {
            errors.spanned(action, "a method is an action or a consumer, not both");
            continue;
        }
        if let Some(ir) = check_consumer(f, kind.value(), errors) {
            if consumers.iter().any(|c| c.kind == ir.kind) {
                errors.spanned(
                    &kind,
                    format_args!(
                        "two consumers receive {:?}; one kind, one consumer",
                        ir.kind
                    ),
                );
                continue;
            }
            consumers.push(ir);
        }
    }
    consumers
}

fn check_consumer<'a>(
    f: &'a ImplItemFn,
    kind: String,
    errors: &mut Errors,
) -> Option<ConsumerIr<'a>> {
    let fn_name = crate::channel::fn_name(f);
    if f.sig.asyncness.is_none() {
        crate::channel::is_async(f, errors);
        return None;
    }
    if !f.sig.generics.params.is_empty() {
        errors.spanned(&f.sig.generics, "a consumer cannot be generic");
        return None;
    }
    let mut inputs = f.sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver)) if crate::channel::is_shared_self(receiver) => {}
        Some(FnArg::Receiver(receiver)) => {
            errors.spanned(
                receiver,
                format_args!(
                    "a consumer takes `&self`: the channel is shared with the connection's running actions: `{SHAPE}`"
                ),
            );
            return None;
        }
        _ => {
            errors.spanned(
                &fn_name,
                format_args!("a consumer takes `&self`, the context and the event: `{SHAPE}`"),
            );
            return None;
        }
    }
    match inputs.next() {
        Some(FnArg::Typed(ctx)) if matches!(&*ctx.ty, Type::Reference(r) if r.mutability.is_none()) =>
            {}
        Some(other) => {
            errors.spanned(
                other,
                format_args!(
                    "the first parameter of a consumer is the context, `ctx: &rxd::Ctx`: `{SHAPE}`"
                ),
            );
            return None;
        }
        None => {
            errors.spanned(
                &f.sig.inputs,
                format_args!("a consumer takes the context and the event after `&self`: `{SHAPE}`"),
            );
            return None;
        }
    }
    let event = match (inputs.next(), inputs.next()) {
        (Some(FnArg::Typed(event)), None) => &*event.ty,
        (None, _) => {
            errors.spanned(
                &f.sig.inputs,
                format_args!("a consumer takes the event after the context: `{SHAPE}`"),
            );
            return None;
        }
        (Some(_), Some(extra)) | (Some(extra @ FnArg::Receiver(_)), None) => {
            errors.spanned(extra, format_args!("a consumer takes one event: `{SHAPE}`"));
            return None;
        }
    };
    Some(ConsumerIr {
        ident: &f.sig.ident,
        kind,
        event,
        output: &f.sig.output,
    })
}

/// `rxd_consume`: a match on the event kind that deserializes the event
/// and returns the consumer's future.
pub(crate) fn generate_consume(self_ty: &Type, consumers: &[ConsumerIr]) -> TokenStream {
    if consumers.is_empty() {
        return TokenStream::new();
    }
    let ctx = Ident::new("ctx", Span::mixed_site());
    let kind_var = Ident::new("kind", Span::mixed_site());
    let event_var = Ident::new("event", Span::mixed_site());
    let arms = consumers.iter().map(|consumer| {
        let (kind, method, ty) = (&consumer.kind, consumer.ident, consumer.event);
        let decode =
            quote_spanned!(ty.span()=> ::rxd::__private::consumer_event::<#ty>(#kind, &#event_var));
        let outcome_span = match consumer.output {
            syn::ReturnType::Default => method.span(),
            syn::ReturnType::Type(_, ty) => ty.span(),
        };
        let outcome = quote_spanned! {outcome_span=>
            ::rxd::__private::ConsumerOutcome::into_outcome(returned)
        };
        quote! {
            #kind => ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                let decoded: #ty = #decode?;
                let returned = <#self_ty>::#method(&*self, &#ctx, decoded).await;
                #outcome
            })),
        }
    });
    quote! {
        fn rxd_consume(
            self: ::std::sync::Arc<Self>,
            #ctx: ::rxd::Ctx,
            #kind_var: &str,
            #event_var: ::std::sync::Arc<::rxd::__private::serde_json::Value>,
        ) -> ::core::option::Option<
            ::rxd::__private::BoxFuture<
                'static,
                ::core::result::Result<(), ::rxd::channel::ConsumerError>,
            >,
        > {
            match #kind_var {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    }
}
