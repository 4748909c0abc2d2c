//! The board example: a kanban board on SQLite, live in React.
//!
//! [`app`] is the rxd registry (the one `makefrontend` reads); [`router`]
//! mounts it next to the REST API and the built front end.

pub mod api;
pub mod cards;
pub mod channel;
pub mod db;
pub mod state;

use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

pub use channel::{BoardChannel, MyBoardsChannel, TokenAuth};
pub use db::Db;

/// The rxd app's registry: one channel per board, tokens from the
/// database. Limits and the broker stay open to the caller.
pub fn app_builder(db: Db) -> rxd::AppBuilder<state::User> {
    rxd::App::builder()
        .auth(TokenAuth::new(db.clone()))
        .data(db)
        .channel::<BoardChannel>()
        .channel::<MyBoardsChannel>()
}

/// The rxd app with the defaults: in-memory broker, default limits.
pub fn app(db: Db) -> rxd::App {
    app_builder(db).build()
}

/// The whole HTTP surface: channels, REST, and (when `frontend` exists) the
/// built React app.
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
