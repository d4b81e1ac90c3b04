//! The run configuration (`configs/train-*.toml`), validated before anything is loaded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TrainerError;
use crate::lora::{ALL_TARGETS, LoraSettings};

/// Where the base model comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// A Llama GGUF file (its tokenizer and chat template are used too).
    #[serde(default)]
    pub gguf: Option<PathBuf>,
    /// An HF model directory (`config.json`, safetensors, `tokenizer.json`,
    /// `tokenizer_config.json`).
    #[serde(default)]
    pub hf_dir: Option<PathBuf>,
    /// A randomly initialised model of a named shape (`tiny` or `llama-3.2-3b`), for tests and
    /// speed checks; the tokenizer then comes from `tokenizer_gguf`.
    #[serde(default)]
    pub random: Option<String>,
    /// The GGUF whose tokenizer and template a random model uses.
    #[serde(default)]
    pub tokenizer_gguf: Option<PathBuf>,
    /// The name written as `base_model_name_or_path` in the PEFT config.
    #[serde(default)]
    pub base_model_name: Option<String>,
}

/// The data files and sequence handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    /// `dataset.rows` Parquet used for training.
    pub train: PathBuf,
    /// `dataset.rows` Parquet used for validation loss (optional).
    #[serde(default)]
    pub val: Option<PathBuf>,
    /// Longer conversations are cut here.
    #[serde(default = "default_seq")]
    pub max_seq_len: usize,
    /// Pack several conversations per sequence instead of padding.
    #[serde(default)]
    pub packing: bool,
}

fn default_seq() -> usize {
    512
}

/// Base-weight storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantSettings {
    /// NF4 base (QLoRA); `false` is plain LoRA on a dense base.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Quantize the NF4 absmax values too.
    #[serde(default = "yes")]
    pub double_quant: bool,
}

fn yes() -> bool {
    true
}

impl Default for QuantSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            double_quant: true,
        }
    }
}

/// The optimisation loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopSettings {
    /// Optimizer steps.
    pub steps: u64,
    /// Sequences per micro-batch.
    #[serde(default = "one")]
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    #[serde(default = "one")]
    pub grad_accum: usize,
    /// Peak learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Linear warmup steps.
    #[serde(default)]
    pub warmup_steps: u64,
    /// The cosine floor as a share of `lr`.
    #[serde(default = "default_min_ratio")]
    pub min_lr_ratio: f64,
    /// AdamW decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// AdamW betas.
    #[serde(default = "default_betas")]
    pub betas: (f64, f64),
    /// AdamW epsilon.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Global gradient-norm limit (0 disables clipping).
    #[serde(default = "one_f")]
    pub clip_norm: f64,
    /// Validation every this many steps (0: only at the end).
    #[serde(default)]
    pub eval_every: u64,
    /// Validation batches per evaluation (0: the whole validation set).
    #[serde(default)]
    pub eval_batches: usize,
    /// Checkpoint every this many steps (0: only at the end).
    #[serde(default)]
    pub checkpoint_every: u64,
    /// Seed of the data order, LoRA initialisation and dropout.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// libtorch intra-op threads (0 keeps libtorch's default).
    #[serde(default)]
    pub threads: i32,
    /// Train on CUDA when the binary has the `cuda` feature and a device is visible.
    #[serde(default = "yes")]
    pub use_cuda: bool,
    /// Recompute each decoder block in the backward pass instead of keeping its activations
    /// (about one extra forward pass of compute for activation memory of one block).
    #[serde(default)]
    pub gradient_checkpointing: bool,
}

fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}
fn default_lr() -> f64 {
    2e-4
}
fn default_min_ratio() -> f64 {
    0.1
}
fn default_betas() -> (f64, f64) {
    (0.9, 0.999)
}
fn default_eps() -> f64 {
    1e-8
}
fn default_seed() -> u64 {
    42
}

/// What the report assumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Price of one GPU-hour, for the cost estimate.
    #[serde(default = "default_price")]
    pub usd_per_gpu_hour: f64,
}

fn default_price() -> f64 {
    2.5
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            usd_per_gpu_hour: default_price(),
        }
    }
}

/// Optional outputs beyond the adapters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSettings {
    /// Also write the base with the adapters merged in: `merged/` (HF safetensors, f32) and,
    /// when the tokenizer comes from a GGUF, `merged.gguf` (f32) for llama.cpp.
    #[serde(default)]
    pub merged: bool,
}

/// A whole training run's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// The run's directory name under `runs_dir`.
    pub run_id: String,
    /// Where run directories go.
    #[serde(default = "default_runs")]
    pub runs_dir: PathBuf,
    /// The base model.
    pub model: ModelSettings,
    /// The data.
    pub data: DataSettings,
    /// The adapters.
    #[serde(default)]
    pub lora: LoraSettings,
    /// Base quantization.
    #[serde(default)]
    pub quant: QuantSettings,
    /// The loop.
    pub train: LoopSettings,
    /// The report.
    #[serde(default)]
    pub report: ReportSettings,
    /// Optional exports.
    #[serde(default)]
    pub export: ExportSettings,
}

fn default_runs() -> PathBuf {
    PathBuf::from("runs")
}

impl TrainSettings {
    /// Reads and validates a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, TrainerError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainerError::Io {
            action: "read the training config",
            path: path.to_path_buf(),
            source,
        })?;
        let s: Self = toml::from_str(&text).map_err(|e| TrainerError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// The run directory.
    pub fn run_dir(&self) -> PathBuf {
        self.runs_dir.join(&self.run_id)
    }

    /// Checks every range and combination.
    pub fn validate(&self) -> Result<(), TrainerError> {
        let bad = |field: &'static str, detail: String| {
            Err(TrainerError::InvalidSetting { field, detail })
        };
        if self.run_id.is_empty()
            || !self
                .run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || self.run_id.starts_with('.')
        {
            return bad(
                "run_id",
                format!(
                    "`{}` must be non-empty ASCII letters, digits, `-`, `_` or `.`",
                    self.run_id
                ),
            );
        }
        let m = &self.model;
        let sources = usize::from(m.gguf.is_some())
            + usize::from(m.hf_dir.is_some())
            + usize::from(m.random.is_some());
        if sources > 1 {
            return bad(
                "model",
                "set exactly one of `gguf`, `hf_dir` and `random`".into(),
            );
        }
        if let Some(r) = &m.random {
            if r != "tiny" && r != "llama-3.2-3b" {
                return bad(
                    "model.random",
                    format!("`{r}` is not a known shape; use `tiny` or `llama-3.2-3b`"),
                );
            }
            if m.tokenizer_gguf.is_none() {
                return bad(
                    "model.tokenizer_gguf",
                    "a random model needs a GGUF to take its tokenizer from".into(),
                );
            }
        }
        if self.data.max_seq_len < 8 {
            return bad(
                "data.max_seq_len",
                format!("must be at least 8, got {}", self.data.max_seq_len),
            );
        }
        let l = &self.lora;
        if l.r <= 0 || l.r > 1024 {
            return bad("lora.r", format!("must be in 1..=1024, got {}", l.r));
        }
        if !(l.alpha > 0.0) {
            return bad("lora.alpha", format!("must be positive, got {}", l.alpha));
        }
        if !(0.0..1.0).contains(&l.dropout) {
            return bad(
                "lora.dropout",
                format!("must be in [0, 1), got {}", l.dropout),
            );
        }
        if l.target_modules.is_empty() {
            return bad("lora.target_modules", "name at least one module".into());
        }
        if let Some(t) = l
            .target_modules
            .iter()
            .find(|t| !ALL_TARGETS.contains(&t.as_str()))
        {
            return bad(
                "lora.target_modules",
                format!("`{t}` is not one of {ALL_TARGETS:?}"),
            );
        }
        let t = &self.train;
        if t.steps == 0 {
            return bad("train.steps", "must be at least 1".into());
        }
        if t.batch_size == 0 || t.grad_accum == 0 {
            return bad(
                "train.batch_size",
                "batch_size and grad_accum must be at least 1".into(),
            );
        }
        if !(t.lr > 0.0 && t.lr < 1.0) {
            return bad("train.lr", format!("must be in (0, 1), got {}", t.lr));
        }
        if t.warmup_steps > t.steps {
            return bad(
                "train.warmup_steps",
                format!("{} exceeds the {} steps", t.warmup_steps, t.steps),
            );
        }
        if !(0.0..=1.0).contains(&t.min_lr_ratio) {
            return bad(
                "train.min_lr_ratio",
                format!("must be in [0, 1], got {}", t.min_lr_ratio),
            );
        }
        if !(t.weight_decay >= 0.0) || !(t.clip_norm >= 0.0) || !(t.eps > 0.0) {
            return bad(
                "train.weight_decay",
                "weight_decay and clip_norm must be >= 0 and eps > 0".into(),
            );
        }
        if !(0.0..1.0).contains(&t.betas.0) || !(0.0..1.0).contains(&t.betas.1) {
            return bad(
                "train.betas",
                format!("both must be in [0, 1), got {:?}", t.betas),
            );
        }
        if t.threads < 0 {
            return bad("train.threads", format!("must be >= 0, got {}", t.threads));
        }
        if !(self.report.usd_per_gpu_hour >= 0.0) {
            return bad("report.usd_per_gpu_hour", "must be >= 0".into());
        }
        Ok(())
    }
}
