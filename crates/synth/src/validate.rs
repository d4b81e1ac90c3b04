//! Validation of candidate pairs. Each rule is a small function returning the reason it rejects,
//! so that each can be tested on its own; [`Validator`] applies them in order and keeps a MinHash
//! index of accepted questions (and of the labelled evaluation questions, which must never become
//! training pairs) for the near-duplicate rule.

use std::collections::{BTreeSet, HashMap};

use crate::Candidate;
use crate::config::ValidationConfig;

/// Why a candidate was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Machine-readable reason (`too_short`, `not_a_question`, …).
    pub reason: &'static str,
    /// Human-readable detail.
    pub detail: String,
}

fn reject(reason: &'static str, detail: String) -> Option<Rejection> {
    Some(Rejection { reason, detail })
}

/// Length between `min` and `max` characters for both question and answer.
pub fn check_length(question: &str, answer: &str, min: usize, max: usize) -> Option<Rejection> {
    for (what, text) in [("question", question), ("answer", answer)] {
        let n = text.chars().count();
        if n < min {
            return reject(
                "too_short",
                format!("{what} has {n} characters, fewer than {min}"),
            );
        }
        if n > max {
            return reject(
                "too_long",
                format!("{what} has {n} characters, more than {max}"),
            );
        }
    }
    None
}

const QUESTION_STARTS: &[&str] = &[
    "what",
    "how",
    "why",
    "when",
    "which",
    "who",
    "where",
    "can",
    "could",
    "should",
    "would",
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "will",
    "explain",
    "calculate",
    "compute",
    "estimate",
    "tell",
    "help",
    "give",
    "walk",
    "describe",
    "need",
    "quick",
];

/// The question ends with a question mark, or opens with an interrogative or a request.
pub fn check_is_question(question: &str) -> Option<Rejection> {
    let trimmed = question.trim();
    if trimmed.ends_with('?') || trimmed.contains("? ") {
        return None;
    }
    let first = trimmed
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_lowercase();
    if QUESTION_STARTS.contains(&first.as_str()) {
        return None;
    }
    reject(
        "not_a_question",
        format!("no question mark and opens with {first:?}"),
    )
}

const BOILERPLATE: &[&str] = &[
    "as an ai",
    "as a language model",
    "as an assistant",
    "i'm sorry",
    "i am sorry",
    "i cannot",
    "i can't",
    "i am unable",
    "i'm unable",
    "i'm not able to",
    "great question",
    "certainly! here",
    "i hope this helps",
];

/// No refusal or assistant boilerplate in question or answer.
pub fn check_boilerplate(question: &str, answer: &str) -> Option<Rejection> {
    let text = format!("{} {}", question, answer)
        .to_lowercase()
        .replace('’', "'");
    BOILERPLATE
        .iter()
        .find(|p| text.contains(*p))
        .and_then(|p| reject("refusal_or_boilerplate", format!("contains {p:?}")))
}

const SOURCE_MENTIONS: &[&str] = &[
    "the source",
    "the abstract",
    "the paper",
    "the authors",
    "this paper",
    "this abstract",
    "this study",
    "the text above",
];

/// An LLM pair stands on its own: the question is a real question (it ends with a question
/// mark) and neither side refers to the text it was written from ("the paper", "the source"),
/// which a reader of the training data never sees. Small models also echo the prompt's own
/// instructions this way.
pub fn check_self_contained(question: &str, answer: &str) -> Option<Rejection> {
    if !question.trim_end().ends_with('?') {
        return reject(
            "not_a_question",
            "an LLM question must end with a question mark".to_owned(),
        );
    }
    let text = format!("{question} {answer}").to_lowercase();
    SOURCE_MENTIONS
        .iter()
        .find(|m| text.contains(*m))
        .and_then(|m| {
            reject(
                "mentions_source",
                format!("refers to {m:?}, which a reader of the pair never sees"),
            )
        })
}

fn content_words(text: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "the", "and", "for", "that", "this", "with", "are", "was", "from", "you", "your", "its",
        "but", "not", "can", "has", "have", "will", "than", "then", "into", "which", "when",
        "what", "how", "why", "they", "their", "there", "these", "those", "also", "more", "less",
        "does", "each", "per", "one", "two", "use", "used",
    ];
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !STOP.contains(w) && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

/// The share of the answer's content words found in `source` is at least `min_overlap`.
pub fn check_grounded(answer: &str, source: &str, min_overlap: f64) -> Option<Rejection> {
    let words = content_words(answer);
    if words.is_empty() {
        return None;
    }
    let vocabulary: BTreeSet<String> = content_words(source).into_iter().collect();
    let found = words.iter().filter(|w| vocabulary.contains(*w)).count();
    let share = found as f64 / words.len() as f64;
    if share < min_overlap {
        return reject(
            "ungrounded",
            format!(
                "{:.0}% of the answer's content words occur in the source, below {:.0}%",
                share * 100.0,
                min_overlap * 100.0
            ),
        );
    }
    None
}

fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let joins = (c == '.' || c == ',')
            && !current.is_empty()
            && chars.peek().is_some_and(|n| n.is_ascii_digit());
        if c.is_ascii_digit() || joins {
            if c != ',' {
                current.push(c);
            }
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Every number in an LLM answer appears in its source text; the first that does not is flagged.
pub fn check_numbers_in_source(answer: &str, source: &str) -> Option<Rejection> {
    let known: BTreeSet<String> = numbers(source).into_iter().collect();
    numbers(answer)
        .into_iter()
        .find(|n| !known.contains(n))
        .and_then(|n| {
            reject(
                "unsupported_number",
                format!("the answer states {n}, which the source does not contain"),
            )
        })
}

/// Lower-cased word 3-shingles of `text`, hashed (FNV-1a, so stable across runs and platforms).
pub fn shingles(text: &str) -> BTreeSet<u64> {
    let words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '%'))
        .map(|w| w.trim_matches('.').to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    let fnv = |parts: &[String]| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for b in part.bytes().chain([b' ']) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    };
    if words.len() < 3 {
        return std::iter::once(fnv(&words)).collect();
    }
    words.windows(3).map(fnv).collect()
}

/// Jaccard similarity of two shingle sets.
pub fn jaccard(a: &BTreeSet<u64>, b: &BTreeSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

const BANDS: usize = 16;
const ROWS: usize = 4;

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser: a cheap, well-distributed permutation of u64.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// MinHash with LSH banding over question shingles: candidates that share a band are checked
/// with the exact Jaccard, so the rule costs about linear time instead of all pairs.
#[derive(Debug, Default)]
pub struct NearDuplicateIndex {
    entries: Vec<(String, BTreeSet<u64>)>,
    buckets: HashMap<(usize, u64), Vec<usize>>,
}

impl NearDuplicateIndex {
    fn bands(set: &BTreeSet<u64>) -> Vec<u64> {
        let signature: Vec<u64> = (0..BANDS * ROWS)
            .map(|i| {
                set.iter()
                    .map(|h| mix(h ^ mix(i as u64 + 1)))
                    .min()
                    .unwrap_or(0)
            })
            .collect();
        signature
            .chunks(ROWS)
            .map(|rows| rows.iter().fold(0u64, |acc, r| mix(acc ^ r)))
            .collect()
    }

    /// The most similar indexed text at or above `threshold`, with its similarity.
    pub fn find(&self, text: &str, threshold: f64) -> Option<(&str, f64)> {
        let set = shingles(text);
        let mut best: Option<(usize, f64)> = None;
        for (band, key) in Self::bands(&set).into_iter().enumerate() {
            for &i in self.buckets.get(&(band, key)).into_iter().flatten() {
                let s = jaccard(&set, &self.entries[i].1);
                if s >= threshold && best.is_none_or(|(_, b)| s > b) {
                    best = Some((i, s));
                }
            }
        }
        best.map(|(i, s)| (self.entries[i].0.as_str(), s))
    }

    /// Adds `text` to the index.
    pub fn insert(&mut self, text: &str) {
        let set = shingles(text);
        let i = self.entries.len();
        for (band, key) in Self::bands(&set).into_iter().enumerate() {
            self.buckets.entry((band, key)).or_default().push(i);
        }
        self.entries.push((text.to_owned(), set));
    }
}

/// Applies every rule in order, remembering accepted questions.
#[derive(Debug)]
pub struct Validator {
    config: ValidationConfig,
    accepted: NearDuplicateIndex,
    evaluation: NearDuplicateIndex,
}

impl Validator {
    /// A validator that also rejects anything close to one of `evaluation_questions`.
    pub fn new<'a>(
        config: ValidationConfig,
        evaluation_questions: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut evaluation = NearDuplicateIndex::default();
        for q in evaluation_questions {
            evaluation.insert(q);
        }
        Self {
            config,
            accepted: NearDuplicateIndex::default(),
            evaluation,
        }
    }

    /// Checks `c`; on acceptance its question joins the near-duplicate index.
    pub fn check(&mut self, c: &Candidate) -> Result<(), Rejection> {
        let cfg = &self.config;
        let single = check_length(&c.question, &c.answer, cfg.min_chars, cfg.max_chars)
            .or_else(|| check_is_question(&c.question))
            .or_else(|| check_boilerplate(&c.question, &c.answer))
            .or_else(|| {
                (c.generator == "llm")
                    .then(|| check_self_contained(&c.question, &c.answer))
                    .flatten()
            })
            .or_else(|| {
                let source = c.source_text.as_deref()?;
                check_grounded(&c.answer, source, cfg.min_grounding_overlap).or_else(|| {
                    (c.generator == "llm")
                        .then(|| check_numbers_in_source(&c.answer, source))
                        .flatten()
                })
            });
        if let Some(r) = single {
            return Err(r);
        }
        if let Some((q, s)) = self
            .evaluation
            .find(&c.question, cfg.near_duplicate_jaccard)
        {
            return Err(Rejection {
                reason: "evaluation_leak",
                detail: format!("Jaccard {s:.2} with the labelled evaluation question {q:?}"),
            });
        }
        if let Some((q, s)) = self.accepted.find(&c.question, cfg.near_duplicate_jaccard) {
            return Err(Rejection {
                reason: "near_duplicate",
                detail: format!("Jaccard {s:.2} with {q:?}"),
            });
        }
        self.accepted.insert(&c.question);
        Ok(())
    }
}
