//! The five permissions of a role (SPEC section 1), stored as a bit set.

/// The permission itself is a wire type (the rules crate's `api`).
pub use roster_shared::api::Permission;

/// The bit of `p` in `roles.permissions`: stored in the database, so a
/// permission's bit never changes (a new one takes the next).
fn bit(p: Permission) -> i64 {
    match p {
        Permission::ManageUsers => 1,
        Permission::RestoreUsers => 1 << 1,
        Permission::ManageRoles => 1 << 2,
        Permission::ManageHierarchy => 1 << 3,
        Permission::ManageSettings => 1 << 4,
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
        self.0 & bit(p) != 0
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
        Permissions(iter.into_iter().fold(0, |bits, p| bits | bit(p)))
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

    #[test]
    fn each_permission_keeps_the_bit_the_database_holds() {
        let bits: Vec<i64> = Permission::ALL
            .into_iter()
            .map(|p| Permissions::from_iter([p]).bits())
            .collect();
        assert_eq!(bits, [1, 2, 4, 8, 16]);
        assert_eq!(
            Permissions::from_bits(0b00101).to_vec(),
            [Permission::ManageUsers, Permission::ManageRoles]
        );
    }
}
