//! Dev-only support for the property tests of every parser the API reaches (the ingest
//! formats, the export and schedule requests, the bearer token): real documents to start
//! from ([`real_fixtures`]), the hostile mutations applied to them ([`mutate`]), and one
//! runner ([`check`]) that counts cases and panics per parser.
//!
//! Why one crate: every parser is fed the same catalogue of hostile input (other JSON
//! types, huge numbers and strings, deep nesting, truncation, invalid UTF-8, lone
//! surrogates, duplicate keys) and reports the same figures, so the test of a new parser
//! is a seed list and a property, never a copy of the generators.
//!
//! Case counts come from `PROPTEST_CASES` (proptest's default, 256 when unset);
//! `scripts/bench-props.sh` runs 100,000 per parser in release.

pub mod mutate;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

pub use mutate::{Mutant, Seed, edited_strings, mutants};

/// The repository's vendored real scanner documents of `kind` (`trivy`, `grype`,
/// `cyclonedx`, `spdx`, `openvex`, `csaf`), by file name, sorted.
pub fn real_fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/real")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name.unwrap_or_default(), bytes)
        })
        .collect()
}

/// What one parser's run did: cases generated (shrinking steps not counted), cases that
/// panicked, and cases whose outcome broke the property without panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub cases: u64,
    pub panics: u64,
    pub failures: u64,
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// Runs `property` on the cases `strategy` generates and prints one line,
/// `props <parser>: N cases, P panics, F failures (S s)`, which the bench script collects.
///
/// A panic, or an `Err` (an outcome the property refuses, such as an unclean error), fails
/// the test after proptest has shrunk the input; the minimal input is written in full to
/// `$TMPDIR/ec-props-failures/<parser>.txt` so it can become a plain regression test.
pub fn check<S>(parser: &str, strategy: S, property: impl Fn(&S::Value) -> Result<(), String>)
where
    S: Strategy,
    S::Value: Debug,
{
    let config = Config {
        // Found failures become named regression tests, not files proptest replays.
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    };
    let cases = AtomicU64::new(0);
    let panics = AtomicU64::new(0);
    let failures = AtomicU64::new(0);
    let shrinking = AtomicBool::new(false);
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |input| {
        let first = !shrinking.load(Ordering::SeqCst);
        if first {
            cases.fetch_add(1, Ordering::SeqCst);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| property(&input)));
        let why = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(why)) => {
                if first {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                why
            }
            Err(payload) => {
                if first {
                    panics.fetch_add(1, Ordering::SeqCst);
                }
                format!("panicked: {}", panic_message(payload.as_ref()))
            }
        };
        shrinking.store(true, Ordering::SeqCst);
        Err(TestCaseError::fail(why))
    });
    let tally = Tally {
        cases: cases.load(Ordering::SeqCst),
        panics: panics.load(Ordering::SeqCst),
        failures: failures.load(Ordering::SeqCst),
    };
    println!(
        "props {parser}: {} cases, {} panics, {} failures ({:.1} s)",
        tally.cases,
        tally.panics,
        tally.failures,
        started.elapsed().as_secs_f64()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => {
            let full = format!("{input:#?}");
            let dir = std::env::temp_dir().join("ec-props-failures");
            let file = dir.join(format!("{parser}.txt"));
            let saved = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&file, &full))
                .map(|()| file.display().to_string())
                .unwrap_or_else(|e| format!("(not saved: {e})"));
            let preview: String = full.chars().take(3000).collect();
            panic!("{parser}: {why}\nminimal input (in full in {saved}):\n{preview}");
        }
        Err(TestError::Abort(why)) => panic!("{parser}: aborted: {why}"),
    }
}
