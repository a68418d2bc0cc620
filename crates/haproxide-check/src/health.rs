//! The sans-IO health counter (configuration.txt §5.2 `rise`, `fall`).
//!
//! HAProxy keeps a single counter per check, `health`, in `0..=rise+fall-1`:
//!
//! - values `rise..=rise+fall-1` mean the check considers the server UP;
//!   `rise+fall-1` is "fully up";
//! - values `0..rise` mean DOWN; `0` is "fully down".
//!
//! A failed check decrements the counter, and as soon as it falls under `rise`
//! it snaps to `0` (DOWN). A passed check increments it, and as soon as it
//! reaches `rise` it snaps to `rise+fall-1` (fully UP). So from fully up it
//! takes `fall` consecutive failures to go DOWN and from fully down `rise`
//! consecutive successes to go UP, and the default start value `rise` makes a
//! freshly started server UP, but DOWN at its first failure.

use crate::spec::InitState;

/// What a finished check says about the server (HAProxy's `CHK_RES_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The check could not conclude (no state change).
    Neutral,
    /// The check failed.
    Failed,
    /// The check passed.
    Passed,
    /// The check passed but asks for the stopping (NOLB) mode, e.g. a 404
    /// with `http-check disable-on-404`.
    CondPassed,
}

/// The health counter of one check (health check or agent check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    rise: u32,
    fall: u32,
    value: u32,
}

/// The effect of one verdict on a [`Health`] counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthChange {
    /// Counter before.
    pub before: u32,
    /// Counter after.
    pub after: u32,
    /// Whether HAProxy would count this as a reportable change (the counter
    /// moved). With `option log-health-checks`, a "Health check for server"
    /// line is logged when this is true or the check status changed.
    pub moved: bool,
}

impl Health {
    /// A counter in its initial state for `init` (`init-state`, HAProxy 3.x;
    /// 2.6 behaves as [`InitState::None`]). `rise` and `fall` are clamped to at
    /// least 1 (HAProxy rejects 0 at parse time).
    pub fn new(rise: u32, fall: u32, init: InitState) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        let value = match init {
            InitState::None | InitState::Up => rise,
            InitState::FullyUp => rise + fall - 1,
            InitState::Down => rise - 1,
            InitState::FullyDown => 0,
        };
        Self { rise, fall, value }
    }

    /// `rise`.
    pub fn rise(&self) -> u32 {
        self.rise
    }

    /// `fall`.
    pub fn fall(&self) -> u32 {
        self.fall
    }

    /// The raw counter, `0..=rise+fall-1` (`check_health` in `show stat`).
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The maximum counter value, `rise+fall-1`.
    pub fn max(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// UP as far as this check is concerned (`health >= rise`).
    pub fn is_up(&self) -> bool {
        self.value >= self.rise
    }

    /// Fully UP (`health == rise+fall-1`): the check runs at `inter`.
    pub fn is_fully_up(&self) -> bool {
        self.value == self.max()
    }

    /// Fully DOWN (`health == 0`).
    pub fn is_fully_down(&self) -> bool {
        self.value == 0
    }

    /// Forces the counter to 0, as entering maintenance does.
    pub fn force_down(&mut self) {
        self.value = 0;
    }

    /// Sets the counter to fully up, as an agent `up` reply does.
    pub fn force_up(&mut self) {
        self.value = self.max();
    }

    /// Sets the counter to `rise`, as leaving maintenance does ("start OK but
    /// check immediately").
    pub fn reset_to_rise(&mut self) {
        self.value = self.rise;
    }

    /// Applies a check verdict (configuration.txt §5.2 `rise`/`fall`).
    pub fn apply(&mut self, verdict: Verdict) -> HealthChange {
        let before = self.value;
        match verdict {
            Verdict::Neutral => {}
            Verdict::Failed => {
                if self.value > 0 {
                    self.value -= 1;
                    if self.value < self.rise {
                        self.value = 0;
                    }
                }
            }
            Verdict::Passed | Verdict::CondPassed => {
                if self.value < self.max() {
                    self.value += 1;
                    if self.value >= self.rise {
                        self.value = self.max();
                    }
                }
            }
        }
        HealthChange {
            before,
            after: self.value,
            moved: before != self.value,
        }
    }

    /// The `x/y` fraction HAProxy prints in "status: x/y UP" or in
    /// `X-Haproxy-Server-State`: while UP, `health-rise+1` out of `fall`;
    /// while DOWN, `health` out of `rise`.
    pub fn fraction(&self) -> (u32, u32) {
        if self.is_up() {
            (self.value - self.rise + 1, self.fall)
        } else {
            (self.value, self.rise)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Verdict::*;

    fn run(rise: u32, fall: u32, init: InitState, seq: &[Verdict]) -> Vec<(u32, bool)> {
        let mut h = Health::new(rise, fall, init);
        seq.iter()
            .map(|v| {
                h.apply(*v);
                (h.value(), h.is_up())
            })
            .collect()
    }

    #[test]
    fn initial_values_per_init_state() {
        let cases = [
            (InitState::None, 2, true),
            (InitState::Up, 2, true),
            (InitState::FullyUp, 4, true),
            (InitState::Down, 1, false),
            (InitState::FullyDown, 0, false),
        ];
        for (init, value, up) in cases {
            let h = Health::new(2, 3, init);
            assert_eq!((h.value(), h.is_up()), (value, up), "{init:?}");
        }
    }

    /// Transition table for the defaults rise 2 / fall 3, from the initial
    /// state (counter = rise): one failure takes it down.
    #[test]
    fn table_default_start() {
        type Row<'a> = (&'a [Verdict], &'a [(u32, bool)]);
        let table: &[Row] = &[
            (&[Failed], &[(0, false)]),
            (&[Passed], &[(4, true)]),
            (
                &[Passed, Failed, Failed, Failed],
                &[(4, true), (3, true), (2, true), (0, false)],
            ),
            (
                &[Failed, Passed, Passed],
                &[(0, false), (1, false), (4, true)],
            ),
            (
                &[Failed, Passed, Failed],
                &[(0, false), (1, false), (0, false)],
            ),
            (&[Neutral, Neutral], &[(2, true), (2, true)]),
            (
                &[Passed, Failed, Passed],
                &[(4, true), (3, true), (4, true)],
            ),
            (&[CondPassed], &[(4, true)]),
            (&[Failed, Failed], &[(0, false), (0, false)]),
        ];
        for (seq, want) in table {
            assert_eq!(&run(2, 3, InitState::None, seq), want, "{seq:?}");
        }
    }

    #[test]
    fn table_rise1_fall1() {
        assert_eq!(
            run(1, 1, InitState::None, &[Failed, Passed, Failed, Passed]),
            vec![(0, false), (1, true), (0, false), (1, true)]
        );
    }

    #[test]
    fn table_init_states() {
        assert_eq!(run(2, 3, InitState::Down, &[Passed]), vec![(4, true)]);
        assert_eq!(
            run(2, 3, InitState::FullyDown, &[Passed, Passed]),
            vec![(1, false), (4, true)]
        );
        assert_eq!(
            run(2, 3, InitState::FullyUp, &[Failed, Failed, Failed]),
            vec![(3, true), (2, true), (0, false)]
        );
    }

    #[test]
    fn fraction_matches_haproxy_status_text() {
        // "status: 0/2 DOWN", "status: 3/3 UP", "UP 1/3" (send-state at start)
        let mut h = Health::new(2, 3, InitState::None);
        assert_eq!(h.fraction(), (1, 3));
        h.apply(Failed);
        assert_eq!(h.fraction(), (0, 2));
        h.apply(Passed);
        assert_eq!(h.fraction(), (1, 2));
        h.apply(Passed);
        assert_eq!(h.fraction(), (3, 3));
        h.apply(Failed);
        assert_eq!(h.fraction(), (2, 3));
    }

    fn verdict() -> impl Strategy<Value = Verdict> {
        prop_oneof![Just(Neutral), Just(Failed), Just(Passed), Just(CondPassed)]
    }

    fn init() -> impl Strategy<Value = InitState> {
        prop_oneof![
            Just(InitState::None),
            Just(InitState::Up),
            Just(InitState::FullyUp),
            Just(InitState::Down),
            Just(InitState::FullyDown)
        ]
    }

    proptest! {
        #[test]
        fn counter_stays_in_range(rise in 1u32..10, fall in 1u32..10, i in init(), seq in prop::collection::vec(verdict(), 0..60)) {
            let mut h = Health::new(rise, fall, i);
            for v in seq {
                h.apply(v);
                prop_assert!(h.value() < rise + fall);
                // Values strictly between 0 and rise are only reachable on the way up.
                let (num, den) = h.fraction();
                prop_assert!(num <= den);
            }
        }

        #[test]
        fn fall_failures_always_bring_down(rise in 1u32..10, fall in 1u32..10, i in init(), seq in prop::collection::vec(verdict(), 0..30)) {
            let mut h = Health::new(rise, fall, i);
            for v in seq { h.apply(v); }
            for _ in 0..fall { h.apply(Failed); }
            prop_assert!(h.is_fully_down());
        }

        #[test]
        fn rise_successes_always_bring_up(rise in 1u32..10, fall in 1u32..10, i in init(), seq in prop::collection::vec(verdict(), 0..30)) {
            let mut h = Health::new(rise, fall, i);
            for v in seq { h.apply(v); }
            for _ in 0..rise { h.apply(Passed); }
            prop_assert!(h.is_fully_up());
        }

        #[test]
        fn up_to_down_needs_fall_failures_from_fully_up(rise in 1u32..10, fall in 1u32..10) {
            let mut h = Health::new(rise, fall, InitState::FullyUp);
            for k in 1..=fall {
                h.apply(Failed);
                prop_assert_eq!(h.is_up(), k < fall);
            }
        }

        #[test]
        fn down_to_up_needs_rise_successes_from_fully_down(rise in 1u32..10, fall in 1u32..10) {
            let mut h = Health::new(rise, fall, InitState::FullyDown);
            for k in 1..=rise {
                h.apply(Passed);
                prop_assert_eq!(h.is_up(), k == rise);
            }
        }

        #[test]
        fn state_only_flips_at_the_ends(rise in 1u32..10, fall in 1u32..10, i in init(), seq in prop::collection::vec(verdict(), 0..60)) {
            // Going UP lands on fully-up; going DOWN lands on fully-down.
            let mut h = Health::new(rise, fall, i);
            for v in seq {
                let was = h.is_up();
                let ch = h.apply(v);
                if was && !h.is_up() { prop_assert_eq!(ch.after, 0); }
                if !was && h.is_up() { prop_assert_eq!(ch.after, rise + fall - 1); }
                prop_assert_eq!(ch.moved, ch.before != ch.after);
                if v == Neutral { prop_assert!(!ch.moved); }
            }
        }
    }
}
