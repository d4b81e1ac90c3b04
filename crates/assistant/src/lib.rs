//! The answering pipeline, a library with no HTTP: a question goes through deterministic
//! understanding (intent, entities, calculation parameters), the calculator (`stats`) and graph
//! retrieval (`graphrag`), context assembly with a citation on every item, grounded generation
//! (`llm`), a check of every number the model wrote, and comes out as a cited [`Answer`]: the
//! Markdown answer, reasoning steps, the calculation, citations, related concepts, timings, token
//! usage and cost. Multi-turn: a `conversation_id` keeps the last calculation, so follow-ups
//! ("and with 90% power?") reuse its parameters.
//!
//! Inputs: an opened [`graphrag::retrieve::Engine`] (or the paths to open one), the knowledge
//! base, and any [`llm::ChatModel`]. Output: [`Answer`] values or a stream of [`AnswerEvent`]s.
//!
//! What this crate must not depend on: HTTP serving (that is `inference-api`, which is a thin
//! layer over [`Assistant`]), any pipeline stage crate, or the asset cache in the library (only
//! the `ask` binary resolves model paths).
//!
//! Design choice: the structured part of every answer (the calculator's result with formula and
//! assumptions, definitions and relation paths from the graph, numbered sources) is written
//! without the language model and sent first. The model only adds an explanation, and every
//! number in that explanation must appear in the calculator output, the context or the question;
//! sentences with any other number are removed and counted. With a 135M-parameter model that
//! cannot do arithmetic, this is what keeps answers correct: the numbers and facts never depend
//! on it.

pub mod answer;
pub mod calculate;
pub mod compose;
pub mod config;
pub mod context;
pub mod conversation;
pub mod direct;
pub mod error;
pub mod grounding;
pub mod open;
pub mod pipeline;
pub mod prompt;
pub mod runtime;
pub mod understand;

pub use answer::{
    Answer, AnswerEvent, AnswerHead, Citation, CitationKind, ConceptCard, EntityMention, Feedback,
    Limits, MissingInput, Neighborhood, Query, RelatedConcept, RetrievalMode, Timings, Usage,
};
pub use config::AssistantConfig;
pub use error::AssistantError;
pub use open::OpenOptions;
pub use pipeline::{AnswerStream, Assistant};
