//! Client-side pace: a token bucket per (provider, account), shared by every job of the
//! process, so that the daemon's jobs together never send an account more requests per
//! second than the policy allows. A throttling answer pauses every call to that account
//! for the backoff the answer earned, on top of the bucket: the service said "slower".

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use driftguard_engine::model::Provider;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The pace of one account: a token bucket (burst = one second's worth) and a pause.
pub struct Pace {
    limiter: DefaultDirectRateLimiter,
    per_second: NonZeroU32,
    paused_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pace").field("per_second", &self.per_second).finish_non_exhaustive()
    }
}

impl Pace {
    /// At most `per_second` requests per second, in bursts of at most that many.
    pub fn per_second(per_second: NonZeroU32) -> Self {
        Self { limiter: RateLimiter::direct(Quota::per_second(per_second)), per_second, paused_until: Mutex::new(None) }
    }

    /// The configured rate.
    pub fn rate(&self) -> u32 {
        self.per_second.get()
    }

    /// Waits until a request may go: past any pause, then for a token.
    pub async fn ready(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
            match until.map(|until| until.saturating_duration_since(Instant::now())) {
                Some(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                _ => break,
            }
        }
        self.limiter.until_ready().await;
    }

    /// A throttling answer: every call to this account waits `delay` (pauses never
    /// shorten one already running).
    pub fn slow_down(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = self.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

/// Every account's pace in this process. The daemon keeps one for its lifetime (a reload
/// that changes an account's rate replaces that account's bucket); one-shot commands make
/// their own.
#[derive(Debug, Default)]
pub struct Pacer {
    paces: Mutex<HashMap<(Provider, String), Arc<Pace>>>,
}

impl Pacer {
    /// The pace of one account at this rate.
    pub fn pace(&self, provider: Provider, account: &str, per_second: u32) -> Arc<Pace> {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let mut paces = self.paces.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = paces.entry((provider, account.to_owned())).or_insert_with(|| Arc::new(Pace::per_second(rate)));
        if entry.per_second != rate {
            *entry = Arc::new(Pace::per_second(rate));
        }
        Arc::clone(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_is_only_ever_lengthened() {
        let pace = Pace::per_second(NonZeroU32::new(1000).unwrap());
        pace.slow_down(Duration::from_millis(200));
        pace.slow_down(Duration::from_millis(50)); // never shortens the pause
        let paused = *pace.paused_until.lock().unwrap();
        assert!(paused.unwrap().saturating_duration_since(Instant::now()) > Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_throttling_pause_holds_the_next_caller() {
        let pace = Pace::per_second(NonZeroU32::new(1000).unwrap());
        pace.slow_down(Duration::from_millis(150));
        let started = Instant::now();
        pace.ready().await;
        // A lower bound only (a correctness property of the pause, not a speed figure).
        assert!(started.elapsed() >= Duration::from_millis(140), "{:?}", started.elapsed());
    }

    #[test]
    fn one_bucket_per_account_replaced_when_its_rate_changes() {
        let pacer = Pacer::default();
        let a = pacer.pace(Provider::Aws, "111111111111", 5);
        let again = pacer.pace(Provider::Aws, "111111111111", 5);
        assert!(Arc::ptr_eq(&a, &again));
        let other = pacer.pace(Provider::Aws, "222222222222", 5);
        assert!(!Arc::ptr_eq(&a, &other));
        let faster = pacer.pace(Provider::Aws, "111111111111", 10);
        assert_eq!(faster.rate(), 10);
        assert!(!Arc::ptr_eq(&a, &faster));
    }

    #[test]
    fn the_bucket_allows_one_seconds_burst_then_refuses() {
        let pace = Pace::per_second(NonZeroU32::new(3).unwrap());
        let allowed = (0..10).filter(|_| pace.limiter.check().is_ok()).count();
        assert_eq!(allowed, 3);
    }
}
