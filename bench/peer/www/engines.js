// The two libraries behind one interface: `await open(params)` → { ready (performance.now() when
// loaded), embed(texts) → Float32Array[], info }. Each is loaded and configured the way a site would use it; only the URLs are local.

/** Attune's npm package (pkg/ at /attune/), the Q8_0 MiniLM from /models/. */
async function openAttune(p) {
  const { Attune } = await import('/attune/index.js');
  const attune = await Attune.open({
    namespace: 'peer',
    embedder: { url: `/models/${p.get('file')}`, sha256: p.get('sha256') },
    worker: p.get('worker') !== 'false',
  });
  const ready = performance.now();
  const info = await attune.info();
  return {
    ready,
    embed: (texts) => attune.embed(texts),
    info: { device: info.device, threads: info.threads, worker: p.get('worker') !== 'false', model_bytes: info.embedder.bytes },
  };
}

/** transformers.js 4 (its self-contained min build) on onnxruntime-web's wasm backend, the ORT
 * files self-hosted at /ort/ and the model directory at /tjs-models/. */
async function openTransformers(p) {
  const { pipeline, env } = await import('/tjs/transformers.min.js');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '/tjs-models/';
  const flavour = p.get('ort') || 'asyncify';
  const base = `${location.origin}/ort/ort-wasm-simd-threaded${flavour === 'plain' ? '' : '.' + flavour}`;
  env.backends.onnx.wasm.wasmPaths = { mjs: `${base}.mjs`, wasm: `${base}.wasm` };
  env.backends.onnx.wasm.numThreads = Number(p.get('threads') || 1);
  const extractor = await pipeline('feature-extraction', 'all-MiniLM-L6-v2', { dtype: p.get('dtype'), device: 'wasm' });
  const ready = performance.now();
  return {
    ready,
    async embed(texts) {
      const out = await extractor(texts, { pooling: 'mean', normalize: true });
      const [n, d] = out.dims;
      const rows = [];
      for (let i = 0; i < n; i++) rows.push(out.data.slice(i * d, (i + 1) * d));
      out.dispose?.();
      return rows;
    },
    info: {
      dtype: p.get('dtype'),
      ort: flavour,
      num_threads: env.backends.onnx.wasm.numThreads,
      ort_version: env.backends.onnx.versions?.web ?? null,
    },
  };
}

export function open(p) {
  return p.get('engine') === 'attune' ? openAttune(p) : openTransformers(p);
}
