use rxd::TypeScript;
use serde::{Deserialize, Serialize};

#[derive(TypeScript, Serialize, Deserialize, Clone)]
#[serde(from = "String")]
pub struct Slug(pub String);

impl From<String> for Slug {
    fn from(s: String) -> Slug {
        Slug(s.to_lowercase())
    }
}

fn main() {}
