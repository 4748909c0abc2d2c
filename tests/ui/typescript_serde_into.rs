use rxd::TypeScript;
use serde::Serialize;

#[derive(TypeScript, Serialize, Clone)]
#[serde(into = "String")]
pub struct Pixels(pub u32);

impl From<Pixels> for String {
    fn from(p: Pixels) -> String {
        format!("{}px", p.0)
    }
}

fn main() {}
