//! Settings of the answering pipeline (`configs/assistant.toml`). Every key is optional; the
//! defaults suit the 135M local model on a 2-core machine.

use serde::Deserialize;

use crate::AssistantError;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// Retrieved items kept per answer.
    pub top_k: usize,
    /// The largest `top_k` a caller may ask for.
    pub max_top_k: usize,
    /// Longest question, in characters.
    pub max_question_chars: usize,
    /// Context given to the model, in (estimated) tokens.
    pub context_tokens: usize,
    /// Characters per token used to estimate lengths (conservative for English).
    pub chars_per_token: f64,
    /// Citations shown per answer.
    pub max_citations: usize,
    /// Concept definitions written into the structured answer.
    pub definitions_shown: usize,
    /// Related concepts suggested.
    pub related_concepts: usize,
    /// Generation settings.
    pub generation: GenerationConfig,
    /// Conversation memory.
    pub conversations: ConversationConfig,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            top_k: 8,
            max_top_k: 50,
            max_question_chars: 2_000,
            context_tokens: 160,
            chars_per_token: 3.5,
            max_citations: 6,
            definitions_shown: 2,
            related_concepts: 5,
            generation: GenerationConfig::default(),
            conversations: ConversationConfig::default(),
        }
    }
}

/// How the model is called.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationConfig {
    /// Tokens generated at most.
    pub max_tokens: u32,
    /// Sampling temperature; 0 is greedy.
    pub temperature: f32,
    /// Seed, so answers repeat.
    pub seed: u32,
    /// Seconds before generation is abandoned.
    pub timeout_seconds: f64,
    /// USD per million prompt tokens, for the cost estimate (0 for the local model).
    pub usd_per_million_prompt_tokens: f64,
    /// USD per million generated tokens.
    pub usd_per_million_completion_tokens: f64,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_tokens: 64,
            temperature: 0.0,
            seed: 7,
            timeout_seconds: 30.0,
            usd_per_million_prompt_tokens: 0.0,
            usd_per_million_completion_tokens: 0.0,
        }
    }
}

/// Conversation memory bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConversationConfig {
    /// Conversations kept; the least recently used goes first.
    pub max_conversations: usize,
    /// Seconds a conversation lives after its last question.
    pub ttl_seconds: u64,
    /// Turns remembered per conversation.
    pub max_turns: usize,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        Self {
            max_conversations: 10_000,
            ttl_seconds: 3_600,
            max_turns: 20,
        }
    }
}

impl AssistantConfig {
    /// Parses and validates a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, AssistantError> {
        let config: Self = toml::from_str(text).map_err(|e| AssistantError::Config {
            reason: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and validates a file.
    pub fn from_path(path: &std::path::Path) -> Result<Self, AssistantError> {
        let text = std::fs::read_to_string(path).map_err(|e| AssistantError::Config {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            AssistantError::Config { reason } => AssistantError::Config {
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        })
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), AssistantError> {
        let fail = |reason: &str| {
            Err(AssistantError::Config {
                reason: reason.to_owned(),
            })
        };
        if self.top_k == 0 || self.top_k > self.max_top_k {
            return fail("top_k must be between 1 and max_top_k");
        }
        if self.max_question_chars == 0 {
            return fail("max_question_chars must be positive");
        }
        if self.context_tokens < 32 {
            return fail("context_tokens must be at least 32");
        }
        if !(self.chars_per_token.is_finite() && self.chars_per_token >= 1.0) {
            return fail("chars_per_token must be at least 1");
        }
        if self.generation.max_tokens == 0 {
            return fail("generation.max_tokens must be positive");
        }
        if !(self.generation.timeout_seconds.is_finite() && self.generation.timeout_seconds > 0.0) {
            return fail("generation.timeout_seconds must be positive");
        }
        if !(0.0..=2.0).contains(&self.generation.temperature) {
            return fail("generation.temperature must be between 0 and 2");
        }
        if self.conversations.max_conversations == 0 || self.conversations.max_turns == 0 {
            return fail("conversations.max_conversations and max_turns must be positive");
        }
        Ok(())
    }
}
