//! The IoT example: MQTT-style topics over rxd channels. Devices publish
//! readings, dashboards subscribe to patterns, and every subscription and
//! publication is checked against the token's grants in the database.
//!
//! [`app_builder`] is the rxd registry (the one `makefrontend` reads);
//! [`router`] mounts it next to the operators' API ([`api`]) and the built
//! dashboard.

pub mod api;
pub mod channel;
pub mod db;
pub mod simulator;
pub mod state;
pub mod topics;

use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

pub use channel::{TokenAuth, TopicsChannel};
pub use db::Db;

/// The rxd app's registry: one topic channel, tokens from the database.
pub fn app_builder(db: Db) -> rxd::AppBuilder<db::Holder> {
    rxd::App::builder()
        .auth(TokenAuth::new(db.clone()))
        .data(db)
        .channel::<TopicsChannel>()
}

/// The whole HTTP surface: the channel, the operators' API and (when
/// `frontend` exists) the built dashboard.
pub fn router(app: &rxd::App, db: Db, frontend: Option<&Path>) -> Router {
    let api = api::routes(api::ApiState { db, hub: app.hub() });
    let router = Router::new().merge(app.router()).merge(api);
    match frontend {
        Some(dir) => router
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => router,
    }
    .layer(tower_http::trace::TraceLayer::new_for_http())
}
