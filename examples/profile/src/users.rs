//! The users resource's rules: what a client may send, how it is checked,
//! and the writes, each of which commits its transaction and then a hub
//! batch so that every window on that user sees the change.
//!
//! The input types and the error body derive `rxd::TypeScript`; `makefrontend`
//! writes them to `profile.api.ts`, so the page's `fetch` calls are typed
//! from these structs.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::{self, Db};
use crate::state::User;

/// The longest first or last name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest email address, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// A new user: every field is required.
#[derive(Debug, Clone, Deserialize, rxd::TypeScript)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A change to a user: absent fields stay as they are; `null` is refused
/// (a name cannot be unset).
#[derive(Debug, Clone, Default, Deserialize, rxd::TypeScript)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, deserialize_with = "present")]
    #[rxd(ts_input = "string")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[rxd(ts_input = "string")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[rxd(ts_input = "string")]
    pub email: Option<String>,
}

/// A field present in the body is a string: `null` is a type error.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// Where a validation error belongs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, rxd::TypeScript,
)]
#[serde(rename_all = "snake_case")]
pub enum UserField {
    FirstName,
    LastName,
    Email,
    /// The body as a whole: not JSON, not an object, an unknown field.
    NonFieldErrors,
}

impl UserField {
    /// The field a JSON property names, if any.
    fn from_name(name: &str) -> Option<UserField> {
        match name {
            "first_name" => Some(UserField::FirstName),
            "last_name" => Some(UserField::LastName),
            "email" => Some(UserField::Email),
            _ => None,
        }
    }
}

/// The body of a 400: one message per field that was refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, rxd::TypeScript)]
pub struct ValidationErrors {
    pub errors: BTreeMap<UserField, String>,
}

impl ValidationErrors {
    fn one(field: UserField, message: impl Into<String>) -> ValidationErrors {
        let mut errors = ValidationErrors::default();
        errors.add(field, message);
        errors
    }

    fn add(&mut self, field: UserField, message: impl Into<String>) {
        // The first problem of a field is the one worth fixing first.
        self.errors.entry(field).or_insert_with(|| message.into());
    }

    fn into_result(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// The body of every other refusal (401, 403, 404, 500).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rxd::TypeScript)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `not_found` or `internal`.
    pub error: String,
}

/// Parses a request body, attributing serde's complaint to the field it is
/// about: `{"first_name": 5}` is a `first_name` error, a missing field is
/// that field's error, anything else (not JSON, an unknown field) is a
/// `non_field_errors` one.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationErrors> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let parsed: T = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let path = error.path().to_string();
        let message = without_position(&error.inner().to_string());
        if let Some(field) = UserField::from_name(&path) {
            return ValidationErrors::one(field, message);
        }
        if let Some(field) = missing_field(&message) {
            return ValidationErrors::one(field, "is required");
        }
        ValidationErrors::one(UserField::NonFieldErrors, message)
    })?;
    // Trailing characters after the object are an error too.
    json.end()
        .map_err(|e| ValidationErrors::one(UserField::NonFieldErrors, e.to_string()))?;
    Ok(parsed)
}

/// serde_json's message without its ` at line 1 column 7`.
fn without_position(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => message.to_owned(),
    }
}

/// The field of serde's "missing field `x`".
fn missing_field(message: &str) -> Option<UserField> {
    let name = message.strip_prefix("missing field `")?.strip_suffix('`')?;
    UserField::from_name(name)
}

fn check_name(field: UserField, value: &str, errors: &mut ValidationErrors) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.add(field, "may not be blank");
    } else if value.chars().count() > MAX_NAME_CHARS {
        errors.add(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        );
    }
    value.to_owned()
}

/// An address shaped `local@domain.tld`: one `@`, no spaces, a dot inside
/// the domain. Whether it receives mail is not this check's business.
fn check_email(value: &str, errors: &mut ValidationErrors) -> String {
    let value = value.trim();
    let shaped = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain
                .split_once('.')
                .is_some_and(|(name, _)| !name.is_empty())
            && !domain.ends_with('.')
    }) && !value.chars().any(char::is_whitespace);
    if value.is_empty() {
        errors.add(UserField::Email, "may not be blank");
    } else if value.chars().count() > MAX_EMAIL_CHARS {
        errors.add(
            UserField::Email,
            format!("must be at most {MAX_EMAIL_CHARS} characters"),
        );
    } else if !shaped {
        errors.add(UserField::Email, "must be an email address");
    }
    value.to_owned()
}

impl NewUser {
    /// The user's fields trimmed, or every field's error at once.
    pub fn validate(&self) -> Result<NewUser, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let valid = NewUser {
            first_name: check_name(UserField::FirstName, &self.first_name, &mut errors),
            last_name: check_name(UserField::LastName, &self.last_name, &mut errors),
            email: check_email(&self.email, &mut errors),
        };
        errors.into_result().map(|()| valid)
    }
}

impl UserPatch {
    /// The present fields trimmed, or every field's error at once.
    pub fn validate(&self) -> Result<UserPatch, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let valid = UserPatch {
            first_name: self
                .first_name
                .as_deref()
                .map(|v| check_name(UserField::FirstName, v, &mut errors)),
            last_name: self
                .last_name
                .as_deref()
                .map(|v| check_name(UserField::LastName, v, &mut errors)),
            email: self.email.as_deref().map(|v| check_email(v, &mut errors)),
        };
        errors.into_result().map(|()| valid)
    }
}

/// Why a write failed.
#[derive(Debug)]
pub enum WriteError {
    /// No such user.
    NotFound,
    /// Field errors.
    Invalid(ValidationErrors),
    /// The server failed.
    Internal(String),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        // The one constraint a valid body can break: another user's email.
        if let sqlx::Error::Database(ref db) = error {
            if db.is_unique_violation() {
                return WriteError::Invalid(ValidationErrors::one(
                    UserField::Email,
                    "is already taken",
                ));
            }
        }
        WriteError::Internal(error.to_string())
    }
}

impl From<rxd::CommitError> for WriteError {
    fn from(error: rxd::CommitError) -> Self {
        WriteError::Internal(error.to_string())
    }
}

impl From<rxd::state::StateError> for WriteError {
    fn from(error: rxd::state::StateError) -> Self {
        WriteError::Internal(error.to_string())
    }
}

impl From<ValidationErrors> for WriteError {
    fn from(errors: ValidationErrors) -> Self {
        WriteError::Invalid(errors)
    }
}

/// Commits the transaction, then a batch with the user as it now is.
async fn publish(
    hub: &rxd::Hub,
    mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
) -> Result<User, WriteError> {
    let user = db::user(&mut *tx, id).await?.ok_or(WriteError::NotFound)?;
    let mut batch = hub.batch();
    batch.save(&user)?;
    tx.commit().await?;
    batch.commit().await?;
    Ok(user)
}

/// Creates a user.
pub async fn create(db: &Db, hub: &rxd::Hub, new: &NewUser) -> Result<User, WriteError> {
    let new = new.validate()?;
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (first_name, last_name, email) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(&new.first_name)
    .bind(&new.last_name)
    .bind(&new.email)
    .fetch_one(&mut *tx)
    .await?;
    publish(hub, tx, id).await
}

/// Changes the fields present in `patch`.
pub async fn update(
    db: &Db,
    hub: &rxd::Hub,
    id: i64,
    patch: &UserPatch,
) -> Result<User, WriteError> {
    let patch = patch.validate()?;
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE users SET first_name = COALESCE(?, first_name),
             last_name = COALESCE(?, last_name), email = COALESCE(?, email)
         WHERE id = ?",
    )
    .bind(&patch.first_name)
    .bind(&patch.last_name)
    .bind(&patch.email)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(WriteError::NotFound);
    }
    publish(hub, tx, id).await
}

/// Deletes a user; windows watching it see their state become `null`.
pub async fn delete(db: &Db, hub: &rxd::Hub, id: i64) -> Result<(), WriteError> {
    let mut tx = db.begin().await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(WriteError::NotFound);
    }
    let mut batch = hub.batch();
    batch.delete::<User>(id);
    tx.commit().await?;
    batch.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(pairs: &[(UserField, &str)]) -> ValidationErrors {
        ValidationErrors {
            errors: pairs.iter().map(|(f, m)| (*f, (*m).to_owned())).collect(),
        }
    }

    #[test]
    fn a_patch_reports_every_bad_field_at_once() {
        let patch = UserPatch {
            first_name: Some("  ".into()),
            last_name: Some("x".repeat(MAX_NAME_CHARS + 1)),
            email: Some("not-an-email".into()),
        };
        assert_eq!(
            patch.validate().unwrap_err(),
            errors(&[
                (UserField::FirstName, "may not be blank"),
                (UserField::LastName, "must be at most 100 characters"),
                (UserField::Email, "must be an email address"),
            ])
        );
    }

    #[test]
    fn valid_values_are_trimmed_and_limits_count_characters() {
        let patch = UserPatch {
            first_name: Some("  Ada ".into()),
            last_name: Some("é".repeat(MAX_NAME_CHARS)),
            email: Some(" a@b.co ".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(patch.first_name.as_deref(), Some("Ada"));
        assert_eq!(patch.email.as_deref(), Some("a@b.co"));
    }

    #[test]
    fn email_shapes() {
        for bad in [
            "a@b", "@b.co", "a@.co", "a@b.", "a b@c.co", "a@b@c.co", "abc",
        ] {
            let mut e = ValidationErrors::default();
            check_email(bad, &mut e);
            assert!(!e.errors.is_empty(), "{bad} passed");
        }
        for good in ["a@b.co", "first.last+tag@sub.example.org"] {
            let mut e = ValidationErrors::default();
            check_email(good, &mut e);
            assert!(e.errors.is_empty(), "{good} failed: {e:?}");
        }
    }

    #[test]
    fn body_errors_name_their_field() {
        let e = parse_body::<UserPatch>(br#"{"first_name": 5}"#).unwrap_err();
        assert_eq!(e.errors.keys().collect::<Vec<_>>(), [&UserField::FirstName]);
        let e = parse_body::<UserPatch>(br#"{"last_name": null}"#).unwrap_err();
        assert_eq!(e.errors.keys().collect::<Vec<_>>(), [&UserField::LastName]);
        let e = parse_body::<NewUser>(br#"{"first_name": "A", "last_name": "B"}"#).unwrap_err();
        assert_eq!(e, errors(&[(UserField::Email, "is required")]));
        let e = parse_body::<UserPatch>(br#"{"nickname": "x"}"#).unwrap_err();
        assert_eq!(
            e.errors.keys().collect::<Vec<_>>(),
            [&UserField::NonFieldErrors]
        );
        let e = parse_body::<UserPatch>(b"{} trailing").unwrap_err();
        assert!(e.errors.contains_key(&UserField::NonFieldErrors));
        let empty = parse_body::<UserPatch>(b"{}").unwrap();
        assert!(empty.first_name.is_none() && empty.email.is_none());
    }
}
