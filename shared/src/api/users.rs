//! Users and the trash can (SPEC sections 1 and 9).

use serde::{Deserialize, Serialize};

/// Where the server stops counting a search's matches: past it, `total`
/// says "at least" (docs/SERVER.md "Search").
pub const TOTAL_CAP: i64 = 10_000;

/// A user as the API shows it. No password or hash, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserOut {
    /// The directory's own id, used in URLs.
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    /// The second identifier (SPEC section 1), compared exactly.
    pub user_id: String,
    pub role_id: i64,
    pub hierarchy_ids: Vec<i64>,
    pub special_needs: Option<bool>,
    pub sync_key: Option<String>,
    pub time_zone: String,
    /// Whether the user can sign in at all.
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Set for a user in the trash can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// When a user in the trash can is deleted for good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_at: Option<String>,
}

impl UserOut {
    /// "First Last", for the pages.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// A user to create, or the new state of one (PUT replaces every field;
/// only `password` may be left out to keep the current one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInput {
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub user_id: String,
    /// Left out or null: no password on create (nobody can sign in as the
    /// user), unchanged on update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub role_id: i64,
    /// At least one hierarchy node.
    pub hierarchy_ids: Vec<i64>,
    #[serde(default)]
    pub special_needs: Option<bool>,
    #[serde(default)]
    pub sync_key: Option<String>,
    /// An IANA name; left out: the site's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl From<&UserOut> for UserInput {
    /// The user as a PUT body, unchanged (the password kept).
    fn from(user: &UserOut) -> Self {
        UserInput {
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            user_id: user.user_id.clone(),
            password: None,
            role_id: user.role_id,
            hierarchy_ids: user.hierarchy_ids.clone(),
            special_needs: user.special_needs,
            sync_key: user.sync_key.clone(),
            time_zone: Some(user.time_zone.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPage {
    pub users: Vec<UserOut>,
    /// How many users match in all; when `total_is_lower_bound`, at least
    /// this many: one word counts up to [`TOTAL_CAP`] matches, several
    /// words what their bounded seek found (`anna kowa`: "625+"), never
    /// more than [`TOTAL_CAP`].
    pub total: i64,
    /// `total` is a lower bound (shown as "10,000+", "625+"): a broad
    /// search is not counted to its end, so that its cost stays that of
    /// its page.
    pub total_is_lower_bound: bool,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndedSessions {
    /// How many sessions ended.
    pub ended: u64,
}

/// The query of `GET /api/users` and `GET /api/trash`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct SearchParams {
    /// Words that each must begin a first name, last name, username, email
    /// or user ID (or a word of one), ignoring case and accents.
    #[serde(default)]
    pub q: String,
    /// 1-based page number.
    #[serde(default = "first_page")]
    pub page: u32,
    /// Users per page, 1 to 200 (default 50).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
}

fn first_page() -> u32 {
    1
}

fn default_per_page() -> u32 {
    50
}

/// The query of `GET /api/users/export.xlsx`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ExportParams {
    /// The Users page's search: words that each must begin a first name,
    /// last name, username, email or user ID; empty for everyone.
    #[serde(default)]
    pub q: String,
    /// The start node: Sub-level-1…5 name the path below it, and only users
    /// with a membership at most five levels below it are written. The
    /// root when left out.
    pub node: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserOut {
        UserOut {
            id: 7,
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            username: "ada".into(),
            email: "ada@example.org".into(),
            user_id: "007".into(),
            role_id: 2,
            hierarchy_ids: vec![1, 3],
            special_needs: None,
            sync_key: None,
            time_zone: "Europe/London".into(),
            has_password: true,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-02T00:00:00Z".into(),
            deleted_at: None,
            purge_at: None,
        }
    }

    #[test]
    fn an_active_user_has_no_trash_keys_and_reads_back_the_same() {
        let json = serde_json::to_value(user()).unwrap();
        assert!(json.get("deleted_at").is_none() && json.get("purge_at").is_none());
        assert_eq!(json["special_needs"], serde_json::Value::Null);
        assert_eq!(serde_json::from_value::<UserOut>(json).unwrap(), user());
    }

    #[test]
    fn a_user_as_a_put_body_keeps_the_password_by_leaving_it_out() {
        let input = UserInput::from(&user());
        let json = serde_json::to_value(&input).unwrap();
        assert!(json.get("password").is_none());
        assert_eq!(json["time_zone"], "Europe/London");
        assert_eq!(json["hierarchy_ids"], serde_json::json!([1, 3]));
        assert_eq!(serde_json::from_value::<UserInput>(json).unwrap(), input);
        assert_eq!(user().full_name(), "Ada Lovelace");
    }
}
