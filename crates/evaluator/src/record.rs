//! The evaluator's input: one [`AnswerRecord`] per question per configuration, and the
//! [`Answerer`] boundary that produces them. The assistant (or any other system) is wired in by
//! implementing [`Answerer`] or by writing records as JSON lines; this crate never depends on
//! the assistant.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// A source an answer cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitationRecord {
    /// Concept id or chunk id.
    pub id: String,
    /// `concept`, `chunk`, `playbook`, `calculator`, …
    pub kind: String,
    /// Title shown to the user.
    #[serde(default)]
    pub title: String,
    /// The cited text.
    #[serde(default)]
    pub snippet: String,
}

/// A number the answering system reports in structured form, with its name when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedNumber {
    /// Name (`n_per_group`, `p_value`, …), when known.
    #[serde(default)]
    pub name: Option<String>,
    /// The value.
    pub value: f64,
}

/// One answer to one question under one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// The question's id in the set.
    pub question_id: String,
    /// The configuration that answered, e.g. `base+graphrag+calculator`.
    pub configuration: String,
    /// The answer as shown to the user.
    pub answer_text: String,
    /// Numbers the system reports in structured form (not used for correctness, which reads
    /// only the text the user sees).
    #[serde(default)]
    pub numbers_reported: Vec<ReportedNumber>,
    /// Cited sources.
    #[serde(default)]
    pub citations: Vec<CitationRecord>,
    /// The retrieved context the generator saw.
    #[serde(default)]
    pub context_texts: Vec<String>,
    /// Every number the calculator produced for this answer.
    #[serde(default)]
    pub calculator_numbers: Vec<f64>,
    /// End-to-end latency.
    pub latency_ms: f64,
    /// Retrieval latency, when retrieval ran.
    #[serde(default)]
    pub retrieval_ms: Option<f64>,
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: i64,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: i64,
    /// Cost in US dollars (0 for a local model).
    #[serde(default)]
    pub cost_usd: f64,
}

/// A question as put to an answering system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The set item's id.
    pub id: String,
    /// The text to ask (for multiple choice, with its lettered options).
    pub text: String,
}

/// Answers questions under one configuration. The pipeline implements it over the assistant.
pub trait Answerer {
    /// The error the system reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The configuration name that goes into every record.
    fn configuration(&self) -> &str;

    /// Answers one question.
    fn answer(
        &self,
        question: &Question,
    ) -> impl Future<Output = Result<AnswerRecord, Self::Error>> + Send;
}
