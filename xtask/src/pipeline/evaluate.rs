//! The comparative evaluation shared by `cargo xtask evaluate` and the pipeline's evaluate stage:
//! the `ask` binary answers the evaluation sets once per configuration (`ask --batch`), then
//! `evaluator score` scores every configuration into one report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::exec::Launcher;

/// Where one evaluation reads and writes, and which configurations it runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The run name: records go to `<records_dir>/`, the report to the evaluator's
    /// `<output_root>/<run>/`.
    pub run: String,
    /// Also run the configurations that generate with the language model.
    pub generate: bool,
    /// Keep only these configurations (`None`: every one that applies).
    pub only: Option<Vec<String>>,
    /// The question sets (JSONL) `ask --batch` answers.
    pub sets: Vec<PathBuf>,
    /// Where the answer records of each configuration go.
    pub records_dir: PathBuf,
    /// Arguments given to every `ask` (store, raw artifacts, runs, config files).
    pub ask_args: Vec<String>,
    /// Arguments given to `evaluator` before `score` (its config, output root).
    pub evaluator_args: Vec<String>,
    /// The trainer runs directory: the fine-tuned configurations run when an adapter is there.
    pub runs_dir: PathBuf,
    /// Key points by keyword rules only.
    pub keywords_only: bool,
}

/// The configurations that apply, with their `ask` flags: the structured answer alone under each
/// retrieval mode; with `generate`, the model alone and the model over GraphRAG and the
/// calculator, base and (when a trainer run has an adapter) fine-tuned.
pub fn configurations(plan: &Plan) -> Vec<(&'static str, Vec<&'static str>)> {
    // The structured configurations write no model text, so they serve the base model (`--base`):
    // loading a trainer run's adapter there would only cost time, or fail for an adapter made on
    // another architecture (the tiny profile's random model).
    let mut configurations: Vec<(&str, Vec<&str>)> = vec![
        (
            "structured-hybrid",
            vec!["--no-generate", "--base", "--mode", "hybrid"],
        ),
        (
            "structured-bm25",
            vec!["--no-generate", "--base", "--mode", "bm25"],
        ),
        (
            "structured-vector",
            vec!["--no-generate", "--base", "--mode", "vector"],
        ),
        (
            "structured-graph",
            vec!["--no-generate", "--base", "--mode", "graph"],
        ),
    ];
    if plan.generate {
        configurations.push(("base-model-alone", vec!["--base", "--model-only"]));
        configurations.push(("base+graphrag", vec!["--base", "--mode", "hybrid"]));
        if has_adapter(&plan.runs_dir) {
            configurations.push(("finetuned-alone", vec!["--model-only"]));
            configurations.push(("finetuned+graphrag", vec!["--mode", "hybrid"]));
        }
    }
    if let Some(only) = &plan.only {
        configurations.retain(|(name, _)| only.iter().any(|o| o == name));
    }
    configurations
}

/// Whether a trainer run under `runs_dir` holds a served adapter (what `ask` picks up).
fn has_adapter(runs_dir: &Path) -> bool {
    std::fs::read_dir(runs_dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().join("adapter.gguf").is_file())
        })
        .unwrap_or(false)
}

/// Answers the sets under each configuration, then scores them; returns the record files and
/// the number of answers written.
pub fn run(plan: &Plan, launcher: &Launcher) -> Result<(Vec<PathBuf>, usize)> {
    let mut record_files = Vec::new();
    let mut answers = 0;
    for (name, flags) in configurations(plan) {
        let records = plan.records_dir.join(format!("{name}.jsonl"));
        let mut args: Vec<String> =
            vec!["--no-index".into(), "--configuration".into(), name.into()];
        for set in &plan.sets {
            args.push("--batch".into());
            args.push(set.display().to_string());
        }
        args.push("--records".into());
        args.push(records.display().to_string());
        args.extend(plan.ask_args.iter().cloned());
        args.extend(flags.iter().map(|f| (*f).to_owned()));
        println!("evaluate: answering as {name}");
        launcher.run("ask", &args)?;
        let text = std::fs::read_to_string(&records)
            .with_context(|| format!("reading the answer records {}", records.display()))?;
        answers += text.lines().filter(|l| !l.trim().is_empty()).count();
        record_files.push(records);
    }
    let mut args = plan.evaluator_args.clone();
    args.extend(["score".into(), "--run".into(), plan.run.clone()]);
    for f in &record_files {
        args.push("--answers".into());
        args.push(f.display().to_string());
    }
    if plan.keywords_only {
        args.push("--keywords-only".into());
    }
    launcher.run("evaluator", &args)?;
    Ok((record_files, answers))
}
