//! A small rxd server run as its own process by `tests/tests/slow_reader.rs`,
//! so that the test reads the server's memory (RSS) and nothing else's.
//!
//! `rxd-flood-server [--heartbeat-timeout-ms N]` listens on a loopback port
//! and prints `listening on http://ADDR` first. It serves one channel,
//! `/ws/feed/{id}` (a feed of 16 items, any token accepted), the metrics at
//! `/metrics`, and `GET /flood?n=N&bytes=B&feed=F`, which commits N
//! batches, each saving one item of feed F with a text of B bytes, and
//! answers the last version.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use rxd::{AuthError, Authenticator, Connect, Load, LoadError, Reject};
use serde::{Deserialize, Serialize};

/// Items in the feed: deltas cycle through them, so the hot state stays
/// small however many are committed.
const ITEMS: i64 = 16;

#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug)]
struct Feed {
    id: i64,
    items: Vec<Item>,
}

#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug)]
struct Item {
    id: i64,
    #[rxd(parent = Feed::items)]
    feed_id: i64,
    text: String,
}

struct AnyToken;

impl Authenticator for AnyToken {
    type Principal = ();

    async fn authenticate(&self, _token: &str) -> Result<(), AuthError> {
        Ok(())
    }
}

struct FeedChannel {
    id: i64,
}

#[rxd::channel(state = Feed, route = "/ws/feed/{id}")]
impl FeedChannel {
    async fn connect(_ctx: &Connect, _user: (), id: i64) -> Result<Self, Reject> {
        Ok(FeedChannel { id })
    }

    async fn load(&self, _ctx: &Load) -> Result<Feed, LoadError> {
        Ok(Feed {
            id: self.id,
            items: (0..ITEMS)
                .map(|i| Item {
                    id: self.id * 1000 + i,
                    feed_id: self.id,
                    text: String::new(),
                })
                .collect(),
        })
    }
}

async fn flood(
    State(app): State<rxd::App>,
    Query(query): Query<HashMap<String, usize>>,
) -> Result<String, String> {
    let n = query.get("n").copied().unwrap_or(1);
    let bytes = query.get("bytes").copied().unwrap_or(16);
    let feed = query.get("feed").copied().unwrap_or(1) as i64;
    let hub = app.hub();
    let mut last = None;
    for i in 0..n {
        let mut text = format!("{i} ");
        text.extend(std::iter::repeat_n('x', bytes.saturating_sub(text.len())));
        let item = Item {
            id: feed * 1000 + (i as i64 % ITEMS),
            feed_id: feed,
            text,
        };
        let mut batch = hub.batch();
        batch.save(&item).map_err(|e| e.to_string())?;
        last = batch.commit().await.map_err(|e| e.to_string())?;
        // Commits usually come from many request tasks, not one loop that
        // never yields: let the connections run in between, as they would.
        tokio::task::yield_now().await;
    }
    Ok(last.map_or_else(String::new, |v| v.to_string()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mut limits = rxd::Limits::default();
    if let Some(i) = args.iter().position(|a| a == "--heartbeat-timeout-ms") {
        let millis: u64 = args.get(i + 1).ok_or("a value")?.parse()?;
        limits.heartbeat_timeout = Duration::from_millis(millis);
        limits.heartbeat_interval = Duration::from_millis(millis / 2);
    }
    let app = rxd::App::builder()
        .auth(AnyToken)
        .limits(limits)
        .channel::<FeedChannel>()
        .metrics_path("/metrics")
        .build();
    let router = Router::new()
        .route("/flood", get(flood))
        .with_state(app.clone())
        .merge(app.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
