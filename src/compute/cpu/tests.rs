//! Each op against a naive scalar implementation (f64 accumulation) on small random inputs,
//! for every kernel set this machine has; error cases must return `Err`, never panic.

use super::simd::tests::Rng;
use super::*;
use crate::compute::SharedBytes;
use crate::quant::{quantize, BlockQ8_0, BlockQ8_1, GgmlType, QK};
use std::sync::Arc;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn backends() -> Vec<CpuBackend> {
    simd::available().into_iter().map(CpuBackend::with_kernels).collect()
}

/// A weight source over `quantize(ty, data)`, placed `offset` bytes into a shared buffer.
fn source(ty: GgmlType, rows: usize, cols: usize, data: &[f32], offset: usize) -> WeightSource {
    let mut bytes = vec![0xAAu8; offset];
    bytes.extend(quantize(ty, data).unwrap());
    bytes.extend([0x55u8; 7]); // trailing bytes of the "file"
    let bytes: SharedBytes = Arc::new(bytes);
    WeightSource { name: format!("w.{}", ty.name()), dtype: ty, rows, cols, bytes, offset }
}

fn dequantized(ty: GgmlType, data: &[f32]) -> Vec<f32> {
    let q = quantize(ty, data).unwrap();
    let mut out = vec![0f32; data.len()];
    crate::quant::dequantize(ty, &q, &mut out).unwrap();
    out
}

/// Naive `x · wᵀ + b` in f64; also returns Σ|x||w| per output for tolerances.
fn naive_matmul(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    m: usize,
    k: usize,
    n: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut y = vec![0f32; m * n];
    let mut mag = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut a) = (0f64, 0f64);
            for t in 0..k {
                let p = x[i * k + t] as f64 * w[j * k + t] as f64;
                s += p;
                a += p.abs();
            }
            y[i * n + j] = (s + b.map_or(0.0, |b| b[j] as f64)) as f32;
            mag[i * n + j] = a as f32 + b.map_or(0.0, |b| b[j].abs());
        }
    }
    (y, mag)
}

fn read(be: &mut CpuBackend, t: Tensor) -> Vec<f32> {
    pollster::block_on(be.read(t)).unwrap()
}

fn rel_l2(a: &[f32], b: &[f32]) -> f32 {
    let num: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f32 = b.iter().map(|y| y * y).sum();
    (num / den.max(f32::MIN_POSITIVE)).sqrt()
}

#[test]
fn matmul_float_weights_match_naive() {
    let mut r = Rng::new(10);
    for mut be in backends() {
        for &(m, k, n) in &[(1, 5, 3), (3, 37, 7), (4, 64, 9), (33, 96, 17), (40, 1, 2)] {
            for ty in [GgmlType::F32, GgmlType::F16] {
                // Offset 0 (aligned) and 3 (F32 rows not 4-byte aligned: the conversion path).
                for offset in [0, 3] {
                    let (x, wv, bv) = (r.vec(m * k), r.vec(n * k), r.vec(n));
                    let w = be.weight(&source(ty, n, k, &wv, offset)).unwrap();
                    let b = be.weight(&source(GgmlType::F32, 1, n, &bv, 0)).unwrap();
                    let xt = be.input(&x, m, k).unwrap();
                    let y = be.matmul(xt, w, Some(b)).unwrap();
                    assert_eq!((y.rows, y.cols), (m, n));
                    let got = read(&mut be, y);
                    let (want, mag) = naive_matmul(&x, &dequantized(ty, &wv), Some(&bv), m, k, n);
                    for (i, ((g, w), s)) in got.iter().zip(&want).zip(&mag).enumerate() {
                        assert!(
                            (g - w).abs() <= 1e-5 * s,
                            "{} {} m{m} k{k} n{n} off{offset} [{i}] {g} vs {w}",
                            be.kernels_name(),
                            ty.name()
                        );
                    }
                }
            }
        }
    }
}

/// Quantized weights. Two checks:
/// * exact math: against `dequant(w) · dequant(q8(x))` in f64 — only float summation order may
///   differ, so 1e-5 of Σ|terms| (1e-3 for Q4_1, whose Q8_1 `s` is stored as f16);
/// * quantization noise: against `dequant(w) · x` with unquantized x, relative L2 error ≤ 1 %.
///   Q8 rounds each activation to within d/2 with d = amax/127 per 32-block; for uniform x
///   (amax ≈ 1, σ ≈ 0.58) that noise is (1/127)/√12 / 0.58 ≈ 0.4 % of the signal, and the
///   error of a dot product relative to its typical size is the same, so 1 % leaves margin.
#[test]
fn matmul_quantized_weights_match_naive() {
    let mut r = Rng::new(11);
    for mut be in backends() {
        for &(m, k, n) in &[(1, 32, 3), (3, 96, 7), (37, 384, 17), (5, 64, 1)] {
            for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_1] {
                let (x, wv, bv) = (r.vec(m * k), r.vec(n * k), r.vec(n));
                let w = be.weight(&source(ty, n, k, &wv, 5)).unwrap();
                let b = be.weight(&source(GgmlType::F16, 1, n, &bv, 0)).unwrap();
                let xt = be.input(&x, m, k).unwrap();
                let y = be.matmul(xt, w, Some(b)).unwrap();
                let got = read(&mut be, y);
                let wd = dequantized(ty, &wv);
                let bd = dequantized(GgmlType::F16, &bv);
                let xq = match ty {
                    GgmlType::Q8_0 | GgmlType::Q4_0 => dequantized(GgmlType::Q8_0, &x),
                    GgmlType::Q4_1 => dequantized(GgmlType::Q8_1, &x),
                    _ => x.clone(), // Q8_1 weights run as f32 rows against f32 activations
                };
                let tol = if ty == GgmlType::Q4_1 { 1e-3 } else { 1e-5 };
                let (exact, mag) = naive_matmul(&xq, &wd, Some(&bd), m, k, n);
                for (i, ((g, w), s)) in got.iter().zip(&exact).zip(&mag).enumerate() {
                    assert!(
                        (g - w).abs() <= tol * s,
                        "{} {} m{m} k{k} n{n} [{i}] {g} vs {w}",
                        be.kernels_name(),
                        ty.name()
                    );
                }
                let (ideal, _) = naive_matmul(&x, &wd, Some(&bd), m, k, n);
                let e = rel_l2(&got, &ideal);
                assert!(e <= 0.01, "{} {} activation quantization error {e}", be.kernels_name(), ty.name());
            }
        }
    }
}

#[test]
fn matmul_without_bias_and_empty_shapes() {
    let mut be = CpuBackend::new();
    let mut r = Rng::new(12);
    let wv = r.vec(4 * 64);
    let w = be.weight(&source(GgmlType::Q8_0, 4, 64, &wv, 0)).unwrap();
    let x0 = be.input(&[], 0, 64).unwrap();
    let y0 = be.matmul(x0, w, None).unwrap();
    assert_eq!((y0.rows, y0.cols), (0, 4));
    assert!(read(&mut be, y0).is_empty());
    let x = r.vec(2 * 64);
    let xt = be.input(&x, 2, 64).unwrap();
    let got = {
        let t = be.matmul(xt, w, None).unwrap();
        read(&mut be, t)
    };
    let (want, _) =
        naive_matmul(&dequantized(GgmlType::Q8_0, &x), &dequantized(GgmlType::Q8_0, &wv), None, 2, 64, 4);
    assert!(rel_l2(&got, &want) < 1e-5);
}

#[test]
fn matmul_errors_are_invalid_argument() {
    let mut be = CpuBackend::new();
    let mut r = Rng::new(13);
    let is_invalid = |e: Result<Tensor>| matches!(e, Err(AttuneError::InvalidArgument(_)));
    // 4 x 40 Q8_0 is 160 values (whole blocks overall) but rows of 40 are not: k % 32 != 0.
    let w40 = be.weight(&source(GgmlType::Q8_0, 4, 40, &r.vec(160), 0)).unwrap();
    let x40 = be.input(&r.vec(80), 2, 40).unwrap();
    let e = be.matmul(x40, w40, None);
    assert!(is_invalid(e.clone()), "{e:?}");
    assert!(format!("{:?}", e.unwrap_err()).contains("multiple"));
    // Shape mismatch.
    let w = be.weight(&source(GgmlType::F32, 3, 32, &r.vec(96), 0)).unwrap();
    let x = be.input(&r.vec(64), 2, 32).unwrap();
    assert!(is_invalid(be.matmul(x40, w, None)));
    // Bias of the wrong length, and a bias handle that does not exist.
    let b2 = be.weight(&source(GgmlType::F32, 1, 2, &[1.0, 2.0], 0)).unwrap();
    assert!(is_invalid(be.matmul(x, w, Some(b2))));
    assert!(is_invalid(be.matmul(x, w, Some(Weight { id: 99, dtype: GgmlType::F32, rows: 1, cols: 3 }))));
    // Unknown weight, and a handle whose shape disagrees with the registration.
    assert!(is_invalid(be.matmul(x, Weight { id: 77, ..w }, None)));
    assert!(is_invalid(be.matmul(x, Weight { dtype: GgmlType::F16, ..w }, None)));
    // Released and forged activations.
    be.release(x);
    assert!(is_invalid(be.matmul(x, w, None)));
    assert!(is_invalid(be.matmul(Tensor { id: 12345, rows: 2, cols: 32 }, w, None)));
    assert!(is_invalid(be.matmul(Tensor { cols: 32, ..x40 }, w, None)));
}

#[test]
fn weight_registration_checks_bounds() {
    let mut be = CpuBackend::new();
    let mut src = source(GgmlType::Q4_0, 2, 32, &[0.5; 64], 0);
    assert!(be.weight(&src).is_ok());
    src.offset = src.bytes.len() - 10;
    assert!(matches!(be.weight(&src), Err(AttuneError::ModelFormat(_))));
    src.offset = usize::MAX - 3;
    assert!(be.weight(&src).is_err());
    src.offset = 0;
    src.rows = usize::MAX;
    assert!(be.weight(&src).is_err());
}

#[test]
fn arena_reuses_slots_and_refuses_stale_handles() {
    let mut be = CpuBackend::new();
    let a = be.input(&[1.0, 2.0], 1, 2).unwrap();
    let b = be.input(&[3.0, 4.0], 1, 2).unwrap();
    assert_eq!(be.live_tensors(), 2);
    be.release(a);
    be.release(a); // double release is a no-op
    assert_eq!(be.live_tensors(), 1);
    assert!(pollster::block_on(be.read(a)).is_err());
    let c = be.input(&[5.0, 6.0], 1, 2).unwrap();
    assert_eq!(c.id & SLOT_MASK, a.id & SLOT_MASK, "freed slot is reused");
    assert_ne!(c.id, a.id);
    assert!(be.get(a).is_err(), "stale handle to a reused slot");
    assert!(matches!(be.add(a, b), Err(AttuneError::InvalidArgument(_))));
    assert_eq!(
        {
            let t = be.add(b, c).unwrap();
            read(&mut be, t)
        },
        vec![8.0, 10.0]
    );
    assert!(be.input(&[1.0; 5], 2, 3).is_err());
    assert!(be.input(&[], usize::MAX, 2).is_err());
    assert_eq!(be.name(), "cpu");
}

#[test]
fn gather_dequantizes_rows_of_every_type() {
    let mut r = Rng::new(14);
    let mut be = CpuBackend::new();
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_1] {
        let (rows, cols) = (7, 64);
        let tv = r.vec(rows * cols);
        let t = be.weight(&source(ty, rows, cols, &tv, 1)).unwrap();
        let ids = [3u32, 0, 6, 3];
        let g = be.gather(t, &ids).unwrap();
        assert_eq!((g.rows, g.cols), (4, cols));
        let got = read(&mut be, g);
        let full = dequantized(ty, &tv);
        for (o, &id) in got.chunks(cols).zip(&ids) {
            assert_eq!(o, &full[id as usize * cols..][..cols], "{}", ty.name());
        }
        assert!(matches!(be.gather(t, &[1, 7]), Err(AttuneError::InvalidArgument(_))));
        assert!(matches!(be.gather(t, &[u32::MAX]), Err(AttuneError::InvalidArgument(_))));
        let empty = be.gather(t, &[]).unwrap();
        assert_eq!((empty.rows, empty.cols), (0, cols));
    }
    // Rows that are not whole blocks (3 x 32 Q8_0 stored as 96 values, cols 48? no: 2 x 48).
    let odd = be.weight(&source(GgmlType::Q8_0, 2, 48, &r.vec(96), 0)).unwrap();
    assert!(be.gather(odd, &[0]).is_err());
}

#[test]
fn add_checks_shapes() {
    let mut be = CpuBackend::new();
    let mut r = Rng::new(15);
    let (x, y) = (r.vec(3 * 13), r.vec(3 * 13));
    let (a, b) = (be.input(&x, 3, 13).unwrap(), be.input(&y, 3, 13).unwrap());
    let got = {
        let t = be.add(a, b).unwrap();
        read(&mut be, t)
    };
    assert!(got.iter().zip(x.iter().zip(&y)).all(|(g, (p, q))| *g == p + q));
    let c = be.input(&y, 13, 3).unwrap();
    assert!(matches!(be.add(a, c), Err(AttuneError::InvalidArgument(_))));
}

#[test]
fn layer_norm_matches_naive() {
    let mut r = Rng::new(16);
    for mut be in backends() {
        for &(rows, cols) in &[(1, 1), (3, 7), (5, 384), (2, 33)] {
            let x: Vec<f32> = r.vec(rows * cols).iter().map(|v| v * 3.0 + 10.0).collect();
            let (g, b) = (r.vec(cols), r.vec(cols));
            let gw = be.weight(&source(GgmlType::F32, 1, cols, &g, 0)).unwrap();
            let bw = be.weight(&source(GgmlType::F32, 1, cols, &b, 0)).unwrap();
            let xt = be.input(&x, rows, cols).unwrap();
            let got = {
                let t = be.layer_norm(xt, gw, bw, 1e-12).unwrap();
                read(&mut be, t)
            };
            for (row, (gr, xr)) in got.chunks(cols).zip(x.chunks(cols)).enumerate() {
                let mean = xr.iter().map(|v| *v as f64).sum::<f64>() / cols as f64;
                let var = xr.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
                for c in 0..cols {
                    let want = (xr[c] as f64 - mean) / (var + 1e-12).sqrt() * g[c] as f64 + b[c] as f64;
                    assert!((gr[c] as f64 - want).abs() < 1e-4, "row {row} col {c}: {} vs {want}", gr[c]);
                }
            }
            // Gamma of the wrong width, negative eps.
            let short = be.weight(&source(GgmlType::F32, 1, cols + 1, &r.vec(cols + 1), 0)).unwrap();
            assert!(be.layer_norm(xt, short, bw, 1e-5).is_err());
            assert!(be.layer_norm(xt, gw, bw, -1.0).is_err());
            assert!(be.layer_norm(xt, gw, bw, f32::NAN).is_err());
        }
    }
}

#[test]
fn gelu_is_the_erf_form() {
    let mut be = CpuBackend::new();
    let x: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.25).collect();
    let t = be.input(&x, 1, x.len()).unwrap();
    let got = {
        let t = be.gelu(t).unwrap();
        read(&mut be, t)
    };
    for (g, v) in got.iter().zip(&x) {
        let v = *v as f64;
        let want = 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
        assert!((*g as f64 - want).abs() < 1e-6 * (1.0 + want.abs()), "gelu({v}) = {g}, want {want}");
    }
    assert!((ops::gelu_scalar(1.0) - 0.841_344_7).abs() < 1e-6);
}

#[test]
fn mean_pool_uses_sequence_bounds() {
    let mut be = CpuBackend::new();
    let mut r = Rng::new(17);
    let (d, bounds) = (9, [0u32, 3, 3, 8]);
    let x = r.vec(8 * d);
    let t = be.input(&x, 8, d).unwrap();
    let p = be.mean_pool(t, &bounds).unwrap();
    assert_eq!((p.rows, p.cols), (3, d));
    let got = read(&mut be, p);
    for (b, w) in bounds.windows(2).enumerate() {
        let (start, len) = (w[0] as usize, (w[1] - w[0]) as usize);
        for c in 0..d {
            let want = if len == 0 {
                0.0
            } else {
                (start..start + len).map(|t| x[t * d + c] as f64).sum::<f64>() / len as f64
            };
            assert!((got[b * d + c] as f64 - want).abs() < 1e-6);
        }
    }
    assert!(be.mean_pool(t, &[0, 3, 7]).is_err(), "must end at the row count");
    assert!(be.mean_pool(t, &[1, 8]).is_err(), "must start at 0");
    assert!(be.mean_pool(t, &[0, 5, 3, 8]).is_err(), "must not decrease");
    assert!(be.mean_pool(t, &[]).is_err());
}

#[test]
fn l2_normalize_keeps_zero_rows() {
    let mut be = CpuBackend::new();
    let x = [3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let t = be.input(&x, 3, 3).unwrap();
    let got = {
        let t = be.l2_normalize(t).unwrap();
        read(&mut be, t)
    };
    let s = 1.0 / 3f32.sqrt();
    let want = [0.6, 0.8, 0.0, 0.0, 0.0, 0.0, s, s, s];
    assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{got:?}");
}

#[test]
fn softmax_is_stable() {
    for f in [softmax, ops::softmax_vectorized] {
        let mut x = [1000.0, 1001.0, 999.0];
        f(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[1] > x[0] && x[0] > x[2]);
        let mut m = [f32::NEG_INFINITY; 3];
        f(&mut m);
        assert_eq!(m, [0.0; 3]);
        let mut masked = [0.5, f32::NEG_INFINITY, 1.5];
        f(&mut masked);
        assert_eq!(masked[1], 0.0);
        f(&mut []);
    }
}

#[test]
fn vectorized_softmax_is_within_a_few_ulp_of_the_libm_one() {
    let mut r = Rng::new(3);
    for n in [1, 7, 8, 31, 128] {
        let x: Vec<f32> = r.vec(n).iter().map(|v| v * 8.0).collect();
        let (mut a, mut b) = (x.clone(), x.clone());
        softmax(&mut a);
        ops::softmax_vectorized(&mut b);
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() <= 8.0 * f32::EPSILON * a.max(1e-30), "n={n}: {a} vs {b}");
        }
    }
}

/// Naive attention in f64.
fn naive_attention(q: &[f32], k: &[f32], v: &[f32], s: &AttentionSpec) -> Vec<f32> {
    let cols = s.heads * s.head_dim;
    let mut out = vec![0f32; q.len()];
    for w in s.bounds.windows(2) {
        let (base, len) = (w[0] as usize, (w[1] - w[0]) as usize);
        for h in 0..s.heads {
            let at = |t: usize, c: usize| (base + t) * cols + h * s.head_dim + c;
            for i in 0..len {
                let keys: Vec<usize> = (0..len).filter(|&j| !s.causal || j <= i).collect();
                let sc: Vec<f64> = keys
                    .iter()
                    .map(|&j| {
                        (0..s.head_dim).map(|c| q[at(i, c)] as f64 * k[at(j, c)] as f64).sum::<f64>()
                            * s.scale as f64
                    })
                    .collect();
                let mx = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = sc.iter().map(|x| (x - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..s.head_dim {
                    out[at(i, c)] =
                        (keys.iter().zip(&e).map(|(&j, p)| p * v[at(j, c)] as f64).sum::<f64>() / z) as f32;
                }
            }
        }
    }
    out
}

#[test]
fn attention_matches_naive_within_sequences_and_causal_masks() {
    let mut r = Rng::new(18);
    for mut be in backends() {
        for causal in [false, true] {
            for &(heads, hd, ref bounds) in
                &[(3, 5, vec![0u32, 6, 8, 8]), (1, 1, vec![0, 1]), (2, 32, vec![0, 17, 26])]
            {
                let spec = AttentionSpec {
                    bounds: bounds.clone(),
                    heads,
                    head_dim: hd,
                    causal,
                    scale: 1.0 / (hd as f32).sqrt(),
                };
                let rows = *bounds.last().unwrap() as usize;
                let n = rows * heads * hd;
                let (q, k, v) = (r.vec(n), r.vec(n), r.vec(n));
                let qt = be.input(&q, rows, heads * hd).unwrap();
                let kt = be.input(&k, rows, heads * hd).unwrap();
                let vt = be.input(&v, rows, heads * hd).unwrap();
                let got = {
                    let t = be.attention(qt, kt, vt, &spec).unwrap();
                    read(&mut be, t)
                };
                let want = naive_attention(&q, &k, &v, &spec);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!((g - w).abs() < 1e-5, "{} causal={causal} [{i}] {g} vs {w}", be.kernels_name());
                }
            }
        }
    }
}

#[test]
fn attention_validates_spec() {
    let mut be = CpuBackend::new();
    let x = be.input(&[0.5; 2 * 3 * 4], 6, 4).unwrap();
    let ok = AttentionSpec { bounds: vec![0, 3, 6], heads: 2, head_dim: 2, causal: false, scale: 0.7 };
    assert!(be.attention(x, x, x, &ok).is_ok());
    let bad = [
        AttentionSpec { bounds: vec![0, 3], ..ok.clone() },
        AttentionSpec { bounds: vec![0, 4, 3, 6], ..ok.clone() },
        AttentionSpec { bounds: vec![], ..ok.clone() },
        AttentionSpec { heads: 3, ..ok.clone() },
        AttentionSpec { scale: f32::NAN, ..ok.clone() },
    ];
    for s in &bad {
        assert!(matches!(be.attention(x, x, x, s), Err(AttuneError::InvalidArgument(_))), "{s:?}");
    }
    let y = be.input(&[0.5; 6 * 2], 6, 2).unwrap();
    assert!(be.attention(x, y, x, &ok).is_err());
}

#[test]
fn quantized_activation_blocks_stay_in_range() {
    // The AVX2 int8 trick relies on activations in [-127, 127]: check the extremes.
    let mut x = [0f32; QK];
    x[0] = -1.0;
    x[1] = 1.0;
    x[2] = -0.999_999;
    assert!(BlockQ8_0::quantize(&x).qs.iter().all(|&q| q >= -127));
    assert!(BlockQ8_1::quantize(&x).qs.iter().all(|&q| q >= -127));
}

// ---- decoder ops: rms_norm, rope, swiglu, slice_rows, kv caches, cached GQA attention ----

use crate::compute::{CachedAttentionSpec, KvCache, RopeSpec, RopeStyle};

#[test]
fn rms_norm_matches_naive() {
    let mut r = Rng::new(30);
    for mut be in backends() {
        for &(rows, cols) in &[(1, 1), (3, 7), (5, 576), (2, 33)] {
            let (x, g) = (r.vec(rows * cols), r.vec(cols));
            let gw = be.weight(&source(GgmlType::F32, 1, cols, &g, 0)).unwrap();
            let xt = be.input(&x, rows, cols).unwrap();
            let t = be.rms_norm(xt, gw, 1e-5).unwrap();
            let got = read(&mut be, t);
            for i in 0..rows {
                let row = &x[i * cols..][..cols];
                let ms = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / cols as f64;
                let inv = 1.0 / (ms + 1e-5).sqrt();
                for c in 0..cols {
                    let want = row[c] as f64 * inv * g[c] as f64;
                    let gv = got[i * cols + c] as f64;
                    assert!((gv - want).abs() < 1e-5 * (1.0 + want.abs()), "{rows}x{cols} [{i},{c}] {gv} vs {want}");
                }
            }
            // Errors: gamma of the wrong width, bad eps, a released tensor.
            let g2 = be.weight(&source(GgmlType::F32, 1, cols + 1, &r.vec(cols + 1), 0)).unwrap();
            assert!(matches!(be.rms_norm(xt, g2, 1e-5), Err(AttuneError::InvalidArgument(_))));
            assert!(matches!(be.rms_norm(xt, gw, f32::NAN), Err(AttuneError::InvalidArgument(_))));
            assert!(matches!(be.rms_norm(xt, gw, -1.0), Err(AttuneError::InvalidArgument(_))));
            be.release(xt);
            assert!(be.rms_norm(xt, gw, 1e-5).is_err());
        }
    }
}

#[test]
fn swiglu_and_slice_rows_match_naive() {
    let mut r = Rng::new(31);
    let mut be = CpuBackend::new();
    let (g, u) = (r.vec(3 * 5), r.vec(3 * 5));
    let (gt, ut) = (be.input(&g, 3, 5).unwrap(), be.input(&u, 3, 5).unwrap());
    let t = be.swiglu(gt, ut).unwrap();
    let got = read(&mut be, t);
    for i in 0..15 {
        let gv = g[i] as f64;
        let want = gv / (1.0 + (-gv).exp()) * u[i] as f64;
        assert!((got[i] as f64 - want).abs() < 1e-6, "[{i}] {} vs {want}", got[i]);
    }
    let other = be.input(&u[..10], 2, 5).unwrap();
    assert!(matches!(be.swiglu(gt, other), Err(AttuneError::InvalidArgument(_))));

    let s = be.slice_rows(gt, 1, 2).unwrap();
    assert_eq!((s.rows, s.cols), (2, 5));
    assert_eq!(read(&mut be, s), g[5..15].to_vec());
    let e = be.slice_rows(gt, 3, 0).unwrap();
    assert_eq!(read(&mut be, e), Vec::<f32>::new());
    for (start, rows) in [(2, 2), (4, 0), (usize::MAX, 2)] {
        assert!(matches!(be.slice_rows(gt, start, rows), Err(AttuneError::InvalidArgument(_))));
    }
}

/// Naive rope in f64, pairs per `style`.
fn naive_rope(x: &[f32], positions: &[u32], s: &RopeSpec) -> Vec<f32> {
    let cols = s.heads * s.head_dim;
    let mut out = x.to_vec();
    let half = s.rot_dims / 2;
    for (r, &p) in positions.iter().enumerate() {
        for h in 0..s.heads {
            let base = r * cols + h * s.head_dim;
            for i in 0..half {
                let theta = p as f64 / (s.freq_base as f64).powf(2.0 * i as f64 / s.rot_dims as f64);
                let (a, b) = match s.style {
                    RopeStyle::Adjacent => (base + 2 * i, base + 2 * i + 1),
                    RopeStyle::Halves => (base + i, base + i + half),
                };
                let (x0, x1) = (x[a] as f64, x[b] as f64);
                out[a] = (x0 * theta.cos() - x1 * theta.sin()) as f32;
                out[b] = (x0 * theta.sin() + x1 * theta.cos()) as f32;
            }
        }
    }
    out
}

#[test]
fn rope_matches_naive_both_styles_and_partial_rotation() {
    let mut r = Rng::new(32);
    let mut be = CpuBackend::new();
    for style in [RopeStyle::Adjacent, RopeStyle::Halves] {
        for &(heads, hd, rot, ref pos) in &[
            (3, 64, 64, vec![0u32, 1, 2, 7, 300]),
            (2, 10, 6, vec![5, 4, 3]),
            (1, 2, 2, vec![70_000]),
            (3, 8, 0, vec![9]),
        ] {
            let spec = RopeSpec { heads, head_dim: hd, rot_dims: rot, freq_base: 100_000.0, style };
            let x = r.vec(pos.len() * heads * hd);
            let xt = be.input(&x, pos.len(), heads * hd).unwrap();
            let t = be.rope(xt, pos, &spec).unwrap();
            let got = read(&mut be, t);
            let want = naive_rope(&x, pos, &spec);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!((g - w).abs() < 2e-6, "{style:?} {heads}x{hd}/{rot} [{i}] {g} vs {w}");
            }
        }
    }
    // Position 0 is the identity.
    let spec = RopeSpec { heads: 1, head_dim: 4, rot_dims: 4, freq_base: 10_000.0, style: RopeStyle::Adjacent };
    let xt = be.input(&[1.0, 2.0, 3.0, 4.0], 1, 4).unwrap();
    let t = be.rope(xt, &[0], &spec).unwrap();
    assert_eq!(read(&mut be, t), vec![1.0, 2.0, 3.0, 4.0]);
    let bad = [
        RopeSpec { rot_dims: 3, ..spec },
        RopeSpec { rot_dims: 6, ..spec },
        RopeSpec { heads: 2, ..spec },
        RopeSpec { freq_base: 0.0, ..spec },
        RopeSpec { freq_base: f32::INFINITY, ..spec },
    ];
    for s in &bad {
        assert!(matches!(be.rope(xt, &[0], s), Err(AttuneError::InvalidArgument(_))), "{s:?}");
    }
    assert!(matches!(be.rope(xt, &[0, 1], &spec), Err(AttuneError::InvalidArgument(_))));
}

/// Naive causal GQA attention in f64 over full k/v `[total, kv_heads * hd]`; queries are the
/// rows at positions `past..past + n`.
fn naive_cached_attention(q: &[f32], k: &[f32], v: &[f32], s: &CachedAttentionSpec) -> Vec<f32> {
    let (hd, cols, kvc) = (s.head_dim, s.heads * s.head_dim, s.kv_heads * s.head_dim);
    let n = q.len() / cols;
    let mut out = vec![0f32; q.len()];
    for i in 0..n {
        for h in 0..s.heads {
            let kh = h * s.kv_heads / s.heads;
            let keys = s.past + i + 1;
            let sc: Vec<f64> = (0..keys)
                .map(|j| {
                    (0..hd).map(|c| q[i * cols + h * hd + c] as f64 * k[j * kvc + kh * hd + c] as f64).sum::<f64>()
                        * s.scale as f64
                })
                .collect();
            let mx = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = sc.iter().map(|x| (x - mx).exp()).collect();
            let z: f64 = e.iter().sum();
            for c in 0..hd {
                let o: f64 = (0..keys).map(|j| e[j] * v[j * kvc + kh * hd + c] as f64).sum();
                out[i * cols + h * hd + c] = (o / z) as f32;
            }
        }
    }
    out
}

#[test]
fn cached_attention_matches_naive_gqa_prefill_then_decode() {
    let mut r = Rng::new(33);
    for mut be in backends() {
        // (heads, kv_heads, head_dim, chunks of new rows written one pass after another)
        for &(heads, kvh, hd, ref chunks) in &[
            (9, 3, 64, vec![5usize, 1, 1, 3]),
            (4, 4, 7, vec![1, 1]),
            (6, 1, 5, vec![13, 2]),
            (2, 2, 33, vec![3]),
        ] {
            let total: usize = chunks.iter().sum();
            let (cols, kvc) = (heads * hd, kvh * hd);
            let (k, v) = (r.vec(total * kvc), r.vec(total * kvc));
            let kc = be.kv_cache(total + 3, kvc).unwrap();
            let vc = be.kv_cache(total + 3, kvc).unwrap();
            let mut past = 0;
            for &n in chunks {
                let q = r.vec(n * cols);
                let kt = be.input(&k[past * kvc..(past + n) * kvc], n, kvc).unwrap();
                let vt = be.input(&v[past * kvc..(past + n) * kvc], n, kvc).unwrap();
                be.cache_write(kc, kt, past).unwrap();
                be.cache_write(vc, vt, past).unwrap();
                let spec = CachedAttentionSpec { past, heads, kv_heads: kvh, head_dim: hd, scale: 1.0 / (hd as f32).sqrt() };
                let qt = be.input(&q, n, cols).unwrap();
                let t = be.attention_cached(qt, kc, vc, &spec).unwrap();
                let got = read(&mut be, t);
                let want = naive_cached_attention(&q, &k, &v, &spec);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!((g - w).abs() < 1e-5, "{} {heads}/{kvh}x{hd} past {past} [{i}] {g} vs {w}", be.kernels_name());
                }
                past += n;
                // Caches survive release_all (activations do not).
                be.release_all();
                assert_eq!(be.cache_rows(kc).unwrap(), past);
            }
            be.free_cache(kc);
            be.free_cache(vc);
        }
    }
}

#[test]
fn caches_rewind_refuse_gaps_overflow_and_freed_handles() {
    let mut be = CpuBackend::new();
    let c = be.kv_cache(4, 2).unwrap();
    let x3 = be.input(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2).unwrap();
    let x1 = be.input(&[9.0, 9.0], 1, 2).unwrap();
    let wide = be.input(&[0.0; 3], 1, 3).unwrap();
    assert!(matches!(be.cache_write(c, x1, 1), Err(AttuneError::InvalidArgument(_))), "gap");
    be.cache_write(c, x3, 0).unwrap();
    assert!(matches!(be.cache_write(c, x3, 3), Err(AttuneError::InvalidArgument(_))), "overflow");
    assert!(matches!(be.cache_write(c, wide, 3), Err(AttuneError::InvalidArgument(_))), "cols");
    be.cache_write(c, x1, 3).unwrap();
    assert_eq!(be.cache_rows(c).unwrap(), 4);
    // Rewind: writing at row 1 leaves two valid rows.
    be.cache_write(c, x1, 1).unwrap();
    assert_eq!(be.cache_rows(c).unwrap(), 2);

    let q = be.input(&[1.0, 0.0], 1, 2).unwrap();
    let ok = CachedAttentionSpec { past: 1, heads: 1, kv_heads: 1, head_dim: 2, scale: 1.0 };
    let t = be.attention_cached(q, c, c, &ok).unwrap();
    // Rows [1, 2] and [9, 9] with scores 1 and 9.
    let got = read(&mut be, t);
    let p = 1.0 / (1.0 + (8f32).exp());
    assert!((got[0] - (p * 1.0 + (1.0 - p) * 9.0)).abs() < 1e-5, "{got:?}");
    let bad = [
        CachedAttentionSpec { past: 2, ..ok },              // needs 3 rows, cache holds 2
        CachedAttentionSpec { past: usize::MAX, ..ok },     // overflow
        CachedAttentionSpec { heads: 2, ..ok },             // q cols
        CachedAttentionSpec { kv_heads: 0, ..ok },
        CachedAttentionSpec { heads: 3, kv_heads: 2, head_dim: 2, ..ok },
        CachedAttentionSpec { scale: f32::NAN, ..ok },
    ];
    for s in &bad {
        assert!(matches!(be.attention_cached(q, c, c, s), Err(AttuneError::InvalidArgument(_))), "{s:?}");
    }
    let other = be.kv_cache(4, 4).unwrap();
    assert!(be.attention_cached(q, c, other, &ok).is_err());
    be.free_cache(c);
    be.free_cache(c); // twice is harmless
    assert!(matches!(be.attention_cached(q, c, c, &ok), Err(AttuneError::InvalidArgument(_))));
    assert!(be.cache_write(c, x1, 0).is_err());
    let forged = KvCache { id: 99, capacity: 4, cols: 2 };
    assert!(be.cache_write(forged, x1, 0).is_err());
    assert!(matches!(be.kv_cache(usize::MAX, 2), Err(AttuneError::InputTooLarge(_))));
}

#[test]
fn float_activation_matmul_matches_naive_on_dequantized_weights() {
    let mut r = Rng::new(34);
    for be in backends() {
        let mut be = be.float_activations(true);
        for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::F16] {
            for &(m, k, n) in &[(1, 64, 5), (5, 96, 3), (33, 32, 2)] {
                let (x, wv) = (r.vec(m * k), r.vec(n * k));
                let w = be.weight(&source(ty, n, k, &wv, 1)).unwrap();
                let xt = be.input(&x, m, k).unwrap();
                let t = be.matmul(xt, w, None).unwrap();
                let got = read(&mut be, t);
                let (want, mag) = naive_matmul(&x, &dequantized(ty, &wv), None, m, k, n);
                for i in 0..m * n {
                    assert!((got[i] - want[i]).abs() <= 1e-5 * mag[i].max(1.0), "{ty:?} [{i}] {} vs {}", got[i], want[i]);
                }
            }
        }
        let w40 = be.weight(&source(GgmlType::Q8_0, 4, 40, &r.vec(160), 0)).unwrap();
        let x40 = be.input(&r.vec(80), 2, 40).unwrap();
        assert!(matches!(be.matmul(x40, w40, None), Err(AttuneError::InvalidArgument(_))));
    }
}
