// RMS norm of each row (x / sqrt(mean(x²) + eps)), then * gamma.
// One workgroup of 64 per row; the sum of squares reduced by `workgroup_sum` (reduce.wgsl).

struct Params { rows: u32, cols: u32, eps_bits: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
        let v = x[base + c];
        s += v * v;
    }
    let total = workgroup_sum(s, l);
    let inv = 1.0 / sqrt(total / f32(p.cols) + bitcast<f32>(p.eps_bits));
    for (var c = l; c < p.cols; c += WG) {
        out[base + c] = x[base + c] * inv * gamma[c];
    }
}
