//! Issue 14: only export-render carries typst, however the functions are built. The test
//! build compiles every function in one `cargo build --workspace`, where feature
//! unification turns `ec-render/pdf` on for all of them (the worst case); each function's
//! binary is then read with `nm` (binutils): gather, seal, notify, schedule and sweep hold no typst
//! symbol, the API only the syntax checker of custom templates (`typst_syntax`, with its
//! small helpers), and render the layout engine.

use std::path::PathBuf;

/// The `typst*` crates whose symbols a function's binary holds, with their counts.
fn typst_crates(function: &str) -> std::collections::BTreeMap<String, usize> {
    let dir = ec_tests::exportctl_bin()
        .parent()
        .map(PathBuf::from)
        .expect("the build's directory");
    let bin = dir.join(function);
    assert!(
        bin.is_file(),
        "{} not built (the test command builds every function)",
        bin.display()
    );
    let out = std::process::Command::new("nm")
        .arg("-C")
        .arg(&bin)
        .output()
        .expect("nm (binutils)");
    assert!(out.status.success(), "nm {}", bin.display());
    let mut crates = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(at) = line.find("typst") else {
            continue;
        };
        let name: String = line[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        *crates.entry(name).or_insert(0) += 1;
    }
    crates
}

#[test]
fn only_export_render_links_typst() {
    for function in [
        "export-gather",
        "export-seal",
        "export-deliver",
        "export-notify",
        "export-schedule",
        "export-sweep",
    ] {
        let crates = typst_crates(function);
        assert!(crates.is_empty(), "{function} links {crates:?}");
    }
    let api = typst_crates("export-api");
    for name in api.keys() {
        assert!(
            ["typst_syntax", "typst_utils", "typst_timing"].contains(&name.as_str()),
            "export-api links {name} ({api:?})"
        );
    }
    let render = typst_crates("export-render");
    assert!(
        render.get("typst_layout").is_some_and(|n| *n > 100),
        "export-render lays out PDFs: {render:?}"
    );
}
