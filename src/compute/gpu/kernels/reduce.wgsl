// The sum over a workgroup of 64 invocations (prefixed to the row kernels: one workgroup
// per row). Call it from uniform control flow: it holds barriers. It returns after a last
// barrier, so it may be called again at once.

const WG: u32 = 64u;
var<workgroup> part: array<f32, 64>;

fn workgroup_sum(v: f32, l: u32) -> f32 {
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
