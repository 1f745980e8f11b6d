// Element loads from a weight kept in its ggml block layout, uploaded as raw bytes in an
// array<u32> named `w` (declared by the kernel that includes this file). The kernel source is
// prefixed with `const WTYPE: u32 = <ggml type id>;`, so the branch below folds away.
// Block layouts (bytes): Q4_0 = f16 d, 16 nibble bytes (18); Q4_1 = f16 d, f16 m, 16 (20);
// Q8_0 = f16 d, 32 i8 (34); Q8_1 = f16 d, f16 s, 32 i8 (36). Nibble byte j holds element j
// (low) and j + 16 (high). Every f16 in these layouts sits at an even byte offset.

fn w_byte(i: u32) -> u32 {
    return (w[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

// The f16 at even byte offset `i`.
fn w_half(i: u32) -> f32 {
    let v = unpack2x16float(w[i >> 2u]);
    return select(v.x, v.y, (i & 2u) != 0u);
}

fn w_nibble(base: u32, j: u32) -> f32 {
    let b = w_byte(base + (j & 15u));
    return f32(select(b & 15u, b >> 4u, j >= 16u));
}

fn w_i8(i: u32) -> f32 {
    return f32((i32(w_byte(i)) << 24u) >> 24u);
}

// Element `e` (row-major index) of the weight, dequantized.
fn load_w(e: u32) -> f32 {
    let b = e >> 5u;
    let j = e & 31u;
    if (WTYPE == 0u) {
        return bitcast<f32>(w[e]);
    } else if (WTYPE == 1u) {
        let v = unpack2x16float(w[e >> 1u]);
        return select(v.x, v.y, (e & 1u) != 0u);
    } else if (WTYPE == 2u) {
        let base = b * 18u;
        return (w_nibble(base + 2u, j) - 8.0) * w_half(base);
    } else if (WTYPE == 3u) {
        let base = b * 20u;
        return w_nibble(base + 4u, j) * w_half(base) + w_half(base + 2u);
    } else if (WTYPE == 8u) {
        let base = b * 34u;
        return w_i8(base + 2u + j) * w_half(base);
    } else {
        let base = b * 36u;
        return w_i8(base + 4u + j) * w_half(base);
    }
}

// The 8 bytes at even byte offset `off`, as two little-endian words.
fn w_bytes8(off: u32) -> vec2<u32> {
    let i = off >> 2u;
    let a = w[i];
    let b = w[i + 1u];
    if ((off & 2u) == 0u) {
        return vec2<u32>(a, b);
    }
    // Bytes off..off+8 end in the word holding byte off+7, which lies inside the buffer.
    let c = w[(off + 7u) >> 2u];
    return vec2<u32>((a >> 16u) | (b << 16u), (b >> 16u) | (c << 16u));
}

// Signed byte `j` (0..3) of `v`.
fn i8_at(v: u32, j: u32) -> f32 {
    return f32(bitcast<i32>(v << (24u - 8u * j)) >> 24u);
}

// Elements k0..k0+8 of weight row `row` (rows of `kdim` elements), dequantized: the block's
// scale read once and the quants as two words instead of one lookup per element. `k0` is a
// multiple of 8. For the quantized types kdim is a multiple of 32, so the 8 lie in one block;
// for F32/F16 elements past kdim read as 0.
fn load_w8(row: u32, k0: u32, kdim: u32) -> array<f32, 8> {
    var o: array<f32, 8>;
    let e = row * kdim + k0;
    if (WTYPE == 0u || WTYPE == 1u) {
        for (var i = 0u; i < 8u; i++) {
            if (k0 + i < kdim) {
                o[i] = load_w(e + i);
            }
        }
        return o;
    }
    let b = e >> 5u;
    let j = e & 31u;
    if (WTYPE == 2u || WTYPE == 3u) {
        // Nibble byte t holds elements t (low) and t + 16 (high).
        let base = b * select(18u, 20u, WTYPE == 3u);
        let v = w_bytes8(base + select(2u, 4u, WTYPE == 3u) + (j & 15u));
        let sh = select(0u, 4u, j >= 16u);
        let d = w_half(base);
        let m = select(-8.0 * d, w_half(base + 2u), WTYPE == 3u);
        for (var i = 0u; i < 4u; i++) {
            o[i] = f32((v.x >> (8u * i + sh)) & 15u) * d + m;
            o[i + 4u] = f32((v.y >> (8u * i + sh)) & 15u) * d + m;
        }
        return o;
    }
    let base = b * select(34u, 36u, WTYPE == 9u);
    let v = w_bytes8(base + select(2u, 4u, WTYPE == 9u) + j);
    let d = w_half(base);
    for (var i = 0u; i < 4u; i++) {
        o[i] = i8_at(v.x, i) * d;
        o[i + 4u] = i8_at(v.y, i) * d;
    }
    return o;
}
