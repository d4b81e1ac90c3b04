//! The typed form of `configs/llm.toml`: prices, rate limits, retries, default generation
//! settings and local-engine settings. The library parses text or a path it is given; it never
//! looks for the file itself.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cost::Pricing;
use crate::limit::RateLimitConfig;
use crate::retry::RetryConfig;
use crate::{Error, GenerationParams};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// Prices per model, with their date.
    pub prices: Pricing,
    /// Client-side rate limits per provider (`anthropic`, `openai_compatible`).
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimitConfig>,
    /// Retries of HTTP calls.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Default generation parameters.
    pub generation: GenerationDefaults,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The local llama.cpp engine.
    pub local: LocalDefaults,
}

impl LlmConfig {
    /// Parses the TOML text of `configs/llm.toml`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let config: Self = toml::from_str(text).map_err(|e| Error::Config {
            detail: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            detail: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// The rate limits of a provider; none configured means no limit.
    pub fn rate_limit(&self, provider: &str) -> RateLimitConfig {
        self.rate_limits.get(provider).copied().unwrap_or_default()
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |detail: String| Err(Error::Config { detail });
        if jiff::civil::Date::strptime("%Y-%m-%d", &self.prices.as_of).is_err() {
            return bad(format!(
                "prices.as_of must be a YYYY-MM-DD date, got {:?}",
                self.prices.as_of
            ));
        }
        for (model, price) in &self.prices.models {
            if !(price.input_per_mtok >= 0.0 && price.output_per_mtok >= 0.0) {
                return bad(format!("prices of {model} must be non-negative numbers"));
            }
        }
        if self.local.max_parallel == 0 || self.local.context_per_sequence == 0 {
            return bad(
                "local.max_parallel and local.context_per_sequence must be positive".into(),
            );
        }
        Ok(())
    }
}

/// Default generation parameters (the `[generation]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationDefaults {
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Temperature.
    pub temperature: f32,
    /// Nucleus mass.
    pub top_p: f32,
    /// Top-k (0 disables).
    pub top_k: u32,
    /// Repeat penalty (1.0 disables).
    pub repeat_penalty: f32,
}

impl GenerationDefaults {
    /// Generation parameters with these defaults and no stop strings, seed or constraint.
    pub fn params(&self) -> GenerationParams {
        GenerationParams {
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            repeat_penalty: self.repeat_penalty,
            ..GenerationParams::default()
        }
    }
}

/// Timeouts (the `[timeouts]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// The default timeout of one call, streaming included, in seconds.
    pub call_seconds: u64,
    /// The TCP connect timeout of HTTP backends, in seconds.
    pub connect_seconds: u64,
}

impl Timeouts {
    /// The call timeout.
    pub fn call(&self) -> Duration {
        Duration::from_secs(self.call_seconds)
    }

    /// The connect timeout.
    pub fn connect(&self) -> Duration {
        Duration::from_secs(self.connect_seconds)
    }
}

/// Local engine settings (the `[local]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalDefaults {
    /// Threads for llama.cpp; 0 picks [`crate::default_threads`].
    pub threads: u32,
    /// Tokens of KV cache per sequence (prompt plus output).
    pub context_per_sequence: u32,
    /// Sequences decoded together in one batch; 1 turns batching off (requests queue).
    pub max_parallel: u32,
    /// Most tokens submitted to one decode call.
    pub batch_tokens: u32,
    /// The chat template used when the GGUF has none: a llama.cpp template name or a template.
    pub chat_template_fallback: String,
    /// Reuse the KV cache of a shared prompt prefix across requests.
    pub prefix_cache: bool,
}
