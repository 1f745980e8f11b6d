// y[m, n] = x[m, k] · w[n, k]ᵀ (+ bias[n]). One 16 x 16 tile of y per workgroup; x and the
// weight (dequantized from its blocks) are staged through workgroup memory 32 columns of k
// at a time. Edges (m, n, k not multiples of the tile) are padded with zeros.

struct Params { m: u32, n: u32, k: u32, has_bias: u32, p4: u32, p5: u32, p6: u32, p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const T: u32 = 16u;
const KT: u32 = 32u;

var<workgroup> xs: array<f32, 512>;
var<workgroup> ws: array<f32, 512>;

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let col = wid.x * T + lid.x;
    let row = wid.y * T + lid.y;
    let li = lid.y * T + lid.x;
    var acc = 0.0;
    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var e = li; e < T * KT; e += T * T) {
            let r = e / KT;
            let kk = k0 + e % KT;
            let xr = wid.y * T + r;
            var xv = 0.0;
            if (xr < p.m && kk < p.k) {
                xv = x[xr * p.k + kk];
            }
            xs[e] = xv;
            let wr = wid.x * T + r;
            var wv = 0.0;
            if (wr < p.n && kk < p.k) {
                wv = load_w(wr * p.k + kk);
            }
            ws[e] = wv;
        }
        workgroupBarrier();
        for (var t = 0u; t < KT; t++) {
            acc += xs[lid.y * KT + t] * ws[lid.x * KT + t];
        }
        workgroupBarrier();
    }
    if (row < p.m && col < p.n) {
        if (p.has_bias != 0u) {
            acc += bias[col];
        }
        y[row * p.n + col] = acc;
    }
}
