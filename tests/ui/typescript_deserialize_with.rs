use rxd::TypeScript;
use serde::{Deserialize, Deserializer, Serialize};

fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let text = String::deserialize(d)?;
    text.trim().parse().map_err(serde::de::Error::custom)
}

#[derive(TypeScript, Serialize, Deserialize)]
pub struct Estimate {
    pub hours: f64,
    #[serde(deserialize_with = "lenient")]
    pub points: u32,
}

fn main() {}
