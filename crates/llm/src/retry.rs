//! Retries of HTTP attempts: exponential backoff with jitter (`backon`), never shorter than what
//! the server asked for (`retry-after`, `anthropic-ratelimit-*-reset`).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde::{Deserialize, Serialize};

use crate::Error;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff delay, in milliseconds.
    pub min_delay_ms: u64,
    /// The longest backoff delay, in milliseconds (a server's own `retry-after` may exceed it).
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 4,
            min_delay_ms: 500,
            max_delay_ms: 30_000,
        }
    }
}

/// A failed attempt: the error, and how long the server asked us to wait before the next one.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: Error,
    pub(crate) wait: Option<Duration>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self { error, wait: None }
    }
}

/// Runs `attempt` until it succeeds, fails with an error that is not retryable, or runs out of
/// retries. The final error records how many attempts were made.
pub(crate) async fn with_retries<T, F, Fut>(
    config: &RetryConfig,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failed>>,
{
    let attempts = AtomicU32::new(0);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(config.min_delay_ms))
        .with_max_delay(Duration::from_millis(config.max_delay_ms))
        .with_max_times(config.max_retries as usize)
        .with_jitter();
    let result = (|| {
        attempts.fetch_add(1, Ordering::Relaxed);
        attempt()
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(|failed: &Failed| failed.error.is_retryable())
    .adjust(|failed: &Failed, delay| match (delay, failed.wait) {
        (Some(delay), Some(wait)) => Some(delay.max(wait)),
        (delay, _) => delay,
    })
    .await;
    result.map_err(|failed| with_attempts(failed.error, attempts.load(Ordering::Relaxed)))
}

fn with_attempts(mut error: Error, n: u32) -> Error {
    match &mut error {
        Error::RateLimited { attempts, .. }
        | Error::Overloaded { attempts, .. }
        | Error::Server { attempts, .. }
        | Error::Connect { attempts, .. } => *attempts = n,
        _ => {}
    }
    error
}

/// The wait a response asks for: `retry-after` (seconds, or an HTTP date), else the latest of the
/// `anthropic-ratelimit-*-reset` timestamps (RFC 3339), measured from now.
pub(crate) fn requested_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(value) = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<f64>()
            && seconds.is_finite()
            && seconds >= 0.0
        {
            return Some(Duration::from_secs_f64(seconds));
        }
        if let Ok(at) = jiff::fmt::rfc2822::parse(value) {
            return Some(until(at.timestamp()));
        }
    }
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name.starts_with("anthropic-ratelimit-") && name.ends_with("-reset")
        })
        .filter_map(|(_, value)| value.to_str().ok()?.trim().parse::<jiff::Timestamp>().ok())
        .map(until)
        .max()
}

fn until(at: jiff::Timestamp) -> Duration {
    let now = jiff::Timestamp::now();
    if at <= now {
        return Duration::ZERO;
    }
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use tokio::time::Instant;

    fn rate_limited() -> Failed {
        Failed {
            error: Error::RateLimited {
                provider: "test",
                retry_after: Some(Duration::from_secs(30)),
                attempts: 1,
            },
            wait: Some(Duration::from_secs(30)),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_waits_at_least_what_the_server_asked() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let result = with_retries(&RetryConfig::default(), || async {
            if calls.fetch_add(1, Ordering::Relaxed) == 0 {
                Err(rate_limited())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        assert!(
            start.elapsed() >= Duration::from_secs(30),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn errors_that_are_not_retryable_fail_at_once_and_retries_run_out() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Error> = with_retries(&RetryConfig::default(), || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(Failed::from(Error::BadRequest {
                provider: "test",
                status: 400,
                message: "no".into(),
            }))
        })
        .await;
        assert!(matches!(result, Err(Error::BadRequest { status: 400, .. })));
        assert_eq!(calls.load(Ordering::Relaxed), 1);

        let config = RetryConfig {
            max_retries: 2,
            ..RetryConfig::default()
        };
        let result: Result<(), Error> =
            with_retries(&config, || async { Err(rate_limited()) }).await;
        assert!(
            matches!(result, Err(Error::RateLimited { attempts: 3, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn requested_wait_reads_retry_after_and_reset_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(requested_wait(&headers), Some(Duration::from_secs(7)));

        let mut headers = HeaderMap::new();
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(20);
        headers.insert(
            "anthropic-ratelimit-tokens-reset",
            HeaderValue::from_str(&later.to_string()).unwrap(),
        );
        headers.insert(
            "anthropic-ratelimit-requests-reset",
            HeaderValue::from_static("2000-01-01T00:00:00Z"),
        );
        let wait = requested_wait(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(18) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(requested_wait(&HeaderMap::new()), None);
    }
}
