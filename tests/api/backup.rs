//! `roster admin backup FILE`: a consistent copy of a live SQLite database
//! that a new server starts on; on PostgreSQL, a pointer to pg_dump.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Kind, RealServer, RealServerClients, TestDb};

fn backup(file: &Path, url: &str) -> Output {
    Command::new(roster_tests::roster_bin())
        .args(["admin", "backup"])
        .arg(file)
        .args(["--database-url", url])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run roster admin backup")
}

/// Removes a SQLite file and its companions, also when a test fails.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Issue 15: a backup taken while the server runs and writes holds the
/// users; a new server started on the copy signs them in. The copy is
/// readable by its owner only, and an existing file is never overwritten.
#[tokio::test]
async fn a_backup_of_a_live_sqlite_database_signs_its_users_in() {
    let (db, url) = TestDb::create(Kind::Sqlite).await;
    let server = RealServer::start(&url, &[]).await;
    let admin = server.admin(Duration::from_secs(120)).await;
    let people = ["ada", "grace", "edsger"];
    for name in people {
        admin
            .create_user(json!({"username": name, "password": format!("{name}-Backup-Pass-42")}))
            .await;
    }
    // Writes go on while the copy is taken.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut written = 0;
            while writing.load(Ordering::Relaxed) {
                admin
                    .create_user(json!({"username": format!("busy{written}")}))
                    .await;
                written += 1;
            }
            written
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let file = std::env::temp_dir().join(format!(
        "roster_backup_{}_{}.db",
        std::process::id(),
        server.address().replace([':', '.'], "_")
    ));
    let _removed = Removed(file.clone());
    let taken = tokio::task::spawn_blocking({
        let (file, url) = (file.clone(), url.clone());
        move || backup(&file, &url)
    })
    .await
    .expect("the backup task");
    writing.store(false, Ordering::Relaxed);
    let written = writer.await.expect("the writer");
    assert!(
        taken.status.success(),
        "the backup failed: {}",
        String::from_utf8_lossy(&taken.stderr)
    );
    assert!(written > 0, "no write went on during the backup");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("the copy")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the copy's mode is {mode:o}");
    }

    // A second backup into the same file is refused and leaves it alone.
    let before = std::fs::read(&file).expect("read the copy");
    let again = backup(&file, &url);
    assert!(!again.status.success(), "an existing file was overwritten");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("never overwrites"), "{said}");
    assert_eq!(std::fs::read(&file).expect("read the copy"), before);
    drop(server);
    drop(db); // the original is gone: only the copy is left

    let restored = RealServer::start(&format!("sqlite://{}", file.display()), &[]).await;
    for name in people {
        let status = reqwest::Client::new()
            .post(format!("{}/api/login", restored.base))
            .json(&json!({"username": name, "password": format!("{name}-Backup-Pass-42")}))
            .send()
            .await
            .map(|r| r.status())
            .expect("sign in on the restored copy");
        assert_eq!(status, StatusCode::OK, "{name} signs in on the copy");
    }
    let admin = restored.admin(Duration::from_secs(60)).await;
    let users = admin.get_ok("/api/users").await;
    assert!(
        users["total"].as_i64() >= Some(4),
        "admin and the three are in the copy: {users}"
    );
    drop(restored);
}

/// A missing SQLite database is not created by a backup, and leaves no file.
#[tokio::test]
async fn a_backup_of_a_missing_database_fails_and_makes_nothing() {
    let dir = std::env::temp_dir();
    let missing = dir.join(format!("roster_missing_{}.db", std::process::id()));
    let file = dir.join(format!(
        "roster_backup_of_missing_{}.db",
        std::process::id()
    ));
    let _removed = (Removed(missing.clone()), Removed(file.clone()));
    let out = backup(&file, &format!("sqlite://{}", missing.display()));
    assert!(!out.status.success());
    assert!(!missing.exists(), "the backup created the database");
    assert!(!file.exists(), "a failed backup left a file");
}

/// On PostgreSQL the command says to use pg_dump, and fails.
#[tokio::test]
async fn a_backup_on_postgresql_says_to_use_pg_dump() {
    let file = std::env::temp_dir().join(format!("roster_pg_backup_{}.db", std::process::id()));
    let _removed = Removed(file.clone());
    let out = backup(&file, "postgres://postgres@127.0.0.1:5432/roster");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!file.exists(), "nothing is written for PostgreSQL");
}
