//! Every op of the GPU backend against the CPU backend (the reference) on random inputs,
//! natively on whatever Vulkan adapter there is (Mesa lavapipe on the CI machines), including
//! sizes that are not multiples of the kernels' tiles and workgroups.
//!
//! No adapter: each test prints a note and passes, unless `ATTUNE_REQUIRE_GPU=1`, where it
//! fails (CI sets it once the setup has installed lavapipe).

use super::*;
use crate::compute::cpu::simd::tests::Rng;
use crate::compute::cpu::CpuBackend;
use crate::compute::SharedBytes;
use crate::quant::{quantize, GgmlType};
use std::sync::OnceLock;

/// The shared context, or `None` (with a note) when there is no adapter and none is required.
fn ctx() -> Option<Arc<GpuContext>> {
    static CTX: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();
    let r = CTX.get_or_init(|| pollster::block_on(GpuContext::new()).map_err(|e| e.to_string()));
    match r {
        Ok(c) => Some(c.clone()),
        Err(e) => {
            if std::env::var("ATTUNE_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("ATTUNE_REQUIRE_GPU=1 but no GPU adapter: {e}");
            }
            eprintln!("note: GPU test skipped, no adapter ({e}); set ATTUNE_REQUIRE_GPU=1 to fail instead");
            None
        }
    }
}

macro_rules! gpu {
    () => {
        match ctx() {
            Some(c) => GpuBackend::with_context(c),
            None => return,
        }
    };
}

const ALL_TYPES: [GgmlType; 6] =
    [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_1];

fn source(ty: GgmlType, rows: usize, cols: usize, data: &[f32], offset: usize) -> WeightSource {
    let mut bytes = vec![0xAAu8; offset];
    bytes.extend(quantize(ty, data).unwrap());
    bytes.extend([0x55u8; 7]);
    let bytes: SharedBytes = Arc::new(bytes);
    WeightSource { name: format!("w.{}", ty.name()), dtype: ty, rows, cols, bytes, offset }
}

fn dequantized(ty: GgmlType, data: &[f32]) -> Vec<f32> {
    let q = quantize(ty, data).unwrap();
    let mut out = vec![0f32; data.len()];
    dequantize(ty, &q, &mut out).unwrap();
    out
}

fn gread(be: &mut GpuBackend, t: Tensor) -> Vec<f32> {
    pollster::block_on(be.read(t)).unwrap()
}

fn cread(be: &mut CpuBackend, t: Tensor) -> Vec<f32> {
    pollster::block_on(be.read(t)).unwrap()
}

/// Largest |a - b| / (scale + |b|) over the values; asserts it is at most `tol`.
fn check(what: &str, got: &[f32], want: &[f32], scale: f32, tol: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let e = (g - w).abs() / (scale + w.abs());
        assert!(e <= tol, "{what}: element {i}: gpu {g} vs cpu {w} (relative error {e} > {tol})");
        worst = worst.max(e);
    }
    worst
}

/// Naive f64 `x · wᵀ + b` and Σ|x||w| per output.
fn naive_matmul(x: &[f32], w: &[f32], b: Option<&[f32]>, m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
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

#[test]
fn matmul_every_weight_type_matches_the_reference() {
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(41);
    let mut report = Vec::new();
    for ty in ALL_TYPES {
        let (mut worst_naive, mut worst_cpu) = (0f32, 0f32);
        // m: the matrix-vector kernel, the narrow matmul tile (16 rows), the wide one (64) with
        // partial tiles; n: under, over and exactly one multiple of the 64 columns of a tile.
        for (case, &(m, k, n)) in [1, 7, 33, 70]
            .iter()
            .flat_map(|&m| [32, 384].into_iter().flat_map(move |k| [5, 100, 384].into_iter().map(move |n| (m, k, n))))
            .collect::<Vec<_>>()
            .iter()
            .enumerate()
        {
            let (x, wv, bv) = (r.vec(m * k), r.vec(n * k), r.vec(n));
            let with_bias = case % 2 == 0;
            let offset = case % 3; // weights at unaligned offsets in the "file"
            let src = source(ty, n, k, &wv, offset);
            let bsrc = source(GgmlType::F32, 1, n, &bv, 0);
            let (gw, cw) = (be.weight(&src).unwrap(), cpu.weight(&src).unwrap());
            let (gb, cb) = (be.weight(&bsrc).unwrap(), cpu.weight(&bsrc).unwrap());
            let gx = be.input(&x, m, k).unwrap();
            let cx = cpu.input(&x, m, k).unwrap();
            let gy = be.matmul(gx, gw, with_bias.then_some(gb)).unwrap();
            let cy = cpu.matmul(cx, cw, with_bias.then_some(cb)).unwrap();
            let got = gread(&mut be, gy);
            let want_cpu = cread(&mut cpu, cy);
            // Exact weights in f64: only f32 summation error is allowed.
            let (naive, mag) = naive_matmul(&x, &dequantized(ty, &wv), with_bias.then_some(&bv[..]), m, k, n);
            for i in 0..m * n {
                let e = (got[i] - naive[i]).abs() / mag[i].max(1e-6);
                assert!(e <= 2e-6, "{} {m}x{k}x{n} [{i}]: gpu {} vs exact {} (err {e})", ty.name(), got[i], naive[i]);
                worst_naive = worst_naive.max(e);
                // The CPU quantizes activations to 8 bits for the quantized types.
                let tol = if matches!(ty, GgmlType::F32 | GgmlType::F16) { 2e-6 } else { 2e-2 };
                let e = (got[i] - want_cpu[i]).abs() / mag[i].max(1e-6);
                assert!(e <= tol, "{} {m}x{k}x{n} [{i}]: gpu {} vs cpu {} (err {e})", ty.name(), got[i], want_cpu[i]);
                worst_cpu = worst_cpu.max(e);
            }
            be.release_all();
            cpu.release_all();
        }
        report.push(format!("{}: max err vs exact {worst_naive:.2e}, vs cpu {worst_cpu:.2e} (relative to Σ|x·w|)", ty.name()));
    }
    println!("matmul on {}:\n  {}", be.context().describe(), report.join("\n  "));
}

#[test]
fn matmul_float_weights_with_k_off_the_tile() {
    let mut be = gpu!();
    let mut r = Rng::new(7);
    for &(m, k, n) in &[(1, 1, 1), (1, 13, 9), (3, 5, 7), (17, 37, 19), (16, 64, 16), (2, 0, 3), (40, 45, 70)] {
        for ty in [GgmlType::F32, GgmlType::F16] {
            let (x, wv, bv) = (r.vec(m * k), r.vec(n * k), r.vec(n));
            let w = be.weight(&source(ty, n, k, &wv, 1)).unwrap();
            let b = be.weight(&source(GgmlType::F32, 1, n, &bv, 0)).unwrap();
            let xt = be.input(&x, m, k).unwrap();
            let y = be.matmul(xt, w, Some(b)).unwrap();
            let got = gread(&mut be, y);
            let (naive, mag) = naive_matmul(&x, &dequantized(ty, &wv), Some(&bv), m, k, n);
            for i in 0..m * n {
                assert!((got[i] - naive[i]).abs() <= 2e-6 * mag[i].max(1e-6), "{} {m}x{k}x{n}", ty.name());
            }
        }
    }
}

#[test]
fn gather_every_type_matches_the_cpu() {
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(3);
    for ty in ALL_TYPES {
        let (rows, cols) = (37, 96);
        let table = r.vec(rows * cols);
        let src = source(ty, rows, cols, &table, 5);
        let (gw, cw) = (be.weight(&src).unwrap(), cpu.weight(&src).unwrap());
        for ids in [vec![], vec![0], vec![36, 0, 5, 5, 17, 36, 1]] {
            let gt = be.gather(gw, &ids).unwrap();
            let ct = cpu.gather(cw, &ids).unwrap();
            assert_eq!((gt.rows, gt.cols), (ids.len(), cols));
            check(&format!("gather {}", ty.name()), &gread(&mut be, gt), &cread(&mut cpu, ct), 1e-30, 1e-6);
        }
        assert!(be.gather(gw, &[rows as u32]).is_err());
    }
}

#[test]
fn elementwise_and_row_ops_match_the_cpu() {
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(11);
    let mut worst = [0f32; 4];
    for &(rows, cols) in &[(1, 1), (1, 384), (7, 5), (33, 384), (3, 1000), (300, 257)] {
        let a: Vec<f32> = r.vec(rows * cols).iter().map(|v| v * 4.0).collect();
        let b = r.vec(rows * cols);
        let (g, bta) = (r.vec(cols), r.vec(cols));
        let gs = source(GgmlType::F32, 1, cols, &g, 0);
        let bs = source(GgmlType::F16, 1, cols, &bta, 1);
        let (gg, gb) = (be.weight(&gs).unwrap(), be.weight(&bs).unwrap());
        let (cg, cb) = (cpu.weight(&gs).unwrap(), cpu.weight(&bs).unwrap());
        let (ga, gbb) = (be.input(&a, rows, cols).unwrap(), be.input(&b, rows, cols).unwrap());
        let (ca, cbb) = (cpu.input(&a, rows, cols).unwrap(), cpu.input(&b, rows, cols).unwrap());

        let t = (be.add(ga, gbb).unwrap(), cpu.add(ca, cbb).unwrap());
        worst[0] = worst[0].max(check("add", &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1e-30, 0.0));
        let t = (be.gelu(ga).unwrap(), cpu.gelu(ca).unwrap());
        // WGSL's exp may be off by 3 + 2|x| ulp (lavapipe's is a polynomial): the negative tail of
        // GELU, a small value from exp(-x²/2), is the least precise part (~3e-5 relative).
        worst[1] = worst[1].max(check("gelu", &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1e-2, 1e-5));
        let t = (be.layer_norm(ga, gg, gb, 1e-12).unwrap(), cpu.layer_norm(ca, cg, cb, 1e-12).unwrap());
        worst[2] = worst[2].max(check("layer_norm", &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1e-2, 2e-5));
        let t = (be.l2_normalize(ga).unwrap(), cpu.l2_normalize(ca).unwrap());
        worst[3] = worst[3].max(check("l2_normalize", &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1e-3, 2e-5));
        be.release_all();
        cpu.release_all();
    }
    println!("max relative errors: add {:.1e}, gelu {:.1e}, layer_norm {:.1e}, l2_normalize {:.1e}", worst[0], worst[1], worst[2], worst[3]);

    // A zero row stays zero; layer norm refuses a bad eps like the CPU.
    let z = be.input(&[0.0; 6], 2, 3).unwrap();
    let n = be.l2_normalize(z).unwrap();
    assert_eq!(gread(&mut be, n), vec![0.0; 6]);
    let g = be.weight(&source(GgmlType::F32, 1, 3, &[1.0; 3], 0)).unwrap();
    assert!(be.layer_norm(z, g, g, f32::NAN).is_err());
    assert!(be.layer_norm(z, g, g, -1.0).is_err());
}

#[test]
fn attention_matches_the_cpu() {
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(5);
    let mut worst = 0f32;
    let cases: &[(&[u32], usize, usize)] = &[
        (&[0, 1], 1, 8),
        (&[0, 7], 12, 32),
        (&[0, 3, 3, 20, 21, 70], 12, 32), // an empty sequence in the middle
        (&[0, 9, 33], 3, 5),              // head_dim not a power of two
        (&[0, 200], 2, 64),
    ];
    for &(bounds, heads, hd) in cases {
        let rows = *bounds.last().unwrap() as usize;
        let cols = heads * hd;
        for causal in [false, true] {
            let spec = AttentionSpec { bounds: bounds.to_vec(), heads, head_dim: hd, causal, scale: 1.0 / (hd as f32).sqrt() };
            let (q, k, v) = (r.vec(rows * cols), r.vec(rows * cols), r.vec(rows * cols));
            let g = [be.input(&q, rows, cols).unwrap(), be.input(&k, rows, cols).unwrap(), be.input(&v, rows, cols).unwrap()];
            let c = [cpu.input(&q, rows, cols).unwrap(), cpu.input(&k, rows, cols).unwrap(), cpu.input(&v, rows, cols).unwrap()];
            let go = be.attention(g[0], g[1], g[2], &spec).unwrap();
            let co = cpu.attention(c[0], c[1], c[2], &spec).unwrap();
            let what = format!("attention {bounds:?} heads {heads} hd {hd} causal {causal}");
            worst = worst.max(check(&what, &gread(&mut be, go), &cread(&mut cpu, co), 1e-2, 1e-5));
            let mut bad = spec.clone();
            bad.bounds = vec![0, rows as u32 + 1];
            assert!(be.attention(g[0], g[1], g[2], &bad).is_err());
            bad = spec.clone();
            bad.heads += 1;
            assert!(be.attention(g[0], g[1], g[2], &bad).is_err());
            be.release_all();
            cpu.release_all();
        }
    }
    println!("attention: max relative error {worst:.1e}");
}

#[test]
fn mean_pool_matches_the_cpu() {
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(9);
    for (bounds, cols) in [(vec![0u32, 1], 384usize), (vec![0, 0, 5, 5, 12, 40], 7), (vec![0, 300], 3)] {
        let rows = *bounds.last().unwrap() as usize;
        let x = r.vec(rows * cols);
        let (gx, cx) = (be.input(&x, rows, cols).unwrap(), cpu.input(&x, rows, cols).unwrap());
        let (gp, cp) = (be.mean_pool(gx, &bounds).unwrap(), cpu.mean_pool(cx, &bounds).unwrap());
        assert_eq!((gp.rows, gp.cols), (bounds.len() - 1, cols));
        check("mean_pool", &gread(&mut be, gp), &cread(&mut cpu, cp), 1e-3, 1e-5);
        assert!(be.mean_pool(gx, &[0, rows as u32 + 1]).is_err());
        assert!(be.mean_pool(gx, &[1, rows as u32]).is_err());
    }
}

#[test]
fn a_chain_of_ops_is_one_submission_and_one_readback() {
    let mut be = gpu!();
    let mut r = Rng::new(13);
    let (a, b) = (r.vec(40 * 33), r.vec(40 * 33));
    let ta = be.input(&a, 40, 33).unwrap();
    let g = be.gelu(ta).unwrap();
    be.release(g);
    // Likely reuses the buffer `g` just freed, whose dispatch has not run yet: the upload must
    // land after that dispatch, not before.
    let tb = be.input(&b, 40, 33).unwrap();
    let s = be.add(ta, tb).unwrap();
    let g2 = be.gelu(s).unwrap();
    let before = be.stats();
    let got = gread(&mut be, g2);
    let after = be.stats();
    assert_eq!(after.submissions - before.submissions, 1);
    assert_eq!(after.readbacks - before.readbacks, 1);
    assert_eq!(after.dispatches - before.dispatches, 3);
    let mut want = crate::compute::cpu::ops::add(&a, &b);
    crate::compute::cpu::ops::gelu(&mut want);
    check("chain", &got, &want, 1e-3, 2e-6);
    assert!(after.pool.reused >= 1, "the released buffer was reused: {after:?}");
    // Reading again runs nothing new.
    assert_eq!(gread(&mut be, g2), got);
    assert_eq!(be.stats().dispatches, after.dispatches);
}

#[test]
fn bad_handles_and_shapes_are_errors() {
    let mut be = gpu!();
    let x = be.input(&[1.0; 6], 2, 3).unwrap();
    let y = be.input(&[1.0; 6], 3, 2).unwrap();
    assert!(be.input(&[1.0; 5], 2, 3).is_err());
    assert!(be.add(x, y).is_err());
    let w = be.weight(&source(GgmlType::Q8_0, 2, 32, &[0.5; 64], 0)).unwrap();
    assert!(be.matmul(x, w, None).is_err());
    let f = be.weight(&source(GgmlType::F32, 2, 3, &[0.5; 6], 0)).unwrap();
    assert!(be.matmul(x, f, Some(w)).is_err(), "bias of the wrong length");
    be.release(x);
    assert!(be.gelu(x).is_err(), "released handle");
    assert!(pollster::block_on(be.read(x)).is_err());
    be.release(x); // twice: no effect
    be.release_all();
    assert!(be.gelu(y).is_err());
    assert_eq!(be.live_tensors(), 0);
    let bogus = Weight { id: 99, dtype: GgmlType::F32, rows: 1, cols: 1 };
    assert!(be.gather(bogus, &[0]).is_err());
    // Empty tensors read back empty.
    let e = be.input(&[], 0, 4).unwrap();
    assert_eq!(gread(&mut be, e), Vec::<f32>::new());
}

#[test]
fn decoder_row_ops_match_the_cpu() {
    use crate::compute::{RopeSpec, RopeStyle};
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(17);
    let mut worst = [0f32; 4];
    for &(rows, heads, hd) in &[(1, 1, 2), (5, 9, 64), (33, 3, 10), (70, 4, 6)] {
        let cols = heads * hd;
        let a: Vec<f32> = r.vec(rows * cols).iter().map(|v| v * 4.0).collect();
        let b = r.vec(rows * cols);
        let g = r.vec(cols);
        let gs = source(GgmlType::F32, 1, cols, &g, 0);
        let (gg, cg) = (be.weight(&gs).unwrap(), cpu.weight(&gs).unwrap());
        let (ga, gb) = (be.input(&a, rows, cols).unwrap(), be.input(&b, rows, cols).unwrap());
        let (ca, cb) = (cpu.input(&a, rows, cols).unwrap(), cpu.input(&b, rows, cols).unwrap());

        let t = (be.rms_norm(ga, gg, 1e-5).unwrap(), cpu.rms_norm(ca, cg, 1e-5).unwrap());
        worst[0] = worst[0].max(check("rms_norm", &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1e-2, 2e-5));
        let t = (be.swiglu(ga, gb).unwrap(), cpu.swiglu(ca, cb).unwrap());
        worst[1] = worst[1].max(check("swiglu", &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1e-2, 1e-5));
        // Far positions too: the angles come from the host in f64, as on the CPU.
        let positions: Vec<u32> = (0..rows as u32).map(|i| i * 37 + 3 + (i % 3) * 5000).collect();
        for style in [RopeStyle::Adjacent, RopeStyle::Halves] {
            for rot in [hd, hd / 2 / 2 * 2, 0] {
                let spec = RopeSpec { heads, head_dim: hd, rot_dims: rot, freq_base: 10000.0, style };
                let t = (be.rope(ga, &positions, &spec).unwrap(), cpu.rope(ca, &positions, &spec).unwrap());
                let what = format!("rope {style:?} rot {rot} of {hd}");
                // Scale 1: where x0·c − x1·s cancels to ~0, a fused multiply-add on one side is off by
                // an ulp of the terms, not of the result.
                worst[2] = worst[2].max(check(&what, &gread(&mut be, t.0), &cread(&mut cpu, t.1), 1.0, 1e-6));
            }
        }
        let start = rows / 3;
        let n = rows - start - rows / 4;
        let t = (be.slice_rows(ga, start, n).unwrap(), cpu.slice_rows(ca, start, n).unwrap());
        assert_eq!(gread(&mut be, t.0), cread(&mut cpu, t.1), "slice_rows");
        assert!(be.slice_rows(ga, start + 1, rows).is_err());
        let bad = RopeSpec { heads, head_dim: hd, rot_dims: hd + 2, freq_base: 10000.0, style: RopeStyle::Adjacent };
        assert!(be.rope(ga, &positions, &bad).is_err());
        assert!(be.rope(ga, &positions[1..], &RopeSpec { rot_dims: hd, ..bad }).is_err());
        be.release_all();
        cpu.release_all();
    }
    println!("max relative errors: rms_norm {:.1e}, swiglu {:.1e}, rope {:.1e}", worst[0], worst[1], worst[2]);
}

/// Prefill then decode step by step through key/value caches (grouped-query attention, with a
/// rewind), as the Llama decoder drives them, against the CPU backend.
#[test]
fn kv_caches_and_cached_attention_match_the_cpu() {
    use crate::compute::CachedAttentionSpec;
    let mut be = gpu!();
    let mut cpu = CpuBackend::new();
    let mut r = Rng::new(23);
    for &(heads, kv_heads, hd) in &[(9, 3, 64), (4, 4, 5), (6, 1, 16)] {
        let (cols, kv_cols) = (heads * hd, kv_heads * hd);
        let cap = 40;
        let (gk, gv) = (be.kv_cache(cap, kv_cols).unwrap(), be.kv_cache(cap, kv_cols).unwrap());
        let (ck, cv) = (cpu.kv_cache(cap, kv_cols).unwrap(), cpu.kv_cache(cap, kv_cols).unwrap());
        let mut worst = 0f32;
        // (rows written at `past`): a prefill of 13, three single steps, a rewind to 10, 2 rows.
        let mut past = 0;
        for (i, &(n, at)) in [(13usize, 0usize), (1, 13), (1, 14), (1, 15), (2, 10), (1, 12)].iter().enumerate() {
            past = at;
            let (q, k, v) = (r.vec(n * cols), r.vec(n * kv_cols), r.vec(n * kv_cols));
            let g = [be.input(&q, n, cols).unwrap(), be.input(&k, n, kv_cols).unwrap(), be.input(&v, n, kv_cols).unwrap()];
            let c = [cpu.input(&q, n, cols).unwrap(), cpu.input(&k, n, kv_cols).unwrap(), cpu.input(&v, n, kv_cols).unwrap()];
            be.cache_write(gk, g[1], past).unwrap();
            be.cache_write(gv, g[2], past).unwrap();
            cpu.cache_write(ck, c[1], past).unwrap();
            cpu.cache_write(cv, c[2], past).unwrap();
            let spec = CachedAttentionSpec { past, heads, kv_heads, head_dim: hd, scale: 1.0 / (hd as f32).sqrt() };
            let go = be.attention_cached(g[0], gk, gv, &spec).unwrap();
            let co = cpu.attention_cached(c[0], ck, cv, &spec).unwrap();
            let what = format!("attention_cached heads {heads}/{kv_heads} hd {hd} step {i}");
            worst = worst.max(check(&what, &gread(&mut be, go), &cread(&mut cpu, co), 1e-2, 1e-5));
            // Past the rows the cache holds: refused like the CPU.
            let beyond = CachedAttentionSpec { past: past + 1, ..spec };
            assert!(be.attention_cached(g[0], gk, gv, &beyond).is_err());
            be.release_all(); // caches survive
            cpu.release_all();
        }
        let _ = past;
        let x = be.input(&r.vec(kv_cols), 1, kv_cols).unwrap();
        assert!(be.cache_write(gk, x, 14).is_err(), "writing past the rows held");
        be.free_cache(gk);
        assert!(be.cache_write(gk, x, 0).is_err(), "freed");
        be.free_cache(gk); // twice: ignored
        be.free_cache(gv);
        println!("attention_cached {heads}/{kv_heads} x {hd}: max relative error {worst:.1e}");
    }
}
