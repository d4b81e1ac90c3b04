//! The typed error every collector operation returns.

use std::path::PathBuf;
use std::time::Duration;

use artifacts::ArtifactError;

/// Everything that can go wrong while collecting.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The host could not be reached at all (connection refused, DNS failure): the machine is
    /// offline or the base URL is wrong. Never retried, so an offline run fails at once.
    #[error(
        "network unreachable: cannot connect to {url} ({reason}); existing artifacts were left untouched, run again when online or use `collector local`"
    )]
    Offline {
        /// The URL (without any API key) that failed.
        url: String,
        /// What the connector reported.
        reason: String,
    },
    /// A request timed out on every attempt.
    #[error(
        "request to {url} timed out after {attempts} attempts; raise `http.timeout_secs` or try later"
    )]
    Timeout {
        /// The URL (without any API key).
        url: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection broke while sending or reading (retried, then reported).
    #[error("transport error talking to {url}: {reason}")]
    Transport {
        /// The URL (without any API key).
        url: String,
        /// What the client reported.
        reason: String,
    },
    /// The API rejected the request with a structured error (StackExchange's HTTP 400 body).
    /// Never retried: the same request would fail the same way.
    #[error(
        "{api} rejected {url} with HTTP {status}: {error_name} (error_id {error_id}): {message}"
    )]
    Api {
        /// `stackexchange` or `arxiv`.
        api: &'static str,
        /// The URL (without any API key).
        url: String,
        /// HTTP status.
        status: u16,
        /// The API's numeric error id.
        error_id: i64,
        /// The API's error name, for example `bad_parameter`.
        error_name: String,
        /// The API's message.
        message: String,
    },
    /// StackExchange answered 502 `throttle_violation`: this IP is temporarily banned. Not
    /// retried, because retrying during a ban extends it.
    #[error("StackExchange throttle violation at {url}: {message}; wait before running again")]
    ThrottleViolation {
        /// The URL (without any API key).
        url: String,
        /// The API's message (it usually says how long the ban lasts).
        message: String,
    },
    /// A 5xx answer (503 is StackExchange's throttling) that persisted through every retry.
    #[error(
        "{url} answered HTTP {status} on every attempt; the service is overloaded or down, try later"
    )]
    Server {
        /// The URL (without any API key).
        url: String,
        /// HTTP status.
        status: u16,
        /// The `Retry-After` header, when sent.
        retry_after: Option<Duration>,
    },
    /// Any other unexpected HTTP status.
    #[error("{url} answered unexpected HTTP {status}: {body}")]
    Status {
        /// The URL (without any API key).
        url: String,
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A response body was not the JSON shape expected (truncated or malformed).
    #[error("malformed JSON from {url}: {source}")]
    Json {
        /// The URL (without any API key).
        url: String,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
    /// A response body was not a well-formed Atom feed of the expected shape.
    #[error("malformed Atom feed from {url}: {message}")]
    Atom {
        /// The URL.
        url: String,
        /// What is wrong, with the position when known.
        message: String,
    },
    /// arXiv answered with its error feed (one entry titled `Error`).
    #[error("arXiv returned an error feed for {url}: {message}")]
    ArxivFeedError {
        /// The URL.
        url: String,
        /// The error entry's summary.
        message: String,
    },
    /// StackExchange's `quota_remaining` reached the configured reserve. The runner turns this
    /// into a clean stop; it only surfaces from the client itself.
    #[error("StackExchange quota reserve reached: {remaining} requests left, reserve is {reserve}")]
    QuotaReserve {
        /// `quota_remaining` of the last response.
        remaining: i64,
        /// The configured reserve.
        reserve: i64,
    },
    /// Building the HTTP client failed (TLS backend initialisation).
    #[error("cannot build the HTTP client: {reason}")]
    Client {
        /// What reqwest reported.
        reason: String,
    },
    /// The configuration is invalid.
    #[error("invalid collector config {path}: {message}")]
    Config {
        /// The config file (or `<built-in>`).
        path: PathBuf,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The checkpoint file exists but cannot be used.
    #[error("checkpoint {path} is unusable: {message}; delete it or pass --fresh to start over")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing an artifact failed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

impl CollectorError {
    /// Whether a retry can help: timeouts, broken connections and 5xx answers (other than a
    /// throttle ban). Client errors, malformed bodies and an unreachable host are final.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::Transport { .. } | Self::Server { .. }
        )
    }

    /// Whether this error means the network or host is unreachable.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Offline { .. })
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
