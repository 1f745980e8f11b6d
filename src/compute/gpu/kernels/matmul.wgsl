// y[m, n] = x[m, k] · w[n, k]ᵀ (+ bias[n]). A workgroup of 16 x WY invocations computes a
// (4·WY) x 64 tile of y, each invocation a 4 x 4 block of it (rows ty + WY·i, columns
// tx + 16j), so every value read from workgroup memory feeds 4 multiply-adds. Per step of 32
// along k, x's rows and w's rows are staged in workgroup memory, w dequantized once: an
// invocation unpacks 8 consecutive weights of a row at a time (one scale read, two words of
// quants). WY (4 for a few rows, 16 for many) is a `const` prefixed to the source.
// Edges (m, n, k not multiples of the tile) are padded with zeros.

struct Params { m: u32, n: u32, k: u32, has_bias: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const BM: u32 = WY * 4u;
const NT: u32 = 16u * WY;
const BN: u32 = 64u;
const KT: u32 = 32u;

// k-major: xs[t * BM + row], ws[t * BN + col], so the 16 invocations of a row of the
// workgroup read 16 consecutive words.
var<workgroup> xs: array<f32, BM * KT>;
var<workgroup> ws: array<f32, BN * KT>;

@compute @workgroup_size(16, WY)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let li = lid.y * 16u + lid.x;
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    // Row i of the invocation's block, columns tx + 16j in lanes j: named vectors rather than
    // an indexed array, so no compiler has to unroll loops to keep them in registers.
    var a0 = vec4<f32>();
    var a1 = vec4<f32>();
    var a2 = vec4<f32>();
    var a3 = vec4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var e = li; e < BM * KT; e += NT) {
            let r = e / KT;
            let t = e % KT;
            var v = 0.0;
            if (row0 + r < p.m && k0 + t < p.k) {
                v = x[(row0 + r) * p.k + k0 + t];
            }
            xs[t * BM + r] = v;
        }
        // Chunk c: row c / 4 of the tile, k offset 8 (c % 4).
        for (var c = li; c < BN * KT / 8u; c += NT) {
            let wr = c >> 2u;
            let wc = (c & 3u) * 8u;
            var wv: array<f32, 8>;
            if (col0 + wr < p.n && k0 + wc < p.k) {
                wv = load_w8(col0 + wr, k0 + wc, p.k);
            }
            for (var i = 0u; i < 8u; i++) {
                ws[(wc + i) * BN + wr] = wv[i];
            }
        }
        workgroupBarrier();
        for (var t = 0u; t < KT; t++) {
            let xo = t * BM + lid.y;
            let wo = t * BN + lid.x;
            let wv = vec4<f32>(ws[wo], ws[wo + 16u], ws[wo + 32u], ws[wo + 48u]);
            a0 += xs[xo] * wv;
            a1 += xs[xo + WY] * wv;
            a2 += xs[xo + 2u * WY] * wv;
            a3 += xs[xo + 3u * WY] * wv;
        }
        workgroupBarrier();
    }
    let row = row0 + lid.y;
    let col = col0 + lid.x;
    store_row(row, col, a0);
    store_row(row + WY, col, a1);
    store_row(row + 2u * WY, col, a2);
    store_row(row + 3u * WY, col, a3);
}

// y[row, col + 16j] = v[j] + bias, for those inside the bounds.
fn store_row(row: u32, col: u32, v: vec4<f32>) {
    if (row >= p.m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let c = col + 16u * j;
        if (c < p.n) {
            var b = 0.0;
            if (p.has_bias != 0u) {
                b = bias[c];
            }
            y[row * p.n + c] = v[j] + b;
        }
    }
}
