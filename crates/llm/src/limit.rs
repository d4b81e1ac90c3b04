//! Client-side rate limits: requests per minute and tokens per minute, each a `governor` GCRA
//! limiter.
//!
//! The limiters read tokio's clock and wait with `tokio::time::sleep`, not governor's own
//! timer, so that they follow paused time in tests and share the runtime's notion of now.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

/// Limits for one provider; 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Requests per minute.
    #[serde(default)]
    pub requests_per_minute: u32,
    /// Tokens (estimated prompt plus max_tokens) per minute.
    #[serde(default)]
    pub tokens_per_minute: u32,
}

/// Tokio's clock as governor sees it: time since the limiter was made.
#[derive(Debug, Clone)]
struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// The limiters of one provider. Share it (in an `Arc`) between every client of that provider.
#[derive(Debug)]
pub struct RateLimits {
    clock: TokioClock,
    requests: Option<Limiter>,
    tokens: Option<(Limiter, NonZeroU32)>,
}

impl RateLimits {
    /// Limiters for `config`. The burst of each is one minute's allowance divided by 60 for
    /// requests (so calls are spaced evenly) and the full minute for tokens (so a single large
    /// request can pass).
    ///
    /// Must be called inside a tokio runtime (it reads tokio's clock).
    pub fn new(config: RateLimitConfig) -> Self {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        let requests = NonZeroU32::new(config.requests_per_minute).map(|rpm| {
            // An even spacing of 60 s / rpm with a burst of one.
            let period = Duration::from_secs(60) / rpm.get();
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_minute(rpm))
                .allow_burst(NonZeroU32::MIN);
            RateLimiter::direct_with_clock(quota, clock.clone())
        });
        let tokens = NonZeroU32::new(config.tokens_per_minute).map(|tpm| {
            (
                RateLimiter::direct_with_clock(Quota::per_minute(tpm), clock.clone()),
                tpm,
            )
        });
        Self {
            clock,
            requests,
            tokens,
        }
    }

    /// Waits until one request of `tokens` tokens may be sent. A request larger than a minute's
    /// allowance waits for a full minute's allowance.
    pub async fn acquire(&self, tokens: u32) {
        if let Some(limiter) = &self.requests {
            while let Err(not_until) = limiter.check() {
                tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
            }
        }
        if let Some((limiter, capacity)) = &self.tokens {
            let n = NonZeroU32::new(tokens.min(capacity.get())).unwrap_or(NonZeroU32::MIN);
            // `n` never exceeds the burst, so `check_n` only ever says "not yet".
            while let Ok(Err(not_until)) = limiter.check_n(n) {
                tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
            }
        }
    }
}

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_evenly() {
        let limits = RateLimits::new(RateLimitConfig {
            requests_per_minute: 60,
            tokens_per_minute: 0,
        });
        let start = Instant::now();
        for _ in 0..5 {
            limits.acquire(1).await;
        }
        // The first passes at once, the next four one second apart.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(4), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_per_minute_hold_back_large_requests() {
        let limits = RateLimits::new(RateLimitConfig {
            requests_per_minute: 0,
            tokens_per_minute: 1200,
        });
        let start = Instant::now();
        limits.acquire(1200).await;
        assert!(start.elapsed() < Duration::from_millis(1));
        // A minute's allowance is spent; 600 more tokens refill in 30 s.
        limits.acquire(600).await;
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(30), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(31), "{elapsed:?}");
        // Larger than the whole allowance: clamped, so it passes after a full refill.
        limits.acquire(10_000).await;
        assert!(start.elapsed() >= Duration::from_secs(90));
    }
}
