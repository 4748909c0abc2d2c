//! Encoding of server messages. A frame is encoded once and shared: cloning
//! a [`Frame`] copies a pointer, not the bytes.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use crate::state::{FlatInstance, InstanceId};

/// An encoded text message: JSON, so valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame(Bytes);

impl Frame {
    const fn from_static(text: &'static str) -> Frame {
        Frame(Bytes::from_static(text.as_bytes()))
    }

    /// The shared payload, for the socket to write.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame(Bytes::from(text))
    }
}

#[derive(Serialize)]
struct Delta<'a> {
    r#type: &'static str,
    v: u64,
    instances: &'a [Arc<FlatInstance>],
    deleted: Vec<DeletedRef<'a>>,
}

#[derive(Serialize)]
struct DeletedRef<'a> {
    #[serde(rename = "_type")]
    type_name: &'a str,
    key: &'a crate::Key,
}

#[derive(Serialize)]
struct Instances<'a> {
    r#type: &'static str,
    instances: &'a [Arc<FlatInstance>],
}

#[derive(Serialize)]
struct Ready<'a> {
    r#type: &'static str,
    v: u64,
    anchor: &'a InstanceId,
}

fn encode(message: &impl Serialize) -> Frame {
    // Serializing our own plain structs and JSON values cannot fail.
    let text = serde_json::to_string(message).unwrap_or_else(|_| String::from("{}"));
    Frame::from(text)
}

/// `{"type":"delta",...}`.
pub(crate) fn delta(version: u64, changed: &[Arc<FlatInstance>], removed: &[InstanceId]) -> Frame {
    encode(&Delta {
        r#type: "delta",
        v: version,
        instances: changed,
        deleted: removed
            .iter()
            .map(|id| DeletedRef {
                type_name: &id.type_name,
                key: &id.key,
            })
            .collect(),
    })
}

/// The initial state: `instances` frames of at most about `budget` bytes
/// each (a single larger instance gets a frame of its own), then `ready`.
pub(crate) fn snapshot(
    anchor: &InstanceId,
    version: u64,
    instances: &[Arc<FlatInstance>],
    budget: usize,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, instance) in instances.iter().enumerate() {
        let len = serde_json::to_vec(&**instance).map_or(0, |b| b.len()) + 1;
        if size + len > budget && i > start {
            frames.push(encode(&Instances {
                r#type: "instances",
                instances: &instances[start..i],
            }));
            start = i;
            size = 0;
        }
        size += len;
    }
    if start < instances.len() {
        frames.push(encode(&Instances {
            r#type: "instances",
            instances: &instances[start..],
        }));
    }
    frames.push(ready(anchor, version));
    frames
}

/// `{"type":"ready",...}`: the end of an initial state or a resume.
pub(crate) fn ready(anchor: &InstanceId, version: u64) -> Frame {
    encode(&Ready {
        r#type: "ready",
        v: version,
        anchor,
    })
}

/// `{"type":"ready","v":..,"anchors":[..]}`: a list channel's initial state
/// is complete; `anchors` is its list, in order.
pub(crate) fn list_ready(anchors: &[&InstanceId], version: u64) -> Frame {
    encode(&serde_json::json!({"type": "ready", "v": version, "anchors": anchors}))
}

/// `{"type":"anchors","anchors":[..],"instances":[..]}`: a list channel's
/// list changed; `instances` holds the state of the anchors it added.
pub(crate) fn anchors(anchors: &[&InstanceId], instances: &[Arc<FlatInstance>]) -> Frame {
    encode(&serde_json::json!({"type": "anchors", "anchors": anchors, "instances": instances}))
}

/// `{"type":"resume","from":..,"deleted":[..]}`: the answer to a resume
/// request starts here; the `instances` and `ready` after it complete the
/// client's state instead of replacing it.
pub(crate) fn resume(from: u64, removed: &[InstanceId]) -> Frame {
    #[derive(Serialize)]
    struct Resume<'a> {
        r#type: &'static str,
        from: u64,
        deleted: Vec<DeletedRef<'a>>,
    }
    encode(&Resume {
        r#type: "resume",
        from,
        deleted: removed
            .iter()
            .map(|id| DeletedRef {
                type_name: &id.type_name,
                key: &id.key,
            })
            .collect(),
    })
}

/// `{"type":"error",...}`: a failed request that keeps the socket open.
pub(crate) fn error(code: &str, message: &str) -> Frame {
    encode(&serde_json::json!({"type": "error", "code": code, "message": message}))
}

/// `{"type":"reply","id":..,"result":..}` or `{"type":"reply","id":..,"error":{..}}`.
pub(crate) fn reply(id: u64, result: &Result<serde_json::Value, crate::ActionError>) -> Frame {
    match result {
        Ok(value) => encode(&serde_json::json!({"type": "reply", "id": id, "result": value})),
        Err(error) => encode(&serde_json::json!({"type": "reply", "id": id, "error": error})),
    }
}

/// `{"type":"runtime","state":..}`: the connection's runtime state.
pub(crate) fn runtime(state: &serde_json::Value) -> Frame {
    encode(&serde_json::json!({"type": "runtime", "state": state}))
}

/// `{"type":"system","level":..,"message":..}`: a message from the
/// operators.
pub(crate) fn system(message: &crate::broker::SystemMessage) -> Frame {
    encode(
        &serde_json::json!({"type": "system", "level": message.level, "message": message.message}),
    )
}

/// `{"type":"pong"}`.
pub(crate) fn pong() -> Frame {
    Frame::from_static(r#"{"type":"pong"}"#)
}
