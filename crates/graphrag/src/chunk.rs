//! Splitting documents into overlapping chunks on paragraph and sentence boundaries, keeping the
//! byte offsets of every chunk in the original text so that a citation can point at the passage.

/// A passage of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position of the chunk in its document, from 0.
    pub ordinal: usize,
    /// Byte offset of the first byte in the document.
    pub start: usize,
    /// Byte offset past the last byte.
    pub end: usize,
    /// `document[start..end]`.
    pub text: String,
}

/// How to cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkParams {
    /// The size a chunk grows to before a new one starts, in bytes.
    pub target: usize,
    /// How much of the end of a chunk the next one repeats, in bytes (whole sentences).
    pub overlap: usize,
}

impl Default for ChunkParams {
    fn default() -> Self {
        Self {
            target: 800,
            overlap: 160,
        }
    }
}

/// Cuts `text` into chunks. Units are paragraphs, split into sentences when a paragraph is longer
/// than the target, and hard-split at whitespace when one sentence is. Chunks never start or end
/// inside a unit, and the next chunk repeats the trailing units of the previous one up to
/// `overlap` bytes.
pub fn chunk_text(text: &str, params: ChunkParams) -> Vec<Chunk> {
    let target = params.target.max(64);
    let overlap = params.overlap.min(target / 2);
    let units = units(text, target);
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let first = i;
        let mut j = i;
        let start = units[i].0;
        let mut end = units[i].1;
        j += 1;
        while j < units.len() && units[j].1 - start <= target {
            end = units[j].1;
            j += 1;
        }
        chunks.push(Chunk {
            ordinal: chunks.len(),
            start,
            end,
            text: text[start..end].to_string(),
        });
        if j >= units.len() {
            break;
        }
        // Step back over whole units for the overlap, but always make progress.
        let mut k = j;
        while k > first + 1 && end - units[k - 1].0 <= overlap {
            k -= 1;
        }
        i = k.max(first + 1);
    }
    chunks
}

/// Byte spans of paragraphs or, for long paragraphs, of sentences; whitespace-trimmed.
fn units(text: &str, target: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (ps, pe) in paragraphs(text) {
        if pe - ps <= target {
            out.push((ps, pe));
            continue;
        }
        for (ss, se) in sentences(text, ps, pe) {
            if se - ss <= target {
                out.push((ss, se));
            } else {
                hard_split(text, ss, se, target, &mut out);
            }
        }
    }
    out
}

fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None::<usize>;
    let mut last_end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if blank {
            if let Some(s) = start.take() {
                out.push((s, last_end));
            }
        } else {
            let lead = line.len() - line.trim_start().len();
            if start.is_none() {
                start = Some(offset + lead);
            }
            last_end = offset + line.trim_end().len();
        }
        offset += line.len();
    }
    if let Some(s) = start {
        out.push((s, last_end));
    }
    out
}

fn sentences(text: &str, from: usize, to: usize) -> Vec<(usize, usize)> {
    let slice = &text[from..to];
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = slice.as_bytes();
    for (i, ch) in slice.char_indices() {
        let boundary = match ch {
            '.' | '?' | '!' => bytes.get(i + 1).is_some_and(|b| b.is_ascii_whitespace()),
            '\n' => true,
            _ => false,
        };
        if boundary {
            let end = i + ch.len_utf8();
            push_trimmed(slice, from, start, end, &mut out);
            start = end;
        }
    }
    push_trimmed(slice, from, start, slice.len(), &mut out);
    out
}

fn push_trimmed(slice: &str, base: usize, s: usize, e: usize, out: &mut Vec<(usize, usize)>) {
    let part = &slice[s..e];
    let lead = part.len() - part.trim_start().len();
    let trimmed = part.trim();
    if !trimmed.is_empty() {
        out.push((base + s + lead, base + s + lead + trimmed.len()));
    }
}

fn hard_split(text: &str, from: usize, to: usize, target: usize, out: &mut Vec<(usize, usize)>) {
    let mut s = from;
    while s < to {
        let mut e = (s + target).min(to);
        while !text.is_char_boundary(e) {
            e -= 1;
        }
        if e < to
            && let Some(ws) = text[s..e].rfind(char::is_whitespace)
            && ws > 0
        {
            e = s + ws;
        }
        if e <= s {
            // A single character wider than the target cannot happen for target >= 64, but never
            // loop forever.
            e = (s + 1..=to)
                .find(|&x| text.is_char_boundary(x))
                .unwrap_or(to);
        }
        let piece = text[s..e].trim();
        if !piece.is_empty() {
            let lead = text[s..e].len() - text[s..e].trim_start().len();
            out.push((s + lead, s + lead + piece.len()));
        }
        s = e;
        while s < to && text[s..].starts_with(char::is_whitespace) {
            s += text[s..].chars().next().map_or(1, char::len_utf8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_exact_slices_and_overlap() {
        let para = "One sentence here. Another one follows! A third? ".repeat(20);
        let text = format!("# Title\n\n{para}\n\nLast paragraph.");
        let chunks = chunk_text(
            &text,
            ChunkParams {
                target: 200,
                overlap: 60,
            },
        );
        assert!(chunks.len() > 3, "{chunks:?}");
        for c in &chunks {
            assert_eq!(&text[c.start..c.end], c.text);
            assert!(c.text.len() <= 200, "{}", c.text.len());
        }
        for w in chunks.windows(2) {
            assert!(w[1].start < w[0].end, "consecutive chunks overlap");
            assert!(w[1].start > w[0].start, "chunks make progress");
        }
        assert!(
            chunks
                .last()
                .is_some_and(|c| c.text.ends_with("\n\nLast paragraph."))
        );
    }

    #[test]
    fn one_huge_sentence_is_hard_split_on_char_boundaries() {
        let text = "ü".repeat(5000);
        let chunks = chunk_text(
            &text,
            ChunkParams {
                target: 300,
                overlap: 0,
            },
        );
        assert!(chunks.len() >= 30);
        let total: usize = chunks.iter().map(|c| c.text.len()).sum();
        assert_eq!(total, text.len());
    }

    #[test]
    fn empty_text_has_no_chunks() {
        assert!(chunk_text("  \n\n ", ChunkParams::default()).is_empty());
    }
}
