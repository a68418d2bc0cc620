//! HAProxy's frequency counters over a period (`struct freq_ctr`,
//! `update_freq_ctr_period`, `freq_ctr_total`, `read_freq_ctr_period` in
//! HAProxy 2.6): the current period's count plus the previous one's, weighted
//! by what remains of the current period. Ticks are milliseconds, wrapping.

/// One frequency counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FreqCtr {
    /// Start of the current period (ms, wrapping).
    pub curr_tick: u32,
    pub curr_ctr: u32,
    pub prev_ctr: u32,
}

impl FreqCtr {
    /// Adds `inc` events at `now` (rotating the periods as needed); returns the
    /// current period's count.
    pub fn update(&mut self, period: u32, inc: u32, now: u32) -> u32 {
        let period = period.max(1);
        if now.wrapping_sub(self.curr_tick) < period {
            self.curr_ctr = self.curr_ctr.wrapping_add(inc);
            return self.curr_ctr;
        }
        self.prev_ctr = self.curr_ctr;
        self.curr_ctr = inc;
        let mut tick = self.curr_tick.wrapping_add(period);
        if now.wrapping_sub(tick) >= period {
            // At least two periods were missed.
            self.prev_ctr = 0;
            tick = now;
        }
        self.curr_tick = tick;
        inc
    }

    /// `freq_ctr_total(ctr, period, -1)`: the events over the current and last
    /// period, times `period`, with the low-rate flapping correction.
    fn total(&self, period: u32, now: u32) -> u64 {
        let mut curr = u64::from(self.curr_ctr);
        let mut past = u64::from(self.prev_ctr);
        let mut remain = self.curr_tick.wrapping_add(period).wrapping_sub(now) as i32 as i64;
        if remain < 0 {
            remain += i64::from(period);
            past = if remain >= 0 { curr } else { 0 };
            curr = 0;
        }
        if curr == 0 && past <= 1 {
            return past * u64::from(period);
        }
        (past as i64 * remain) as u64 + curr * u64::from(period)
    }

    /// `read_freq_ctr_period`: events per period now.
    pub fn read(&self, period: u32, now: u32) -> u32 {
        let period = period.max(1);
        (self.total(period, now) / u64::from(period)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_period_and_decays_over_the_next() {
        let mut f = FreqCtr::default();
        let t0 = 1_000_000;
        for i in 0..10 {
            f.update(10_000, 1, t0 + i * 10);
        }
        assert_eq!(f.read(10_000, t0 + 100), 10);
        // Half-way through the next period: 10 * 0.5 (+ 0 new).
        assert_eq!(f.read(10_000, f.curr_tick + 15_000), 5);
        // Two periods later: nothing.
        assert_eq!(f.read(10_000, f.curr_tick + 20_001), 0);
        // One event in the last period reads 1 (flapping correction).
        let mut g = FreqCtr::default();
        g.update(1000, 1, t0);
        assert_eq!(g.read(1000, t0 + 1500), 1);
        // A fresh counter reads 0.
        assert_eq!(FreqCtr::default().read(1000, t0), 0);
    }

    #[test]
    fn missed_periods_reset_the_past() {
        let mut f = FreqCtr::default();
        f.update(1000, 5, 50_000);
        f.update(1000, 1, 50_000 + 5000);
        assert_eq!((f.prev_ctr, f.curr_ctr, f.curr_tick), (0, 1, 55_000));
        f.update(1000, 1, 56_200);
        assert_eq!((f.prev_ctr, f.curr_ctr, f.curr_tick), (1, 1, 56_000));
    }
}
