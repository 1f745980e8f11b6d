//! Ranking metrics with binary relevance: NDCG@k, HR@k (hit rate) and MRR.

#[derive(Debug, Default, Clone, Copy)]
pub struct Metrics {
    pub ndcg: f64,
    pub hr: f64,
    pub mrr: f64,
}

/// `relevant[i]` says whether the item at rank `i` (0-based) is relevant; `total` is how many
/// relevant items there are in all.
pub fn metrics(relevant: &[bool], total: usize, k: usize) -> Metrics {
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = relevant.iter().take(k).enumerate().filter(|(_, r)| **r).map(|(i, _)| gain(i)).sum();
    let idcg: f64 = (0..total.min(k)).map(gain).sum();
    let first = relevant.iter().position(|r| *r);
    Metrics {
        ndcg: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        hr: f64::from(u8::from(first.is_some_and(|i| i < k))),
        mrr: first.map_or(0.0, |i| 1.0 / (i + 1) as f64),
    }
}

impl std::ops::AddAssign for Metrics {
    fn add_assign(&mut self, o: Metrics) {
        self.ndcg += o.ndcg;
        self.hr += o.hr;
        self.mrr += o.mrr;
    }
}

impl Metrics {
    pub fn mean(self, n: usize) -> Metrics {
        let n = n.max(1) as f64;
        Metrics { ndcg: self.ndcg / n, hr: self.hr / n, mrr: self.mrr / n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn perfect_and_empty_rankings() {
        let m = metrics(&[true, true, false], 2, 10);
        assert!((m.ndcg - 1.0).abs() < 1e-12 && m.hr == 1.0 && m.mrr == 1.0);
        let m = metrics(&[false, true], 1, 10);
        assert!((m.ndcg - 1.0 / 3f64.log2()).abs() < 1e-12 && (m.mrr - 0.5).abs() < 1e-12);
        let m = metrics(&[false; 20], 1, 10);
        assert_eq!((m.ndcg, m.hr, m.mrr), (0.0, 0.0, 0.0));
    }
}
