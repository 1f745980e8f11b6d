//! WGSL kernels, compiled once per device and cached by name (and weight type, for the
//! kernels that read quantized weights: the type is a `const` in the source, so each variant
//! is specialized by the shader compiler).

use super::context::GpuContext;
use crate::error::{AttuneError, Result};
use crate::quant::GgmlType;
use std::collections::HashMap;
use std::sync::Mutex;

const DEQUANT: &str = include_str!("kernels/dequant.wgsl");
/// The workgroup sum the row reductions (norms) share.
const REDUCE: &str = include_str!("kernels/reduce.wgsl");

/// The kernels, by name: (name, source, reads a weight through `dequant.wgsl`, prelude: WGSL
/// prefixed to the source, constants or shared functions). One source can back several
/// kernels specialized by constants.
const KERNELS: &[(&str, &str, bool, &str)] = &[
    // Row tiles of 64 for batches, of 16 for a sentence or two.
    ("matmul", include_str!("kernels/matmul.wgsl"), true, "const WY: u32 = 16u;"),
    ("matmul_narrow", include_str!("kernels/matmul.wgsl"), true, "const WY: u32 = 4u;"),
    ("gather", include_str!("kernels/gather.wgsl"), true, ""),
    ("add", include_str!("kernels/add.wgsl"), false, ""),
    ("gelu", include_str!("kernels/gelu.wgsl"), false, ""),
    ("layer_norm", include_str!("kernels/layer_norm.wgsl"), false, REDUCE),
    ("attention", include_str!("kernels/attention.wgsl"), false, ""),
    ("mean_pool", include_str!("kernels/mean_pool.wgsl"), false, ""),
    ("l2_normalize", include_str!("kernels/l2_normalize.wgsl"), false, REDUCE),
    ("matvec", include_str!("kernels/matvec.wgsl"), true, ""),
    ("rms_norm", include_str!("kernels/rms_norm.wgsl"), false, REDUCE),
    ("rope", include_str!("kernels/rope.wgsl"), false, ""),
    ("swiglu", include_str!("kernels/swiglu.wgsl"), false, ""),
    ("attention_cached", include_str!("kernels/attention_cached.wgsl"), false, ""),
];

#[derive(Default)]
pub struct Pipelines {
    cache: Mutex<HashMap<String, wgpu::ComputePipeline>>,
}

/// The WGSL source of `name`, specialized for weight type `wtype` where the kernel reads one.
pub fn source(name: &str, wtype: Option<GgmlType>) -> Result<String> {
    let (_, src, weighted, prelude) = KERNELS
        .iter()
        .find(|(n, _, _, _)| *n == name)
        .ok_or_else(|| AttuneError::Compute(format!("no GPU kernel named {name}")))?;
    Ok(match (weighted, wtype) {
        (true, Some(t)) => format!("const WTYPE: u32 = {}u;\n{prelude}\n{DEQUANT}\n{src}", t.id()),
        (true, None) => return Err(AttuneError::Compute(format!("kernel {name} needs a weight type"))),
        (false, _) => format!("{prelude}\n{src}"),
    })
}

impl Pipelines {
    /// The compiled pipeline of kernel `name` (entry point `main`), compiled on first use.
    pub fn get(&self, ctx: &GpuContext, name: &str, wtype: Option<GgmlType>) -> Result<wgpu::ComputePipeline> {
        let key = match wtype {
            Some(t) => format!("{name}.{}", t.name()),
            None => name.to_string(),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        let src = source(name, wtype)?;
        #[cfg(not(target_arch = "wasm32"))]
        ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&key),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&key),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        // Natively the scope resolves at once, so a kernel that fails to compile is an error
        // here; in the browser it surfaces through the uncaptured-error handler at `read`.
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(e) = pollster::block_on(ctx.device.pop_error_scope()) {
            return Err(AttuneError::Compute(format!("kernel {key} failed to compile: {e}")));
        }
        cache.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// Number of compiled pipelines.
    pub fn len(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
