//! Generator 1: question-answer pairs written by a language model from one source at a time (an
//! arXiv abstract or a Cross Validated post), through any [`llm::ChatModel`].
//!
//! Per source: render the versioned template, call the model (with the reply's JSON schema as an
//! output constraint where the backend enforces one), parse and check the reply against that
//! schema, and on a malformed reply send one repair message before rejecting it. A finished
//! source (pairs or a reject, and what it cost) is checkpointed atomically, so a killed or
//! budget-stopped run resumes without paying again for it; the response cache makes a repeat of
//! the same request free as well. The hard USD cap is the `llm` crate's [`llm::Budget`], which
//! refuses a call before sending it when its worst case no longer fits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use artifacts::{ArxivPaper, CrossValidatedPost, QaReject, Timestamp, read_artifact};
use futures::StreamExt;
use llm::{
    CallOptions, ChatModel, ChatRequest, ChatResponse, Constraint, GenerationParams, Message,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::config::LlmGeneratorConfig;
use crate::prompt::{
    PromptTemplate, ReplyError, ReplyLimits, ReplyPair, Source, parse_reply, prompt_hash,
    reply_schema,
};
use crate::{Candidate, LlmProvenance, SynthError};

/// Relative path of the arXiv input under the artifacts root.
pub const ARXIV_PATH: &str = "raw/arxiv.parquet";
/// Relative path of the Cross Validated input under the artifacts root.
pub const CROSS_VALIDATED_PATH: &str = "raw/cross_validated.parquet";

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

/// The source of an arXiv paper: its abstract, cut to `max_chars`.
pub fn arxiv_source(paper: &ArxivPaper, max_chars: usize) -> Source {
    Source {
        kind: "arxiv".into(),
        id: paper.arxiv_id.clone(),
        url: paper.abs_url.clone(),
        title: paper.title.clone(),
        text: cut(paper.abstract_text.trim(), max_chars),
        license: None,
    }
}

/// The source of a Cross Validated post: the question, then its accepted answer and the others
/// by score, cut to `max_chars`.
pub fn cross_validated_source(post: &CrossValidatedPost, max_chars: usize) -> Source {
    let mut answers: Vec<_> = post.answers.iter().collect();
    answers.sort_by_key(|a| (!a.is_accepted, -a.score));
    let mut text = post.body_text.trim().to_owned();
    for a in answers {
        text.push_str("\n\nAnswer: ");
        text.push_str(a.body_text.trim());
    }
    Source {
        kind: "cross_validated".into(),
        id: post.question_id.to_string(),
        url: post.link.clone(),
        title: post.title.clone(),
        text: cut(&text, max_chars),
        license: Some(post.license.clone()),
    }
}

/// The sources under `root`: every arXiv paper, then (when asked) every Cross Validated post.
/// Missing input files mean no sources of that kind. Also returns the inputs it read.
pub fn load_sources(
    root: &Path,
    config: &LlmGeneratorConfig,
) -> Result<(Vec<Source>, Vec<&'static str>), SynthError> {
    let mut sources = Vec::new();
    let mut inputs = Vec::new();
    if root.join(ARXIV_PATH).exists() {
        let papers: Vec<ArxivPaper> = read_artifact(root.join(ARXIV_PATH))?;
        sources.extend(
            papers
                .iter()
                .map(|p| arxiv_source(p, config.max_source_chars)),
        );
        inputs.push(ARXIV_PATH);
    }
    if config.include_cross_validated && root.join(CROSS_VALIDATED_PATH).exists() {
        let posts: Vec<CrossValidatedPost> = read_artifact(root.join(CROSS_VALIDATED_PATH))?;
        sources.extend(
            posts
                .iter()
                .map(|p| cross_validated_source(p, config.max_source_chars)),
        );
        inputs.push(CROSS_VALIDATED_PATH);
    }
    Ok((sources, inputs))
}

/// A model ready to generate, and how to describe it in provenance.
pub struct LlmSetup {
    /// The model (normally wrapped in [`llm::Cached`]).
    pub model: Arc<dyn ChatModel>,
    /// `anthropic`, `openai-compatible` or `local`.
    pub provider: String,
    /// Whether to send the reply schema as an output constraint (the Anthropic backend refuses
    /// constraints, so there the schema travels in the prompt only).
    pub constrain: bool,
    /// The budget the HTTP backends charge, for the summary.
    pub budget: Option<Arc<llm::Budget>>,
}

impl std::fmt::Debug for LlmSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSetup")
            .field("model", &self.model.model_id())
            .field("provider", &self.provider)
            .field("constrain", &self.constrain)
            .finish()
    }
}

/// A reply that could not be used, as checkpointed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceReject {
    /// `malformed_output` or `refusal`.
    pub reason: String,
    /// What was wrong.
    pub detail: String,
}

/// What one source produced and cost: the unit that is checkpointed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceResult {
    /// The pairs of a usable reply (validated later, with everything else).
    pub pairs: Vec<ReplyPair>,
    /// Set when the reply was unusable even after one repair.
    pub reject: Option<SourceReject>,
    /// Calls made (1, or 2 with a repair).
    pub calls: u32,
    /// Prompt tokens of those calls.
    pub input_tokens: u64,
    /// Completion tokens of those calls.
    pub output_tokens: u64,
    /// USD of those calls (0 for cache hits and free models).
    pub cost_usd: f64,
    /// Hex SHA-256 of the rendered prompt.
    pub prompt_hash: String,
    /// The model id.
    pub model: String,
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    format: String,
    version: u32,
    key: String,
    source_id: String,
    result: SourceResult,
}

const CHECKPOINT_FORMAT: &str = "lift.synth.llm-checkpoint";
const CHECKPOINT_VERSION: u32 = 1;

fn checkpoint_path(dir: &Path, source: &Source) -> PathBuf {
    let id: String = source
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = crate::run::stable_hash(&source.id);
    dir.join(format!("{}-{id}-{:08x}.json", source.kind, hash as u32))
}

fn read_checkpoint(path: &Path, key: &str) -> Option<SourceResult> {
    let bytes = std::fs::read(path).ok()?;
    let checkpoint: Checkpoint = serde_json::from_slice(&bytes).ok()?;
    (checkpoint.format == CHECKPOINT_FORMAT
        && checkpoint.version == CHECKPOINT_VERSION
        && checkpoint.key == key)
        .then_some(checkpoint.result)
}

/// How one source ended.
#[derive(Debug)]
enum Outcome {
    Done(SourceResult),
    Resumed(SourceResult),
    Skipped,
    Failed(llm::Error),
}

/// Everything the generator produced.
#[derive(Debug, Default)]
pub struct LlmOutput {
    /// Candidates from usable replies, in source order.
    pub candidates: Vec<Candidate>,
    /// Unusable replies (malformed after repair, refusals), one reject per source.
    pub rejects: Vec<QaReject>,
    /// Counts and costs.
    pub summary: LlmSummary,
}

/// Counts and costs of the LLM generator.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmSummary {
    /// `anthropic`, `openai-compatible`, `local`, or `none` when the generator did not run.
    pub provider: String,
    /// The model id.
    pub model: String,
    /// The prompt template version.
    pub prompt_version: String,
    /// Sources found.
    pub sources: usize,
    /// Sources generated in this run.
    pub sources_generated: usize,
    /// Sources taken from a checkpoint (no call made).
    pub sources_resumed: usize,
    /// Sources not finished (the run stopped first).
    pub sources_unfinished: usize,
    /// Sources whose reply was unusable.
    pub sources_rejected: usize,
    /// Calls made in this run, repairs included (cache hits count as calls).
    pub calls: u64,
    /// Repair calls made in this run.
    pub repair_calls: u64,
    /// Prompt tokens of this run's calls.
    pub input_tokens: u64,
    /// Completion tokens of this run's calls.
    pub output_tokens: u64,
    /// USD spent in this run (the ledger of the budget, where there is one).
    pub cost_usd: f64,
    /// The hard cap of this run.
    pub max_cost_usd: Option<f64>,
    /// Why the generator stopped before every source was finished, if it did.
    pub stopped: Option<String>,
    /// Why the generator did not run, if it did not.
    pub skipped: Option<String>,
}

/// The generator: a model, a template and the settings.
#[derive(Debug)]
pub struct LlmGenerator<'a> {
    /// The model and its description.
    pub setup: &'a LlmSetup,
    /// The template.
    pub template: &'a PromptTemplate,
    /// The settings.
    pub config: &'a LlmGeneratorConfig,
    /// Reply bounds.
    pub limits: ReplyLimits,
    /// Where finished sources are checkpointed.
    pub checkpoint_dir: PathBuf,
    /// The run's seed (each source's sampling seed derives from it).
    pub seed: u64,
    /// Stops the run: in-flight calls end with `Cancelled`, unstarted sources are skipped.
    pub cancel: CancellationToken,
}

impl LlmGenerator<'_> {
    fn params(&self, source: &Source) -> GenerationParams {
        GenerationParams {
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
            seed: Some(self.seed ^ crate::run::stable_hash(&source.id)),
            constraint: self
                .setup
                .constrain
                .then(|| Constraint::JsonSchema(reply_schema(&self.limits))),
            ..GenerationParams::default()
        }
    }

    fn options(&self) -> CallOptions {
        CallOptions::new(Duration::from_secs(self.config.call_timeout_seconds))
            .with_cancel(self.cancel.clone())
    }

    /// The checkpoint key: the model, the template version and the whole first request.
    fn key(&self, request: &ChatRequest) -> String {
        let material = serde_json::json!({
            "model": self.setup.model.model_id(),
            "prompt_version": self.template.version,
            "request": request,
        });
        Sha256::digest(material.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    async fn one(&self, source: &Source, stop: &AtomicBool) -> Outcome {
        let (system, user) = self.template.render(source, &self.limits);
        let hash = prompt_hash(&system, &user);
        let messages = vec![Message::system(system), Message::user(user)];
        let request = ChatRequest::new(messages.clone(), self.params(source));
        let key = self.key(&request);
        let path = checkpoint_path(&self.checkpoint_dir, source);
        if let Some(result) = read_checkpoint(&path, &key) {
            return Outcome::Resumed(result);
        }
        if stop.load(Ordering::SeqCst) || self.cancel.is_cancelled() {
            return Outcome::Skipped;
        }
        let mut result = SourceResult {
            pairs: Vec::new(),
            reject: None,
            calls: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            prompt_hash: hash,
            model: self.setup.model.model_id().to_owned(),
        };
        let charge = |result: &mut SourceResult, r: &ChatResponse| {
            result.calls += 1;
            result.input_tokens += u64::from(r.usage.prompt_tokens);
            result.output_tokens += u64::from(r.usage.completion_tokens);
            result.cost_usd += r.cost_usd.unwrap_or(0.0);
        };
        let schema = reply_schema(&self.limits);
        let first = match self.setup.model.complete(request, self.options()).await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e),
        };
        charge(&mut result, &first);
        match parse_reply(&first.text, &schema) {
            Ok(pairs) => result.pairs = pairs,
            Err(ReplyError::Refusal(detail)) => {
                result.reject = Some(SourceReject {
                    reason: "refusal".into(),
                    detail,
                });
            }
            Err(ReplyError::Malformed(error)) => {
                let mut repair = messages;
                repair.push(Message::assistant(first.text.clone()));
                repair.push(Message::user(self.template.render_repair(
                    source,
                    &self.limits,
                    &error,
                )));
                let request = ChatRequest::new(repair, self.params(source));
                let second = match self.setup.model.complete(request, self.options()).await {
                    Ok(r) => r,
                    Err(e) => return Outcome::Failed(e),
                };
                charge(&mut result, &second);
                match parse_reply(&second.text, &schema) {
                    Ok(pairs) => result.pairs = pairs,
                    Err(ReplyError::Refusal(detail)) => {
                        result.reject = Some(SourceReject {
                            reason: "refusal".into(),
                            detail,
                        });
                    }
                    Err(ReplyError::Malformed(again)) => {
                        result.reject = Some(SourceReject {
                            reason: "malformed_output".into(),
                            detail: format!("{error}; after one repair: {again}"),
                        });
                    }
                }
            }
        }
        let checkpoint = Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            key,
            source_id: source.id.clone(),
            result: result.clone(),
        };
        // A checkpoint that cannot be written costs a re-run of this source, not the results.
        if let Ok(bytes) = serde_json::to_vec_pretty(&checkpoint) {
            let _ = std::fs::create_dir_all(&self.checkpoint_dir);
            if let Err(e) = artifacts::write_atomic(&path, &bytes) {
                eprintln!("synth: cannot write checkpoint {}: {e}", path.display());
            }
        }
        Outcome::Done(result)
    }

    /// Generates for every source (up to `concurrency` at once) and returns candidates and
    /// rejects in source order. A budget refusal, a cancellation or any other provider error
    /// stops new sources from starting; calls already in flight finish and are kept.
    pub async fn generate(&self, sources: &[Source], created_at: Timestamp) -> LlmOutput {
        let stop = AtomicBool::new(false);
        let mut first_error: Option<String> = None;
        let mut results: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut stream = futures::stream::iter(sources.iter().enumerate())
            .map(|(i, s)| {
                let stop = &stop;
                async move { (i, self.one(s, stop).await) }
            })
            .buffer_unordered(self.config.concurrency);
        while let Some((i, outcome)) = stream.next().await {
            if let Outcome::Failed(e) = &outcome {
                stop.store(true, Ordering::SeqCst);
                if first_error.is_none() {
                    first_error = Some(match e {
                        llm::Error::BudgetExceeded { limit_usd, .. } => format!(
                            "the budget of ${limit_usd:.2} stopped the run before a call that could exceed it ({e}); rerun with a higher --max-cost-usd to continue, finished sources are checkpointed"
                        ),
                        llm::Error::Cancelled => {
                            "interrupted; rerun to continue, finished sources are checkpointed"
                                .to_owned()
                        }
                        other => {
                            format!("{other}; rerun to continue, finished sources are checkpointed")
                        }
                    });
                }
            }
            results.insert(i, outcome);
        }
        drop(stream);
        let mut out = LlmOutput::default();
        let s = &mut out.summary;
        s.provider = self.setup.provider.clone();
        s.model = self.setup.model.model_id().to_owned();
        s.prompt_version = self.template.version.clone();
        s.sources = sources.len();
        s.stopped = first_error;
        for (i, outcome) in results {
            let source = &sources[i];
            let result = match outcome {
                Outcome::Done(r) => {
                    out.summary.sources_generated += 1;
                    out.summary.calls += u64::from(r.calls);
                    out.summary.repair_calls += u64::from(r.calls.saturating_sub(1));
                    out.summary.input_tokens += r.input_tokens;
                    out.summary.output_tokens += r.output_tokens;
                    out.summary.cost_usd += r.cost_usd;
                    r
                }
                Outcome::Resumed(r) => {
                    out.summary.sources_resumed += 1;
                    r
                }
                Outcome::Skipped | Outcome::Failed(_) => {
                    out.summary.sources_unfinished += 1;
                    continue;
                }
            };
            if let Some(reject) = &result.reject {
                out.summary.sources_rejected += 1;
                out.rejects.push(QaReject {
                    qa_id: Candidate::id_of(&["llm", &source.id, &result.prompt_hash]),
                    question: String::new(),
                    answer: String::new(),
                    generator: "llm".into(),
                    source_id: source.id.clone(),
                    reason: reject.reason.clone(),
                    detail: reject.detail.clone(),
                    created_at,
                });
            }
            out.candidates.extend(self.candidates(source, &result));
        }
        out
    }

    /// The candidates of one source's reply. The call's tokens and cost are split across its
    /// pairs (remainders to the first), so that summing a column gives what was spent.
    fn candidates(&self, source: &Source, result: &SourceResult) -> Vec<Candidate> {
        let n = result.pairs.len() as u64;
        if n == 0 {
            return Vec::new();
        }
        let share = |total: u64, i: u64| total / n + u64::from(i < total % n);
        result
            .pairs
            .iter()
            .enumerate()
            .map(|(i, p)| Candidate {
                question: p.question.clone(),
                answer: p.answer.clone(),
                qa_type: p.qa_type.clone(),
                generator: "llm".into(),
                source_kind: source.kind.clone(),
                source_id: source.id.clone(),
                source_url: Some(source.url.clone()),
                source_title: Some(source.title.clone()),
                calculation_json: None,
                source_text: Some(format!("{}\n{}", source.title, source.text)),
                license: source.license.clone(),
                provenance: Some(LlmProvenance {
                    provider: self.setup.provider.clone(),
                    model: result.model.clone(),
                    prompt_version: self.template.version.clone(),
                    prompt_hash: result.prompt_hash.clone(),
                    input_tokens: share(result.input_tokens, i as u64),
                    output_tokens: share(result.output_tokens, i as u64),
                    cost_usd: result.cost_usd / n as f64,
                }),
            })
            .collect()
    }
}
