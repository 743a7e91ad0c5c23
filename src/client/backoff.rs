//! The wait between a 412 and the refetch: exponential, capped, with full jitter.

use std::time::Duration;

/// `base` and `max` of [`ConditionalUpdate::backoff`](super::ConditionalUpdate::backoff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// After the n-th 412, at most `min(max, base × 2ⁿ⁻¹)`.
    pub(super) const fn new(base: Duration, max: Duration) -> Self {
        Backoff { base, max }
    }

    /// The wait after the `conflicts`-th 412 (1-based): uniform between zero and its cap
    /// ("full jitter", so that writers that collided once do not collide again in step).
    pub(super) fn delay(self, conflicts: u32) -> Duration {
        let cap = self.cap(conflicts);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }

    /// `min(max, base × 2ⁿ⁻¹)`, saturating.
    fn cap(self, conflicts: u32) -> Duration {
        let factor = 2_u32.saturating_pow(conflicts.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(base_ms: u64, max_ms: u64) -> Backoff {
        Backoff::new(
            Duration::from_millis(base_ms),
            Duration::from_millis(max_ms),
        )
    }

    #[test]
    fn cap_doubles_from_base_up_to_max() {
        let backoff = backoff(10, 75);
        let caps: Vec<u128> = (1..=6).map(|n| backoff.cap(n).as_millis()).collect();
        assert_eq!(caps, [10, 20, 40, 75, 75, 75]);
    }

    #[test]
    fn cap_saturates_instead_of_overflowing() {
        let huge = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
        assert_eq!(huge.cap(3), Duration::MAX);
        assert!(huge.delay(u32::MAX) <= Duration::MAX);
        let small = backoff(10, u64::MAX);
        assert_eq!(small.cap(u32::MAX), Duration::from_millis(10) * u32::MAX);
    }

    #[test]
    fn delays_stay_within_the_cap_and_vary() {
        let backoff = backoff(10, 75);
        let delays: Vec<Duration> = (0..50).map(|_| backoff.delay(3)).collect();
        assert!(
            delays
                .iter()
                .all(|delay| *delay <= Duration::from_millis(40))
        );
        assert!(delays.iter().any(|delay| *delay != delays[0]), "jittered");
    }

    #[test]
    fn zero_backoff_never_waits() {
        let backoff = backoff(0, 0);
        assert!((1..10).all(|n| backoff.delay(n).is_zero()));
    }
}
