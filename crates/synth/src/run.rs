//! One synth run: load the knowledge base, generate, validate, write `qa/synthetic.parquet` and
//! `qa/rejects.parquet` and record both in the manifest; and the `--dry-run` cost estimate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use artifacts::{Manifest, QaPair, QaReject, StageFingerprint, Timestamp, write_artifact};
use knowledge::KnowledgeBase;
use serde::Serialize;

use tokio_util::sync::CancellationToken;

use crate::llm_qa::{
    ARXIV_PATH, CROSS_VALIDATED_PATH, LlmGenerator, LlmOutput, LlmSummary, load_sources,
};
use crate::prompt::{PromptTemplate, ReplyLimits};
use crate::provider::{self, ProviderChoice};
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

/// The graph and calculation candidates for `config`.
pub fn base_candidates(
    kb: &KnowledgeBase,
    config: &SynthConfig,
    graph_on: bool,
    calculation_on: bool,
) -> Result<Vec<Candidate>, SynthError> {
    let mut candidates = Vec::new();
    if graph_on {
        candidates.extend(graph::generate(kb, &config.graph, config.seed));
    }
    if calculation_on {
        candidates.extend(calc::generate(config.calculation.per_family, config.seed)?);
    }
    Ok(candidates)
}

/// Validates `candidates` in order (the near-duplicate rule depends on it), splitting them into
/// pairs and rejects.
pub fn validate_all(
    kb: &KnowledgeBase,
    config: &SynthConfig,
    candidates: Vec<Candidate>,
    created_at: Timestamp,
) -> Outcome {
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
    outcome
}

/// Generates and validates every graph and calculation candidate; pure apart from reading
/// nothing (the caller loads).
pub fn synthesize(
    kb: &KnowledgeBase,
    config: &SynthConfig,
    created_at: Timestamp,
) -> Result<Outcome, SynthError> {
    let candidates = base_candidates(kb, config, true, true)?;
    Ok(validate_all(kb, config, candidates, created_at))
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
    /// LLM pairs by source id.
    pub llm_pairs_by_source: BTreeMap<String, usize>,
    /// LLM rejects by reason.
    pub llm_reject_reasons: BTreeMap<String, usize>,
    /// The LLM generator's counts, tokens and cost.
    pub llm: LlmSummary,
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
            if p.generator == "llm" {
                *s.llm_pairs_by_source
                    .entry(p.source_id.clone())
                    .or_default() += 1;
            }
        }
        for r in &self.rejects {
            *s.reject_reasons.entry(r.reason.clone()).or_default() += 1;
            if r.generator == "llm" {
                *s.llm_reject_reasons.entry(r.reason.clone()).or_default() += 1;
            }
        }
        s
    }
}

/// What a run does besides what the config says.
#[derive(Debug)]
pub struct RunOptions {
    /// The LLM backend; `None` skips the LLM generator (with `skip_reason`).
    pub provider: Option<ProviderChoice>,
    /// Why there is no provider, for the summary.
    pub skip_reason: Option<String>,
    /// Overrides `llm.max_cost_usd`.
    pub max_cost_usd: Option<f64>,
    /// Stops the LLM generator (Ctrl-C): finished sources are kept and checkpointed.
    pub cancel: CancellationToken,
    /// Run the graph generator.
    pub graph: bool,
    /// Run the calculation generator.
    pub calculation: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            provider: None,
            skip_reason: Some("no language model was configured for this run".into()),
            max_cost_usd: None,
            cancel: CancellationToken::new(),
            graph: true,
            calculation: true,
        }
    }
}

/// Runs the LLM generator over the sources under the artifacts root.
fn generate_llm(
    config: &SynthConfig,
    options: RunOptions,
    created_at: Timestamp,
) -> Result<(LlmOutput, Vec<&'static str>), SynthError> {
    let g = &config.llm;
    let skipped = |reason: String| LlmOutput {
        summary: LlmSummary {
            provider: "none".into(),
            skipped: Some(reason),
            ..LlmSummary::default()
        },
        ..LlmOutput::default()
    };
    if !g.enabled {
        return Ok((skipped("llm.enabled is false".into()), Vec::new()));
    }
    let Some(choice) = options.provider else {
        let reason = options
            .skip_reason
            .unwrap_or_else(|| "no language model was configured for this run".into());
        return Ok((skipped(reason), Vec::new()));
    };
    let root = &config.output_root;
    let (sources, inputs) = load_sources(root, g)?;
    if sources.is_empty() {
        return Ok((
            skipped(format!(
                "no sources: neither {ARXIV_PATH} nor {CROSS_VALIDATED_PATH} is under {}; run the collector first",
                root.display()
            )),
            Vec::new(),
        ));
    }
    let template = PromptTemplate::load(&g.prompt)?;
    let llm_config = llm::LlmConfig::load(&config.llm_config)?;
    let cap = options.max_cost_usd.unwrap_or(g.max_cost_usd);
    let budget = llm::Budget::with_limit(llm_config.prices.clone(), cap);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(SynthError::Runtime)?;
    let limits = ReplyLimits {
        pairs: g.pairs_per_source,
        min_chars: config.validation.min_chars,
        max_question_chars: g.max_question_chars,
        max_answer_chars: g.max_answer_chars,
    };
    let mut output = runtime.block_on(async {
        let setup = provider::build(choice, g, &llm_config, budget, &root.join(&g.cache_dir))?;
        let generator = LlmGenerator {
            setup: &setup,
            template: &template,
            config: g,
            limits,
            checkpoint_dir: root.join(&g.checkpoint_dir),
            seed: config.seed,
            cancel: options.cancel.clone(),
        };
        let mut output = generator.generate(&sources, created_at).await;
        if let Some(budget) = &setup.budget {
            output.summary.cost_usd = budget.summary().spent_usd;
        }
        Ok::<_, SynthError>(output)
    })?;
    output.summary.max_cost_usd = Some(cap);
    Ok((output, inputs))
}

/// Runs the stage: synthesises, writes both artifacts atomically under `config.output_root` and
/// records them in its manifest with the config hash (the knowledge base is read from outside the
/// root, so its content enters through the config's knowledge path, not as a hashed input).
pub fn run(config: &SynthConfig) -> Result<Summary, SynthError> {
    run_with(config, RunOptions::default())
}

/// [`run`] with a language model and switches: graph and calculation candidates first, then the
/// LLM candidates in source order, all validated together. When the LLM generator stops early
/// (budget, interruption, provider error) the artifacts are still written, with what finished,
/// and the summary says why in `llm.stopped`.
pub fn run_with(config: &SynthConfig, options: RunOptions) -> Result<Summary, SynthError> {
    let kb = load_knowledge(&config.knowledge_dir)?;
    let created_at = Timestamp::now();
    let mut candidates = base_candidates(&kb, config, options.graph, options.calculation)?;
    let (llm_output, inputs) = generate_llm(config, options, created_at)?;
    candidates.extend(llm_output.candidates);
    let mut outcome = validate_all(&kb, config, candidates, created_at);
    outcome.rejects.extend(llm_output.rejects);
    let root = &config.output_root;
    let fingerprint = StageFingerprint::new(root, STAGE, config, &inputs)?;
    let mut manifest = Manifest::load(root)?;
    let written = write_artifact(root.join(PAIRS_PATH), &outcome.pairs)?;
    manifest.record(root, &written, &fingerprint);
    let written = write_artifact(root.join(REJECTS_PATH), &outcome.rejects)?;
    manifest.record(root, &written, &fingerprint);
    manifest.save(root)?;
    let mut summary = outcome.summary(root);
    summary.llm = llm_output.summary;
    Ok(summary)
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
    estimate_for(config, sources, sources_from, &config.llm.anthropic.model)
}

/// [`estimate`] for `model` (which must have a price).
pub fn estimate_for(
    config: &SynthConfig,
    sources: usize,
    sources_from: String,
    model: &str,
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
        .price(model)
        .ok_or_else(|| SynthError::Config {
            path: config.llm_config.clone(),
            detail: format!("no price for model {model:?}; add it to [prices.models]"),
        })?;
    Ok(Estimate {
        sources,
        sources_from,
        model: model.to_owned(),
        calls: base_calls + repairs,
        input_tokens,
        output_tokens,
        usd: price.cost(input_tokens, output_tokens),
        prices_as_of: llm_config.prices.as_of.clone(),
    })
}
