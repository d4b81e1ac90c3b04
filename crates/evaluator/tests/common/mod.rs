//! Helpers shared by the integration tests: the shipped sets, a deterministic word-hashing
//! embedder for metric tests that must not depend on the model, and answer-record builders.

#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use std::path::PathBuf;

use evaluator::{AnswerRecord, CitationRecord, Sets};
use graphrag::embed::{Embed, unit};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped sets, which must load.
pub fn shipped_sets() -> Sets {
    evaluator::sets::load(root().join("data/eval")).expect("the shipped sets load")
}

/// A bag-of-words embedder: each lower-cased word adds one to a hashed dimension. Sentences that
/// share words are similar, unrelated ones are orthogonal, which is all the metric tests need
/// to exercise the threshold logic deterministically.
pub struct WordHash;

impl Embed for WordHash {
    fn embed(&self, texts: &[&str]) -> graphrag::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; 384];
                for w in t
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 2)
                {
                    let h = w.bytes().fold(1469598103934665603u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(1099511628211)
                    });
                    v[(h % 384) as usize] += 1.0;
                }
                unit(v)
            })
            .collect())
    }

    fn dimension(&self) -> usize {
        384
    }

    fn fingerprint(&self) -> &str {
        "word-hash-test"
    }
}

/// A record with only an answer text.
pub fn record(question_id: &str, answer: &str) -> AnswerRecord {
    AnswerRecord {
        question_id: question_id.into(),
        configuration: "test".into(),
        answer_text: answer.into(),
        numbers_reported: Vec::new(),
        citations: Vec::new(),
        context_texts: Vec::new(),
        calculator_numbers: Vec::new(),
        latency_ms: 100.0,
        retrieval_ms: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
    }
}

/// A citation.
pub fn citation(id: &str, kind: &str, snippet: &str) -> CitationRecord {
    CitationRecord {
        id: id.into(),
        kind: kind.into(),
        title: String::new(),
        snippet: snippet.into(),
    }
}
