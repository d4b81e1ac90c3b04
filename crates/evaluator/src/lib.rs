//! Pipeline stage 5: measures whether the assistant is any good. It loads the curated test sets
//! of `data/eval/` (100 curated questions in four categories, a multi-hop set, a
//! multiple-choice set and hand-labelled key-point pairs), scores answers with honest metrics
//! (numbers within tolerance, key-point coverage, accuracy, multiple-choice accuracy, ROUGE-L,
//! BLEU, citation accuracy, faithfulness, latency percentiles, cost) and writes a run's report:
//! `eval/<run>/report.md`, `report.html` with plots, and `results.parquet` (the `eval.results`
//! artifact), plus human-rating sheets.
//!
//! Inputs: the sets, and one [`AnswerRecord`] per question per configuration, produced by any
//! [`Answerer`] or read from JSON lines. Outputs: the files above. The crate must not depend on
//! another stage or on the assistant (the boundary is [`AnswerRecord`]); it uses `stats` to
//! recompute the sets' expected numbers, `knowledge` to check concept ids, and graphrag's MiniLM
//! embedder for key points. Library code takes paths and handles; only the binary resolves the
//! embedding model from the asset cache.
//!
//! Design choice: a calculation item stores the calculator call that answers it (`calc`), not
//! only the numbers, and a test recomputes every expected number with `stats`. Hand-typed
//! expected values drift silently when a default or a convention changes; a stored call makes
//! the set fail loudly instead. Likewise correctness reads numbers only from the answer text the
//! user sees, never from the structured numbers a system reports, so a system cannot score by
//! computing the right number and then printing a wrong one.

pub mod calc;
pub mod calibrate;
pub mod config;
pub mod human;
pub mod judge;
pub mod metrics;
pub mod numbers;
pub mod record;
pub mod report;
pub mod sets;
pub mod text;

use std::collections::BTreeMap;

pub use config::EvaluatorConfig;
pub use metrics::{KeyPointMatcher, ScoreSettings, Scores, score, score_choice};
pub use record::{AnswerRecord, Answerer, CitationRecord, Question};
pub use sets::{Category, ChoiceItem, Item, Sets};

/// Why scoring a batch of answers failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An answer names a question no set has.
    #[error(
        "answer for question {question_id} (configuration {configuration}) matches no question in the sets; answer the questions of data/eval"
    )]
    UnknownQuestion {
        /// The id.
        question_id: String,
        /// The configuration.
        configuration: String,
    },
    /// The same question was answered twice under one configuration.
    #[error(
        "question {question_id} is answered twice under configuration {configuration}; keep one answer per question per configuration"
    )]
    DuplicateAnswer {
        /// The id.
        question_id: String,
        /// The configuration.
        configuration: String,
    },
    /// A metric failed.
    #[error(transparent)]
    Metric(#[from] metrics::MetricError),
}

/// What a scored batch holds besides the scores: the texts and token counts for the results
/// rows, keyed by (configuration, question id).
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// One entry per answer.
    pub scores: Vec<Scores>,
    /// Question and answer texts.
    pub texts: report::Texts,
    /// Prompt and completion tokens.
    pub tokens: BTreeMap<(String, String), (i64, i64)>,
}

/// Scores every record against its set item.
pub fn score_all(
    sets: &Sets,
    records: &[AnswerRecord],
    matcher: &KeyPointMatcher<'_>,
    settings: &ScoreSettings,
) -> Result<Scored, EvalError> {
    let items: BTreeMap<&str, &Item> = sets
        .curated
        .iter()
        .chain(&sets.multihop)
        .map(|i| (i.id.as_str(), i))
        .collect();
    let choices: BTreeMap<&str, &ChoiceItem> = sets
        .multiple_choice
        .iter()
        .map(|i| (i.id.as_str(), i))
        .collect();
    let mut out = Scored::default();
    for r in records {
        let key = (r.configuration.clone(), r.question_id.clone());
        let (s, question) = if let Some(item) = items.get(r.question_id.as_str()) {
            (score(item, r, matcher, settings)?, item.question.clone())
        } else if let Some(item) = choices.get(r.question_id.as_str()) {
            (score_choice(item, r), item.prompt())
        } else {
            return Err(EvalError::UnknownQuestion {
                question_id: r.question_id.clone(),
                configuration: r.configuration.clone(),
            });
        };
        if out
            .texts
            .insert(key.clone(), (question, r.answer_text.clone()))
            .is_some()
        {
            return Err(EvalError::DuplicateAnswer {
                question_id: r.question_id.clone(),
                configuration: r.configuration.clone(),
            });
        }
        out.tokens
            .insert(key, (r.prompt_tokens, r.completion_tokens));
        out.scores.push(s);
    }
    Ok(out)
}

/// Asks `answerer` every question of the sets (curated, multi-hop, multiple choice), in order.
pub async fn run_answerer<A: Answerer>(
    sets: &Sets,
    answerer: &A,
) -> Result<Vec<AnswerRecord>, A::Error> {
    let mut questions: Vec<Question> = sets
        .curated
        .iter()
        .chain(&sets.multihop)
        .map(|i| Question {
            id: i.id.clone(),
            text: i.question.clone(),
        })
        .collect();
    questions.extend(sets.multiple_choice.iter().map(|i| Question {
        id: i.id.clone(),
        text: i.prompt(),
    }));
    let mut out = Vec::with_capacity(questions.len());
    for q in &questions {
        out.push(answerer.answer(q).await?);
    }
    Ok(out)
}

/// Records that answer every question with its reference answer (multiple choice: the correct
/// letter and option). Scoring them measures the metrics' own ceiling: a metric that marks a
/// reference answer wrong is too strict.
pub fn reference_records(sets: &Sets, configuration: &str) -> Vec<AnswerRecord> {
    let record = |id: &str, text: String, calculator_numbers: Vec<f64>| AnswerRecord {
        question_id: id.to_owned(),
        configuration: configuration.to_owned(),
        answer_text: text,
        numbers_reported: Vec::new(),
        citations: Vec::new(),
        context_texts: Vec::new(),
        calculator_numbers,
        latency_ms: 0.0,
        retrieval_ms: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
    };
    let mut out: Vec<AnswerRecord> = sets
        .curated
        .iter()
        .chain(&sets.multihop)
        .map(|i| {
            let calc = i
                .parsed_calc()
                .and_then(|c| c.compute().ok())
                .map(|m| m.into_values().collect())
                .unwrap_or_default();
            record(&i.id, i.reference_answer.clone(), calc)
        })
        .collect();
    out.extend(sets.multiple_choice.iter().map(|i| {
        let text = format!(
            "{}) {}",
            i.answer,
            i.options.get(i.answer_index()).cloned().unwrap_or_default()
        );
        record(&i.id, text, Vec::new())
    }));
    out
}
