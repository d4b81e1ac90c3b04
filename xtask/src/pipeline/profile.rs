//! Pipeline profiles: `configs/pipeline/<name>.toml`, one table per stage naming the stage's own
//! config file and the few arguments the pipeline passes it.
//!
//! A profile holds no stage settings of its own: those stay in the stage configs (the same files
//! the stage binaries read when run by hand), so a profile that needs other values points at its
//! own copies under `configs/pipeline/<name>/`. Parsing is strict (unknown keys are refused) and
//! [`Profile::validate`] checks every path and value before any stage starts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The directory of the shipped profiles, relative to the project root.
pub const PROFILE_DIR: &str = "configs/pipeline";

/// One pipeline profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// One line saying what the profile is for.
    pub description: String,
    /// The artifacts root (`raw/`, `qa/`, `dataset/`, `eval/`, the store), relative to the
    /// project root, or to `--out` when given.
    #[serde(default = "default_artifacts")]
    pub artifacts: PathBuf,
    /// Where trainer runs go, relative like `artifacts`.
    #[serde(default = "default_runs")]
    pub runs: PathBuf,
    /// Collect from the network sources too (`--online` turns it on for any profile).
    #[serde(default)]
    pub online: bool,
    /// Stage 1.
    pub collect: CollectStage,
    /// The GraphRAG index, built right after collection (the evaluation answers through it).
    pub index: IndexStage,
    /// Stage 2.
    pub synth: SynthStage,
    /// Stage 3.
    pub dataset: DatasetStage,
    /// Stage 4.
    pub train: TrainStage,
    /// Stage 5.
    pub evaluate: EvaluateStage,
}

fn default_artifacts() -> PathBuf {
    PathBuf::from("artifacts")
}

fn default_runs() -> PathBuf {
    PathBuf::from("runs")
}

/// `collector` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectStage {
    /// The collector's config file.
    pub config: PathBuf,
    /// Extra arguments for `collector` (for example `["--max-pages", "2"]`).
    #[serde(default)]
    pub args: Vec<String>,
}

/// `graphrag index` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexStage {
    /// The GraphRAG config file (retrieval and index settings; the store location is the
    /// pipeline's, under the artifacts root).
    pub config: PathBuf,
    /// The knowledge base.
    #[serde(default = "default_knowledge")]
    pub knowledge: PathBuf,
}

fn default_knowledge() -> PathBuf {
    PathBuf::from("data/knowledge")
}

/// `synth` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthStage {
    /// The synth config file.
    pub config: PathBuf,
    /// Generators to run: graph, calculation, llm.
    pub generators: Vec<String>,
    /// Hard USD cap for the LLM generator (overrides the config's `llm.max_cost_usd`).
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
    /// LLM provider override: auto, anthropic, openai or local.
    #[serde(default)]
    pub provider: Option<String>,
}

/// `dataset` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetStage {
    /// The dataset config file.
    pub config: PathBuf,
}

/// `trainer` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainStage {
    /// The trainer config file (model, LoRA, loop); its data paths are replaced by the dataset
    /// stage's splits and its runs directory by the profile's.
    pub config: PathBuf,
    /// Overrides the config's `train.steps` (a bounded run).
    #[serde(default)]
    pub steps: Option<u64>,
    /// Run ids are `<run_prefix>-<UTC time>`, so every training run keeps its own directory.
    pub run_prefix: String,
}

/// Comparative evaluation settings (`ask --batch` per configuration, then `evaluator score`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateStage {
    /// The evaluator config file.
    pub config: PathBuf,
    /// The assistant config file `ask` reads.
    #[serde(default = "default_assistant_config")]
    pub assistant_config: PathBuf,
    /// The language-model config file `ask` reads.
    #[serde(default = "default_llm_config")]
    pub llm_config: PathBuf,
    /// Also run the generating configurations: the model alone and over GraphRAG, base and
    /// fine-tuned.
    pub generate: bool,
    /// Keep only these configurations (default: every one that applies).
    #[serde(default)]
    pub configurations: Option<Vec<String>>,
    /// The question sets answered.
    #[serde(default = "default_sets")]
    pub sets: Vec<PathBuf>,
    /// Answer only N questions of each set, evenly spaced over it (0: all of them).
    #[serde(default)]
    pub questions_per_set: usize,
    /// Key points by keyword rules only (no embedding model).
    #[serde(default)]
    pub keywords_only: bool,
    /// The evaluation run's name (`<artifacts>/eval/<run>/`).
    pub run: String,
}

fn default_assistant_config() -> PathBuf {
    PathBuf::from("configs/assistant.toml")
}

fn default_llm_config() -> PathBuf {
    PathBuf::from("configs/llm.toml")
}

fn default_sets() -> Vec<PathBuf> {
    vec![
        PathBuf::from("data/eval/curated.jsonl"),
        PathBuf::from("data/eval/multihop.jsonl"),
    ]
}

/// Every configuration `evaluate` knows, in the order it runs them.
pub const CONFIGURATIONS: &[&str] = &[
    "structured-hybrid",
    "structured-bm25",
    "structured-vector",
    "structured-graph",
    "base-model-alone",
    "base+graphrag",
    "finetuned-alone",
    "finetuned+graphrag",
];

const GENERATORS: &[&str] = &["graph", "calculation", "llm"];
const PROVIDERS: &[&str] = &["auto", "anthropic", "openai", "local"];

impl Profile {
    /// Reads `configs/pipeline/<name>.toml` under `root`, or the file itself when `name` is a
    /// path to a `.toml` file.
    pub fn load(root: &Path, name: &str) -> Result<(Self, PathBuf)> {
        let path = if name.ends_with(".toml") {
            root.join(name)
        } else {
            root.join(PROFILE_DIR).join(format!("{name}.toml"))
        };
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading the pipeline profile {}; the shipped profiles are quick, full and tiny in {PROFILE_DIR}/",
                path.display()
            )
        })?;
        let profile: Self = toml::from_str(&text)
            .with_context(|| format!("parsing the pipeline profile {}", path.display()))?;
        profile
            .validate(root)
            .with_context(|| format!("invalid pipeline profile {}", path.display()))?;
        Ok((profile, path))
    }

    /// Checks every config file exists, every name is known and every number is in range.
    pub fn validate(&self, root: &Path) -> Result<()> {
        let mut problems = Vec::new();
        let mut file = |key: &str, path: &Path| {
            if !root.join(path).is_file() {
                problems.push(format!("{key}: {} is not a file", path.display()));
            }
        };
        file("collect.config", &self.collect.config);
        file("index.config", &self.index.config);
        file("synth.config", &self.synth.config);
        file("dataset.config", &self.dataset.config);
        file("train.config", &self.train.config);
        file("evaluate.config", &self.evaluate.config);
        file("evaluate.assistant_config", &self.evaluate.assistant_config);
        file("evaluate.llm_config", &self.evaluate.llm_config);
        for set in &self.evaluate.sets {
            file("evaluate.sets", set);
        }
        if !root.join(&self.index.knowledge).is_dir() {
            problems.push(format!(
                "index.knowledge: {} is not a directory",
                self.index.knowledge.display()
            ));
        }
        for (key, path) in [("artifacts", &self.artifacts), ("runs", &self.runs)] {
            if path.is_absolute() || path.as_os_str().is_empty() {
                problems.push(format!(
                    "{key}: give a non-empty path relative to the project root, got {:?}",
                    path.display()
                ));
            }
        }
        if self.synth.generators.is_empty() {
            problems.push("synth.generators: name at least one of graph, calculation, llm".into());
        }
        for g in &self.synth.generators {
            if !GENERATORS.contains(&g.as_str()) {
                problems.push(format!(
                    "synth.generators: {g:?} is not one of graph, calculation, llm"
                ));
            }
        }
        if let Some(cap) = self.synth.max_cost_usd
            && !(cap.is_finite() && cap >= 0.0)
        {
            problems.push(format!(
                "synth.max_cost_usd: a non-negative number of dollars, got {cap}"
            ));
        }
        if let Some(p) = &self.synth.provider
            && !PROVIDERS.contains(&p.as_str())
        {
            problems.push(format!(
                "synth.provider: {p:?} is not one of auto, anthropic, openai, local"
            ));
        }
        if self.train.steps == Some(0) {
            problems.push("train.steps: at least 1".into());
        }
        if !valid_name(&self.train.run_prefix) {
            problems.push(format!(
                "train.run_prefix: letters, digits, '-' and '_' only, got {:?}",
                self.train.run_prefix
            ));
        }
        if !valid_name(&self.evaluate.run) {
            problems.push(format!(
                "evaluate.run: letters, digits, '-' and '_' only, got {:?}",
                self.evaluate.run
            ));
        }
        if self.evaluate.sets.is_empty() {
            problems.push("evaluate.sets: name at least one question set".into());
        }
        if let Some(names) = &self.evaluate.configurations {
            if names.is_empty() {
                problems.push("evaluate.configurations: name at least one, or leave it out".into());
            }
            for name in names {
                if !CONFIGURATIONS.contains(&name.as_str()) {
                    problems.push(format!(
                        "evaluate.configurations: {name:?} is not one of {}",
                        CONFIGURATIONS.join(", ")
                    ));
                } else if !self.evaluate.generate && !name.starts_with("structured-") {
                    problems.push(format!(
                        "evaluate.configurations: {name:?} generates; set evaluate.generate = true"
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("{}", problems.join("; "))
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_validates() {
        let root = crate::project_root();
        for name in ["quick", "full", "tiny"] {
            let (profile, _) = Profile::load(&root, name).expect("shipped profile is valid");
            assert!(!profile.description.is_empty());
        }
    }

    #[test]
    fn a_profile_with_unknown_names_and_missing_files_is_refused_with_each_problem() {
        let root = crate::project_root();
        let (mut profile, _) = Profile::load(&root, "tiny").expect("tiny is valid");
        profile.synth.generators = vec!["graph".into(), "gpt".into()];
        profile.train.config = PathBuf::from("configs/pipeline/nope.toml");
        profile.evaluate.generate = false;
        profile.evaluate.configurations = Some(vec!["base+graphrag".into()]);
        let message = profile.validate(&root).expect_err("invalid").to_string();
        assert!(message.contains("\"gpt\" is not one of"), "{message}");
        assert!(message.contains("nope.toml is not a file"), "{message}");
        assert!(
            message.contains("set evaluate.generate = true"),
            "{message}"
        );
    }
}
