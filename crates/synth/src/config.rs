//! `configs/synth.toml`: the seed, how much each generator produces, the validation thresholds and
//! the figures the `--dry-run` estimate of the LLM generator uses.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SynthError;

/// The whole synth configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// The knowledge base directory.
    pub knowledge_dir: PathBuf,
    /// The artifacts root (outputs go to `qa/` under it).
    pub output_root: PathBuf,
    /// The `llm` crate's config, read for its price table.
    pub llm_config: PathBuf,
    /// Graph generator settings.
    pub graph: GraphConfig,
    /// Calculation generator settings.
    pub calculation: CalculationConfig,
    /// Validation thresholds.
    pub validation: ValidationConfig,
    /// The LLM generator (generator 1).
    pub llm: LlmGeneratorConfig,
}

/// How much the graph generator produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    /// Definition phrasings per concept (distinct templates, chosen by seed).
    pub definition_phrasings: usize,
    /// Phrasings per relation.
    pub relation_phrasings: usize,
    /// Two-hop paths sampled for multi-hop pairs.
    pub multi_hop_paths: usize,
}

/// How much the calculation generator produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalculationConfig {
    /// Pairs per calculation family.
    pub per_family: usize,
}

/// Validation thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// Shortest question or answer, in characters.
    pub min_chars: usize,
    /// Longest question or answer, in characters.
    pub max_chars: usize,
    /// Word-3-shingle Jaccard at or above which two questions are near duplicates.
    pub near_duplicate_jaccard: f64,
    /// Smallest share of an answer's content words that must occur in its source text.
    pub min_grounding_overlap: f64,
}

/// Generator 1: Q&A pairs written by a language model from arXiv abstracts and Cross Validated
/// posts, and the figures the `--dry-run` estimate assumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmGeneratorConfig {
    /// Whether the generator runs at all (it also needs a provider; see `provider`).
    pub enabled: bool,
    /// `auto` (Anthropic when `ANTHROPIC_API_KEY` is set, else `fallback`), `anthropic`,
    /// `openai` or `local`.
    pub provider: String,
    /// What `auto` uses without a key: `none` (skip the generator), `openai` or `local`.
    pub fallback: String,
    /// The versioned prompt template file (relative to the working directory).
    pub prompt: PathBuf,
    /// Pairs asked for per source; their types cycle through definition, methodology,
    /// comparison, best practice and a free choice.
    pub pairs_per_source: usize,
    /// Also use `raw/cross_validated.parquet` when it exists.
    pub include_cross_validated: bool,
    /// Source text beyond this many characters is cut (long posts).
    pub max_source_chars: usize,
    /// Longest question the output schema allows, in characters.
    pub max_question_chars: usize,
    /// Longest answer the output schema allows, in characters.
    pub max_answer_chars: usize,
    /// Completion tokens per call.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Sources generated at once.
    pub concurrency: usize,
    /// Timeout of one call, in seconds.
    pub call_timeout_seconds: u64,
    /// The hard cap in USD for one run (`--max-cost-usd` overrides it).
    pub max_cost_usd: f64,
    /// The response cache, relative to the artifacts root.
    pub cache_dir: PathBuf,
    /// Per-source checkpoints, relative to the artifacts root.
    pub checkpoint_dir: PathBuf,
    /// The Anthropic Messages API.
    pub anthropic: AnthropicSettings,
    /// An OpenAI-compatible server (Ollama, vLLM, llama.cpp server).
    pub openai: OpenAiSettings,
    /// The local llama.cpp model.
    pub local: LocalSettings,
    /// Sources assumed by `--dry-run` when `raw/arxiv.parquet` is absent (the seed scale).
    pub default_sources: usize,
    /// Prompt tokens per call besides the source text (template and instructions), for the
    /// estimate.
    pub prompt_overhead_tokens: u64,
    /// Average source text length in characters (an arXiv abstract), for the estimate.
    pub source_chars: u64,
    /// Completion tokens per pair, for the estimate.
    pub output_tokens_per_pair: u64,
    /// Share of calls expected to need one repair call for malformed JSON, for the estimate.
    pub repair_rate: f64,
}

/// Where the Anthropic Messages API is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnthropicSettings {
    /// Base URL without `/v1`.
    pub base_url: String,
    /// Model id; it must have a price in `configs/llm.toml`.
    pub model: String,
}

/// Where an OpenAI-compatible server is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiSettings {
    /// Base URL up to and including `/v1`.
    pub base_url: String,
    /// The model name the server knows; it must have a price (0 for own hardware).
    pub model: String,
}

/// The local llama.cpp model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// The GGUF file; empty means the asset cache's chat model (resolved by the binary).
    pub model_path: PathBuf,
    /// KV tokens per sequence (prompt plus output).
    pub context_per_sequence: u32,
    /// Sequences decoded together.
    pub max_parallel: u32,
    /// llama.cpp threads; 0 picks the llm crate's default.
    pub threads: u32,
}

impl LlmGeneratorConfig {
    /// Checks the values a run depends on.
    pub fn validate(&self) -> Result<(), String> {
        if !["auto", "anthropic", "openai", "local"].contains(&self.provider.as_str()) {
            return Err(format!(
                "llm.provider must be auto, anthropic, openai or local, got {:?}",
                self.provider
            ));
        }
        if !["none", "openai", "local"].contains(&self.fallback.as_str()) {
            return Err(format!(
                "llm.fallback must be none, openai or local, got {:?}",
                self.fallback
            ));
        }
        if self.pairs_per_source == 0 || self.pairs_per_source > 20 {
            return Err(format!(
                "llm.pairs_per_source must be between 1 and 20, got {}",
                self.pairs_per_source
            ));
        }
        if self.concurrency == 0 || self.max_tokens == 0 || self.call_timeout_seconds == 0 {
            return Err(
                "llm.concurrency, llm.max_tokens and llm.call_timeout_seconds must be positive"
                    .into(),
            );
        }
        if !(self.max_cost_usd.is_finite() && self.max_cost_usd >= 0.0) {
            return Err(format!(
                "llm.max_cost_usd must be a non-negative number, got {}",
                self.max_cost_usd
            ));
        }
        if self.max_question_chars < 20 || self.max_answer_chars < 20 || self.max_source_chars < 100
        {
            return Err("llm.max_question_chars and llm.max_answer_chars must be at least 20 and llm.max_source_chars at least 100".into());
        }
        Ok(())
    }
}

impl SynthConfig {
    /// Parses TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SynthError> {
        let config: Self = toml::from_str(text).map_err(|e| SynthError::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        config.llm.validate().map_err(|detail| SynthError::Config {
            path: path.to_path_buf(),
            detail,
        })?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, SynthError> {
        let text = std::fs::read_to_string(path).map_err(|e| SynthError::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, path)
    }
}
