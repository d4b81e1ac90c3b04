//! Text overlap metrics written here and checked against the Python reference packages:
//! ROUGE-L as `rouge-score` computes it (no stemming) and sentence BLEU as `sacrebleu`'s
//! `sentence_bleu` does (13a tokenizer, exponential smoothing, effective order). The golden
//! values come from `tests/golden/generate.py`. Also the sentence splitter the key-point
//! matcher uses.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// ROUGE-L precision, recall and F-measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RougeL {
    /// LCS / candidate length.
    pub precision: f64,
    /// LCS / reference length.
    pub recall: f64,
    /// Harmonic mean.
    pub f: f64,
}

/// rouge-score's tokenizer: lower-case, every run of characters other than `a-z0-9` is a
/// separator (so non-ASCII letters are dropped, as there).
pub fn rouge_tokens(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lcs_len(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L of `candidate` against `reference`.
pub fn rouge_l(candidate: &str, reference: &str) -> RougeL {
    let c = rouge_tokens(candidate);
    let r = rouge_tokens(reference);
    if c.is_empty() || r.is_empty() {
        return RougeL {
            precision: 0.0,
            recall: 0.0,
            f: 0.0,
        };
    }
    let l = lcs_len(&r, &c) as f64;
    let precision = l / c.len() as f64;
    let recall = l / r.len() as f64;
    let f = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    RougeL {
        precision,
        recall,
        f,
    }
}

static BLEU_RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Punctuation and symbols, the ranges of mteval-v13a.
        (r"([\{-~\[-` -&\(-\+:-@/])", " $1 "),
        // Period and comma unless preceded by a digit.
        (r"([^0-9])([\.,])", "$1 $2 "),
        // Period and comma unless followed by a digit.
        (r"([\.,])([^0-9])", " $1 $2"),
        // A dash preceded by a digit.
        (r"([0-9])(-)", "$1 $2 "),
    ]
    .into_iter()
    .map(|(re, rep)| (Regex::new(re).expect("static BLEU tokenizer pattern"), rep))
    .collect()
});

/// sacrebleu's 13a tokenizer.
pub fn bleu_tokens(text: &str) -> Vec<String> {
    let mut line = text.trim_end().replace("<skipped>", "");
    line = line.replace("-\n", "").replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut line = format!(" {line} ");
    for (re, rep) in BLEU_RULES.iter() {
        line = re.replace_all(&line, *rep).into_owned();
    }
    line.split_whitespace().map(str::to_owned).collect()
}

/// Sentence BLEU with its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Bleu {
    /// The score on sacrebleu's 0–100 scale.
    pub score: f64,
    /// Modified n-gram precisions (0–100), after smoothing.
    pub precisions: [f64; 4],
    /// Brevity penalty.
    pub bp: f64,
    /// Candidate length in tokens.
    pub sys_len: usize,
    /// Reference length in tokens.
    pub ref_len: usize,
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

/// Sentence BLEU of `candidate` against one `reference`.
pub fn sentence_bleu(candidate: &str, reference: &str) -> Bleu {
    let c = bleu_tokens(candidate);
    let r = bleu_tokens(reference);
    let (sys_len, ref_len) = (c.len(), r.len());
    let mut correct = [0usize; 4];
    let mut total = [0usize; 4];
    for n in 1..=4 {
        let hc = ngrams(&c, n);
        let rc = ngrams(&r, n);
        correct[n - 1] = hc
            .iter()
            .map(|(g, k)| (*k).min(rc.get(g).copied().unwrap_or(0)))
            .sum();
        total[n - 1] = sys_len.saturating_sub(n - 1);
    }
    let bp = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut precisions = [0.0; 4];
    // No matching n-gram at all scores zero, before any smoothing (sacrebleu issue #141).
    if correct.iter().all(|c| *c == 0) {
        return Bleu {
            score: 0.0,
            precisions,
            bp,
            sys_len,
            ref_len,
        };
    }
    let mut smooth = 1.0;
    let mut order = 4;
    for n in 0..4 {
        if total[n] == 0 {
            break;
        }
        // Effective order: orders the candidate is too short to have do not count.
        order = n + 1;
        if correct[n] == 0 {
            smooth *= 2.0;
            precisions[n] = 100.0 / (smooth * total[n] as f64);
        } else {
            precisions[n] = 100.0 * correct[n] as f64 / total[n] as f64;
        }
    }
    let log_sum: f64 = precisions[..order]
        .iter()
        .map(|p| if *p == 0.0 { -9_999_999_999.0 } else { p.ln() })
        .sum();
    Bleu {
        score: bp * (log_sum / order as f64).exp(),
        precisions,
        bp,
        sys_len,
        ref_len,
    }
}

const ABBREVIATIONS: &[&str] = &["e.g", "i.e", "vs", "etc", "cf", "approx", "fig", "eq", "al"];

/// Splits an answer into sentences and list items: at `.`, `!` or `?` followed by whitespace
/// (not after an abbreviation such as "e.g.", and never inside a number such as "0.05"), and at
/// line breaks. Markdown bullets and numbering are stripped.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line
            .trim()
            .trim_start_matches(['-', '*', '•', '#', '>'])
            .trim_start();
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (k, (pos, c)) in chars.iter().enumerate() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            let next_is_space = chars.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
            if !next_is_space {
                continue;
            }
            let word = line[start..*pos]
                .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
                .next()
                .unwrap_or("")
                .to_lowercase();
            if *c == '.' && ABBREVIATIONS.contains(&word.as_str()) {
                continue;
            }
            let s = line[start..pos + c.len_utf8()].trim();
            if !s.is_empty() {
                out.push(s.to_owned());
            }
            start = pos + c.len_utf8();
        }
        let s = line[start..].trim();
        if !s.is_empty() {
            out.push(s.to_owned());
        }
    }
    out
}

/// Lower-cases and folds punctuation to spaces, for keyword matching.
pub fn normalize(text: &str) -> String {
    let mapped: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '%' || c == '.' {
                c
            } else {
                ' '
            }
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `needle` occurs in the normalised haystack starting at a word boundary. The end may
/// fall inside a word, so that keyword rules can name stems ("inflat" matches "inflates" and
/// "inflation") while "ate" never matches inside "rate".
pub fn contains_phrase(haystack_normalized: &str, needle: &str) -> bool {
    let n = normalize(needle);
    if n.is_empty() {
        return false;
    }
    let padded = format!(" {haystack_normalized}");
    padded.contains(&format!(" {n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_respect_decimals_and_abbreviations() {
        let s = sentences("Use alpha 0.05, e.g. for launches. Power is 80%! Why?\n- a bullet item");
        assert_eq!(
            s,
            vec![
                "Use alpha 0.05, e.g. for launches.",
                "Power is 80%!",
                "Why?",
                "a bullet item"
            ]
        );
    }

    #[test]
    fn phrases_match_at_word_starts_only() {
        let h = normalize("The Type I error rate, at 5%.");
        assert!(contains_phrase(&h, "type i error"));
        assert!(contains_phrase(&h, "5%"));
        assert!(!contains_phrase(&h, "type ii error"));
        assert!(contains_phrase(&h, "rat"), "stems match at a word start");
        assert!(!contains_phrase(&h, "ate"), "but never inside a word");
    }
}
