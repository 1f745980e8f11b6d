// Causal attention of n new query rows against key/value caches (decoders), grouped-query:
// query head h reads kv head h / (heads / kv_heads). Query row i sits at position past + i and
// sees cache rows 0..=past + i. One invocation per (query row, head), as attention.wgsl.

struct Params { n: u32, heads: u32, kv_heads: u32, head_dim: u32, scale_bits: u32, past: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

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
    if (idx >= p.n * p.heads) {
        return;
    }
    let i = idx / p.heads;
    let h = idx % p.heads;
    let kvh = h / (p.heads / p.kv_heads);
    let cols = p.heads * p.head_dim;
    let kv_cols = p.kv_heads * p.head_dim;
    let qo = i * cols + h * p.head_dim;
    let ko = kvh * p.head_dim;
    let keys = p.past + i + 1u;
    let scale = bitcast<f32>(p.scale_bits);
    var mx = bitcast<f32>(0xff7fffffu); // -f32::MAX (the decimal literal rounds out of range in Tint)
    for (var j = 0u; j < keys; j++) {
        mx = max(mx, score(qo, j * kv_cols + ko, scale));
    }
    for (var d = 0u; d < p.head_dim; d++) {
        out[qo + d] = 0.0;
    }
    var sum = 0.0;
    for (var j = 0u; j < keys; j++) {
        let e = exp(score(qo, j * kv_cols + ko, scale) - mx);
        sum += e;
        let vo = j * kv_cols + ko;
        for (var d = 0u; d < p.head_dim; d++) {
            out[qo + d] += e * v[vo + d];
        }
    }
    let inv = 1.0 / sum;
    for (var d = 0u; d < p.head_dim; d++) {
        out[qo + d] *= inv;
    }
}
