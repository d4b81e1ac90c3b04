//! Numbers in free text: "3,842", "3.8k", "0.0123", "1.2e-3", "1.2 × 10^-3", "4.5%", "−0.7",
//! "2 million". Each number keeps the resolution its writer stated (half a unit of its last
//! digit), so that "3.8k" can support 3,841 while "3,800" cannot stand for 3,841 when the
//! tolerance is one unit.

/// A number found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The value, with multipliers applied ("3.8k" is 3800, "4.5%" is 4.5).
    pub value: f64,
    /// Whether a percent sign followed it (then `value / 100` is the proportion).
    pub percent: bool,
    /// Half a unit of the last stated digit, after multipliers.
    pub resolution: f64,
    /// Byte range in the text.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
}

impl Found {
    /// The values this number may stand for: itself and, for a percentage, the proportion.
    pub fn readings(&self) -> Vec<(f64, f64)> {
        let mut r = vec![(self.value, self.resolution)];
        if self.percent {
            r.push((self.value / 100.0, self.resolution / 100.0));
        }
        r
    }

    /// Whether this number, read either way, lies within `allowed` of `target`.
    pub fn matches(&self, target: f64, allowed: f64) -> bool {
        self.readings()
            .iter()
            .any(|(v, _)| (v - target).abs() <= allowed)
    }

    /// Whether this number is `target` as its writer rounded it (or within `rel` of it).
    pub fn supports(&self, target: f64, rel: f64) -> bool {
        self.readings().iter().any(|(v, res)| {
            let d = (v - target).abs();
            d <= res * (1.0 + 1e-9) || d <= rel * target.abs()
        })
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Multiplier words after a number ("2 million users").
const SCALE_WORDS: &[(&str, f64)] = &[("thousand", 1e3), ("million", 1e6), ("billion", 1e9)];

/// Extracts every number of `text`, in order.
pub fn extract(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts_number =
            c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts_number {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        // A digit glued to a letter before it is part of a name ("H0", "SmolLM2", "p1").
        let prev = text[..i].chars().next_back();
        if prev.is_some_and(|p| p.is_alphabetic() || p == '_') {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            continue;
        }
        let start = i;
        // Sign: a minus (ASCII or U+2212) directly before, not itself after a digit ("4.5-5.0"
        // is a range).
        let mut negative = false;
        let mut sign_start = start;
        if let Some(p) = prev
            && (p == '-' || p == '−')
        {
            let before = text[..start - p.len_utf8()].chars().next_back();
            if !before.is_some_and(|b| b.is_alphanumeric() || b == ')' || b == '.' || b == '%') {
                negative = true;
                sign_start = start - p.len_utf8();
            }
        }
        // Integer part, with thousands separators only in groups of exactly three digits.
        let mut digits = String::new();
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            digits.push(bytes[i] as char);
            i += 1;
        }
        loop {
            if i + 3 < bytes.len() + 1
                && bytes.get(i) == Some(&b',')
                && bytes
                    .get(i + 1..i + 4)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
                && !bytes.get(i + 4).is_some_and(u8::is_ascii_digit)
                && !digits.is_empty()
            {
                digits.push_str(&text[i + 1..i + 4]);
                i += 4;
            } else {
                break;
            }
        }
        let mut decimals: i32 = 0;
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            digits.push('.');
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                digits.push(bytes[i] as char);
                decimals += 1;
                i += 1;
            }
        }
        let Ok(mut value) = digits.parse::<f64>() else {
            continue;
        };
        let mut resolution = 0.5 * 10f64.powi(-decimals);
        // Exponent: "e-3", "E+04", "× 10^-3", "x10^5", "·10⁻³" is not handled (rare in answers).
        let rest = &text[i..];
        if let Some((exp, used)) = exponent(rest) {
            let m = 10f64.powi(exp);
            value *= m;
            resolution *= m;
            i += used;
        }
        // Suffix multipliers: k/K and M directly after the digits, or a scale word after a space.
        let rest = &text[i..];
        let mut chars = rest.chars();
        let next = chars.next();
        let after = chars.next();
        if let Some(s @ ('k' | 'K' | 'M')) = next
            && !after.is_some_and(is_word_char)
        {
            let m = if s == 'M' { 1e6 } else { 1e3 };
            value *= m;
            resolution *= m;
            i += 1;
        } else {
            let trimmed = rest.trim_start_matches(' ');
            let skipped = rest.len() - trimmed.len();
            for (word, m) in SCALE_WORDS {
                if skipped == 1
                    && trimmed.to_lowercase().starts_with(word)
                    && !trimmed[word.len()..]
                        .chars()
                        .next()
                        .is_some_and(is_word_char)
                {
                    value *= m;
                    resolution *= m;
                    i += 1 + word.len();
                    break;
                }
            }
        }
        // Percent, possibly after a space ("4.5 %").
        let rest = &text[i..];
        let mut percent = false;
        if let Some(stripped) = rest.strip_prefix('%') {
            percent = true;
            i += rest.len() - stripped.len();
        } else if rest.starts_with(" %") {
            percent = true;
            i += 2;
        } else {
            // "percentage points", "pp" and "percent" read like a percent sign.
            for word in [" percentage points", " percentage point", " pp", " percent"] {
                if rest.starts_with(word)
                    && !rest[word.len()..].chars().next().is_some_and(is_word_char)
                {
                    percent = true;
                    i += word.len();
                    break;
                }
            }
        }
        // A number glued to letters after it is an identifier ("2x", "3rd", "10px"), except
        // for the multipliers handled above.
        if text[i..].chars().next().is_some_and(|c| c.is_alphabetic()) {
            while i < bytes.len() && is_word_char(text[i..].chars().next().unwrap_or(' ')) {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
            }
            continue;
        }
        if negative {
            value = -value;
        }
        out.push(Found {
            value,
            percent,
            resolution,
            start: sign_start,
            end: i,
        });
    }
    out
}

/// Parses an exponent at the start of `rest`: `e-3`, `E+4`, ` × 10^-3`, `x10^5`, `*10^2`.
/// Returns the exponent and the bytes used.
fn exponent(rest: &str) -> Option<(i32, usize)> {
    let signed_int = |s: &str| -> Option<(i32, usize)> {
        let mut end = 0;
        let b = s.as_bytes();
        if b.first().is_some_and(|c| *c == b'-' || *c == b'+') {
            end = 1;
        } else if s.starts_with('−') {
            end = '−'.len_utf8();
        }
        let digits_start = end;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == digits_start {
            return None;
        }
        let text = s[..end].replace('−', "-");
        text.parse::<i32>().ok().map(|v| (v, end))
    };
    if let Some(r) = rest.strip_prefix(['e', 'E']) {
        let (e, used) = signed_int(r)?;
        // "2e" followed by letters is a word, not a number; signed_int already needs digits.
        return Some((e, 1 + used));
    }
    let trimmed = rest.trim_start_matches(' ');
    let lead = rest.len() - trimmed.len();
    for times in ["×", "x", "*", "·"] {
        if let Some(r) = trimmed.strip_prefix(times) {
            let r2 = r.trim_start_matches(' ');
            let mid = r.len() - r2.len();
            if let Some(r3) = r2.strip_prefix("10^") {
                let (e, used) = signed_int(r3)?;
                return Some((e, lead + times.len() + mid + 3 + used));
            }
        }
    }
    None
}

/// The values of every number in `text`, both readings of percentages included.
pub fn values(text: &str) -> Vec<f64> {
    extract(text)
        .iter()
        .flat_map(|f| f.readings().into_iter().map(|(v, _)| v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(text: &str) -> Vec<f64> {
        extract(text).iter().map(|f| f.value).collect()
    }

    #[test]
    fn thousands_separators_and_lists_are_told_apart() {
        assert_eq!(vals("3,842 users"), vec![3842.0]);
        assert_eq!(vals("1,234,567"), vec![1_234_567.0]);
        assert_eq!(vals("p-values 0.01, 0.04, 0.03"), vec![0.01, 0.04, 0.03]);
        assert_eq!(vals("1,23"), vec![1.0, 23.0]);
    }

    #[test]
    fn multipliers_exponents_and_percentages() {
        assert_eq!(vals("3.8k users"), vec![3800.0]);
        assert_eq!(vals("1.2M rows"), vec![1_200_000.0]);
        assert_eq!(vals("2 million users"), vec![2_000_000.0]);
        let e = extract("p = 1.2e-3 and 4.5%");
        assert!((e[0].value - 0.0012).abs() < 1e-15);
        assert!(e[1].percent && e[1].value == 4.5);
        assert!((extract("3.1 × 10^-4")[0].value - 3.1e-4).abs() < 1e-15);
        assert_eq!(vals(".05"), vec![0.05]);
        let pp = &extract("an MDE of 3.20 percentage points")[0];
        assert!(pp.percent && pp.matches(0.032, 1e-4));
        assert!(extract("1.5 pp")[0].percent);
    }

    #[test]
    fn names_ranges_and_signs() {
        assert_eq!(vals("H0 and SmolLM2 at 2x"), Vec::<f64>::new());
        assert_eq!(vals("between 4.5-5.0"), vec![4.5, 5.0]);
        assert_eq!(vals("an effect of -0.7 or −2"), vec![-0.7, -2.0]);
        assert_eq!(vals("interval [-0.0075, 0.0476]."), vec![-0.0075, 0.0476]);
    }

    #[test]
    fn resolution_follows_the_stated_digits() {
        let f = &extract("3.8k")[0];
        assert!((f.resolution - 50.0).abs() < 1e-9);
        assert!(f.supports(3841.0, 0.0));
        assert!(!extract("3,800")[0].supports(3841.0, 0.0));
        assert!(extract("3.5%")[0].supports(0.0354885, 0.0));
        assert!(!extract("0.036")[0].supports(0.0354885, 0.0));
    }
}
