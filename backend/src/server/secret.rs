//! The server's secret key, and the sealing of what must be stored but never
//! in clear: a stored preview's passwords (docs/SERVER.md, "Imports").
//!
//! Sealing is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): a fresh
//! random 24-byte nonce per seal (random nonces of that size never repeat
//! in practice), and associated data naming what the blob belongs to, so a
//! blob copied to another preview does not open there.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The first byte of a sealed blob: the format, should it ever change.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;

/// The environment variable holding the key: 64 hex characters.
pub const KEY_ENV: &str = "ROSTER_SECRET_KEY";

/// 32 secret bytes. Never printed: `Debug` shows none of them.
#[derive(Clone)]
pub struct SecretKey(XChaCha20Poly1305);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    fn from_bytes(bytes: &[u8; 32]) -> SecretKey {
        SecretKey(XChaCha20Poly1305::new(bytes.into()))
    }

    /// A fresh random key.
    pub fn generate() -> anyhow::Result<SecretKey> {
        Ok(SecretKey::from_bytes(&random_bytes()?))
    }

    /// A key written as 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> anyhow::Result<SecretKey> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| anyhow::anyhow!("a secret key is 64 hex characters (32 bytes)"))?;
        Ok(SecretKey::from_bytes(&bytes))
    }

    /// Seals `plain` for `context` (what it belongs to, e.g. a preview's id).
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> anyhow::Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = random_bytes()?;
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`seal`](Self::seal) made for the same `context`; `None`
    /// when it was sealed with another key, for another context, or was
    /// damaged (the AEAD cannot tell these apart, by design).
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (&format, rest) = sealed.split_first()?;
        if format != FORMAT || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .ok()
    }
}

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Where `roster serve` takes its key from (docs/SERVER.md, "The secret key").
pub enum KeySource {
    /// `ROSTER_SECRET_KEY`: what every process of one deployment shares.
    Env(String),
    /// A key file, created with a fresh key if missing.
    File { path: PathBuf, given: bool },
    /// No file to keep it in (an in-memory database): this process only.
    Ephemeral,
}

impl KeySource {
    /// The source for `roster serve`: `ROSTER_SECRET_KEY`, else the file
    /// given, else a file beside the SQLite database, else (PostgreSQL)
    /// `roster.secret-key` in the working directory.
    pub fn choose(
        env: Option<String>,
        file: Option<PathBuf>,
        database_url: &str,
    ) -> anyhow::Result<KeySource> {
        match (env, file) {
            (Some(_), Some(_)) => {
                anyhow::bail!("both {KEY_ENV} and --secret-key-file are given: use one of them")
            }
            (Some(key), None) => Ok(KeySource::Env(key)),
            (None, Some(path)) => Ok(KeySource::File { path, given: true }),
            (None, None) => Ok(match sqlite_path(database_url)? {
                Some(Some(db)) => KeySource::File {
                    path: beside(&db),
                    given: false,
                },
                Some(None) => KeySource::Ephemeral,
                None => KeySource::File {
                    path: PathBuf::from("roster.secret-key"),
                    given: false,
                },
            }),
        }
    }

    /// The key, reading or creating its file. On PostgreSQL a key file
    /// nobody chose is allowed (a single process works) but logged as a
    /// warning: every process of a deployment needs the same key.
    pub fn load(self, database_url: &str) -> anyhow::Result<SecretKey> {
        match self {
            KeySource::Env(text) => {
                SecretKey::from_hex(&text).with_context(|| format!("{KEY_ENV} is not usable"))
            }
            KeySource::File { path, given } => {
                let (key, created) = load_or_create(&path).with_context(|| {
                    if given {
                        String::from("the --secret-key-file is not usable")
                    } else {
                        format!(
                            "no {KEY_ENV} or --secret-key-file, and the key file {} cannot be \
                             used or made here: set {KEY_ENV} (64 hex characters, the same for \
                             every process) or give --secret-key-file",
                            path.display()
                        )
                    }
                })?;
                let postgres = matches!(sqlite_path(database_url), Ok(None));
                if postgres && !given {
                    tracing::warn!(
                        file = %path.display(),
                        "no {KEY_ENV} or --secret-key-file: using a key file of this process; \
                         every process serving this database needs the same key, or a Try Import \
                         answered by one cannot be imported by another"
                    );
                } else if created {
                    tracing::info!(file = %path.display(), "created the secret key file");
                }
                Ok(key)
            }
            KeySource::Ephemeral => SecretKey::generate(),
        }
    }
}

/// `Some(Some(file))` for a SQLite file, `Some(None)` for SQLite in
/// memory, `None` for PostgreSQL.
fn sqlite_path(database_url: &str) -> anyhow::Result<Option<Option<PathBuf>>> {
    use std::str::FromStr;
    if !database_url.starts_with("sqlite:") {
        return Ok(None);
    }
    if database_url.contains(":memory:") {
        return Ok(Some(None));
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .context("cannot read the database URL")?;
    Ok(Some(Some(options.get_filename().to_path_buf())))
}

/// `roster.db` → `roster.db.secret-key`, in the database's folder.
fn beside(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".secret-key");
    PathBuf::from(name)
}

/// Reads the key file, or creates it (0600) with a fresh key. Returns the
/// key and whether the file was made now. Creation is atomic: the key is
/// written to a private temporary file that is then hard-linked to `path`,
/// which fails if another process made `path` first (that key is read).
fn load_or_create(path: &Path) -> anyhow::Result<(SecretKey, bool)> {
    let read = |path: &Path| -> anyhow::Result<SecretKey> {
        check_owner_and_mode(path)?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the secret key file {}", path.display()))?;
        SecretKey::from_hex(&text)
            .with_context(|| format!("the secret key file {} is not usable", path.display()))
    };
    if path.exists() {
        return Ok((read(path)?, false));
    }
    let mut bytes: [u8; 32] = random_bytes()?;
    // A random name, not the PID: a file left by a crash must not block a
    // later start that has the same PID (PID 1 in every container).
    let temporary = {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(
            ".{}.tmp",
            crate::password::hex(&random_bytes::<8>()?)
        ));
        PathBuf::from(name)
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(format!("{}\n", crate::password::hex(&bytes)).as_bytes())?;
        file.sync_all()
    });
    bytes.fill(0);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| format!("cannot create {}", temporary.display()));
    }
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok((read(path)?, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((read(path)?, false)),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Refuses a key file that another user owns or that its group or others
/// can write: whoever can write it chooses the key. One that others can
/// only read is logged (the deployer may mean it, e.g. a group of service
/// accounts).
fn check_owner_and_mode(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read the secret key file {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            anyhow::bail!(
                "the secret key file {} is writable by its group or others (mode {mode:o}): \
                 chmod 600 it",
                path.display()
            );
        }
        let user = rustix::process::geteuid().as_raw();
        if meta.uid() != user {
            anyhow::bail!(
                "the secret key file {} belongs to user {}, not to the user running roster \
                 ({user}): chown it to that user",
                path.display(),
                meta.uid()
            );
        }
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the secret key file is readable by others than its owner (chmod 600 it)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_blob_opens_with_its_key_and_context_only() {
        let key = SecretKey::generate().expect("a key");
        let other = SecretKey::generate().expect("a key");
        let sealed = key.seal(b"preview 7", b"secret-password").expect("sealed");
        assert!(
            !sealed
                .windows(b"secret-password".len())
                .any(|w| w == b"secret-password"),
            "nothing of the clear text shows"
        );
        assert_eq!(
            key.open(b"preview 7", &sealed).as_deref(),
            Some(&b"secret-password"[..])
        );
        assert_eq!(other.open(b"preview 7", &sealed), None, "another key");
        assert_eq!(key.open(b"preview 8", &sealed), None, "another preview");
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert_eq!(key.open(b"preview 7", &damaged), None, "damaged");
        assert_eq!(key.open(b"preview 7", &sealed[..10]), None, "cut short");
        let again = key.seal(b"preview 7", b"secret-password").expect("sealed");
        assert_ne!(sealed, again, "a fresh nonce each time");
    }

    #[test]
    fn a_key_is_64_hex_characters() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let key = SecretKey::from_hex(hex).expect("64 hex characters");
        let same = SecretKey::from_hex(&format!("  {hex}\n")).expect("trimmed");
        let sealed = key.seal(b"x", b"y").expect("sealed");
        assert_eq!(same.open(b"x", &sealed).as_deref(), Some(&b"y"[..]));
        for bad in [
            "",
            "00",
            &hex[..63],
            &format!("{hex}00"),
            &hex.replace('0', "g"),
        ] {
            assert!(SecretKey::from_hex(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format!("{key:?}"), "SecretKey(…)", "never printed");
    }

    #[test]
    fn a_key_file_is_made_once_private_and_read_again() {
        let dir = std::env::temp_dir().join(format!("roster_key_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        let path = dir.join("roster.db.secret-key");
        let _ = std::fs::remove_file(&path);
        let (key, created) = load_or_create(&path).expect("created");
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("the file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
        }
        let (again, created) = load_or_create(&path).expect("read");
        assert!(!created);
        let sealed = key.seal(b"c", b"p").expect("sealed");
        assert_eq!(again.open(b"c", &sealed).as_deref(), Some(&b"p"[..]));
        let left: Vec<_> = std::fs::read_dir(&dir).expect("the folder").collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A fresh, empty folder for one test.
    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("roster_key_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder");
        dir
    }

    /// Security review: the temporary file's name was `<path>.<pid>.tmp`;
    /// one left by a crash (PID 1 in a container every time) blocked every
    /// later start.
    #[test]
    fn a_temporary_file_left_by_a_crash_does_not_block_the_start() {
        let dir = folder("stale");
        let path = dir.join("roster.db.secret-key");
        let stale = dir.join(format!("roster.db.secret-key.{}.tmp", std::process::id()));
        std::fs::write(&stale, "left by a crash").expect("a stale file");
        let (_, created) = load_or_create(&path).expect("created despite the stale file");
        assert!(created);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Security review: a key file another user can write (or owns) lets
    /// that user choose the key; it is refused, with what to do.
    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_write_or_own_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = folder("mode");
        let path = dir.join("roster.db.secret-key");
        let (key, _) = load_or_create(&path).expect("created");
        let chmod = |mode: u32| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod")
        };
        for mode in [0o620, 0o602, 0o666] {
            chmod(mode);
            let error = format!("{:#}", load_or_create(&path).expect_err("refused"));
            assert!(error.contains("writable by"), "{mode:o}: {error}");
            assert!(error.contains("chmod 600"), "{mode:o}: {error}");
        }
        // Readable by the group is only warned about.
        chmod(0o640);
        let (again, _) = load_or_create(&path).expect("readable by the group");
        let sealed = key.seal(b"c", b"p").expect("sealed");
        assert_eq!(again.open(b"c", &sealed).as_deref(), Some(&b"p"[..]));
        // Owned by another user: as root, give it away; otherwise take a
        // file root owns.
        let we_are_root = std::fs::metadata(&dir)
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .expect("the folder we made");
        let foreign = if we_are_root {
            chmod(0o600);
            std::os::unix::fs::chown(&path, Some(65534), None).expect("chown");
            path.clone()
        } else {
            PathBuf::from("/etc/passwd")
        };
        let error = format!("{:#}", load_or_create(&foreign).expect_err("refused"));
        assert!(error.contains("belongs to user"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Security review: on PostgreSQL without a key given, a working
    /// directory where the key file cannot be made stops the start; the
    /// message names what to set instead.
    #[test]
    fn a_key_file_that_cannot_be_made_names_the_way_out() {
        let dir = folder("unwritable");
        let source = KeySource::File {
            path: dir.join("missing-folder/roster.secret-key"),
            given: false,
        };
        let error = format!(
            "{:#}",
            source
                .load("postgres://roster@db/roster")
                .expect_err("refused")
        );
        assert!(error.contains(KEY_ENV), "{error}");
        assert!(error.contains("--secret-key-file"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_key_file_lies_beside_a_sqlite_database() {
        let choose = |url: &str| KeySource::choose(None, None, url).expect("a source");
        assert!(matches!(
            choose("sqlite:///var/lib/roster/roster.db"),
            KeySource::File { path, given: false }
                if path == Path::new("/var/lib/roster/roster.db.secret-key")
        ));
        assert!(matches!(choose("sqlite::memory:"), KeySource::Ephemeral));
        assert!(matches!(
            choose("postgres://roster@db/roster"),
            KeySource::File { path, given: false } if path == Path::new("roster.secret-key")
        ));
        assert!(KeySource::choose(Some("k".into()), Some("f".into()), "sqlite://x.db").is_err());
    }
}
