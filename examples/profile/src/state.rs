//! The profile's state: one user is one channel context.

use serde::{Deserialize, Serialize};

/// A user's profile, as every window watching it sees it.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// Who a token acts for: its user, and whether it may act for every user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user_id: i64,
    pub admin: bool,
}

impl Account {
    /// Deny by default: an account may see and write its own user, an
    /// admin every user.
    pub fn may_access(&self, user_id: i64) -> bool {
        self.admin || self.user_id == user_id
    }
}
