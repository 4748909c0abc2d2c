use rxd::ContextState;
use serde::{Deserialize, Serialize};

mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(ContextState, Serialize, Deserialize)]
pub struct Card {
    pub id: i64,
    #[serde(with = "as_text")]
    pub points: u32,
}

fn main() {}
