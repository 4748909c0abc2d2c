//! A Rust protocol client, for tests, `rxd-cli` and benchmarks.
//!
//! [`Client`] speaks `docs/PROTOCOL.md` over a real socket and returns
//! parsed [`ServerMessage`]s; [`ClientState`] applies them the way the
//! TypeScript client does (snapshot swap at `ready`, stale deltas ignored,
//! deletes) and rebuilds the nested state with the layer descriptors.
//! [`Session`] puts the two together, with calls matched to their replies:
//! the generated typed Rust clients are a thin layer over it.

mod session;

pub use session::{arg, segment, CallError, Change, Session, SessionError};

use std::collections::HashMap;

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::hub::LayerRegistry;
use crate::state::{rebuild, ContextState, FlatInstance, InstanceId, Key, Layer, StateError};

/// A parsed server message.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// Part of an initial state.
    Instances(Vec<Map<String, Value>>),
    /// The end of an initial state.
    Ready {
        /// The anchor's version.
        v: u64,
        /// The root instance.
        anchor: InstanceId,
    },
    /// The end of a list channel's initial state.
    ListReady {
        /// The version the state is at.
        v: u64,
        /// The roots of the listed anchors, in order.
        anchors: Vec<InstanceId>,
    },
    /// A list channel's list changed.
    Anchors {
        /// The roots of the listed anchors, in order.
        anchors: Vec<InstanceId>,
        /// The state of the anchors added.
        instances: Vec<Map<String, Value>>,
    },
    /// The start of the answer to a resume: the `instances` and `ready`
    /// that follow complete the state held instead of replacing it.
    Resume {
        /// The version the client resumed from.
        from: u64,
        /// Instances that left the state since.
        deleted: Vec<InstanceId>,
    },
    /// A change.
    Delta {
        /// Its version.
        v: u64,
        /// Instances to replace.
        instances: Vec<Map<String, Value>>,
        /// Instances that left the state.
        deleted: Vec<InstanceId>,
    },
    /// A failed request; the socket stays open.
    Error {
        /// Stable code.
        code: String,
        /// Human message.
        message: String,
    },
    /// The answer to an action call.
    Reply {
        /// The call's id.
        id: u64,
        /// The action's value, or its error.
        result: Result<Value, crate::ActionError>,
    },
    /// The connection's runtime state, whole.
    Runtime(Value),
    /// A message from the operators to every client.
    System(crate::broker::SystemMessage),
    /// The answer to `ping`.
    Pong,
    /// The server closed the socket.
    Closed {
        /// The close code (1005 when none was sent).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// A message this client does not know.
    Other(Value),
}

/// A client failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket failed.
    #[error("websocket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent something that is not protocol.
    #[error("bad message from server: {0}")]
    Protocol(String),
    /// The state could not be rebuilt.
    #[error(transparent)]
    State(#[from] StateError),
    /// No message arrived in time.
    #[error("timed out waiting for the server")]
    Timeout,
}

/// A protocol connection.
pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    closed: Option<(u16, String)>,
}

impl Client {
    /// Connects and authenticates with the first message, as browsers do.
    pub async fn connect(url: &str, token: &str) -> Result<Client, ClientError> {
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        let mut client = Client {
            socket,
            closed: None,
        };
        client
            .send_json(&serde_json::json!({"type": "auth", "token": token}))
            .await?;
        Ok(client)
    }

    /// Connects like [`Client::connect`], asking to resume from
    /// `last_version` (the [`ClientState::version`] of a state held): the
    /// server answers what was missed, or a full state.
    pub async fn connect_resuming(
        url: &str,
        token: &str,
        last_version: Option<u64>,
    ) -> Result<Client, ClientError> {
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        let mut client = Client {
            socket,
            closed: None,
        };
        let mut auth = serde_json::json!({"type": "auth", "token": token});
        if let Some(version) = last_version {
            auth["last_version"] = version.into();
        }
        client.send_json(&auth).await?;
        Ok(client)
    }

    /// Connects with an `Authorization: Bearer` header, as non-browser
    /// clients may.
    pub async fn connect_with_header(url: &str, token: &str) -> Result<Client, ClientError> {
        Self::connect_with_header_resuming(url, token, None).await
    }

    /// [`Client::connect_with_header`], resuming from `last_version` with
    /// the `rxd-last-version` header.
    pub async fn connect_with_header_resuming(
        url: &str,
        token: &str,
        last_version: Option<u64>,
    ) -> Result<Client, ClientError> {
        let mut request = url.into_client_request()?;
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| ClientError::Protocol("token is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", value);
        if let Some(version) = last_version {
            request
                .headers_mut()
                .insert(crate::connection::RESUME_HEADER, version.into());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Client {
            socket,
            closed: None,
        })
    }

    /// Connects without authenticating, to send raw frames (tests of bad
    /// input).
    pub async fn connect_raw(url: &str) -> Result<Client, ClientError> {
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Client {
            socket,
            closed: None,
        })
    }

    /// Sends a JSON message.
    pub async fn send_json(&mut self, message: &Value) -> Result<(), ClientError> {
        self.send_text(message.to_string()).await
    }

    /// Calls an action: `{"type":"call","id":id,"action":action,"args":args}`.
    /// The reply arrives as [`ServerMessage::Reply`] with the same id.
    pub async fn call(
        &mut self,
        id: u64,
        action: &str,
        args: Vec<Value>,
    ) -> Result<(), ClientError> {
        self.send_json(
            &serde_json::json!({"type": "call", "id": id, "action": action, "args": args}),
        )
        .await
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: String) -> Result<(), ClientError> {
        self.socket.send(Message::text(text)).await?;
        Ok(())
    }

    /// Sends a raw message of any kind.
    pub async fn send_message(&mut self, message: Message) -> Result<(), ClientError> {
        self.socket.send(message).await?;
        Ok(())
    }

    /// The next server message; [`ServerMessage::Closed`] once the server
    /// closed (and again on every later call).
    pub async fn next(&mut self) -> Result<ServerMessage, ClientError> {
        match self.next_text().await? {
            Ok(text) => parse_server_message(&text),
            Err((code, reason)) => Ok(ServerMessage::Closed { code, reason }),
        }
    }

    /// The next text frame as received, or the close code and reason once
    /// the server closed.
    pub async fn next_text(&mut self) -> Result<Result<String, (u16, String)>, ClientError> {
        loop {
            if let Some(closed) = &self.closed {
                return Ok(Err(closed.clone()));
            }
            let message = match self.socket.next().await {
                Some(Ok(message)) => message,
                Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) | None => {
                    self.closed = Some((1006, String::new()));
                    continue;
                }
                Some(Err(error)) => return Err(error.into()),
            };
            match message {
                Message::Text(text) => return Ok(Ok(text.to_string())),
                Message::Close(frame) => {
                    self.closed = Some(match frame {
                        Some(f) => (u16::from(f.code), f.reason.to_string()),
                        None => (u16::from(CloseCode::Status), String::new()),
                    });
                }
                Message::Binary(_) => {
                    return Err(ClientError::Protocol("binary frame".into()));
                }
                _ => {}
            }
        }
    }

    /// [`Client::next`] with a deadline.
    pub async fn next_within(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<ServerMessage, ClientError> {
        tokio::time::timeout(timeout, self.next())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// Reads messages into `state` until the initial state is complete.
    /// Returns the close message instead if the server closes first.
    pub async fn read_initial_state(
        &mut self,
        state: &mut ClientState,
    ) -> Result<Option<ServerMessage>, ClientError> {
        loop {
            let message = self.next().await?;
            if let ServerMessage::Closed { .. } = message {
                return Ok(Some(message));
            }
            let ready = matches!(
                message,
                ServerMessage::Ready { .. } | ServerMessage::ListReady { .. }
            );
            state.apply(&message)?;
            if ready {
                return Ok(None);
            }
        }
    }

    /// Closes the socket normally.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.socket.close(None).await?;
        Ok(())
    }
}

fn parse_server_message(text: &str) -> Result<ServerMessage, ClientError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let bad = || ClientError::Protocol(text.chars().take(200).collect());
    let kind = value.get("type").and_then(Value::as_str).ok_or_else(bad)?;
    let objects = |field: &str| -> Result<Vec<Map<String, Value>>, ClientError> {
        value
            .get(field)
            .and_then(Value::as_array)
            .ok_or_else(bad)?
            .iter()
            .map(|v| v.as_object().cloned().ok_or_else(bad))
            .collect()
    };
    let version = || value.get("v").and_then(Value::as_u64).ok_or_else(bad);
    Ok(match kind {
        "instances" => ServerMessage::Instances(objects("instances")?),
        "ready" if value.get("anchors").is_some() => ServerMessage::ListReady {
            v: version()?,
            anchors: serde_json::from_value(value.get("anchors").cloned().ok_or_else(bad)?)
                .map_err(|_| bad())?,
        },
        "ready" => ServerMessage::Ready {
            v: version()?,
            anchor: serde_json::from_value(value.get("anchor").cloned().ok_or_else(bad)?)
                .map_err(|_| bad())?,
        },
        "anchors" => ServerMessage::Anchors {
            anchors: serde_json::from_value(value.get("anchors").cloned().ok_or_else(bad)?)
                .map_err(|_| bad())?,
            instances: objects("instances")?,
        },
        "resume" => ServerMessage::Resume {
            from: value.get("from").and_then(Value::as_u64).ok_or_else(bad)?,
            deleted: serde_json::from_value(value.get("deleted").cloned().ok_or_else(bad)?)
                .map_err(|_| bad())?,
        },
        "delta" => ServerMessage::Delta {
            v: version()?,
            instances: objects("instances")?,
            deleted: serde_json::from_value(value.get("deleted").cloned().ok_or_else(bad)?)
                .map_err(|_| bad())?,
        },
        "error" => ServerMessage::Error {
            code: value["code"].as_str().unwrap_or_default().to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        },
        "reply" => ServerMessage::Reply {
            id: value.get("id").and_then(Value::as_u64).ok_or_else(bad)?,
            result: match (value.get("result"), value.get("error")) {
                (_, Some(error)) => Err(serde_json::from_value(error.clone()).map_err(|_| bad())?),
                (Some(result), None) => Ok(result.clone()),
                (None, None) => return Err(bad()),
            },
        },
        "runtime" => ServerMessage::Runtime(value.get("state").cloned().ok_or_else(bad)?),
        "system" => ServerMessage::System(serde_json::from_value(value).map_err(|_| bad())?),
        "pong" => ServerMessage::Pong,
        _ => ServerMessage::Other(value),
    })
}

/// The client-side state of one channel, kept by the protocol's rules.
pub struct ClientState {
    layers: LayerRegistry,
    root: &'static Layer,
    instances: HashMap<InstanceId, FlatInstance>,
    pending: Option<HashMap<InstanceId, FlatInstance>>,
    anchor: Option<InstanceId>,
    /// A list channel's anchors, once its `ready` arrived.
    list: Option<Vec<InstanceId>>,
    version: u64,
    deltas_applied: usize,
    /// The current initial state or resume: what it has carried so far.
    receiving: LoadStats,
    last_load: Option<LoadStats>,
}

/// What one initial state (or resume answer) carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// It was a resume (it completed the state held); else a full state.
    pub resumed: bool,
    /// Instances it carried.
    pub instances: usize,
    /// Instances it listed as deleted.
    pub deleted: usize,
}

impl ClientState {
    /// An empty state for a channel whose anchor layer is `S`.
    pub fn new<S: ContextState>() -> ClientState {
        let mut layers = LayerRegistry::default();
        // A collision would have failed App::build on the server already;
        // here it only means the client cannot tell the types apart.
        let _ = layers.add(S::layer());
        ClientState {
            layers,
            root: S::layer(),
            instances: HashMap::new(),
            pending: None,
            anchor: None,
            list: None,
            version: 0,
            deltas_applied: 0,
            receiving: LoadStats::default(),
            last_load: None,
        }
    }

    fn parse(&self, object: &Map<String, Value>) -> Result<FlatInstance, ClientError> {
        let type_name = object.get("_type").and_then(Value::as_str).unwrap_or("");
        let layer = self
            .layers
            .get(type_name)
            .ok_or_else(|| ClientError::Protocol(format!("unknown _type {type_name:?}")))?;
        FlatInstance::from_wire(object.clone(), &layer.key_field)
            .ok_or_else(|| ClientError::Protocol(format!("bad instance of {type_name}")))
    }

    /// A `ready`: the collected snapshot replaces what is held.
    fn complete_snapshot(&mut self, version: u64) {
        if self.pending.is_none() {
            self.receiving = LoadStats::default();
        }
        self.instances = self.pending.take().unwrap_or_default();
        self.version = version;
        self.last_load = Some(std::mem::take(&mut self.receiving));
    }

    /// Applies one server message. Returns whether the state changed.
    pub fn apply(&mut self, message: &ServerMessage) -> Result<bool, ClientError> {
        match message {
            ServerMessage::Resume { deleted, .. } => {
                // A resume starts from what is held, minus what left; a
                // snapshot in progress (there should be none) is dropped.
                let mut pending = self.instances.clone();
                for id in deleted {
                    pending.remove(id);
                }
                self.pending = Some(pending);
                self.receiving = LoadStats {
                    resumed: true,
                    instances: 0,
                    deleted: deleted.len(),
                };
                Ok(false)
            }
            ServerMessage::Instances(objects) => {
                if self.pending.is_none() {
                    self.receiving = LoadStats::default();
                }
                self.receiving.instances += objects.len();
                let mut pending = self.pending.take().unwrap_or_default();
                for object in objects {
                    let instance = self.parse(object)?;
                    pending.insert(instance.id.clone(), instance);
                }
                self.pending = Some(pending);
                Ok(false)
            }
            ServerMessage::Ready { v, anchor } => {
                self.anchor = Some(anchor.clone());
                self.complete_snapshot(*v);
                Ok(true)
            }
            ServerMessage::ListReady { v, anchors } => {
                self.list = Some(anchors.clone());
                self.complete_snapshot(*v);
                Ok(true)
            }
            ServerMessage::Anchors { anchors, instances } => {
                for object in instances {
                    let instance = self.parse(object)?;
                    self.instances.insert(instance.id.clone(), instance);
                }
                self.list = Some(anchors.clone());
                Ok(true)
            }
            ServerMessage::Delta {
                v,
                instances,
                deleted,
            } => {
                // A list's anchors each send their own delta of one event,
                // under the same `v`: a list applies them all.
                let stale = match &self.list {
                    Some(_) => false,
                    None => self.anchor.is_none() || *v <= self.version,
                };
                if stale {
                    return Ok(false);
                }
                for object in instances {
                    let instance = self.parse(object)?;
                    self.instances.insert(instance.id.clone(), instance);
                }
                for id in deleted {
                    self.instances.remove(id);
                }
                self.version = self.version.max(*v);
                self.deltas_applied += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The last applied version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// What the last initial state or resume answer carried.
    pub fn last_load(&self) -> Option<LoadStats> {
        self.last_load
    }

    /// How many deltas were applied (stale ones are not counted).
    pub fn deltas_applied(&self) -> usize {
        self.deltas_applied
    }

    /// The flat instances held.
    pub fn instances(&self) -> &HashMap<InstanceId, FlatInstance> {
        &self.instances
    }

    /// The root's key, once `ready` arrived.
    pub fn anchor_key(&self) -> Option<&Key> {
        self.anchor.as_ref().map(|a| &a.key)
    }

    /// A list channel's anchors, in order, once `ready` arrived.
    pub fn list(&self) -> Option<&[InstanceId]> {
        self.list.as_deref()
    }

    /// A list channel's nested state: every listed anchor that is held,
    /// in order. (Instances only an anchor removed from the list showed
    /// stay in [`ClientState::instances`] until the next full state.)
    pub fn rebuild_list<S: ContextState + DeserializeOwned>(&self) -> Result<Vec<S>, ClientError> {
        let Some(list) = &self.list else {
            return Ok(Vec::new());
        };
        debug_assert!(std::ptr::eq(S::layer(), self.root));
        list.iter()
            .filter(|id| self.instances.contains_key(id))
            .map(|id| rebuild(&id.key, &self.instances).map_err(Into::into))
            .collect()
    }

    /// The nested state, or `None` before `ready` or after the anchor was
    /// deleted.
    pub fn rebuild<S: ContextState + DeserializeOwned>(&self) -> Result<Option<S>, ClientError> {
        let Some(anchor) = &self.anchor else {
            return Ok(None);
        };
        if !self.instances.contains_key(anchor) {
            return Ok(None);
        }
        debug_assert!(std::ptr::eq(S::layer(), self.root));
        Ok(Some(rebuild(&anchor.key, &self.instances)?))
    }
}
