// out[i, c] = table[ids[i], c], dequantized from the table's blocks. One invocation per output.

struct Params { rows: u32, cols: u32, p2: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    if (i >= p.rows * p.cols) {
        return;
    }
    let r = i / p.cols;
    let c = i % p.cols;
    out[i] = load_w(ids[r] * p.cols + c);
}
