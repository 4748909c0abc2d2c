//! The chat example: rooms with a history in the database (SQLite or
//! PostgreSQL), presence that is right across processes, and sends that a
//! retry does not duplicate.
//!
//! [`app_builder`] is the rxd registry (the one `makefrontend` reads);
//! [`Server`] wires it with presence's heartbeat; [`router`] mounts it next
//! to the built front end.

pub mod channel;
pub mod db;
pub mod presence;
pub mod state;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

pub use channel::{ChatSettings, RoomChannel, TokenAuth};
pub use db::Db;
pub use presence::{Presence, PresenceConfig};

/// The rxd app's registry: one channel per room, tokens from the database.
/// Limits and the broker stay open to the caller.
pub fn app_builder(
    db: Db,
    presence: Arc<Presence>,
    settings: ChatSettings,
) -> rxd::AppBuilder<state::User> {
    rxd::App::builder()
        .auth(TokenAuth::new(db.clone()))
        .data(db)
        .data(presence)
        .data(settings)
        .channel::<RoomChannel>()
}

/// A running chat process: the app and its presence heartbeat.
pub struct Server {
    pub app: rxd::App,
    pub presence: Arc<Presence>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Builds the app (on `broker`, or in memory) and starts presence's
    /// heartbeat.
    pub fn start(
        db: Db,
        settings: ChatSettings,
        presence: PresenceConfig,
        broker: Option<rxd::broker::RedisBroker>,
    ) -> Result<Server, rxd::app::BuildError> {
        let presence = Arc::new(Presence::new(db.clone(), presence));
        let builder = app_builder(db, presence.clone(), settings);
        let app = match broker {
            Some(broker) => builder.broker(broker).try_build()?,
            None => builder.try_build()?,
        };
        let heartbeat = tokio::spawn(presence.clone().run(app.hub()));
        Ok(Server {
            app,
            presence,
            heartbeat,
        })
    }

    /// Closes every connection (1001, after running actions), then removes
    /// this process's connections from presence at once.
    pub async fn shut_down(self) {
        self.app.shutdown().await;
        self.heartbeat.abort();
        self.presence.shut_down(&self.app.hub()).await;
    }
}

/// The whole HTTP surface: channels and (when `frontend` exists) the built
/// React app.
pub fn router(app: &rxd::App, frontend: Option<&Path>) -> Router {
    let router = Router::new().merge(app.router());
    match frontend {
        Some(dir) => router
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => router,
    }
    .layer(tower_http::trace::TraceLayer::new_for_http())
}
