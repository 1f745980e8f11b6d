// The script-tag entry (inlined after errors.js and proxy.js by scripts/build-pkg.mjs into one
// classic script): defines window.Attune and loads the worker, core and wasm relative to this
// script's own URL.
const scriptBase = (document.currentScript && document.currentScript.src) || location.href;
let workerUrl = null;

function createWorker() {
  const url = new URL('./worker.js', scriptBase);
  workerUrl = url.href;
  if (url.origin === location.origin) return new Worker(url, { type: 'module' });
  // Served from another origin (a CDN): workers must be same-origin, so start a blob worker that
  // imports the real one (the CDN must send CORS headers, as it must for the wasm anyway).
  const blob = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(blob), { type: 'module' });
}

/** The default models beside this package's folder, as npm lays out node_modules
 * (…/attune/attune.js, …/attune-models/*.gguf), or on an npm CDN the same version of
 * attune-models (…/attune@0.1.0/attune.js → …/attune-models@0.1.0/*.gguf). */
function defaultModelUrls() {
  const versioned = /\/attune@[^/]+\/[^/]*$/.test(new URL(scriptBase).pathname);
  const dir = versioned ? `../${MODELS_PACKAGE}@${MODELS_VERSION}/` : `../${MODELS_PACKAGE}/`;
  const urls = {};
  for (const [role, pin] of Object.entries(DEFAULT_MODELS)) urls[role] = new URL(dir + pin.file, scriptBase).href;
  return urls;
}

window.Attune = {
  open: (options) => openWith({
    createWorker,
    loadCore: () => import(new URL('./core.js', scriptBase).href),
    workerUrl: () => workerUrl,
    coreUrl: () => new URL('./core.js', scriptBase).href,
    defaultModelUrls,
  }, options),
  connect: (options) => connectWith(window.Attune.open, options),
  AttuneError,
};
