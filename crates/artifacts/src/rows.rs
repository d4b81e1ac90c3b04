//! Typed rows of every artifact. Stage code builds and reads these; [`crate::schema`] fixes how
//! they are laid out on disk.
//!
//! Free-text enumerations (question type, split, generator) are plain strings here because the
//! files are read by other tools too; the stage that owns a column owns its vocabulary, and the
//! constants in this module name the values shared by more than one stage.

use serde::{Deserialize, Serialize};

use crate::schema::{Artifact, ArtifactKind};

/// A UTC instant with microsecond precision, stored as an Arrow `Timestamp(µs, "UTC")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from(jiff::Timestamp::now())
    }

    /// From seconds since the Unix epoch (the StackExchange API's dates).
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(1_000_000))
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }
}

impl From<jiff::Timestamp> for Timestamp {
    fn from(t: jiff::Timestamp) -> Self {
        Self(t.as_microsecond())
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match jiff::Timestamp::from_microsecond(self.0) {
            Ok(t) => write!(f, "{t}"),
            Err(_) => write!(f, "{}µs", self.0),
        }
    }
}

/// A Cross Validated question with its answers nested (`raw/cross_validated.parquet`).
///
/// Content is CC BY-SA: `link`, `author_name` and `license` travel with every record and every
/// citation built from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidatedPost {
    /// StackExchange question id.
    pub question_id: i64,
    /// Question title, entities decoded.
    pub title: String,
    /// The body exactly as the API returned it.
    pub body_html: String,
    /// The body as clean text (paragraphs, lists, code and math kept).
    pub body_text: String,
    /// Tags, in the API's order.
    pub tags: Vec<String>,
    /// Vote score.
    pub score: i64,
    /// View count when fetched.
    pub view_count: i64,
    /// Number of answers when fetched.
    pub answer_count: i64,
    /// Whether the question has an accepted or upvoted answer.
    pub is_answered: bool,
    /// The accepted answer's id, if any.
    pub accepted_answer_id: Option<i64>,
    /// When the question was asked.
    pub created_at: Timestamp,
    /// The question's public URL.
    pub link: String,
    /// The asker's display name (absent for deleted users).
    pub author_name: Option<String>,
    /// The asker's user id.
    pub author_id: Option<i64>,
    /// Content licence, for example `CC BY-SA 4.0`.
    pub license: String,
    /// The answers fetched for this question.
    pub answers: Vec<CrossValidatedAnswer>,
    /// When this record was fetched.
    pub fetched_at: Timestamp,
}

/// One answer of a [`CrossValidatedPost`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidatedAnswer {
    /// StackExchange answer id.
    pub answer_id: i64,
    /// The body exactly as the API returned it.
    pub body_html: String,
    /// The body as clean text.
    pub body_text: String,
    /// Vote score.
    pub score: i64,
    /// Whether the asker accepted it.
    pub is_accepted: bool,
    /// When it was posted.
    pub created_at: Timestamp,
    /// The answerer's display name.
    pub author_name: Option<String>,
    /// The answerer's user id.
    pub author_id: Option<i64>,
    /// The answer's public URL.
    pub link: String,
}

/// An arXiv paper's metadata and abstract (`raw/arxiv.parquet`). Full texts carry per-paper
/// licences, so only the abstract and links are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArxivPaper {
    /// The arXiv identifier without version, for example `1512.04922`.
    pub arxiv_id: String,
    /// The version number (`v2` is 2).
    pub version: i32,
    /// Title, whitespace normalised.
    pub title: String,
    /// The abstract.
    pub abstract_text: String,
    /// Author names in order.
    pub authors: Vec<String>,
    /// All category terms.
    pub categories: Vec<String>,
    /// The primary category, for example `stat.ME`.
    pub primary_category: String,
    /// First publication.
    pub published_at: Timestamp,
    /// Latest update.
    pub updated_at: Timestamp,
    /// DOI, when given.
    pub doi: Option<String>,
    /// Journal reference, when given.
    pub journal_ref: Option<String>,
    /// Author comment (pages, venue), when given.
    pub comment: Option<String>,
    /// The abstract page URL.
    pub abs_url: String,
    /// The PDF URL, when given.
    pub pdf_url: Option<String>,
    /// When this record was fetched.
    pub fetched_at: Timestamp,
}

/// A document from a configured local folder (`raw/local_docs.parquet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalDocument {
    /// A stable id: the hex SHA-256 of `root` and `path`.
    pub doc_id: String,
    /// The configured folder the document was found under.
    pub root: String,
    /// Path relative to `root`, with `/` separators.
    pub path: String,
    /// The first heading or `<title>`, else the file stem.
    pub title: String,
    /// `markdown`, `text` or `html`.
    pub format: String,
    /// The document's text (HTML reduced to text).
    pub text: String,
    /// Hex SHA-256 of the file's bytes.
    pub content_sha256: String,
    /// The file's modification time.
    pub modified_at: Timestamp,
    /// The file's size.
    pub size_bytes: i64,
}

/// A question-answer pair from any generator (`qa/synthetic.parquet`), with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaPair {
    /// Stable id of the pair.
    pub qa_id: String,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Question type: `definition`, `methodology`, `comparison`, `best_practice`, `calculation`,
    /// `multi_hop`, `free`.
    pub qa_type: String,
    /// Generator: `llm`, `graph`, `calculation` or `cross_validated`.
    pub generator: String,
    /// What the source is: `arxiv`, `cross_validated`, `concept`, `relation`, `playbook`, …
    pub source_kind: String,
    /// The source's id (arXiv id, question id, concept id, …). Splits group on it.
    pub source_id: String,
    /// The source's URL, when it has one.
    pub source_url: Option<String>,
    /// The source's title, when it has one.
    pub source_title: Option<String>,
    /// The source's licence, when it has one.
    pub license: Option<String>,
    /// LLM provider (`anthropic`, `openai-compatible`, `local`), for LLM pairs.
    pub provider: Option<String>,
    /// Model name, for LLM pairs.
    pub model: Option<String>,
    /// Prompt template version, for LLM pairs.
    pub prompt_version: Option<String>,
    /// Hex SHA-256 of the rendered prompt, for LLM pairs.
    pub prompt_hash: Option<String>,
    /// Prompt tokens spent.
    pub input_tokens: Option<i64>,
    /// Completion tokens spent.
    pub output_tokens: Option<i64>,
    /// Cost of the call in US dollars.
    pub cost_usd: Option<f64>,
    /// For calculation pairs, the calculator's request and result as JSON.
    pub calculation_json: Option<String>,
    /// When the pair was generated.
    pub created_at: Timestamp,
}

/// A generated pair that failed validation (`qa/rejects.parquet`), kept with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaReject {
    /// Id of the rejected pair.
    pub qa_id: String,
    /// The question, possibly empty when the output did not parse.
    pub question: String,
    /// The answer, possibly empty when the output did not parse.
    pub answer: String,
    /// The generator that produced it.
    pub generator: String,
    /// The source's id.
    pub source_id: String,
    /// Machine-readable reason, for example `too_short`, `refusal`, `ungrounded`, `near_duplicate`.
    pub reason: String,
    /// Human-readable detail.
    pub detail: String,
    /// When it was rejected.
    pub created_at: Timestamp,
}

/// One chat turn, laid out as HF `datasets` and TRL expect (`{role, content}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The turn's text.
    pub content: String,
}

/// A training-ready row (`dataset/{train,val,test}.parquet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRow {
    /// Stable id of the row.
    pub id: String,
    /// The conversation: system, user, assistant.
    pub messages: Vec<ChatMessage>,
    /// The conversation rendered with the target model's chat template.
    pub text: String,
    /// Tokens up to the start of the assistant's answer.
    pub prompt_len_tokens: i32,
    /// Tokens of the whole rendered text.
    pub total_len_tokens: i32,
    /// The question type (see [`QaPair::qa_type`]).
    #[serde(rename = "type")]
    pub qa_type: String,
    /// Where the pair came from (a generator or `cross_validated`).
    pub source: String,
    /// The source document's id; no id appears in two splits.
    pub source_id: String,
    /// `train`, `val` or `test`.
    pub split: String,
    /// Licence of the source content, when it has one.
    pub license: Option<String>,
    /// Whether the truncation policy shortened this row.
    pub truncated: bool,
}

/// One question answered by one configuration in an evaluation run (`eval/<run>/results.parquet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// The evaluation run.
    pub run_id: String,
    /// The configuration evaluated, for example `base+graphrag+calculator`.
    pub configuration: String,
    /// The test question's id.
    pub question_id: String,
    /// Its category (`definition`, `calculation`, …).
    pub category: String,
    /// The question.
    pub question: String,
    /// The answer produced.
    pub answer: String,
    /// Whether the answer counts as correct.
    pub correct: bool,
    /// For calculations, whether every expected number was right.
    pub numbers_correct: Option<bool>,
    /// Share of key points covered.
    pub key_point_coverage: Option<f64>,
    /// ROUGE-L F1 against the reference answer.
    pub rouge_l: Option<f64>,
    /// Sentence BLEU against the reference answer.
    pub bleu: Option<f64>,
    /// Share of citations that are relevant.
    pub citation_accuracy: Option<f64>,
    /// Share of numbers supported by the calculator or the context.
    pub faithfulness: Option<f64>,
    /// End-to-end latency.
    pub latency_ms: f64,
    /// Prompt tokens used.
    pub prompt_tokens: i64,
    /// Completion tokens used.
    pub completion_tokens: i64,
    /// Cost of the answer in US dollars.
    pub cost_usd: f64,
}

/// One named value of a run at a step (`runs/<id>/metrics.parquet`, pipeline summaries), in long
/// format so that any stage can add metrics without a schema change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetric {
    /// The run.
    pub run_id: String,
    /// The stage that recorded it (`trainer`, `pipeline`, …).
    pub stage: String,
    /// Step number (training step, or 0 for run-level values).
    pub step: i64,
    /// Metric name, for example `train_loss`, `learning_rate`, `tokens_per_second`.
    pub name: String,
    /// The value.
    pub value: f64,
    /// When it was recorded.
    pub recorded_at: Timestamp,
}

impl Artifact for CrossValidatedPost {
    const KIND: ArtifactKind = ArtifactKind::CrossValidatedPosts;
}
impl Artifact for ArxivPaper {
    const KIND: ArtifactKind = ArtifactKind::ArxivPapers;
}
impl Artifact for LocalDocument {
    const KIND: ArtifactKind = ArtifactKind::LocalDocuments;
}
impl Artifact for QaPair {
    const KIND: ArtifactKind = ArtifactKind::QaPairs;
}
impl Artifact for QaReject {
    const KIND: ArtifactKind = ArtifactKind::QaRejects;
}
impl Artifact for DatasetRow {
    const KIND: ArtifactKind = ArtifactKind::DatasetRows;
}
impl Artifact for EvalResult {
    const KIND: ArtifactKind = ArtifactKind::EvalResults;
}
impl Artifact for RunMetric {
    const KIND: ArtifactKind = ArtifactKind::RunMetrics;
}
