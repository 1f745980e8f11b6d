// y[n] = x[k] · w[n, k]ᵀ (+ bias[n]) for one activation row (decoding one token), where the
// tiles of matmul.wgsl would leave most rows idle. A workgroup of 64 computes 8 outputs, 8
// invocations each: every invocation dot-multiplies chunks of 8 weights (dequantized with one
// scale read, see `load_w8`), chunks l, l + 8, ... of its row; one barrier, then the first
// of the 8 sums their partial sums.

struct Params { m: u32, n: u32, k: u32, has_bias: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const LANES: u32 = 8u;
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let col = (wid.y * nwg.x + wid.x) * 8u + lid.x / LANES;
    let l = lid.x % LANES;
    var acc = 0.0;
    // No early return: every invocation must reach the barrier.
    if (col < p.n) {
        for (var k0 = l * 8u; k0 < p.k; k0 += LANES * 8u) {
            let wv = load_w8(col, k0, p.k);
            for (var i = 0u; i < 8u; i++) {
                if (k0 + i < p.k) {
                    acc += x[k0 + i] * wv[i];
                }
            }
        }
    }
    part[lid.x] = acc;
    workgroupBarrier();
    if (l == 0u && col < p.n) {
        var r = 0.0;
        for (var i = 0u; i < LANES; i++) {
            r += part[lid.x + i];
        }
        if (p.has_bias != 0u) {
            r += bias[col];
        }
        y[col] = r;
    }
}
