//! Quality measures on the labelled questions: entity-extraction precision and recall against
//! `mentions`, and per retrieval mode recall@5 and MRR of `needs` and path accuracy on the
//! multi-hop set.

use std::collections::HashSet;

use knowledge::Question;
use serde::Serialize;

use crate::error::Result;
use crate::extract::Method;
use crate::retrieve::{Engine, Mode, RetrieveOptions};

/// Micro-averaged extraction quality.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExtractionQuality {
    /// Questions with at least one labelled mention.
    pub questions: usize,
    /// Correct (question, concept) pairs.
    pub true_positives: usize,
    /// Predicted pairs not labelled.
    pub false_positives: usize,
    /// Labelled pairs not predicted.
    pub false_negatives: usize,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Predicted pairs per method: exact, alias, fuzzy, embedding.
    pub by_method: [usize; 4],
}

/// Retrieval quality of one mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModeQuality {
    /// The mode.
    pub mode: String,
    /// Questions evaluated.
    pub questions: usize,
    /// Mean share of `needs` among the first five ranked concepts.
    pub recall_at_5: f64,
    /// Mean reciprocal rank of the first needed concept (0 when none in the top `k`).
    pub mrr: f64,
    /// Multi-hop questions.
    pub multi_hop: usize,
    /// Share of multi-hop questions whose expected path (either direction) is a returned path.
    pub path_found: f64,
    /// Share of multi-hop questions with a returned path that joins the expected path's two ends
    /// (either direction), whatever it passes through: the graph may hold a shorter valid chain
    /// than the labelled one.
    pub path_connected: f64,
    /// Share of multi-hop questions whose path concepts all appear among the ranked concepts.
    pub path_covered: f64,
    /// Mean retrieval time without embedding, in milliseconds.
    pub mean_ms: f64,
}

/// Measures extraction on the questions that have labelled mentions.
pub fn extraction_quality(engine: &Engine, questions: &[Question]) -> Result<ExtractionQuality> {
    let mut q = ExtractionQuality::default();
    for question in questions.iter().filter(|q| !q.mentions.is_empty()) {
        q.questions += 1;
        let found = engine.entities(&question.text)?;
        for e in &found {
            let i = match e.method {
                Method::Exact => 0,
                Method::Alias => 1,
                Method::Fuzzy => 2,
                Method::Embedding => 3,
            };
            q.by_method[i] += 1;
        }
        let predicted: HashSet<&str> = found.iter().map(|e| e.concept.as_str()).collect();
        let gold: HashSet<&str> = question.mentions.iter().map(String::as_str).collect();
        q.true_positives += predicted.intersection(&gold).count();
        q.false_positives += predicted.difference(&gold).count();
        q.false_negatives += gold.difference(&predicted).count();
    }
    let tp = q.true_positives as f64;
    q.precision = if tp + q.false_positives as f64 > 0.0 {
        tp / (tp + q.false_positives as f64)
    } else {
        0.0
    };
    q.recall = if tp + q.false_negatives as f64 > 0.0 {
        tp / (tp + q.false_negatives as f64)
    } else {
        0.0
    };
    Ok(q)
}

/// Measures each mode on `questions`, embedding each question once.
pub async fn retrieval_quality(
    engine: &Engine,
    questions: &[Question],
    modes: &[Mode],
    k: usize,
) -> Result<Vec<ModeQuality>> {
    let mut out: Vec<ModeQuality> = modes
        .iter()
        .map(|m| ModeQuality {
            mode: m.as_str().into(),
            ..ModeQuality::default()
        })
        .collect();
    for question in questions {
        let cleaned = engine.clean_question(&question.text)?;
        let v = engine.embed_question(&cleaned)?;
        for (mi, mode) in modes.iter().enumerate() {
            let ctx = engine
                .retrieve_embedded(
                    &cleaned,
                    Some(&v),
                    RetrieveOptions {
                        mode: *mode,
                        k: Some(k),
                        log: false,
                    },
                )
                .await?;
            let ranked = ctx.ranked_concepts();
            let q = &mut out[mi];
            q.questions += 1;
            q.mean_ms += ctx.timings.retrieve_ms;
            let needs: HashSet<&str> = question.needs.iter().map(String::as_str).collect();
            if !needs.is_empty() {
                let hit = ranked
                    .iter()
                    .take(5)
                    .filter(|c| needs.contains(c.as_str()))
                    .count();
                q.recall_at_5 += hit as f64 / needs.len() as f64;
                if let Some(pos) = ranked.iter().position(|c| needs.contains(c.as_str())) {
                    q.mrr += 1.0 / (pos + 1) as f64;
                }
            }
            if question.path.len() >= 2 {
                q.multi_hop += 1;
                let mut reversed = question.path.clone();
                reversed.reverse();
                if ctx
                    .paths()
                    .iter()
                    .any(|p| *p == question.path || *p == reversed)
                {
                    q.path_found += 1.0;
                }
                let ends = (question.path.first(), question.path.last());
                if ctx.paths().iter().any(|p| {
                    let found = (p.first(), p.last());
                    found == ends || found == (ends.1, ends.0)
                }) {
                    q.path_connected += 1.0;
                }
                if question.path.iter().all(|c| ranked.contains(c)) {
                    q.path_covered += 1.0;
                }
            }
        }
    }
    for q in &mut out {
        let n = q.questions.max(1) as f64;
        q.recall_at_5 /= n;
        q.mrr /= n;
        q.mean_ms /= n;
        let h = q.multi_hop.max(1) as f64;
        q.path_found /= h;
        q.path_connected /= h;
        q.path_covered /= h;
    }
    Ok(out)
}
