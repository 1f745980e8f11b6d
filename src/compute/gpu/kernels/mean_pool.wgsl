// out[b, c] = mean of x[bounds[b]..bounds[b + 1], c]; an empty sequence pools to zero.
// One invocation per output value.

struct Params { seqs: u32, cols: u32, p2: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bounds: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    if (i >= p.seqs * p.cols) {
        return;
    }
    let b = i / p.cols;
    let c = i % p.cols;
    let start = bounds[b];
    let end = bounds[b + 1u];
    var s = 0.0;
    for (var r = start; r < end; r++) {
        s += x[r * p.cols + c];
    }
    var mean = 0.0;
    if (end > start) {
        mean = s * (1.0 / f32(end - start));
    }
    out[i] = mean;
}
