//! The OpenAI-compatible chat-completions backend: Ollama, vLLM, a llama.cpp server, or this
//! project's own API. Plain and SSE-streamed calls.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::cost::{Reservation, estimate_prompt_tokens};
use crate::http::{HttpPolicy, Transport};
use crate::model::{ChatStream, bounded, bounded_stream, deadline, done};
use crate::secret::ApiKey;
use crate::{
    CallOptions, ChatModel, ChatRequest, ChatResponse, Constraint, Error, FinishReason,
    StreamEvent, Usage,
};

const PROVIDER: &str = "openai-compatible";

/// Where and how to reach the server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The base URL up to and including `/v1` (Ollama: `http://localhost:11434/v1`).
    pub base_url: String,
    /// The model name the server knows.
    pub model: String,
    /// A bearer key, if the server wants one.
    pub api_key: Option<ApiKey>,
    /// Send the parameters that llama.cpp, vLLM and Ollama accept but OpenAI itself rejects
    /// (`top_k`, `repeat_penalty`, `grammar`).
    pub extensions: bool,
    /// Ask for a usage chunk at the end of a stream (`stream_options.include_usage`).
    pub stream_usage: bool,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
}

impl OpenAiConfig {
    /// A config with the defaults: extensions and stream usage on, a 10 s connect timeout.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            extensions: true,
            stream_usage: true,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A client of an OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiCompatible {
    transport: Transport,
    config: OpenAiConfig,
    url: String,
}

impl OpenAiCompatible {
    /// A client for `config` under `policy`.
    pub fn new(config: OpenAiConfig, policy: HttpPolicy) -> Result<Self, Error> {
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        let transport = Transport::new(
            PROVIDER,
            config.api_key.clone(),
            policy,
            config.connect_timeout,
        )?;
        Ok(Self {
            transport,
            config,
            url,
        })
    }

    fn body<'a>(&'a self, request: &'a ChatRequest, stream: bool) -> WireRequest<'a> {
        let p = &request.params;
        let ext = self.config.extensions;
        let (response_format, grammar) = match &p.constraint {
            None => (None, None),
            Some(Constraint::Json) => (Some(serde_json::json!({"type": "json_object"})), None),
            Some(Constraint::JsonSchema(schema)) => (
                Some(serde_json::json!({
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": schema, "strict": true},
                })),
                None,
            ),
            Some(Constraint::Grammar(g)) => (None, Some(g.as_str())),
        };
        WireRequest {
            model: &self.config.model,
            messages: request
                .messages
                .iter()
                .map(|m| WireMessage {
                    role: m.role.as_str(),
                    content: &m.content,
                })
                .collect(),
            max_tokens: p.max_tokens,
            temperature: p.temperature.max(0.0),
            top_p: p.top_p,
            stream,
            stop: &p.stop,
            seed: p.seed,
            response_format,
            stream_options: (stream && self.config.stream_usage).then_some(StreamOptions {
                include_usage: true,
            }),
            top_k: (ext && p.top_k > 0).then_some(p.top_k),
            repeat_penalty: (ext && p.repeat_penalty != 1.0).then_some(p.repeat_penalty),
            grammar: grammar.filter(|_| ext),
        }
    }

    fn check_request(&self, request: &ChatRequest) -> Result<(), Error> {
        if matches!(request.params.constraint, Some(Constraint::Grammar(_)))
            && !self.config.extensions
        {
            return Err(Error::InvalidRequest {
                detail: "a GBNF grammar needs OpenAiConfig::extensions (llama.cpp server)".into(),
            });
        }
        Ok(())
    }

    async fn start(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(reqwest::Response, Option<Reservation>, u32), Error> {
        self.check_request(request)?;
        let prompt_estimate = estimate_prompt_tokens(&request.messages);
        let max_tokens = request.params.max_tokens;
        let reservation =
            self.transport
                .reserve(&self.config.model, prompt_estimate, max_tokens)?;
        let body = self.body(request, stream);
        let sent = self
            .transport
            .send(
                || {
                    let builder = self.transport.client.post(&self.url).json(&body);
                    match &self.config.api_key {
                        Some(key) => builder.bearer_auth(key.expose()),
                        None => builder,
                    }
                },
                prompt_estimate.saturating_add(max_tokens),
            )
            .await;
        match sent {
            Ok(response) => Ok((response, reservation, prompt_estimate)),
            Err(error) => {
                if let Some(r) = reservation {
                    r.release();
                }
                Err(error)
            }
        }
    }

    async fn complete_inner(&self, request: ChatRequest) -> Result<ChatResponse, Error> {
        let (response, reservation, _) = self.start(&request, false).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport.transport_error(&e).error)?;
        // On a malformed body the reservation is dropped unsettled and charged in full: the
        // server answered, so it may have billed.
        let wire: WireResponse = serde_json::from_slice(&bytes).map_err(|e| {
            self.transport
                .malformed(format!("chat.completion body: {e}"))
        })?;
        let choice = wire
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| self.transport.malformed("chat.completion has no choices"))?;
        let usage = wire.usage.map(Usage::from).unwrap_or_default();
        let cost_usd = reservation.and_then(|r| r.commit(usage));
        Ok(ChatResponse {
            text: choice.message.content.unwrap_or_default(),
            finish_reason: finish_reason(choice.finish_reason.as_deref()),
            usage,
            cost_usd,
        })
    }

    async fn stream_inner(&self, request: ChatRequest) -> Result<ChatStream, Error> {
        let (response, reservation, prompt_estimate) = self.start(&request, true).await?;
        let events = self.transport.sse_events(response);
        let malformed = |detail: String| Error::MalformedResponse {
            provider: PROVIDER,
            detail,
        };
        struct State<E> {
            events: E,
            reservation: Option<Reservation>,
            finish: Option<FinishReason>,
            usage: Option<Usage>,
            chunks: u32,
            prompt_estimate: u32,
            over: bool,
        }
        let state = State {
            events: Box::pin(events),
            reservation,
            finish: None,
            usage: None,
            chunks: 0,
            prompt_estimate,
            over: false,
        };
        let stream = futures::stream::unfold(state, move |mut state| async move {
            if state.over {
                return None;
            }
            loop {
                let Some(event) = state.events.next().await else {
                    state.over = true;
                    return Some((
                        Err(malformed("the stream ended before `data: [DONE]`".into())),
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
                if event.data.trim() == "[DONE]" {
                    state.over = true;
                    // Servers that send no usage chunk: estimate one token per content chunk.
                    let usage = state.usage.unwrap_or(Usage {
                        prompt_tokens: state.prompt_estimate,
                        completion_tokens: state.chunks,
                        cached_prompt_tokens: 0,
                    });
                    let cost = state.reservation.take().and_then(|r| r.commit(usage));
                    let finish = state.finish.take().unwrap_or(FinishReason::Stop);
                    return Some((Ok(done(finish, usage, cost)), state));
                }
                let chunk: WireChunk = match serde_json::from_str(&event.data) {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        state.over = true;
                        return Some((
                            Err(malformed(format!("chat.completion.chunk: {e}"))),
                            state,
                        ));
                    }
                };
                if let Some(usage) = chunk.usage {
                    state.usage = Some(usage.into());
                }
                let mut text = String::new();
                for choice in chunk.choices {
                    if let Some(reason) = choice.finish_reason.as_deref() {
                        state.finish = Some(finish_reason(Some(reason)));
                    }
                    if let Some(content) = choice.delta.content {
                        text.push_str(&content);
                    }
                }
                if !text.is_empty() {
                    state.chunks += 1;
                    return Some((Ok(StreamEvent::Delta(text)), state));
                }
            }
        });
        Ok(Box::pin(stream))
    }
}

impl ChatModel for OpenAiCompatible {
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
        None | Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    max_tokens: u32,
    temperature: f32,
    top_p: f32,
    stream: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grammar: Option<&'a str>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Deserialize)]
struct WireResponse {
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireResponseMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireResponseMessage {
    content: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_prompt_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    delta: WireDelta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireDelta {
    content: Option<String>,
}
