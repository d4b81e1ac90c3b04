//! The number check on generated text: every number the model writes must appear in the
//! calculator's output, the retrieved context or the question. Sentences carrying any other
//! number are removed, and the numbers are reported.
//!
//! Matching is numeric, not textual: "3842", "3,842" and "3842.0" are the same number, "5%"
//! matches 0.05 and 5, and a number rounded the way a writer would round it (to the precision it
//! is written with) matches the exact value it rounds from. Integers from 0 to 10 are always
//! allowed: they are counts of steps and groups far more often than results.

/// A number as written.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenNumber {
    /// The text, as written (without a trailing period).
    pub text: String,
    /// Its value (a percentage is its number, not divided by 100).
    pub value: f64,
    /// Whether a `%` followed it.
    pub percent: bool,
    /// Digits after the decimal point, as written.
    pub decimals: usize,
    /// Byte offset in the text.
    pub start: usize,
}

/// Finds the numbers in `text`: digits with optional thousands separators, a decimal part, an
/// exponent and a percent sign. Citation markers such as `[3]` are skipped.
pub fn numbers_in(text: &str) -> Vec<WrittenNumber> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        let glued_to_word = i > 0 && (bytes[i - 1].is_ascii_alphabetic() || bytes[i - 1] == b'_');
        if !starts_number || glued_to_word {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        let mut decimals = 0usize;
        let mut seen_point = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_digit() {
                digits.push(b as char);
                if seen_point {
                    decimals += 1;
                }
                i += 1;
            } else if b == b','
                && !seen_point
                && bytes
                    .get(i + 1..i + 4)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
                && !bytes.get(i + 4).is_some_and(u8::is_ascii_digit)
            {
                // A thousands separator: exactly three digits follow.
                i += 1;
            } else if b == b'.' && !seen_point && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                seen_point = true;
                digits.push('.');
                i += 1;
            } else {
                break;
            }
        }
        // An exponent: e-3, E+05.
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            let mut j = i + 1;
            if j < bytes.len() && (bytes[j] == b'-' || bytes[j] == b'+') {
                j += 1;
            }
            if j < bytes.len() && bytes[j].is_ascii_digit() {
                let exp_start = j;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                digits.push('e');
                digits.push_str(&text[i + 1..exp_start]);
                digits.push_str(&text[exp_start..j]);
                i = j;
            }
        }
        let in_marker = start > 0 && bytes[start - 1] == b'[' && bytes.get(i) == Some(&b']');
        let percent = bytes.get(i) == Some(&b'%');
        let end = if percent { i + 1 } else { i };
        if !in_marker && let Ok(value) = digits.parse::<f64>() {
            out.push(WrittenNumber {
                text: text[start..end].to_owned(),
                value,
                percent,
                decimals,
                start,
            });
        }
        i = end.max(start + 1);
    }
    out
}

/// The numbers an answer may state.
#[derive(Debug, Clone, Default)]
pub struct AllowedNumbers {
    values: Vec<f64>,
}

impl AllowedNumbers {
    /// Adds every number written in `text`.
    pub fn add_text(&mut self, text: &str) {
        for n in numbers_in(text) {
            self.values.push(n.value);
            if n.percent {
                self.values.push(n.value / 100.0);
            }
        }
    }

    /// Adds a value, with its percentage form.
    pub fn add_value(&mut self, value: f64) {
        if value.is_finite() {
            self.values.push(value);
            self.values.push(value * 100.0);
        }
    }

    /// Adds every number in a JSON value (the calculator's output).
    pub fn add_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_f64() {
                    self.add_value(v);
                }
            }
            serde_json::Value::String(s) => self.add_text(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.add_json(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.add_json(v)),
            _ => {}
        }
    }

    /// Whether `n` is one of the allowed numbers, exactly or as they would be rounded.
    pub fn supports(&self, n: &WrittenNumber) -> bool {
        if n.value.fract() == 0.0 && (0.0..=10.0).contains(&n.value) {
            return true;
        }
        let candidates: &[f64] = if n.percent {
            &[n.value, n.value / 100.0]
        } else {
            &[n.value]
        };
        self.values.iter().any(|&allowed| {
            candidates.iter().any(|&c| {
                let scale = c.abs().max(allowed.abs()).max(1e-12);
                if (c - allowed).abs() / scale < 1e-9 {
                    return true;
                }
                // Rounded to the precision written: 0.0123 supports "0.012", 3841.6 supports
                // "3,842"; but "4,000" is not 3,842 (rounding to the written precision of an
                // integer means units, not thousands).
                let factor = 10f64.powi(n.decimals as i32);
                (allowed * factor).round() / factor == c
            })
        })
    }
}

/// The result of checking a generated text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckedText {
    /// The text without the sentences that carried unsupported numbers.
    pub text: String,
    /// The unsupported numbers, as written, in order.
    pub unsupported: Vec<String>,
    /// How many numbers were checked.
    pub checked: usize,
}

/// Removes every sentence of `text` that states a number `allowed` does not support.
pub fn check_numbers(text: &str, allowed: &AllowedNumbers) -> CheckedText {
    let mut out = CheckedText::default();
    let mut kept: Vec<&str> = Vec::new();
    for sentence in sentences(text) {
        let numbers = numbers_in(sentence);
        out.checked += numbers.len();
        let bad: Vec<String> = numbers
            .iter()
            .filter(|n| !allowed.supports(n))
            .map(|n| n.text.clone())
            .collect();
        if bad.is_empty() {
            kept.push(sentence);
        } else {
            out.unsupported.extend(bad);
        }
    }
    out.text = kept.concat().trim().to_owned();
    out
}

/// Splits after `.`, `!`, `?` or a newline when what follows starts a new sentence; a decimal
/// point is not a sentence end. The pieces keep their trailing whitespace, so concatenating them
/// gives the text back.
fn sentences(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let end_mark = matches!(b, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        if end_mark || b == b'\n' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            out.push(&text[start..j]);
            start = j;
            i = j;
        } else {
            i += 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<f64> {
        numbers_in(text).into_iter().map(|n| n.value).collect()
    }

    #[test]
    fn finds_separators_decimals_exponents_and_percentages() {
        assert_eq!(
            values("n = 3,842 per group, p = 0.0123 (1.2e-3), 5% lift, .5 sd, 12,34"),
            vec![3842.0, 0.0123, 1.2e-3, 5.0, 0.5, 12.0, 34.0]
        );
        let pct = numbers_in("a 5.5% lift");
        assert!(pct[0].percent && pct[0].decimals == 1 && pct[0].text == "5.5%");
    }

    #[test]
    fn skips_citation_markers_and_words_with_digits() {
        assert_eq!(values("see [3] and H0 or log2"), Vec::<f64>::new());
    }

    #[test]
    fn rounded_forms_are_supported_but_other_numbers_are_not() {
        let mut allowed = AllowedNumbers::default();
        allowed.add_value(3841.6);
        allowed.add_value(0.012345);
        allowed.add_text("baseline 10%");
        let check = |t: &str| allowed.supports(&numbers_in(t)[0]);
        assert!(check("3,842"));
        assert!(check("3841.6"));
        assert!(!check("4,000"));
        assert!(check("0.0123"));
        assert!(check("1.23%"));
        assert!(check("10%"));
        assert!(check("0.1"));
        assert!(!check("0.2"));
        assert!(check("7"), "small integers are always allowed");
        assert!(!check("1933"));
    }

    #[test]
    fn sentences_with_unsupported_numbers_are_removed() {
        let mut allowed = AllowedNumbers::default();
        allowed.add_json(&serde_json::json!({"n_per_group": 3842, "alpha": 0.05}));
        let checked = check_numbers(
            "You need 3,842 users per group. Fisher proposed this in 1925. At alpha 0.05 it holds.",
            &allowed,
        );
        assert_eq!(checked.unsupported, vec!["1925"]);
        assert_eq!(
            checked.text,
            "You need 3,842 users per group. At alpha 0.05 it holds."
        );
        assert_eq!(checked.checked, 3);
    }
}
