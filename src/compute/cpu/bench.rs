//! `cargo test --release --lib compute::cpu::bench -- --ignored --nocapture`: GFLOP/s of the
//! embedder-sized matmul (m = 128, k = 384, n = 1536) per weight type and kernel set.

use super::matmul::matmul;
use super::simd;
use super::simd::tests::Rng;
use crate::quant::{quantize, GgmlType};
#[cfg(not(target_arch = "wasm32"))]
use std::println as report;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::{console_log as report, wasm_bindgen_test as test};

#[test]
#[ignore]
fn matmul_gflops() {
    let (m, k, n) = (128, 384, 1536);
    let mut r = Rng::new(99);
    let x = r.vec(m * k);
    let wv = r.vec(n * k);
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1] {
        let w = quantize(ty, &wv).unwrap();
        for kern in simd::available() {
            let run = || matmul(kern, &x, m, k, ty, &w, n, None).unwrap();
            std::hint::black_box(run());
            // The fastest of the runs in half a second: other work on a shared machine only ever
            // adds time, so the minimum is the steadiest estimate.
            let t = Clock::start();
            let mut secs = f64::INFINITY;
            while t.secs() < 0.5 {
                let one = Clock::start();
                std::hint::black_box(run());
                secs = secs.min(one.secs());
            }
            let gflops = 2.0 * (m * k * n) as f64 / secs / 1e9;
            report!("{:5} {:9} {:7.2} ms  {:6.1} GFLOP/s", ty.name(), kern.name, secs * 1e3, gflops);
        }
    }
}

/// Wall clock: `std::time::Instant` panics on wasm32-unknown-unknown, so there it is JS `performance.now()`.
struct Clock(f64);

impl Clock {
    #[cfg(not(target_arch = "wasm32"))]
    fn now() -> f64 {
        use std::sync::OnceLock;
        static T0: OnceLock<std::time::Instant> = OnceLock::new();
        T0.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
    }
    #[cfg(target_arch = "wasm32")]
    fn now() -> f64 {
        #[wasm_bindgen::prelude::wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(js_namespace = performance, js_name = now)]
            fn performance_now() -> f64;
        }
        performance_now() / 1e3
    }
    fn start() -> Self {
        Clock(Self::now())
    }
    fn secs(&self) -> f64 {
        Self::now() - self.0
    }
}
