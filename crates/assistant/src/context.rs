//! Context assembly: the retrieved items, in rank order, cut to the model's context budget, each
//! numbered with the citation marker the answer uses.
//!
//! Items keep graphrag's fused rank; the budget is in estimated tokens (characters divided by a
//! configured characters-per-token ratio, conservative for English) so that assembling costs no
//! tokenizer call. The first item is always kept, shortened at a sentence boundary when it alone
//! exceeds the budget, so that a long passage cannot leave the model with nothing.

use graphrag::retrieve::{Item, ItemKind, RetrievedContext};

use crate::answer::{Citation, CitationKind};

/// One item given to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextItem {
    /// Its citation marker.
    pub marker: u32,
    /// What it is.
    pub kind: CitationKind,
    /// The item's id in graphrag.
    pub item: String,
    /// Title.
    pub title: String,
    /// The item's whole text, for the structured answer the user reads.
    pub text: String,
    /// The text the model sees: shortened to its first sentences, and cut to the budget; empty
    /// when the item did not fit (it is still cited and shown to the user).
    pub prompt_text: String,
    /// The concepts it is about.
    pub concepts: Vec<String>,
}

/// The assembled context.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    /// Items in rank order.
    pub items: Vec<ContextItem>,
    /// Citations, one per item.
    pub citations: Vec<Citation>,
    /// Estimated tokens used.
    pub tokens: usize,
    /// Items kept out of the prompt for lack of room (or beyond `max_items`).
    pub dropped: usize,
}

impl Context {
    /// The facts block of the prompt: `[n] title: text` per item.
    pub fn facts(&self) -> String {
        let mut out = String::new();
        for item in self.items.iter().filter(|i| !i.prompt_text.is_empty()) {
            out.push_str(&format!(
                "[{}] {}: {}\n",
                item.marker, item.title, item.text
            ));
        }
        out
    }

    /// The marker of the item with this graphrag id.
    pub fn marker_of(&self, item: &str) -> Option<u32> {
        self.items.iter().find(|i| i.item == item).map(|i| i.marker)
    }

    /// The marker of the concept item for `concept`.
    pub fn marker_of_concept(&self, concept: &str) -> Option<u32> {
        self.marker_of(&format!("concept:{concept}"))
    }
}

/// What kind of citation a retrieved item makes.
pub fn citation_kind(item: &Item) -> CitationKind {
    match item.kind {
        ItemKind::Concept => CitationKind::Concept,
        ItemKind::Path => CitationKind::Relation,
        ItemKind::Chunk => match item.citation.document.as_deref() {
            Some(d) if d.starts_with("cv/") => CitationKind::Post,
            Some(d) if d.starts_with("arxiv/") => CitationKind::Paper,
            Some(d) if d.starts_with("playbook/") => CitationKind::Playbook,
            _ => CitationKind::Chunk,
        },
    }
}

/// The most characters of one item the model sees: a definition's first sentences carry its
/// meaning, and on the small default model every prompt token costs milliseconds.
pub const PROMPT_ITEM_CHARS: usize = 280;

/// Budgets `retrieved` to `budget_tokens`, keeping at most `max_items`.
pub fn assemble(
    retrieved: &RetrievedContext,
    budget_tokens: usize,
    chars_per_token: f64,
    max_items: usize,
) -> Context {
    let budget_chars = (budget_tokens as f64 * chars_per_token) as usize;
    let mut used = 0usize;
    let mut ctx = Context::default();
    for item in &retrieved.items {
        if ctx.items.len() >= max_items {
            ctx.dropped += 1;
            continue;
        }
        // Every item up to `max_items` is cited and shown to the user; only those that fit the
        // budget go into the prompt.
        let overhead = item.title.len() + 8;
        let room = budget_chars.saturating_sub(used + overhead);
        let first_sentences = shorten(&item.text, PROMPT_ITEM_CHARS);
        let prompt_text = if first_sentences.len() <= room {
            first_sentences
        } else if used == 0 {
            shorten(&item.text, room.max(120))
        } else {
            ctx.dropped += 1;
            String::new()
        };
        if !prompt_text.is_empty() {
            used += overhead + prompt_text.len();
        }
        let marker = ctx.items.len() as u32 + 1;
        let kind = citation_kind(item);
        ctx.citations.push(Citation {
            id: marker,
            item: item.id.clone(),
            kind,
            title: item.title.clone(),
            url: item.citation.url.clone(),
            source: item
                .citation
                .title
                .clone()
                .or_else(|| item.citation.document.clone()),
            snippet: shorten(&item.text, 240),
        });
        ctx.items.push(ContextItem {
            marker,
            kind,
            item: item.id.clone(),
            title: item.title.clone(),
            text: item.text.clone(),
            prompt_text,
            concepts: item.concepts.clone(),
        });
    }
    ctx.tokens = (used as f64 / chars_per_token).ceil() as usize;
    ctx
}

/// Cuts `text` to at most `max` bytes, at the last sentence end that fits, else at a word
/// boundary with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    if let Some(end) = head.rfind(". ").filter(|&e| e > max / 2) {
        return head[..=end].to_owned();
    }
    match head.rfind(char::is_whitespace) {
        Some(space) if space > 0 => format!("{}…", head[..space].trim_end()),
        _ => format!("{head}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphrag::retrieve::{Citation as GraphCitation, Contributions, Mode, Timings};

    fn item(kind: ItemKind, id: &str, text: &str, document: Option<&str>) -> Item {
        Item {
            kind,
            id: id.to_owned(),
            title: id.to_owned(),
            text: text.to_owned(),
            score: 1.0,
            contributions: Contributions::default(),
            citation: GraphCitation {
                document: document.map(str::to_owned),
                ..GraphCitation::default()
            },
            concepts: vec![],
        }
    }

    fn retrieved(items: Vec<Item>) -> RetrievedContext {
        RetrievedContext {
            question: "q".into(),
            mode: Mode::Hybrid,
            entities: vec![],
            items,
            timings: Timings::default(),
        }
    }

    #[test]
    fn budget_drops_items_that_do_not_fit_and_numbers_the_rest() {
        let long = "word ".repeat(40);
        let ctx = assemble(
            &retrieved(vec![
                item(ItemKind::Concept, "concept:a", "short definition.", None),
                item(ItemKind::Chunk, "chunk:cv/1#0", &long, Some("cv/1")),
                item(ItemKind::Path, "path:a>b", "a AFFECTS b.", None),
            ]),
            40,
            3.5,
            10,
        );
        let in_prompt: Vec<&str> = ctx
            .items
            .iter()
            .filter(|i| !i.prompt_text.is_empty())
            .map(|i| i.item.as_str())
            .collect();
        assert_eq!(in_prompt, vec!["concept:a", "path:a>b"]);
        assert_eq!(ctx.dropped, 1);
        assert_eq!(ctx.citations.len(), 3, "the long chunk is still cited");
        assert_eq!(ctx.citations[2].id, 3);
        assert_eq!(ctx.citations[2].kind, CitationKind::Relation);
        assert!(!ctx.facts().contains("word word"));
        assert!(ctx.tokens <= 40);
    }

    #[test]
    fn an_oversized_first_item_is_shortened_not_dropped() {
        let long = "A sentence about power. ".repeat(100);
        let ctx = assemble(
            &retrieved(vec![item(
                ItemKind::Chunk,
                "chunk:arxiv/1#0",
                &long,
                Some("arxiv/1"),
            )]),
            50,
            3.5,
            10,
        );
        assert_eq!(ctx.items.len(), 1);
        assert!(ctx.items[0].prompt_text.len() <= 175);
        assert!(ctx.items[0].prompt_text.ends_with('.'));
        assert_eq!(ctx.items[0].text, long, "the user still sees all of it");
        assert_eq!(ctx.citations[0].kind, CitationKind::Paper);
    }

    #[test]
    fn chunk_kinds_follow_the_document_key() {
        for (doc, kind) in [
            ("cv/9", CitationKind::Post),
            ("arxiv/2101.1", CitationKind::Paper),
            ("playbook/srm", CitationKind::Playbook),
            ("local/notes", CitationKind::Chunk),
        ] {
            assert_eq!(
                citation_kind(&item(ItemKind::Chunk, "c", "t", Some(doc))),
                kind
            );
        }
    }
}
