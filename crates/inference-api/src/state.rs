//! The shared state of one server: the assistant (set once it has loaded), the settings, the
//! metrics, the load limiter, the response cache, and the map from chat transcripts to
//! conversations of the OpenAI-compatible route.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;
use sha2::{Digest, Sha256};

use crate::auth::Token;
use crate::config::ServerConfig;
use crate::errors::ApiError;
use crate::limits::Limiter;
use crate::metrics::Metrics;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    assistant: OnceLock<Arc<assistant::Assistant>>,
    config: ServerConfig,
    token: Option<Token>,
    metrics: Arc<Metrics>,
    limiter: Arc<Limiter>,
    cache: moka::future::Cache<String, Arc<assistant::Answer>>,
    chats: moka::sync::Cache<String, String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("ready", &self.inner.assistant.get().is_some())
            .field("auth", &self.inner.token.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for `config`, with auth on when `token` is given. Answering routes answer 503
    /// until [`AppState::set_assistant`] is called.
    pub fn new(config: ServerConfig, token: Option<Token>) -> Self {
        let metrics = Arc::new(Metrics::new());
        let limiter = Arc::new(Limiter::new(
            config.limits.max_concurrent,
            config.limits.max_queue,
            Duration::from_secs(config.limits.queue_timeout_secs),
            metrics.clone(),
        ));
        let cache = moka::future::Cache::builder()
            .max_capacity(config.cache.max_entries)
            .time_to_live(Duration::from_secs(config.cache.ttl_secs))
            .build();
        // Chat transcripts live as long as the assistant remembers conversations by default
        // (one hour); an expired entry only means the next turn starts a fresh conversation.
        let chats = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_idle(Duration::from_secs(3_600))
            .build();
        Self {
            inner: Arc::new(Inner {
                assistant: OnceLock::new(),
                config,
                token,
                metrics,
                limiter,
                cache,
                chats,
            }),
        }
    }

    /// State with its assistant already loaded (tests, and servers that load before binding).
    pub fn with_assistant(
        config: ServerConfig,
        token: Option<Token>,
        assistant: Arc<assistant::Assistant>,
    ) -> Self {
        let state = Self::new(config, token);
        state.set_assistant(assistant);
        state
    }

    /// Makes the assistant available; `/ready` turns 200. A second call is ignored.
    pub fn set_assistant(&self, assistant: Arc<assistant::Assistant>) {
        if self.inner.assistant.set(assistant).is_err() {
            tracing::warn!("the assistant was already set; keeping the first one");
        }
    }

    /// The assistant, or 503 while it loads.
    pub fn assistant(&self) -> Result<&Arc<assistant::Assistant>, ApiError> {
        self.inner.assistant.get().ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "loading",
                "the assistant is still loading its model and store; retry when GET /ready answers 200",
            )
            .with_retry_after(Duration::from_secs(2))
        })
    }

    /// Whether the assistant is loaded.
    pub fn is_ready(&self) -> bool {
        self.inner.assistant.get().is_some()
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The auth token, when auth is on.
    pub fn token(&self) -> Option<&Token> {
        self.inner.token.as_ref()
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The load limiter.
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.inner.limiter
    }

    /// The cache key of a query, or `None` when it must not be cached: a question that continues
    /// a conversation depends on the history, and one without generation costs less to
    /// recompute than to look up.
    pub fn cache_key(&self, model_id: &str, query: &assistant::Query) -> Option<String> {
        if !self.inner.config.cache.enabled
            || !query.generate
            || query
                .conversation_id
                .as_deref()
                .is_some_and(|c| !c.trim().is_empty())
        {
            return None;
        }
        let mut hasher = Sha256::new();
        for part in [
            normalize_question(&query.question).as_str(),
            query.mode.as_str(),
            query
                .top_k
                .map(|k| k.to_string())
                .unwrap_or_default()
                .as_str(),
            model_id,
            env!("CARGO_PKG_VERSION"),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        Some(hex(&hasher.finalize()))
    }

    /// A cached answer.
    pub async fn cached(&self, key: &str) -> Option<Arc<assistant::Answer>> {
        let hit = self.inner.cache.get(key).await;
        self.inner.metrics.cache(hit.is_some());
        hit
    }

    /// Stores an answer for reuse. Generation is greedy with a fixed seed by default, so a fresh
    /// answer to the same key would be the same text; even one cut at the token limit is kept.
    /// One cut by its deadline is not: it says how busy the model was, not what it would write.
    pub async fn remember(&self, key: String, answer: &assistant::Answer) {
        if answer.timed_out {
            return;
        }
        self.inner.cache.insert(key, Arc::new(answer.clone())).await;
    }

    /// Answers a query, from the cache when possible. On a hit the deterministic part runs again
    /// without generation, so that the answer gets its own `query_id` (for feedback) and its own
    /// conversation (for follow-ups); only the generated explanation, the slow part, is reused.
    pub async fn answer(
        &self,
        assistant: &Arc<assistant::Assistant>,
        query: assistant::Query,
    ) -> Result<(assistant::Answer, bool), ApiError> {
        let key = self.cache_key(assistant.model_id(), &query);
        if let Some(key) = &key
            && let Some(hit) = self.cached(key).await
        {
            let fresh = assistant
                .answer(assistant::Query {
                    generate: false,
                    ..query
                })
                .await?;
            return Ok((reuse(&hit, &fresh), true));
        }
        let answer = assistant.answer(query).await?;
        self.record_answer(&answer);
        if let Some(key) = key {
            self.remember(key, &answer).await;
        }
        Ok((answer, false))
    }

    /// Counts an answer in the metrics.
    pub fn record_answer(&self, answer: &assistant::Answer) {
        let m = &self.inner.metrics;
        let t = &answer.timings_ms;
        for (stage, ms) in [
            ("understanding", t.understanding),
            ("retrieval", t.retrieval),
            ("calculation", t.calculation),
            ("generation", t.generation),
            ("total", t.total),
        ] {
            m.observe(
                "lift_stage_duration_seconds",
                vec![("stage", stage.into())],
                Duration::from_secs_f64(ms.max(0.0) / 1e3),
            );
        }
        if let Some(first) = t.first_token {
            m.observe(
                "lift_time_to_first_token_seconds",
                Vec::new(),
                Duration::from_secs_f64(first.max(0.0) / 1e3),
            );
        }
        m.count(
            "lift_tokens_total",
            vec![("kind", "prompt".into())],
            u64::from(answer.usage.prompt_tokens),
        );
        m.count(
            "lift_tokens_total",
            vec![("kind", "completion".into())],
            u64::from(answer.usage.completion_tokens),
        );
        m.count(
            "lift_unsupported_numbers_total",
            Vec::new(),
            answer.unsupported_numbers.len() as u64,
        );
        if answer.timed_out {
            m.count("lift_generation_deadline_total", Vec::new(), 1);
        }
        let intent = serde_json::to_value(&answer.head.intent)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        m.count("lift_answers_total", vec![("intent", intent)], 1);
    }

    /// The conversation a chat transcript continues, if this server answered its last turn.
    pub fn chat_conversation(&self, transcript_key: &str) -> Option<String> {
        self.inner.chats.get(transcript_key)
    }

    /// Remembers which conversation a transcript (ending with our answer) belongs to.
    pub fn remember_chat(&self, transcript_key: String, conversation_id: String) {
        self.inner.chats.insert(transcript_key, conversation_id);
    }
}

/// The cached answer with the ids of a fresh structured run.
pub fn reuse(hit: &assistant::Answer, fresh: &assistant::Answer) -> assistant::Answer {
    let mut answer = hit.clone();
    answer.head.query_id = fresh.head.query_id.clone();
    answer.head.conversation_id = fresh.head.conversation_id.clone();
    answer
}

/// Lower case, whitespace collapsed, trailing `?`, `!` and `.` dropped: "What is power?" and
/// " what is  POWER " are one question.
pub fn normalize_question(question: &str) -> String {
    let collapsed = question
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    collapsed.trim_end_matches(['?', '!', '.', ' ']).to_owned()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_that_differ_in_case_space_and_final_punctuation_normalize_equal() {
        assert_eq!(
            normalize_question("  What is   POWER?? "),
            normalize_question("what is power")
        );
        assert_ne!(
            normalize_question("what is power"),
            normalize_question("what is a power")
        );
        // Inner punctuation matters: 5.5% is not 55%.
        assert_ne!(
            normalize_question("mde 5.5%"),
            normalize_question("mde 55%")
        );
    }

    #[test]
    fn cache_keys_separate_mode_top_k_and_model_and_skip_conversations() {
        let state = AppState::new(ServerConfig::default(), None);
        let q = assistant::Query::new("What is power?");
        let base = state.cache_key("m", &q).expect("cacheable");
        assert_eq!(
            state.cache_key("m", &assistant::Query::new("what is power")),
            Some(base.clone())
        );
        assert_ne!(state.cache_key("other", &q), Some(base.clone()));
        let mut bm25 = q.clone();
        bm25.mode = assistant::RetrievalMode::Bm25;
        assert_ne!(state.cache_key("m", &bm25), Some(base.clone()));
        let mut k = q.clone();
        k.top_k = Some(3);
        assert_ne!(state.cache_key("m", &k), Some(base));
        let mut conv = q.clone();
        conv.conversation_id = Some("abc".into());
        assert_eq!(state.cache_key("m", &conv), None);
        let mut structured = q;
        structured.generate = false;
        assert_eq!(state.cache_key("m", &structured), None);
    }
}
