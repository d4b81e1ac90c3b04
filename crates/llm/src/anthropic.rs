//! The Anthropic Messages API backend (`POST /v1/messages`), plain and streamed.
//!
//! Only the documented request fields are sent: `model`, `max_tokens`, `messages`, `system`,
//! `temperature`, `stop_sequences`, `stream`. `top_p`, `top_k`, `repeat_penalty` and `seed` have
//! no effect here (recent models refuse `temperature` and `top_p` together), and output
//! constraints are refused rather than silently ignored.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::cost::{Reservation, estimate_prompt_tokens};
use crate::http::{HttpPolicy, Transport};
use crate::model::{ChatStream, bounded, bounded_stream, deadline, done};
use crate::secret::{ApiKey, redact};
use crate::{
    CallOptions, ChatModel, ChatRequest, ChatResponse, Error, FinishReason, Role, StreamEvent,
    Usage,
};

const PROVIDER: &str = "anthropic";
/// The API version this client speaks.
const API_VERSION: &str = "2023-06-01";
/// The environment variable holding the key.
pub const ANTHROPIC_API_KEY_ENV: &str = "ANTHROPIC_API_KEY";

/// Where and how to reach the API.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// The base URL without `/v1` (the public API's, or a mock server's in tests).
    pub base_url: String,
    /// The model id, e.g. `claude-sonnet-4-5`.
    pub model: String,
    /// The key; see [`ApiKey::from_env`] with [`ANTHROPIC_API_KEY_ENV`].
    pub api_key: ApiKey,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
}

impl AnthropicConfig {
    /// A config with a 10 s connect timeout.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>, api_key: ApiKey) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A client of the Anthropic Messages API.
#[derive(Debug)]
pub struct Anthropic {
    transport: Transport,
    config: AnthropicConfig,
    url: String,
}

impl Anthropic {
    /// A client for `config` under `policy`.
    pub fn new(config: AnthropicConfig, policy: HttpPolicy) -> Result<Self, Error> {
        let url = format!("{}/v1/messages", config.base_url.trim_end_matches('/'));
        let transport = Transport::new(
            PROVIDER,
            Some(config.api_key.clone()),
            policy,
            config.connect_timeout,
        )?;
        Ok(Self {
            transport,
            config,
            url,
        })
    }

    fn body<'a>(
        &'a self,
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<WireRequest<'a>, Error> {
        if request.params.constraint.is_some() {
            return Err(Error::InvalidRequest {
                detail: "the Anthropic backend cannot enforce a grammar or JSON schema; validate the output instead".into(),
            });
        }
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let messages: Vec<WireMessage<'a>> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| WireMessage {
                role: m.role.as_str(),
                content: &m.content,
            })
            .collect();
        if messages.is_empty() {
            return Err(Error::InvalidRequest {
                detail: "the Messages API needs at least one user message".into(),
            });
        }
        Ok(WireRequest {
            model: &self.config.model,
            max_tokens: request.params.max_tokens,
            messages,
            system: (!system.is_empty()).then(|| system.join("\n\n")),
            temperature: request.params.temperature.clamp(0.0, 1.0),
            stop_sequences: &request.params.stop,
            stream,
        })
    }

    async fn start(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(reqwest::Response, Option<Reservation>), Error> {
        let body = self.body(request, stream)?;
        let prompt_estimate = estimate_prompt_tokens(&request.messages);
        let max_tokens = request.params.max_tokens;
        let reservation =
            self.transport
                .reserve(&self.config.model, prompt_estimate, max_tokens)?;
        let sent = self
            .transport
            .send(
                || {
                    self.transport
                        .client
                        .post(&self.url)
                        .header("x-api-key", self.config.api_key.expose())
                        .header("anthropic-version", API_VERSION)
                        .json(&body)
                },
                prompt_estimate.saturating_add(max_tokens),
            )
            .await;
        match sent {
            Ok(response) => Ok((response, reservation)),
            Err(error) => {
                if let Some(r) = reservation {
                    r.release();
                }
                Err(error)
            }
        }
    }

    async fn complete_inner(&self, request: ChatRequest) -> Result<ChatResponse, Error> {
        let (response, reservation) = self.start(&request, false).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport.transport_error(&e).error)?;
        // A malformed body leaves the reservation unsettled, which charges it in full.
        let wire: WireResponse = serde_json::from_slice(&bytes)
            .map_err(|e| self.transport.malformed(format!("message body: {e}")))?;
        if wire.kind != "message" {
            return Err(self
                .transport
                .malformed(format!("expected type \"message\", got {:?}", wire.kind)));
        }
        let text: String = wire
            .content
            .iter()
            .filter(|block| block.kind == "text")
            .filter_map(|block| block.text.as_deref())
            .collect();
        let usage = Usage {
            prompt_tokens: wire.usage.input_tokens,
            completion_tokens: wire.usage.output_tokens,
            cached_prompt_tokens: 0,
        };
        let cost_usd = reservation.and_then(|r| r.commit(usage));
        Ok(ChatResponse {
            text,
            finish_reason: finish_reason(wire.stop_reason.as_deref()),
            usage,
            cost_usd,
        })
    }

    async fn stream_inner(&self, request: ChatRequest) -> Result<ChatStream, Error> {
        let (response, reservation) = self.start(&request, true).await?;
        let events = self.transport.sse_events(response);
        let key = self.config.api_key.clone();
        struct State<E> {
            events: E,
            reservation: Option<Reservation>,
            usage: Usage,
            finish: Option<FinishReason>,
            over: bool,
        }
        let state = State {
            events: Box::pin(events),
            reservation,
            usage: Usage::default(),
            finish: None,
            over: false,
        };
        let stream = futures::stream::unfold(state, move |mut state| {
            let key = key.clone();
            async move {
                if state.over {
                    return None;
                }
                let malformed = |detail: String| Error::MalformedResponse {
                    provider: PROVIDER,
                    detail: redact(&detail, Some(&key)),
                };
                loop {
                    let Some(event) = state.events.next().await else {
                        state.over = true;
                        return Some((
                            Err(malformed("the stream ended before message_stop".into())),
                            state,
                        ));
                    };
                    let event = match event {
                        Ok(event) => event,
                        Err(error) => {
                            state.over = true;
                            return Some((Err(error), state));
                        }
                    };
                    let parsed: WireEvent = match serde_json::from_str(&event.data) {
                        Ok(parsed) => parsed,
                        Err(e) => {
                            state.over = true;
                            return Some((Err(malformed(format!("stream event: {e}"))), state));
                        }
                    };
                    match parsed {
                        WireEvent::MessageStart { message } => {
                            state.usage.prompt_tokens = message.usage.input_tokens;
                            state.usage.completion_tokens = message.usage.output_tokens;
                        }
                        WireEvent::ContentBlockDelta { delta } => {
                            if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                                return Some((Ok(StreamEvent::Delta(text)), state));
                            }
                        }
                        WireEvent::MessageDelta { delta, usage } => {
                            if let Some(reason) = delta.stop_reason {
                                state.finish = Some(finish_reason(Some(&reason)));
                            }
                            if let Some(usage) = usage {
                                state.usage.completion_tokens = usage.output_tokens;
                                if let Some(input) = usage.input_tokens {
                                    state.usage.prompt_tokens = input;
                                }
                            }
                        }
                        WireEvent::MessageStop => {
                            state.over = true;
                            let usage = state.usage;
                            let cost = state.reservation.take().and_then(|r| r.commit(usage));
                            let finish = state.finish.take().unwrap_or(FinishReason::Stop);
                            return Some((Ok(done(finish, usage, cost)), state));
                        }
                        WireEvent::Error { error } => {
                            state.over = true;
                            let error = Error::StreamError {
                                provider: PROVIDER,
                                kind: error.kind,
                                message: redact(&error.message, Some(&key)),
                            };
                            return Some((Err(error), state));
                        }
                        WireEvent::Other => {}
                    }
                }
            }
        });
        Ok(Box::pin(stream))
    }
}

impl ChatModel for Anthropic {
    fn model_id(&self) -> &str {
        &self.config.model
    }

    fn complete(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            let deadline = deadline(&options);
            bounded(&options, deadline, self.complete_inner(request)).await
        })
    }

    fn stream(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            let deadline = deadline(&options);
            let stream = bounded(&options, deadline, self.stream_inner(request)).await?;
            Ok(bounded_stream(stream, options, deadline))
        })
    }
}

fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        None | Some("end_turn") => FinishReason::Stop,
        Some("stop_sequence") => FinishReason::StopSequence,
        Some("max_tokens") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    temperature: f32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    stream: bool,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(rename = "type")]
    kind: String,
    content: Vec<WireBlock>,
    stop_reason: Option<String>,
    usage: WireUsage,
}

#[derive(Deserialize)]
struct WireBlock {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    input_tokens: u32,
    output_tokens: u32,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: WireStartMessage,
    },
    ContentBlockDelta {
        delta: WireTextDelta,
    },
    MessageDelta {
        delta: WireMessageDelta,
        usage: Option<WireDeltaUsage>,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireStartMessage {
    usage: WireUsage,
}

#[derive(Deserialize)]
struct WireTextDelta {
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireMessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireDeltaUsage {
    output_tokens: u32,
    input_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}
