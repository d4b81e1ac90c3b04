//! The HTTP API's request and response types, with their OpenAPI schemas. They are separate from
//! the assistant's types so that the wire format changes only on purpose: each conversion below
//! is the one place where a field crosses the boundary.
//!
//! The calculation and the intent are carried as the JSON the assistant gives them (the shapes of
//! `stats --json`), so that the API schema states their shape in `docs/stats.md` terms rather
//! than copying every calculator type.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Retrieval signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25, vector, graph neighbourhood and paths, fused (the default).
    #[default]
    Hybrid,
    /// Graph neighbourhood and paths only.
    Graph,
    /// Vector nearest neighbours only.
    Vector,
    /// Full-text BM25 only.
    Bm25,
    /// No retrieval (calculator only).
    None,
}

impl From<Mode> for assistant::RetrievalMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Hybrid => Self::Hybrid,
            Mode::Graph => Self::Graph,
            Mode::Vector => Self::Vector,
            Mode::Bm25 => Self::Bm25,
            Mode::None => Self::None,
        }
    }
}

fn yes() -> bool {
    true
}

/// `POST /query`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// The question.
    #[schema(example = "What sample size do I need for 5% MDE at 80% power with a 10% baseline?")]
    pub question: String,
    /// Continue this conversation (follow-ups such as "and with 90% power?").
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Answer as server-sent events (same as `Accept: text/event-stream`).
    #[serde(default)]
    pub stream: bool,
    /// Retrieval signals; `hybrid` when absent.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Retrieved items to keep.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub top_k: Option<usize>,
    /// Run the language model; `false` returns the structured answer alone, in milliseconds.
    #[serde(default = "yes")]
    pub generate: bool,
}

impl QueryRequest {
    /// The assistant's query.
    pub fn to_query(&self) -> assistant::Query {
        assistant::Query {
            question: self.question.clone(),
            conversation_id: self.conversation_id.clone(),
            mode: self.mode.unwrap_or_default().into(),
            top_k: self.top_k,
            generate: self.generate,
            generation_timeout: None,
        }
    }
}

/// A concept named in the question.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Entity {
    /// Concept id (`GET /concepts/{id}`).
    pub id: String,
    /// Concept name.
    pub name: String,
    /// The words of the question that named it.
    pub text: String,
    /// How it was found: `exact`, `fuzzy` or `embedding`.
    pub method: String,
}

/// A source the answer rests on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Citation {
    /// The marker number used in the answer text (`[1]`).
    pub id: u32,
    /// The retrieved item (`concept:statistical_power`, `chunk:…`, `path:a>b`).
    pub item: String,
    /// `concept`, `relation`, `chunk`, `post`, `paper` or `playbook`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Link, when the source has one.
    pub url: Option<String>,
    /// The source's name when there is no link.
    pub source: Option<String>,
    /// The passage used, shortened.
    pub snippet: String,
}

/// A concept worth reading next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RelatedConcept {
    /// Concept id.
    pub id: String,
    /// Concept name.
    pub name: String,
    /// How it relates (`REQUIRES`, `AFFECTS`, … or `retrieved`).
    pub relation: String,
}

/// A required calculation input the question did not give.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MissingInput {
    /// The parameter.
    pub name: String,
    /// What the answer asks the user.
    pub question: String,
}

/// Milliseconds per stage.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct Timings {
    /// Parsing the question.
    pub understanding: f64,
    /// Graph and document retrieval.
    pub retrieval: f64,
    /// The calculator.
    pub calculation: f64,
    /// The language model.
    pub generation: f64,
    /// Until the first generated token, when there was one.
    pub first_token: Option<f64>,
    /// Everything.
    pub total: f64,
}

/// Language-model tokens.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
}

/// The structured part of an answer: the first event of a streamed answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnswerHead {
    /// Identifies this answer (for `POST /feedback`).
    pub query_id: String,
    /// Pass it back to continue the conversation.
    pub conversation_id: String,
    /// `definition`, `calculation`, `methodology`, `best_practice`, `comparison`, `multi_hop`,
    /// `analysis` or `out_of_scope`.
    #[schema(value_type = Object)]
    pub intent: serde_json::Value,
    /// Concepts named in the question.
    pub entities: Vec<Entity>,
    /// The calculation (kind, inputs, assumptions, outputs), when one ran: the calculator's JSON
    /// (see `docs/stats.md`).
    #[schema(value_type = Option<Object>)]
    pub calculation: Option<serde_json::Value>,
    /// Required inputs that were not given; the answer asks for them.
    pub missing: Vec<MissingInput>,
    /// Reasoning steps (inputs → formula → result for calculations).
    pub reasoning: Vec<String>,
    /// Sources, numbered as in the text.
    pub citations: Vec<Citation>,
    /// Concepts to explore next.
    pub related_concepts: Vec<RelatedConcept>,
    /// The structured answer in Markdown (result, formula, assumptions, definitions, sources).
    pub structured: String,
    /// The model phrasing the explanation (`none` without one).
    pub model: String,
}

/// A whole answer: the response of `POST /query`, and the last event of a streamed one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueryResponse {
    /// The structured part.
    #[serde(flatten)]
    pub head: AnswerHead,
    /// The whole answer in Markdown: the structured part, then the checked explanation.
    pub answer: String,
    /// The generated explanation after the number check (empty without generation).
    pub explanation: String,
    /// Numbers the model wrote that neither the calculator nor the context supports; they were
    /// removed from the explanation.
    pub unsupported_numbers: Vec<String>,
    /// Milliseconds per stage.
    pub timings_ms: Timings,
    /// Tokens spent.
    pub usage: Usage,
    /// Estimated cost in USD (0 for the local model).
    pub cost_usd: f64,
    /// Whether generation stopped at its token limit.
    pub truncated: bool,
    /// Whether generation stopped at its deadline (a busy model); the explanation is what was
    /// generated by then, cut to whole sentences.
    pub timed_out: bool,
    /// Whether this answer came from the response cache (its timings are those of the first
    /// answer).
    pub cached: bool,
}

/// A generated piece of text (SSE `token` event).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenEvent {
    /// The text, as generated (before the number check, which the `done` event's answer has
    /// passed).
    pub text: String,
}

impl From<&assistant::EntityMention> for Entity {
    fn from(e: &assistant::EntityMention) -> Self {
        Self {
            id: e.id.clone(),
            name: e.name.clone(),
            text: e.text.clone(),
            method: e.method.clone(),
        }
    }
}

impl From<&assistant::Citation> for Citation {
    fn from(c: &assistant::Citation) -> Self {
        Self {
            id: c.id,
            item: c.item.clone(),
            kind: serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            title: c.title.clone(),
            url: c.url.clone(),
            source: c.source.clone(),
            snippet: c.snippet.clone(),
        }
    }
}

impl From<&assistant::RelatedConcept> for RelatedConcept {
    fn from(r: &assistant::RelatedConcept) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            relation: r.relation.clone(),
        }
    }
}

impl From<&assistant::MissingInput> for MissingInput {
    fn from(m: &assistant::MissingInput) -> Self {
        Self {
            name: m.name.clone(),
            question: m.question.clone(),
        }
    }
}

impl From<&assistant::Timings> for Timings {
    fn from(t: &assistant::Timings) -> Self {
        Self {
            understanding: t.understanding,
            retrieval: t.retrieval,
            calculation: t.calculation,
            generation: t.generation,
            first_token: t.first_token,
            total: t.total,
        }
    }
}

impl From<&assistant::Usage> for Usage {
    fn from(u: &assistant::Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }
    }
}

/// The wire form of each element of a list.
fn each<'a, A: 'a, W: From<&'a A>>(items: &'a [A]) -> Vec<W> {
    items.iter().map(W::from).collect()
}

impl From<&assistant::AnswerHead> for AnswerHead {
    fn from(h: &assistant::AnswerHead) -> Self {
        Self {
            query_id: h.query_id.clone(),
            conversation_id: h.conversation_id.clone(),
            intent: serde_json::to_value(&h.intent).unwrap_or(serde_json::Value::Null),
            entities: each(&h.entities),
            calculation: h
                .calculation
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok()),
            missing: each(&h.missing),
            reasoning: h.reasoning.clone(),
            citations: each(&h.citations),
            related_concepts: each(&h.related_concepts),
            structured: h.structured.clone(),
            model: h.model.clone(),
        }
    }
}

impl QueryResponse {
    /// The wire form of an answer.
    pub fn from_answer(a: &assistant::Answer, cached: bool) -> Self {
        Self {
            head: AnswerHead::from(&a.head),
            answer: a.answer.clone(),
            explanation: a.explanation.clone(),
            unsupported_numbers: a.unsupported_numbers.clone(),
            timings_ms: Timings::from(&a.timings_ms),
            usage: Usage::from(&a.usage),
            cost_usd: a.cost_usd,
            truncated: a.truncated,
            timed_out: a.timed_out,
            cached,
        }
    }
}

/// `POST /feedback`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The `query_id` of the answer rated.
    pub query_id: String,
    /// From 1 (bad) to 5 (good).
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The answer to `POST /feedback`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackResponse {
    /// `recorded`.
    pub status: String,
    /// The answer rated.
    pub query_id: String,
}

/// A source of a concept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceRef {
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Where in the source (chapter, page).
    pub locator: Option<String>,
}

/// A relation of a concept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RelationRef {
    /// `REQUIRES`, `PREREQUISITE_OF`, `SIMILAR_TO`, `PART_OF`, `ALTERNATIVE_TO` or `AFFECTS`.
    pub kind: String,
    /// `out` when this concept is the subject, `in` when it is the object.
    pub direction: String,
    /// The other concept's id.
    pub other: String,
    /// Why the relation holds.
    pub explanation: String,
}

/// `GET /concepts/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Concept {
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
    /// Formula, when it has one.
    pub formula: Option<String>,
    /// Sources.
    pub sources: Vec<SourceRef>,
    /// Typed relations to and from it.
    pub relations: Vec<RelationRef>,
}

impl From<assistant::ConceptCard> for Concept {
    fn from(c: assistant::ConceptCard) -> Self {
        Self {
            id: c.id,
            name: c.name,
            aliases: c.aliases,
            area: c.area,
            category: c.category,
            definition: c.definition,
            formula: c.formula,
            sources: c
                .sources
                .into_iter()
                .map(|s| SourceRef {
                    title: s.title,
                    url: s.url,
                    locator: s.locator,
                })
                .collect(),
            relations: c
                .relations
                .into_iter()
                .map(|r| RelationRef {
                    kind: r.kind,
                    direction: r.direction,
                    other: r.other,
                    explanation: r.explanation,
                })
                .collect(),
        }
    }
}

/// `GET /graph/neighborhood` query string.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NeighborhoodParams {
    /// The centre concept's id.
    pub concept: String,
    /// Hops, 1 to 3 (default 1).
    #[serde(default)]
    pub depth: Option<usize>,
}

/// A concept in a neighbourhood.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Node {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Hops from the centre.
    pub distance: usize,
}

/// A relation in a neighbourhood.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Edge {
    /// Subject id.
    pub from: String,
    /// Object id.
    pub to: String,
    /// Relation kind.
    pub kind: String,
}

/// `GET /graph/neighborhood`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Neighborhood {
    /// The centre.
    pub concept: String,
    /// Depth searched.
    pub depth: usize,
    /// Concepts reached.
    pub nodes: Vec<Node>,
    /// Relations among them.
    pub edges: Vec<Edge>,
}

impl From<assistant::Neighborhood> for Neighborhood {
    fn from(n: assistant::Neighborhood) -> Self {
        Self {
            concept: n.concept,
            depth: n.depth,
            nodes: n
                .nodes
                .into_iter()
                .map(|x| Node {
                    id: x.id,
                    name: x.name,
                    distance: x.distance,
                })
                .collect(),
            edges: n
                .edges
                .into_iter()
                .map(|e| Edge {
                    from: e.from,
                    to: e.to,
                    kind: e.kind,
                })
                .collect(),
        }
    }
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// `GET /ready`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    /// `ready` or `loading`.
    pub status: String,
    /// The language model, when loaded (`none` when generation is off).
    pub model: Option<String>,
    /// Answering requests running now.
    pub running: usize,
    /// Answering requests waiting now.
    pub queued: usize,
}

/// `POST /calculate/{kind}`: the calculator's result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalculationResponse {
    /// The calculation: kind, inputs, assumptions, formula and outputs, as `stats --json` gives
    /// them.
    #[schema(value_type = Object)]
    pub calculation: serde_json::Value,
}
