//! The REST API: the board list, and card writes (see [`crate::cards`]).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::json;

use crate::cards::{self, CardPatch, NewCard, WriteError, Writer};
use crate::db::{self, Db};
use crate::state::{Board, Card, User};

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
    Invalid(crate::cards::InvalidFields),
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
                json!({"error": "invalid", "fields": fields.fields}),
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

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Forbidden => ApiError::Forbidden,
            WriteError::NotFound => ApiError::NotFound,
            WriteError::Invalid(fields) => ApiError::Invalid(fields),
            WriteError::Internal(message) => ApiError::Internal(message),
        }
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
        .route("/api/boards", get(list_boards).post(create_board))
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

/// `POST /api/boards` with `{"title": ...}`: a board owned by the caller,
/// who is its only member. Every picker of the caller shows it at once
/// (`MyBoardsChannel`'s auto-update).
async fn create_board(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Json(new): Json<NewBoard>,
) -> Result<(StatusCode, Json<Board>), ApiError> {
    let title = new.title.trim();
    if title.is_empty() {
        let fields = [("title".to_owned(), "may not be blank".to_owned())];
        return Err(ApiError::Invalid(cards::InvalidFields {
            fields: fields.into(),
        }));
    }
    let mut tx = state.db.begin().await?;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO boards (title, owner_id) VALUES (?1, ?2) RETURNING id")
            .bind(title)
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("INSERT INTO board_members (board_id, user_id) VALUES (?1, ?2)")
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let board = Board {
        id,
        title: title.to_owned(),
        columns: Vec::new(),
        owner: user,
    };
    let mut batch = state.hub.batch();
    batch
        .save(&board)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    batch
        .commit()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(board)))
}

/// The body of `POST /api/boards`.
#[derive(serde::Deserialize)]
struct NewBoard {
    title: String,
}

fn writer(user: User) -> Writer {
    Writer { user, board: None }
}

async fn create_card(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Json(new): Json<NewCard>,
) -> Result<(StatusCode, Json<Card>), ApiError> {
    let card = cards::create(&state.db, &state.hub, &writer(user), new).await?;
    Ok((StatusCode::CREATED, Json(card)))
}

async fn update_card(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<i64>,
    Json(change): Json<CardPatch>,
) -> Result<Json<Card>, ApiError> {
    let card = cards::update(&state.db, &state.hub, &writer(user), id, change).await?;
    Ok(Json(card))
}

async fn delete_card(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    cards::delete(&state.db, &state.hub, &writer(user), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
