//! The rules one reply is judged by (written down in tests/assistant_cases.json and
//! docs/assistant.md). Plain text rules, no model: every verdict can be checked by reading
//! the reply.

/// Consecutive words of the context block that make an echo.
pub const ECHO_WORDS: usize = 8;
/// Consecutive words of an item or memory text that make a leak.
pub const LEAK_WORDS: usize = 4;
/// A word sequence this long, seen this many times, is a loop.
pub const LOOP_WORDS: usize = 5;
pub const LOOP_TIMES: usize = 3;

/// Lower-cased words: runs of letters and digits (so `user's` is `user`, `s`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether `term` occurs in `text` case-insensitively, starting at the start of a word
/// (`vegetable` matches `vegetables`, `ham` does not match `graham`).
pub fn has_term(text: &str, term: &str) -> bool {
    let text = text.to_lowercase();
    let term = term.to_lowercase();
    if term.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(at) = text[from..].find(&term) {
        let at = from + at;
        if !text[..at].chars().next_back().is_some_and(char::is_alphanumeric) {
            return true;
        }
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Whether `hay` holds `n` consecutive words of `needle` (both as [`words`]).
pub fn shares_span(hay: &[String], needle: &[String], n: usize) -> bool {
    if n == 0 || needle.len() < n || hay.len() < n {
        return false;
    }
    let spans: std::collections::HashSet<&[String]> = needle.windows(n).collect();
    hay.windows(n).any(|w| spans.contains(w))
}

/// Echo: [`ECHO_WORDS`] consecutive words of the block, its delimiter, or one of its fixed
/// sentences (`frame`: headings, preamble) verbatim.
pub fn echoes(reply: &str, block: &str, frame: &[&str]) -> bool {
    if block.is_empty() {
        return false;
    }
    let lower = reply.to_lowercase();
    lower.contains("attune-context")
        || frame.iter().any(|f| !f.is_empty() && lower.contains(&f.to_lowercase()))
        || shares_span(&words(reply), &words(block), ECHO_WORDS)
}

/// Loop: some [`LOOP_WORDS`]-word sequence appears [`LOOP_TIMES`] times or more.
pub fn loops(reply: &str) -> bool {
    let w = words(reply);
    let mut seen: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
    for span in w.windows(LOOP_WORDS) {
        let n = seen.entry(span).or_default();
        *n += 1;
        if *n >= LOOP_TIMES {
            return true;
        }
    }
    false
}

/// Profile use: no `avoid` term, and a `mention` term unless there are none to mention.
pub fn uses_profile(reply: &str, mention: &[String], avoid: &[String]) -> bool {
    !avoid.iter().any(|t| has_term(reply, t)) && (mention.is_empty() || mention.iter().any(|t| has_term(reply, t)))
}

/// Leak: a `distinct` term of the profile, or [`LEAK_WORDS`] consecutive words of one of its
/// texts, in the reply but not in the question.
pub fn leaks(reply: &str, question: &str, distinct: &[String], texts: &[String]) -> bool {
    let term = distinct.iter().any(|t| has_term(reply, t) && !has_term(question, t));
    let (r, q) = (words(reply), words(question));
    term || texts.iter().any(|t| {
        let t = words(t);
        shares_span(&r, &t, LEAK_WORDS) && !shares_span(&q, &t, LEAK_WORDS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn terms_match_at_word_starts_only() {
        assert!(has_term("Roasted Vegetables tonight", "vegetable"));
        assert!(has_term("(steak)", "steak"));
        assert!(!has_term("Graham crackers", "ham"));
        assert!(has_term("A meat-free chili", "meat-free"));
        assert!(!has_term("anything", ""));
        assert!(has_term("Lyon, Pérouges", "pérouges"));
    }

    #[test]
    fn profile_use_needs_a_mention_and_no_avoided_term() {
        let (m, a) = (s(&["vegetarian", "lentil"]), s(&["steak", "chicken"]));
        assert!(uses_profile("A lentil soup, since you are vegetarian.", &m, &a));
        assert!(!uses_profile("Grilled chicken with lentils.", &m, &a));
        assert!(!uses_profile("Pasta with tomato sauce.", &m, &a));
        assert!(uses_profile("Pasta with tomato sauce.", &[], &a));
    }

    #[test]
    fn echo_is_a_long_span_the_delimiter_or_a_heading() {
        let block = "[[attune-context]]\nFacts the user stated:\n- \"I am vegetarian and live in Lyon near the river\"\n[[/attune-context]]";
        let frame = ["Facts the user stated:"];
        assert!(echoes("Sure! I am vegetarian and live in Lyon near the river.", block, &frame));
        assert!(!echoes("You are vegetarian and live in Lyon, so try the market.", block, &frame));
        assert!(echoes("facts the user stated: none", block, &frame));
        assert!(echoes("[[/attune-context]]", block, &[]));
        assert!(!echoes("anything at all", "", &frame));
    }

    #[test]
    fn a_loop_is_a_five_word_sequence_three_times() {
        assert!(loops("The user's interests: - \"gear\" - \"gear\" - \"gear\" - \"gear\" - \"gear\" - \"gear\" - \"gear\""));
        assert!(loops(&"I like to ride my bike. ".repeat(3)));
        assert!(!loops(&"I like to ride my bike. ".repeat(2)));
        assert!(!loops("One two three four five six seven eight nine ten."));
    }

    #[test]
    fn a_leak_is_profile_text_the_question_did_not_bring() {
        let (d, t) = (s(&["Lyon", "vegetarian"]), s(&["Roasted vegetable lasagna with ricotta"]));
        assert!(leaks("Water boils at 100 °C, even in Lyon.", "At what temperature does water boil?", &d, &t));
        assert!(!leaks("Lyon is in France.", "Where is Lyon?", &d, &t));
        assert!(leaks("Try a roasted vegetable lasagna with ricotta!", "What is 2+2?", &d, &t));
        assert!(!leaks("It is 100 degrees Celsius.", "What is the boiling point?", &d, &t));
    }
}
