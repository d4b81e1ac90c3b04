//! The metrics: numeric correctness within tolerance, key-point coverage (embedding similarity
//! above a calibrated threshold, or an explicit keyword rule), accuracy, multiple-choice
//! accuracy, citation accuracy, faithfulness, latency percentiles and cost, and [`score`], which
//! applies all of them to one answer.

use std::collections::BTreeSet;

use graphrag::embed::{Embed, dot};
use serde::{Deserialize, Serialize};

use crate::numbers::{self, Found};
use crate::record::{AnswerRecord, CitationRecord};
use crate::sets::{ChoiceItem, ExpectedNumber, Item, KeyPoint};
use crate::text::{self, contains_phrase, normalize};

/// Why a metric could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    /// The embedding model failed.
    #[error("embedding the answer sentences failed: {source}; check the embedding model files")]
    Embedding {
        /// The cause (boxed: graphrag's error is large and this one travels in every Result).
        #[source]
        source: Box<graphrag::Error>,
    },
    /// The model returned the wrong number of vectors.
    #[error(
        "the embedding model returned {got} vectors for {expected} texts; use a model that embeds every input"
    )]
    EmbeddingCount {
        /// Texts sent.
        expected: usize,
        /// Vectors returned.
        got: usize,
    },
}

/// How a key point came to be covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoveredBy {
    /// Its keyword rule matched.
    Keyword,
    /// An answer sentence was similar enough.
    Embedding,
    /// Not covered.
    None,
}

/// The verdict on one key point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPointCheck {
    /// The key point.
    pub point: String,
    /// Whether the answer covers it.
    pub covered: bool,
    /// By which rule.
    pub by: CoveredBy,
    /// The highest cosine similarity of an answer sentence, when embeddings were used.
    pub best_similarity: Option<f32>,
}

/// Decides whether answers cover key points.
pub struct KeyPointMatcher<'a> {
    embedder: Option<&'a dyn Embed>,
    threshold: f32,
}

impl std::fmt::Debug for KeyPointMatcher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPointMatcher")
            .field(
                "embedder",
                &self.embedder.map(|e| e.fingerprint().to_owned()),
            )
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// Whether the keyword rule of `point` matches the normalised `haystack`: every group has one
/// alternative present.
pub fn keyword_rule_matches(point: &KeyPoint, haystack_normalized: &str) -> bool {
    !point.keywords.is_empty()
        && point.keywords.iter().all(|group| {
            group
                .iter()
                .any(|k| contains_phrase(haystack_normalized, k))
        })
}

impl<'a> KeyPointMatcher<'a> {
    /// A matcher with an embedder and the calibrated cosine threshold.
    pub fn new(embedder: &'a dyn Embed, threshold: f32) -> Self {
        Self {
            embedder: Some(embedder),
            threshold,
        }
    }

    /// A matcher that applies only the keyword rules (no model loaded).
    pub fn keywords_only() -> Self {
        Self {
            embedder: None,
            threshold: f32::INFINITY,
        }
    }

    /// The cosine threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    fn embed(&self, texts: &[&str]) -> Result<Option<Vec<Vec<f32>>>, MetricError> {
        let Some(e) = self.embedder else {
            return Ok(None);
        };
        if texts.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let v = e.embed(texts).map_err(|e| MetricError::Embedding {
            source: Box::new(e),
        })?;
        if v.len() != texts.len() {
            return Err(MetricError::EmbeddingCount {
                expected: texts.len(),
                got: v.len(),
            });
        }
        Ok(Some(v))
    }

    /// Cosine similarity of each pair (both texts embedded), for calibration.
    pub fn pair_similarities(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, MetricError> {
        let texts: Vec<&str> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
        let Some(v) = self.embed(&texts)? else {
            return Ok(vec![0.0; pairs.len()]);
        };
        Ok(v.chunks(2).map(|p| dot(&p[0], &p[1])).collect())
    }

    /// Checks every key point against `answer`.
    pub fn check(
        &self,
        answer: &str,
        points: &[KeyPoint],
    ) -> Result<Vec<KeyPointCheck>, MetricError> {
        let norm = normalize(answer);
        let sentences = text::sentences(answer);
        let mut texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
        texts.extend(points.iter().map(|p| p.text.as_str()));
        let vectors = if sentences.is_empty() {
            None
        } else {
            self.embed(&texts)?
        };
        let mut out = Vec::with_capacity(points.len());
        for (k, point) in points.iter().enumerate() {
            let best = vectors.as_ref().map(|v| {
                let pv = &v[sentences.len() + k];
                v[..sentences.len()]
                    .iter()
                    .map(|s| dot(s, pv))
                    .fold(f32::NEG_INFINITY, f32::max)
            });
            let (covered, by) = if keyword_rule_matches(point, &norm) {
                (true, CoveredBy::Keyword)
            } else if best.is_some_and(|b| b >= self.threshold) {
                (true, CoveredBy::Embedding)
            } else {
                (false, CoveredBy::None)
            };
            out.push(KeyPointCheck {
                point: point.text.clone(),
                covered,
                by,
                best_similarity: best,
            });
        }
        Ok(out)
    }
}

/// The verdict on one expected number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberCheck {
    /// Its name.
    pub name: String,
    /// The expected value.
    pub expected: f64,
    /// The allowed distance.
    pub allowed: f64,
    /// The stated number closest to it, if the answer states any.
    pub closest: Option<f64>,
    /// Whether a stated number is within tolerance.
    pub correct: bool,
}

/// Checks each expected number against the numbers stated in `answer` (a percentage may be read
/// as itself or as a proportion).
pub fn check_numbers(answer: &str, expected: &[ExpectedNumber]) -> Vec<NumberCheck> {
    let found = numbers::extract(answer);
    expected
        .iter()
        .map(|e| {
            let allowed = e.tolerance.allowed(e.value);
            let closest = found
                .iter()
                .flat_map(Found::readings)
                .map(|(v, _)| v)
                .min_by(|a, b| (a - e.value).abs().total_cmp(&(b - e.value).abs()));
            NumberCheck {
                name: e.name.clone(),
                expected: e.value,
                allowed,
                closest,
                correct: found.iter().any(|f| f.matches(e.value, allowed)),
            }
        })
        .collect()
}

/// Share of covered key points (None for an empty list).
pub fn coverage(checks: &[KeyPointCheck]) -> Option<f64> {
    if checks.is_empty() {
        None
    } else {
        Some(checks.iter().filter(|c| c.covered).count() as f64 / checks.len() as f64)
    }
}

/// A question is correct when every expected number is right and at least `share` of its key
/// points are covered.
pub fn is_correct(numbers: &[NumberCheck], coverage: Option<f64>, share: f64) -> bool {
    numbers.iter().all(|n| n.correct) && coverage.is_none_or(|c| c + 1e-12 >= share)
}

/// Numbers written as list markers ("1. ", "2) ") at the start of a line, which are not claims.
fn claim_numbers(answer: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for line in answer.lines() {
        let trimmed = line.trim_start();
        let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
        let body = if digits > 0
            && digits <= 2
            && (trimmed[digits..].starts_with(". ") || trimmed[digits..].starts_with(") "))
        {
            &trimmed[digits + 2..]
        } else {
            trimmed
        };
        out.extend(numbers::extract(body));
    }
    out
}

/// Relative slack when a stated number is compared with a supporting one, on top of the
/// stated number's own rounding.
pub const SUPPORT_REL: f64 = 0.005;

/// Share of the numbers stated in `answer` that the calculator output, the context or the
/// question itself supports (None when the answer states no number).
pub fn faithfulness(
    answer: &str,
    question: &str,
    calculator: &[f64],
    contexts: &[String],
) -> Option<f64> {
    let claims = claim_numbers(answer);
    if claims.is_empty() {
        return None;
    }
    let mut support: Vec<f64> = calculator.to_vec();
    support.extend(numbers::values(question));
    for c in contexts {
        support.extend(numbers::values(c));
    }
    let ok = claims
        .iter()
        .filter(|f| support.iter().any(|s| f.supports(*s, SUPPORT_REL)))
        .count();
    Some(ok as f64 / claims.len() as f64)
}

/// Share of citations that are relevant: a concept in `expected`, a calculator citation for a
/// calculation, or a source whose snippet or title covers a key point (None without citations).
pub fn citation_accuracy(
    citations: &[CitationRecord],
    expected: &[String],
    key_points: &[KeyPoint],
    is_calculation: bool,
    matcher: &KeyPointMatcher<'_>,
) -> Result<Option<f64>, MetricError> {
    if citations.is_empty() {
        return Ok(None);
    }
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    let mut relevant = 0usize;
    for c in citations {
        let ok = if expected.contains(c.id.as_str()) {
            true
        } else if c.kind == "calculator" {
            is_calculation
        } else {
            let text = format!("{}. {}", c.title, c.snippet);
            matcher.check(&text, key_points)?.iter().any(|k| k.covered)
        };
        if ok {
            relevant += 1;
        }
    }
    Ok(Some(relevant as f64 / citations.len() as f64))
}

/// The option an answer chooses: a leading letter ("B", "(B)", "B) …", "Answer: B", "the answer
/// is B"), else the one option whose text the answer contains.
pub fn extract_choice(answer: &str, options: &[String]) -> Option<usize> {
    let n = options.len();
    let letter = |c: char| -> Option<usize> {
        let i = (c.to_ascii_uppercase() as u8).wrapping_sub(b'A') as usize;
        (c.is_ascii_alphabetic() && i < n).then_some(i)
    };
    let t = answer.trim();
    // A letter alone or followed by punctuation at the very start.
    let mut cs = t.trim_start_matches(['(', '[', '*']).chars();
    if let Some(c) = cs.next()
        && c.is_ascii_uppercase()
        && cs.next().is_none_or(|d| !d.is_alphanumeric())
        && let Some(i) = letter(c)
    {
        return Some(i);
    }
    let lower = t.to_lowercase();
    for marker in [
        "answer is",
        "answer:",
        "option",
        "correct answer is",
        "choice",
    ] {
        if let Some(pos) = lower.find(marker) {
            let rest = t[pos + marker.len()..].trim_start_matches([' ', '(', '*', ':']);
            let mut cs = rest.chars();
            if let Some(c) = cs.next()
                && cs.next().is_none_or(|d| !d.is_alphanumeric())
                && let Some(i) = letter(c)
            {
                return Some(i);
            }
        }
    }
    let norm = normalize(answer);
    let hits: Vec<usize> = options
        .iter()
        .enumerate()
        .filter(|(_, o)| contains_phrase(&norm, o))
        .map(|(i, _)| i)
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

/// Percentile `p` (0–100) with linear interpolation between order statistics (numpy's default).
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = p.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// Mean (None when empty).
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Settings of the scorer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreSettings {
    /// Share of key points a correct answer covers.
    pub key_point_share: f64,
}

impl Default for ScoreSettings {
    fn default() -> Self {
        Self {
            key_point_share: 0.8,
        }
    }
}

/// Every metric of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The question.
    pub question_id: String,
    /// The configuration.
    pub configuration: String,
    /// The category.
    pub category: String,
    /// Whether the answer counts as correct.
    pub correct: bool,
    /// Per expected number.
    pub numbers: Vec<NumberCheck>,
    /// For calculations, whether all numbers were right.
    pub numbers_correct: Option<bool>,
    /// Per key point.
    pub key_points: Vec<KeyPointCheck>,
    /// Share covered.
    pub key_point_coverage: Option<f64>,
    /// ROUGE-L F1 against the reference.
    pub rouge_l: Option<f64>,
    /// Sentence BLEU (0–1) against the reference.
    pub bleu: Option<f64>,
    /// Share of relevant citations.
    pub citation_accuracy: Option<f64>,
    /// Share of supported numbers.
    pub faithfulness: Option<f64>,
    /// For multi-hop questions, the share of the path's concepts the citations name.
    pub path_recall: Option<f64>,
    /// For multiple choice, the option chosen.
    pub chosen: Option<usize>,
    /// Latency.
    pub latency_ms: f64,
    /// Retrieval latency.
    pub retrieval_ms: Option<f64>,
    /// Cost.
    pub cost_usd: f64,
}

/// Scores one answer to a curated or multi-hop item.
pub fn score(
    item: &Item,
    record: &AnswerRecord,
    matcher: &KeyPointMatcher<'_>,
    settings: &ScoreSettings,
) -> Result<Scores, MetricError> {
    let numbers = check_numbers(&record.answer_text, &item.expected_numbers);
    let key_points = matcher.check(&record.answer_text, &item.key_points)?;
    let cov = coverage(&key_points);
    let correct = is_correct(&numbers, cov, settings.key_point_share);
    let is_calc = item.calc.is_some();
    let path_recall = (!item.path.is_empty()).then(|| {
        let cited: BTreeSet<&str> = record.citations.iter().map(|c| c.id.as_str()).collect();
        item.path
            .iter()
            .filter(|p| cited.contains(p.as_str()))
            .count() as f64
            / item.path.len() as f64
    });
    let empty = record.answer_text.trim().is_empty();
    Ok(Scores {
        question_id: item.id.clone(),
        configuration: record.configuration.clone(),
        category: item.category.as_str().to_owned(),
        correct,
        numbers_correct: is_calc.then(|| numbers.iter().all(|n| n.correct)),
        numbers,
        key_points,
        key_point_coverage: cov,
        rouge_l: (!empty).then(|| text::rouge_l(&record.answer_text, &item.reference_answer).f),
        bleu: (!empty).then(|| {
            text::sentence_bleu(&record.answer_text, &item.reference_answer).score / 100.0
        }),
        citation_accuracy: citation_accuracy(
            &record.citations,
            &item.expected_concepts,
            &item.key_points,
            is_calc,
            matcher,
        )?,
        faithfulness: faithfulness(
            &record.answer_text,
            &item.question,
            &record.calculator_numbers,
            &record.context_texts,
        ),
        path_recall,
        chosen: None,
        latency_ms: record.latency_ms,
        retrieval_ms: record.retrieval_ms,
        cost_usd: record.cost_usd,
    })
}

/// Scores one answer to a multiple-choice item.
pub fn score_choice(item: &ChoiceItem, record: &AnswerRecord) -> Scores {
    let chosen = extract_choice(&record.answer_text, &item.options);
    Scores {
        question_id: item.id.clone(),
        configuration: record.configuration.clone(),
        category: "multiple_choice".into(),
        correct: chosen == Some(item.answer_index()),
        numbers: Vec::new(),
        numbers_correct: None,
        key_points: Vec::new(),
        key_point_coverage: None,
        rouge_l: None,
        bleu: None,
        citation_accuracy: None,
        faithfulness: None,
        path_recall: None,
        chosen,
        latency_ms: record.latency_ms,
        retrieval_ms: record.retrieval_ms,
        cost_usd: record.cost_usd,
    }
}
