//! One socket's life: authentication, permission, the initial state, then
//! deltas out and client messages in, until one side closes. The wire
//! format is `docs/PROTOCOL.md`.

mod alarms;
mod anchors;
mod close;
mod consumers;
pub(crate) mod frames;
mod gate;
mod socket;
pub(crate) mod upgrade;
mod writes;

pub use close::Close;

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_util::FutureExt;
use hyper::upgrade::OnUpgrade;
use serde_json::Value;
use tokio::task::JoinSet;
use tracing::Instrument;

use self::alarms::{Alarm, Alarms};
use self::anchors::Anchors;
use self::consumers::Consumers;
use self::socket::Received;
use crate::app::AppInner;
use crate::auth::{AuthError, Authenticated};
use crate::channel::{
    ActionError, At, BoxFuture, Channel, ChannelDescriptor, Connect, Ctx, ListOrder, Load,
    LoadError, Offer, Reject, RouteParams, RuntimeCell,
};
use crate::hub::{Inbox, Initial, Notice};
use crate::metrics::{Metrics, Outcome};
use crate::state::Key;

type Sink = socket::Writer<tokio::io::WriteHalf<socket::Io>>;
type Stream = socket::Reader<tokio::io::ReadHalf<socket::Io>>;

/// How long the server tries to deliver a close frame.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the client ended its connection.
#[derive(Debug, Clone, Copy)]
enum Left {
    /// It sent a close frame, with this code if it gave one.
    Closed(Option<u16>),
    /// The stream ended or failed without one.
    Gone,
}

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
    /// The connection's task, from the upgrade (the `101` was sent) on.
    fn serve(
        &self,
        app: Arc<AppInner>,
        upgrade: OnUpgrade,
        params: RouteParams,
        header_token: Option<String>,
        header_resume: Option<u64>,
    ) -> BoxFuture<'static, ()>;
}

pub(crate) struct ChannelEndpoint<C> {
    /// Built once: each connection reads it, none rebuilds it.
    descriptor: Arc<ChannelDescriptor>,
    channel: PhantomData<fn() -> C>,
}

impl<C: Channel> ChannelEndpoint<C> {
    pub(crate) fn new() -> Self {
        ChannelEndpoint {
            descriptor: Arc::new(C::descriptor()),
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
        upgrade: OnUpgrade,
        params: RouteParams,
        header_token: Option<String>,
        header_resume: Option<u64>,
    ) -> BoxFuture<'static, ()> {
        let descriptor = self.descriptor.clone();
        let name = descriptor.name;
        Box::pin(async move {
            let upgraded = match upgrade.await {
                Ok(upgraded) => upgraded,
                Err(error) => {
                    tracing::debug!(%error, "the WebSocket upgrade failed");
                    return;
                }
            };
            let _open = OpenConnection::new(&app);
            let metrics = app.hub.inner.metrics.clone();
            let (mut sink, mut stream) = socket::split(
                upgraded,
                metrics.clone(),
                app.limits.max_message_bytes,
                app.limits.heartbeat_timeout,
            );
            let shutting_down = *app.shutting_down.borrow();
            let outcome = if shutting_down {
                Err(Ending::new(Close::GoingAway, "server shutting down"))
            } else {
                run::<C>(
                    &app,
                    &mut sink,
                    &mut stream,
                    params,
                    (header_token, header_resume),
                    &descriptor,
                )
                .await
            };
            metrics.closed(outcome.as_ref().err().map(|e| e.close.code()));
            let close = match &outcome {
                Err(ending) => {
                    tracing::debug!(channel = name, code = ending.close.code(), reason = %ending.reason, "closing");
                    Some(Some((ending.close.code(), ending.reason.as_str())))
                }
                // The client closed: its code is echoed (RFC 6455, 5.5.1).
                Ok(Left::Closed(code)) => Some(code.filter(|c| socket::sendable(*c)).map(|c| (c, ""))),
                Ok(Left::Gone) => None,
            };
            if let Some(close) = close {
                // The peer may be gone or not reading (a too-slow client):
                // telling it is worth a bounded wait, not a stuck task.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close(close)).await;
            }
        }
        .instrument(tracing::info_span!("rxd.connection", channel = name)))
    }
}

/// Counts a connection as open for as long as it lives.
struct OpenConnection<'a>(&'a AppInner);

impl<'a> OpenConnection<'a> {
    fn new(app: &'a AppInner) -> Self {
        app.connections.send_modify(|open| *open += 1);
        app.hub.inner.metrics.connections_opened.inc();
        OpenConnection(app)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections.send_modify(|open| *open -= 1);
    }
}

/// Authenticates with the header's token or the first message. `Ok(Err(_))`:
/// the client left before sending one.
async fn authenticate(
    app: &AppInner,
    stream: &mut Stream,
    (header_token, header_resume): (Option<String>, Option<u64>),
) -> Result<Result<(Authenticated, Option<u64>), Left>, Ending> {
    let (token, resume_from) = match header_token {
        Some(token) => (token, header_resume),
        None => match first_message(stream, app.limits.auth_timeout).await? {
            Ok(auth) => auth,
            Err(left) => return Ok(Err(left)),
        },
    };
    match app.auth.authenticate(&token).await {
        Ok(principal) => Ok(Ok((principal, resume_from))),
        Err(AuthError::InvalidToken) => Err(Ending::new(Close::Unauthorized, "invalid token")),
        Err(AuthError::Internal(error)) => {
            tracing::error!(%error, "authenticator failed");
            Err(Ending::new(Close::ServerError, "authentication failed"))
        }
    }
}

/// Runs the channel's `connect` (permission) and joins the groups it
/// named, then subscribes to its anchor (or, for a list channel, to each
/// anchor its `anchors` names), loading it cold if no connection of this
/// process shows it yet. Returns the principal too, for re-checks.
async fn admit<C: Channel>(
    app: &AppInner,
    principal: Box<dyn std::any::Any + Send + Sync>,
    params: RouteParams,
    inbox: &Inbox,
    resume_from: Option<u64>,
    anchors: &mut Anchors,
) -> Result<(Arc<C>, C::Principal), Ending> {
    let principal = principal.downcast::<C::Principal>().map_err(|_| {
        tracing::error!("the authenticator's principal is not the channel's");
        Ending::new(Close::ServerError, "server misconfigured")
    })?;
    let connect = Connect::new(app.data.clone(), params.clone());
    let connected = C::rxd_connect(connect.clone(), (*principal).clone(), params)
        .await
        .map_err(|reject| match reject {
            Reject::Forbidden => Ending::new(Close::Forbidden, "forbidden"),
            Reject::NotFound => Ending::new(Close::NotFound, "not found"),
            Reject::Internal(error) => {
                tracing::error!(%error, "connect failed");
                Ending::new(Close::ServerError, "connect failed")
            }
        })?;

    for group in connect.joined() {
        app.hub.join_group(inbox.id, &group);
    }

    let channel = Arc::new(connected.channel);
    match connected.anchor {
        Some(key) => {
            anchors
                .join(
                    app,
                    &*channel,
                    key,
                    Initial::Frames { resume_from },
                    At::End,
                )
                .await
                .map_err(anchors::load_failed)?;
            if let Some(anchor) = anchors.first() {
                tracing::Span::current().record("anchor", tracing::field::display(anchor));
            }
        }
        None => {
            let load = Load::new(app.data.clone());
            let keys = channel
                .rxd_anchors(&load)
                .await
                .map_err(anchors::load_failed)?;
            // A list never resumes: each anchor's history would need its
            // own version, and a list is small enough to send whole.
            for key in keys {
                let initial = Initial::Frames { resume_from: None };
                match anchors.join(app, &*channel, key, initial, At::End).await {
                    Ok(_) => {}
                    // Deleted between `anchors` and its load: not shown.
                    Err(LoadError::NotFound) => {}
                    Err(error) => return Err(anchors::load_failed(error)),
                }
            }
        }
    }
    Ok((channel, *principal))
}

/// The connection from the first byte to the end. `Ok`: the client closed
/// or went away.
async fn run<C: Channel>(
    app: &AppInner,
    sink: &mut Sink,
    stream: &mut Stream,
    params: RouteParams,
    header: (Option<String>, Option<u64>),
    descriptor: &ChannelDescriptor,
) -> Result<Left, Ending> {
    let has_runtime = descriptor.runtime.is_some();
    let (authenticated, resume_from) = match authenticate(app, stream, header).await? {
        Ok(authenticated) => authenticated,
        Err(left) => return Ok(left),
    };
    // Opened before `connect` runs, so that an event sent to a group it
    // joins is not missed while the state loads; and before the limits'
    // check, so that a revocation either finds this connection or was
    // remembered before the check.
    let mut inbox = app.hub.open_inbox(authenticated.identity.clone());
    let _slots = gate::admit(app, &authenticated.identity, inbox.id).await?;
    let limits = &app.limits;
    let mut anchors = Anchors::new(limits.max_pending_frames, descriptor.list);
    // Registered before `anchors` runs, so that an instance created while
    // the list loads is offered (and skipped if the list shows it).
    let mut watch = descriptor.auto_update.then(|| {
        let layer = <C::State as crate::state::ContextState>::layer();
        app.hub
            .watch(layer.type_name.clone(), anchors.signals().clone())
    });
    let (channel, principal) = admit::<C>(
        app,
        authenticated.principal,
        params.clone(),
        &inbox,
        resume_from,
        &mut anchors,
    )
    .instrument(tracing::info_span!(
        "rxd.admit",
        anchor = tracing::field::Empty
    ))
    .await?;

    let runtime = Arc::new(RuntimeCell::new(C::Runtime::default()));
    let ctx = Ctx::new(app.data.clone(), app.hub.clone(), runtime.clone(), inbox.id);
    // Everything after `connect` admitted the connection, in a block so that
    // however it ends (the client left, an error, a shutdown), the channel's
    // `disconnect` runs once, after the running calls are cancelled (and
    // after `ready`, which runs inline before anything else is handled).
    let outcome = async {
        for frame in anchors.initial_frames() {
            sink.feed(&frame);
        }
        if has_runtime {
            sink.feed(&frames::runtime(&runtime.json()));
        }
        flush(sink).await?;
        if let Some(ready) = C::rxd_ready(&channel, &ctx) {
            if std::panic::AssertUnwindSafe(ready).catch_unwind().await.is_err() {
                tracing::error!("the channel's `ready` panicked");
            }
        }
        let mut ctx = ctx.clone();
        // Only a list has orders: the queue's first block is a kilobyte or more
        // that every idle connection would otherwise hold.
        let mut list_changes = None;
        if descriptor.list {
            let (orders, changes) = tokio::sync::mpsc::unbounded_channel();
            ctx = ctx.with_list(orders);
            list_changes = Some(changes);
        }
        // Running calls; dropping the set when the connection ends cancels them.
        let mut calls: JoinSet<Done> = JoinSet::new();
        // Running `is_visible` checks of offered instances.
        let mut visibility: JoinSet<Option<Key>> = JoinSet::new();
        let mut consumers = Consumers::new(channel.clone(), ctx.clone(), limits.max_pending_frames);
        let mut alarms = Alarms::arm(
            anchors.signals().clone(),
            inbox.overflow.clone(),
            inbox.orders.clone(),
            app.shutting_down.subscribe(),
        );
        // Set once the app shuts down: no new calls; close when the running
        // ones are done or the deadline passes. (Made once and boxed: a
        // `sleep_until` in the `select!` would be built on every turn, and
        // every idle connection would hold its timer.)
        let mut drain_deadline: Option<Pin<Box<tokio::time::Sleep>>> = None;
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + limits.heartbeat_interval,
            limits.heartbeat_interval,
        );
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = tokio::time::Instant::now();
        loop {
            if drain_deadline.is_some() && calls.is_empty() {
                return Err(going_away(sink, &mut anchors).await);
            }
            tokio::select! {
                biased;
                alarm = &mut alarms => match alarm {
                    Alarm::FramesOverflow => {
                        return Err(Ending::new(Close::TooSlow, "too many frames pending"));
                    }
                    Alarm::AnchorDropped => {
                        // A resync: what is queued is true, then the client reloads.
                        let _ = going_away(sink, &mut anchors).await;
                        return Err(Ending::new(Close::GoingAway, "anchor closed"));
                    }
                    Alarm::NoticesOverflow => {
                        return Err(Ending::new(Close::TooSlow, "too many events pending"));
                    }
                    Alarm::Order => {
                        if let Some(order) = inbox.orders.take() {
                            // Boxed, like `change_list`: the connection's
                            // state has room for its largest await for its whole
                            // life, and most connections never get here.
                            Box::pin(gate::obey::<C>(app, order, &principal, &params)).await?;
                        }
                    }
                    Alarm::ShutDown => {
                        drain_deadline = Some(Box::pin(tokio::time::sleep(limits.shutdown_deadline)));
                    }
                },
                () = deadline(&mut drain_deadline) => {
                    // Actions still running are cancelled with the connection.
                    return Err(going_away(sink, &mut anchors).await);
                }
                Some(frame) = anchors.frames.recv() => {
                    sink.feed(&frame);
                    // Coalesce whatever else is queued into one write.
                    while let Some(frame) = anchors.frames.try_recv() {
                        sink.feed(&frame);
                    }
                    flush(sink).await?;
                }
                Some(order) = recv_order(&mut list_changes) => {
                    change_list(app, &*channel, &mut anchors, sink, order).await?;
                }
                Some(offer) = recv_offer(&mut watch) => {
                    if !anchors.shows(offer.key()) {
                        let key = offer.key().clone();
                        let check = channel.clone().rxd_is_visible(ctx.clone(), offer);
                        visibility.spawn(async move { check.await.then_some(key) });
                    }
                }
                Some(visible) = visibility.join_next(), if !visibility.is_empty() => {
                    // A check that panicked shows nothing; the panic is logged.
                    if let Ok(Some(key)) = visible {
                        change_list(app, &*channel, &mut anchors, sink, ListOrder::Add(key, At::End)).await?;
                    }
                }
                Some(done) = calls.join_next(), if !calls.is_empty() => {
                    // Only a cancelled task fails to join, and none is cancelled
                    // while the connection lives.
                    let Ok((id, result)) = done else { continue };
                    let runtime = has_runtime.then_some(&*runtime);
                    answer(app, &*channel, &mut anchors, &mut list_changes, runtime, sink, id, &result).await?;
                }
                Some(notice) = inbox.notices.recv() => match notice {
                    Notice::Frame(frame) => {
                        sink.feed(&frame);
                        flush(sink).await?;
                    }
                    Notice::Event { kind, event } => consumers.offer(kind, event)?,
                },
                () = consumers.next(), if consumers.busy() => {}
                _ = runtime.changed.notified(), if has_runtime => {
                    sink.feed(&frames::runtime(&runtime.json()));
                    flush(sink).await?;
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > limits.heartbeat_timeout {
                        return Err(Ending::new(Close::Timeout, "no answer to heartbeats"));
                    }
                    sink.ping().await.map_err(write_failed)?;
                }
                message = stream.next() => {
                    last_heard = tokio::time::Instant::now();
                    let text = match message {
                        Some(Ok(Received::Text(text))) => text,
                        Some(Ok(Received::Ping(payload))) => {
                            sink.pong(payload).await.map_err(write_failed)?;
                            continue;
                        }
                        Some(Ok(Received::Pong)) => continue,
                        Some(Ok(Received::Binary)) => {
                            return Err(Ending::new(Close::ProtocolError, "binary frames are not supported"));
                        }
                        Some(Ok(Received::Close(code))) => return Ok(Left::Closed(code)),
                        None => return Ok(Left::Gone),
                        Some(Err(error)) => return read_failed(error),
                    };
                    let reply = match incoming(&text)? {
                        Incoming::Answer(frame) => frame,
                        Incoming::Call { id, .. } | Incoming::Write { id, .. } if drain_deadline.is_some() => refused(
                            &app.hub.inner.metrics,
                            id,
                            ActionError::new("shutting_down", "the server is shutting down"),
                        ),
                        Incoming::Call { id, .. } | Incoming::Write { id, .. } if calls.len() >= limits.max_calls_in_flight => {
                            refused(&app.hub.inner.metrics, id, ActionError::new(
                                "too_many_calls",
                                format!("at most {} calls may run at once", limits.max_calls_in_flight),
                            ))
                        }
                        Incoming::Call { id, action, args } => {
                            match channel.clone().rxd_call(ctx.clone(), &action, args) {
                                Err(error) => refused(&app.hub.inner.metrics, id, error),
                                Ok(call) => {
                                    let call = run_call(id, action, call, app.hub.inner.metrics.clone());
                                    if let Some((id, result)) = start_call(&mut calls, call).await {
                                        let runtime = has_runtime.then_some(&*runtime);
                                        answer(app, &*channel, &mut anchors, &mut list_changes, runtime, sink, id, &result).await?;
                                    }
                                    continue;
                                }
                            }
                        }
                        Incoming::Write { id, object } => {
                            match writes::check(&descriptor.writes, |id| anchors.hold(&app.hub, id), object) {
                                Err(error) => refused(&app.hub.inner.metrics, id, error),
                                Ok(write) => {
                                    let call = channel.clone().rxd_write(ctx.clone(), write);
                                    let call = run_call(id, "write".to_owned(), call, app.hub.inner.metrics.clone());
                                    if let Some((id, result)) = start_call(&mut calls, call).await {
                                        let runtime = has_runtime.then_some(&*runtime);
                                        answer(app, &*channel, &mut anchors, &mut list_changes, runtime, sink, id, &result).await?;
                                    }
                                    continue;
                                }
                            }
                        }
                    };
                    sink.feed(&reply);
                    flush(sink).await?;
                }
            }
        }
    }
    .await;
    // Spawned, so that the close frame does not wait for the app's cleanup
    // (a database write, typically) and a slow hook holds no socket.
    if let Some(disconnect) = C::rxd_disconnect(&channel, &ctx) {
        tokio::spawn(disconnect.in_current_span());
    }
    outcome
}

/// A finished call and its result.
type Done = (u64, Result<Value, ActionError>);

/// Polls a call once: most actions finish without waiting, and answered
/// at once they cost no task and no wakeup. One that waits runs on in
/// `calls`; `Some` when it finished.
async fn start_call(
    calls: &mut JoinSet<Done>,
    call: impl Future<Output = Done> + Send + 'static,
) -> Option<Done> {
    let mut call = Box::pin(call);
    let polled = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
    match polled {
        Poll::Ready(done) => Some(done),
        Poll::Pending => {
            calls.spawn(call);
            None
        }
    }
}

/// Sends a finished call's reply. The deltas its batch caused were queued
/// before it returned, and so were its runtime and list changes: all go
/// out before the reply.
#[allow(clippy::too_many_arguments)]
async fn answer<C: Channel>(
    app: &AppInner,
    channel: &C,
    anchors: &mut Anchors,
    list_changes: &mut Option<tokio::sync::mpsc::UnboundedReceiver<ListOrder>>,
    runtime: Option<&RuntimeCell>,
    sink: &mut Sink,
    id: u64,
    result: &Result<Value, ActionError>,
) -> Result<(), Ending> {
    while let Some(frame) = anchors.frames.try_recv() {
        sink.feed(&frame);
    }
    while let Some(order) = list_changes.as_mut().and_then(|c| c.try_recv().ok()) {
        change_list(app, channel, anchors, sink, order).await?;
    }
    if let Some(runtime) = runtime.filter(|runtime| runtime_changed(runtime)) {
        sink.feed(&frames::runtime(&runtime.json()));
    }
    sink.feed(&frames::reply(id, result));
    flush(sink).await
}

/// Takes a pending change notification, if there is one: a change already
/// sent need not be sent again when its notification is polled later.
fn runtime_changed(runtime: &RuntimeCell) -> bool {
    use futures_util::FutureExt as _;
    runtime.changed.notified().now_or_never().is_some()
}

/// Answers a call that never runs, and counts it.
fn refused(metrics: &Metrics, id: u64, error: ActionError) -> frames::Frame {
    metrics.action(Outcome::Rejected, None);
    frames::reply(id, &Err(error))
}

/// Runs one action; a panic is answered as an internal error and logged,
/// and the connection goes on.
async fn run_call(
    id: u64,
    action: String,
    call: BoxFuture<'static, Result<Value, ActionError>>,
    metrics: Arc<Metrics>,
) -> Done {
    let span = tracing::info_span!("rxd.action", action, id, outcome = tracing::field::Empty);
    let started = std::time::Instant::now();
    let result = std::panic::AssertUnwindSafe(call)
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let outcome = match &result {
        Ok(result) => Outcome::of(result),
        Err(_) => Outcome::Panic,
    };
    metrics.action(outcome, Some(started.elapsed()));
    span.record("outcome", tracing::field::debug(outcome));
    let result = result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(parent: &span, action, panic = message, "action panicked");
        Err(ActionError::internal())
    });
    (id, result)
}

/// The next offer of an auto-updating list; never, for other channels.
async fn recv_offer(watch: &mut Option<crate::hub::Watch>) -> Option<Offer> {
    match watch {
        Some(watch) => watch.offers.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves when the deadline passes; never, without one.
async fn deadline(deadline: &mut Option<Pin<Box<tokio::time::Sleep>>>) {
    match deadline {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// The next change a list's actions ordered; never, for other channels.
async fn recv_order(
    changes: &mut Option<tokio::sync::mpsc::UnboundedReceiver<ListOrder>>,
) -> Option<ListOrder> {
    match changes {
        Some(changes) => changes.recv().await,
        None => std::future::pending().await,
    }
}

/// Carries out a change to a list connection's anchors and tells the
/// client. An anchor that cannot be loaded is not added, and the client
/// gets an `error` message saying so; the connection goes on.
///
/// Boxed: it holds the channel's load, and an await's state would be part
/// of every connection's state, list or not, for the connection's life.
fn change_list<'a, C: Channel>(
    app: &'a AppInner,
    channel: &'a C,
    anchors: &'a mut Anchors,
    sink: &'a mut Sink,
    order: ListOrder,
) -> BoxFuture<'a, Result<(), Ending>> {
    Box::pin(async move {
        let frame = match order {
            ListOrder::Add(key, at) => match anchors
                .join(app, channel, key.clone(), Initial::Instances, at)
                .await
            {
                Ok(true) => anchors.added_frame(&key),
                Ok(false) => return Ok(()),
                Err(error) => {
                    let message = format!("anchor {key} could not be added: {error}");
                    tracing::warn!(%key, %error, "list: anchor not added");
                    frames::error("anchor_not_added", &message)
                }
            },
            ListOrder::Remove(key) => match anchors.remove(&key) {
                Some(frame) => frame,
                None => return Ok(()),
            },
        };
        sink.feed(&frame);
        flush(sink).await
    })
}

/// Sends what is queued for the connection (no committed change is lost to
/// a shutdown), then says why it ends.
async fn going_away(sink: &mut Sink, anchors: &mut Anchors) -> Ending {
    let ending = Ending::new(Close::GoingAway, "server shutting down");
    while let Some(frame) = anchors.frames.try_recv() {
        sink.feed(&frame);
    }
    let _ = flush(sink).await;
    ending
}

async fn flush(sink: &mut Sink) -> Result<(), Ending> {
    sink.flush().await.map_err(write_failed)
}

/// A client that stopped reading is too slow; any other write error means
/// it is gone.
fn write_failed(error: socket::WriteError) -> Ending {
    match error {
        socket::WriteError::Stalled => Ending::new(Close::TooSlow, "the client stopped reading"),
        socket::WriteError::Io(_) => Ending::new(Close::GoingAway, "write failed"),
    }
}

/// A read error: an oversized message or a broken frame gets its close
/// code; a failed read means the peer is gone.
fn read_failed(error: socket::ReadError) -> Result<Left, Ending> {
    match error {
        socket::ReadError::TooBig => Err(Ending::new(Close::MessageTooBig, error.to_string())),
        socket::ReadError::Protocol(reason) => Err(Ending::new(Close::ProtocolError, reason)),
        socket::ReadError::Gone => Ok(Left::Gone),
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

/// Waits for `{"type":"auth","token":...}`; `Ok(Err(_))`: the client left.
async fn first_message(
    stream: &mut Stream,
    timeout: std::time::Duration,
) -> Result<Result<(String, Option<u64>), Left>, Ending> {
    let message = tokio::time::timeout(timeout, stream.next())
        .await
        .map_err(|_| Ending::new(Close::Unauthorized, "no auth message in time"))?;
    let text = match message {
        None => return Ok(Err(Left::Gone)),
        Some(Ok(Received::Close(code))) => return Ok(Err(Left::Closed(code))),
        Some(Err(error)) => return read_failed(error).map(Err),
        Some(Ok(Received::Text(text))) => text,
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
    let resume_from = match object.get("last_version") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_u64().ok_or_else(|| {
            Ending::new(
                Close::ProtocolError,
                "last_version must be a non-negative integer",
            )
        })?),
    };
    match object.get("token") {
        Some(Value::String(token)) => Ok(Ok((token.clone(), resume_from))),
        _ => Err(Ending::new(
            Close::Unauthorized,
            "auth needs a string token",
        )),
    }
}

/// A client message after `ready`.
enum Incoming {
    /// Answer at once with this frame.
    Answer(frames::Frame),
    /// Start an action.
    Call {
        id: u64,
        action: String,
        args: Vec<Value>,
    },
    /// Check and start a write (`connection/writes.rs`).
    Write {
        id: u64,
        object: serde_json::Map<String, Value>,
    },
}

/// The largest call id: ids are JSON numbers, exact in JavaScript up to
/// 2^53 - 1.
const MAX_CALL_ID: u64 = (1 << 53) - 1;

fn incoming(text: &str) -> Result<Incoming, Ending> {
    let (kind, mut object) = parse(text)?;
    Ok(Incoming::Answer(match kind.as_str() {
        "ping" => frames::pong(),
        "call" => {
            let id = object
                .get("id")
                .and_then(Value::as_u64)
                .filter(|id| *id <= MAX_CALL_ID);
            let Some(id) = id else {
                return Ok(Incoming::Answer(frames::error(
                    "bad_call",
                    "a call needs an integer \"id\" from 0 to 2^53-1",
                )));
            };
            let action = match object.remove("action") {
                Some(Value::String(action)) => action,
                _ => {
                    return Ok(Incoming::Answer(frames::reply(
                        id,
                        &Err(ActionError::new(
                            "bad_call",
                            "a call needs a string \"action\"",
                        )),
                    )))
                }
            };
            let args = match object.remove("args") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(args)) => args,
                Some(_) => {
                    return Ok(Incoming::Answer(frames::reply(
                        id,
                        &Err(ActionError::new("bad_call", "\"args\" must be an array")),
                    )))
                }
            };
            return Ok(Incoming::Call { id, action, args });
        }
        "write" => {
            let id = object
                .get("id")
                .and_then(Value::as_u64)
                .filter(|id| *id <= MAX_CALL_ID);
            let Some(id) = id else {
                return Ok(Incoming::Answer(frames::error(
                    "bad_write",
                    "a write needs an integer \"id\" from 0 to 2^53-1",
                )));
            };
            return Ok(Incoming::Write { id, object });
        }
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

/// The header a non-browser client sends with `Authorization` to resume
/// from a version (the `auth` message's `last_version`).
pub const RESUME_HEADER: &str = "rxd-last-version";

/// The version in the [`RESUME_HEADER`] header; a value that is not a
/// non-negative integer is ignored (the client gets a full state).
pub(crate) fn resume_header(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(RESUME_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
