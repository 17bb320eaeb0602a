//! Argon2id password hashes (SPEC section 7). Hashing runs on the blocking
//! pool: it takes tens of milliseconds and 19 MiB by design, so how many run
//! at once in the whole process is bounded ([`hashing_permit`]).

use std::sync::LazyLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hashes and verifications running at once, process-wide: two per core.
/// Unbounded, 200 parallel sign-ins took 200 × 19 MiB.
static HASHING: LazyLock<std::sync::Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::sync::Arc::new(Semaphore::new(2 * cores))
});

/// How long a request waits for a free hasher before it is answered 503.
const HASH_WAIT: Duration = Duration::from_secs(3);

/// A hash could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hasher stayed busy for [`HASH_WAIT`]: try again shortly.
    #[error("the server is busy checking other passwords")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// A hasher, waiting as long as it takes (the import commit's hashing,
/// which must not fail because sign-ins are busy).
pub async fn hashing_permit() -> OwnedSemaphorePermit {
    loop {
        // The semaphore is never closed; the loop only satisfies the type.
        if let Ok(permit) = HASHING.clone().acquire_owned().await {
            return permit;
        }
    }
}

/// A hasher within [`HASH_WAIT`], else [`HashError::Busy`].
async fn hashing_permit_soon() -> Result<OwnedSemaphorePermit, HashError> {
    match tokio::time::timeout(HASH_WAIT, HASHING.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(HashError::Busy),
    }
}

/// The longest password accepted anywhere (the rules crate's field length):
/// longer ones are refused before any hashing.
pub const MAX_LEN: usize = roster_shared::fields::Field::Password.max_len();

/// Whether `password` is on the list of common passwords shipped with the
/// server (the `passwords` crate's, about 100,000), in any letter case.
pub fn is_common(password: &str) -> bool {
    use passwords::analyzer::is_common_password;
    is_common_password(password) || is_common_password(password.to_lowercase())
}

/// Argon2id cost. The default is OWASP's first recommendation: 19 MiB, two
/// passes, one lane. Tests may lower it; the server never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub passes: u32,
    /// The shortest password accepted (SPEC section 4: 8).
    pub min_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            memory_kib: 19 * 1024,
            passes: 2,
            min_len: 8,
        }
    }
}

impl PasswordPolicy {
    fn argon2(&self) -> Result<Argon2<'static>, argon2::Error> {
        let params = Params::new(self.memory_kib, self.passes, 1, None)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// The PHC string of `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> anyhow::Result<String> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| anyhow::anyhow!("cannot encode a salt: {e}"))?;
        let argon2 = self
            .argon2()
            .map_err(|e| anyhow::anyhow!("bad Argon2 parameters: {e}"))?;
        let hash = argon2
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches `phc`; a malformed hash matches nothing.
    /// The parameters come from the hash itself, so older costs still verify.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// [`PasswordPolicy::hash`] on the blocking pool, once a hasher is free.
    pub async fn hash_async(&self, password: String) -> Result<String, HashError> {
        let policy = *self;
        let permit = hashing_permit_soon().await?;
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            policy.hash(&password)
        })
        .await
        .map_err(anyhow::Error::from)?;
        Ok(hashed?)
    }

    /// [`PasswordPolicy::verify`] on the blocking pool, once a hasher is
    /// free. With no hash (unknown user, or a user without a password) a
    /// dummy hash is checked so the answer takes as long, and `false` is
    /// returned.
    pub async fn verify_async(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, HashError> {
        let policy = *self;
        let permit = hashing_permit_soon().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match phc {
                Some(phc) => policy.verify(&password, &phc),
                None => {
                    let _ = policy.hash(&password);
                    false
                }
            }
        })
        .await
        .map_err(|e| HashError::Failed(e.into()))
    }
}

/// `n` random bytes as lowercase hex: session ids, CSRF tokens, passwords.
pub fn random_hex(n: usize) -> anyhow::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A generated password for the first `admin`: 20 characters from an
/// alphabet without look-alikes (about 115 bits).
pub fn generate_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % ALPHABET.len();
        if usize::from(byte[0]) < limit {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_argon2id_19_mib_two_passes() {
        let phc = PasswordPolicy::default().hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(PasswordPolicy::default().verify("correct horse", &phc));
        assert!(!PasswordPolicy::default().verify("wrong horse", &phc));
        assert!(!PasswordPolicy::default().verify("x", "not a hash"));
    }

    #[test]
    fn common_passwords_are_known_in_any_case() {
        assert!(is_common("password1"));
        assert!(is_common("PassWord1"));
        assert!(is_common("qwertyuiop"));
        assert!(!is_common("violet-anchor-57-drift"));
    }

    #[tokio::test]
    async fn at_most_two_hashers_per_core_run_at_once() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let held: Vec<_> = hold_hashers(2 * cores).await;
        let policy = PasswordPolicy {
            memory_kib: 64,
            passes: 1,
            min_len: 8,
        };
        let started = std::time::Instant::now();
        let busy = policy.hash_async("violet-anchor".into()).await;
        assert!(matches!(busy, Err(HashError::Busy)), "{busy:?}");
        assert!(started.elapsed() >= HASH_WAIT);
        drop(held);
        assert!(policy.hash_async("violet-anchor".into()).await.is_ok());
    }

    async fn hold_hashers(n: usize) -> Vec<OwnedSemaphorePermit> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(hashing_permit().await);
        }
        held
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate_password().unwrap();
        assert_eq!(a.chars().count(), 20);
        assert_ne!(a, generate_password().unwrap());
    }
}
