//! Each Lambda function built alone (`cargo lambda watch`, `cargo lambda build`) resolves
//! its dependencies with the same features as the workspace's test build, so it reuses
//! that build instead of recompiling the AWS SDK. `shared/workspace-hack` holds the pins.
//! Our own crates are left out: their features do differ on purpose (only export-render
//! turns on PDF), and they rebuild in seconds.

use std::collections::BTreeSet;

use ec_tests::{cargo, repo_root};

const FUNCTIONS: [&str; 8] = [
    "export-api",
    "export-gather",
    "export-render",
    "export-seal",
    "export-deliver",
    "export-notify",
    "export-schedule",
    "export-sweep",
];

/// (`name version`, enabled features) as `cargo tree` resolves them for `selection`; a
/// package can appear twice, built for the host (build scripts, proc macros) and the target.
/// Workspace members are skipped.
fn features(selection: &[&str], edges: &str) -> BTreeSet<(String, String)> {
    let root = repo_root().canonicalize().expect("repository root");
    let ours = format!("({}", root.display());
    let out = cargo()
        .args([
            "tree", "--locked", "--prefix", "none", "-f", "{p}|{f}", "-e", edges,
        ])
        .args(selection)
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {selection:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (package, features) = line.split_once('|')?;
            if package.contains(&ours) {
                return None;
            }
            // `name vX.Y.Z (path)` → `name vX.Y.Z`; `features` may end in ` (*)`.
            let package = package.split(' ').take(2).collect::<Vec<_>>().join(" ");
            let features = features.trim_end_matches(" (*)").to_string();
            Some((package, features))
        })
        .collect()
}

#[test]
fn functions_built_alone_match_the_workspace_build() {
    let workspace = features(&["--workspace"], "normal,build,dev");
    let mut stale = Vec::new();
    for function in FUNCTIONS {
        for (package, alone) in features(&["-p", function], "normal,build") {
            if workspace.contains(&(package.clone(), alone.clone())) {
                continue;
            }
            let all: Vec<&str> = workspace
                .iter()
                .filter(|(p, _)| *p == package)
                .map(|(_, f)| f.as_str())
                .collect();
            stale.push(format!(
                "{function}: {package} has [{alone}] alone, {all:?} in the workspace"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "pin these features in shared/workspace-hack/Cargo.toml:\n{}",
        stale.join("\n")
    );
}
