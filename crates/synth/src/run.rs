//! One synth run: load the knowledge base, generate, validate, write `qa/synthetic.parquet` and
//! `qa/rejects.parquet` and record both in the manifest; and the `--dry-run` cost estimate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use artifacts::{Manifest, QaPair, QaReject, StageFingerprint, Timestamp, write_artifact};
use knowledge::KnowledgeBase;
use serde::Serialize;

use crate::validate::Validator;
use crate::{Candidate, SynthConfig, SynthError, calc, graph};

/// Relative path of the pairs artifact under the artifacts root.
pub const PAIRS_PATH: &str = "qa/synthetic.parquet";
/// Relative path of the rejects artifact under the artifacts root.
pub const REJECTS_PATH: &str = "qa/rejects.parquet";
/// The stage name recorded in the manifest.
pub const STAGE: &str = "synth";

/// FNV-1a of a string: a seed offset that does not depend on the platform or Rust version.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Loads and validates the knowledge base, failing on any finding.
pub fn load_knowledge(dir: &Path) -> Result<KnowledgeBase, SynthError> {
    let fail = |count: usize, first: String| SynthError::Knowledge {
        dir: dir.to_path_buf(),
        count,
        first,
    };
    let validated = knowledge::load(dir).map_err(|e| fail(1, e.to_string()))?;
    validated.into_result().map_err(|findings| {
        let first = findings
            .first()
            .map(|f| format!("{}: {}", f.location, f.message))
            .unwrap_or_default();
        fail(findings.len(), first)
    })
}

/// Pairs and rejects of one run, before writing.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Accepted pairs.
    pub pairs: Vec<QaPair>,
    /// Rejected candidates.
    pub rejects: Vec<QaReject>,
}

/// Generates and validates every candidate; pure apart from reading nothing (the caller loads).
pub fn synthesize(
    kb: &KnowledgeBase,
    config: &SynthConfig,
    created_at: Timestamp,
) -> Result<Outcome, SynthError> {
    let mut candidates: Vec<Candidate> = graph::generate(kb, &config.graph, config.seed);
    candidates.extend(calc::generate(config.calculation.per_family, config.seed)?);
    let mut validator = Validator::new(
        config.validation.clone(),
        kb.questions.iter().map(|q| q.text.as_str()),
    );
    let mut outcome = Outcome::default();
    for c in candidates {
        match validator.check(&c) {
            Ok(()) => outcome.pairs.push(c.into_pair(created_at)),
            Err(r) => outcome.rejects.push(QaReject {
                qa_id: c.qa_id(),
                question: c.question,
                answer: c.answer,
                generator: c.generator,
                source_id: c.source_id,
                reason: r.reason.to_owned(),
                detail: r.detail,
                created_at,
            }),
        }
    }
    Ok(outcome)
}

/// Counts for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Accepted pairs.
    pub pairs: usize,
    /// Rejected candidates.
    pub rejects: usize,
    /// Pairs by generator.
    pub by_generator: BTreeMap<String, usize>,
    /// Pairs by question type.
    pub by_type: BTreeMap<String, usize>,
    /// Pairs by source kind.
    pub by_source_kind: BTreeMap<String, usize>,
    /// Rejects by reason.
    pub reject_reasons: BTreeMap<String, usize>,
    /// Where the pairs were written.
    pub pairs_path: PathBuf,
    /// Where the rejects were written.
    pub rejects_path: PathBuf,
}

impl Outcome {
    /// Counts by generator, type, source kind and rejection reason.
    pub fn summary(&self, root: &Path) -> Summary {
        let mut s = Summary {
            pairs: self.pairs.len(),
            rejects: self.rejects.len(),
            pairs_path: root.join(PAIRS_PATH),
            rejects_path: root.join(REJECTS_PATH),
            ..Summary::default()
        };
        for p in &self.pairs {
            *s.by_generator.entry(p.generator.clone()).or_default() += 1;
            *s.by_type.entry(p.qa_type.clone()).or_default() += 1;
            *s.by_source_kind.entry(p.source_kind.clone()).or_default() += 1;
        }
        for r in &self.rejects {
            *s.reject_reasons.entry(r.reason.clone()).or_default() += 1;
        }
        s
    }
}

/// Runs the stage: synthesises, writes both artifacts atomically under `config.output_root` and
/// records them in its manifest with the config hash (the knowledge base is read from outside the
/// root, so its content enters through the config's knowledge path, not as a hashed input).
pub fn run(config: &SynthConfig) -> Result<Summary, SynthError> {
    let kb = load_knowledge(&config.knowledge_dir)?;
    let outcome = synthesize(&kb, config, Timestamp::now())?;
    let root = &config.output_root;
    let fingerprint = StageFingerprint::new(root, STAGE, config, &[])?;
    let mut manifest = Manifest::load(root)?;
    let written = write_artifact(root.join(PAIRS_PATH), &outcome.pairs)?;
    manifest.record(root, &written, &fingerprint);
    let written = write_artifact(root.join(REJECTS_PATH), &outcome.rejects)?;
    manifest.record(root, &written, &fingerprint);
    manifest.save(root)?;
    Ok(outcome.summary(root))
}

/// What the LLM generator would cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Sources the estimate covers.
    pub sources: usize,
    /// Where the source count came from.
    pub sources_from: String,
    /// Model priced.
    pub model: String,
    /// Calls, including expected repair calls.
    pub calls: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in USD at the dated prices.
    pub usd: f64,
    /// The date of the price table.
    pub prices_as_of: String,
}

/// Estimates the LLM generator for `sources` sources with the prices of `config.llm_config`.
pub fn estimate(
    config: &SynthConfig,
    sources: usize,
    sources_from: String,
) -> Result<Estimate, SynthError> {
    let llm_config = llm::LlmConfig::load(&config.llm_config)?;
    let g = &config.llm;
    let base_calls = sources as u64;
    let repairs = (base_calls as f64 * g.repair_rate).ceil() as u64;
    // One token per three bytes: the same upper estimate `llm` uses before sending.
    let prompt = g.prompt_overhead_tokens + g.source_chars.div_ceil(3);
    let completion = g.output_tokens_per_pair * g.pairs_per_source as u64;
    // A repair call resends the prompt with the failed output appended.
    let input_tokens = base_calls * prompt + repairs * (prompt + completion);
    let output_tokens = (base_calls + repairs) * completion;
    let price = llm_config
        .prices
        .price(&g.model)
        .ok_or_else(|| SynthError::Config {
            path: config.llm_config.clone(),
            detail: format!(
                "no price for model {:?}; add it to [prices.models]",
                g.model
            ),
        })?;
    Ok(Estimate {
        sources,
        sources_from,
        model: g.model.clone(),
        calls: base_calls + repairs,
        input_tokens,
        output_tokens,
        usd: price.cost(input_tokens, output_tokens),
        prices_as_of: llm_config.prices.as_of.clone(),
    })
}
