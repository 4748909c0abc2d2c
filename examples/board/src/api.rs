//! The REST API that writes cards: each write commits its database
//! transaction, then a hub batch, so every browser on the board sees it.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::db::{self, Db};
use crate::state::{Card, User};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub hub: rxd::Hub,
}

/// An API error with its status and a JSON body.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Forbidden,
    NotFound,
    Invalid(serde_json::Value),
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"})),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, json!({"error": "forbidden"})),
            ApiError::NotFound => (StatusCode::NOT_FOUND, json!({"error": "not found"})),
            ApiError::Invalid(fields) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid", "fields": fields}),
            ),
            ApiError::Internal(message) => {
                tracing::error!(%message, "api error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "internal"}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl From<rxd::CommitError> for ApiError {
    fn from(error: rxd::CommitError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl From<rxd::state::StateError> for ApiError {
    fn from(error: rxd::state::StateError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

/// The caller, from `Authorization: Bearer <token>`.
pub struct Caller(pub User);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        db::user_by_token(&state.db, token.trim())
            .await?
            .map(Caller)
            .ok_or(ApiError::Unauthorized)
    }
}

/// The card routes and the board list.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/boards", get(list_boards))
        .route("/api/cards", post(create_card))
        .route("/api/cards/{id}", patch(update_card).delete(delete_card))
        .with_state(state)
}

async fn list_boards(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let boards = db::boards_of(&state.db, user.id).await?;
    Ok(Json(json!(boards
        .into_iter()
        .map(|(id, title)| json!({"id": id, "title": title}))
        .collect::<Vec<_>>())))
}

/// Fails unless `user` may write to the board of `column_id`.
async fn check_column(
    conn: &mut sqlx::SqliteConnection,
    column_id: i64,
    user: &User,
) -> Result<(), ApiError> {
    let board = db::board_of_column(&mut *conn, column_id)
        .await?
        .ok_or_else(|| ApiError::Invalid(json!({"column_id": "no such column"})))?;
    match db::is_member(conn, board, user.id).await? {
        Some(true) => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

fn check_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::Invalid(
            json!({"title": "must be 1 to 200 characters"}),
        ));
    }
    Ok(title.to_owned())
}

#[derive(Deserialize)]
struct NewCard {
    column_id: i64,
    title: String,
    #[serde(default)]
    assignee_id: Option<i64>,
}

async fn create_card(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Json(new): Json<NewCard>,
) -> Result<(StatusCode, Json<Card>), ApiError> {
    let title = check_title(&new.title)?;
    let mut tx = state.db.begin().await?;
    check_column(&mut tx, new.column_id, &user).await?;
    let position = db::next_card_position(&mut tx).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cards (column_id, title, assignee_id, position) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(new.column_id)
    .bind(&title)
    .bind(new.assignee_id)
    .bind(position)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(ref d) if d.is_foreign_key_violation() => {
            ApiError::Invalid(json!({"assignee_id": "no such user"}))
        }
        other => other.into(),
    })?;
    let card = db::card(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let mut batch = state.hub.batch();
    batch.save(&card)?;
    tx.commit().await?;
    batch.commit().await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[derive(Deserialize)]
struct CardPatch {
    title: Option<String>,
    column_id: Option<i64>,
}

async fn update_card(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<i64>,
    Json(change): Json<CardPatch>,
) -> Result<Json<Card>, ApiError> {
    let mut tx = state.db.begin().await?;
    let card = db::card(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check_column(&mut tx, card.column_id, &user).await?;
    if let Some(title) = &change.title {
        let title = check_title(title)?;
        sqlx::query("UPDATE cards SET title = ? WHERE id = ?")
            .bind(title)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(column_id) = change.column_id.filter(|c| *c != card.column_id) {
        check_column(&mut tx, column_id, &user).await?;
        let position = db::next_card_position(&mut tx).await?;
        sqlx::query("UPDATE cards SET column_id = ?, position = ? WHERE id = ?")
            .bind(column_id)
            .bind(position)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let card = db::card(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let mut batch = state.hub.batch();
    batch.save(&card)?;
    tx.commit().await?;
    batch.commit().await?;
    Ok(Json(card))
}

async fn delete_card(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.db.begin().await?;
    let card = db::card(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check_column(&mut tx, card.column_id, &user).await?;
    sqlx::query("DELETE FROM cards WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut batch = state.hub.batch();
    batch.delete::<Card>(id);
    tx.commit().await?;
    batch.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
