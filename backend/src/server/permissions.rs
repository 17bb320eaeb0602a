//! The five permissions of a role (SPEC section 1), stored as a bit set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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

    fn bit(self) -> i64 {
        1 << (self as u32)
    }

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

/// A set of permissions; the database column `roles.permissions` holds
/// [`Permissions::bits`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions(i64);

impl Permissions {
    pub const ALL_BITS: i64 = 0b11111;

    pub fn all() -> Self {
        Permissions(Self::ALL_BITS)
    }

    /// Unknown bits (from a newer version) are ignored.
    pub fn from_bits(bits: i64) -> Self {
        Permissions(bits & Self::ALL_BITS)
    }

    pub fn bits(self) -> i64 {
        self.0
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether this set holds every permission of `other`.
    pub fn covers(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn to_vec(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.contains(*p))
            .collect()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Permissions(iter.into_iter().fold(0, |bits, p| bits | p.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_is_a_subset_test() {
        let admin = Permissions::all();
        let users: Permissions = [Permission::ManageUsers].into_iter().collect();
        assert!(admin.covers(users));
        assert!(!users.covers(admin));
        assert_eq!(admin.to_vec().len(), 5);
        assert_eq!(Permissions::from_bits(admin.bits()), admin);
    }
}
