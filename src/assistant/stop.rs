//! Stop strings over streamed text: text that might be the start of a stop string is held
//! back until it is known not to be, so the caller never sees any part of a stop string.

use crate::error::{AttuneError, Result};

#[derive(Clone, Debug, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    held: String,
}

impl StopMatcher {
    /// Empty stop strings are refused (they would match at once).
    pub fn new(stops: &[String]) -> Result<Self> {
        if stops.iter().any(String::is_empty) {
            return Err(AttuneError::InvalidArgument("a stop string is empty".into()));
        }
        Ok(StopMatcher { stops: stops.to_vec(), held: String::new() })
    }

    /// Adds `piece`; returns the text now safe to show and whether a stop string was found
    /// (then the text is everything before it, and the rest is dropped).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        self.held.push_str(piece);
        if self.stops.is_empty() {
            return (std::mem::take(&mut self.held), false);
        }
        if let Some(at) = self.stops.iter().filter_map(|s| self.held.find(s.as_str())).min() {
            let out = self.held[..at].to_string();
            self.held.clear();
            return (out, true);
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        let keep_from = self
            .held
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| self.stops.iter().any(|s| s.starts_with(&self.held[i..])))
            .unwrap_or(self.held.len());
        let rest = self.held.split_off(keep_from);
        (std::mem::replace(&mut self.held, rest), false)
    }

    /// Whatever is held back, at the end of the reply.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (Vec<String>, bool, String) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops).unwrap();
        let mut out = Vec::new();
        for p in pieces {
            let (o, stop) = m.push(p);
            out.push(o);
            if stop {
                return (out, true, String::new());
            }
        }
        let f = m.flush();
        (out, false, f)
    }

    #[test]
    fn holds_back_partial_matches_and_cuts_at_the_stop() {
        let (out, stop, _) = run(&["\n\nUser:"], &["Hello", "\n", "\nUs", "er: more"]);
        assert!(stop);
        assert_eq!(out, ["Hello", "", "", ""]);
        let (out, stop, rest) = run(&["END"], &["a E", "N", "x", "EN"]);
        assert!(!stop);
        assert_eq!(out.concat() + &rest, "a ENxEN");
        assert_eq!(out, ["a ", "", "ENx", ""]);
        assert_eq!(rest, "EN");
        let (out, stop, _) = run(&["é!", "b"], &["aé", "!c"]);
        assert!(stop);
        assert_eq!(out.concat(), "a");
        assert!(StopMatcher::new(&[String::new()]).is_err());
        let (out, _, _) = run(&[], &["x", "y"]);
        assert_eq!(out, ["x", "y"]);
    }
}
