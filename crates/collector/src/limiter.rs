//! Request spacing: a `governor` rate limiter driven by tokio's clock.
//!
//! governor normally reads the system clock and waits with its own timer, which paused-time tests
//! cannot control. Here it reads [`tokio::time::Instant`] through a small [`Clock`] and waits with
//! [`tokio::time::sleep`], so the same limiter runs in production and under
//! `tokio::time::pause()`, where a 3-second arXiv spacing is checked without waiting 3 seconds.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// governor's clock, read from tokio's (pausable) time.
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.origin.elapsed())
    }
}

/// Spaces requests evenly: at most one per `interval`, with no bursts.
pub struct Limiter {
    inner: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>,
    clock: TokioClock,
    interval: Duration,
}

impl Limiter {
    /// One request per `interval` (a zero interval is treated as one nanosecond).
    pub fn every(interval: Duration) -> Self {
        let interval = interval.max(Duration::from_nanos(1));
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        Self {
            inner: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            interval,
        }
    }

    /// At most `per_second` requests a second, evenly spaced.
    pub fn per_second(per_second: u32) -> Self {
        Self::every(Duration::from_secs(1) / per_second.max(1))
    }

    /// The spacing enforced.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until the next request may go out, and claims that slot.
    pub async fn until_ready(&self) {
        loop {
            match self.inner.check() {
                Ok(()) => return,
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spacing_holds_under_paused_time() {
        let limiter = Limiter::every(Duration::from_secs(3));
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..4 {
            limiter.until_ready().await;
            at.push(start.elapsed());
        }
        assert_eq!(at[0], Duration::ZERO, "the first request is not delayed");
        for pair in at.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_secs(3), "gap {gap:?} is under 3 s");
            assert!(
                gap < Duration::from_millis(3100),
                "gap {gap:?} waits far too long"
            );
        }
    }
}
