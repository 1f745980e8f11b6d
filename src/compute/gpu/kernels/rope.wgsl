// Rotary position embedding: one invocation per (row, head, pair). The cos/sin of every
// (row, pair) angle come from the host (computed in f64 there, as the CPU backend does, so
// long positions lose no precision). Values past rot_dims are copied through.

struct Params { rows: u32, heads: u32, head_dim: u32, half: u32, halves: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// [rows][half] (cos, sin) pairs.
@group(0) @binding(1) var<storage, read> cs: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    // Each invocation owns pair i of one head and, past rot_dims, one pass-through value.
    let per_head = max(p.half, p.head_dim - 2u * p.half);
    let idx = (wid.y * nwg.x + wid.x) * 64u + lid.x;
    if (idx >= p.rows * p.heads * per_head) {
        return;
    }
    let i = idx % per_head;
    let rh = idx / per_head;
    let r = rh / p.heads;
    let base = rh * p.head_dim;
    if (i < p.half) {
        var a = base + 2u * i;
        var b = a + 1u;
        if (p.halves != 0u) {
            a = base + i;
            b = a + p.half;
        }
        let c = cs[r * p.half + i];
        let x0 = x[a];
        let x1 = x[b];
        out[a] = x0 * c.x - x1 * c.y;
        out[b] = x0 * c.y + x1 * c.x;
    }
    let rest = base + 2u * p.half + i;
    if (2u * p.half + i < p.head_dim) {
        out[rest] = x[rest];
    }
}
