//! Which language model writes the LLM pairs, and how it is built: the Anthropic Messages API
//! when the binary found a key, else an OpenAI-compatible server or a local GGUF, as the config
//! says. Every backend is wrapped in the `llm` response cache; the HTTP ones share one hard
//! [`llm::Budget`]. The library never reads the environment: the binary passes the key or the
//! model path it resolved.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use llm::{
    Anthropic, AnthropicConfig, ApiKey, Budget, Cached, ChatModel, HttpPolicy, LlmConfig,
    LocalConfig, LocalModel, OpenAiCompatible, OpenAiConfig, RateLimits, ResponseCache,
};

use crate::SynthError;
use crate::config::LlmGeneratorConfig;
use crate::llm_qa::LlmSetup;

/// The backend to use, as the binary resolved it.
pub enum ProviderChoice {
    /// The Anthropic Messages API with this key.
    Anthropic(ApiKey),
    /// The configured OpenAI-compatible server, with a bearer key if it wants one.
    OpenAi(Option<ApiKey>),
    /// A local GGUF model.
    Local(PathBuf),
    /// A model built by the caller (tests wrap a backend to observe or interrupt it).
    Custom {
        /// The model.
        model: Arc<dyn ChatModel>,
        /// The provider name recorded in provenance.
        provider: String,
        /// Whether the backend enforces a JSON schema.
        constrain: bool,
    },
}

impl std::fmt::Debug for ProviderChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are redacted by `ApiKey` itself; the custom model shows its id only.
        match self {
            Self::Anthropic(key) => f.debug_tuple("Anthropic").field(key).finish(),
            Self::OpenAi(key) => f.debug_tuple("OpenAi").field(key).finish(),
            Self::Local(path) => f.debug_tuple("Local").field(path).finish(),
            Self::Custom {
                model, provider, ..
            } => f
                .debug_struct("Custom")
                .field("model", &model.model_id())
                .field("provider", provider)
                .finish(),
        }
    }
}

/// What `provider = "auto"` means given whether a key is present: the provider name to build,
/// or `None` to skip the generator.
pub fn resolve_provider(config: &LlmGeneratorConfig, have_key: bool) -> Option<&str> {
    match config.provider.as_str() {
        "auto" if have_key => Some("anthropic"),
        "auto" => match config.fallback.as_str() {
            "none" => None,
            other => Some(other),
        },
        other => Some(other),
    }
}

/// Builds the model for `choice`: HTTP clients share `budget` and the configured rate limits
/// and retries; every backend gets the response cache in `cache_dir`. HTTP clients need a tokio
/// runtime (the rate limiters read its clock); loading a local model blocks while the GGUF loads.
pub fn build(
    choice: ProviderChoice,
    config: &LlmGeneratorConfig,
    llm_config: &LlmConfig,
    budget: Arc<Budget>,
    cache_dir: &Path,
) -> Result<LlmSetup, SynthError> {
    let cache = ResponseCache::open(cache_dir)?;
    let policy = |provider: &str| HttpPolicy {
        retry: llm_config.retry,
        limits: Some(Arc::new(RateLimits::new(llm_config.rate_limit(provider)))),
        budget: Some(Arc::clone(&budget)),
    };
    let connect = llm_config.timeouts.connect();
    let (model, provider, constrain, budget): (Arc<dyn ChatModel>, &str, bool, _) = match choice {
        ProviderChoice::Anthropic(key) => {
            let mut c = AnthropicConfig::new(
                config.anthropic.base_url.clone(),
                config.anthropic.model.clone(),
                key,
            );
            c.connect_timeout = connect;
            let model = Anthropic::new(c, policy("anthropic"))?;
            (
                Arc::new(Cached::new(model, cache)),
                "anthropic",
                false,
                Some(budget),
            )
        }
        ProviderChoice::OpenAi(key) => {
            let mut c =
                OpenAiConfig::new(config.openai.base_url.clone(), config.openai.model.clone());
            c.api_key = key;
            c.connect_timeout = connect;
            let model = OpenAiCompatible::new(c, policy("openai_compatible"))?;
            (
                Arc::new(Cached::new(model, cache)),
                "openai-compatible",
                true,
                Some(budget),
            )
        }
        ProviderChoice::Local(path) => {
            let mut c = LocalConfig::from_defaults(path, &llm_config.local);
            c.context_per_sequence = config.local.context_per_sequence;
            c.max_parallel = config.local.max_parallel;
            c.threads = config.local.threads;
            let model = LocalModel::load(c)?;
            (Arc::new(Cached::new(model, cache)), "local", true, None)
        }
        ProviderChoice::Custom {
            model,
            provider,
            constrain,
        } => {
            // A caller-built model charges its own budget, if any.
            return Ok(LlmSetup {
                model,
                provider,
                constrain,
                budget: None,
            });
        }
    };
    Ok(LlmSetup {
        model,
        provider: provider.to_owned(),
        constrain,
        budget,
    })
}
