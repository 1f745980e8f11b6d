//! Choosing the next token from logits: repetition penalty, then greedy (temperature 0) or
//! temperature + top-k + top-p sampling with a seeded PRNG, so a seed makes a run reproducible
//! on every platform.

use crate::error::{AttuneError, Result};

/// How to pick tokens. `Default` is greedy with no penalty.
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
    pub seed: u64,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        SamplerOptions { temperature: 0.0, top_k: 0, top_p: 1.0, repetition_penalty: 1.0, repeat_last_n: 64, seed: 0 }
    }
}

impl SamplerOptions {
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
}

impl Sampler {
    pub fn new(opts: SamplerOptions) -> Result<Self> {
        opts.validate()?;
        let rng = SplitMix64::new(opts.seed);
        Ok(Sampler { opts, rng, cand: Vec::new() })
    }

    pub fn options(&self) -> &SamplerOptions {
        &self.opts
    }

    /// The next token given `logits` (modified in place by the penalty) and the ids so far
    /// (`history`, for the repetition penalty). Empty or all-NaN logits give an error.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> Result<u32> {
        if logits.is_empty() {
            return Err(AttuneError::Compute("no logits to sample from".into()));
        }
        let o = &self.opts;
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
    fn bad_options_are_refused() {
        for o in [
            SamplerOptions { temperature: -1.0, ..Default::default() },
            SamplerOptions { temperature: f32::NAN, ..Default::default() },
            SamplerOptions { top_p: 0.0, ..Default::default() },
            SamplerOptions { top_p: 1.5, ..Default::default() },
            SamplerOptions { repetition_penalty: 0.0, ..Default::default() },
        ] {
            assert!(matches!(Sampler::new(o), Err(AttuneError::InvalidArgument(_))));
        }
    }
}
