//! The REST resource:
//!
//! | method and path | answer |
//! | --- | --- |
//! | `GET /api/users/` | 200, the users the caller may see |
//! | `POST /api/users/` | 201 with the user (admins only, else 403) |
//! | `GET /api/users/{id}/` | 200 with the user |
//! | `PATCH /api/users/{id}/` | 200 with the user as it now is |
//! | `DELETE /api/users/{id}/` | 204 |
//!
//! Every request needs `Authorization: Bearer <token>` (401). A caller may
//! touch their own user, an admin any user (403). A user that does not
//! exist is 404, a body that fails validation 400 with
//! [`ValidationErrors`]; other refusals carry an [`ErrorBody`]. The paths
//! also answer without their trailing slash.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::db::{self, Db};
use crate::state::{Account, User};
use crate::users::{self, parse_body, ErrorBody, NewUser, UserPatch, ValidationErrors, WriteError};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub hub: rxd::Hub,
}

/// A refusal, with its status and body.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Forbidden,
    NotFound,
    Invalid(ValidationErrors),
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            ApiError::Invalid(errors) => {
                return (StatusCode::BAD_REQUEST, Json(errors)).into_response()
            }
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Internal(message) => {
                tracing::error!(%message, "users api");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let body = ErrorBody {
            error: code.to_owned(),
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
            WriteError::NotFound => ApiError::NotFound,
            WriteError::Invalid(errors) => ApiError::Invalid(errors),
            WriteError::Internal(message) => ApiError::Internal(message),
        }
    }
}

/// The caller, from `Authorization: Bearer <token>`.
pub struct Caller(pub Account);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        db::account_by_token(&state.db, token.trim())
            .await?
            .map(Caller)
            .ok_or(ApiError::Unauthorized)
    }
}

/// The users resource.
pub fn routes(state: ApiState) -> Router {
    let collection = get(list_users).post(create_user);
    let item = get(get_user).patch(update_user).delete(delete_user);
    Router::new()
        .route("/api/users/", collection.clone())
        .route("/api/users", collection)
        .route("/api/users/{id}/", item.clone())
        .route("/api/users/{id}", item)
        .with_state(state)
}

/// The id in the path, if the caller may touch it. An id that is not a
/// number names no user: 404, as for any missing user.
fn target(caller: &Account, raw: &str) -> Result<i64, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ApiError::NotFound)?;
    if caller.may_access(id) {
        Ok(id)
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn list_users(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(db::users_for(&state.db, &caller).await?))
}

async fn create_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<User>), ApiError> {
    if !caller.admin {
        return Err(ApiError::Forbidden);
    }
    let new: NewUser = parse_body(&body).map_err(ApiError::Invalid)?;
    let user = users::create(&state.db, &state.hub, &new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn get_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let id = target(&caller, &id)?;
    db::user(&state.db, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

async fn update_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<User>, ApiError> {
    let id = target(&caller, &id)?;
    let patch: UserPatch = parse_body(&body).map_err(ApiError::Invalid)?;
    Ok(Json(
        users::update(&state.db, &state.hub, id, &patch).await?,
    ))
}

async fn delete_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = target(&caller, &id)?;
    users::delete(&state.db, &state.hub, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
