//! What the two HTTP backends share: the client, rate limits, retries, the budget check, error
//! classification, and the SSE body stream.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::Error;
use crate::cost::{Budget, Reservation};
use crate::limit::RateLimits;
use crate::retry::{Failed, RetryConfig, requested_wait, with_retries};
use crate::secret::{ApiKey, redact};
use crate::sse::{SseEvent, SseParser};

/// What an HTTP backend shares with others of the same job: retry policy, rate limiters and
/// budget. Share the `Arc`s between clients that talk to the same provider or spend the same
/// money.
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    /// Retries.
    pub retry: RetryConfig,
    /// Client-side rate limits, if any.
    pub limits: Option<Arc<RateLimits>>,
    /// The ledger and hard cap, if any.
    pub budget: Option<Arc<Budget>>,
}

/// The longest error body kept in an error message.
const MAX_ERROR_BODY: usize = 600;

/// A configured HTTP client for one provider.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) provider: &'static str,
    pub(crate) client: reqwest::Client,
    pub(crate) key: Option<ApiKey>,
    pub(crate) policy: HttpPolicy,
}

impl Transport {
    pub(crate) fn new(
        provider: &'static str,
        key: Option<ApiKey>,
        policy: HttpPolicy,
        connect_timeout: Duration,
    ) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|e| Error::Config {
                detail: format!("cannot build the HTTP client: {}", e.without_url()),
            })?;
        Ok(Self {
            provider,
            client,
            key,
            policy,
        })
    }

    /// Reserves the call's maximum cost, or refuses it before anything is sent.
    pub(crate) fn reserve(
        &self,
        model: &str,
        prompt_estimate: u32,
        max_tokens: u32,
    ) -> Result<Option<Reservation>, Error> {
        self.policy
            .budget
            .as_ref()
            .map(|budget| budget.reserve(model, prompt_estimate, max_tokens))
            .transpose()
    }

    /// Sends the request built by `build`, waiting for the rate limiters before each attempt and
    /// retrying what is retryable. Returns the first successful response.
    pub(crate) async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        tokens: u32,
    ) -> Result<reqwest::Response, Error> {
        with_retries(&self.policy.retry, || async {
            if let Some(limits) = &self.policy.limits {
                limits.acquire(tokens).await;
            }
            let response = build().send().await.map_err(|e| self.transport_error(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let wait = requested_wait(response.headers());
            let body = response.text().await.unwrap_or_default();
            Err(Failed {
                error: self.status_error(status.as_u16(), wait, &body),
                wait,
            })
        })
        .await
    }

    /// A failed send or body read, without the URL and without the key.
    pub(crate) fn transport_error(&self, error: &reqwest::Error) -> Failed {
        let message = redact(&error_chain(error), self.key.as_ref());
        Failed::from(Error::Connect {
            provider: self.provider,
            message,
            attempts: 1,
        })
    }

    /// The error for a non-success status.
    pub(crate) fn status_error(&self, status: u16, wait: Option<Duration>, body: &str) -> Error {
        let message = redact(&error_message(body), self.key.as_ref());
        let provider = self.provider;
        match status {
            429 => Error::RateLimited {
                provider,
                retry_after: wait,
                attempts: 1,
            },
            529 => Error::Overloaded {
                provider,
                attempts: 1,
            },
            401 | 403 => Error::Unauthorized {
                provider,
                status,
                message,
            },
            408 | 500..=599 => Error::Server {
                provider,
                status,
                message,
                attempts: 1,
            },
            _ => Error::BadRequest {
                provider,
                status,
                message,
            },
        }
    }

    /// A malformed-response error, redacted.
    pub(crate) fn malformed(&self, detail: impl AsRef<str>) -> Error {
        Error::MalformedResponse {
            provider: self.provider,
            detail: redact(detail.as_ref(), self.key.as_ref()),
        }
    }

    /// The server-sent events of a streamed response body.
    pub(crate) fn sse_events(
        &self,
        response: reqwest::Response,
    ) -> impl Stream<Item = Result<SseEvent, Error>> + Send + 'static {
        let provider = self.provider;
        let key = self.key.clone();
        let body = response.bytes_stream();
        struct State<S> {
            body: S,
            parser: SseParser,
            pending: std::collections::VecDeque<SseEvent>,
            ended: bool,
        }
        let state = State {
            body: Box::pin(body),
            parser: SseParser::default(),
            pending: Default::default(),
            ended: false,
        };
        futures::stream::unfold(state, move |mut state| {
            let key = key.clone();
            async move {
                loop {
                    if let Some(event) = state.pending.pop_front() {
                        return Some((Ok(event), state));
                    }
                    if state.ended {
                        return None;
                    }
                    match state.body.next().await {
                        Some(Ok(chunk)) => state.pending.extend(state.parser.push(&chunk)),
                        Some(Err(e)) => {
                            state.ended = true;
                            let error = Error::Connect {
                                provider,
                                message: redact(&error_chain(&e), key.as_ref()),
                                attempts: 1,
                            };
                            return Some((Err(error), state));
                        }
                        None => {
                            state.ended = true;
                            state.pending.extend(state.parser.finish());
                        }
                    }
                }
            }
        })
    }
}

/// The error's message and its sources, without the URL.
fn error_chain(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The message inside an error body of either API's shape (`{"error": {"message": ..}}`), else the
/// body itself, shortened.
fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        match error.get("message").and_then(|m| m.as_str()) {
            Some(message) => {
                let kind = error.get("type").and_then(|t| t.as_str());
                Some(match kind {
                    Some(kind) => format!("{kind}: {message}"),
                    None => message.to_owned(),
                })
            }
            None => error.as_str().map(str::to_owned),
        }
    });
    let mut message = message.unwrap_or_else(|| body.trim().to_owned());
    if message.len() > MAX_ERROR_BODY {
        let mut end = MAX_ERROR_BODY;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_either_api_shape() {
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#
            ),
            "invalid_request_error: bad"
        );
        assert_eq!(error_message(r#"{"error":"plain"}"#), "plain");
        assert_eq!(error_message("  oops "), "oops");
        assert_eq!(error_message(&"é".repeat(400)).chars().count(), 301);
    }
}
