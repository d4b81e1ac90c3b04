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
    /// The LLM generator, estimated by `--dry-run` only for now.
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

/// What the dry run assumes about the LLM generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmGeneratorConfig {
    /// The model priced.
    pub model: String,
    /// Pairs asked for per source.
    pub pairs_per_source: usize,
    /// Sources assumed when `raw/arxiv.parquet` is absent (the seed scale).
    pub default_sources: usize,
    /// Prompt tokens per call besides the source text (template and instructions).
    pub prompt_overhead_tokens: u64,
    /// Average source text length in characters (an arXiv abstract).
    pub source_chars: u64,
    /// Completion tokens per pair.
    pub output_tokens_per_pair: u64,
    /// Share of calls expected to need one repair call.
    pub repair_rate: f64,
}

impl SynthConfig {
    /// Parses TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SynthError> {
        toml::from_str(text).map_err(|e| SynthError::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
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
