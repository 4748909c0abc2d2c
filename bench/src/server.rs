//! The rxd bench server: one channel over a two-level tree (an anchor and
//! its items), any token accepted, and the commit driver of
//! [`crate::drive`] on the same port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rxd::{AuthError, Authenticator, Connect, Hub, Load, LoadError, Reject};
use serde::{Deserialize, Serialize};

use crate::drive::{item_id, DriveMode, DriveResult, DriveSpec};
use crate::stamp::{now_ns, title};

/// The anchor of a bench channel.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Anchor {
    /// Key.
    pub id: i64,
    /// Plain field.
    pub title: String,
    /// The children.
    pub items: Vec<Item>,
}

/// A child of an anchor; its title carries commit stamps.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Item {
    /// Key: `anchor * 10000 + j`.
    pub id: i64,
    /// Parent link.
    #[rxd(parent = Anchor::items)]
    pub anchor_id: i64,
    /// A stamp after the first commit.
    pub title: String,
    /// Padding, so that an item weighs about 300 bytes on the wire.
    pub body: String,
}

/// The shape of every anchor's state.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Items per anchor.
    pub children: u64,
    /// The padding of each item.
    pub body: Arc<str>,
}

impl Shape {
    /// `children` items of about `body_bytes` of padding each.
    pub fn new(children: u64, body_bytes: usize) -> Shape {
        Shape {
            children,
            body: "x".repeat(body_bytes).into(),
        }
    }

    /// Item `j` of `anchor` with a title.
    pub fn item(&self, anchor: u64, j: u64, title: String) -> Item {
        Item {
            id: item_id(anchor, j) as i64,
            anchor_id: anchor as i64,
            title,
            body: self.body.to_string(),
        }
    }

    /// The cold state of an anchor.
    pub fn anchor(&self, id: u64) -> Anchor {
        Anchor {
            id: id as i64,
            title: format!("anchor {id}"),
            items: (0..self.children)
                .map(|j| self.item(id, j, format!("item {j}")))
                .collect(),
        }
    }
}

/// The principal: anyone.
#[derive(Debug, Clone)]
pub struct Bencher;

/// Accepts every token.
pub struct AnyToken;

impl Authenticator for AnyToken {
    type Principal = Bencher;

    async fn authenticate(&self, _token: &str) -> Result<Bencher, AuthError> {
        Ok(Bencher)
    }
}

/// One anchor, live.
pub struct AnchorChannel {
    anchor_id: i64,
    shape: Shape,
}

#[rxd::channel(state = Anchor, route = "/ws/anchors/{anchor_id}")]
impl AnchorChannel {
    async fn connect(ctx: &Connect, user: Bencher, anchor_id: i64) -> Result<Self, Reject> {
        let Bencher = user;
        let shape = ctx.data::<Shape>()?.clone();
        Ok(AnchorChannel { anchor_id, shape })
    }

    async fn load(&self, _ctx: &Load) -> Result<Anchor, LoadError> {
        Ok(self.shape.anchor(self.anchor_id as u64))
    }

    /// Echoes its arguments: the unit of work of the actions workload.
    #[action]
    async fn echo(&self, ctx: &rxd::Ctx, n: i64, text: String) -> Result<Echo, rxd::ActionError> {
        let _ = ctx;
        Ok(Echo { n, text })
    }
}

/// What `echo` answers.
#[derive(rxd::TypeScript, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Echo {
    /// The first argument.
    pub n: i64,
    /// The second.
    pub text: String,
}

/// The app and its control routes, on the in-memory broker.
pub fn router(shape: Shape) -> (rxd::App, Router) {
    router_on(shape, None)
}

/// The app and its control routes, on `broker` (workload 6: two processes
/// through Redis) or in memory.
pub fn router_on(shape: Shape, broker: Option<rxd::broker::RedisBroker>) -> (rxd::App, Router) {
    let builder = rxd::App::builder()
        .auth(AnyToken)
        .data(shape.clone())
        .channel::<AnchorChannel>();
    let app = match broker {
        Some(broker) => builder.broker(broker).build(),
        None => builder.build(),
    };
    let control = Router::new()
        .route("/bench/health", get(|| async { "ok" }))
        .route("/bench/drive", post(drive))
        .with_state(Control {
            hub: app.hub(),
            shape,
        });
    let router = app.router().merge(control);
    (app, router)
}

/// Serves on `addr` (backlog 4096) until the process ends.
///
/// With `BENCH_REDIS_NS` set, the app runs on the Redis broker at
/// `BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`) in that namespace,
/// so that two servers started alike are two processes of one deployment.
pub async fn serve(addr: SocketAddr, shape: Shape) -> std::io::Result<()> {
    let listener = crate::sys::listen(addr)?;
    let broker = match std::env::var("BENCH_REDIS_NS") {
        Ok(namespace) => {
            let url = std::env::var("BENCH_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let config = rxd::broker::RedisConfig::new(&url)
                .map_err(std::io::Error::other)?
                .namespace(namespace);
            Some(
                rxd::broker::RedisBroker::connect(config)
                    .await
                    .map_err(std::io::Error::other)?,
            )
        }
        Err(_) => None,
    };
    serve_on(listener, shape, broker).await
}

/// Serves on a bound listener, with `TCP_NODELAY` on every connection
/// (without it, a small frame after a large one waits for the delayed ACK).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    shape: Shape,
    broker: Option<rxd::broker::RedisBroker>,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let (_app, router) = router_on(shape, broker);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).await
}

#[derive(Clone)]
struct Control {
    hub: Hub,
    shape: Shape,
}

async fn drive(
    State(control): State<Control>,
    Json(spec): Json<DriveSpec>,
) -> Result<Json<DriveResult>, (StatusCode, String)> {
    run_drive(&control.hub, &control.shape, &spec)
        .await
        .map(Json)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))
}

/// One commit of a drive.
async fn commit(hub: &Hub, shape: &Shape, spec: &DriveSpec, i: u64) -> Result<u64, String> {
    let anchor = spec.anchor(i);
    let stamp = title(now_ns(), spec.seq_start + i);
    let mut batch = hub.batch();
    let mut n = 0;
    for j in spec.item_indexes(i, shape.children) {
        batch
            .save(&shape.item(anchor, j, stamp.clone()))
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    batch.commit().await.map_err(|e| e.to_string())?;
    Ok(n)
}

/// Runs a drive against `hub`.
pub async fn run_drive(hub: &Hub, shape: &Shape, spec: &DriveSpec) -> Result<DriveResult, String> {
    let started = Instant::now();
    let duration = Duration::from_millis(spec.duration_ms);
    let (mut commits, mut instances) = (0u64, 0u64);
    match spec.mode {
        DriveMode::Rate => {
            let total = spec.total();
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let limit = duration + Duration::from_millis(crate::drive::GRACE_MS);
            while commits < total && started.elapsed() < limit {
                tick.tick().await;
                let due = ((started.elapsed().as_secs_f64() * spec.rate) as u64 + 1).min(total);
                while commits < due {
                    instances += commit(hub, shape, spec, commits).await?;
                    commits += 1;
                }
            }
        }
        DriveMode::Max => {
            // Writers share one commit counter, so stamps stay unique.
            let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut writers = tokio::task::JoinSet::new();
            for _ in 0..spec.writers.max(1) {
                let (hub, shape, spec, next) = (hub.clone(), shape.clone(), *spec, next.clone());
                writers.spawn(async move {
                    let (mut commits, mut instances) = (0u64, 0u64);
                    while started.elapsed() < duration {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        instances += commit(&hub, &shape, &spec, i).await?;
                        commits += 1;
                        tokio::task::yield_now().await;
                    }
                    Ok::<_, String>((commits, instances))
                });
            }
            while let Some(done) = writers.join_next().await {
                let (c, n) = done.map_err(|e| e.to_string())??;
                commits += c;
                instances += n;
            }
        }
        DriveMode::Check => {
            let anchor = spec.anchor_lo;
            let mut batch = hub.batch();
            for m in 0..spec.k_max.max(1) {
                let stamp = title(now_ns(), spec.seq_start);
                let mut item = shape.item(anchor, 0, stamp);
                item.body = format!("{}{m}", shape.body);
                batch.save(&item).map_err(|e| e.to_string())?;
            }
            batch.commit().await.map_err(|e| e.to_string())?;
            let mut dropped = hub.batch();
            dropped
                .save(&shape.item(anchor, 1, title(now_ns(), spec.seq_start + 1)))
                .map_err(|e| e.to_string())?;
            drop(dropped);
            commits = 1;
            instances = 1;
        }
    }
    Ok(DriveResult {
        commits,
        instances,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}
