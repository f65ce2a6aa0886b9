//! Golden outputs: every fixture (real and hand-made), rendered offline as every export type
//! in every format and built-in template that type allows, gives exactly the bytes recorded
//! in `tests/golden/outputs.sha256` (a sha256 per output, or the error code a combination
//! gives). Changes to the load path (typed ingest, the lean snapshot, streaming writers) must
//! not change a byte of any report; a change that means to alter outputs regenerates the
//! file with `EC_GOLDEN_UPDATE=1 cargo test -p ec-tests --test golden` and shows the
//! difference in review.

use std::path::{Path, PathBuf};

use ec_domain::{BuiltinTemplate, ExportType, Format, TemplateName};
use ec_pipeline::offline::{InputDocument, OfflineRequest, render_documents};
use ec_tests::repo_root;

fn golden_file() -> PathBuf {
    repo_root().join("tests/golden/outputs.sha256")
}

/// Every fixture, by its path under `tests/fixtures`.
fn documents() -> Vec<(String, Vec<u8>)> {
    let base = repo_root().join("tests/fixtures");
    let mut out = Vec::new();
    for kind in ["trivy", "grype", "cyclonedx", "spdx", "openvex", "csaf"] {
        for p in ec_tests::fixtures(kind)
            .into_iter()
            .chain(ec_tests::handmade(kind))
        {
            let name = relative(&base, &p);
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push((name, bytes));
        }
    }
    out
}

fn relative(base: &Path, p: &Path) -> String {
    p.strip_prefix(base)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// One line per document × type × format × template.
fn outputs() -> Vec<String> {
    let mut lines = Vec::new();
    for (name, bytes) in documents() {
        for &export_type in ExportType::ALL {
            for &format in Format::ALL {
                if !export_type.allows(format) {
                    continue;
                }
                for &template in BuiltinTemplate::ALL {
                    if !ec_render::builtin_formats(template).contains(&format) {
                        continue;
                    }
                    let mut req = OfflineRequest::new(
                        export_type,
                        format,
                        time::macros::datetime!(2025-03-04 05:06:07 UTC),
                    );
                    req.template = Some(TemplateName::Builtin(template));
                    let doc = InputDocument {
                        name: Some(name.rsplit('/').next().unwrap_or(&name).to_string()),
                        bytes: bytes.clone(),
                    };
                    let outcome = match render_documents(&[doc], &req) {
                        Ok(out) => ec_domain::ids::sha256_hex(&out),
                        Err(e) => format!("error:{}", e.code.as_str()),
                    };
                    lines.push(format!(
                        "{outcome}  {name} {} {} {}",
                        export_type.as_str(),
                        format.as_str(),
                        template.as_str()
                    ));
                }
            }
        }
    }
    lines
}

#[test]
fn every_fixture_renders_to_the_recorded_bytes() {
    let got = outputs();
    assert!(got.len() > 100, "only {} outputs", got.len());
    let file = golden_file();
    if std::env::var_os("EC_GOLDEN_UPDATE").is_some() {
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("golden dir");
        std::fs::write(&file, got.join("\n") + "\n").expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (EC_GOLDEN_UPDATE=1 writes it)", file.display()));
    let want: Vec<&str> = want.lines().collect();
    let differ: Vec<String> = got
        .iter()
        .filter(|l| !want.contains(&l.as_str()))
        .map(|l| format!("now:  {l}"))
        .chain(
            want.iter()
                .filter(|l| !got.iter().any(|g| g == *l))
                .map(|l| format!("was:  {l}")),
        )
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} outputs differ from tests/golden/outputs.sha256:\n{}",
        differ.len(),
        got.len(),
        differ.join("\n")
    );
}

/// The snapshot gather writes reads back as exactly what was written, for every fixture, in
/// the versioned encoding and as JSON (what the previous release wrote).
#[test]
fn every_fixture_snapshot_reads_back_unchanged() {
    use ec_domain::snapshot_codec::{decode, encode};
    let mut checked = 0;
    for (name, bytes) in documents() {
        // A scan report where the document holds a scan; VEX documents alone make a VEX export.
        let snapshot = [ExportType::ScanReport, ExportType::Vex]
            .into_iter()
            .find_map(|export_type| {
                let req = OfflineRequest::new(
                    export_type,
                    Format::Json,
                    time::macros::datetime!(2025-03-04 05:06:07 UTC),
                );
                let doc = InputDocument {
                    name: Some(name.clone()),
                    bytes: bytes.clone(),
                };
                ec_pipeline::offline::snapshot_from_named(&[doc], &req).ok()
            })
            .unwrap_or_else(|| panic!("{name}: no snapshot"));
        let encoded = encode(&snapshot).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decode(&encoded).as_ref(), Ok(&snapshot), "{name}");
        let json = serde_json::to_vec(&snapshot).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decode(&json).as_ref(), Ok(&snapshot), "{name} as JSON");
        assert!(
            encoded.len() < json.len(),
            "{name}: the encoding is no smaller"
        );
        checked += 1;
    }
    assert!(checked > 20, "only {checked} fixtures");
}
