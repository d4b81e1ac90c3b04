//! Splits a question into words, numbers and punctuation, keeping byte spans into the original
//! text so every parsed parameter can point back at what the user wrote.
//!
//! Numbers are read the way people type them in chat: thousands separators ("2,400"), `k` and
//! `M` suffixes ("10k", "1.5M"), number words after them ("2 million"), leading dots (".05"),
//! signs ("+3%", "−2"), currency prefixes ("$25") and units ("5%", "5 percent", "2pp", "2
//! percentage points"). The lexer reads no meaning into a number beyond its unit; binding a
//! number to a parameter is `params`' job.

/// What unit, if any, a number was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A bare number.
    Plain,
    /// "5%", "5 percent", "5 pct".
    Percent,
    /// "2pp", "2 percentage points", "2 points", "2 pts".
    Points,
}

/// A number as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The value with suffix multipliers applied ("10k" is 10000) but units not applied
    /// ("5%" is 5).
    pub value: f64,
    /// The unit it was written with.
    pub unit: Unit,
    /// Whether it was written with a decimal point.
    pub has_point: bool,
    /// Whether it carried a currency sign.
    pub currency: bool,
    /// Whether it was written with an explicit `+` sign.
    pub plus: bool,
    /// The digits as written ("4.4", "2400"), when no suffix or exponent scaled them; used to
    /// divide by 100 exactly, so "4.4%" is the double nearest 0.044 and not 4.4 / 100.
    pub literal: Option<String>,
}

impl Number {
    /// The value divided by 100, computed by moving the decimal point of the literal so the
    /// result is the double nearest the decimal fraction ("4.4" gives exactly 0.044).
    pub fn hundredth(&self) -> f64 {
        let Some(lit) = &self.literal else {
            return self.value / 100.0;
        };
        let (int, frac) = lit.split_once('.').unwrap_or((lit.as_str(), ""));
        let int = format!("{int:0>2}");
        let (hi, lo) = int.split_at(int.len() - 2);
        let shifted = format!("{}.{lo}{frac}", if hi.is_empty() { "0" } else { hi });
        let v: f64 = shifted.parse().unwrap_or(self.value / 100.0);
        if self.value < 0.0 { -v } else { v }
    }

    /// The value as a fraction when it is written as a percentage or in points, else as is.
    pub fn fraction(&self) -> f64 {
        match self.unit {
            Unit::Plain => self.value,
            Unit::Percent | Unit::Points => self.hundredth(),
        }
    }

    /// The value read as a probability: a percentage is divided by 100; a bare number above 1
    /// and at most 100 is taken as a percentage too ("power 80"), since a probability cannot
    /// exceed 1.
    pub fn probability(&self) -> Option<f64> {
        let p = match self.unit {
            Unit::Percent | Unit::Points => self.hundredth(),
            Unit::Plain if self.value > 1.0 && self.value < 100.0 => self.value / 100.0,
            Unit::Plain => self.value,
        };
        (p > 0.0 && p < 1.0).then_some(p)
    }

    /// Whether this is a non-negative whole number written without a point or a unit.
    pub fn is_count(&self) -> bool {
        self.unit == Unit::Plain
            && !self.currency
            && self.value >= 0.0
            && self.value.fract() == 0.0
            && self.value < 1e15
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A lowercase word (letters and digits starting with a letter, e.g. "p95", "n1").
    Word(String),
    /// A number.
    Num(Number),
    /// Any other visible character ("/", ",", "(", "=", "?").
    Punct(char),
}

/// One token with its byte span in the original question.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Byte offset where it starts.
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
}

impl Token {
    /// The word, if this token is one.
    pub fn word(&self) -> Option<&str> {
        match &self.kind {
            Kind::Word(w) => Some(w),
            _ => None,
        }
    }

    /// The number, if this token is one.
    pub fn num(&self) -> Option<&Number> {
        match &self.kind {
            Kind::Num(n) => Some(n),
            _ => None,
        }
    }

    /// Whether this token is the punctuation `c`.
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `text` into tokens. Whitespace separates tokens and is dropped.
pub fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let ch = |i: usize| chars.get(i).map(|&(_, c)| c);
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if let Some((num, next)) = lex_number(&chars, i) {
            // A number glued to a preceding word ("n1", "x2") belongs to the word; the word
            // loop below already consumed those, so this is a standalone number.
            out.push(Token {
                kind: Kind::Num(num),
                start: byte_at(i),
                end: byte_at(next),
            });
            i = next;
            continue;
        }
        if is_word_char(c) {
            // Words start with a letter; a digit run glued to letters that are not a known
            // unit ("820ms", "2x2") is read as one word so it yields no stray numbers.
            let start = i;
            let mut w = String::new();
            while let Some(c) = ch(i) {
                if !is_word_char(c) {
                    break;
                }
                w.extend(c.to_lowercase());
                i += 1;
            }
            out.push(Token {
                kind: Kind::Word(w),
                start: byte_at(start),
                end: byte_at(i),
            });
            continue;
        }
        out.push(Token {
            kind: Kind::Punct(c),
            start: byte_at(i),
            end: byte_at(i + 1),
        });
        i += 1;
    }
    attach_units(text, out)
}

/// Reads a number starting at char index `i`, returning it and the index after it.
fn lex_number(chars: &[(usize, char)], i: usize) -> Option<(Number, usize)> {
    let ch = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut k = i;
    let mut negative = false;
    let mut plus = false;
    let mut currency = false;
    // A sign or currency sign counts only when a digit (or ".digit") follows, so "->" and
    // "+-" stay punctuation.
    let digit_follows = |k: usize| {
        ch(k).is_some_and(|c| c.is_ascii_digit())
            || (ch(k) == Some('.') && ch(k + 1).is_some_and(|c| c.is_ascii_digit()))
    };
    if let Some(c) = ch(k)
        && matches!(c, '-' | '+' | '−' | '~' | '≈')
        && digit_follows(k + 1)
    {
        // A minus glued to a preceding word or number ("a-1", "3-4") is a dash, not a sign.
        let glued = k > 0 && chars.get(k - 1).is_some_and(|&(_, p)| is_word_char(p));
        if !glued {
            negative = matches!(c, '-' | '−');
            plus = c == '+';
            k += 1;
        }
    }
    if let Some(c) = ch(k)
        && matches!(c, '$' | '€' | '£')
        && digit_follows(k + 1)
    {
        currency = true;
        k += 1;
    }
    if !digit_follows(k) {
        return None;
    }
    // A digit glued after a letter is part of a word ("p95", "n1"); the caller only reaches
    // here at a token boundary, but "a1" style words start with a letter and are handled there.
    let mut s = String::new();
    let int_start = k;
    while let Some(c) = ch(k)
        && c.is_ascii_digit()
    {
        s.push(c);
        k += 1;
    }
    // Thousands separators: only after a first group of one to three digits, and each group
    // exactly three digits not followed by another digit ("2,400" but not "0.01,0.04").
    if (1..=3).contains(&(k - int_start)) {
        loop {
            let three = (1..=3).all(|d| ch(k + d).is_some_and(|c| c.is_ascii_digit()));
            if ch(k) == Some(',') && three && !ch(k + 4).is_some_and(|c| c.is_ascii_digit()) {
                for d in 1..=3 {
                    if let Some(c) = ch(k + d) {
                        s.push(c);
                    }
                }
                k += 4;
            } else {
                break;
            }
        }
    }
    let mut has_point = false;
    if ch(k) == Some('.') && ch(k + 1).is_some_and(|c| c.is_ascii_digit()) {
        has_point = true;
        s.push('.');
        k += 1;
        while let Some(c) = ch(k)
            && c.is_ascii_digit()
        {
            s.push(c);
            k += 1;
        }
    }
    // Scientific notation ("1e-5", "2.5E3").
    if matches!(ch(k), Some('e' | 'E')) {
        let mut j = k + 1;
        let mut exp = String::from("e");
        if let Some(c) = ch(j)
            && matches!(c, '-' | '+')
        {
            exp.push(c);
            j += 1;
        }
        let exp_digits = j;
        while let Some(c) = ch(j)
            && c.is_ascii_digit()
        {
            exp.push(c);
            j += 1;
        }
        if j > exp_digits && !ch(j).is_some_and(is_word_char) {
            s.push_str(&exp);
            has_point = true;
            k = j;
        }
    }
    let mut value: f64 = s.parse().ok()?;
    let mut literal = (!s.contains('e')).then(|| s.clone());
    // Suffix multipliers glued to the number: "10k", "1.5m", "2M", "3mm", "1bn". A letter
    // after the suffix means it is a unit word instead ("820ms", "5min").
    let suffix_end = |k: usize, len: usize| !ch(k + len).is_some_and(is_word_char);
    match ch(k) {
        Some('k' | 'K') if suffix_end(k, 1) => {
            value *= 1e3;
            k += 1;
            literal = None;
        }
        Some('m' | 'M') if suffix_end(k, 1) => {
            value *= 1e6;
            k += 1;
            literal = None;
        }
        Some('m' | 'M') if matches!(ch(k + 1), Some('m' | 'M')) && suffix_end(k, 2) => {
            value *= 1e6;
            k += 2;
            literal = None;
        }
        Some('b' | 'B') if matches!(ch(k + 1), Some('n' | 'N')) && suffix_end(k, 2) => {
            value *= 1e9;
            k += 2;
            literal = None;
        }
        _ => {}
    }
    // A number glued to following letters ("2x2", "3rd", "820ms") is not a clean number
    // unless the letters are a unit handled later ("2pp", "5pct", "5percent").
    if ch(k).is_some_and(|c| c.is_alphabetic()) {
        let mut j = k;
        let mut w = String::new();
        while let Some(c) = ch(j)
            && is_word_char(c)
        {
            w.extend(c.to_lowercase());
            j += 1;
        }
        let unit = match w.as_str() {
            "pp" | "ppt" | "ppts" | "pts" | "pt" => Some(Unit::Points),
            "pct" | "percent" => Some(Unit::Percent),
            _ => None,
        };
        let unit = unit?;
        return Some((
            Number {
                value: if negative { -value } else { value },
                unit,
                has_point,
                currency,
                plus,
                literal,
            },
            j,
        ));
    }
    Some((
        Number {
            value: if negative { -value } else { value },
            unit: Unit::Plain,
            has_point,
            currency,
            plus,
            literal,
        },
        k,
    ))
}

/// Folds unit words and signs that follow a number into it: "5 %", "5 percent", "2
/// percentage points", "3 points", "2 million", "10 thousand".
fn attach_units(text: &str, tokens: Vec<Token>) -> Vec<Token> {
    let _ = text;
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let mut t = tokens[i].clone();
        i += 1;
        if let Kind::Num(n) = &mut t.kind
            && n.unit == Unit::Plain
        {
            let word = |k: usize| tokens.get(k).and_then(Token::word);
            match (word(i), word(i + 1)) {
                (Some("million" | "mil" | "mln"), _) => {
                    n.value *= 1e6;
                    n.literal = None;
                    t.end = tokens[i].end;
                    i += 1;
                }
                (Some("thousand"), _) => {
                    n.value *= 1e3;
                    n.literal = None;
                    t.end = tokens[i].end;
                    i += 1;
                }
                (Some("billion"), _) => {
                    n.value *= 1e9;
                    n.literal = None;
                    t.end = tokens[i].end;
                    i += 1;
                }
                _ => {}
            }
            if tokens
                .get(i)
                .is_some_and(|x| x.is_punct('%') || x.is_punct('٪'))
            {
                n.unit = Unit::Percent;
                t.end = tokens[i].end;
                i += 1;
            } else {
                match (word(i), word(i + 1)) {
                    (Some("percentage" | "pct" | "percent"), Some("points" | "point" | "pts")) => {
                        n.unit = Unit::Points;
                        t.end = tokens[i + 1].end;
                        i += 2;
                    }
                    (Some("per"), Some("cent")) => {
                        n.unit = Unit::Percent;
                        t.end = tokens[i + 1].end;
                        i += 2;
                    }
                    (Some("percent" | "pct" | "prozent"), _) => {
                        n.unit = Unit::Percent;
                        t.end = tokens[i].end;
                        i += 1;
                    }
                    (Some("pp" | "ppt" | "ppts" | "points" | "point" | "pts"), _) => {
                        n.unit = Unit::Points;
                        t.end = tokens[i].end;
                        i += 1;
                    }
                    _ => {}
                }
            }
        }
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(s: &str) -> Vec<(f64, Unit)> {
        lex(s)
            .iter()
            .filter_map(|t| t.num().map(|n| (n.value, n.unit)))
            .collect()
    }

    #[test]
    fn reads_separators_suffixes_and_units() {
        assert_eq!(
            nums("120 of 2,400 vs 10k, 1.5M and 5% or 2pp, 3 percentage points, .05"),
            vec![
                (120.0, Unit::Plain),
                (2400.0, Unit::Plain),
                (10000.0, Unit::Plain),
                (1.5e6, Unit::Plain),
                (5.0, Unit::Percent),
                (2.0, Unit::Points),
                (3.0, Unit::Points),
                (0.05, Unit::Plain),
            ]
        );
    }

    #[test]
    fn keeps_lists_and_arrows_apart() {
        assert_eq!(
            nums("0.01,0.04 3.2% -> 3.5% 820ms p95"),
            vec![
                (0.01, Unit::Plain),
                (0.04, Unit::Plain),
                (3.2, Unit::Percent),
                (3.5, Unit::Percent)
            ]
        );
    }

    #[test]
    fn spans_point_into_the_original_text() {
        let s = "Ünïcode baseline 10 %";
        let t = lex(s);
        let n = t.iter().find(|t| t.num().is_some()).expect("a number");
        assert_eq!(&s[n.start..n.end], "10 %");
    }
}
