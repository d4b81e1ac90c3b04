//! The server's settings (`configs/server.toml`). The library parses a given text or path and
//! checks every value; only the binary decides which file to read and applies `--host`/`--port`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A settings file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the server config {path}: {source}; pass --config with a readable file")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not valid TOML of the expected shape.
    #[error("invalid server config: {detail}; compare with configs/server.toml")]
    Parse {
        /// The parser's message (line, column, key).
        detail: String,
    },
    /// A value is out of its allowed range.
    #[error("invalid server config: `{key}` {problem}")]
    Invalid {
        /// The dotted key.
        key: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// The host is not an IP address.
    #[error("invalid host `{host}`: give an IP address such as 127.0.0.1 or 0.0.0.0")]
    Host {
        /// What was given.
        host: String,
    },
}

/// All settings, each section with defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address, timeouts, body size.
    pub server: ServerSection,
    /// Concurrency and queueing.
    pub limits: LimitsConfig,
    /// The response cache.
    pub cache: CacheConfig,
    /// Bearer-token authentication.
    pub auth: AuthConfig,
    /// Cross-origin requests.
    pub cors: CorsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Where the assistant's own settings are.
    pub assistant: AssistantPaths,
}

/// Address, timeouts and body size.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// IP address to bind.
    pub host: String,
    /// TCP port to bind; 0 picks a free one.
    pub port: u16,
    /// Longest time until a response starts (the whole response for JSON answers).
    pub request_timeout_secs: u64,
    /// Longest time a streamed (SSE) answer may run in total.
    pub stream_timeout_secs: u64,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub shutdown_grace_secs: u64,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            request_timeout_secs: 60,
            stream_timeout_secs: 300,
            shutdown_grace_secs: 30,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Concurrency and queueing of the answering routes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Answering requests running at once; more wait in the queue.
    pub max_concurrent: usize,
    /// Requests allowed to wait; one more gets 429.
    pub max_queue: usize,
    /// Longest wait in the queue before 503.
    pub queue_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 8,
            max_queue: 256,
            queue_timeout_secs: 60,
        }
    }
}

/// The response cache.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Whether answers are cached at all.
    pub enabled: bool,
    /// How long an answer stays, in seconds.
    pub ttl_secs: u64,
    /// Most answers kept.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_secs: 600,
            max_entries: 10_000,
        }
    }
}

/// Bearer-token authentication.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The environment variable that holds the token (the token itself never sits in a file
    /// under version control).
    pub token_env: String,
    /// Require the token even on a loopback address. On any other address it is always required.
    pub required: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_env: "LIFT_API_TOKEN".into(),
            required: false,
        }
    }
}

/// Cross-origin resource sharing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser (`https://app.example.com`); `"*"` allows
    /// any; empty sends no CORS headers, so browsers refuse cross-origin calls.
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds.
    pub max_age_secs: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            max_age_secs: 600,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: String,
    /// The filter when `RUST_LOG` is unset (`info`, `inference_api=debug,info`).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// What the assistant is built from; relative paths are from the working directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantPaths {
    /// The pipeline settings and model choice (`[model]`); the defaults when the file is absent.
    pub config: PathBuf,
    /// The GraphRAG settings (store location, retrieval).
    pub graphrag_config: PathBuf,
    /// The `llm` settings (generation, local engine).
    pub llm_config: PathBuf,
    /// The knowledge base.
    pub knowledge: PathBuf,
    /// Raw collector artifacts, indexed with the knowledge base when the folder exists.
    pub raw: PathBuf,
    /// Bring the index up to date at start (incremental: no work when nothing changed).
    pub index_on_start: bool,
    /// Serve the newest fine-tuned LoRA adapter found under `runs_dir` (`runs/<id>/adapter.gguf`).
    pub use_newest_adapter: bool,
    /// Where training runs are.
    pub runs_dir: PathBuf,
    /// llama.cpp threads; 0 lets the `llm` crate choose for this machine.
    pub threads: u32,
}

impl Default for AssistantPaths {
    fn default() -> Self {
        Self {
            config: "configs/assistant.toml".into(),
            graphrag_config: "configs/graphrag.toml".into(),
            llm_config: "configs/llm.toml".into(),
            knowledge: "data/knowledge".into(),
            raw: "artifacts/raw".into(),
            index_on_start: true,
            use_newest_adapter: false,
            runs_dir: "runs".into(),
            threads: 0,
        }
    }
}

impl ServerConfig {
    /// Parses and checks a config text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            detail: e.to_string().trim().replace('\n', " "),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and checks a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &'static str, value: u64| {
            if value == 0 {
                Err(ConfigError::Invalid {
                    key,
                    problem: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        self.bind_addr()?;
        positive(
            "server.request_timeout_secs",
            self.server.request_timeout_secs,
        )?;
        positive(
            "server.stream_timeout_secs",
            self.server.stream_timeout_secs,
        )?;
        positive("server.max_body_bytes", self.server.max_body_bytes as u64)?;
        positive("limits.max_concurrent", self.limits.max_concurrent as u64)?;
        positive("limits.queue_timeout_secs", self.limits.queue_timeout_secs)?;
        positive("cache.ttl_secs", self.cache.ttl_secs)?;
        positive("cache.max_entries", self.cache.max_entries)?;
        if self.server.max_body_bytes > 16 * 1024 * 1024 {
            return Err(ConfigError::Invalid {
                key: "server.max_body_bytes",
                problem: format!(
                    "is {} bytes; at most 16 MiB, questions are short",
                    self.server.max_body_bytes
                ),
            });
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid {
                key: "log.format",
                problem: format!("is `{}`; use `text` or `json`", self.log.format),
            });
        }
        if self.auth.token_env.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "auth.token_env",
                problem: "is empty; name the environment variable that holds the token".into(),
            });
        }
        for origin in &self.cors.allowed_origins {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/')
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            if !ok {
                return Err(ConfigError::Invalid {
                    key: "cors.allowed_origins",
                    problem: format!(
                        "has `{origin}`; give `*` or origins like `https://app.example.com` (scheme and host, no path or trailing slash)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The socket address to bind.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        let ip: IpAddr = self.server.host.parse().map_err(|_| ConfigError::Host {
            host: self.server.host.clone(),
        })?;
        Ok(SocketAddr::new(ip, self.server.port))
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.server.request_timeout_secs)
    }

    /// The whole-stream timeout.
    pub fn stream_timeout(&self) -> Duration {
        Duration::from_secs(self.server.stream_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_parses_and_equals_the_defaults() {
        let text = include_str!("../../../configs/server.toml");
        let parsed = ServerConfig::parse(text).expect("configs/server.toml parses");
        assert_eq!(parsed, ServerConfig::default());
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let cases = [
            ("[server]\nhost = \"localhost\"", "invalid host `localhost`"),
            ("[limits]\nmax_concurrent = 0", "limits.max_concurrent"),
            ("[log]\nformat = \"xml\"", "log.format"),
            (
                "[cors]\nallowed_origins = [\"example.com\"]",
                "cors.allowed_origins",
            ),
            (
                "[server]\nmax_body_bytes = 999999999",
                "server.max_body_bytes",
            ),
            ("[server]\nprot = 1", "unknown field `prot`"),
        ];
        for (text, expected) in cases {
            let error = ServerConfig::parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
