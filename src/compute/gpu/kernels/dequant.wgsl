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
