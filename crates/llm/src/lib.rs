//! One interface to language models: [`ChatModel`], implemented by a local llama.cpp engine
//! ([`LocalModel`], GGUF files such as SmolLM2-135M-Instruct), by OpenAI-compatible servers
//! ([`OpenAiCompatible`]: Ollama, vLLM, a llama.cpp server, this project's own API) and by the
//! Anthropic Messages API ([`Anthropic`]). The assistant answers with it, synth generates training
//! data with it, and the evaluator judges with it. Input: messages and generation parameters
//! (stop strings, seed, grammar or JSON schema); output: the full text or a token stream, with the
//! finish reason and token usage. Every call carries a timeout and a cancellation token, and
//! dropping a stream stops generation. Around the HTTP backends sit `governor` rate limits
//! (requests and tokens per minute), `backon` retries that honour `retry-after`, cost accounting
//! from the dated price table in `configs/llm.toml`, and a shared hard USD [`Budget`] checked
//! before a call is sent. [`Cached`] adds an opt-in on-disk response cache to any backend.
//!
//! What this crate must not do: serve HTTP (only `inference-api` does), find models or read
//! configuration on its own (callers pass paths and config values; only tests use the `assets`
//! resolver), or let an API key reach a log, an error, `Debug` output or the cache ([`ApiKey`]
//! is redacted everywhere). It is one of only two crates allowed to make outbound HTTP calls.
//!
//! Design choice: the local backend runs llama.cpp on one dedicated OS thread that owns the model
//! and its context, and callers talk to it over channels. The context is not `Sync` and every
//! decode mutates it, so a thread that owns it needs no locks; more importantly, owning all
//! sequences in one place is what lets that thread put every active request into the same
//! `llama_decode` batch, so N concurrent users share each forward pass instead of queueing
//! behind a mutex.

mod anthropic;
mod cache;
mod config;
mod cost;
mod error;
mod http;
mod limit;
mod local;
mod model;
mod openai;
mod retry;
mod secret;
mod sse;
mod types;

pub use anthropic::{ANTHROPIC_API_KEY_ENV, Anthropic, AnthropicConfig};
pub use cache::{Cached, ResponseCache};
pub use config::{GenerationDefaults, LlmConfig, LocalDefaults, Timeouts};
pub use cost::{Budget, CostSummary, ModelCost, ModelPrice, Pricing, estimate_prompt_tokens};
pub use error::Error;
pub use http::HttpPolicy;
pub use limit::{RateLimitConfig, RateLimits};
pub use local::{
    AdapterSpec, EngineStats, LocalConfig, LocalModel, LocalModelInfo, default_threads,
};
pub use model::{ChatModel, ChatStream, collect_stream};
pub use openai::{OpenAiCompatible, OpenAiConfig};
pub use retry::RetryConfig;
pub use secret::ApiKey;
pub use types::{
    CallOptions, ChatRequest, ChatResponse, Constraint, FinishReason, GenerationParams, Message,
    Role, StreamEvent, Usage,
};

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_parses_with_dated_prices() {
        let text = include_str!("../../../configs/llm.toml");
        let config = LlmConfig::parse(text).unwrap();
        assert_eq!(config.prices.as_of.len(), 10);
        assert!(config.prices.price("claude-sonnet-4-5-20250929").is_some());
        assert_eq!(config.rate_limit("anthropic").requests_per_minute, 50);
        assert_eq!(config.generation.params().max_tokens, 512);
        let bad = text.replace("as_of = \"2025-11-24\"", "as_of = \"soon\"");
        assert!(matches!(LlmConfig::parse(&bad), Err(Error::Config { .. })));
    }

    #[test]
    fn default_threads_is_one_on_small_machines() {
        let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = default_threads();
        if logical <= 2 {
            assert_eq!(threads, 1);
        } else {
            assert!(threads >= 1 && (threads as usize) < logical);
        }
    }
}
