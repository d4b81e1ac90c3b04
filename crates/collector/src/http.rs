//! The shared HTTP plumbing: building the client (rustls, gzip, timeouts, user agent) and turning
//! transport failures into [`CollectorError`]s that say whether a retry can help.

use std::time::Duration;

use backon::ExponentialBuilder;

use crate::CollectorError;
use crate::config::HttpConfig;

/// Builds the client both sources use. `single_connection` keeps at most one idle connection per
/// host; with requests sent one at a time that means one connection, as arXiv asks.
pub(crate) fn build_client(
    http: &HttpConfig,
    single_connection: bool,
) -> Result<reqwest::Client, CollectorError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(http.user_agent.clone())
        .gzip(true)
        // An idle-connection timer would be the only timer alive during a request; under paused
        // test time it would advance the clock while the socket waits.
        .pool_idle_timeout(None);
    if let Some(timeout) = http.timeout() {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = http.connect_timeout() {
        builder = builder.connect_timeout(timeout);
    }
    if single_connection {
        builder = builder.pool_max_idle_per_host(1);
    }
    builder.build().map_err(|e| CollectorError::Client {
        reason: e.without_url().to_string(),
    })
}

/// The retry schedule: exponential from `retry_min_delay_ms`, capped, `max_retries` times.
pub(crate) fn retry_policy(http: &HttpConfig) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(http.retry_min_delay_ms.max(1)))
        .with_max_delay(Duration::from_secs(http.retry_max_delay_secs.max(1)))
        .with_max_times(http.max_retries as usize)
}

/// Classifies a failed send. `url` must not contain an API key.
pub(crate) fn send_error(url: &str, error: reqwest::Error) -> CollectorError {
    let error = error.without_url();
    if error.is_connect() {
        CollectorError::Offline {
            url: url.to_owned(),
            reason: root_cause(&error),
        }
    } else if error.is_timeout() {
        CollectorError::Timeout {
            url: url.to_owned(),
            attempts: 1,
        }
    } else {
        CollectorError::Transport {
            url: url.to_owned(),
            reason: root_cause(&error),
        }
    }
}

/// The innermost cause, which says what actually happened ("Connection refused").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// `Retry-After` in seconds, when present.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The first bytes of a body, for error messages.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        excerpt.push('…');
    }
    excerpt.replace('\n', " ")
}
