//! Exponential time decay, applied lazily: a value remembers when it was last brought up to
//! date, and is decayed only when read or added to. Times are milliseconds on the caller's clock.

use serde::{Deserialize, Serialize};

/// `0.5^(elapsed / half_life)`; no decay for a non-positive elapsed time (a clock that went
/// backwards never amplifies a value).
pub fn factor(elapsed_ms: i64, half_life_ms: i64) -> f64 {
    if elapsed_ms <= 0 || half_life_ms <= 0 {
        return 1.0;
    }
    0.5f64.powf(elapsed_ms as f64 / half_life_ms as f64)
}

/// A quantity that halves every half-life: `v` as of time `t`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Decayed {
    pub v: f64,
    pub t: i64,
}

impl Decayed {
    pub fn new(v: f64, t: i64) -> Self {
        Decayed { v, t }
    }

    /// The value as seen at `now` (never more than the stored value). Saturating: times come
    /// from callers and imports, and an overflow must neither panic nor undo the decay.
    pub fn at(&self, now: i64, half_life_ms: i64) -> f64 {
        self.v * factor(now.saturating_sub(self.t), half_life_ms)
    }

    /// Adds `x` that happened at `when`. Later events move the reference time forward; an
    /// event older than the reference time is decayed to it first, so out-of-order events
    /// land exactly where in-order ones would.
    pub fn add(&mut self, x: f64, when: i64, half_life_ms: i64) {
        if when >= self.t {
            self.v = self.v * factor(when.saturating_sub(self.t), half_life_ms) + x;
            self.t = when;
        } else {
            self.v += x * factor(self.t.saturating_sub(when), half_life_ms);
        }
    }

    /// Brings the value to reference time `when` (if later) and returns it.
    pub fn advance(&mut self, when: i64, half_life_ms: i64) -> f64 {
        if when > self.t {
            self.v *= factor(when.saturating_sub(self.t), half_life_ms);
            self.t = when;
        }
        self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const DAY: i64 = 86_400_000;

    #[test]
    fn halves_every_half_life() {
        let d = Decayed::new(8.0, 0);
        assert_eq!(d.at(0, DAY), 8.0);
        assert!((d.at(DAY, DAY) - 4.0).abs() < 1e-12);
        assert!((d.at(3 * DAY, DAY) - 1.0).abs() < 1e-12);
        assert_eq!(d.at(-DAY, DAY), 8.0);
    }

    #[test]
    fn out_of_order_adds_match_in_order_ones() {
        let mut a = Decayed::default();
        a.add(1.0, 0, DAY);
        a.add(2.0, DAY, DAY);
        let mut b = Decayed::default();
        b.add(2.0, DAY, DAY);
        b.add(1.0, 0, DAY);
        assert!((a.at(2 * DAY, DAY) - b.at(2 * DAY, DAY)).abs() < 1e-12);
        assert!((a.at(DAY, DAY) - 2.5).abs() < 1e-12);
    }

    // Fuzzing found: a stored time near i64::MIN overflowed `now - t` (a panic in debug builds;
    // in release it wrapped to a negative elapsed time and stopped the decay).
    #[test]
    fn extreme_times_saturate() {
        let d = Decayed::new(8.0, i64::MIN);
        assert_eq!(d.at(i64::MAX, DAY), 0.0);
        assert_eq!(Decayed::new(8.0, i64::MAX).at(i64::MIN, DAY), 8.0);
        let mut e = Decayed::new(1.0, i64::MIN);
        e.add(1.0, i64::MAX, DAY);
        assert_eq!((e.v, e.t), (1.0, i64::MAX));
        e.add(1.0, i64::MIN, DAY);
        assert_eq!(e.v, 1.0);
        let mut f = Decayed::new(1.0, i64::MIN);
        assert_eq!(f.advance(i64::MAX, DAY), 0.0);
    }
}
