//! The values every backend shares: messages, generation parameters, responses, stream events and
//! per-call options.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The person asking.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role's name as chat templates and the HTTP APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A constraint on the shape of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Constraint {
    /// A syntactically valid JSON object (what OpenAI's `json_object` mode promises).
    Json,
    /// JSON valid against this JSON schema.
    JsonSchema(serde_json::Value),
    /// A llama.cpp GBNF grammar whose start rule is `root`.
    Grammar(String),
}

/// How to generate. The defaults are those of `configs/llm.toml`'s `[generation]` table; callers
/// that load the config use [`crate::GenerationDefaults::params`] instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationParams {
    /// The most tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature; 0 or below means greedy decoding.
    pub temperature: f32,
    /// Nucleus sampling mass; 1.0 disables it.
    pub top_p: f32,
    /// Keep only the k most likely tokens; 0 disables it.
    pub top_k: u32,
    /// Penalty on recently generated tokens; 1.0 disables it.
    pub repeat_penalty: f32,
    /// Generation stops before the first occurrence of any of these strings.
    pub stop: Vec<String>,
    /// A seed for sampling; the same seed, prompt and parameters give the same output locally.
    pub seed: Option<u64>,
    /// An optional constraint on the output's shape.
    pub constraint: Option<Constraint>,
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            temperature: 0.7,
            top_p: 0.95,
            top_k: 40,
            repeat_penalty: 1.1,
            stop: Vec::new(),
            seed: None,
            constraint: None,
        }
    }
}

impl GenerationParams {
    /// Greedy decoding with at most `max_tokens` tokens: deterministic, for tests and judges.
    pub fn greedy(max_tokens: u32) -> Self {
        Self {
            max_tokens,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            repeat_penalty: 1.0,
            ..Self::default()
        }
    }
}

/// A request: the conversation and how to continue it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Generation parameters.
    pub params: GenerationParams,
}

impl ChatRequest {
    /// A request from messages and parameters.
    pub fn new(messages: Vec<Message>, params: GenerationParams) -> Self {
        Self { messages, params }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its turn.
    Stop,
    /// A stop string was produced (and left out of the text).
    StopSequence,
    /// `max_tokens` was reached.
    Length,
    /// The provider gave another reason, kept verbatim.
    Other(String),
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt, including any reused from a cache.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Prompt tokens whose KV state was reused rather than computed (local backend only).
    pub cached_prompt_tokens: u32,
}

/// The result of a completed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The generated text, without any stop string.
    pub text: String,
    /// Why generation ended.
    pub finish_reason: FinishReason,
    /// Token counts.
    pub usage: Usage,
    /// The cost of this call in USD, when the model has a price; 0 for a cache hit.
    pub cost_usd: Option<f64>,
}

/// One item of a token stream. A stream that ends without `Done` ended in an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamEvent {
    /// More text.
    Delta(String),
    /// The end of generation.
    Done {
        /// Why generation ended.
        finish_reason: FinishReason,
        /// Token counts.
        usage: Usage,
        /// The cost of this call in USD, when the model has a price.
        cost_usd: Option<f64>,
    },
}

/// Limits of one call: a deadline for the whole call (streaming included) and a cancellation
/// token. Both stop generation; for a stream, so does dropping it.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// How long the whole call may take.
    pub timeout: Duration,
    /// Cancels the call when triggered.
    pub cancel: CancellationToken,
}

impl CallOptions {
    /// Options with this timeout and a fresh cancellation token.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            cancel: CancellationToken::new(),
        }
    }

    /// The same options with the caller's cancellation token.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }
}

impl Default for CallOptions {
    fn default() -> Self {
        Self::new(Duration::from_secs(120))
    }
}
