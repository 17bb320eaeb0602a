//! Case- and accent-insensitive search that an index can serve on both
//! databases: each user gets a set of normalised *terms* (table
//! `user_search_terms`, primary key `(term, sort_key, user_pk)`), and a query
//! word matches a term by prefix, which is a range scan on that key:
//! `term >= 'mul' AND term < 'mul\u{10FFFF}'`. Users in the trash can have
//! no terms (moving thousands there must not rewrite ten times as many
//! index entries): the trash can's search builds each one's terms here and
//! tests them with the same range ([`Searched::matches`]).

/// The folding lives in the rules crate, which also compares names with it
/// (SPEC section 4b's "normalised").
pub use roster_shared::text::normalize;

/// Longest query word or term kept, in characters.
const MAX_TERM_CHARS: usize = 100;
/// Most words of one query that are used.
pub const MAX_QUERY_WORDS: usize = 6;

fn clip(s: &str) -> String {
    s.chars().take(MAX_TERM_CHARS).collect()
}

/// The terms of one user: every searched field whole, and each word of it
/// (split at anything that is not a letter or digit), all normalised.
pub fn terms(fields: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for field in fields {
        let whole = normalize(field.trim());
        if whole.is_empty() {
            continue;
        }
        for word in whole.split(|c: char| !c.is_alphanumeric()) {
            if !word.is_empty() {
                out.push(clip(word));
            }
        }
        out.push(clip(&whole));
    }
    out.sort();
    out.dedup();
    out
}

/// The words of a query, normalised: each must be the prefix of some term.
pub fn query_words(q: &str) -> Vec<String> {
    let mut words: Vec<String> = normalize(q)
        .split_whitespace()
        .map(clip)
        .filter(|w| !w.is_empty())
        .collect();
    words.dedup();
    words.truncate(MAX_QUERY_WORDS);
    words
}

/// The exclusive upper end of the range of terms that start with `prefix`.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = String::with_capacity(prefix.len() + 4);
    end.push_str(prefix);
    end.push(char::MAX);
    end
}

/// The key users are listed in: last name, first name, accent-free.
pub fn sort_key(first_name: &str, last_name: &str, username: &str) -> String {
    format!(
        "{}\u{1}{}\u{1}{}",
        normalize(last_name),
        normalize(first_name),
        normalize(username)
    )
}

/// The fields a user is found and listed by, as stored: what their
/// `users.sort_key` and `user_search_terms` rows are made of.
#[derive(Clone, Copy)]
pub struct Searched<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub user_id: &'a str,
}

impl Searched<'_> {
    /// The user's [`sort_key`].
    pub fn sort_key(&self) -> String {
        sort_key(self.first_name, self.last_name, self.username)
    }

    /// The user's [`terms`].
    pub fn terms(&self) -> Vec<String> {
        terms(&[
            self.first_name,
            self.last_name,
            self.username,
            self.email,
            self.user_id,
        ])
    }

    /// Whether `other` gives the same sort key and terms: a write from one
    /// to the other keeps the user's `user_search_terms` rows as they are.
    pub fn same_rows(&self, other: &Searched) -> bool {
        // The same values give the same rows without building them.
        [
            self.first_name,
            self.last_name,
            self.username,
            self.email,
            self.user_id,
        ] == [
            other.first_name,
            other.last_name,
            other.username,
            other.email,
            other.user_id,
        ] || (self.sort_key(), self.terms()) == (other.sort_key(), other.terms())
    }

    /// Whether every query word begins one of the user's [`terms`]: what
    /// the searches of `user_search_terms` find, for a user who has no
    /// rows there (the trash can).
    pub fn matches(&self, words: &[String]) -> bool {
        let terms = self.terms();
        words
            .iter()
            .all(|word| terms.iter().any(|term| in_prefix_range(term, word)))
    }
}

/// One `user_search_terms` row (`db::users::insert_search_terms` writes
/// them): a term of a user, with the user's sort key, so a search never
/// visits `users`. Only users out of the trash can have them: the trash
/// can's search tests its users with [`Searched::matches`] instead.
pub struct TermRow {
    pub term: String,
    pub user_pk: i64,
    pub sort_key: String,
}

/// Appends the `user_search_terms` rows of one user out of the trash can:
/// the one place they are built, for a user written by a form, an import,
/// an undo or a restore.
pub fn add_term_rows(out: &mut Vec<TermRow>, user_pk: i64, user: &Searched) {
    let sort_key = user.sort_key();
    out.extend(user.terms().into_iter().map(|term| TermRow {
        term,
        user_pk,
        sort_key: sort_key.clone(),
    }));
}

/// Whether `term` lies in the range a search reads for `word`, `word` to
/// [`prefix_end`] in byte order (as both databases compare the terms):
/// the term begins with the word, and not with it and then `char::MAX`.
fn in_prefix_range(term: &str, word: &str) -> bool {
    term.strip_prefix(word)
        .is_some_and(|rest| !rest.starts_with(char::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_hold_words_and_whole_values() {
        let t = terms(&["Anna-Lena", "van der Berg", "a.berg@Example.com"]);
        for want in [
            "anna",
            "lena",
            "anna-lena",
            "berg",
            "van der berg",
            "a.berg@example.com",
        ] {
            assert!(t.contains(&want.to_string()), "{want} missing from {t:?}");
        }
    }

    #[test]
    fn a_user_matches_as_the_terms_range_finds_them() {
        let user = Searched {
            first_name: "Zoë",
            last_name: "van der Berg",
            username: "ZBerg",
            email: "z.berg@Example.com",
            user_id: "00417",
        };
        let words = |q: &str| query_words(q);
        for q in [
            "zo",
            "ZOE BERG",
            "van der",
            "zberg",
            "z.berg@ex",
            "004",
            "berg zo",
        ] {
            assert!(user.matches(&words(q)), "{q} should match");
        }
        for q in ["zoey", "berg anna", "417", "example.org"] {
            assert!(!user.matches(&words(q)), "{q} should not match");
        }
        // The same set as the range `word..prefix_end(word)`, the edge too.
        for (term, word) in [
            ("ab", "ab"),
            ("abc", "ab"),
            ("ab\u{10FFFF}", "ab"),
            ("b", "ab"),
        ] {
            let in_range = term >= word && term < prefix_end(word).as_str();
            assert_eq!(in_prefix_range(term, word), in_range, "{term:?} {word:?}");
        }
    }

    #[test]
    fn prefix_range_contains_the_prefixed_terms() {
        let end = prefix_end("mul");
        assert!("muller" < end.as_str() && "muller" >= "mul");
        assert!("mum" > end.as_str());
        assert_eq!(query_words("  Müller   ANNA "), vec!["muller", "anna"]);
    }
}
