//! Helpers shared by the end-to-end tests: fixture paths, the exportctl binary, and the
//! Python validators the test command installs.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Vendored real scanner outputs (byte-identical copies; see `fixtures/real/MANIFEST.tsv`).
pub fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures/real").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// The `exportctl` binary of this build (the test command builds it first).
pub fn exportctl_bin() -> PathBuf {
    if let Ok(p) = std::env::var("EXPORTCTL_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let bin = target.join("debug/exportctl");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p exportctl` first (the test command does)",
        bin.display()
    );
    bin
}

/// The virtualenv's Python with the validators (`EC_PYTHON`, set by the test command).
/// Tests that validate outputs fail, never skip, without it.
pub fn python() -> PathBuf {
    let p = std::env::var("EC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} missing: run the README's test command (scripts/test.sh), which creates it",
        p.display()
    );
    p
}
