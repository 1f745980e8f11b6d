//! Choosing the next token from logits: repetition penalty and the DRY penalty on repeated
//! sequences, then greedy (temperature 0) or temperature + top-k + top-p sampling with a seeded
//! PRNG, so a seed makes a run reproducible on every platform.

use crate::error::{AttuneError, Result};

/// How to pick tokens. `Default` is plain greedy with no penalty; [`SamplerOptions::reply`] is
/// what assistant replies use unless told otherwise (greedy with the DRY penalty on).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerOptions {
    /// 0 = greedy (argmax; ties go to the lowest id). Otherwise logits are divided by it.
    pub temperature: f32,
    /// Keep the `top_k` most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches `top_p` (1 = all).
    pub top_p: f32,
    /// > 1 discourages tokens seen in the last `repeat_last_n` tokens (llama.cpp's rule:
    /// positive logits are divided by it, negative ones multiplied). 1 = off.
    pub repetition_penalty: f32,
    pub repeat_last_n: usize,
    /// DRY ("don't repeat yourself", as in llama.cpp): a token that would continue a sequence
    /// the reply already holds, after `dry_allowed_length` or more repeated tokens, loses
    /// `dry_multiplier * dry_base^(length - dry_allowed_length)` from its logit. Only the
    /// reply's own tokens count (a reply may quote its prompt). 0 = off.
    pub dry_multiplier: f32,
    pub dry_base: f32,
    pub dry_allowed_length: usize,
    /// The same penalty (`dry_multiplier`, `dry_base`) on a token that would continue a copy of
    /// the echo source ([`Sampler::with_echo_source`]: a reply's context block) of this many
    /// tokens or more: a reply may restate a fact, not recite the block. 0 = off.
    pub echo_allowed_length: usize,
    pub seed: u64,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        SamplerOptions {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            dry_multiplier: 0.0,
            dry_base: 1.75,
            dry_allowed_length: 2,
            echo_allowed_length: 0,
            seed: 0,
        }
    }
}

/// Longest repeat the DRY penalty measures: past it the penalty is already prohibitive.
const DRY_MAX_MATCH: usize = 32;

impl SamplerOptions {
    /// Reply defaults: greedy with the DRY penalty at llama.cpp's suggested strength (0.8,
    /// 1.75, 2), which stops small models looping without penalizing common words, and the
    /// same penalty on copies of the context block from 6 tokens on.
    pub fn reply() -> Self {
        SamplerOptions { dry_multiplier: 0.8, echo_allowed_length: 6, ..Default::default() }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(AttuneError::InvalidArgument(m));
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad(format!("temperature {} must be finite and >= 0", self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top_p {} must be in (0, 1]", self.top_p));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad(format!("repetition_penalty {} must be finite and > 0", self.repetition_penalty));
        }
        if !(self.dry_multiplier.is_finite() && self.dry_multiplier >= 0.0) {
            return bad(format!("dry_multiplier {} must be finite and >= 0", self.dry_multiplier));
        }
        if !(self.dry_base.is_finite() && self.dry_base >= 1.0 && self.dry_base <= 8.0) {
            return bad(format!("dry_base {} must be in 1..=8", self.dry_base));
        }
        if self.dry_allowed_length > DRY_MAX_MATCH || self.echo_allowed_length > DRY_MAX_MATCH {
            return bad(format!(
                "dry_allowed_length {} and echo_allowed_length {} must be at most {DRY_MAX_MATCH}",
                self.dry_allowed_length, self.echo_allowed_length
            ));
        }
        Ok(())
    }
}

/// SplitMix64: a tiny, well-known PRNG (Steele, Lea & Flood 2014); plenty for sampling.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

pub struct Sampler {
    opts: SamplerOptions,
    rng: SplitMix64,
    /// Scratch: (logit, id) candidates.
    cand: Vec<(f32, u32)>,
    /// Tokens a reply should not copy at length (see `echo_allowed_length`).
    echo_source: Vec<u32>,
}

impl Sampler {
    pub fn new(opts: SamplerOptions) -> Result<Self> {
        opts.validate()?;
        let rng = SplitMix64::new(opts.seed);
        Ok(Sampler { opts, rng, cand: Vec::new(), echo_source: Vec::new() })
    }

    /// Sets the tokens a reply should not recite (its context block).
    pub fn with_echo_source(mut self, ids: Vec<u32>) -> Self {
        self.echo_source = ids;
        self
    }

    pub fn options(&self) -> &SamplerOptions {
        &self.opts
    }

    /// The next token given `logits` (modified in place by the penalties) and the ids so far
    /// (`history`, for the repetition penalty), all of them counting as the reply.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> Result<u32> {
        self.sample_reply(logits, history, 0)
    }

    /// As [`sample`](Self::sample) where the reply starts at `history[reply_start]` (before
    /// it: the prompt, which the DRY penalty leaves alone). Empty or all-NaN logits give an
    /// error.
    pub fn sample_reply(&mut self, logits: &mut [f32], history: &[u32], reply_start: usize) -> Result<u32> {
        if logits.is_empty() {
            return Err(AttuneError::Compute("no logits to sample from".into()));
        }
        let o = &self.opts;
        if o.dry_multiplier > 0.0 {
            let reply = &history[reply_start.min(history.len())..];
            let mut longest = std::collections::HashMap::new();
            continuations(reply, reply, &mut longest);
            penalize(logits, &longest, o.dry_allowed_length, o);
            if o.echo_allowed_length > 0 && !self.echo_source.is_empty() {
                longest.clear();
                continuations(&self.echo_source, reply, &mut longest);
                penalize(logits, &longest, o.echo_allowed_length, o);
            }
        }
        if o.repetition_penalty != 1.0 && o.repeat_last_n > 0 {
            let recent = &history[history.len().saturating_sub(o.repeat_last_n)..];
            let mut seen = std::collections::HashSet::with_capacity(recent.len());
            for &id in recent {
                if let Some(l) = logits.get_mut(id as usize) {
                    if seen.insert(id) {
                        *l = if *l > 0.0 { *l / o.repetition_penalty } else { *l * o.repetition_penalty };
                    }
                }
            }
        }
        if o.temperature == 0.0 {
            return argmax(logits);
        }
        // Candidates, best first (ties: lower id first), cut to top_k.
        self.cand.clear();
        self.cand.extend(logits.iter().enumerate().filter(|(_, l)| !l.is_nan()).map(|(i, &l)| (l, i as u32)));
        if self.cand.is_empty() {
            return Err(AttuneError::Compute("every logit is NaN".into()));
        }
        let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if o.top_k > 0 && o.top_k < self.cand.len() {
            self.cand.select_nth_unstable_by(o.top_k - 1, order);
            self.cand.truncate(o.top_k);
        }
        self.cand.sort_unstable_by(order);
        // Softmax with temperature, in f64.
        let inv_t = 1.0 / o.temperature as f64;
        let max = self.cand[0].0 as f64;
        let mut probs: Vec<f64> = self.cand.iter().map(|c| ((c.0 as f64 - max) * inv_t).exp()).collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
        // Nucleus: the smallest prefix reaching top_p.
        let mut keep = probs.len();
        if o.top_p < 1.0 {
            let mut acc = 0.0;
            for (i, p) in probs.iter().enumerate() {
                acc += p;
                if acc >= o.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
        }
        let mass: f64 = probs[..keep].iter().sum();
        let mut r = self.rng.next_f64() * mass;
        for (i, p) in probs[..keep].iter().enumerate() {
            if r < *p {
                return Ok(self.cand[i].1);
            }
            r -= p;
        }
        Ok(self.cand[keep - 1].1)
    }
}

/// For every place in `hay` that holds `tail`'s last token (with a token after it), the
/// length of the match ending there (how many tokens before it also match `tail`'s end) marks
/// the token that followed as a continuation of that repeat; `longest` keeps each such
/// token's longest match.
fn continuations(hay: &[u32], tail: &[u32], longest: &mut std::collections::HashMap<u32, usize>) {
    let Some(&last) = tail.last() else { return };
    for j in 0..hay.len().saturating_sub(1) {
        if hay[j] != last {
            continue;
        }
        let mut len = 1;
        while len < DRY_MAX_MATCH && len <= j && len < tail.len() && hay[j - len] == tail[tail.len() - 1 - len] {
            len += 1;
        }
        let e = longest.entry(hay[j + 1]).or_default();
        *e = (*e).max(len);
    }
}

/// The DRY penalty, `multiplier * base^(length - allowed)`, on every continuation at least
/// `allowed` long.
fn penalize(logits: &mut [f32], longest: &std::collections::HashMap<u32, usize>, allowed: usize, o: &SamplerOptions) {
    for (&id, &len) in longest {
        if len >= allowed.max(1) {
            if let Some(l) = logits.get_mut(id as usize) {
                *l -= o.dry_multiplier * o.dry_base.powi((len - allowed.max(1)) as i32);
            }
        }
    }
}

/// Index of the largest logit (the first one on ties); NaNs are skipped.
pub fn argmax(logits: &[f32]) -> Result<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &l) in logits.iter().enumerate() {
        if !l.is_nan() && best.is_none_or(|(_, b)| l > b) {
            best = Some((i, l));
        }
    }
    best.map(|(i, _)| i as u32).ok_or_else(|| AttuneError::Compute("no finite logit to pick".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_first_max_and_penalty_applies() {
        let mut s = Sampler::new(SamplerOptions::default()).unwrap();
        assert_eq!(s.sample(&mut [1.0, 3.0, 3.0, -1.0], &[]).unwrap(), 1);
        assert_eq!(s.sample(&mut [f32::NAN, 0.5, 0.2], &[]).unwrap(), 1);
        assert!(s.sample(&mut [], &[]).is_err());
        assert!(s.sample(&mut [f32::NAN], &[]).is_err());
        let mut p = Sampler::new(SamplerOptions { repetition_penalty: 2.0, ..Default::default() }).unwrap();
        // 3.0 -> 1.5 (seen), so 2.0 wins; a negative seen logit gets more negative.
        let mut l = [2.0, 3.0, -1.0];
        assert_eq!(p.sample(&mut l, &[1, 1, 2]).unwrap(), 0);
        assert_eq!(l, [2.0, 1.5, -2.0]);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_respects_top_k_top_p() {
        let logits: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let run = |opts: SamplerOptions| {
            let mut s = Sampler::new(opts).unwrap();
            (0..200).map(|_| s.sample(&mut logits.clone(), &[]).unwrap()).collect::<Vec<_>>()
        };
        let base = SamplerOptions { temperature: 1.0, seed: 7, ..Default::default() };
        assert_eq!(run(base.clone()), run(base.clone()));
        assert_ne!(run(base.clone()), run(SamplerOptions { seed: 8, ..base.clone() }));
        let mut sorted: Vec<u32> = (0..100).collect();
        sorted.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]));
        let top3 = run(SamplerOptions { top_k: 3, ..base.clone() });
        assert!(top3.iter().all(|t| sorted[..3].contains(t)));
        assert!(sorted[..3].iter().all(|t| top3.contains(t)), "all three get picked in 200 draws");
        // A tiny top_p keeps only the best token.
        assert!(run(SamplerOptions { top_p: 1e-6, ..base.clone() }).iter().all(|&t| t == sorted[0]));
        // Very low temperature is nearly greedy.
        assert!(run(SamplerOptions { temperature: 1e-4, ..base }).iter().all(|&t| t == sorted[0]));
    }

    #[test]
    fn dry_penalizes_the_token_that_continues_a_repeat_of_the_reply_only() {
        let o = SamplerOptions::reply();
        let mut p = Sampler::new(o.clone()).unwrap();
        // Reply 5 6 7 8 5 6 7: token 8 would repeat "5 6 7 8" (3 tokens matched).
        let mut l = [0.0f32; 10];
        l[8] = 2.0;
        l[9] = 1.5;
        assert_eq!(p.sample_reply(&mut l, &[5, 6, 7, 8, 5, 6, 7], 0).unwrap(), 9);
        assert!((l[8] - (2.0 - 0.8 * 1.75)).abs() < 1e-6, "{}", l[8]);
        // A repeat shorter than the allowed length is free: "5 6" seen once, last token 6.
        let mut l = [0.0f32; 10];
        l[7] = 1.0;
        p.sample_reply(&mut l, &[5, 6, 7, 5, 6], 0).unwrap();
        assert_eq!(l[7], 1.0 - 0.8, "2 matched tokens: multiplier x base^0");
        let mut l = [0.0f32; 10];
        l[7] = 1.0;
        p.sample_reply(&mut l, &[5, 7, 1, 6], 0).unwrap();
        assert_eq!(l[7], 1.0, "no repeat at all");
        // The prompt does not count: the same ids with the repeat's first half in the prompt.
        let mut l = [0.0f32; 10];
        l[8] = 2.0;
        assert_eq!(p.sample_reply(&mut l, &[5, 6, 7, 8, 5, 6, 7], 4).unwrap(), 8);
        assert_eq!(l[8], 2.0);
        // Longer repeats cost exponentially more; the default sampler has no DRY at all.
        let long: Vec<u32> = (0..12).chain(0..11).collect();
        let mut l = [0.0f32; 12];
        p.sample_reply(&mut l, &long, 0).unwrap();
        assert!(l[11] < -0.8 * 1.75f32.powi(8), "{}", l[11]);
        let mut plain = Sampler::new(SamplerOptions::default()).unwrap();
        let mut l = [0.0f32; 12];
        plain.sample(&mut l, &long).unwrap();
        assert!(l.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn copying_the_echo_source_at_length_is_penalized() {
        let o = SamplerOptions { echo_allowed_length: 3, dry_allowed_length: 32, ..SamplerOptions::reply() };
        let block: Vec<u32> = vec![1, 2, 3, 4, 5, 6];
        let mut p = Sampler::new(o).unwrap().with_echo_source(block);
        // The reply (after a 2-token prompt) has copied 1 2 3; 4 would make it 4 long.
        let mut l = [0.0f32; 10];
        l[4] = 1.0;
        l[9] = 0.5;
        assert_eq!(p.sample_reply(&mut l, &[7, 7, 1, 2, 3], 2).unwrap(), 9);
        assert!((l[4] - (1.0 - 0.8)).abs() < 1e-6, "{}", l[4]);
        // Two copied tokens are free (a fact may be restated).
        let mut l = [0.0f32; 10];
        l[4] = 1.0;
        assert_eq!(p.sample_reply(&mut l, &[7, 7, 2, 3], 2).unwrap(), 4);
        assert_eq!(l[4], 1.0);
        // No source, or echo_allowed_length 0: nothing.
        let mut off = Sampler::new(SamplerOptions { echo_allowed_length: 0, ..SamplerOptions::reply() }).unwrap().with_echo_source(vec![1, 2, 3, 4]);
        let mut l = [0.0f32; 10];
        off.sample_reply(&mut l, &[1, 2, 3], 0).unwrap();
        assert_eq!(l[4], 0.0);
    }

    #[test]
    fn bad_options_are_refused() {
        for o in [
            SamplerOptions { temperature: -1.0, ..Default::default() },
            SamplerOptions { temperature: f32::NAN, ..Default::default() },
            SamplerOptions { top_p: 0.0, ..Default::default() },
            SamplerOptions { top_p: 1.5, ..Default::default() },
            SamplerOptions { repetition_penalty: 0.0, ..Default::default() },
            SamplerOptions { dry_multiplier: -1.0, ..Default::default() },
            SamplerOptions { dry_base: 0.5, ..Default::default() },
            SamplerOptions { dry_allowed_length: 1000, ..Default::default() },
            SamplerOptions { echo_allowed_length: 1000, ..Default::default() },
        ] {
            assert!(matches!(Sampler::new(o), Err(AttuneError::InvalidArgument(_))));
        }
    }
}
