//! Turning token pieces into text: UTF-8 reassembly across tokens, and stop strings that may
//! span several tokens.
//!
//! Text that could be the start of a stop string is held back until it is known not to be, so a
//! stream never shows a stop string, or a prefix of one that then completes.

/// What pushing a piece produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Text that can be shown now (possibly empty).
    Text(String),
    /// A stop string was produced: the text before it, after which generation ends.
    Stopped(String),
}

/// Incremental decoder for one sequence.
#[derive(Debug)]
pub(crate) struct TextDecoder {
    undecoded: Vec<u8>,
    text: String,
    emitted: usize,
    stops: Vec<String>,
    longest_stop: usize,
}

impl TextDecoder {
    pub(crate) fn new(stops: &[String]) -> Self {
        let stops: Vec<String> = stops.iter().filter(|s| !s.is_empty()).cloned().collect();
        let longest_stop = stops.iter().map(String::len).max().unwrap_or(0);
        Self {
            undecoded: Vec::new(),
            text: String::new(),
            emitted: 0,
            stops,
            longest_stop,
        }
    }

    /// Adds a token's bytes.
    pub(crate) fn push(&mut self, piece: &[u8]) -> Step {
        self.undecoded.extend_from_slice(piece);
        self.decode_valid_prefix();
        let from = floor_boundary(&self.text, self.emitted.saturating_sub(self.longest_stop));
        let earliest = self
            .stops
            .iter()
            .filter_map(|stop| self.text[from..].find(stop.as_str()).map(|i| from + i))
            .min();
        if let Some(at) = earliest {
            let at = at.max(self.emitted);
            let out = self.text[self.emitted..at].to_owned();
            self.emitted = self.text.len();
            return Step::Stopped(out);
        }
        let hold = self
            .stops
            .iter()
            .map(|stop| partial_suffix(&self.text[self.emitted..], stop))
            .max()
            .unwrap_or(0);
        let safe = self.text.len() - hold;
        let out = self.text[self.emitted..safe].to_owned();
        self.emitted = safe;
        Step::Text(out)
    }

    /// Everything not yet shown, at the end of generation (an incomplete character becomes U+FFFD).
    pub(crate) fn finish(&mut self) -> String {
        if !self.undecoded.is_empty() {
            let rest = String::from_utf8_lossy(&self.undecoded).into_owned();
            self.text.push_str(&rest);
            self.undecoded.clear();
        }
        let out = self.text[self.emitted..].to_owned();
        self.emitted = self.text.len();
        out
    }

    fn decode_valid_prefix(&mut self) {
        loop {
            match std::str::from_utf8(&self.undecoded) {
                Ok(valid) => {
                    self.text.push_str(valid);
                    self.undecoded.clear();
                    return;
                }
                Err(error) => {
                    let valid = error.valid_up_to();
                    // `valid_up_to` bytes are valid UTF-8 by definition.
                    self.text
                        .push_str(&String::from_utf8_lossy(&self.undecoded[..valid]));
                    match error.error_len() {
                        // An invalid sequence: replace it and go on.
                        Some(bad) => {
                            self.text.push(char::REPLACEMENT_CHARACTER);
                            self.undecoded.drain(..valid + bad);
                        }
                        // An incomplete character: wait for the next token.
                        None => {
                            self.undecoded.drain(..valid);
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// The length of the longest suffix of `text` that is a proper prefix of `stop`.
fn partial_suffix(text: &str, stop: &str) -> usize {
    (1..stop.len().min(text.len() + 1))
        .rev()
        .filter(|&k| stop.is_char_boundary(k))
        .find(|&k| text.ends_with(&stop[..k]))
        .unwrap_or(0)
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(pieces: &[&[u8]], stops: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut decoder = TextDecoder::new(&stops);
        let mut out = String::new();
        for piece in pieces {
            match decoder.push(piece) {
                Step::Text(t) => out.push_str(&t),
                Step::Stopped(t) => {
                    out.push_str(&t);
                    return (out, true);
                }
            }
        }
        out.push_str(&decoder.finish());
        (out, false)
    }

    #[test]
    fn a_stop_string_across_tokens_ends_generation_before_it() {
        assert_eq!(
            run(&[b"Hel", b"lo\n", b"\nUs", b"er"], &["\n\nUser"]),
            ("Hello".into(), true)
        );
        assert_eq!(run(&[b"abc"], &["b", "c"]), ("a".into(), true));
    }

    #[test]
    fn a_partial_match_that_does_not_complete_is_shown() {
        let stops = vec!["END".to_string()];
        let mut decoder = TextDecoder::new(&stops);
        assert_eq!(decoder.push(b"xx E"), Step::Text("xx ".into()));
        assert_eq!(decoder.push(b"N"), Step::Text(String::new()));
        assert_eq!(decoder.push(b"d"), Step::Text("ENd".into()));
        assert_eq!(decoder.finish(), "");
    }

    #[test]
    fn characters_split_across_tokens_are_reassembled() {
        let euro = "€".as_bytes();
        assert_eq!(
            run(&[&euro[..1], &euro[1..2], &euro[2..], b"!"], &[]),
            ("€!".into(), false)
        );
        assert_eq!(
            run(&[b"a", &[0xff], b"b"], &[]),
            ("a\u{fffd}b".into(), false)
        );
        assert_eq!(run(&[&euro[..2]], &[]), ("\u{fffd}".into(), false));
    }
}
