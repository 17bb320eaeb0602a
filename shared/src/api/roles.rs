//! Roles and their permissions (SPEC sections 1 and 7).

use serde::{Deserialize, Serialize};

/// The five permissions a role may hold; on the wire, their snake_case
/// names (`manage_users`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Users pages and imports ("Site Administration: manage users").
    ManageUsers,
    /// The trash can.
    RestoreUsers,
    ManageRoles,
    ManageHierarchy,
    ManageSettings,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::ManageUsers,
        Permission::RestoreUsers,
        Permission::ManageRoles,
        Permission::ManageHierarchy,
        Permission::ManageSettings,
    ];

    /// The name on the wire, for messages ("your role lacks the
    /// permission manage_users").
    pub fn key(self) -> &'static str {
        match self {
            Permission::ManageUsers => "manage_users",
            Permission::RestoreUsers => "restore_users",
            Permission::ManageRoles => "manage_roles",
            Permission::ManageHierarchy => "manage_hierarchy",
            Permission::ManageSettings => "manage_settings",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleOut {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleList {
    pub roles: Vec<RoleOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInput {
    pub name: String,
    pub permissions: Vec<Permission>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_is_its_key_on_the_wire() {
        for p in Permission::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.key()));
            assert_eq!(serde_json::from_str::<Permission>(&json).unwrap(), p);
        }
        assert!(serde_json::from_str::<Permission>("\"manage_everything\"").is_err());
    }
}
