//! The tiny pipeline profile end to end: every stage runs on real components (collector, SurrealDB
//! index, synth, dataset, the trainer's tiny random model, `ask --batch` and the evaluator),
//! every artifact is read back with the `artifacts` readers, a second run skips every stage, and a
//! failed stage leaves the earlier artifacts intact and is the one a re-run resumes at.
//!
//! The stage binaries must already be built: a nested `cargo build` inside `cargo test` would
//! wait forever on the target directory's lock. `cargo test --workspace` builds every workspace
//! binary before it runs any test, and they sit next to this test's executable.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use artifacts::{DatasetRow, EvalResult, LocalDocument, QaPair, RunMetric, read_artifact};

const STAGES: &[&str] = &["collect", "index", "synth", "dataset", "train", "evaluate"];
const BINARIES: &[&str] = &[
    "collector",
    "graphrag",
    "synth",
    "dataset",
    "trainer",
    "ask",
    "evaluator",
];

fn pipeline(out: &Path, bins: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["pipeline", "--profile", "tiny", "--out"])
        .arg(out)
        .arg("--bin-dir")
        .arg(bins)
        .args(extra)
        .output()
        .expect("xtask starts")
}

fn text(output: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The summary table's status column for `stage`.
fn status(output: &Output, stage: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .rposition(|l| l.starts_with("stage ") && l.contains("rows out"))
        .unwrap_or_else(|| panic!("no summary table in:\n{}", text(output)));
    let line = lines[header + 1..]
        .iter()
        .find(|l| l.split_whitespace().next() == Some(stage))
        .unwrap_or_else(|| panic!("no summary row for {stage} in:\n{}", text(output)));
    // The table's columns are fixed: the stage name in 10 characters, a space, the status in 13.
    line.get(11..24).unwrap_or_default().trim().to_owned()
}

fn rows<T: artifacts::Artifact>(path: &Path) -> usize {
    let rows: Vec<T> = read_artifact(path)
        .unwrap_or_else(|e| panic!("{} does not read back: {e}", path.display()));
    rows.len()
}

fn the_one_run(runs: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .expect("runs/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one training run expected: {dirs:?}");
    dirs[0].clone()
}

#[test]
fn tiny_profile_runs_every_stage_then_skips_them_and_resumes_at_a_failed_stage() {
    let bins = common::bin_dir(BINARIES);
    let work = tempfile::tempdir().expect("temp dir");
    let out = work.path();

    let first = pipeline(out, &bins, &[]);
    assert!(
        first.status.success(),
        "first run failed:\n{}",
        text(&first)
    );
    for stage in STAGES {
        assert_eq!(status(&first, stage), "ran", "{stage}:\n{}", text(&first));
    }

    let a = out.join("artifacts");
    assert!(rows::<LocalDocument>(&a.join("raw/local_docs.parquet")) > 0);
    let pairs = rows::<QaPair>(&a.join("qa/synthetic.parquet"));
    assert!(pairs > 0);
    let mut split_rows = 0;
    for split in ["train", "val", "test"] {
        let n = rows::<DatasetRow>(&a.join(format!("dataset/{split}.parquet")));
        assert!(n > 0, "dataset/{split}.parquet is empty");
        split_rows += n;
    }
    assert!(
        split_rows <= pairs,
        "{split_rows} split rows from {pairs} pairs"
    );
    let run = the_one_run(&out.join("runs"));
    let metrics = rows::<RunMetric>(&run.join("metrics.parquet"));
    assert!(metrics > 0);
    assert!(
        std::fs::metadata(run.join("adapter.gguf"))
            .expect("adapter")
            .len()
            > 0
    );
    // Three questions from each of the two sets, answered once (structured-hybrid).
    let results = rows::<EvalResult>(&a.join("eval/tiny/results.parquet"));
    assert_eq!(results, 6);
    let report = std::fs::read_to_string(a.join("eval/tiny/report.md")).expect("report.md");
    assert!(report.contains("structured-hybrid"), "{report}");
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(a.join("pipeline/index.json")).expect("index stamp"),
    )
    .expect("index stamp is JSON");
    assert!(index["counts"]["concepts"].as_u64().expect("concept count") > 100);

    let second = pipeline(out, &bins, &[]);
    assert!(
        second.status.success(),
        "second run failed:\n{}",
        text(&second)
    );
    let stdout = String::from_utf8_lossy(&second.stdout);
    for stage in STAGES {
        assert!(
            stdout.contains(&format!("{stage}: up to date, skipped")),
            "{stage} was not skipped:\n{}",
            text(&second)
        );
        assert_eq!(status(&second, stage), "skipped");
    }

    // A training run that fails: the trainer's report is gone (so the stage is stale) and the
    // trainer exits non-zero. Every other binary is the real one.
    std::fs::remove_file(run.join("report.md")).expect("remove report.md");
    let broken = work.path().join("broken-bins");
    std::fs::create_dir(&broken).expect("mkdir");
    for b in BINARIES.iter().filter(|b| **b != "trainer") {
        std::os::unix::fs::symlink(bins.join(b), broken.join(b)).expect("symlink");
    }
    let trainer = broken.join("trainer");
    std::fs::write(
        &trainer,
        "#!/bin/sh\necho 'trainer: simulated failure' >&2\nexit 1\n",
    )
    .expect("write the failing trainer");
    let mut permissions = std::fs::metadata(&trainer).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&trainer, permissions).expect("chmod");
    let train_before = std::fs::read(a.join("dataset/train.parquet")).expect("train split");

    let failed = pipeline(out, &broken, &[]);
    assert!(
        !failed.status.success(),
        "a failed stage must fail the run:\n{}",
        text(&failed)
    );
    assert_eq!(status(&failed, "dataset"), "skipped");
    assert_eq!(status(&failed, "train"), "failed", "{}", text(&failed));
    assert_eq!(status(&failed, "evaluate"), "not reached");
    assert!(text(&failed).contains("simulated failure"));
    assert_eq!(
        std::fs::read(a.join("dataset/train.parquet")).expect("train split"),
        train_before,
        "the failed run changed an earlier artifact"
    );
    assert!(a.join("eval/tiny/report.md").is_file());

    let resumed = pipeline(out, &bins, &[]);
    assert!(
        resumed.status.success(),
        "resumed run failed:\n{}",
        text(&resumed)
    );
    for stage in ["collect", "index", "synth", "dataset"] {
        assert_eq!(
            status(&resumed, stage),
            "skipped",
            "{stage}:\n{}",
            text(&resumed)
        );
    }
    assert_eq!(status(&resumed, "train"), "ran", "{}", text(&resumed));
}
