//! The cache's compact vectors (Q8_0) against the reference fp32 embeddings of the 131
//! fixture sentences: direction kept, and rankings by the page matmul unchanged in practice.
//! Prints its figures (`cargo test --release --test embedding_parity -- --nocapture`).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use attune::embedding::{CompactVector, ItemMatrix};
use common::{cosine, reference};

#[test]
fn compact_vectors_keep_the_reference_embeddings() {
    let r = reference();
    let worst = r
        .embeddings
        .iter()
        .map(|v| cosine(&CompactVector::encode(v).unwrap().decode(), v))
        .fold(1.0f64, f64::min);
    println!("ATTUNE_PARITY worst cosine(compact, fp32) = {worst:.6} over {} sentences", r.embeddings.len());
    assert!(worst > 0.9999, "worst cosine {worst}");
}

#[test]
fn rankings_by_the_page_matmul_match_fp32() {
    let r = reference();
    let items: Vec<Option<Vec<f32>>> = r.embeddings.iter().cloned().map(Some).collect();
    let m = ItemMatrix::from_f32(&items).unwrap();
    let (mut same_top1, mut overlap10, mut worst_err) = (0usize, 0usize, 0f64);
    for q in &r.embeddings {
        let dots = m.dots(&[q.as_slice()]).unwrap();
        let exact: Vec<f64> = r.embeddings.iter().map(|v| cosine(q, v)).collect();
        worst_err = dots.iter().zip(&exact).map(|(a, b)| (*a as f64 - b).abs()).fold(worst_err, f64::max);
        let top = |s: &dyn Fn(usize) -> f64| {
            let mut idx: Vec<usize> = (0..exact.len()).collect();
            idx.sort_by(|&a, &b| s(b).total_cmp(&s(a)));
            idx.truncate(10);
            idx
        };
        let (a, b) = (top(&|i| dots[i] as f64), top(&|i| exact[i]));
        same_top1 += (a[0] == b[0]) as usize;
        overlap10 += a.iter().filter(|i| b.contains(i)).count();
    }
    let n = r.embeddings.len();
    println!(
        "ATTUNE_PARITY top-1 same {same_top1}/{n}, top-10 overlap {:.4}, worst |dot - cos| {worst_err:.5}",
        overlap10 as f64 / (10 * n) as f64
    );
    // A miss is a near tie (two sentences within the quantization error of each other).
    assert!(same_top1 + 2 >= n, "{same_top1}/{n}");
    assert!(overlap10 as f64 / (10 * n) as f64 > 0.97);
    assert!(worst_err < 0.01);
}
