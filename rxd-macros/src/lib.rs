use proc_macro::TokenStream;
#[proc_macro_derive(ContextState, attributes(rxd))]
pub fn derive_context_state(_i: TokenStream) -> TokenStream { TokenStream::new() }
#[proc_macro_derive(TypeScript, attributes(rxd))]
pub fn derive_typescript(_i: TokenStream) -> TokenStream { TokenStream::new() }
#[proc_macro_attribute]
pub fn channel(_a: TokenStream, i: TokenStream) -> TokenStream { i }
