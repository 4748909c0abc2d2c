//! Compile-fail cases for rxd's macros: each mistake gives one clear error,
//! spanned at the token to fix.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
