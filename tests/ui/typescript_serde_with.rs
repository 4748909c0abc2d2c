use rxd::TypeScript;
use serde::Serialize;

fn as_text<S: serde::Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[derive(TypeScript, Serialize)]
pub struct Estimate {
    pub hours: f64,
    #[serde(serialize_with = "as_text")]
    pub points: u32,
}

fn main() {}
