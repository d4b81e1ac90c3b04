//! Load limits: a concurrency limit with a bounded queue (429 when the queue is full, 503 after
//! waiting too long), a request timeout (504), and the body size limit (413, applied by
//! `DefaultBodyLimit` and reported by the JSON extractor).
//!
//! A slot is held until the response body ends, not until the handler returns: a streamed answer
//! keeps generating after its headers are sent, so releasing the slot earlier would let unbounded
//! generations pile up behind the limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::ApiError;
use crate::metrics::Metrics;

/// The concurrency limit and its queue.
#[derive(Debug)]
pub struct Limiter {
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    waiting: AtomicUsize,
    max_queue: usize,
    queue_timeout: Duration,
    metrics: Arc<Metrics>,
}

/// A running request's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.in_flight_add(-1);
    }
}

/// Decrements the waiting count however the wait ends (granted, timed out, or the client left).
struct Waiting<'a>(&'a AtomicUsize, &'a Metrics);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        self.1.queued_add(-1);
    }
}

impl Limiter {
    /// A limiter with these bounds.
    pub fn new(
        max_concurrent: usize,
        max_queue: usize,
        queue_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            waiting: AtomicUsize::new(0),
            max_queue,
            queue_timeout,
            metrics,
        }
    }

    /// Requests running now.
    pub fn running(&self) -> usize {
        self.max_concurrent - self.slots.available_permits()
    }

    /// Requests waiting now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// A slot now, or after waiting in the queue; 429 when the queue is full, 503 when the wait
    /// exceeds the queue timeout.
    pub async fn acquire(&self) -> Result<Slot, ApiError> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let before = self.waiting.fetch_add(1, Ordering::AcqRel);
                self.metrics.queued_add(1);
                let _waiting = Waiting(&self.waiting, &self.metrics);
                if before >= self.max_queue {
                    self.metrics.rejected("queue_full");
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "overloaded",
                        format!(
                            "the server is at its limit ({} running, {} waiting); retry after the retry-after header's seconds",
                            self.max_concurrent, self.max_queue
                        ),
                    )
                    .with_retry_after(Duration::from_secs(1)));
                }
                match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
                    .await
                {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_closed)) => {
                        return Err(ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "shutting_down",
                            "the server is shutting down; retry against another instance",
                        ));
                    }
                    Err(_elapsed) => {
                        self.metrics.rejected("queue_timeout");
                        return Err(ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "queue_timeout",
                            format!(
                                "waited {} s in the queue without a free slot; retry later",
                                self.queue_timeout.as_secs()
                            ),
                        )
                        .with_retry_after(Duration::from_secs(5)));
                    }
                }
            }
        };
        self.metrics.in_flight_add(1);
        Ok(Slot {
            _permit: permit,
            metrics: self.metrics.clone(),
        })
    }
}

/// Middleware: runs the request inside a slot that lives as long as the response body.
pub async fn limit_concurrency(
    State(limiter): State<Arc<Limiter>>,
    request: Request,
    next: Next,
) -> Response {
    let slot = match limiter.acquire().await {
        Ok(slot) => slot,
        Err(error) => return error.into_response(),
    };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    // The slot moves into the body stream's closure and is dropped when the body is done or the
    // client disconnects.
    let stream = body.into_data_stream().map(move |chunk| {
        let _held = &slot;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// When the request's response must have started (`server.request_timeout_secs` after it
/// arrived), for handlers that fit slow work into the time left.
#[derive(Debug, Clone, Copy)]
pub struct ResponseDeadline(pub tokio::time::Instant);

impl ResponseDeadline {
    /// The time left, less `margin` for the work that follows.
    pub fn remaining(self, margin: Duration) -> Duration {
        self.0
            .saturating_duration_since(tokio::time::Instant::now())
            .saturating_sub(margin)
    }
}

/// Middleware: 504 when no response has started within the timeout. The handler's future is
/// dropped, which cancels the assistant's work for it. The handler sees the deadline as a
/// [`ResponseDeadline`] extension, so that it can cut generation short instead.
pub async fn timeout(State(limit): State<Duration>, mut request: Request, next: Next) -> Response {
    request
        .extensions_mut()
        .insert(ResponseDeadline(tokio::time::Instant::now() + limit));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "no answer within {} s (server.request_timeout_secs); retry, or ask with \"generate\": false",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_keeps_the_margin_and_never_goes_negative() {
        let now = tokio::time::Instant::now();
        let left =
            ResponseDeadline(now + Duration::from_secs(60)).remaining(Duration::from_secs(2));
        assert!(left <= Duration::from_secs(58) && left > Duration::from_secs(57));
        let passed = ResponseDeadline(now).remaining(Duration::from_secs(2));
        assert_eq!(passed, Duration::ZERO);
    }
}
