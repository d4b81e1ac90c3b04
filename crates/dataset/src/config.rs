//! `configs/dataset.toml`: where inputs and outputs live, the cleaning limits, the dedup and
//! decontamination thresholds, the split fractions and the chat formatting.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DatasetError;

/// The whole dataset configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Seed of the split.
    pub seed: u64,
    /// The artifacts root: inputs are read from `raw/` and `qa/` under it, outputs go to
    /// `dataset/`.
    pub output_root: PathBuf,
    /// The knowledge base, whose labelled questions are an evaluation set.
    pub knowledge_dir: PathBuf,
    /// The evaluator's test sets (JSONL, one object with a string `question` per line); absent
    /// files are skipped with a note.
    pub eval_sets: Vec<PathBuf>,
    /// A folder of extra Q&A files (`*.jsonl`, `*.parquet`); absent is fine.
    pub extra_dir: PathBuf,
    /// Which upstream artifacts to read.
    pub inputs: InputConfig,
    /// Cleaning limits.
    pub clean: CleanConfig,
    /// Near-duplicate removal.
    pub dedup: MinHashConfig,
    /// Decontamination against the evaluation sets.
    pub decontamination: MinHashConfig,
    /// Split fractions.
    pub split: SplitConfig,
    /// Chat formatting and token limits.
    pub format: FormatConfig,
}

/// Which upstream artifacts are combined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Read `raw/cross_validated.parquet` when it exists.
    pub cross_validated: bool,
    /// Read `qa/synthetic.parquet` when it exists.
    pub synth: bool,
    /// Without an accepted answer, the best answer is used only at or above this score.
    pub min_answer_score: i64,
}

/// Cleaning limits, in characters after normalization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanConfig {
    /// Shortest question kept.
    pub min_question_chars: usize,
    /// Longest question kept.
    pub max_question_chars: usize,
    /// Shortest answer kept.
    pub min_answer_chars: usize,
    /// Longest answer kept.
    pub max_answer_chars: usize,
    /// An answer whose share of non-space characters inside URLs exceeds this is mostly a link.
    pub max_link_share: f64,
    /// An answer with fewer words outside URLs than this (and at least one URL) is mostly a link.
    pub min_words_outside_links: usize,
}

/// What a shingle is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShingleUnit {
    /// Runs of consecutive words.
    Words,
    /// Runs of consecutive characters (robust to typos in short texts).
    Chars,
}

/// Which text of a pair near-duplicate detection compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupField {
    /// The question only.
    Question,
    /// The question and the answer together.
    QuestionAnswer,
}

/// MinHash LSH settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinHashConfig {
    /// Shingle unit.
    pub shingle: ShingleUnit,
    /// Shingle length in units.
    pub shingle_size: usize,
    /// Jaccard similarity at or above which two texts are near duplicates.
    pub threshold: f64,
    /// Hash functions in a signature (bands × rows are chosen from the threshold).
    pub num_perm: usize,
    /// What is compared (dedup only; decontamination always compares questions).
    #[serde(default = "default_field")]
    pub field: DedupField,
}

fn default_field() -> DedupField {
    DedupField::Question
}

/// Split fractions; they must sum to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Share of rows for training.
    pub train: f64,
    /// Share for validation.
    pub val: f64,
    /// Share for test.
    pub test: f64,
}

/// What happens to a conversation over the token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruncationPolicy {
    /// Cut the answer at a token boundary so the conversation fits, and mark the row.
    TruncateAnswer,
    /// Drop the row.
    Drop,
}

/// Chat formatting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatConfig {
    /// The model GGUF whose template and tokenizer are used; empty means the asset cache's chat
    /// model (resolved by the binary).
    pub gguf: PathBuf,
    /// An HF `tokenizer_config.json` whose `chat_template` replaces the GGUF's; empty for none.
    pub tokenizer_config: PathBuf,
    /// An HF `tokenizer.json` that replaces the GGUF's tokenizer; empty for none.
    pub tokenizer_json: PathBuf,
    /// The system turn of every conversation; empty for none.
    pub system_prompt: String,
    /// `date_string` given to templates that print a date (Llama 3), fixed for reproducibility.
    pub date_string: String,
    /// Longest conversation in tokens.
    pub max_total_tokens: usize,
    /// A prompt must leave at least this many tokens for the answer, or the row is dropped.
    pub min_answer_tokens: usize,
    /// What happens to over-long conversations.
    pub truncation: TruncationPolicy,
}

impl DatasetConfig {
    /// Parses and validates TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, DatasetError> {
        let config: Self = toml::from_str(text).map_err(|e| DatasetError::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        config.validate().map_err(|detail| DatasetError::Config {
            path: path.to_path_buf(),
            detail,
        })?;
        Ok(config)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Self, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Checks the values that TOML types alone do not.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.split;
        for (name, v) in [("train", s.train), ("val", s.val), ("test", s.test)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "split.{name} is {v}, expected a share between 0 and 1"
                ));
            }
        }
        let sum = s.train + s.val + s.test;
        if (sum - 1.0).abs() > 1e-6 {
            return Err(format!("split shares sum to {sum}, expected 1"));
        }
        for (name, m) in [
            ("dedup", &self.dedup),
            ("decontamination", &self.decontamination),
        ] {
            if !(m.threshold > 0.0 && m.threshold <= 1.0) {
                return Err(format!(
                    "{name}.threshold is {}, expected a Jaccard similarity in (0, 1]",
                    m.threshold
                ));
            }
            if m.shingle_size == 0 || m.num_perm < 8 || m.num_perm > 1024 {
                return Err(format!(
                    "{name}: shingle_size must be at least 1 and num_perm between 8 and 1024"
                ));
            }
        }
        let c = &self.clean;
        if c.min_question_chars > c.max_question_chars || c.min_answer_chars > c.max_answer_chars {
            return Err("clean: a minimum length exceeds its maximum".into());
        }
        if !(0.0..=1.0).contains(&c.max_link_share) {
            return Err(format!(
                "clean.max_link_share is {}, expected a share between 0 and 1",
                c.max_link_share
            ));
        }
        let f = &self.format;
        if f.max_total_tokens == 0 || f.min_answer_tokens >= f.max_total_tokens {
            return Err("format: max_total_tokens must exceed min_answer_tokens".into());
        }
        Ok(())
    }
}
