//! What the assistant takes and gives: [`Query`] in, [`Answer`] (or a stream of [`AnswerEvent`])
//! out. These are the library's types; the HTTP layer has its own wire types and converts.

use serde::Serialize;

use crate::calculate::Calculation;
use crate::understand::Intent;

/// Which retrieval signals answer a question; `None` skips retrieval (calculator only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalMode {
    /// BM25, vector, graph neighbourhood and paths, fused.
    #[default]
    Hybrid,
    /// Graph neighbourhood and paths only.
    Graph,
    /// Vector KNN only.
    Vector,
    /// Full text only.
    Bm25,
    /// No retrieval.
    None,
}

impl RetrievalMode {
    /// Its name, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hybrid => "hybrid",
            Self::Graph => "graph",
            Self::Vector => "vector",
            Self::Bm25 => "bm25",
            Self::None => "none",
        }
    }

    /// The graphrag mode, or `None` when retrieval is off.
    pub fn graphrag(self) -> Option<graphrag::retrieve::Mode> {
        use graphrag::retrieve::Mode;
        match self {
            Self::Hybrid => Some(Mode::Hybrid),
            Self::Graph => Some(Mode::Graph),
            Self::Vector => Some(Mode::Vector),
            Self::Bm25 => Some(Mode::Bm25),
            Self::None => None,
        }
    }
}

impl std::str::FromStr for RetrievalMode {
    type Err = crate::AssistantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hybrid" => Ok(Self::Hybrid),
            "graph" => Ok(Self::Graph),
            "vector" => Ok(Self::Vector),
            "bm25" => Ok(Self::Bm25),
            "none" => Ok(Self::None),
            _ => Err(crate::AssistantError::UnknownMode { mode: s.to_owned() }),
        }
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The user's text.
    pub question: String,
    /// Continues this conversation when given (follow-ups reuse its last calculation).
    pub conversation_id: Option<String>,
    /// Retrieval signals.
    pub mode: RetrievalMode,
    /// Retrieved items to keep; `None` takes the configured number.
    pub top_k: Option<usize>,
    /// Whether to run the language model; `false` returns the structured answer alone.
    pub generate: bool,
}

impl Query {
    /// A question with the defaults: hybrid retrieval, generation on, a new conversation.
    pub fn new(question: impl Into<String>) -> Self {
        Self {
            question: question.into(),
            conversation_id: None,
            mode: RetrievalMode::Hybrid,
            top_k: None,
            generate: true,
        }
    }
}

/// A concept found in the question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityMention {
    /// Concept id.
    pub id: String,
    /// Concept name.
    pub name: String,
    /// The words of the question that named it.
    pub text: String,
    /// How it was found (`exact`, `fuzzy`, `embedding`).
    pub method: String,
}

/// What a citation points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CitationKind {
    /// A concept of the knowledge graph.
    Concept,
    /// A typed relation (or a path of them).
    Relation,
    /// A passage of a local document.
    Chunk,
    /// A Cross Validated post.
    Post,
    /// An arXiv paper.
    Paper,
    /// The company playbook.
    Playbook,
}

/// A source the answer rests on. `id` is the marker used in the answer text (`[1]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The marker number, as shown in the text.
    pub id: u32,
    /// The retrieved item it came from (`concept:power`, `chunk:cv/123#2`, `path:a>b`).
    pub item: String,
    /// What it is.
    pub kind: CitationKind,
    /// A title.
    pub title: String,
    /// A link, when the source has one.
    pub url: Option<String>,
    /// The source's name (a book, a paper, the playbook page) when there is no link.
    pub source: Option<String>,
    /// The passage used, shortened.
    pub snippet: String,
}

/// A concept worth reading next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedConcept {
    /// Concept id.
    pub id: String,
    /// Concept name.
    pub name: String,
    /// How it relates (`REQUIRES`, `AFFECTS`, ... or `retrieved`).
    pub relation: String,
}

/// A required calculation input the question did not give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingInput {
    /// The parameter.
    pub name: String,
    /// What to ask the user.
    pub question: String,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Parsing the question.
    pub understanding: f64,
    /// Graph and document retrieval (embedding included).
    pub retrieval: f64,
    /// The calculator.
    pub calculation: f64,
    /// The language model (zero without generation).
    pub generation: f64,
    /// Time to the first generated token, when there was one.
    pub first_token: Option<f64>,
    /// Everything.
    pub total: f64,
}

/// Tokens spent by the language model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
}

/// The structured part of an answer, known before generation starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerHead {
    /// Identifies this answer (for feedback).
    pub query_id: String,
    /// The conversation it belongs to.
    pub conversation_id: String,
    /// What the question asks for.
    pub intent: Intent,
    /// Concepts named in the question.
    pub entities: Vec<EntityMention>,
    /// The calculation, when one ran.
    pub calculation: Option<Calculation>,
    /// Required inputs that were not given (the answer asks for them).
    pub missing: Vec<MissingInput>,
    /// Reasoning steps (for calculations: inputs → formula → result).
    pub reasoning: Vec<String>,
    /// Sources, numbered as in the text.
    pub citations: Vec<Citation>,
    /// Concepts to explore next.
    pub related_concepts: Vec<RelatedConcept>,
    /// The structured answer in Markdown: result, formula, assumptions, definitions, sources.
    pub structured: String,
    /// The model that will phrase the explanation.
    pub model: String,
}

/// A full answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The structured part.
    #[serde(flatten)]
    pub head: AnswerHead,
    /// The whole answer in Markdown: the structured part, then the checked explanation.
    pub answer: String,
    /// The generated explanation after the number check (empty without generation).
    pub explanation: String,
    /// Numbers the model wrote that neither the calculator nor the context supports; the
    /// sentences carrying them were removed from `explanation`.
    pub unsupported_numbers: Vec<String>,
    /// Time per stage.
    pub timings_ms: Timings,
    /// Tokens spent.
    pub usage: Usage,
    /// Estimated cost of this answer in USD (zero for the local model).
    pub cost_usd: f64,
    /// Whether generation stopped at the token limit.
    pub truncated: bool,
}

/// One event of a streamed answer: the head first, then tokens, then the finished answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum AnswerEvent {
    /// The structured part.
    Head(Box<AnswerHead>),
    /// A piece of generated text, as produced (before the number check).
    Token {
        /// The text.
        text: String,
    },
    /// The finished, checked answer.
    Done(Box<Answer>),
}

/// A rating of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The answer's `query_id`.
    pub query_id: String,
    /// From 1 (bad) to 5 (good).
    pub rating: i64,
    /// Free text.
    pub comment: Option<String>,
}

/// A concept as clients browse it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConceptCard {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Area of the knowledge base.
    pub area: String,
    /// Category.
    pub category: String,
    /// Definition.
    pub definition: String,
    /// A formula, when it has one.
    pub formula: Option<String>,
    /// Sources.
    pub sources: Vec<SourceRef>,
    /// Typed relations to and from it.
    pub relations: Vec<RelationRef>,
}

/// A source of a concept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRef {
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Where in the source.
    pub locator: Option<String>,
}

/// One relation of a concept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelationRef {
    /// Relation kind.
    pub kind: String,
    /// `out` when the concept is the subject, `in` when it is the object.
    pub direction: String,
    /// The other concept.
    pub other: String,
    /// Why it holds.
    pub explanation: String,
}

/// The graph around a concept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighborhood {
    /// The centre.
    pub concept: String,
    /// Depth searched.
    pub depth: usize,
    /// Concepts reached, with their distance.
    pub nodes: Vec<NeighborNode>,
    /// Relations among them.
    pub edges: Vec<NeighborEdge>,
}

/// A concept in a neighbourhood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeighborNode {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Hops from the centre.
    pub distance: usize,
}

/// A relation in a neighbourhood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeighborEdge {
    /// Subject.
    pub from: String,
    /// Object.
    pub to: String,
    /// Kind.
    pub kind: String,
}

/// Limits a caller should enforce before asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Longest question, in characters.
    pub max_question_chars: usize,
    /// Largest `top_k`.
    pub max_top_k: usize,
}
