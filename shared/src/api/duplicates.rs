//! `GET /api/users/duplicates?page=`: groups of active users who share a
//! `possible_duplicate` key (SPEC 4b: folded first + last name and email),
//! a page of groups at a time.

use serde::{Deserialize, Serialize};

/// One page of groups, in the order of their key (folded first name, last
/// name, email).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicatePage {
    /// The page shown, from 1.
    pub page: u32,
    /// Groups a page holds.
    pub per_page: u32,
    /// Groups in the whole directory.
    pub groups_total: u64,
    pub groups: Vec<DuplicateGroup>,
}

/// Active users who share first name, last name and email (folded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateGroup {
    /// How many active users the group has.
    pub count: u64,
    /// The group's users, oldest first; at most 50 of them (`count` says
    /// how many there are).
    pub users: Vec<DuplicateUser>,
}

/// A user of a group, with what tells two of them apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateUser {
    /// The directory's id (`/api/users/{id}`).
    pub id: i64,
    pub username: String,
    pub user_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role_name: String,
    /// The paths of the user's hierarchy nodes (`Root/School/Class`).
    pub hierarchy_paths: Vec<String>,
    /// The last change, RFC 3339.
    pub updated_at: String,
}
