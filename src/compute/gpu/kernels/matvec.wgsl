// y[n] = x[k] · w[n, k]ᵀ (+ bias[n]) for one activation row (decoding one token), where the
// 16 x 16 tiles of matmul.wgsl would leave 15 of 16 rows idle. One workgroup of 64 per
// output: strided partial dot products over k, reduced in workgroup memory.

struct Params { m: u32, n: u32, k: u32, has_bias: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let col = wid.y * nwg.x + wid.x;
    // `col` is uniform across the workgroup, so every invocation takes the same path.
    if (col >= p.n) {
        return;
    }
    let l = lid.x;
    let base = col * p.k;
    var acc = 0.0;
    for (var kk = l; kk < p.k; kk += WG) {
        acc += x[kk] * load_w(base + kk);
    }
    part[l] = acc;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
        if (l < h) {
            part[l] += part[l + h];
        }
        workgroupBarrier();
    }
    if (l == 0u) {
        var r = part[0];
        if (p.has_bias != 0u) {
            r += bias[col];
        }
        y[col] = r;
    }
}
