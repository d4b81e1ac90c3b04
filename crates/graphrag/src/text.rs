//! Text normalisation shared by the entity extractor, the BM25 query builder and the chunker:
//! tokens with their byte spans in the original text, light stemming, and a bounded edit
//! distance.

/// One normalised token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lowercased, apostrophes removed, lightly stemmed.
    pub norm: String,
    /// Byte offset of the token's first character in the original text.
    pub start: usize,
    /// Byte offset past the token's last character.
    pub end: usize,
}

/// Splits `text` into alphanumeric tokens (hyphens, slashes and spaces separate; apostrophes are
/// dropped so that "Simpson's" and "simpsons" agree) and stems each one.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = None::<usize>;
    let mut end = 0;
    for (i, ch) in text.char_indices() {
        if ch.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            current.extend(ch.to_lowercase());
            end = i + ch.len_utf8();
        } else if (ch == '\'' || ch == '\u{2019}') && start.is_some() {
            // Inside a word: "Simpson's" becomes "simpsons".
        } else if let Some(s) = start.take() {
            out.push(Token {
                norm: stem(&current),
                start: s,
                end,
            });
            current.clear();
        }
    }
    if let Some(s) = start {
        out.push(Token {
            norm: stem(&current),
            start: s,
            end,
        });
    }
    out
}

/// The normalised form of a phrase: its stemmed tokens joined by single spaces.
pub fn normalize(text: &str) -> String {
    let toks = tokens(text);
    let mut out = String::with_capacity(text.len());
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&t.norm);
    }
    out
}

/// A deliberately light English stemmer: plural forms only. Heavier stemming (Porter) merges
/// domain terms that must stay apart, such as "power" and "powered", and is left to the BM25
/// analyzer, which only ranks.
pub fn stem(word: &str) -> String {
    let n = word.len();
    if !word.is_ascii() || n < 4 {
        return word.to_string();
    }
    if n >= 5 && word.ends_with("ies") {
        return format!("{}y", &word[..n - 3]);
    }
    if word.ends_with("sses") {
        return word[..n - 2].to_string();
    }
    if word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
        && !word.ends_with("ias")
    {
        return word[..n - 1].to_string();
    }
    word.to_string()
}

/// Words that carry no meaning for matching concepts or for BM25 queries.
pub const STOPWORDS: &[&str] = &[
    "a", "about", "affect", "an", "and", "are", "as", "at", "be", "between", "by", "can", "could",
    "did", "do", "doe", "does", "for", "from", "get", "how", "i", "if", "in", "into", "is", "it",
    "its", "me", "my", "of", "on", "or", "our", "should", "so", "than", "that", "the", "their",
    "then", "there", "these", "this", "to", "use", "vs", "wa", "was", "wat", "we", "what", "whats",
    "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Whether a normalised token is a stopword.
pub fn is_stopword(norm: &str) -> bool {
    STOPWORDS.binary_search(&norm).is_ok()
}

/// Levenshtein distance between `a` and `b` over chars, or `None` when it exceeds `max`. The
/// band check keeps the cost at O(len · max) for the short strings compared here.
pub fn bounded_levenshtein(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// Lowercase hex SHA-256 of `parts`, each length-prefixed so that ("ab", "c") and ("a", "bc")
/// differ.
pub fn content_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Lowercase hex SHA-256 of raw bytes.
pub fn content_hash_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Removes control characters (except newline and tab) so that they cannot reach the store or a
/// terminal.
pub fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = STOPWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOPWORDS);
    }

    #[test]
    fn tokens_keep_original_byte_spans() {
        let text = "Simpson's p-values, Über-Tests";
        let toks = tokens(text);
        let norms: Vec<&str> = toks.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms, ["simpson", "p", "value", "über", "test"]);
        assert_eq!(&text[toks[0].start..toks[0].end], "Simpson's");
        assert_eq!(&text[toks[3].start..toks[3].end], "Über");
    }

    #[test]
    fn stemming_folds_plurals_but_not_analysis() {
        assert_eq!(stem("variances"), "variance");
        assert_eq!(stem("probabilities"), "probability");
        assert_eq!(stem("analysis"), "analysis");
        assert_eq!(stem("bias"), "bias");
        assert_eq!(stem("tests"), "test");
    }

    #[test]
    fn bounded_levenshtein_stops_early() {
        assert_eq!(
            bounded_levenshtein("signficance", "significance", 2),
            Some(1)
        );
        assert_eq!(bounded_levenshtein("power", "lower", 1), Some(1));
        assert_eq!(bounded_levenshtein("power", "variance", 2), None);
    }

    #[test]
    fn content_hash_is_length_prefixed() {
        assert_ne!(content_hash(&["ab", "c"]), content_hash(&["a", "bc"]));
    }
}
