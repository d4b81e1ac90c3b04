//! The six stages: what each reads (its fingerprint), how it is started, what it writes and how
//! many rows went in and out.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context as _, Result, bail};
use artifacts::StageFingerprint;

use super::evaluate::Plan;
use super::fresh::{PIPELINE_DIR, PipelineManifest, config_inputs, hash_path};
use super::{RunContext, project_path};

/// A pipeline stage, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// `collector`: raw documents.
    Collect,
    /// `graphrag index`: the knowledge graph and chunks in SurrealDB.
    Index,
    /// `synth`: synthetic Q&A.
    Synth,
    /// `dataset`: train/val/test splits.
    Dataset,
    /// `trainer`: the QLoRA adapter.
    Train,
    /// `ask --batch` per configuration, then `evaluator score`.
    Evaluate,
}

impl Stage {
    /// Every stage in run order.
    pub const ALL: [Stage; 6] = [
        Stage::Collect,
        Stage::Index,
        Stage::Synth,
        Stage::Dataset,
        Stage::Train,
        Stage::Evaluate,
    ];

    /// The stage's name on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Self::Collect => "collect",
            Self::Index => "index",
            Self::Synth => "synth",
            Self::Dataset => "dataset",
            Self::Train => "train",
            Self::Evaluate => "evaluate",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.name() == s)
            .with_context(|| {
                format!(
                    "unknown stage {s:?}; the stages are {}",
                    Self::ALL.map(Stage::name).join(", ")
                )
            })
    }
}

/// The index stage's stamp: the store location and what `graphrag index` reported.
const INDEX_STAMP: &str = "index.json";
/// Raw artifacts the collector can write, relative to the artifacts root.
const RAW_FILES: &[&str] = &[
    "raw/local_docs.parquet",
    "raw/cross_validated.parquet",
    "raw/arxiv.parquet",
];
const SYNTH_PAIRS: &str = "qa/synthetic.parquet";
const SPLITS: &[&str] = &[
    "dataset/train.parquet",
    "dataset/val.parquet",
    "dataset/test.parquet",
];

/// What a stage that ran produced.
pub struct Outcome {
    /// Files written, absolute, under the work root.
    pub outputs: Vec<PathBuf>,
    /// USD spent.
    pub cost_usd: f64,
}

fn key(ctx: &RunContext, path: &Path) -> String {
    path.strip_prefix(&ctx.work)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn store_location(ctx: &RunContext) -> String {
    format!(
        "surrealkv://{}",
        ctx.artifacts.join("graphrag.db").display()
    )
}

/// The raw artifacts present now.
fn raw_files(ctx: &RunContext) -> Vec<PathBuf> {
    RAW_FILES
        .iter()
        .map(|f| ctx.artifacts.join(f))
        .filter(|p| p.is_file())
        .collect()
}

fn add_artifact_inputs(
    ctx: &RunContext,
    inputs: &mut BTreeMap<String, String>,
    files: &[PathBuf],
) -> Result<()> {
    for file in files {
        inputs.insert(key(ctx, file), hash_path(file)?);
    }
    Ok(())
}

/// Artifacts a stage needs; a missing one names the stage that makes it.
fn require(ctx: &RunContext, relative: &str, made_by: Stage) -> Result<PathBuf> {
    let path = ctx.artifacts.join(relative);
    if !path.is_file() {
        bail!(
            "{} is missing; run the {made_by} stage first (drop --from, or use --from {made_by})",
            path.display()
        );
    }
    Ok(path)
}

/// The paths of `files` in `dir`, which `binary` has just run to write; fails naming the first
/// one it did not write.
fn written_by(binary: &str, dir: &Path, files: &[&str]) -> Result<Vec<PathBuf>> {
    files
        .iter()
        .map(|file| {
            let path = dir.join(file);
            if !path.is_file() {
                bail!(
                    "the {binary} finished without writing {}; see its output above",
                    path.display()
                );
            }
            Ok(path)
        })
        .collect()
}

/// The stage's current fingerprint: its profile settings, config files and input artifacts.
pub fn fingerprint(
    ctx: &RunContext,
    manifest: &PipelineManifest,
    stage: Stage,
) -> Result<StageFingerprint> {
    let p = &ctx.profile;
    let (settings, inputs) = match stage {
        Stage::Collect => (
            serde_json::json!({ "collect": p.collect, "online": ctx.online }),
            config_inputs(&ctx.root, &p.collect.config)?,
        ),
        Stage::Index => {
            let mut inputs = config_inputs(&ctx.root, &p.index.config)?;
            inputs.insert(
                format!("project:{}", p.index.knowledge.display()),
                hash_path(&ctx.root.join(&p.index.knowledge))?,
            );
            add_artifact_inputs(ctx, &mut inputs, &raw_files(ctx))?;
            (serde_json::json!({ "index": p.index }), inputs)
        }
        Stage::Synth => {
            let mut inputs = config_inputs(&ctx.root, &p.synth.config)?;
            add_artifact_inputs(ctx, &mut inputs, &raw_files(ctx))?;
            (serde_json::json!({ "synth": p.synth }), inputs)
        }
        Stage::Dataset => {
            let mut inputs = config_inputs(&ctx.root, &p.dataset.config)?;
            let mut files = raw_files(ctx);
            files.push(ctx.artifacts.join(SYNTH_PAIRS));
            add_artifact_inputs(ctx, &mut inputs, &files)?;
            (serde_json::json!({ "dataset": p.dataset }), inputs)
        }
        Stage::Train => {
            let mut inputs = config_inputs(&ctx.root, &p.train.config)?;
            let files: Vec<PathBuf> = SPLITS[..2].iter().map(|s| ctx.artifacts.join(s)).collect();
            add_artifact_inputs(ctx, &mut inputs, &files)?;
            (serde_json::json!({ "train": p.train }), inputs)
        }
        Stage::Evaluate => {
            let e = &p.evaluate;
            let mut inputs = config_inputs(&ctx.root, &e.config)?;
            for config in [&e.assistant_config, &e.llm_config, &p.index.config] {
                inputs.insert(
                    format!("project:{}", config.display()),
                    hash_path(&ctx.root.join(config))?,
                );
            }
            for set in &e.sets {
                inputs.insert(
                    format!("project:{}", set.display()),
                    hash_path(&ctx.root.join(set))?,
                );
            }
            let stamp = ctx.artifacts.join(PIPELINE_DIR).join(INDEX_STAMP);
            inputs.insert(key(ctx, &stamp), hash_path(&stamp)?);
            // The fine-tuned configurations answer with the newest adapter, which is the one the
            // train stage recorded.
            if e.generate
                && let Some(adapter) = manifest.output_ending("train", "/adapter.gguf")
            {
                inputs.insert(key(ctx, &adapter), hash_path(&adapter)?);
            }
            (serde_json::json!({ "evaluate": e }), inputs)
        }
    };
    // Stage settings and inputs are the whole fingerprint; the profile's name is not, so two
    // profiles with the same settings share their outputs.
    Ok(StageFingerprint {
        stage: stage.name().to_owned(),
        config_hash: artifacts::config_hash(&settings),
        inputs,
    })
}

/// Runs the stage's binary and returns what it wrote.
pub fn execute(ctx: &RunContext, stage: Stage) -> Result<Outcome> {
    let p = &ctx.profile;
    let artifacts_arg = ctx.artifacts.display().to_string();
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let no_cost = |outputs: Vec<PathBuf>| Outcome {
        outputs,
        cost_usd: 0.0,
    };
    match stage {
        Stage::Collect => {
            let mut args = strings(&[
                "--config",
                &project_path(ctx, &p.collect.config),
                "--out",
                &artifacts_arg,
                "--root",
                &ctx.root.display().to_string(),
            ]);
            args.extend(p.collect.args.iter().cloned());
            args.push(if ctx.online { "all" } else { "local" }.to_owned());
            ctx.launcher.run("collector", &args)?;
            let outputs = if ctx.online {
                raw_files(ctx)
            } else {
                vec![ctx.artifacts.join(RAW_FILES[0])]
            };
            Ok(no_cost(
                outputs.into_iter().filter(|p| p.is_file()).collect(),
            ))
        }
        Stage::Index => {
            let raw = ctx.artifacts.join("raw");
            let store = store_location(ctx);
            let args = strings(&[
                "--config",
                &project_path(ctx, &p.index.config),
                "--store",
                &store,
                "index",
                "--knowledge",
                &project_path(ctx, &p.index.knowledge),
                "--raw",
                &raw.display().to_string(),
            ]);
            let output = ctx.launcher.run("graphrag", &args)?;
            let counts = index_counts(&output);
            if counts.is_empty() {
                bail!(
                    "graphrag index printed no counts; expected lines such as `concepts +308 ~0 -0 =0`"
                );
            }
            let stamp = ctx.artifacts.join(PIPELINE_DIR).join(INDEX_STAMP);
            let text = serde_json::to_string_pretty(&serde_json::json!({
                "store": store,
                "counts": counts,
            }))?;
            artifacts::write_atomic(&stamp, format!("{text}\n").as_bytes())?;
            Ok(no_cost(vec![stamp]))
        }
        Stage::Synth => {
            let mut args = strings(&[
                "--config",
                &project_path(ctx, &p.synth.config),
                "--output-root",
                &artifacts_arg,
                "--generators",
                &p.synth.generators.join(","),
            ]);
            if let Some(cap) = p.synth.max_cost_usd {
                args.extend(["--max-cost-usd".to_owned(), cap.to_string()]);
            }
            if let Some(provider) = &p.synth.provider {
                args.extend(["--provider".to_owned(), provider.clone()]);
            }
            let output = ctx.launcher.run("synth", &args)?;
            Ok(Outcome {
                outputs: vec![
                    require(ctx, SYNTH_PAIRS, Stage::Synth)?,
                    require(ctx, "qa/rejects.parquet", Stage::Synth)?,
                ],
                cost_usd: synth_cost(&output)?,
            })
        }
        Stage::Dataset => {
            require(ctx, SYNTH_PAIRS, Stage::Synth)?;
            let args = strings(&[
                "--config",
                &project_path(ctx, &p.dataset.config),
                "--output-root",
                &artifacts_arg,
                // The pipeline decided the stage must run; the dataset stage's own skip would
                // otherwise keep splits made from different settings.
                "--force",
            ]);
            ctx.launcher.run("dataset", &args)?;
            let mut outputs = Vec::new();
            for split in SPLITS {
                outputs.push(require(ctx, split, Stage::Dataset)?);
            }
            outputs.push(require(ctx, "dataset/README.md", Stage::Dataset)?);
            Ok(no_cost(outputs))
        }
        Stage::Train => {
            let train = require(ctx, SPLITS[0], Stage::Dataset)?;
            let val = require(ctx, SPLITS[1], Stage::Dataset)?;
            let run_id = format!(
                "{}-{}",
                p.train.run_prefix,
                jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
            );
            let mut args = strings(&[
                "--config",
                &project_path(ctx, &p.train.config),
                "--runs-dir",
                &ctx.runs.display().to_string(),
                "--run-id",
                &run_id,
                "--train-data",
                &train.display().to_string(),
                "--val-data",
                &val.display().to_string(),
            ]);
            if let Some(steps) = p.train.steps {
                args.extend(["--steps".to_owned(), steps.to_string()]);
            }
            ctx.launcher.run("trainer", &args)?;
            let outputs = written_by(
                "trainer",
                &ctx.runs.join(&run_id),
                &[
                    "adapter.gguf",
                    "adapter_model.safetensors",
                    "adapter_config.json",
                    "metrics.parquet",
                    "hyperparams.json",
                    "report.md",
                ],
            )?;
            Ok(no_cost(outputs))
        }
        Stage::Evaluate => {
            let e = &p.evaluate;
            let stamp = ctx.artifacts.join(PIPELINE_DIR).join(INDEX_STAMP);
            if !stamp.is_file() {
                bail!(
                    "the index has not been built by this pipeline; run the index stage first (--from index)"
                );
            }
            let sets = eval_sets(ctx)?;
            let eval_root = ctx.artifacts.join("eval");
            let plan = Plan {
                run: e.run.clone(),
                generate: e.generate,
                only: e.configurations.clone(),
                sets,
                records_dir: eval_root.join("records").join(&e.run),
                ask_args: strings(&[
                    "--store",
                    &store_location(ctx),
                    "--raw",
                    &ctx.artifacts.join("raw").display().to_string(),
                    "--runs",
                    &ctx.runs.display().to_string(),
                    "--knowledge",
                    &project_path(ctx, &p.index.knowledge),
                    "--config",
                    &project_path(ctx, &e.assistant_config),
                    "--graphrag-config",
                    &project_path(ctx, &p.index.config),
                    "--llm-config",
                    &project_path(ctx, &e.llm_config),
                ]),
                evaluator_args: strings(&[
                    "--config",
                    &project_path(ctx, &e.config),
                    "--output-root",
                    &eval_root.display().to_string(),
                ]),
                runs_dir: ctx.runs.clone(),
                keywords_only: e.keywords_only,
            };
            let (mut outputs, _) = super::evaluate::run(&plan, &ctx.launcher)?;
            outputs.extend(written_by(
                "evaluator",
                &eval_root.join(&e.run),
                &["report.md", "results.parquet"],
            )?);
            Ok(no_cost(outputs))
        }
    }
}

/// The sets `ask --batch` answers: the profile's files, or N of their questions copied under
/// `<artifacts>/pipeline/sets/` when `questions_per_set` bounds them.
fn eval_sets(ctx: &RunContext) -> Result<Vec<PathBuf>> {
    let e = &ctx.profile.evaluate;
    let mut out = Vec::new();
    for set in &e.sets {
        let path = ctx.root.join(set);
        if e.questions_per_set == 0 {
            out.push(path);
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the question set {}", path.display()))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut head = spread(&lines, e.questions_per_set).join("\n");
        head.push('\n');
        let name = set.file_name().context("a question set is a file")?;
        let target = ctx.artifacts.join(PIPELINE_DIR).join("sets").join(name);
        artifacts::write_atomic(&target, head.as_bytes())?;
        out.push(target);
    }
    Ok(out)
}

/// `n` items evenly spaced over `items` (all of them when there are no more than `n`). The sets
/// are ordered by category, so the first `n` would test one category only.
fn spread<'a>(items: &[&'a str], n: usize) -> Vec<&'a str> {
    if items.len() <= n {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n]).collect()
}

/// Counts from `graphrag index` lines such as `concepts   +308 ~0 -0 =0`: what the store holds
/// afterwards (added + changed + unchanged) per kind.
fn index_counts(output: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in output.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(added), Some(changed), Some(_removed), Some(unchanged), None) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            continue;
        };
        let number = |w: &str, sign: char| w.strip_prefix(sign).and_then(|n| n.parse::<u64>().ok());
        if let (Some(a), Some(c), Some(u)) = (
            number(added, '+'),
            number(changed, '~'),
            number(unchanged, '='),
        ) {
            counts.insert(name.to_owned(), a + c + u);
        }
    }
    counts
}

/// The LLM generator's spend from the JSON summary `synth` prints last.
fn synth_cost(output: &str) -> Result<f64> {
    let start = output
        .lines()
        .position(|l| l == "{")
        .context("synth printed no JSON summary; expected its run summary on stdout")?;
    let json: String = output.lines().skip(start).collect::<Vec<_>>().join("\n");
    let summary: serde_json::Value =
        serde_json::from_str(&json).context("parsing synth's JSON summary")?;
    summary["llm"]["cost_usd"]
        .as_f64()
        .context("synth's summary has no llm.cost_usd")
}

fn parquet_rows(path: &Path) -> Option<u64> {
    artifacts::inspect_artifact(path).ok().map(|h| h.rows)
}

fn sum_rows(paths: &[PathBuf]) -> Option<u64> {
    let mut total = 0;
    for p in paths {
        total += parquet_rows(p)?;
    }
    Some(total)
}

/// Rows in and out of a stage, read from its recorded outputs on disk.
pub fn rows(
    ctx: &RunContext,
    manifest: &PipelineManifest,
    stage: Stage,
) -> (Option<u64>, Option<u64>) {
    let recorded: Vec<PathBuf> = manifest
        .outputs(stage.name())
        .iter()
        .map(|k| ctx.work.join(k))
        .collect();
    let raw_rows = || sum_rows(&raw_files(ctx));
    match stage {
        Stage::Collect => (None, sum_rows(&recorded)),
        Stage::Index => {
            let stamp = ctx.artifacts.join(PIPELINE_DIR).join(INDEX_STAMP);
            let out = std::fs::read_to_string(stamp)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| {
                    let counts = v.get("counts")?.as_object()?;
                    Some(
                        ["concepts", "relations", "chunks"]
                            .iter()
                            .filter_map(|k| counts.get(*k).and_then(serde_json::Value::as_u64))
                            .sum(),
                    )
                });
            (raw_rows(), out)
        }
        Stage::Synth => (raw_rows(), parquet_rows(&ctx.artifacts.join(SYNTH_PAIRS))),
        Stage::Dataset => {
            let mut inputs = vec![ctx.artifacts.join(SYNTH_PAIRS)];
            let cv = ctx.artifacts.join(RAW_FILES[1]);
            if cv.is_file() {
                inputs.push(cv);
            }
            let splits: Vec<PathBuf> = SPLITS.iter().map(|s| ctx.artifacts.join(s)).collect();
            (sum_rows(&inputs), sum_rows(&splits))
        }
        Stage::Train => (
            parquet_rows(&ctx.artifacts.join(SPLITS[0])),
            manifest
                .output_ending("train", "/metrics.parquet")
                .and_then(|p| parquet_rows(&p)),
        ),
        Stage::Evaluate => {
            let answers = recorded
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count() as u64)
                        .ok()
                })
                .sum::<Option<u64>>();
            let results = recorded
                .iter()
                .find(|p| p.ends_with("results.parquet"))
                .and_then(|p| parquet_rows(p));
            (answers, results)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_counts_read_what_the_store_holds_after_indexing() {
        let output = "concepts   +308 ~0 -0 =0\nrelations  +2 ~1 -4 =1556\nembedded 538 texts, 3494 writes, 95.2s (surrealkv:///x)\n";
        let counts = index_counts(output);
        assert_eq!(counts.get("concepts"), Some(&308));
        assert_eq!(counts.get("relations"), Some(&1559));
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn synth_cost_comes_from_the_json_summary_after_the_estimate_lines() {
        let output = "dry run: LLM generator, 3 sources\nhard cap: $1.00\n{\n  \"pairs\": 4,\n  \"llm\": {\n    \"cost_usd\": 0.0125\n  }\n}\n";
        assert_eq!(synth_cost(output).expect("parses"), 0.0125);
        let err = synth_cost("no summary\n").expect_err("no JSON");
        assert!(err.to_string().contains("no JSON summary"), "{err}");
    }

    #[test]
    fn a_bounded_set_samples_evenly_across_the_file() {
        let items: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let items: Vec<&str> = items.iter().map(String::as_str).collect();
        assert_eq!(spread(&items, 3), vec!["0", "3", "6"]);
        assert_eq!(spread(&items, 5), vec!["0", "2", "4", "6", "8"]);
        assert_eq!(spread(&items, 20).len(), 10);
    }

    #[test]
    fn stage_names_round_trip_in_run_order() {
        for (i, stage) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(stage.name().parse::<Stage>().expect("known"), stage);
            if i > 0 {
                assert!(Stage::ALL[i - 1] < stage);
            }
        }
    }
}
