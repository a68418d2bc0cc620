//! Check timing, sans-IO (configuration.txt §5.2 `inter`, `fastinter`,
//! `downinter`; §3.2 `spread-checks`, `max-spread-checks`).

use std::time::Duration;

use crate::health::Health;
use crate::spec::Intervals;
use crate::state::OpState;

/// Interval until the next check, given the counter and operational state:
/// `inter` while fully up; `downinter` (else `inter`) while DOWN with the
/// counter at 0; `fastinter` (else `inter`) in between, which includes the
/// start (counter at `rise`).
pub fn interval(iv: &Intervals, health: &Health, op: OpState) -> Duration {
    if health.is_fully_up() {
        return iv.inter;
    }
    if op == OpState::Stopped && health.is_fully_down() {
        return iv.downinter.unwrap_or(iv.inter);
    }
    iv.fastinter.unwrap_or(iv.inter)
}

/// Applies `spread-checks <pct>`: a random offset of up to ±pct% of
/// `interval`; `unit` is a random number in `[0, 1]`.
pub fn spread(interval: Duration, pct: u8, unit: f64) -> Duration {
    if pct == 0 {
        return interval;
    }
    let ms = interval.as_millis() as f64;
    let rv = ms * f64::from(pct.min(50)) / 100.0;
    let off = rv - 2.0 * rv * unit.clamp(0.0, 1.0);
    Duration::from_millis((ms + off).max(0.0) as u64)
}

/// HAProxy ignores intervals under 1 s when choosing the interval over which
/// first checks are spread (`SRV_CHK_INTER_THRES`).
pub const SPREAD_THRESHOLD: Duration = Duration::from_millis(1000);

/// Delays of the first checks: the `n` checks (health and agent, in
/// configuration order, given by their first interval) start evenly spread
/// over the smallest interval of at least 1 s (or each check's own interval
/// if larger), capped by `max-spread-checks`.
pub fn first_check_delays(
    first_intervals: &[Duration],
    max_spread: Option<Duration>,
) -> Vec<Duration> {
    let n = first_intervals.len() as u32;
    let min = first_intervals
        .iter()
        .copied()
        .filter(|d| *d >= SPREAD_THRESHOLD)
        .min()
        .unwrap_or_default();
    first_intervals
        .iter()
        .enumerate()
        .map(|(pos, own)| {
            let mut base = min.max(*own);
            if let Some(cap) = max_spread {
                if !cap.is_zero() {
                    base = base.min(cap);
                }
            }
            base * pos as u32 / n.max(1)
        })
        .collect()
}

/// A small xorshift generator for the spread jitter (no cryptographic use).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded generator (seed 0 is replaced).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Next number in `[0, 1]`.
    pub fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Verdict;
    use crate::spec::InitState;

    fn iv() -> Intervals {
        Intervals {
            inter: Duration::from_secs(2),
            fastinter: Some(Duration::from_millis(500)),
            downinter: Some(Duration::from_secs(5)),
        }
    }

    #[test]
    fn interval_table() {
        let mut h = Health::new(2, 3, InitState::None);
        // start: counter at rise, not fully up -> fastinter
        assert_eq!(
            interval(&iv(), &h, OpState::Running),
            Duration::from_millis(500)
        );
        h.apply(Verdict::Passed);
        assert_eq!(
            interval(&iv(), &h, OpState::Running),
            Duration::from_secs(2)
        );
        h.apply(Verdict::Failed);
        assert_eq!(
            interval(&iv(), &h, OpState::Running),
            Duration::from_millis(500)
        );
        h.apply(Verdict::Failed);
        h.apply(Verdict::Failed);
        assert!(h.is_fully_down());
        assert_eq!(
            interval(&iv(), &h, OpState::Stopped),
            Duration::from_secs(5)
        );
        h.apply(Verdict::Passed);
        assert_eq!(
            interval(&iv(), &h, OpState::Stopped),
            Duration::from_millis(500)
        );
        let plain = Intervals::default();
        assert_eq!(
            interval(&plain, &h, OpState::Stopped),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn spread_bounds() {
        let d = Duration::from_secs(1);
        assert_eq!(spread(d, 0, 0.3), d);
        assert_eq!(spread(d, 10, 0.0), Duration::from_millis(1100));
        assert_eq!(spread(d, 10, 1.0), Duration::from_millis(900));
        assert_eq!(spread(d, 90, 1.0), Duration::from_millis(500));
        let mut j = Jitter::new(42);
        for _ in 0..1000 {
            let u = j.unit();
            assert!((0.0..=1.0).contains(&u));
        }
    }

    #[test]
    fn first_checks_are_spread() {
        let s = Duration::from_secs(1);
        let d = first_check_delays(&[s, s, s, s], None);
        assert_eq!(
            d,
            vec![
                Duration::ZERO,
                Duration::from_millis(250),
                Duration::from_millis(500),
                Duration::from_millis(750)
            ]
        );
        // a check with a longer own interval spreads over its own interval
        let d = first_check_delays(&[s, Duration::from_secs(4)], None);
        assert_eq!(d, vec![Duration::ZERO, Duration::from_secs(2)]);
        // short intervals do not set the spread base
        let d = first_check_delays(&[Duration::from_millis(100), s], None);
        assert_eq!(d[1], Duration::from_millis(500));
        let d = first_check_delays(&[s, s], Some(Duration::from_millis(100)));
        assert_eq!(d[1], Duration::from_millis(50));
    }
}
