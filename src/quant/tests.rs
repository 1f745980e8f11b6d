use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn ramp(n: usize, seed: u32) -> Vec<f32> {
    // A deterministic, irregular signal with both signs and a few large values.
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let u = (s as f32 / u32::MAX as f32) * 2.0 - 1.0;
            if i % 29 == 0 {
                u * 7.0
            } else {
                u
            }
        })
        .collect()
}

fn max_err(ty: GgmlType, x: &[f32]) -> f32 {
    let q = quantize(ty, x).unwrap();
    assert_eq!(q.len(), ty.bytes_for(x.len()).unwrap());
    let mut y = vec![0f32; x.len()];
    dequantize(ty, &q, &mut y).unwrap();
    x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

#[test]
fn block_sizes_match_ggml() {
    assert_eq!(GgmlType::Q4_0.block_bytes(), 18);
    assert_eq!(GgmlType::Q4_1.block_bytes(), 20);
    assert_eq!(GgmlType::Q8_0.block_bytes(), 34);
    assert_eq!(GgmlType::Q8_1.block_bytes(), 36);
    assert_eq!(GgmlType::F16.bytes_for(3).unwrap(), 6);
    assert!(GgmlType::Q8_0.bytes_for(33).is_err());
}

#[test]
fn round_trip_error_is_within_half_a_step() {
    let x = ramp(32 * 64, 7);
    for (ty, steps) in [
        (GgmlType::F32, 0.0),
        (GgmlType::F16, 0.0),
        (GgmlType::Q8_0, 127.0),
        (GgmlType::Q8_1, 127.0),
        (GgmlType::Q4_0, 8.0),
        (GgmlType::Q4_1, 7.5),
    ] {
        let err = max_err(ty, &x);
        // Largest block magnitude is about 7; one quant step is amax / steps.
        let bound = if steps == 0.0 { 7.0 * 1e-3 } else { 7.0 / steps * 0.5 + 1e-2 };
        assert!(err <= bound, "{} max error {err} > {bound}", ty.name());
    }
}

#[test]
fn q4_0_matches_llama_cpp_bytes() {
    // Hand-checked against ggml's reference: max magnitude -8 maps to nibble 0.
    let mut x = [0f32; QK];
    x[0] = -8.0;
    x[1] = 4.0;
    x[16] = 1.0;
    let b = BlockQ4_0::quantize(&x);
    assert_eq!(f16_le(b.d), 1.0);
    assert_eq!(b.qs[0], 0x0 | (9 << 4)); // x[0] = -8 → 0, x[16] = 1 → 9
    assert_eq!(b.qs[1] & 0x0f, 12); // 4 → 12
    assert_eq!(b.qs[2], 8 | (8 << 4)); // zeros → 8
}

#[test]
fn zero_block_quantizes_to_zero_scale() {
    let x = [0f32; QK];
    assert_eq!(f16_le(BlockQ8_0::quantize(&x).d), 0.0);
    assert_eq!(f16_le(BlockQ4_0::quantize(&x).d), 0.0);
    assert_eq!(f16_le(BlockQ4_0::quantize_best(&x).d), 0.0);
    for q in [BlockQ4_1::quantize(&x), BlockQ4_1::quantize_best(&x)] {
        let mut y = [1f32; QK];
        q.dequantize(&mut y);
        assert!(y.iter().all(|v| *v == 0.0));
    }
}

#[test]
fn dequantize_rejects_wrong_lengths() {
    let mut y = vec![0f32; 32];
    assert!(dequantize(GgmlType::Q8_0, &[0u8; 33], &mut y).is_err());
    assert!(dequantize(GgmlType::F32, &[0u8; 4], &mut y).is_err());
}

#[test]
fn quantize_best_searches_only_the_4_bit_types() {
    let x = ramp(32 * 16, 3);
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q8_1] {
        assert_eq!(quantize_best(ty, &x).unwrap(), quantize(ty, &x).unwrap(), "{}", ty.name());
    }
    for ty in [GgmlType::Q4_0, GgmlType::Q4_1] {
        let q = quantize_best(ty, &x).unwrap();
        assert_eq!(q.len(), ty.bytes_for(x.len()).unwrap());
        assert_ne!(q, quantize(ty, &x).unwrap(), "{}", ty.name());
    }
}

/// Squared error of each block of `x` after `quantize_best`/`quantize` and the
/// (unchanged) `dequantize`.
fn block_errors(ty: GgmlType, x: &[f32], best: bool) -> Vec<f64> {
    let q = if best { quantize_best(ty, x) } else { quantize(ty, x) }.unwrap();
    let mut y = vec![0f32; x.len()];
    dequantize(ty, &q, &mut y).unwrap();
    x.chunks_exact(QK)
        .zip(y.chunks_exact(QK))
        .map(|(a, b)| a.iter().zip(b).map(|(a, b)| ((a - b) as f64).powi(2)).sum())
        .collect()
}

#[test]
fn searched_4_bit_scales_beat_the_reference_on_every_block() {
    // Irregular signals, Gaussian-like weights (sum of uniforms), and blocks with one outlier.
    let mut x = ramp(32 * 512, 11);
    let g = ramp(32 * 512 * 4, 12);
    x.extend(g.chunks_exact(4).map(|c| c.iter().sum::<f32>() * 0.02));
    let mut o = ramp(32 * 256, 13);
    o.iter_mut().step_by(32).for_each(|v| *v *= 12.0);
    x.extend(o);
    for ty in [GgmlType::Q4_0, GgmlType::Q4_1] {
        let best = block_errors(ty, &x, true);
        let refe = block_errors(ty, &x, false);
        for (i, (b, r)) in best.iter().zip(&refe).enumerate() {
            assert!(b <= r, "{} block {i}: {b} > reference {r}", ty.name());
        }
        let (b, r): (f64, f64) = (best.iter().sum(), refe.iter().sum());
        // The search must actually help: at least 5% less squared error overall.
        assert!(b < 0.95 * r, "{}: total {b} vs reference {r}", ty.name());
        eprintln!("{}: squared error {b:.4} vs reference {r:.4}", ty.name());
    }
}

#[test]
fn searched_q4_0_keeps_llama_cpps_layout() {
    // A block exactly on a 4-bit grid comes back exactly, whichever rounding is used.
    let mut x = [0f32; QK];
    for (j, v) in x.iter_mut().enumerate() {
        *v = ((j % 16) as f32 - 8.0) * 0.25;
    }
    for b in [BlockQ4_0::quantize_best(&x), BlockQ4_0::quantize(&x)] {
        let mut y = [0f32; QK];
        b.dequantize(&mut y);
        assert_eq!(y, x);
    }
}

#[test]
fn f16_conversion_is_bit_identical_to_half_for_every_value() {
    for h in 0..=u16::MAX {
        let want = half::f16::from_bits(h).to_f32();
        let got = super::f16_bits_to_f32(h);
        assert_eq!(got.to_bits(), want.to_bits(), "f16 bits {h:#06x}: {got} vs {want}");
        assert_eq!(super::f16_le(h.to_le_bytes()).to_bits(), want.to_bits());
    }
}

#[test]
fn round_i8_is_roundf_on_the_q8_range() {
    // Every quarter step and the values around each half, both signs.
    let mut vals: Vec<f32> = (-510..=510).map(|i| i as f32 * 0.25).collect();
    for k in -127..=127 {
        let h = k as f32 + 0.5;
        vals.extend([h, f32::from_bits(h.to_bits() - 1), f32::from_bits(h.to_bits() + 1)]);
    }
    vals.extend([0.49999997, -0.49999997, 127.4, -127.4, f32::NAN, 0.0, -0.0]);
    // Fuzzing found: out of the range the truncation overflowed (a debug-build panic; in
    // release +inf wrapped to -128).
    vals.extend([127.5, -128.5, 2147483648.0, -2147483904.0, 3e9, -3e9, f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY]);
    for v in vals {
        let want = if v.is_nan() { 0 } else { v.round() as i8 };
        assert_eq!(q8_0::round_i8(v), want, "{v}");
    }
}

// A block of subnormals: its scale's inverse is infinite. Signs survive, and it dequantizes
// to (almost) zero.
#[test]
fn q8_0_of_subnormals_keeps_signs() {
    let mut x = [0f32; QK];
    for (i, v) in x.iter_mut().enumerate() {
        *v = if i % 2 == 0 { 1e-40 } else { -1e-40 };
    }
    let b = BlockQ8_0::quantize(&x);
    assert!(b.qs.iter().enumerate().all(|(i, &q)| (q > 0) == (i % 2 == 0)), "{:?}", b.qs);
    let mut y = [0f32; QK];
    b.dequantize(&mut y);
    assert!(y.iter().all(|v| v.abs() < 1e-30));
    let _ = BlockQ8_1::quantize(&x);
}
