// Scaled dot-product attention over a packed batch. One invocation per (query row, head): it
// finds its sequence in `bounds` (binary search), takes the max score over the keys it may
// see, accumulates exp(score - max) · v straight into its output row, then divides by the
// sum. No per-invocation arrays, so head_dim is not limited by the kernel.

struct Params { rows: u32, heads: u32, head_dim: u32, causal: u32, scale_bits: u32, seqs: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bounds: array<u32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

fn score(qo: u32, ko: u32, scale: f32) -> f32 {
    var s = 0.0;
    for (var d = 0u; d < p.head_dim; d++) {
        s += q[qo + d] * k[ko + d];
    }
    return s * scale;
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (idx >= p.rows * p.heads) {
        return;
    }
    let r = idx / p.heads;
    let h = idx % p.heads;
    // Invariant: bounds[lo] <= r < bounds[hi].
    var lo = 0u;
    var hi = p.seqs;
    while (hi - lo > 1u) {
        let mid = (lo + hi) / 2u;
        if (bounds[mid] <= r) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let start = bounds[lo];
    var end = bounds[hi];
    if (p.causal != 0u) {
        end = r + 1u;
    }
    let cols = p.heads * p.head_dim;
    let off = h * p.head_dim;
    let qo = r * cols + off;
    let scale = bitcast<f32>(p.scale_bits);
    var mx = bitcast<f32>(0xff7fffffu); // -f32::MAX (the decimal literal rounds out of range in Tint)
    for (var j = start; j < end; j++) {
        mx = max(mx, score(qo, j * cols + off, scale));
    }
    for (var d = 0u; d < p.head_dim; d++) {
        out[qo + d] = 0.0;
    }
    var sum = 0.0;
    for (var j = start; j < end; j++) {
        let e = exp(score(qo, j * cols + off, scale) - mx);
        sum += e;
        let vo = j * cols + off;
        for (var d = 0u; d < p.head_dim; d++) {
            out[qo + d] += e * v[vo + d];
        }
    }
    let inv = 1.0 / sum;
    for (var d = 0u; d < p.head_dim; d++) {
        out[qo + d] *= inv;
    }
}
