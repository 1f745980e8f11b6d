//! Exploration: a small, seeded share of the shown slots goes to items outside the known
//! interests, so the profile can learn what it does not know yet. Reproducible: the same seed
//! and input give the same draw. Off by default (`exploration` 0); when on, the first
//! [`PROTECTED_SLOTS`] shown slots are never taken, so the strongest matches stay on top.

use crate::model::sampler::SplitMix64;

/// Places exploration picks into `order` (indices, best first). `shown` is how many slots the
/// caller shows; `share` of them (rounded, at most the candidates available) go to items of
/// `novel` (indices eligible for exploration) that are not already shown. The top slot is never
/// taken. Returns the new order and the indices placed by exploration.
/// Shown slots at the top that exploration never takes.
pub const PROTECTED_SLOTS: usize = 3;

pub fn explore(order: &[usize], novel: &[bool], shown: usize, share: f32, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let shown = shown.min(order.len());
    let slots = ((share as f64) * shown as f64).round() as usize;
    if slots == 0 || shown <= PROTECTED_SLOTS {
        return (order.to_vec(), Vec::new());
    }
    let mut pool: Vec<usize> = order[shown..].iter().copied().filter(|&i| novel[i]).collect();
    let slots = slots.min(pool.len()).min(shown - PROTECTED_SLOTS);
    if slots == 0 {
        return (order.to_vec(), Vec::new());
    }
    let mut rng = SplitMix64::new(seed);
    // Partial Fisher–Yates: the first `slots` of `pool` become a uniform draw.
    for k in 0..slots {
        let j = k + (rng.next_u64() % (pool.len() - k) as u64) as usize;
        pool.swap(k, j);
    }
    let picks: Vec<usize> = pool[..slots].to_vec();
    // Distinct slot positions in PROTECTED_SLOTS..shown, drawn the same way.
    let mut positions: Vec<usize> = (PROTECTED_SLOTS..shown).collect();
    for k in 0..slots {
        let j = k + (rng.next_u64() % (positions.len() - k) as u64) as usize;
        positions.swap(k, j);
    }
    let mut positions: Vec<(usize, usize)> = positions[..slots].iter().copied().zip(picks.iter().copied()).collect();
    positions.sort_unstable();

    // The shown list loses its last `slots` items (they move just below the shown ones) and
    // gains the picks at their positions.
    let mut head: Vec<usize> = order[..shown - slots].to_vec();
    for &(pos, pick) in &positions {
        head.insert(pos.min(head.len()), pick);
    }
    let mut out = head;
    out.extend_from_slice(&order[shown - slots..shown]);
    out.extend(order[shown..].iter().copied().filter(|i| !picks.contains(i)));
    (out, picks)
}
