//! Every kernel set available on this machine against the portable reference.
//!
//! Integer dots are checked for exact equality with unit scales (every partial sum is then an
//! integer below 2^24, exact in f32 whatever the summation order); with random scales the
//! float results may differ only by summation order, checked at 1e-5 relative to Σ|terms|.

use super::*;
use crate::quant::{f16_le, to_f16_le, QK};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
    /// Uniform in [-1, 1).
    pub(crate) fn f(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
    pub(crate) fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }
    fn i8_in(&mut self, lo: i32, hi: i32) -> i8 {
        (lo + (self.next_u32() % (hi - lo + 1) as u32) as i32) as i8
    }
}

const LENGTHS: [usize; 5] = [32, 64, 384, 1536, 4096];
const FLOAT_LENGTHS: [usize; 9] = [0, 1, 7, 31, 32, 64, 384, 1536, 4096];

fn close(got: f32, want: f32, scale: f32, what: &str) {
    assert!(
        (got - want).abs() <= 1e-5 * scale.max(f32::MIN_POSITIVE),
        "{what}: {got} vs {want} (scale {scale})"
    );
}

fn fast_sets() -> Vec<&'static Kernels> {
    let sets = available();
    println!("kernel sets: {:?}", sets.iter().map(|k| k.name).collect::<Vec<_>>());
    sets
}

#[test]
fn best_is_the_last_available() {
    assert_eq!(best().name, available().last().unwrap().name);
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
    {
        assert_eq!(best().name, "avx2");
    }
}

#[test]
fn dot_f32_matches_portable() {
    let mut r = Rng::new(1);
    for k in fast_sets() {
        for n in FLOAT_LENGTHS {
            let (a, b) = (r.vec(n), r.vec(n));
            let scale: f32 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
            close((k.dot_f32)(&a, &b), portable::dot_f32(&a, &b), scale, &format!("{} f32 n={n}", k.name));
            // Unaligned starts.
            if n > 2 {
                close(
                    (k.dot_f32)(&a[1..], &b[2..]),
                    portable::dot_f32(&a[1..n - 1], &b[2..]),
                    scale,
                    "f32 offset",
                );
            }
        }
    }
}

#[test]
fn dot_f16_matches_portable() {
    let mut r = Rng::new(2);
    for k in fast_sets() {
        for n in FLOAT_LENGTHS {
            let w: Vec<u8> = r.vec(n).iter().flat_map(|v| to_f16_le(*v)).collect();
            let x = r.vec(n);
            let scale: f32 = w.chunks(2).zip(&x).map(|(h, v)| (f16_le([h[0], h[1]]) * v).abs()).sum();
            close(
                (k.dot_f16_f32)(&w, &x),
                portable::dot_f16_f32(&w, &x),
                scale,
                &format!("{} f16 n={n}", k.name),
            );
            if n > 1 {
                // The same weight at an odd address.
                let mut buf = vec![0u8];
                buf.extend_from_slice(&w);
                let w1 = &buf[1..];
                close((k.dot_f16_f32)(w1, &x), portable::dot_f16_f32(w1, &x), scale, "f16 odd address");
            }
        }
    }
}

fn q8_blocks(r: &mut Rng, n: usize, lo: i32, unit: bool) -> Vec<BlockQ8_0> {
    (0..n / QK)
        .map(|_| {
            let mut qs = [0i8; QK];
            qs.iter_mut().for_each(|q| *q = r.i8_in(lo, 127));
            let d = if unit { 1.0 } else { r.f() * 0.1 };
            BlockQ8_0 { d: to_f16_le(d), qs }
        })
        .collect()
}

fn q8_1_blocks(r: &mut Rng, n: usize, unit: bool) -> Vec<BlockQ8_1> {
    q8_blocks(r, n, -127, unit)
        .into_iter()
        .map(|b| {
            let d = f16_le(b.d);
            let sum: i32 = b.qs.iter().map(|&q| q as i32).sum();
            BlockQ8_1 { d: b.d, s: to_f16_le(d * sum as f32), qs: b.qs }
        })
        .collect()
}

/// Activation blocks as the kernels take them (f32 scales).
fn a8(x: &[BlockQ8_0]) -> Vec<ActQ8_0> {
    x.iter().map(ActQ8_0::from).collect()
}

fn a81(x: &[BlockQ8_1]) -> Vec<ActQ8_1> {
    x.iter().map(ActQ8_1::from).collect()
}

fn nibble_bytes(r: &mut Rng) -> [u8; QK / 2] {
    let mut qs = [0u8; QK / 2];
    qs.iter_mut().for_each(|q| *q = r.next_u32() as u8);
    qs
}

/// Σ|w_i x_i| with dequantized operands: the scale of the rounding a float reordering can add.
fn abs_scale(w: &[f32], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(a, b)| (a * b).abs()).sum::<f32>() + 1e-6
}

fn deq<B: bytemuck::Pod>(ty: crate::quant::GgmlType, blocks: &[B]) -> Vec<f32> {
    let bytes: &[u8] = bytemuck::cast_slice(blocks);
    let mut out = vec![0f32; blocks.len() * QK];
    crate::quant::dequantize(ty, bytes, &mut out).unwrap();
    out
}

#[test]
fn dot_q8_0_matches_portable() {
    use crate::quant::GgmlType::Q8_0;
    let mut r = Rng::new(3);
    for k in fast_sets() {
        for n in LENGTHS {
            // Weights may hold -128 (a file could); activations are in [-127, 127].
            let (w, x) = (q8_blocks(&mut r, n, -128, true), q8_blocks(&mut r, n, -127, true));
            assert_eq!(
                (k.dot_q8_0)(&w, &a8(&x)),
                portable::dot_q8_0(&w, &a8(&x)),
                "{} q8_0 exact n={n}",
                k.name
            );
            let (w, x) = (q8_blocks(&mut r, n, -128, false), q8_blocks(&mut r, n, -127, false));
            let scale = abs_scale(&deq(Q8_0, &w), &deq(Q8_0, &x));
            close(
                (k.dot_q8_0)(&w, &a8(&x)),
                portable::dot_q8_0(&w, &a8(&x)),
                scale,
                &format!("{} q8_0 n={n}", k.name),
            );
        }
    }
}

#[test]
fn dot_q4_0_matches_portable() {
    use crate::quant::GgmlType::{Q4_0, Q8_0};
    let mut r = Rng::new(4);
    for k in fast_sets() {
        for n in LENGTHS {
            for unit in [true, false] {
                let w: Vec<BlockQ4_0> = (0..n / QK)
                    .map(|_| BlockQ4_0 {
                        d: to_f16_le(if unit { 1.0 } else { r.f() }),
                        qs: nibble_bytes(&mut r),
                    })
                    .collect();
                let x = q8_blocks(&mut r, n, -127, unit);
                let (got, want) = ((k.dot_q4_0)(&w, &a8(&x)), portable::dot_q4_0(&w, &a8(&x)));
                if unit {
                    assert_eq!(got, want, "{} q4_0 exact n={n}", k.name);
                } else {
                    close(
                        got,
                        want,
                        abs_scale(&deq(Q4_0, &w), &deq(Q8_0, &x)),
                        &format!("{} q4_0 n={n}", k.name),
                    );
                }
            }
        }
    }
}

#[test]
fn dot_q4_1_matches_portable() {
    use crate::quant::GgmlType::{Q4_1, Q8_1};
    let mut r = Rng::new(5);
    for k in fast_sets() {
        for n in LENGTHS {
            for unit in [true, false] {
                let w: Vec<BlockQ4_1> = (0..n / QK)
                    .map(|_| {
                        let (d, m) =
                            if unit { (1.0, (r.next_u32() % 7) as f32 - 3.0) } else { (r.f(), r.f()) };
                        BlockQ4_1 { d: to_f16_le(d), m: to_f16_le(m), qs: nibble_bytes(&mut r) }
                    })
                    .collect();
                let x = q8_1_blocks(&mut r, n, unit);
                let (got, want) = ((k.dot_q4_1)(&w, &a81(&x)), portable::dot_q4_1(&w, &a81(&x)));
                if unit {
                    assert_eq!(got, want, "{} q4_1 exact n={n}", k.name);
                } else {
                    close(
                        got,
                        want,
                        abs_scale(&deq(Q4_1, &w), &deq(Q8_1, &x)),
                        &format!("{} q4_1 n={n}", k.name),
                    );
                }
            }
        }
    }
}

#[test]
fn portable_quant_dots_match_dequantized_math() {
    // The reference itself against plain f32 math on dequantized blocks.
    use crate::quant::GgmlType::{Q4_0, Q4_1, Q8_0, Q8_1};
    let mut r = Rng::new(6);
    let n = 384;
    let dotf =
        |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (*x as f64) * (*y as f64)).sum::<f64>() as f32;
    let w = q8_blocks(&mut r, n, -128, false);
    let x = q8_blocks(&mut r, n, -127, false);
    let (wf, xf) = (deq(Q8_0, &w), deq(Q8_0, &x));
    close(portable::dot_q8_0(&w, &a8(&x)), dotf(&wf, &xf), abs_scale(&wf, &xf), "q8_0 vs f32");
    let w4: Vec<BlockQ4_0> =
        (0..n / QK).map(|_| BlockQ4_0 { d: to_f16_le(r.f()), qs: nibble_bytes(&mut r) }).collect();
    let wf = deq(Q4_0, &w4);
    close(portable::dot_q4_0(&w4, &a8(&x)), dotf(&wf, &xf), abs_scale(&wf, &xf), "q4_0 vs f32");
    let w41: Vec<BlockQ4_1> = (0..n / QK)
        .map(|_| BlockQ4_1 { d: to_f16_le(r.f()), m: to_f16_le(r.f()), qs: nibble_bytes(&mut r) })
        .collect();
    let x1 = q8_1_blocks(&mut r, n, false);
    let (wf, xf) = (deq(Q4_1, &w41), deq(Q8_1, &x1));
    // s is stored as f16, so the folded offset carries f16 rounding of d·Σq: allow 1e-3.
    let got = portable::dot_q4_1(&w41, &a81(&x1));
    let want = dotf(&wf, &xf);
    assert!((got - want).abs() <= 1e-3 * abs_scale(&wf, &xf), "q4_1 vs f32: {got} vs {want}");
}

#[test]
fn four_row_kernels_match_single_row_portable() {
    use crate::quant::GgmlType::{Q4_0, Q4_1, Q8_0, Q8_1};
    let mut r = Rng::new(7);
    for k in fast_sets() {
        for n in LENGTHS {
            for unit in [true, false] {
                let check = |got: [f32; 4], want: [f32; 4], scales: [f32; 4], what: &str| {
                    for u in 0..4 {
                        if unit {
                            assert_eq!(got[u], want[u], "{} {what} exact n={n} row {u}", k.name);
                        } else {
                            close(got[u], want[u], scales[u], &format!("{} {what} n={n} row {u}", k.name));
                        }
                    }
                };
                let xs: Vec<Vec<BlockQ8_0>> = (0..4).map(|_| q8_blocks(&mut r, n, -127, unit)).collect();
                let x4 = [&xs[0][..], &xs[1][..], &xs[2][..], &xs[3][..]];
                let xas: Vec<Vec<ActQ8_0>> = xs.iter().map(|x| a8(x)).collect();
                let xa4 = [&xas[0][..], &xas[1][..], &xas[2][..], &xas[3][..]];
                let w = q8_blocks(&mut r, n, -128, unit);
                let sc = x4.map(|x| abs_scale(&deq(Q8_0, &w), &deq(Q8_0, x)));
                check((k.dot4_q8_0)(&w, xa4), xa4.map(|x| portable::dot_q8_0(&w, x)), sc, "dot4 q8_0");
                let w: Vec<BlockQ4_0> = (0..n / QK)
                    .map(|_| BlockQ4_0 {
                        d: to_f16_le(if unit { 1.0 } else { r.f() }),
                        qs: nibble_bytes(&mut r),
                    })
                    .collect();
                let sc = x4.map(|x| abs_scale(&deq(Q4_0, &w), &deq(Q8_0, x)));
                check((k.dot4_q4_0)(&w, xa4), xa4.map(|x| portable::dot_q4_0(&w, x)), sc, "dot4 q4_0");
                let xs: Vec<Vec<BlockQ8_1>> = (0..4).map(|_| q8_1_blocks(&mut r, n, unit)).collect();
                let x4 = [&xs[0][..], &xs[1][..], &xs[2][..], &xs[3][..]];
                let xas: Vec<Vec<ActQ8_1>> = xs.iter().map(|x| a81(x)).collect();
                let xa4 = [&xas[0][..], &xas[1][..], &xas[2][..], &xas[3][..]];
                let w: Vec<BlockQ4_1> = (0..n / QK)
                    .map(|_| {
                        let (d, m) =
                            if unit { (1.0, (r.next_u32() % 7) as f32 - 3.0) } else { (r.f(), r.f()) };
                        BlockQ4_1 { d: to_f16_le(d), m: to_f16_le(m), qs: nibble_bytes(&mut r) }
                    })
                    .collect();
                let sc = x4.map(|x| abs_scale(&deq(Q4_1, &w), &deq(Q8_1, x)));
                check((k.dot4_q4_1)(&w, xa4), xa4.map(|x| portable::dot_q4_1(&w, x)), sc, "dot4 q4_1");
            }
        }
    }
}

#[test]
fn simd128_four_row_kernels_are_bit_identical_to_portable() {
    // simd128 accumulates each row block by block in the portable order and has no FMA, so
    // even with random scales its four-row results equal the portable ones exactly.
    let Some(k) = available().into_iter().find(|k| k.name == "simd128") else { return };
    let mut r = Rng::new(8);
    for n in LENGTHS {
        let xs: Vec<Vec<ActQ8_0>> = (0..4).map(|_| a8(&q8_blocks(&mut r, n, -127, false))).collect();
        let x4 = [&xs[0][..], &xs[1][..], &xs[2][..], &xs[3][..]];
        let w = q8_blocks(&mut r, n, -128, false);
        assert_eq!((k.dot4_q8_0)(&w, x4), x4.map(|x| portable::dot_q8_0(&w, x)), "q8_0 n={n}");
        let w: Vec<BlockQ4_0> =
            (0..n / QK).map(|_| BlockQ4_0 { d: to_f16_le(r.f()), qs: nibble_bytes(&mut r) }).collect();
        assert_eq!((k.dot4_q4_0)(&w, x4), x4.map(|x| portable::dot_q4_0(&w, x)), "q4_0 n={n}");
        let xs: Vec<Vec<ActQ8_1>> = (0..4).map(|_| a81(&q8_1_blocks(&mut r, n, false))).collect();
        let x4 = [&xs[0][..], &xs[1][..], &xs[2][..], &xs[3][..]];
        let w: Vec<BlockQ4_1> = (0..n / QK)
            .map(|_| BlockQ4_1 { d: to_f16_le(r.f()), m: to_f16_le(r.f()), qs: nibble_bytes(&mut r) })
            .collect();
        assert_eq!((k.dot4_q4_1)(&w, x4), x4.map(|x| portable::dot_q4_1(&w, x)), "q4_1 n={n}");
    }
}

#[test]
fn tile_kernels_are_bit_identical_to_portable_rows_and_padding_is_zero() {
    let mut r = Rng::new(9);
    for k in available() {
        let Some(tile) = k.tile_q8_0 else { continue };
        for n in LENGTHS {
            for live in 1..=4 {
                let xs: Vec<Vec<ActQ8_0>> = (0..4).map(|_| a8(&q8_blocks(&mut r, n, -127, false))).collect();
                let (w, w1) = (q8_blocks(&mut r, n, -128, false), q8_blocks(&mut r, n, -128, false));
                let t: Vec<ActQ8_0x4> = (0..n / QK)
                    .map(|b| ActQ8_0x4::from_rows(std::array::from_fn(|u| (u < live).then(|| &xs[u][b]))))
                    .collect();
                let got = tile([&w, &w1], &t);
                for (v, w) in [&w, &w1].into_iter().enumerate() {
                    for u in 0..4 {
                        let want = if u < live { portable::dot_q8_0(w, &xs[u]) } else { 0.0 };
                        assert_eq!(got[v][u], want, "{} tile q8_0 n={n} live={live} weight {v} row {u}", k.name);
                    }
                }
            }
        }
    }
}
