// Layer norm of each row (two-pass mean and biased variance), then * gamma + beta.
// One workgroup of 64 per row; partial sums reduced in workgroup memory.

struct Params { rows: u32, cols: u32, eps_bits: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
var<workgroup> part: array<f32, 64>;

fn reduce(v: f32, l: u32) -> f32 {
    part[l] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (l < s) {
            part[l] += part[l + s];
        }
        workgroupBarrier();
    }
    let total = part[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.y * nwg.x + wid.x;
    // `row` is uniform across the workgroup, so every invocation takes the same path.
    if (row >= p.rows) {
        return;
    }
    let l = lid.x;
    let base = row * p.cols;
    var s = 0.0;
    for (var c = l; c < p.cols; c += WG) {
        s += x[base + c];
    }
    let mean = reduce(s, l) / f32(p.cols);
    var q = 0.0;
    for (var c = l; c < p.cols; c += WG) {
        let d = x[base + c] - mean;
        q += d * d;
    }
    let variance = reduce(q, l) / f32(p.cols);
    let inv = 1.0 / sqrt(variance + bitcast<f32>(p.eps_bits));
    for (var c = l; c < p.cols; c += WG) {
        out[base + c] = (x[base + c] - mean) * inv * gamma[c] + beta[c];
    }
}
