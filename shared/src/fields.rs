//! The import fields of SPEC section 2: one table that mapping, rules and the
//! report all read, so a field's label, length and synonyms live in one place.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A column an import can fill. Role and start hierarchy are not fields: they
/// are chosen once per import. In JSON a field is its [`Field::key`] (serde's
/// own renaming would say `sub_level1`, a second spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    FirstName,
    LastName,
    Username,
    Email,
    UserId,
    Password,
    SubLevel1,
    SubLevel2,
    SubLevel3,
    SubLevel4,
    SubLevel5,
    SpecialNeeds,
    SyncKey,
    TimeZone,
}

impl Field {
    /// Every field, in the order of SPEC section 2 (also the report's order).
    pub const ALL: [Field; 14] = [
        Field::FirstName,
        Field::LastName,
        Field::Username,
        Field::Email,
        Field::UserId,
        Field::Password,
        Field::SubLevel1,
        Field::SubLevel2,
        Field::SubLevel3,
        Field::SubLevel4,
        Field::SubLevel5,
        Field::SpecialNeeds,
        Field::SyncKey,
        Field::TimeZone,
    ];

    /// Every field's [`Field::key`], in the order of [`Field::ALL`].
    pub const KEYS: [&'static str; 14] = {
        let mut keys = [""; 14];
        let mut i = 0;
        while i < keys.len() {
            keys[i] = Field::ALL[i].key();
            i += 1;
        }
        keys
    };

    /// The sub-level fields, level 1 first.
    pub const SUB_LEVELS: [Field; 5] = [
        Field::SubLevel1,
        Field::SubLevel2,
        Field::SubLevel3,
        Field::SubLevel4,
        Field::SubLevel5,
    ];

    /// Position in [`Field::ALL`]; rows store their values in this order.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The key used in JSON, in the API and on the command line
    /// (`first_name`, `sub_level_1`): the one spelling of SPEC section 2.
    pub const fn key(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Username => "username",
            Field::Email => "email",
            Field::UserId => "user_id",
            Field::Password => "password",
            Field::SubLevel1 => "sub_level_1",
            Field::SubLevel2 => "sub_level_2",
            Field::SubLevel3 => "sub_level_3",
            Field::SubLevel4 => "sub_level_4",
            Field::SubLevel5 => "sub_level_5",
            Field::SpecialNeeds => "special_needs",
            Field::SyncKey => "sync_key",
            Field::TimeZone => "time_zone",
        }
    }

    /// The label that starts every message about this field.
    pub const fn label(self) -> &'static str {
        match self {
            Field::FirstName => "First Name",
            Field::LastName => "Last Name",
            Field::Username => "Username",
            Field::Email => "Email",
            Field::UserId => "User ID",
            Field::Password => "Password",
            Field::SubLevel1 => "Sub-level-1",
            Field::SubLevel2 => "Sub-level-2",
            Field::SubLevel3 => "Sub-level-3",
            Field::SubLevel4 => "Sub-level-4",
            Field::SubLevel5 => "Sub-level-5",
            Field::SpecialNeeds => "Special Needs",
            Field::SyncKey => "Synchronisation Key",
            Field::TimeZone => "Time Zone",
        }
    }

    pub const fn is_required(self) -> bool {
        matches!(
            self,
            Field::FirstName | Field::LastName | Field::Username | Field::Email | Field::UserId
        )
    }

    /// Names are trimmed silently; every other value is taken exactly.
    pub const fn is_name(self) -> bool {
        matches!(self, Field::FirstName | Field::LastName)
    }

    /// Columns whose values identify something: a date there is a typing
    /// accident (Excel turned `1-12` into a date), so it is `wrong_type`.
    pub const fn is_identifier(self) -> bool {
        matches!(self, Field::Username | Field::UserId | Field::SyncKey)
    }

    /// Longest value allowed, in Unicode scalar values.
    pub const fn max_len(self) -> usize {
        match self {
            Field::FirstName | Field::LastName | Field::Username | Field::UserId => 100,
            Field::Email => 254,
            Field::Password => 128,
            _ => 255,
        }
    }

    /// Header texts that suggest this field, before normalisation
    /// (see [`crate::mapping::normalise_header`]).
    pub const fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::FirstName => &["first name", "firstname", "given name", "forename"],
            Field::LastName => &["last name", "lastname", "surname", "family name"],
            Field::Username => &["username", "user name", "login"],
            Field::Email => &["email", "e-mail", "email address", "mail"],
            Field::UserId => &["userid", "user id", "id", "student number", "employee id"],
            Field::Password => &["password"],
            Field::SubLevel1 => &["sub-level-1", "sub level 1", "sub-hierarchy"],
            Field::SubLevel2 => &["sub-level-2", "sub level 2"],
            Field::SubLevel3 => &["sub-level-3", "sub level 3"],
            Field::SubLevel4 => &["sub-level-4", "sub level 4"],
            Field::SubLevel5 => &["sub-level-5", "sub level 5"],
            Field::SpecialNeeds => &["special needs"],
            Field::SyncKey => &["synchronisation key", "synchronization key", "sync key"],
            Field::TimeZone => &["time zone", "timezone"],
        }
    }

    /// The field with this JSON key, if any.
    pub fn from_key(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == key)
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl de::Visitor<'_> for KeyVisitor {
            type Value = Field;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field key such as `first_name`")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                Field::from_key(key).ok_or_else(|| E::unknown_variant(key, &Field::KEYS))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spells_every_field_by_its_key() {
        for field in Field::ALL {
            let json = serde_json::to_string(&field).unwrap();
            assert_eq!(json, format!("\"{}\"", field.key()));
            assert_eq!(serde_json::from_str::<Field>(&json).unwrap(), field);
        }
        assert_eq!(Field::KEYS[6], "sub_level_1");
        // As a map key too (the report's `mapping`).
        let mapping = std::collections::BTreeMap::from([(Field::SubLevel1, "School")]);
        let json = serde_json::to_string(&mapping).unwrap();
        assert_eq!(json, r#"{"sub_level_1":"School"}"#);
        let back: std::collections::BTreeMap<Field, String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[&Field::SubLevel1], "School");
    }

    #[test]
    fn serdes_own_spelling_is_not_a_second_one() {
        let e = serde_json::from_str::<Field>(r#""sub_level1""#).unwrap_err();
        assert!(
            e.to_string().contains("unknown variant `sub_level1`"),
            "{e}"
        );
        assert!(e.to_string().contains("sub_level_1"), "{e}");
    }
}
