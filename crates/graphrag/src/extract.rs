//! Entity extraction over a question or a chunk, in three layers:
//!
//! 1. exact and alias matching with Aho-Corasick over normalised text (case folding, hyphen and
//!    space variants, plural forms; abbreviations are aliases, and an abbreviation that is also
//!    an English stopword, such as "ITS", only matches in its written case);
//! 2. fuzzy matching of the remaining word n-grams against names and aliases with a bounded,
//!    length-aware edit distance (which also catches "pvalue" for "p value");
//! 3. when neither finds anything, the concept nearest to the question's embedding, above a
//!    similarity threshold.
//!
//! Each entity carries its span, concept id, method and confidence.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Serialize;

use crate::embed::dot;
use crate::text::{self, Token, bounded_levenshtein, is_stopword};

/// How an entity was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The concept's name or id.
    Exact,
    /// One of its aliases.
    Alias,
    /// A near spelling.
    Fuzzy,
    /// Nearest concept by embedding.
    Embedding,
}

impl Method {
    /// The spelling used in the store and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Alias => "alias",
            Self::Fuzzy => "fuzzy",
            Self::Embedding => "embedding",
        }
    }
}

/// A concept found in a text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// Concept id.
    pub concept: String,
    /// Byte offset of the span's start in the text.
    pub start: usize,
    /// Byte offset past its end.
    pub end: usize,
    /// The text of the span.
    pub surface: String,
    /// How it was found.
    pub method: Method,
    /// Confidence in (0, 1].
    pub confidence: f32,
}

/// What the lexicon needs to know about a concept.
#[derive(Debug, Clone, PartialEq)]
pub struct LexiconEntry {
    /// Concept id (a kebab-case slug).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Aliases and abbreviations.
    pub aliases: Vec<String>,
    /// Unit embedding, for the fallback layer.
    pub embedding: Option<Vec<f32>>,
}

#[derive(Debug, Clone)]
struct Pattern {
    concept: usize,
    method: Method,
    /// Space-free normalised form, for the fuzzy layer.
    squashed: String,
    /// The alias as written, when it may only match in that case.
    case_sensitive: Option<String>,
}

/// The matching tables built from the concepts.
#[derive(Debug, Clone)]
pub struct Lexicon {
    entries: Vec<LexiconEntry>,
    /// Normalised pattern strings, parallel to `ac`'s pattern ids.
    norms: Vec<String>,
    /// Per normalised string, the patterns that produce it.
    patterns: Vec<Vec<Pattern>>,
    ac: Option<AhoCorasick>,
    /// Squashed length in chars → pattern-string indexes.
    by_len: HashMap<usize, Vec<usize>>,
    fingerprint: String,
}

/// Trailing words that make a name specific to its kind but that users leave out.
const GENERIC_TAIL: &[&str] = &[
    "boundary",
    "correction",
    "distribution",
    "exact",
    "interval",
    "method",
    "procedure",
    "score",
    "t",
    "test",
    "u",
];

/// Surnames that name methods on their own ("holm", "welch"): a first word is only a pattern
/// by itself when it is one of these, because most capitalised first words ("Sample", "Test")
/// are ordinary words.
const NAMES: &[&str] = &[
    "agresti",
    "benjamini",
    "bonferroni",
    "clopper",
    "fisher",
    "hochberg",
    "holm",
    "mann",
    "obrien",
    "pearson",
    "pocock",
    "sidak",
    "simpson",
    "student",
    "welch",
    "wilcoxon",
    "wilson",
    "yates",
];

/// Largest edit distance accepted for a string of `len` chars.
pub fn max_edits(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        9..=14 => 2,
        _ => 3,
    }
}

impl Lexicon {
    /// Builds the tables.
    pub fn new(entries: Vec<LexiconEntry>) -> Self {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut norms: Vec<String> = Vec::new();
        let mut patterns: Vec<Vec<Pattern>> = Vec::new();
        for (ci, e) in entries.iter().enumerate() {
            let mut forms: Vec<(String, Method)> = vec![
                (e.name.clone(), Method::Exact),
                (e.id.replace('-', " "), Method::Exact),
            ];
            forms.extend(e.aliases.iter().map(|a| (a.clone(), Method::Alias)));
            for (form, method) in forms {
                let toks = text::tokens(&form);
                // Formula-like aliases ("E[X]", "N(0, 1)") normalise to single letters that
                // would match everywhere.
                if toks.is_empty() || toks.iter().all(|t| t.norm.chars().count() <= 1) {
                    continue;
                }
                let norm = text::normalize(&form);
                let case_sensitive =
                    (toks.len() == 1 && is_stopword(&norm)).then(|| form.trim().to_string());
                let squashed: String = norm.chars().filter(|c| *c != ' ').collect();
                let slot = *index.entry(norm.clone()).or_insert_with(|| {
                    norms.push(norm.clone());
                    patterns.push(Vec::new());
                    norms.len() - 1
                });
                let p = Pattern {
                    concept: ci,
                    method,
                    squashed,
                    case_sensitive,
                };
                if !patterns[slot]
                    .iter()
                    .any(|q| q.concept == ci && q.case_sensitive == p.case_sensitive)
                {
                    patterns[slot].push(p);
                }
            }
        }
        // Partial names: users say "bonferroni" for "Bonferroni correction" and "welch" for
        // "Welch's t-test". Each concept's name, stripped of generic trailing words, and its
        // leading proper noun become patterns, unless they are already patterns or two concepts
        // would share them.
        let mut partials: HashMap<String, Vec<usize>> = HashMap::new();
        for (ci, e) in entries.iter().enumerate() {
            let words: Vec<String> = text::tokens(&e.name).into_iter().map(|t| t.norm).collect();
            let mut cands: Vec<String> = Vec::new();
            let mut end = words.len();
            while end > 1 && GENERIC_TAIL.contains(&words[end - 1].as_str()) {
                end -= 1;
            }
            if end < words.len() {
                cands.push(words[..end].join(" "));
            }
            if words.len() >= 2 && NAMES.contains(&words[0].as_str()) {
                cands.push(words[0].clone());
            }
            for c in cands {
                if c.is_empty() || is_stopword(&c) || index.contains_key(&c) {
                    continue;
                }
                let owners = partials.entry(c).or_default();
                if !owners.contains(&ci) {
                    owners.push(ci);
                }
            }
        }
        let mut partials: Vec<(String, Vec<usize>)> = partials.into_iter().collect();
        partials.sort();
        for (norm, owners) in partials {
            // Shared by several concepts: the one with the shortest name owns it ("welch" is
            // Welch's t-test, not the Welch interval), and a tie drops it.
            let size = |ci: usize| text::tokens(&entries[ci].name).len();
            let Some(&ci) = owners.iter().min_by_key(|c| size(**c)) else {
                continue;
            };
            if owners.iter().filter(|c| size(**c) == size(ci)).count() > 1 {
                continue;
            }
            let squashed: String = norm.chars().filter(|c| *c != ' ').collect();
            norms.push(norm.clone());
            index.insert(norm, norms.len() - 1);
            patterns.push(vec![Pattern {
                concept: ci,
                method: Method::Alias,
                squashed,
                case_sensitive: None,
            }]);
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&norms)
            .ok();
        let mut by_len: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, ps) in patterns.iter().enumerate() {
            if let Some(p) = ps.first() {
                by_len
                    .entry(p.squashed.chars().count())
                    .or_default()
                    .push(i);
            }
        }
        let mut sorted: Vec<String> = norms
            .iter()
            .zip(&patterns)
            .flat_map(|(n, ps)| {
                ps.iter()
                    .map(move |p| format!("{n}\t{}\t{}", p.concept, p.method.as_str()))
            })
            .map(|s| {
                // Stable across runs: name the concept by id, not by index.
                let mut parts = s.split('\t');
                let n = parts.next().unwrap_or_default().to_string();
                let ci: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                let m = parts.next().unwrap_or_default().to_string();
                format!(
                    "{n}\t{}\t{m}",
                    entries.get(ci).map_or("", |e| e.id.as_str())
                )
            })
            .collect();
        sorted.sort();
        let refs: Vec<&str> = sorted.iter().map(String::as_str).collect();
        let fingerprint = text::content_hash(&refs)[..16].to_string();
        Self {
            entries,
            norms,
            patterns,
            ac,
            by_len,
            fingerprint,
        }
    }

    /// Identifies the matching tables; chunks are re-linked when it changes.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The concepts it knows.
    pub fn entries(&self) -> &[LexiconEntry] {
        &self.entries
    }

    /// Lexical layers only (exact, alias and, when `fuzzy`, typos), as used on chunks.
    pub fn extract_lexical(&self, input: &str, fuzzy: bool) -> Vec<Entity> {
        let toks = text::tokens(input);
        if toks.is_empty() {
            return Vec::new();
        }
        let mut norm = String::new();
        let mut starts: HashMap<usize, usize> = HashMap::new();
        let mut ends: HashMap<usize, usize> = HashMap::new();
        for (i, t) in toks.iter().enumerate() {
            if i > 0 {
                norm.push(' ');
            }
            starts.insert(norm.len(), i);
            norm.push_str(&t.norm);
            ends.insert(norm.len(), i);
        }
        let mut found: Vec<(usize, usize, Entity)> = Vec::new();
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(&norm) {
                let (Some(&a), Some(&b)) = (starts.get(&m.start()), ends.get(&m.end())) else {
                    continue;
                };
                let (start, end) = (toks[a].start, toks[b].end);
                let surface = &input[start..end];
                for p in &self.patterns[m.pattern().as_usize()] {
                    if let Some(cs) = &p.case_sensitive
                        && surface != cs
                    {
                        continue;
                    }
                    let confidence = match p.method {
                        Method::Exact => 1.0,
                        _ => 0.95,
                    };
                    found.push((
                        a,
                        b,
                        self.entity(p.concept, input, start, end, p.method, confidence),
                    ));
                }
            }
        }
        let mut chosen = resolve_overlaps(found);
        if fuzzy {
            let covered: Vec<bool> = (0..toks.len())
                .map(|i| chosen.iter().any(|(a, b, _)| *a <= i && i <= *b))
                .collect();
            let fuzzy_found = self.fuzzy(input, &toks, &covered);
            chosen.extend(fuzzy_found);
            chosen = resolve_overlaps(chosen);
        }
        chosen.sort_by_key(|(a, _, _)| *a);
        chosen.into_iter().map(|(_, _, e)| e).collect()
    }

    fn fuzzy(&self, input: &str, toks: &[Token], covered: &[bool]) -> Vec<(usize, usize, Entity)> {
        let mut out = Vec::new();
        for i in 0..toks.len() {
            for n in 1..=4 {
                let j = i + n - 1;
                if j >= toks.len() || covered[i..=j].iter().any(|c| *c) {
                    break;
                }
                if is_stopword(&toks[i].norm) || is_stopword(&toks[j].norm) {
                    continue;
                }
                let squashed: String = toks[i..=j].iter().map(|t| t.norm.as_str()).collect();
                let len = squashed.chars().count();
                let allowed = max_edits(len);
                let first = squashed.chars().next();
                let mut best: Option<(usize, usize)> = None;
                for l in len.saturating_sub(allowed)..=len + allowed {
                    for &pi in self.by_len.get(&l).into_iter().flatten() {
                        let Some(p) = self.patterns[pi].first() else {
                            continue;
                        };
                        if p.case_sensitive.is_some() {
                            continue;
                        }
                        let limit = allowed.min(max_edits(l));
                        let Some(d) = bounded_levenshtein(&squashed, &p.squashed, limit) else {
                            continue;
                        };
                        if d > 0 && p.squashed.chars().next() != first {
                            continue;
                        }
                        // An exact squashed match on the same tokens was already found by layer 1.
                        if d == 0 && self.norms[pi].split(' ').count() == n {
                            continue;
                        }
                        if best.is_none_or(|(bd, _)| d < bd) {
                            best = Some((d, pi));
                        }
                    }
                }
                if let Some((d, pi)) = best {
                    let (start, end) = (toks[i].start, toks[j].end);
                    let confidence = 0.9 - 0.1 * d as f32;
                    for p in &self.patterns[pi] {
                        out.push((
                            i,
                            j,
                            self.entity(p.concept, input, start, end, Method::Fuzzy, confidence),
                        ));
                    }
                }
            }
        }
        out
    }

    /// All layers: lexical first, then, if nothing was found, the nearest concept to
    /// `embedding` when its similarity reaches `threshold`.
    pub fn extract(
        &self,
        input: &str,
        embedding: Option<&[f32]>,
        fuzzy: bool,
        threshold: f32,
    ) -> Vec<Entity> {
        let found = self.extract_lexical(input, fuzzy);
        if !found.is_empty() {
            return found;
        }
        let Some(q) = embedding else { return found };
        let best = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.embedding.as_deref().map(|v| (i, dot(q, v))))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((ci, sim)) if sim >= threshold => {
                let trimmed = input.trim_end();
                let start = input.len() - input.trim_start().len();
                vec![self.entity(
                    ci,
                    input,
                    start.min(trimmed.len()),
                    trimmed.len(),
                    Method::Embedding,
                    sim.min(1.0),
                )]
            }
            _ => Vec::new(),
        }
    }

    fn entity(
        &self,
        concept: usize,
        input: &str,
        start: usize,
        end: usize,
        method: Method,
        confidence: f32,
    ) -> Entity {
        Entity {
            concept: self.entries[concept].id.clone(),
            start,
            end,
            surface: input.get(start..end).unwrap_or_default().to_string(),
            method,
            confidence,
        }
    }

    /// The known concept id closest in spelling to `id`, for "did you mean" messages.
    pub fn suggest(&self, id: &str) -> Option<String> {
        let needle = id.to_lowercase();
        self.entries
            .iter()
            .filter_map(|e| bounded_levenshtein(&needle, &e.id, 3).map(|d| (d, &e.id)))
            .min()
            .map(|(_, id)| id.clone())
    }
}

/// Keeps the longest non-overlapping spans (ties: higher confidence, then earlier); one span may
/// carry several concepts when the same words name each.
fn resolve_overlaps(mut found: Vec<(usize, usize, Entity)>) -> Vec<(usize, usize, Entity)> {
    found.sort_by(|x, y| {
        let lx = x.2.end - x.2.start;
        let ly = y.2.end - y.2.start;
        ly.cmp(&lx)
            .then(y.2.confidence.total_cmp(&x.2.confidence))
            .then(x.0.cmp(&y.0))
    });
    let mut chosen: Vec<(usize, usize, Entity)> = Vec::new();
    for f in found {
        let same_span = chosen.iter().any(|c| c.0 == f.0 && c.1 == f.1);
        let overlaps = chosen.iter().any(|c| f.0 <= c.1 && c.0 <= f.1);
        let duplicate = chosen
            .iter()
            .any(|c| c.0 == f.0 && c.1 == f.1 && c.2.concept == f.2.concept);
        if duplicate || (overlaps && !same_span) {
            continue;
        }
        chosen.push(f);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let e = |id: &str, name: &str, aliases: &[&str]| LexiconEntry {
            id: id.into(),
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            embedding: None,
        };
        Lexicon::new(vec![
            e("p-value", "p-value", &["p value", "probability value"]),
            e("statistical-significance", "Statistical significance", &[]),
            e(
                "minimum-detectable-effect",
                "Minimum detectable effect",
                &["MDE"],
            ),
            e(
                "interrupted-time-series",
                "Interrupted time series",
                &["ITS"],
            ),
            e(
                "type-i-error",
                "Type I error",
                &["false positive", "alpha error"],
            ),
            e(
                "expected-value",
                "Expected value",
                &["E[X]", "mean of a distribution"],
            ),
        ])
    }

    fn ids(found: &[Entity]) -> Vec<(&str, Method)> {
        found
            .iter()
            .map(|e| (e.concept.as_str(), e.method))
            .collect()
    }

    #[test]
    fn aliases_plurals_and_abbreviations_match_with_spans() {
        let lx = lexicon();
        let text = "whats the MDE and why do false positives matter for P-Values";
        let found = lx.extract_lexical(text, false);
        assert_eq!(
            ids(&found),
            [
                ("minimum-detectable-effect", Method::Alias),
                ("type-i-error", Method::Alias),
                ("p-value", Method::Exact),
            ]
        );
        assert_eq!(found[1].surface, "false positives");
        assert_eq!(&text[found[2].start..found[2].end], "P-Values");
    }

    #[test]
    fn stopword_abbreviations_match_only_in_their_case() {
        let lx = lexicon();
        assert!(lx.extract_lexical("its effect", true).is_empty());
        assert_eq!(
            ids(&lx.extract_lexical("use ITS here", true)),
            [("interrupted-time-series", Method::Alias)]
        );
        assert!(
            lx.extract_lexical("E X", true).is_empty(),
            "formula aliases are not patterns"
        );
    }

    #[test]
    fn typos_and_space_variants_match_fuzzily() {
        let lx = lexicon();
        let found = lx.extract_lexical("what does statistical signficance mean", true);
        assert_eq!(ids(&found), [("statistical-significance", Method::Fuzzy)]);
        assert_eq!(found[0].surface, "statistical signficance");
        assert_eq!(
            ids(&lx.extract_lexical("pvalue", true)),
            [("p-value", Method::Fuzzy)]
        );
        assert!(
            lx.extract_lexical("statistical signficance", false)
                .is_empty()
        );
        assert!(lx.extract_lexical("the weather is nice", true).is_empty());
    }

    #[test]
    fn embedding_fallback_needs_the_threshold() {
        let mut entries = lexicon().entries().to_vec();
        entries[0].embedding = Some(vec![1.0, 0.0]);
        entries[1].embedding = Some(vec![0.0, 1.0]);
        let lx = Lexicon::new(entries);
        let q = [0.8f32, 0.6];
        let found = lx.extract("how surprising is my result", Some(&q), true, 0.7);
        assert_eq!(ids(&found), [("p-value", Method::Embedding)]);
        assert!(
            lx.extract("how surprising is my result", Some(&q), true, 0.9)
                .is_empty()
        );
    }

    #[test]
    fn partial_names_match_when_unambiguous() {
        let e = |id: &str, name: &str| LexiconEntry {
            id: id.into(),
            name: name.into(),
            aliases: vec![],
            embedding: None,
        };
        let lx = Lexicon::new(vec![
            e("bonferroni-correction", "Bonferroni correction"),
            e("welch-t-test", "Welch's t-test"),
            e("welch-interval", "Welch interval for a difference of means"),
            e("bh", "Benjamini-Hochberg procedure"),
            e("by", "Benjamini-Yekutieli procedure"),
        ]);
        let found = lx.extract_lexical("bonferroni or welch, says benjamini", false);
        assert_eq!(
            ids(&found),
            [
                ("bonferroni-correction", Method::Alias),
                ("welch-t-test", Method::Alias)
            ]
        );
    }

    #[test]
    fn suggestions_find_near_ids() {
        assert_eq!(lexicon().suggest("pvalue").as_deref(), Some("p-value"));
    }
}
