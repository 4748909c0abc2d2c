//! One socket's life: authentication, permission, the initial state, then
//! deltas out and client messages in, until one side closes. The wire
//! format is `docs/PROTOCOL.md`.

mod close;
pub(crate) mod frames;

pub use close::Close;

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use crate::app::AppInner;
use crate::auth::AuthError;
use crate::channel::{
    BoxFuture, Channel, ChannelDescriptor, Connect, Load, LoadError, Reject, RouteParams,
};
use crate::state::{ContextState, InstanceId};

type Sink = SplitSink<WebSocket, Message>;

/// How long the server tries to deliver a close frame.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
type Stream = SplitStream<WebSocket>;

/// Why the server ends a connection: a close code and a human reason.
#[derive(Debug)]
struct Ending {
    close: Close,
    reason: String,
}

impl Ending {
    fn new(close: Close, reason: impl Into<String>) -> Ending {
        Ending {
            close,
            reason: reason.into(),
        }
    }
}

/// A registered channel with its type erased, so the app holds a list.
pub(crate) trait Endpoint: Send + Sync {
    fn descriptor(&self) -> &ChannelDescriptor;
    fn serve(
        &self,
        app: Arc<AppInner>,
        socket: WebSocket,
        params: RouteParams,
        header_token: Option<String>,
    ) -> BoxFuture<'static, ()>;
}

pub(crate) struct ChannelEndpoint<C> {
    descriptor: ChannelDescriptor,
    channel: PhantomData<fn() -> C>,
}

impl<C: Channel> ChannelEndpoint<C> {
    pub(crate) fn new() -> Self {
        ChannelEndpoint {
            descriptor: C::descriptor(),
            channel: PhantomData,
        }
    }
}

impl<C: Channel> Endpoint for ChannelEndpoint<C> {
    fn descriptor(&self) -> &ChannelDescriptor {
        &self.descriptor
    }

    fn serve(
        &self,
        app: Arc<AppInner>,
        socket: WebSocket,
        params: RouteParams,
        header_token: Option<String>,
    ) -> BoxFuture<'static, ()> {
        let name = self.descriptor.name;
        Box::pin(async move {
            let (mut sink, mut stream) = socket.split();
            let outcome = run::<C>(&app, &mut sink, &mut stream, params, header_token).await;
            if let Err(ending) = outcome {
                tracing::debug!(channel = name, code = ending.close.code(), reason = %ending.reason, "closing");
                let frame = CloseFrame {
                    code: ending.close.code(),
                    reason: ending.reason.into(),
                };
                // The peer may be gone or not reading (a too-slow client):
                // telling it is worth a bounded wait, not a stuck task.
                let close = sink.send(Message::Close(Some(frame)));
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, close).await;
            }
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
        })
    }
}

/// The connection from the first byte to the end. `Ok` means the client
/// closed or went away.
async fn run<C: Channel>(
    app: &AppInner,
    sink: &mut Sink,
    stream: &mut Stream,
    params: RouteParams,
    header_token: Option<String>,
) -> Result<(), Ending> {
    let token = match header_token {
        Some(token) => token,
        None => match first_message(stream, app.limits.auth_timeout).await? {
            Some(token) => token,
            None => return Ok(()),
        },
    };

    let principal = match app.auth.authenticate(&token).await {
        Ok(principal) => principal,
        Err(AuthError::InvalidToken) => {
            return Err(Ending::new(Close::Unauthorized, "invalid token"))
        }
        Err(AuthError::Internal(error)) => {
            tracing::error!(%error, "authenticator failed");
            return Err(Ending::new(Close::ServerError, "authentication failed"));
        }
    };
    let principal = principal.downcast::<C::Principal>().map_err(|_| {
        tracing::error!("the authenticator's principal is not the channel's");
        Ending::new(Close::ServerError, "server misconfigured")
    })?;

    let connect = Connect::new(app.data.clone(), params.clone());
    let connected =
        C::rxd_connect(connect, *principal, params)
            .await
            .map_err(|reject| match reject {
                Reject::Forbidden => Ending::new(Close::Forbidden, "forbidden"),
                Reject::NotFound => Ending::new(Close::NotFound, "not found"),
                Reject::Internal(error) => {
                    tracing::error!(%error, "connect failed");
                    Ending::new(Close::ServerError, "connect failed")
                }
            })?;

    let layer = <C::State as ContextState>::layer();
    let anchor = InstanceId::new(layer.type_name.clone(), connected.anchor);
    let channel = connected.channel;
    let load = Load::new(app.data.clone());
    let mut subscription = app
        .hub
        .subscribe(layer, anchor, || async {
            let state = channel.rxd_load(&load).await?;
            serde_json::to_value(&state).map_err(LoadError::from)
        })
        .await
        .map_err(|error| match error {
            LoadError::NotFound => Ending::new(Close::NotFound, "not found"),
            LoadError::Internal(error) => {
                tracing::error!(%error, "load failed");
                Ending::new(Close::ServerError, "load failed")
            }
        })?;

    for frame in subscription.snapshot.iter() {
        feed(sink, frame.clone()).await?;
    }
    flush(sink).await?;

    loop {
        tokio::select! {
            biased;
            _ = subscription.overflow.notified() => {
                return Err(Ending::new(Close::TooSlow, "too many frames pending"));
            }
            frame = subscription.frames.recv() => {
                let Some(frame) = frame else {
                    return Err(Ending::new(Close::GoingAway, "anchor closed"));
                };
                feed(sink, frame).await?;
                // Coalesce whatever else is queued into one write.
                while let Ok(frame) = subscription.frames.try_recv() {
                    feed(sink, frame).await?;
                }
                flush(sink).await?;
            }
            message = stream.next() => {
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Err(error)) => return read_failed(error),
                    Some(Ok(Message::Binary(_))) => {
                        return Err(Ending::new(Close::ProtocolError, "binary frames are not supported"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Text(text))) => text,
                };
                if let Some(reply) = answer(&text)? {
                    feed(sink, reply).await?;
                    flush(sink).await?;
                }
            }
        }
    }
}

async fn feed(sink: &mut Sink, frame: frames::Frame) -> Result<(), Ending> {
    sink.feed(Message::Text(frame))
        .await
        .map_err(|_| Ending::new(Close::GoingAway, "write failed"))
}

async fn flush(sink: &mut Sink) -> Result<(), Ending> {
    sink.flush()
        .await
        .map_err(|_| Ending::new(Close::GoingAway, "write failed"))
}

/// A read error: an oversized message gets its close code; anything else
/// means the peer is gone.
fn read_failed(error: axum::Error) -> Result<(), Ending> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = error.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => Err(Ending::new(
            Close::MessageTooBig,
            "message larger than max_message_bytes",
        )),
        _ => Ok(()),
    }
}

/// Parses a client message: a JSON object with a string `type`.
fn parse(text: &str) -> Result<(String, serde_json::Map<String, Value>), Ending> {
    let malformed = || {
        Ending::new(
            Close::ProtocolError,
            "expected a JSON object with a \"type\"",
        )
    };
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return Err(malformed());
    };
    match object.get("type") {
        Some(Value::String(kind)) => Ok((kind.clone(), object)),
        _ => Err(malformed()),
    }
}

/// Waits for `{"type":"auth","token":...}`. `Ok(None)`: the client left.
async fn first_message(
    stream: &mut Stream,
    timeout: std::time::Duration,
) -> Result<Option<String>, Ending> {
    let message = tokio::time::timeout(timeout, stream.next())
        .await
        .map_err(|_| Ending::new(Close::Unauthorized, "no auth message in time"))?;
    let text = match message {
        None | Some(Ok(Message::Close(_))) => return Ok(None),
        Some(Err(error)) => return read_failed(error).map(|()| None),
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(_)) => {
            return Err(Ending::new(
                Close::ProtocolError,
                "the first message must be auth",
            ))
        }
    };
    let (kind, object) = parse(&text)?;
    if kind != "auth" {
        return Err(Ending::new(
            Close::ProtocolError,
            "the first message must be auth",
        ));
    }
    match object.get("token") {
        Some(Value::String(token)) => Ok(Some(token.clone())),
        _ => Err(Ending::new(
            Close::Unauthorized,
            "auth needs a string token",
        )),
    }
}

/// The answer to a message after `ready`, if any.
fn answer(text: &str) -> Result<Option<frames::Frame>, Ending> {
    let (kind, _) = parse(text)?;
    Ok(Some(match kind.as_str() {
        "ping" => frames::pong(),
        "auth" => frames::error("already_authenticated", "this connection is authenticated"),
        other => frames::error(
            "unknown_type",
            &format!("unknown message type {:?}", truncate(other, 64)),
        ),
    }))
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}
