//! The app registry: one explicit list of channels that both the server and
//! `makefrontend` use, the authenticator, app data, limits and broker.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::RawPathParams;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;

use crate::auth::{Authenticator, ErasedAuthenticator};
use crate::broker::{Broker, MemoryBroker};
use crate::channel::{Channel, ChannelDescriptor, Data, RouteParams};
use crate::connection::upgrade::WebSocketRequest;
use crate::connection::{ChannelEndpoint, Endpoint};
use crate::hub::{Hub, LayerNameCollision, LayerRegistry};
use crate::state::FieldType;

/// Limits on what one connection may cost. See `docs/PROTOCOL.md`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest client message; larger closes with 4009.
    pub max_message_bytes: usize,
    /// How long the server waits for the `auth` message.
    pub auth_timeout: Duration,
    /// Frames queued for one socket before it is closed with 4008.
    pub max_pending_frames: usize,
    /// Budget of one `instances` frame of the initial state: the frames are
    /// serialized once per anchor version and shared, and a client can
    /// apply the first before the last arrives.
    pub initial_frame_bytes: usize,
    /// Action calls one connection may have running at once; more are
    /// answered `too_many_calls`.
    pub max_calls_in_flight: usize,
    /// How often the server pings an idle connection.
    pub heartbeat_interval: Duration,
    /// How long a connection may stay silent (no message, no pong) before
    /// the server closes it with 4010 and frees it.
    pub heartbeat_timeout: Duration,
    /// How long [`App::shutdown`] lets running actions finish.
    pub shutdown_deadline: Duration,
    /// How long an anchor stays hot after its last connection left, so that
    /// a reload or reconnect needs no database load; zero drops it at once.
    pub idle_anchor_ttl: Duration,
    /// How many removals (and for how long) each hot anchor remembers, so
    /// that a client resuming from a recent version gets exactly what it
    /// missed; see `docs/PROTOCOL.md` ("Resume").
    pub resume_history: crate::broker::HistoryLimits,
    /// Connections one principal ([`Authenticator::principal_id`]) may hold
    /// across the whole deployment; one more closes with 4029. `None`:
    /// unlimited.
    pub max_connections_per_principal: Option<usize>,
    /// Connections this process serves at once; one more closes with 4029.
    /// `None`: unlimited.
    pub max_connections_per_process: Option<usize>,
    /// How long [`Hub::revoke_token`] keeps refusing a token; set it to at
    /// least your tokens' lifetime.
    pub revoked_token_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 * 1024,
            auth_timeout: Duration::from_secs(10),
            max_pending_frames: 1024,
            initial_frame_bytes: 16 * 1024,
            max_calls_in_flight: 64,
            heartbeat_interval: Duration::from_secs(20),
            heartbeat_timeout: Duration::from_secs(60),
            shutdown_deadline: Duration::from_secs(10),
            idle_anchor_ttl: Duration::from_secs(30),
            resume_history: crate::broker::HistoryLimits::default(),
            max_connections_per_principal: None,
            max_connections_per_process: None,
            revoked_token_ttl: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// A configured rxd application. Mount [`App::router`] into your axum
/// `Router`; write with [`App::hub`].
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

pub(crate) struct AppInner {
    pub(crate) hub: Hub,
    pub(crate) auth: Arc<dyn ErasedAuthenticator>,
    pub(crate) data: Data,
    pub(crate) limits: Limits,
    endpoints: Vec<Arc<dyn Endpoint>>,
    /// Where [`App::router`] serves the metrics, if anywhere.
    metrics_path: Option<String>,
    /// Becomes true once, when the app shuts down.
    pub(crate) shutting_down: tokio::sync::watch::Sender<bool>,
    /// Open connections; `shutdown` waits for them.
    pub(crate) connections: tokio::sync::watch::Sender<usize>,
}

/// The principal type of a builder with no authenticator yet.
pub enum NoAuth {}

/// Builds an [`App`]: `.auth(..)` first, then `.channel::<C>()` for each
/// channel, then `.build()`.
pub struct AppBuilder<P = NoAuth> {
    auth: Option<Arc<dyn ErasedAuthenticator>>,
    endpoints: Vec<Arc<dyn Endpoint>>,
    data: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    limits: Limits,
    broker: Option<Arc<dyn Broker>>,
    metrics_path: Option<String>,
    principal: PhantomData<fn() -> P>,
}

/// The app's configuration is inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two channels share a route.
    #[error("two channels use the route {0}")]
    DuplicateRoute(String),
    /// The metrics path does not start with `/`.
    #[error("the metrics path {0:?} must start with /")]
    MetricsPath(String),
    /// Two Rust types claim one instance type name.
    #[error(transparent)]
    LayerName(#[from] LayerNameCollision),
    /// A plain field holds a layer inside a type that is not `Vec<T>`,
    /// `Option<T>` or `T` (`Box<Card>`, `Option<Vec<Card>>`, a map): it
    /// would be sent inline instead of as instances.
    #[error("{layer}.{field}: a state layer may nest another only as Vec<T>, Option<T> or T; {nested} is inside another type")]
    HiddenLayer {
        /// The layer's Rust path.
        layer: String,
        /// The field.
        field: String,
        /// The nested layer's Rust name.
        nested: &'static str,
    },
    /// A `#[rxd(parent = ...)]` names a field that does not nest this layer.
    #[error("{child}: #[rxd(parent = {parent}::{relation})] does not name a relation to {child}")]
    BadParent {
        /// The child layer's Rust path.
        child: String,
        /// The parent layer's Rust path.
        parent: String,
        /// The named field.
        relation: String,
    },
    /// A channel's `writable(...)` or a `#[rxd(writable)]` field does not
    /// fit the state (a layer outside it, a create without a parent link,
    /// a writable relation).
    #[error("{0}")]
    BadWrite(String),
}

impl App {
    /// Starts building an app.
    pub fn builder() -> AppBuilder<NoAuth> {
        AppBuilder {
            auth: None,
            endpoints: Vec::new(),
            data: HashMap::new(),
            limits: Limits::default(),
            broker: None,
            metrics_path: None,
            principal: PhantomData,
        }
    }

    /// The hub, to commit writes from REST handlers and background tasks.
    pub fn hub(&self) -> Hub {
        self.inner.hub.clone()
    }

    /// Shuts the app's connections down: each stops taking calls, lets its
    /// running actions finish (at most `shutdown_deadline`), sends what is
    /// queued, and closes with 1001 so that clients reconnect elsewhere.
    /// New connections are closed with 1001 at once. Resolves when every
    /// connection has closed.
    ///
    /// Call it from your server's graceful-shutdown future, on SIGTERM or
    /// ctrl-c ([`shutdown_signal`]), before the listener stops.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.send_replace(true);
        let mut connections = self.inner.connections.subscribe();
        let deadline = self.inner.limits.shutdown_deadline + std::time::Duration::from_secs(5);
        let closed = connections.wait_for(|open| *open == 0);
        // A connection stuck writing to a peer that reads nothing gives up
        // on its own; do not wait for it forever.
        let _ = tokio::time::timeout(deadline, closed).await;
    }

    /// The app's Prometheus metrics in the text exposition format (content
    /// type [`crate::metrics::CONTENT_TYPE`]). Serve it wherever suits you,
    /// or let [`App::router`] serve it at [`AppBuilder::metrics_path`]. The
    /// names are listed in `docs/DEPLOY.md`.
    pub fn metrics(&self) -> String {
        let hub = &self.inner.hub;
        hub.inner.metrics.render(&crate::metrics::Gauges {
            connections_open: self.open_connections() as u64,
            anchors_hot: hub.hot_anchors() as u64,
            broker_reconnects: hub.inner.broker.reconnects(),
            broker_resyncs: hub.resyncs(),
        })
    }

    /// How many WebSocket connections are open.
    pub fn open_connections(&self) -> usize {
        *self.inner.connections.borrow()
    }

    /// The registered channels, in registration order.
    pub fn channels(&self) -> Vec<&ChannelDescriptor> {
        self.inner
            .endpoints
            .iter()
            .map(|e| e.descriptor())
            .collect()
    }

    /// An axum router serving every channel's WebSocket route, and the
    /// metrics at [`AppBuilder::metrics_path`] if one was set. Merge it into
    /// your own router; your tower layers apply as usual.
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        if let Some(path) = &self.inner.metrics_path {
            let app = self.clone();
            router = router.route(
                path,
                get(move || async move {
                    (
                        [(http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
                        app.metrics(),
                    )
                }),
            );
        }
        for endpoint in &self.inner.endpoints {
            let app = self.inner.clone();
            let endpoint = endpoint.clone();
            let route = endpoint.descriptor().route;
            router =
                router.route(
                    route,
                    get(
                        move |upgrade: WebSocketRequest,
                              params: RawPathParams,
                              headers: HeaderMap| async move {
                            let params = RouteParams::new(
                                params
                                    .iter()
                                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                                    .collect(),
                            );
                            let token = bearer_token(&headers);
                            let resume_from = crate::connection::resume_header(&headers);
                            let (response, upgrade) = upgrade.accept();
                            tokio::spawn(endpoint.serve(app, upgrade, params, token, resume_from));
                            response
                        },
                    ),
                );
        }
        router
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

impl<P> AppBuilder<P> {
    /// Registers a value that `connect` and `load` read with
    /// `ctx.data::<T>()`; one per type.
    pub fn data<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.data.insert(TypeId::of::<T>(), Box::new(value));
        self
    }

    /// Replaces the default [`Limits`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the default in-memory broker.
    pub fn broker(mut self, broker: impl Broker) -> Self {
        self.broker = Some(Arc::new(broker));
        self
    }

    /// Serves the Prometheus metrics ([`App::metrics`]) at `path` (for
    /// example `"/metrics"`) on [`App::router`]. Off by default: the
    /// router is usually public, and the numbers are for operators. To
    /// serve them on an internal port instead, leave this unset and route
    /// [`App::metrics`] yourself.
    ///
    /// The path must start with `/` and not collide with a channel route
    /// (axum panics on overlapping routes when the router is built).
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = Some(path.into());
        self
    }
}

impl AppBuilder<NoAuth> {
    /// Sets the authenticator; its principal type is the one every channel's
    /// `connect` receives.
    pub fn auth<A: Authenticator>(self, authenticator: A) -> AppBuilder<A::Principal> {
        AppBuilder {
            auth: Some(Arc::new(authenticator)),
            endpoints: self.endpoints,
            data: self.data,
            limits: self.limits,
            broker: self.broker,
            metrics_path: self.metrics_path,
            principal: PhantomData,
        }
    }
}

impl<P: Clone + Send + Sync + 'static> AppBuilder<P> {
    /// Registers a channel.
    pub fn channel<C: Channel<Principal = P>>(mut self) -> Self {
        self.endpoints.push(Arc::new(ChannelEndpoint::<C>::new()));
        self
    }

    /// Builds the app, or says what is inconsistent.
    pub fn try_build(self) -> Result<App, BuildError> {
        let mut layers = LayerRegistry::default();
        let mut routes = std::collections::HashSet::new();
        for endpoint in &self.endpoints {
            let descriptor = endpoint.descriptor();
            if !routes.insert(descriptor.route) {
                return Err(BuildError::DuplicateRoute(descriptor.route.to_owned()));
            }
            layers.add((descriptor.state)())?;
            crate::channel::write::check_declarations(descriptor).map_err(BuildError::BadWrite)?;
        }
        for layer in layers.all() {
            crate::channel::write::check_writable_fields(layer).map_err(BuildError::BadWrite)?;
        }
        if let Some(path) = &self.metrics_path {
            if !path.starts_with('/') {
                return Err(BuildError::MetricsPath(path.clone()));
            }
            if routes.contains(path.as_str()) {
                return Err(BuildError::DuplicateRoute(path.clone()));
            }
        }
        layers.check_parents()?;
        layers.check_no_hidden_layers()?;
        let limits = self.limits;
        let broker = self.broker.unwrap_or_else(|| Arc::new(MemoryBroker::new()));
        let auth = self
            .auth
            .expect("AppBuilder<P> for a principal P always has an authenticator");
        Ok(App {
            inner: Arc::new(AppInner {
                hub: Hub::new(broker, layers, limits.clone()),
                auth,
                data: Data::from_map(self.data),
                limits,
                endpoints: self.endpoints,
                metrics_path: self.metrics_path,
                shutting_down: tokio::sync::watch::Sender::new(false),
                connections: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    /// Builds the app.
    ///
    /// # Panics
    ///
    /// On an inconsistent configuration (see [`BuildError`]), as axum does
    /// for overlapping routes: it is a bug in the app, found at start-up.
    pub fn build(self) -> App {
        match self.try_build() {
            Ok(app) => app,
            Err(error) => panic!("invalid rxd app: {error}"),
        }
    }
}

impl LayerRegistry {
    /// No plain field carries a layer inside another type.
    fn check_no_hidden_layers(&self) -> Result<(), BuildError> {
        for layer in self.all() {
            for field in &layer.fields {
                if let FieldType::Value(ts) = &field.ty {
                    if let Some(nested) = ts.nested_layer() {
                        return Err(BuildError::HiddenLayer {
                            layer: layer.rust_path.clone(),
                            field: field.name.clone(),
                            nested: nested.rust_name,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Every parent link names a relation of its parent that nests the
    /// child's layer.
    fn check_parents(&self) -> Result<(), BuildError> {
        for layer in self.all() {
            let Some(link) = &layer.parent else { continue };
            let parent = (link.parent)();
            let nests_child = parent.field(&link.relation).is_some_and(|f| match &f.ty {
                FieldType::Relation(r) => std::ptr::eq((r.target)(), layer),
                FieldType::Value(_) => false,
            });
            if !nests_child {
                return Err(BuildError::BadParent {
                    child: layer.rust_path.clone(),
                    parent: parent.rust_path.clone(),
                    relation: link.relation.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Resolves on SIGTERM (what process managers send) or ctrl-c: what a
/// server waits for before [`App::shutdown`].
///
/// ```no_run
/// # async fn serve(app: rxd::App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let stopping = app.clone();
/// axum::serve(listener, app.router())
///     .with_graceful_shutdown(async move {
///         rxd::app::shutdown_signal().await;
///         stopping.shutdown().await;
///     })
///     .await
/// # }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
