//! What an event may carry. Every entry point (the JS `track`, `attune rank`, any caller of
//! `Profile::apply`) goes through these checks, so a value that would quietly wreck a profile is
//! refused the same way everywhere: a time far in the future would decay every other interest
//! to nothing and prune it (decay runs to the latest time seen), a time in seconds or zero is
//! decayed away on arrival, a negative weight turns a like into a dislike, and a huge one
//! outweighs the rest of the profile for months.

use super::config::limits;
use super::event::Event;
use crate::error::{AttuneError, Result};
use serde::{Deserialize, Deserializer};

/// How far ahead of `now` an event's time may be (the page's and the device's clocks drift).
pub const MAX_AHEAD_MS: i64 = 5 * 60_000;
/// 2000-01-01T00:00:00Z in ms: anything earlier is a time in seconds, or zero.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// Largest weight multiplier: 100 × a purchase is a thousand views, which decays to one view's
/// worth after ten half-lives; a larger one would outweigh all later events for most of a year.
pub const MAX_WEIGHT: f32 = 100.0;

fn bad<T>(m: String) -> Result<T> {
    Err(AttuneError::InvalidArgument(m))
}

/// The checks that need no clock: item id, weight, dwell seconds, and `at` not before 2000.
pub fn check_values(e: &Event) -> Result<()> {
    let id = e.item.id.as_str();
    if id.is_empty() || id.len() > limits::ID_BYTES {
        return bad(format!("item id must be 1..={} bytes", limits::ID_BYTES));
    }
    if let Some(w) = e.weight.filter(|w| !(w.is_finite() && (0.0..=MAX_WEIGHT).contains(w))) {
        return bad(format!(
            "weight {w} must be a number in 0..={MAX_WEIGHT} (it multiplies the type's weight; to record a dislike use type \"dislike\")"
        ));
    }
    if let Some(s) = e.dwell_seconds.filter(|s| !(s.is_finite() && *s >= 0.0)) {
        return bad(format!("seconds {s} must be a finite number ≥ 0"));
    }
    if let Some(at) = e.at_ms.filter(|&at| at < EARLIEST_MS) {
        return bad(format!(
            "at {at} is before 2000-01-01 ({EARLIEST_MS}); it must be milliseconds since the epoch (Date.now()), not seconds"
        ));
    }
    Ok(())
}

/// Every rule, with `now` (ms since the epoch, the caller's clock): [`check_values`], and `at`
/// at most [`MAX_AHEAD_MS`] after `now`.
pub fn check(e: &Event, now: i64) -> Result<()> {
    check_values(e)?;
    if let Some(at) = e.at_ms.filter(|&at| at > now.saturating_add(MAX_AHEAD_MS)) {
        return bad(format!(
            "at {at} is more than 5 minutes after now ({now}); it must be milliseconds since the epoch (Date.now()), not microseconds"
        ));
    }
    Ok(())
}

/// A time from JSON as whole milliseconds: `1.5` or `1e300` is refused with a clear message
/// rather than serde's "invalid type: floating point".
pub fn whole_ms(x: f64) -> Result<i64> {
    // ±2^63 as f64 is exact; the range check makes the cast lossless.
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.2e18 {
        Ok(x as i64)
    } else {
        bad(format!("at {x} must be a whole number of milliseconds since the epoch"))
    }
}

/// `#[serde(deserialize_with = "rules::optional_ms")]` for an optional time field.
pub fn optional_ms<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    Option::<f64>::deserialize(d)?.map(whole_ms).transpose().map_err(|e| match e {
        AttuneError::InvalidArgument(m) => serde::de::Error::custom(m),
        other => serde::de::Error::custom(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{EventKind, Item};

    const NOW: i64 = 1_700_000_000_000;

    fn like() -> Event {
        Event::new(EventKind::Like, Item::new("a"))
    }

    fn refused(e: &Event) -> String {
        match check(e, NOW) {
            Err(AttuneError::InvalidArgument(m)) => m,
            other => panic!("expected invalid_argument, got {other:?}"),
        }
    }

    #[test]
    fn times_in_range_pass() {
        for at in [EARLIEST_MS, NOW - 365 * 86_400_000, NOW, NOW + MAX_AHEAD_MS] {
            assert_eq!(check(&like().at(at), NOW), Ok(()), "{at}");
        }
        assert_eq!(check(&like(), NOW), Ok(()), "no at: now");
    }

    #[test]
    fn future_times_are_refused() {
        assert!(refused(&like().at(NOW + MAX_AHEAD_MS + 1)).contains("more than 5 minutes after now"));
        // Date.now() * 1000 by mistake.
        assert!(refused(&like().at(NOW * 1000)).contains("not microseconds"));
        assert!(refused(&like().at(i64::MAX)).contains("after now"));
        assert_eq!(check(&like().at(i64::MAX), i64::MAX), Ok(()), "no overflow at the end of time");
    }

    #[test]
    fn times_before_2000_are_refused() {
        // Date.now() / 1000 by mistake, zero, negative.
        for at in [NOW / 1000, 0, -1, EARLIEST_MS - 1, i64::MIN] {
            assert!(refused(&like().at(at)).contains("before 2000-01-01"), "{at}");
        }
        assert!(check_values(&like().at(0)).is_err(), "needs no clock");
    }

    #[test]
    fn fractional_times_are_refused() {
        assert_eq!(whole_ms(1_700_000_000_000.0), Ok(1_700_000_000_000));
        for x in [1_700_000_000_000.5, f64::NAN, f64::INFINITY, 1e300] {
            assert!(whole_ms(x).is_err_and(|e| e.to_string().contains("whole number of milliseconds")), "{x}");
        }
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "optional_ms")]
            at: Option<i64>,
        }
        let at = |j: &str| serde_json::from_str::<T>(j).map(|t| t.at).map_err(|e| e.to_string());
        assert_eq!(at(r#"{"at":1700000000000}"#), Ok(Some(NOW)));
        assert_eq!(at(r#"{}"#), Ok(None));
        assert!(at(r#"{"at":1700000000000.25}"#).is_err_and(|e| e.contains("whole number of milliseconds")));
        assert!(at(r#"{"at":"yesterday"}"#).is_err());
    }

    #[test]
    fn bad_weights_are_refused() {
        for w in [0.0, 1.0, MAX_WEIGHT] {
            assert_eq!(check(&like().weighted(w), NOW), Ok(()), "{w}");
        }
        for w in [-1.0, -0.0001, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, MAX_WEIGHT * 1.01, 1e6] {
            assert!(refused(&like().weighted(w)).starts_with(&format!("weight {w}")), "{w}");
        }
        assert!(refused(&like().weighted(-1.0)).contains("dislike"));
    }

    #[test]
    fn bad_dwell_and_ids_are_refused() {
        let dwell = |s: f32| Event::new(EventKind::Dwell, Item::new("a")).dwell(s);
        assert_eq!(check(&dwell(45.0), NOW), Ok(()));
        for s in [-1.0, f32::NAN, f32::INFINITY] {
            assert!(refused(&dwell(s)).starts_with("seconds"), "{s}");
        }
        assert!(refused(&Event::new(EventKind::Like, Item::new(""))).contains("item id"));
        assert!(refused(&Event::new(EventKind::Like, Item::new("x".repeat(limits::ID_BYTES + 1)))).contains("item id"));
    }
}
