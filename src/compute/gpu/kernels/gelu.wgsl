// GELU, erf form: x/2 · (1 + erf(x/√2)). 1 + erf(u) is computed as erfc(-u) for u < 0 and
// 2 - erfc(u) otherwise, so the negative tail (where 1 + erf cancels) keeps its relative
// precision. erfc is the Chebyshev fit of Numerical Recipes (fractional error < 1.2e-7).

struct Params { len: u32, p1: u32, p2: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn erfc_abs(a: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * a);
    let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-a * a + poly);
}

// 1 + erf(u).
fn one_plus_erf(u: f32) -> f32 {
    let c = erfc_abs(abs(u));
    return select(2.0 - c, c, u < 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    if (i < p.len) {
        let v = x[i];
        out[i] = 0.5 * v * one_plus_erf(v * 0.70710678118654752);
    }
}
