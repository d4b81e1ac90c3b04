//! The crate's one error type. Variants carry the facts a caller needs to react (how long to wait,
//! what the budget is), never an API key: messages that come from a server pass through
//! [`crate::secret::redact`] first.

use std::path::PathBuf;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The call took longer than its timeout.
    #[error("the call timed out after {after:?}; raise CallOptions::timeout or lower max_tokens")]
    Timeout {
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The caller cancelled the call.
    #[error("the call was cancelled")]
    Cancelled,
    /// The provider kept answering 429 after every retry.
    #[error(
        "rate limited by {provider} after {attempts} attempts (last retry-after {retry_after:?}); lower the configured rate limits"
    )]
    RateLimited {
        /// The provider.
        provider: &'static str,
        /// What the provider asked us to wait, if it said.
        retry_after: Option<Duration>,
        /// Attempts made.
        attempts: u32,
    },
    /// The provider kept answering 529 (overloaded) after every retry.
    #[error("{provider} is overloaded after {attempts} attempts; try again later")]
    Overloaded {
        /// The provider.
        provider: &'static str,
        /// Attempts made.
        attempts: u32,
    },
    /// The provider kept failing with a server error (5xx) after every retry.
    #[error("{provider} answered {status} after {attempts} attempts: {message}")]
    Server {
        /// The provider.
        provider: &'static str,
        /// The last HTTP status.
        status: u16,
        /// The provider's message, redacted.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server could not be reached (connect error or timeout) after every retry.
    #[error("cannot reach {provider} after {attempts} attempts: {message}; check the base URL")]
    Connect {
        /// The provider.
        provider: &'static str,
        /// What went wrong, redacted.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The provider rejected the request (400, 404, 422); never retried.
    #[error("{provider} rejected the request ({status}): {message}")]
    BadRequest {
        /// The provider.
        provider: &'static str,
        /// The HTTP status.
        status: u16,
        /// The provider's message, redacted.
        message: String,
    },
    /// The provider refused the credentials (401, 403); never retried.
    #[error(
        "{provider} refused the API key ({status}): {message}; check the key's environment variable"
    )]
    Unauthorized {
        /// The provider.
        provider: &'static str,
        /// The HTTP status.
        status: u16,
        /// The provider's message, redacted.
        message: String,
    },
    /// The provider's answer does not have the documented shape.
    #[error("malformed response from {provider}: {detail}")]
    MalformedResponse {
        /// The provider.
        provider: &'static str,
        /// What was wrong, redacted.
        detail: String,
    },
    /// The provider reported an error inside a stream.
    #[error("{provider} reported an error in the stream ({kind}): {message}")]
    StreamError {
        /// The provider.
        provider: &'static str,
        /// The error type it gave.
        kind: String,
        /// Its message, redacted.
        message: String,
    },
    /// The call could cost more than the budget has left; it was not sent.
    #[error(
        "refused before sending: the call could cost up to ${estimate_usd:.6} but the budget of ${limit_usd:.4} has ${remaining_usd:.6} left (spent ${spent_usd:.6}, reserved ${reserved_usd:.6}); raise the budget or lower max_tokens"
    )]
    BudgetExceeded {
        /// The hard cap.
        limit_usd: f64,
        /// Already spent.
        spent_usd: f64,
        /// Held by calls in flight.
        reserved_usd: f64,
        /// What is left.
        remaining_usd: f64,
        /// The most this call could cost.
        estimate_usd: f64,
    },
    /// A budget is set but the model has no price in the config, so its cost cannot be bounded.
    #[error(
        "model {model} has no price in configs/llm.toml [prices]; add one to use it under a budget"
    )]
    NoPrice {
        /// The model.
        model: String,
    },
    /// An environment variable holding an API key is not set.
    #[error("the API key variable {var} is not set")]
    MissingApiKey {
        /// The variable.
        var: String,
    },
    /// The configuration is invalid.
    #[error("invalid llm configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// The request is not valid for this backend.
    #[error("invalid request: {detail}")]
    InvalidRequest {
        /// What is wrong.
        detail: String,
    },
    /// The prompt and max_tokens do not fit in a sequence's context.
    #[error(
        "the prompt has {prompt_tokens} tokens and max_tokens is {max_tokens}, but a sequence holds {context} tokens; shorten the prompt or raise context_per_sequence"
    )]
    ContextOverflow {
        /// Prompt tokens.
        prompt_tokens: usize,
        /// Requested generation length.
        max_tokens: u32,
        /// Tokens per sequence.
        context: u32,
    },
    /// A GGUF model or adapter could not be loaded.
    #[error("cannot load {what} from {path}: {detail}")]
    Load {
        /// "model" or "LoRA adapter".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What llama.cpp said.
        detail: String,
    },
    /// The grammar or JSON schema could not be compiled.
    #[error("cannot compile the output constraint: {detail}")]
    Grammar {
        /// What went wrong.
        detail: String,
    },
    /// llama.cpp failed during generation.
    #[error("local inference failed: {detail}")]
    Inference {
        /// What went wrong.
        detail: String,
    },
    /// The local engine thread is gone (it panicked or was shut down).
    #[error("the local inference engine has stopped")]
    EngineStopped,
    /// The response cache could not be read or written.
    #[error("response cache at {path}: {source}")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether an HTTP attempt that failed this way is worth repeating.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Overloaded { .. }
                | Self::Server { .. }
                | Self::Connect { .. }
        )
    }
}
