use rxd::TypeScript;
use serde::{Serialize, Serializer};

fn as_text<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[derive(TypeScript, Serialize)]
pub enum Amount {
    None,
    #[serde(serialize_with = "as_text")]
    Some(u32),
}

fn main() {}
