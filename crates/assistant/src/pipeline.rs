//! [`Assistant`]: question → understanding → calculator and retrieval → context → generation →
//! number check → cited answer, whole or streamed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use graphrag::graph::EdgeFilter;
use graphrag::retrieve::{Engine, RetrieveOptions, RetrievedContext};
use knowledge::KnowledgeBase;
use llm::{CallOptions, ChatModel, ChatRequest, FinishReason, GenerationParams, StreamEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::AssistantError;
use crate::answer::{
    Answer, AnswerEvent, AnswerHead, ConceptCard, EntityMention, Feedback, Limits, MissingInput,
    NeighborEdge, NeighborNode, Neighborhood, Query, RelatedConcept, RelationRef, SourceRef,
    Timings, Usage,
};
use crate::calculate::{self, Calculation};
use crate::compose;
use crate::config::AssistantConfig;
use crate::context::{self, Context};
use crate::conversation::{Conversations, Turn};
use crate::grounding::{AllowedNumbers, check_numbers};
use crate::prompt;
use crate::understand::{self, Intent};

/// A stream of answer events: [`AnswerEvent::Head`], tokens, then [`AnswerEvent::Done`] (or an
/// error). Dropping it cancels generation.
pub type AnswerStream = BoxStream<'static, Result<AnswerEvent, AssistantError>>;

/// The answering pipeline. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Assistant {
    engine: Engine,
    knowledge: KnowledgeBase,
    concept_index: HashMap<String, usize>,
    model: Option<Arc<dyn ChatModel>>,
    config: AssistantConfig,
    conversations: Conversations,
}

impl std::fmt::Debug for Assistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assistant")
            .field("engine", &self.engine)
            .field("model", &self.model_id())
            .finish_non_exhaustive()
    }
}

impl Assistant {
    /// An assistant over an opened retrieval engine, the knowledge base it was indexed from, and
    /// an optional language model (without one, answers are the structured part alone).
    pub fn new(
        engine: Engine,
        knowledge: KnowledgeBase,
        model: Option<Arc<dyn ChatModel>>,
        config: AssistantConfig,
    ) -> Result<Self, AssistantError> {
        config.validate()?;
        let concept_index = knowledge
            .concepts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let conversations = Conversations::new(config.conversations.clone());
        Ok(Self {
            engine,
            knowledge,
            concept_index,
            model,
            config,
            conversations,
        })
    }

    /// The model's id, or `none` when generation is off.
    pub fn model_id(&self) -> &str {
        self.model.as_deref().map_or("none", |m| m.model_id())
    }

    /// The language model, when one is attached.
    pub fn model(&self) -> Option<&Arc<dyn ChatModel>> {
        self.model.as_ref()
    }

    /// Whether a language model is attached.
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// The retrieval engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The configuration.
    pub fn config(&self) -> &AssistantConfig {
        &self.config
    }

    /// What callers must enforce before asking.
    pub fn limits(&self) -> Limits {
        Limits {
            max_question_chars: self.config.max_question_chars,
            max_top_k: self.config.max_top_k,
        }
    }

    /// Answers a question whole.
    pub async fn answer(&self, query: Query) -> Result<Answer, AssistantError> {
        let query = self.validate(query)?;
        self.run(query, None, CancellationToken::new()).await
    }

    /// Answers a question as a stream. The pipeline runs on its own task; dropping the stream
    /// cancels it, which stops generation.
    pub async fn answer_stream(
        self: &Arc<Self>,
        query: Query,
    ) -> Result<AnswerStream, AssistantError> {
        // Bad input fails here, before any stream exists, so callers can answer it with a status.
        let query = self.validate(query)?;
        let (tx, rx) = mpsc::channel::<Result<AnswerEvent, AssistantError>>(64);
        let cancel = CancellationToken::new();
        let this = Arc::clone(self);
        let guard = cancel.clone().drop_guard();
        let task_cancel = cancel.clone();
        tokio::spawn(async move {
            let events = tx.clone();
            let result = this.run(query, Some(events), task_cancel).await;
            match result {
                Ok(answer) => {
                    let _ = tx.send(Ok(AnswerEvent::Done(Box::new(answer)))).await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                }
            }
        });
        let stream = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
            rx.recv().await.map(|item| (item, (rx, guard)))
        });
        Ok(stream.boxed())
    }

    fn validate(&self, query: Query) -> Result<Validated, AssistantError> {
        let question = query.question.trim();
        if question.is_empty() {
            return Err(AssistantError::EmptyQuestion);
        }
        let chars = question.chars().count();
        if chars > self.config.max_question_chars {
            return Err(AssistantError::QuestionTooLong {
                chars,
                max: self.config.max_question_chars,
            });
        }
        if let Some(k) = query.top_k
            && (k == 0 || k > self.config.max_top_k)
        {
            return Err(AssistantError::InvalidTopK {
                got: k,
                max: self.config.max_top_k,
            });
        }
        Ok(Validated(query))
    }

    async fn run(
        &self,
        Validated(query): Validated,
        events: Option<mpsc::Sender<Result<AnswerEvent, AssistantError>>>,
        cancel: CancellationToken,
    ) -> Result<Answer, AssistantError> {
        let started = Instant::now();
        let question = query.question.trim().to_owned();
        let conversation_id = query
            .conversation_id
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(new_id);
        let query_id = new_id();
        let state = self.conversations.get(&conversation_id);
        let previous = state.as_ref().and_then(|s| s.last_calculation.as_ref());

        // 1. Understanding.
        let t = Instant::now();
        let understanding = understand::understand(&question, previous);
        let understanding_ms = ms(t);

        // 2. Calculator.
        let t = Instant::now();
        let mut missing: Vec<MissingInput> = compose::missing_inputs(&understanding);
        let mut calculation: Option<Calculation> = None;
        if missing.is_empty()
            && let Some(request) = &understanding.calculation
        {
            match calculate::run(request) {
                Ok(c) => calculation = Some(c),
                Err(e) => missing.push(MissingInput {
                    name: "inputs".into(),
                    question: format!(
                        "The calculator refused these inputs: {e}. Check them and ask again."
                    ),
                }),
            }
        }
        let calculation_ms = ms(t);

        // 3. Retrieval. A follow-up that only changes a parameter ("and with 90% power?") says
        // little on its own, so the previous question joins it.
        let t = Instant::now();
        let intent = understanding.intent;
        let retrieval_question = match (&understanding.calculation, &state) {
            (Some(_), Some(s)) if understanding.follow_up => {
                s.turns.back().map_or(question.clone(), |turn| {
                    format!("{} {}", turn.question, question)
                })
            }
            _ => question.clone(),
        };
        let retrieved = match (query.mode.graphrag(), intent) {
            (_, Intent::OutOfScope) | (None, _) => None,
            (Some(mode), _) => Some(
                self.engine
                    .retrieve(
                        &retrieval_question,
                        RetrieveOptions {
                            mode,
                            k: Some(query.top_k.unwrap_or(self.config.top_k)),
                            log: false,
                        },
                    )
                    .await?,
            ),
        };
        let entities = match &retrieved {
            Some(r) => self.mentions(&r.entities),
            None if intent == Intent::OutOfScope => Vec::new(),
            None => self.mentions(&self.engine.entities(&question)?),
        };
        let retrieval_ms = ms(t);

        // 4. Context and the structured answer.
        let ctx = retrieved.as_ref().map_or_else(Context::default, |r| {
            context::assemble(
                r,
                self.config.context_tokens,
                self.config.chars_per_token,
                self.config.max_citations,
            )
        });
        let related = self.related(&entities, retrieved.as_ref(), &ctx);
        let structured = compose::structured(&compose::Parts {
            intent,
            calculation: calculation.as_ref(),
            missing: &missing,
            context: &ctx,
            entities: &entities,
            definitions_shown: self.config.definitions_shown,
        });
        let reasoning = compose::reasoning(calculation.as_ref(), &ctx);
        let head = AnswerHead {
            query_id: query_id.clone(),
            conversation_id: conversation_id.clone(),
            intent,
            entities,
            calculation,
            missing,
            reasoning,
            citations: ctx.citations.clone(),
            related_concepts: related,
            structured: structured.joined(),
            model: self.model_id().to_owned(),
        };
        if let Some(tx) = &events
            && tx
                .send(Ok(AnswerEvent::Head(Box::new(head.clone()))))
                .await
                .is_err()
        {
            // The caller went away: nothing more to do.
            cancel.cancel();
        }

        // 5. Generation, then the number check.
        let t = Instant::now();
        let generate = query.generate
            && intent != Intent::OutOfScope
            && head.missing.is_empty()
            && !cancel.is_cancelled();
        let mut generated = Generated::default();
        if let (true, Some(model)) = (generate, &self.model) {
            let calc_text = head
                .calculation
                .as_ref()
                .map(|c| compose::result_sentence(c).to_owned());
            let messages = prompt::messages(&question, calc_text.as_deref(), &ctx.facts());
            let configured = Duration::from_secs_f64(self.config.generation.timeout_seconds);
            let deadline = query
                .generation_timeout
                .map_or(configured, |asked| asked.min(configured));
            generated = self
                .generate(model.as_ref(), messages, events.as_ref(), &cancel, deadline)
                .await?;
        }
        let generation_ms = if generated.ran { ms(t) } else { 0.0 };
        let mut allowed = AllowedNumbers::default();
        allowed.add_text(&question);
        allowed.add_text(&ctx.facts());
        allowed.add_text(&head.structured);
        if let Some(c) = &head.calculation
            && let Ok(json) = serde_json::to_value(c)
        {
            allowed.add_json(&json);
        }
        let checked = check_numbers(&generated.text, &allowed);
        let answer_text = compose::full_answer(&structured, &checked.text, self.model_id());

        // 6. Memory and the feedback log.
        let concepts: Vec<String> = head.entities.iter().map(|e| e.id.clone()).collect();
        self.conversations.record(
            &conversation_id,
            Turn {
                question: question.clone(),
                concepts,
            },
            understanding
                .calculation
                .clone()
                .filter(|_| head.calculation.is_some()),
        );
        let total_ms = ms(started);
        let items: Vec<String> = head.citations.iter().map(|c| c.item.clone()).collect();
        self.engine
            .store()
            .log_answer(&query_id, &question, query.mode.as_str(), items, total_ms)
            .await?;

        let prices = &self.config.generation;
        let cost_usd =
            f64::from(generated.usage.prompt_tokens) * prices.usd_per_million_prompt_tokens / 1e6
                + f64::from(generated.usage.completion_tokens)
                    * prices.usd_per_million_completion_tokens
                    / 1e6;
        Ok(Answer {
            head,
            answer: answer_text,
            explanation: checked.text,
            unsupported_numbers: checked.unsupported,
            timings_ms: Timings {
                understanding: understanding_ms,
                retrieval: retrieval_ms,
                calculation: calculation_ms,
                generation: generation_ms,
                first_token: generated.first_token_ms,
                total: total_ms,
            },
            usage: generated.usage,
            cost_usd: generated.cost_usd.unwrap_or(cost_usd),
            truncated: generated.truncated,
            timed_out: generated.timed_out,
        })
    }

    async fn generate(
        &self,
        model: &dyn ChatModel,
        messages: Vec<llm::Message>,
        events: Option<&mpsc::Sender<Result<AnswerEvent, AssistantError>>>,
        cancel: &CancellationToken,
        deadline: Duration,
    ) -> Result<Generated, AssistantError> {
        let started = Instant::now();
        let g = &self.config.generation;
        let mut params = GenerationParams::greedy(g.max_tokens);
        if g.temperature > 0.0 {
            params.temperature = g.temperature;
            params.top_p = 0.95;
            params.top_k = 40;
        }
        params.seed = Some(u64::from(g.seed));
        params.repeat_penalty = 1.1;
        let options = CallOptions::new(deadline).with_cancel(cancel.clone());
        let mut out = Generated {
            ran: true,
            ..Generated::default()
        };
        // The explanation is the optional part of an answer: when its deadline passes (a busy
        // model), the answer keeps the structured part and whatever was generated by then, marked
        // `timed_out`, instead of failing the whole request.
        let mut stream = match model
            .stream(ChatRequest::new(messages, params), options)
            .await
        {
            Ok(stream) => stream,
            Err(llm::Error::Timeout { .. }) => {
                out.timed_out = true;
                return Ok(out);
            }
            Err(other) => return Err(AssistantError::Generation(other)),
        };
        let mut pieces = 0u32;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(llm::Error::Timeout { .. }) => {
                    // No `Done` event brings the usage: count the pieces streamed so far (the
                    // local engine streams one piece per token).
                    out.timed_out = true;
                    out.usage.completion_tokens = pieces;
                    out.text = complete_sentences(&out.text).to_owned();
                    break;
                }
                Err(other) => return Err(AssistantError::Generation(other)),
            };
            match event {
                StreamEvent::Delta(piece) => {
                    pieces += 1;
                    if out.first_token_ms.is_none() {
                        out.first_token_ms = Some(ms(started));
                    }
                    out.text.push_str(&piece);
                    if let Some(tx) = events
                        && tx
                            .send(Ok(AnswerEvent::Token { text: piece }))
                            .await
                            .is_err()
                    {
                        // The client disconnected: dropping the model stream stops decoding.
                        cancel.cancel();
                        break;
                    }
                }
                StreamEvent::Done {
                    finish_reason,
                    usage,
                    cost_usd,
                } => {
                    out.truncated = finish_reason == FinishReason::Length;
                    if out.truncated {
                        // Cut at the token limit: end on the last whole sentence.
                        out.text = complete_sentences(&out.text).to_owned();
                    }
                    out.usage = Usage {
                        prompt_tokens: usage.prompt_tokens,
                        completion_tokens: usage.completion_tokens,
                    };
                    out.cost_usd = cost_usd;
                }
            }
        }
        Ok(out)
    }

    fn name_of(&self, id: &str) -> String {
        self.concept_index.get(id).map_or_else(
            || id.to_owned(),
            |&i| self.knowledge.concepts[i].name.clone(),
        )
    }

    fn mentions(&self, entities: &[graphrag::extract::Entity]) -> Vec<EntityMention> {
        let mut seen = HashSet::new();
        entities
            .iter()
            .filter(|e| seen.insert(e.concept.clone()))
            .map(|e| EntityMention {
                id: e.concept.clone(),
                name: self.name_of(&e.concept),
                text: e.surface.clone(),
                method: e.method.as_str().to_owned(),
            })
            .collect()
    }

    /// Concepts one typed relation away from the question's entities, then the retrieved
    /// concepts not already cited.
    fn related(
        &self,
        entities: &[EntityMention],
        retrieved: Option<&RetrievedContext>,
        ctx: &Context,
    ) -> Vec<RelatedConcept> {
        let limit = self.config.related_concepts;
        let mut shown: HashSet<String> = entities.iter().map(|e| e.id.clone()).collect();
        for item in &ctx.items {
            if let Some(id) = item.item.strip_prefix("concept:") {
                shown.insert(id.to_owned());
            }
        }
        // Neighbours of the question's concepts, strongest relation first.
        let graph = self.engine.graph();
        let mut neighbours: Vec<(f64, String, String)> = Vec::new();
        for entity in entities {
            for visit in graph.bfs(&entity.id, 1, &EdgeFilter::default()) {
                if let Some(edge) = visit.via.and_then(|i| graph.edge(i)) {
                    neighbours.push((edge.weight, visit.concept, edge.kind.clone()));
                }
            }
        }
        neighbours.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut out = Vec::new();
        let ranked = retrieved
            .map(RetrievedContext::ranked_concepts)
            .unwrap_or_default();
        // Retrieved concepts that are also neighbours come first: relevant and related.
        for id in &ranked {
            if let Some((_, _, kind)) = neighbours.iter().find(|(_, c, _)| c == id)
                && shown.insert(id.clone())
            {
                out.push(RelatedConcept {
                    name: self.name_of(id),
                    id: id.clone(),
                    relation: kind.clone(),
                });
            }
        }
        for (_, id, kind) in neighbours {
            if shown.insert(id.clone()) {
                out.push(RelatedConcept {
                    name: self.name_of(&id),
                    id,
                    relation: kind,
                });
            }
        }
        for id in ranked {
            if shown.insert(id.clone()) {
                out.push(RelatedConcept {
                    name: self.name_of(&id),
                    id,
                    relation: "retrieved".into(),
                });
            }
        }
        out.truncate(limit);
        out
    }

    /// A concept with its sources and relations.
    pub fn concept(&self, id: &str) -> Option<ConceptCard> {
        let c = &self.knowledge.concepts[*self.concept_index.get(id)?];
        let relations = self
            .knowledge
            .relations
            .iter()
            .filter_map(|r| {
                let (direction, other) = if r.from == id {
                    ("out", &r.to)
                } else if r.to == id {
                    ("in", &r.from)
                } else {
                    return None;
                };
                Some(RelationRef {
                    kind: r.kind.as_str().to_owned(),
                    direction: direction.to_owned(),
                    other: other.clone(),
                    explanation: r.explanation.clone(),
                })
            })
            .collect();
        Some(ConceptCard {
            id: c.id.clone(),
            name: c.name.clone(),
            aliases: c.aliases.clone(),
            area: c.area.clone(),
            category: c.category.as_str().to_owned(),
            definition: c.definition.clone(),
            formula: c.formula.as_ref().map(|f| f.text.clone()),
            sources: c
                .sources
                .iter()
                .map(|s| SourceRef {
                    title: s.title.clone(),
                    url: s.url.clone(),
                    locator: s.locator.clone(),
                })
                .collect(),
            relations,
        })
    }

    /// The concepts within `depth` relations of `id`, and the relations among them.
    pub fn neighborhood(&self, id: &str, depth: usize) -> Result<Neighborhood, AssistantError> {
        if !self.concept_index.contains_key(id) {
            return Err(AssistantError::UnknownConcept {
                id: id.to_owned(),
                suggestion: self.engine.lexicon().suggest(id),
            });
        }
        let depth = depth.clamp(1, 3);
        let visits = self.engine.neighbors(id, depth, &EdgeFilter::default())?;
        let kept: HashSet<&str> = visits.iter().map(|v| v.concept.as_str()).collect();
        let edges = self
            .engine
            .graph()
            .edges()
            .iter()
            .filter(|e| kept.contains(e.from.as_str()) && kept.contains(e.to.as_str()))
            .map(|e| NeighborEdge {
                from: e.from.clone(),
                to: e.to.clone(),
                kind: e.kind.clone(),
            })
            .collect();
        Ok(Neighborhood {
            concept: id.to_owned(),
            depth,
            nodes: visits
                .iter()
                .map(|v| NeighborNode {
                    id: v.concept.clone(),
                    name: self.name_of(&v.concept),
                    distance: v.depth,
                })
                .collect(),
            edges,
        })
    }

    /// Stores a rating of an earlier answer.
    pub async fn record_feedback(&self, feedback: Feedback) -> Result<(), AssistantError> {
        if !(1..=5).contains(&feedback.rating) {
            return Err(AssistantError::InvalidRating {
                rating: feedback.rating,
            });
        }
        let found = self
            .engine
            .store()
            .record_feedback(
                &feedback.query_id,
                feedback.rating,
                feedback.comment.as_deref(),
            )
            .await?;
        if found {
            Ok(())
        } else {
            Err(AssistantError::UnknownQuery {
                query_id: feedback.query_id,
            })
        }
    }

    /// Runs one calculation from JSON inputs (the shapes of `stats --json`).
    pub fn calculate(
        &self,
        kind: &str,
        inputs: serde_json::Value,
    ) -> Result<Calculation, AssistantError> {
        let request = crate::direct::request_from_json(kind, inputs).map_err(|e| match e {
            crate::direct::RequestError::UnknownKind { kind, known } => {
                AssistantError::UnknownCalculation { kind, known }
            }
            crate::direct::RequestError::Invalid { kind, reason } => {
                AssistantError::InvalidInputs { kind, reason }
            }
        })?;
        calculate::run(&request).map_err(|e| AssistantError::InvalidInputs {
            kind: kind.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// A query that passed [`Assistant::validate`]: the only kind `run` takes, so a streamed query is
/// checked once, before its stream exists.
struct Validated(Query);

#[derive(Debug, Default)]
struct Generated {
    ran: bool,
    text: String,
    usage: Usage,
    cost_usd: Option<f64>,
    first_token_ms: Option<f64>,
    truncated: bool,
    timed_out: bool,
}

/// The text up to the end of its last complete sentence (all of it when none ends), so that an
/// explanation cut by its token limit or its deadline does not stop mid-word.
fn complete_sentences(text: &str) -> &str {
    let end = text
        .char_indices()
        .filter(|&(i, c)| {
            matches!(c, '.' | '!' | '?')
                && text[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, c)| i + c.len_utf8())
        .last();
    end.map_or(text, |end| &text[..end])
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// A random 128-bit id in hex.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::complete_sentences;

    #[test]
    fn cut_text_ends_on_its_last_whole_sentence() {
        assert_eq!(
            complete_sentences("Power grows with n. A larger sam"),
            "Power grows with n."
        );
        assert_eq!(
            complete_sentences("Is it? Yes! And 0.05 is al"),
            "Is it? Yes!"
        );
        // A decimal point is not a sentence end; with no whole sentence the text stays.
        assert_eq!(complete_sentences("alpha is 0.05 whe"), "alpha is 0.05 whe");
        assert_eq!(complete_sentences(""), "");
    }
}
