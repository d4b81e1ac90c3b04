//! `POST /v1/chat/completions`: the assistant as an OpenAI-compatible model, so that the openai
//! SDKs, LangChain and this project's own `llm::OpenAiCompatible` client can use it.
//!
//! The last message is the question. Conversations are keyed by the transcript: after answering,
//! the server remembers which conversation the transcript *including its answer* belongs to, so
//! the client's next request (the same messages plus a new question) continues it. A transcript
//! the server did not produce (edited, or answered by another replica) starts a new conversation.
//! The `user` field scopes the key, so two users' identical transcripts never share memory.

use std::convert::Infallible;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::errors::{ApiError, ApiJson, ErrorBody};
use crate::limits::ResponseDeadline;
use crate::routes::query::{WireEvent, answer_events, generation_budget, with_deadline};
use crate::state::{AppState, hex};

/// A chat-completions request. Sampling fields (`temperature`, `max_tokens`, `top_p`, `stop`,
/// `seed`, …) are accepted and ignored: the assistant's own settings govern generation, so that
/// answers stay grounded and repeatable.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// Any name; the response names the model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// The conversation; the last message must be the user's question.
    pub messages: Vec<ChatMessage>,
    /// Stream `chat.completion.chunk` events, ending with `data: [DONE]`.
    #[serde(default)]
    pub stream: bool,
    /// `{"include_usage": true}` adds a last chunk with token usage.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// An end-user id; scopes conversation memory.
    #[serde(default)]
    pub user: Option<String>,
}

/// Streaming options.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub struct StreamOptions {
    /// Send a usage chunk before `[DONE]`.
    #[serde(default)]
    pub include_usage: bool,
}

/// One message.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (`developer` and `tool` are kept in the transcript only).
    pub role: String,
    /// Text, or a list of content parts of which the `text` parts are read.
    #[serde(default)]
    pub content: Option<MessageContent>,
}

/// Message content in either of the shapes the SDKs send.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts.
    Parts(Vec<ContentPart>),
}

/// A content part; only `text` parts carry text the assistant reads.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ContentPart {
    /// `text`, `image_url`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

impl ChatMessage {
    fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(MessageContent::Text(t)) => t.clone(),
            Some(MessageContent::Parts(parts)) => parts
                .iter()
                .filter(|p| p.kind == "text")
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// A non-streamed completion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-<query_id>`.
    pub id: String,
    /// `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model that answered (`lift/<language model>`).
    pub model: String,
    /// One choice.
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: ChatUsage,
    /// Lift's ids for this answer (ignored by OpenAI clients).
    pub lift: LiftIds,
}

/// The answer's ids, for feedback and for clients that know Lift.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiftIds {
    /// For `POST /feedback`.
    pub query_id: String,
    /// The conversation the transcript maps to.
    pub conversation_id: String,
}

/// A choice of a completion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Choice {
    /// 0.
    pub index: u32,
    /// The answer.
    pub message: AssistantMessage,
    /// `stop`, or `length` when generation hit its token limit.
    pub finish_reason: String,
}

/// The assistant's message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssistantMessage {
    /// `assistant`.
    pub role: String,
    /// The whole answer in Markdown.
    pub content: String,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct ChatUsage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

/// A streamed chunk.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatChunk {
    /// The same for every chunk of a stream.
    pub id: String,
    /// `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model.
    pub model: String,
    /// One choice, or none in the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Only in the usage chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
}

/// A chunk's choice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChunkChoice {
    /// 0.
    pub index: u32,
    /// The new text.
    pub delta: Delta,
    /// Set on the last content chunk.
    pub finish_reason: Option<String>,
}

/// New text.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Delta {
    /// `assistant`, on the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// The key of a transcript: the user, then each message's role and trimmed text.
fn transcript_key<'a>(
    user: Option<&str>,
    messages: impl IntoIterator<Item = (&'a str, String)>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(user.unwrap_or("").as_bytes());
    hasher.update([0u8]);
    for (role, text) in messages {
        hasher.update(role.as_bytes());
        hasher.update([0u8]);
        hasher.update(text.trim().as_bytes());
        hasher.update([0u8]);
    }
    hex(&hasher.finalize())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn usage(u: &crate::wire::Usage) -> ChatUsage {
    ChatUsage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.prompt_tokens.saturating_add(u.completion_tokens),
    }
}

/// An OpenAI-compatible chat completion.
#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    tag = "openai",
    request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "A `chat.completion`, or with `stream: true` SSE `data:` lines each holding a `chat.completion.chunk` (ChatChunk), ending with `data: [DONE]`", body = ChatCompletion),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 422, description = "No messages, last message not from the user, empty or too long question", body = ErrorBody),
        (status = 429, description = "Queue full", body = ErrorBody),
        (status = 503, description = "Loading, queue timeout, or the pipeline failed", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn chat_completions(
    State(state): State<AppState>,
    deadline: Option<Extension<ResponseDeadline>>,
    ApiJson(request): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let assistant = state.assistant()?.clone();
    let Some((last, earlier)) = request.messages.split_last() else {
        return Err(ApiError::invalid(
            "`messages` is empty; send at least one user message",
        ));
    };
    if last.role != "user" {
        return Err(ApiError::invalid(format!(
            "the last message has role `{}`; the last message must be the user's question",
            last.role
        )));
    }
    let question = last.text();
    let user = request.user.as_deref();
    let transcript: Vec<(&str, String)> = request
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.text()))
        .collect();
    let conversation_id = if earlier.is_empty() {
        None
    } else {
        state.chat_conversation(&transcript_key(
            user,
            transcript[..earlier.len()].iter().cloned(),
        ))
    };
    let query = assistant::Query {
        question,
        conversation_id,
        mode: assistant::RetrievalMode::Hybrid,
        top_k: None,
        generate: true,
        generation_timeout: generation_budget(&state, deadline.map(|d| d.0), request.stream),
    };
    let created = unix_now();
    if !request.stream {
        let (answer, _cached) = state.answer(&assistant, query).await?;
        let wire = crate::wire::QueryResponse::from_answer(&answer, false);
        let content = wire.answer.clone();
        let mut full = transcript;
        full.push(("assistant", content.clone()));
        state.remember_chat(
            transcript_key(user, full),
            wire.head.conversation_id.clone(),
        );
        let body = ChatCompletion {
            id: format!("chatcmpl-{}", wire.head.query_id),
            object: "chat.completion".into(),
            created,
            model: format!("lift/{}", wire.head.model),
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant".into(),
                    content,
                },
                finish_reason: if wire.truncated || wire.timed_out {
                    "length"
                } else {
                    "stop"
                }
                .into(),
            }],
            usage: usage(&wire.usage),
            lift: LiftIds {
                query_id: wire.head.query_id,
                conversation_id: wire.head.conversation_id,
            },
        };
        return Ok(axum::Json(body).into_response());
    }
    let include_usage = request.stream_options.is_some_and(|o| o.include_usage);
    let events = answer_events(&state, &assistant, query).await?;
    let chunks = ChunkStream {
        state: state.clone(),
        user: request.user.clone(),
        transcript: transcript
            .into_iter()
            .map(|(r, t)| (r.to_owned(), t))
            .collect(),
        include_usage,
        created,
        id: String::new(),
        model: String::new(),
        sent: String::new(),
        explained: false,
    };
    let stream = stream::unfold((events, Some(chunks)), |(mut events, chunks)| async move {
        let mut chunks = chunks?;
        let Some(event) = events.next().await else {
            return None;
        };
        let (out, keep_going) = chunks.translate(event);
        Some((stream::iter(out), (events, keep_going.then_some(chunks))))
    })
    .flatten()
    .map(Ok::<_, Infallible>);
    let deadline = state.config().stream_timeout();
    Ok(Sse::new(with_deadline(stream.boxed(), deadline))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Turns answer events into chunks, remembering what was sent for the transcript key.
struct ChunkStream {
    state: AppState,
    user: Option<String>,
    transcript: Vec<(String, String)>,
    include_usage: bool,
    created: u64,
    id: String,
    model: String,
    sent: String,
    explained: bool,
}

impl ChunkStream {
    fn chunk(&self, delta: Delta, finish: Option<&str>) -> Event {
        let chunk = ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish.map(str::to_owned),
            }],
            usage: None,
        };
        Event::default().data(serde_json::to_string(&chunk).unwrap_or_else(|_| "{}".into()))
    }

    fn content(&mut self, text: String) -> Event {
        self.sent.push_str(&text);
        self.chunk(
            Delta {
                role: None,
                content: Some(text),
            },
            None,
        )
    }

    /// The chunks for one event, and whether more may follow.
    fn translate(&mut self, event: WireEvent) -> (Vec<Event>, bool) {
        match event {
            WireEvent::Head(head) => {
                self.id = format!("chatcmpl-{}", head.query_id);
                self.model = format!("lift/{}", head.model);
                let role = self.chunk(
                    Delta {
                        role: Some("assistant".into()),
                        content: Some(String::new()),
                    },
                    None,
                );
                let structured = self.content(head.structured.trim_end().to_owned());
                (vec![role, structured], true)
            }
            WireEvent::Token(text) => {
                let mut out = Vec::new();
                if !self.explained {
                    self.explained = true;
                    let model = self.model.trim_start_matches("lift/").to_owned();
                    out.push(
                        self.content(format!("\n\n**Explanation** (written by {model}):\n\n")),
                    );
                }
                out.push(self.content(text));
                (out, true)
            }
            WireEvent::Done(done) => {
                let mut out = Vec::new();
                if !done.unsupported_numbers.is_empty() {
                    // The tokens are already on the client's screen; flag what the check found
                    // instead of silently differing from the JSON answer.
                    out.push(self.content(format!(
                        "\n\n_Note: the explanation's numbers {} are supported by neither the calculator nor the sources; disregard them._",
                        done.unsupported_numbers.join(", ")
                    )));
                }
                let finish = if done.truncated || done.timed_out {
                    "length"
                } else {
                    "stop"
                };
                out.push(self.chunk(Delta::default(), Some(finish)));
                if self.include_usage {
                    let chunk = ChatChunk {
                        id: self.id.clone(),
                        object: "chat.completion.chunk".into(),
                        created: self.created,
                        model: self.model.clone(),
                        choices: Vec::new(),
                        usage: Some(usage(&done.usage)),
                    };
                    out.push(
                        Event::default()
                            .data(serde_json::to_string(&chunk).unwrap_or_else(|_| "{}".into())),
                    );
                }
                out.push(Event::default().data("[DONE]"));
                let mut full: Vec<(&str, String)> = self
                    .transcript
                    .iter()
                    .map(|(r, t)| (r.as_str(), t.clone()))
                    .collect();
                full.push(("assistant", self.sent.clone()));
                let key = transcript_key(self.user.as_deref(), full);
                self.state
                    .remember_chat(key, done.head.conversation_id.clone());
                (out, false)
            }
            WireEvent::Error(error) => {
                // OpenAI's own streams report a failure as an `error` object; no `[DONE]`
                // follows, so clients see the stream as failed.
                let body = serde_json::to_string(&error.body()).unwrap_or_else(|_| "{}".into());
                (vec![Event::default().data(body)], false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_keys_depend_on_user_roles_and_text_but_not_outer_space() {
        let a = transcript_key(None, [("user", "What is power?".to_owned())]);
        assert_eq!(
            a,
            transcript_key(None, [("user", " What is power?\n".to_owned())])
        );
        assert_ne!(
            a,
            transcript_key(Some("u1"), [("user", "What is power?".to_owned())])
        );
        assert_ne!(
            a,
            transcript_key(None, [("system", "What is power?".to_owned())])
        );
        // Boundaries between messages count: ["ab"] is not ["a", "b"].
        assert_ne!(
            transcript_key(None, [("user", "ab".to_owned())]),
            transcript_key(None, [("user", "a".to_owned()), ("user", "b".to_owned())])
        );
    }

    #[test]
    fn content_parts_are_read_as_text() {
        let m: ChatMessage = serde_json::from_str(
            r#"{"role":"user","content":[{"type":"text","text":"What is"},{"type":"image_url"},{"type":"text","text":"power?"}]}"#,
        )
        .expect("parses");
        assert_eq!(m.text(), "What is\npower?");
    }
}
