//! The real all-MiniLM-L6-v2, converted by `attune convert` into every quant type, against the
//! independent numpy reference (tests/reference/minilm_reference.py) on every fixture sentence.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{cosine, encoder, reference};

/// (quant, every sentence ≥ min, mean ≥ mean)
const THRESHOLDS: [(&str, f64, f64); 4] = [
    ("f32", 0.9999, 0.9999),
    ("f16", 0.999, 0.999),
    ("q8_0", 0.99, 0.995),
    // Q4_0 is the converter's "mostly Q4_0" mix (Q4_0 token table and query/key projections
    // with searched scales, Q8_0 elsewhere; see `OutType::weight`). It reaches min 0.9811,
    // mean 0.9955 (the aim was min 0.97, mean 0.98); this floor sits just under that, so it
    // cannot silently get worse.
    ("q4_0", 0.978, 0.994),
];

#[test]
fn tokenizer_ids_match_the_reference() {
    let reference = reference();
    let enc = encoder("q8_0");
    for (s, want) in reference.sentences.iter().zip(&reference.token_ids) {
        assert_eq!(&enc.tokenize(s).unwrap(), want, "token ids of {s:?}");
    }
}

#[test]
fn embeddings_match_the_reference_for_every_quant_type() {
    let reference = reference();
    assert!(reference.sentences.len() >= 100);
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let mut failures = Vec::new();
    for (quant, min_bound, mean_bound) in THRESHOLDS {
        let mut enc = encoder(quant);
        let got = pollster::block_on(enc.embed(&texts)).unwrap();
        let cos: Vec<f64> =
            got.iter().zip(&reference.embeddings).map(|(g, r)| cosine(g, r)).collect();
        let (worst, min) = cos
            .iter()
            .enumerate()
            .fold((0, f64::MAX), |(wi, w), (i, &c)| if c < w { (i, c) } else { (wi, w) });
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        println!("{quant}: min cosine {min:.6} (sentence {worst}), mean {mean:.6}");
        if min < min_bound || mean < mean_bound {
            failures.push(format!(
                "{quant}: min {min:.6} (< {min_bound}?) on {:?}, mean {mean:.6} (< {mean_bound}?)",
                texts[worst]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_batch_gives_what_each_text_gives_alone() {
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().take(40).map(String::as_str).collect();
    let mut enc = encoder("f32");
    let batched = pollster::block_on(enc.embed(&texts)).unwrap();
    for (t, b) in texts.iter().zip(&batched) {
        let alone = pollster::block_on(enc.embed(&[t])).unwrap();
        assert!(cosine(&alone[0], b) > 0.99999, "padding changed the embedding of {t:?}");
    }
}
