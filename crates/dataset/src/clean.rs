//! Text cleaning: unicode and whitespace normalization, leftover-HTML stripping, the length
//! limits and the "answer is mostly a link" rule.
//!
//! Unicode is normalized to NFC, not NFKC: compatibility folding would turn `σ²` into `σ2` and
//! `x₁` into `x1`, which changes the meaning of statistics text. The compatibility characters
//! that only cause trouble (no-break and other odd spaces, zero-width characters, soft hyphens)
//! are replaced or removed explicitly instead.

use unicode_normalization::UnicodeNormalization;

use crate::config::CleanConfig;

/// HTML elements whose tags are removed; any other `<…>` is left alone, so `p<0.05` and `a < b`
/// survive.
const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "body",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];
/// Elements that end a line when stripped.
const BLOCK_TAGS: &[&str] = &[
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "table",
    "tr",
    "ul",
];

/// Normalizes unicode (NFC, odd spaces to spaces, zero-width characters dropped) and whitespace
/// (CRLF to LF, runs of spaces and tabs to one space, trailing spaces trimmed, at most one blank
/// line in a row, no leading or trailing blank lines). Line breaks are kept: lists, code and
/// formulas depend on them.
pub fn normalize_text(text: &str) -> String {
    let mut mapped = String::with_capacity(text.len());
    for c in text.nfc() {
        match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {}
            '\r' => {}
            '\n' => mapped.push('\n'),
            '\t' => mapped.push(' '),
            c if c.is_whitespace() => mapped.push(' '),
            c if c.is_control() => {}
            c => mapped.push(c),
        }
    }
    let mut out = String::with_capacity(mapped.len());
    let mut blank_run = 0usize;
    for line in mapped.split('\n') {
        // Leading indentation is kept (code blocks depend on it); runs of spaces inside a line
        // are collapsed and trailing spaces dropped.
        let body = line.trim_start_matches(' ');
        let indent = &line[..line.len() - body.len()];
        let words = body
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>();
        let line = if words.is_empty() {
            String::new()
        } else {
            format!("{indent}{}", words.join(" "))
        };
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out.trim_start().to_owned()
}

/// Removes leftover HTML: known tags (block tags become line breaks), comments, `<script>` and
/// `<style>` contents, and character entities.
pub fn strip_html(text: &str) -> String {
    if !text.contains('<') && !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('<') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        match parse_tag(tail) {
            Some((name, closing, len)) => {
                if !closing && (name == "script" || name == "style") {
                    let close = format!("</{name}");
                    let lower = tail.to_ascii_lowercase();
                    rest = match lower.find(&close) {
                        Some(at) => tail[at..].find('>').map_or("", |gt| &tail[at + gt + 1..]),
                        None => "",
                    };
                    continue;
                }
                if BLOCK_TAGS.contains(&name.as_str()) {
                    out.push('\n');
                }
                rest = &tail[len..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    decode_entities(&out)
}

/// `Some((lowercase name, is closing, byte length))` when `text` starts with an HTML tag this
/// module strips.
fn parse_tag(text: &str) -> Option<(String, bool, usize)> {
    let inner = text.strip_prefix('<')?;
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, inner),
    };
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let is_known = HTML_TAGS.contains(&name.as_str()) || name == "script" || name == "style";
    if name.is_empty() || !is_known {
        return None;
    }
    let after_name = &inner[name.len()..];
    if !(after_name.starts_with('>')
        || after_name.starts_with('/')
        || after_name.starts_with(char::is_whitespace))
    {
        return None;
    }
    let gt = text.find('>')?;
    // A tag never spans a paragraph; a '<' with no '>' nearby is prose.
    if text[..gt].contains("\n\n") {
        return None;
    }
    Some((name, closing, gt + 1))
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let end = tail[1..].find(';').map(|i| i + 1).filter(|&i| i <= 10);
        let decoded = end.and_then(|end| {
            let name = &tail[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "hellip" => Some('…'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Strips HTML, then normalizes.
pub fn clean_text(text: &str) -> String {
    normalize_text(&strip_html(text))
}

/// Whether a word is a URL.
fn is_url(word: &str) -> bool {
    let w = word.trim_start_matches(['(', '[', '<', '"']);
    w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www.")
}

/// Whether an answer is mostly a link: URLs make up more than `max_link_share` of its non-space
/// characters, or it has a URL and fewer than `min_words_outside_links` other words.
pub fn is_mostly_link(answer: &str, config: &CleanConfig) -> bool {
    let mut link_chars = 0usize;
    let mut total_chars = 0usize;
    let mut other_words = 0usize;
    let mut links = 0usize;
    for word in answer.split_whitespace() {
        let n = word.chars().count();
        total_chars += n;
        if is_url(word) {
            links += 1;
            link_chars += n;
        } else if word.chars().any(char::is_alphanumeric) {
            other_words += 1;
        }
    }
    if links == 0 || total_chars == 0 {
        return false;
    }
    link_chars as f64 / total_chars as f64 > config.max_link_share
        || other_words < config.min_words_outside_links
}

/// Why a pair fails the cleaning rules, as the rule name counted in the summary.
pub fn check_limits(question: &str, answer: &str, config: &CleanConfig) -> Option<&'static str> {
    let q = question.chars().count();
    let a = answer.chars().count();
    if q == 0 || a == 0 {
        Some("empty")
    } else if q < config.min_question_chars {
        Some("question_too_short")
    } else if q > config.max_question_chars {
        Some("question_too_long")
    } else if a < config.min_answer_chars {
        Some("answer_too_short")
    } else if a > config.max_answer_chars {
        Some("answer_too_long")
    } else if is_mostly_link(answer, config) {
        Some("mostly_link")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CleanConfig {
        CleanConfig {
            min_question_chars: 10,
            max_question_chars: 1000,
            min_answer_chars: 20,
            max_answer_chars: 5000,
            max_link_share: 0.5,
            min_words_outside_links: 8,
        }
    }

    #[test]
    fn html_tags_and_entities_are_removed_but_comparisons_survive() {
        let html = "<p>Use a <strong>t-test</strong> when p&lt;0.05 &amp; n &gt; 30.</p><p>Also a < b and p<0.05.</p><script>x()</script>";
        assert_eq!(
            clean_text(html),
            "Use a t-test when p<0.05 & n > 30.\n\nAlso a < b and p<0.05."
        );
    }

    #[test]
    fn whitespace_is_collapsed_but_paragraphs_and_superscripts_kept() {
        let text = "Variance\u{00A0}is  σ²\r\n\r\n\r\n\r\nand\tmore\u{200B} text  \n";
        assert_eq!(normalize_text(text), "Variance is σ²\n\nand more text");
    }

    #[test]
    fn decomposed_accents_are_composed() {
        assert_eq!(normalize_text("Cafe\u{0301}"), "Café");
    }

    #[test]
    fn link_only_answers_are_flagged_and_explained_links_are_not() {
        let c = config();
        assert!(is_mostly_link(
            "See https://en.wikipedia.org/wiki/Statistical_power",
            &c
        ));
        assert!(!is_mostly_link(
            "Power is the probability of rejecting a false null hypothesis; it grows with sample size and effect size, see https://example.org/power",
            &c
        ));
        assert!(!is_mostly_link("No links here at all, just words.", &c));
        assert_eq!(
            check_limits("What is power here?", "see https://x.org/a/b/c/d/e/f", &c),
            Some("mostly_link")
        );
    }
}
