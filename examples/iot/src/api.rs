//! The operators' REST API:
//!
//! | method and path | answer |
//! | --- | --- |
//! | `GET /api/tokens/{id}` | 200 with the token and its grants |
//! | `PUT /api/tokens/{id}/grants` `[{pattern, access}]` | 200 with the token as it now is |
//! | `DELETE /api/tokens/{id}` | 204 |
//!
//! Every request needs `Authorization: Bearer <operator token>` (401 without
//! a valid token, 403 for a token that is not an operator's); an unknown
//! token id is 404, a bad pattern 400 `{"error": "invalid_pattern",
//! "message": ...}`. A grant change reaches the token's live connections
//! at once, on every process: their state shows the new grants and
//! subscriptions the grants no longer cover end. A deleted token's sockets
//! close with 4030 everywhere.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Serialize;

use crate::channel::{token_group, Rule};
use crate::db::{self, Db};
use crate::state::{Grant, Token};
use crate::topics;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub hub: rxd::Hub,
}

/// The body of a refusal.
#[derive(Serialize, Debug)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
}

/// A refusal, with its status.
#[derive(Debug)]
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError(status, error, message) = self;
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%message, "operator api");
        }
        (status, Json(ErrorBody { error, message })).into_response()
    }
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        error.to_string(),
    )
}

fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "not_found", "no such token".into())
}

/// The routes, to merge beside the app's router.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/tokens/{id}", get(get_token).delete(delete_token))
        .route("/api/tokens/{id}/grants", put(put_grants))
        .with_state(state)
}

/// Deny by default: only an operator's token passes.
async fn operator(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a bearer token is needed".into(),
            )
        })?;
    match db::holder(&state.db, token).await.map_err(internal)? {
        Some(holder) if holder.operator => Ok(()),
        Some(_) => Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "not an operator's token".into(),
        )),
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown token".into(),
        )),
    }
}

async fn get_token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Token>, ApiError> {
    operator(&state, &headers).await?;
    let token = db::token(&state.db, id).await.map_err(internal)?;
    token.map(Json).ok_or_else(not_found)
}

async fn put_grants(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(rules): Json<Vec<Rule>>,
) -> Result<Json<Token>, ApiError> {
    operator(&state, &headers).await?;
    for rule in &rules {
        topics::check_pattern(&rule.pattern).map_err(|e| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "invalid_pattern",
                format!("{:?}: {e}", rule.pattern),
            )
        })?;
    }
    let before = db::token(&state.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let rows: Vec<_> = rules
        .iter()
        .map(|r| (r.pattern.clone(), r.access))
        .collect();
    if !db::set_grants(&state.db, id, &rows)
        .await
        .map_err(internal)?
    {
        return Err(not_found());
    }
    let token = db::token(&state.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    // The database first, then the state (old grants leave it), then the
    // live connections' subscriptions.
    let mut batch = state.hub.batch();
    for old in &before.grants {
        batch.delete::<Grant>(old.id);
    }
    batch.save(&token).map_err(internal)?;
    batch.commit().await.map_err(internal)?;
    state
        .hub
        .send_event(&token_group(id), "iot.grants", &rules)
        .await
        .map_err(internal)?;
    Ok(Json(token))
}

async fn delete_token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    operator(&state, &headers).await?;
    let secret = db::delete_token(&state.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    // Its sockets close (4030) on every process, and it may not come back.
    state.hub.revoke_token(&secret).await.map_err(internal)?;
    let mut batch = state.hub.batch();
    batch.delete::<Token>(id);
    batch.commit().await.map_err(internal)?;
    Ok(StatusCode::NO_CONTENT)
}
