//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (the folder holding the workspace Cargo.toml).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

/// A test file from `shared/tests/fixtures`, written by other tools than ours.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("shared/tests/fixtures").join(name)
}

/// The real `roster` binary, built once per test run with the profile the
/// tests were built with. A test package cannot depend on another package's
/// binary, so it is built here; cargo has released its lock by the time
/// tests run.
///
/// `ROSTER_BIN` names another binary to run instead (a release build
/// driven by debug tests, for a measurement without a release build of
/// every test dependency).
pub fn roster_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("ROSTER_BIN") {
            return PathBuf::from(bin);
        }
        let release = !cfg!(debug_assertions);
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "roster", "--bin", "roster"]);
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the roster binary failed");
        // The test binary lives in target/<profile>/deps/.
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>");
        profile_dir.join("roster")
    })
}
