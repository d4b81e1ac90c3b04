//! Pipeline stage 2: synthetic question–answer pairs for fine-tuning. Two generators run without
//! any language model: [`graph`] builds definition, explanation, multi-hop and practice pairs from
//! the curated knowledge base (`data/knowledge`, through the `knowledge` crate), and [`calc`] draws
//! realistic experiment parameters and answers with the exact numbers of the `stats` calculator.
//! The third, [`llm_qa`], has a language model write pairs from the collector's arXiv abstracts
//! and Cross Validated posts (`raw.arxiv`, `raw.cross_validated`), with a versioned prompt
//! ([`prompt`], templates in `configs/prompts/`), a JSON reply schema that is checked (and, where
//! the backend can, enforced), one repair call, a hard USD cap, a response cache and per-source
//! checkpoints. Every candidate goes through [`validate`]; the survivors are written as
//! `qa/synthetic.parquet` (`qa.pairs`) and the failures, each with its reason, as
//! `qa/rejects.parquet` (`qa.rejects`), both through `artifacts` and recorded in the run manifest
//! ([`run`]).
//!
//! What this crate must not depend on: no other stage crate (`collector`, `dataset`, `trainer`,
//! `evaluator`); it reads their outputs only as artifacts. It makes no HTTP calls of its own:
//! every model call goes through `llm` (its clients, budget and cache). The library reads no
//! environment and resolves no model: the binary reads `ANTHROPIC_API_KEY` and finds the local
//! GGUF through `assets`, then hands them in ([`provider::ProviderChoice`]).
//!
//! Design choice: the graph and calculation generators are pure functions of `(knowledge, seed,
//! config)` and stamp every pair with a caller-given timestamp, so a run is reproducible byte for
//! byte and a snapshot test can pin a sample. Correctness comes from construction, not from
//! review: a graph answer only recombines the curated text of the concepts and edges it names,
//! and a calculation answer only prints what `stats` returned for the inputs recorded in
//! `calculation_json`, which a test recomputes. The LLM generator checkpoints raw replies, not
//! validated pairs, and validation runs once over all candidates in source order after
//! generation: the near-duplicate rule depends on order, so this is what makes a resumed run's
//! output equal an uninterrupted one's.

pub mod calc;
pub mod config;
mod error;
pub mod graph;
pub mod llm_qa;
pub mod prompt;
pub mod provider;
pub mod run;
pub mod validate;

pub use config::SynthConfig;
pub use error::SynthError;

use sha2::{Digest, Sha256};

/// A generated pair before validation, with the text it was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// See [`artifacts::QaPair::qa_type`].
    pub qa_type: String,
    /// `graph` or `calculation`.
    pub generator: String,
    /// `concept`, `relation`, `path`, `playbook` or `calculator`.
    pub source_kind: String,
    /// The source's id.
    pub source_id: String,
    /// The source's URL, when it has one.
    pub source_url: Option<String>,
    /// The source's title, when it has one.
    pub source_title: Option<String>,
    /// For calculation pairs, the inputs and outputs as JSON.
    pub calculation_json: Option<String>,
    /// The text the answer must be grounded in, when grounding is checked.
    pub source_text: Option<String>,
    /// The source's licence, when it has one.
    pub license: Option<String>,
    /// For LLM pairs: which model wrote it, with which prompt, at what cost.
    pub provenance: Option<LlmProvenance>,
}

/// Where an LLM pair came from and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmProvenance {
    /// `anthropic`, `openai-compatible` or `local`.
    pub provider: String,
    /// The model id.
    pub model: String,
    /// The prompt template version.
    pub prompt_version: String,
    /// Hex SHA-256 of the rendered prompt.
    pub prompt_hash: String,
    /// This pair's share of the call's prompt tokens.
    pub input_tokens: u64,
    /// This pair's share of the call's completion tokens.
    pub output_tokens: u64,
    /// This pair's share of the call's cost in USD.
    pub cost_usd: f64,
}

impl Candidate {
    /// A stable id: the first 16 hex digits of SHA-256 over generator, source and question.
    pub fn qa_id(&self) -> String {
        Self::id_of(&[&self.generator, &self.source_id, &self.question])
    }

    /// The first 16 hex digits of SHA-256 over `parts`, each followed by a zero byte.
    pub fn id_of(parts: &[&str]) -> String {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        hasher
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The artifact row for this candidate, stamped `created_at`.
    pub fn into_pair(self, created_at: artifacts::Timestamp) -> artifacts::QaPair {
        let p = self.provenance.as_ref();
        let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        artifacts::QaPair {
            qa_id: self.qa_id(),
            question: self.question,
            answer: self.answer,
            qa_type: self.qa_type,
            generator: self.generator,
            source_kind: self.source_kind,
            source_id: self.source_id,
            source_url: self.source_url,
            source_title: self.source_title,
            license: self.license.clone(),
            provider: p.map(|p| p.provider.clone()),
            model: p.map(|p| p.model.clone()),
            prompt_version: p.map(|p| p.prompt_version.clone()),
            prompt_hash: p.map(|p| p.prompt_hash.clone()),
            input_tokens: p.map(|p| tokens(p.input_tokens)),
            output_tokens: p.map(|p| tokens(p.output_tokens)),
            cost_usd: p.map(|p| p.cost_usd),
            calculation_json: self.calculation_json,
            created_at,
        }
    }
}
