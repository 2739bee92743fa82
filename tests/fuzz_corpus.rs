//! The fuzz corpora replayed on stable: every file under `fuzz/corpus/TARGET/` and
//! `fuzz/regressions/TARGET/` runs through the same checks the fuzz target `TARGET` runs
//! (`fuzz/checks/`, included here), so what the fuzzers found stays fixed without nightly or
//! cargo-fuzz. A folder whose target has no check fails the test; a target whose check needs
//! features that are off (the mapping targets need `csv` and `serde_json`) is passed over.

#[path = "../fuzz/checks/mod.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// A target's check.
type Check = fn(&[u8]);

/// The files of `dir/TARGET/`, by target name, sorted.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(targets) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for target in targets {
        let target = target.expect("a readable folder entry").path();
        if !target.is_dir() {
            continue;
        }
        let name = target.file_name().and_then(|n| n.to_str()).expect("a UTF-8 name").to_string();
        for file in std::fs::read_dir(&target).expect("a readable corpus folder") {
            let file = file.expect("a readable corpus entry").path();
            if file.is_file() {
                out.push((name.clone(), file));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_and_regression_input_passes_its_target_s_checks() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = inputs(&fuzz.join("corpus"));
    files.extend(inputs(&fuzz.join("regressions")));
    assert!(!files.is_empty(), "no corpus under {}", fuzz.display());
    let mut runs: Vec<(Check, &Path)> = Vec::new();
    for (target, file) in &files {
        let Some(t) = checks::TARGETS.iter().find(|t| t.name == *target) else {
            panic!("{}: no target {target:?} in fuzz/checks/mod.rs", file.display());
        };
        if let Some(check) = t.check {
            runs.push((check, file));
        }
    }
    // The inputs are independent: spread them over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let failed: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|first| {
                let runs = &runs;
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    for (check, file) in runs.iter().skip(first).step_by(threads) {
                        let data = std::fs::read(file).expect("a readable corpus file");
                        if std::panic::catch_unwind(|| check(&data)).is_err() {
                            failed.push(file.display().to_string());
                        }
                    }
                    failed
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a worker")).collect()
    });
    assert!(
        failed.is_empty(),
        "{} of {} inputs failed:\n{}",
        failed.len(),
        runs.len(),
        failed.join("\n")
    );
    println!("{} corpus inputs passed", runs.len());
}
