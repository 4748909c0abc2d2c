//! The profile example: one user's profile, edited over REST, live in every
//! window that shows it.
//!
//! [`app`] is the rxd registry (the one `makefrontend` reads); [`router`]
//! mounts it next to the users resource ([`api`]) and the built front end.

pub mod api;
pub mod channel;
pub mod db;
pub mod state;
pub mod users;

use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

pub use channel::{TokenAuth, UserChannel};
pub use db::Db;

/// The rxd app's registry: one channel per user, tokens from the database.
/// Limits and the broker stay open to the caller.
pub fn app_builder(db: Db) -> rxd::AppBuilder<state::Account> {
    rxd::App::builder()
        .auth(TokenAuth::new(db.clone()))
        .data(db)
        .channel::<UserChannel>()
}

/// The rxd app with the defaults: in-memory broker, default limits.
pub fn app(db: Db) -> rxd::App {
    app_builder(db).build()
}

/// The REST types the page sends and reads, for `profile.api.ts`: input
/// types where the page sends them, output types where it reads them.
pub fn api_types() -> Vec<rxd::TsType> {
    use rxd::TypeScript;
    vec![
        users::NewUser::ts_input_type(),
        users::UserPatch::ts_input_type(),
        users::ValidationErrors::ts_type(),
        users::ErrorBody::ts_type(),
    ]
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
