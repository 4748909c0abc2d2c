use rxd::TypeScript;
use serde::Serialize;

#[derive(TypeScript, Serialize)]
pub struct Buffer<const N: usize> {
    pub bytes: Vec<u8>,
}

fn main() {}
