//! The curated knowledge base under `data/knowledge/`: concepts with their definitions, formulas,
//! examples and sources; typed relations between them; the example company playbook; and the
//! labelled question sets used to measure retrieval. This crate loads it into typed values and
//! validates it; `graphrag` indexes it and `synth` builds Q&A from it.
//!
//! What this crate must not do: touch a database, embed text, or know about any stage. It reads
//! files and reports; callers decide what to do with the knowledge.
//!
//! Design choice: files are parsed leniently (kinds and categories as strings, every item with its
//! line number) and then validated in one pass that collects every problem, instead of failing on
//! the first bad enum value. An editor fixing the knowledge base sees all findings with file and
//! line at once, and only a fully valid base becomes a [`KnowledgeBase`] of strict types.

mod load;
mod model;
mod validate;

pub use load::{LoadError, load_sources};
pub use model::{
    Category, Concept, Formula, Intent, KnowledgeBase, Location, PlaybookDoc, Question,
    QuestionSpan, Relation, RelationKind, Sign, Source, WorkedExample,
};
pub use validate::{Counts, Finding, Validated, validate};

/// The banner every playbook document carries, marking it as an example to replace.
pub const PLAYBOOK_BANNER_MARKER: &str = "Example playbook";

/// Loads and validates the knowledge base under `dir` (normally `data/knowledge`).
pub fn load(dir: impl AsRef<std::path::Path>) -> Result<Validated, LoadError> {
    let sources = load_sources(dir.as_ref())?;
    Ok(validate(sources))
}
