//! AVX2 + FMA + F16C kernels for x86-64. Only handed out (see [`kernels`]) after runtime
//! detection, which is what makes the safe wrappers around the `unsafe` functions sound.
//!
//! Int8 dots use `maddubs` (unsigned × signed → i16 pairs): the weight's sign is moved onto the
//! activation (`sign(x, w)`) and its magnitude taken (`sign(w, w)`, where -128 reads back as
//! unsigned 128). That is exact for every weight byte as long as activations stay in
//! [-127, 127], which Q8 quantization guarantees (it rounds `x / d` with `|x / d| <= 127`);
//! the i16 pair sums are at most 2·128·127 < 32767, so they never saturate.

use super::{ActQ8_0, ActQ8_1, Kernels};
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ8_0};
use core::arch::x86_64::*;

/// The AVX2 kernel set, or `None` when this CPU lacks AVX2, FMA or F16C.
pub fn kernels() -> Option<Kernels> {
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
    {
        Some(Kernels {
            name: "avx2",
            dot_f32: |a, b| unsafe { dot_f32(a, b) },
            dot_f16_f32: |w, x| unsafe { dot_f16_f32(w, x) },
            dot_q8_0: |w, x| unsafe { dot_q8_0(w, x) },
            dot_q4_0: |w, x| unsafe { dot_q4_0(w, x) },
            dot_q4_1: |w, x| unsafe { dot_q4_1(w, x) },
            dot4_q8_0: |w, x| unsafe { dot4_q8_0(w, x) },
            dot4_q4_0: |w, x| unsafe { dot4_q4_0(w, x) },
            dot4_q4_1: |w, x| unsafe { dot4_q4_1(w, x) },
            // maddubs already multiplies bytes: the four-row kernel needs no widened tile.
            tile_q8_0: None,
        })
    } else {
        None
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn h2f(b: [u8; 2]) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(u16::from_le_bytes(b) as i32)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// 32 signed bytes · 32 signed bytes → eight i32 partial sums (exact, see module docs).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn mul_i8(w: __m256i, x: __m256i) -> __m256i {
    let p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    _mm256_madd_epi16(p16, _mm256_set1_epi16(1))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(p: &[i8; 32]) -> __m256i {
    _mm256_loadu_si256(p.as_ptr() as *const __m256i)
}

/// The 32 nibbles of a 4-bit block as bytes in element order (low nibbles first).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles(qs: &[u8; 16]) -> __m256i {
    let v = _mm_loadu_si128(qs.as_ptr() as *const __m128i);
    let m4 = _mm_set1_epi8(0x0f);
    let lo = _mm_and_si128(v, m4);
    let hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
    _mm256_set_m128i(hi, lo)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (u, acc) in acc.iter_mut().enumerate() {
            let o = i + 8 * u;
            *acc = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(o)), _mm256_loadu_ps(pb.add(o)), *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc[0]);
        i += 8;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut s = hsum(v);
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f16_f32(w: &[u8], x: &[f32]) -> f32 {
    let n = (w.len() / 2).min(x.len());
    let (pw, px) = (w.as_ptr(), x.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut i = 0;
    while i + 16 <= n {
        for (u, acc) in acc.iter_mut().enumerate() {
            let o = i + 8 * u;
            let wf = _mm256_cvtph_ps(_mm_loadu_si128(pw.add(2 * o) as *const __m128i));
            *acc = _mm256_fmadd_ps(wf, _mm256_loadu_ps(px.add(o)), *acc);
        }
        i += 16;
    }
    while i + 8 <= n {
        let wf = _mm256_cvtph_ps(_mm_loadu_si128(pw.add(2 * i) as *const __m128i));
        acc[0] = _mm256_fmadd_ps(wf, _mm256_loadu_ps(px.add(i)), acc[0]);
        i += 8;
    }
    let mut s = hsum(_mm256_add_ps(acc[0], acc[1]));
    while i < n {
        s += h2f([w[2 * i], w[2 * i + 1]]) * x[i];
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q8_0(w: &[BlockQ8_0], x: &[ActQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (a, b) in w.iter().zip(x) {
        let p = _mm256_cvtepi32_ps(mul_i8(load32(&a.qs), load32(&b.qs)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a.d) * b.d), p, acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_0(w: &[BlockQ4_0], x: &[ActQ8_0]) -> f32 {
    let eight = _mm256_set1_epi8(8);
    let mut acc = _mm256_setzero_ps();
    for (a, b) in w.iter().zip(x) {
        let q = _mm256_sub_epi8(nibbles(&a.qs), eight);
        let p = _mm256_cvtepi32_ps(mul_i8(q, load32(&b.qs)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a.d) * b.d), p, acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_1(w: &[BlockQ4_1], x: &[ActQ8_1]) -> f32 {
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_ps();
    let mut offs = 0f32;
    for (a, b) in w.iter().zip(x) {
        // Nibbles are already unsigned: maddubs takes them as they are.
        let p16 = _mm256_maddubs_epi16(nibbles(&a.qs), load32(&b.qs));
        let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(a.d) * b.d), p, acc);
        offs += h2f(a.m) * b.s;
    }
    hsum(acc) + offs
}

/// The four activation rows cut to a common block count with the weight row.
#[inline(always)]
fn common<'a, W, X>(w: &'a [W], x: [&'a [X]; 4]) -> (&'a [W], [&'a [X]; 4]) {
    let nb = x.iter().fold(w.len(), |n, x| n.min(x.len()));
    (&w[..nb], x.map(|x| &x[..nb]))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum4(acc: [__m256; 4]) -> [f32; 4] {
    [hsum(acc[0]), hsum(acc[1]), hsum(acc[2]), hsum(acc[3])]
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q8_0(w: &[BlockQ8_0], x: [&[ActQ8_0]; 4]) -> [f32; 4] {
    let (w, x) = common(w, x);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); 4];
    for (b, a) in w.iter().enumerate() {
        let q = load32(&a.qs);
        let aq = _mm256_sign_epi8(q, q);
        let dw = h2f(a.d);
        for (acc, x) in acc.iter_mut().zip(x) {
            let xb = &x[b];
            let p16 = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(load32(&xb.qs), q));
            let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            *acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * xb.d), p, *acc);
        }
    }
    hsum4(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q4_0(w: &[BlockQ4_0], x: [&[ActQ8_0]; 4]) -> [f32; 4] {
    let (w, x) = common(w, x);
    let (ones, eight) = (_mm256_set1_epi16(1), _mm256_set1_epi8(8));
    let mut acc = [_mm256_setzero_ps(); 4];
    for (b, a) in w.iter().enumerate() {
        let q = _mm256_sub_epi8(nibbles(&a.qs), eight);
        let aq = _mm256_sign_epi8(q, q);
        let dw = h2f(a.d);
        for (acc, x) in acc.iter_mut().zip(x) {
            let xb = &x[b];
            let p16 = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(load32(&xb.qs), q));
            let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            *acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * xb.d), p, *acc);
        }
    }
    hsum4(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_q4_1(w: &[BlockQ4_1], x: [&[ActQ8_1]; 4]) -> [f32; 4] {
    let (w, x) = common(w, x);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut offs = [0f32; 4];
    for (b, a) in w.iter().enumerate() {
        let q = nibbles(&a.qs);
        let (dw, mw) = (h2f(a.d), h2f(a.m));
        for ((acc, offs), x) in acc.iter_mut().zip(offs.iter_mut()).zip(x) {
            let xb = &x[b];
            let p16 = _mm256_maddubs_epi16(q, load32(&xb.qs));
            let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            *acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * xb.d), p, *acc);
            *offs += mw * xb.s;
        }
    }
    let s = hsum4(acc);
    [s[0] + offs[0], s[1] + offs[1], s[2] + offs[2], s[3] + offs[3]]
}
