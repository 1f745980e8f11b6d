// The script-tag entry (inlined after errors.js and proxy.js by scripts/build-pkg.mjs into one
// classic script): defines window.Attune and loads the worker, core and wasm relative to this
// script's own URL.
const scriptBase = (document.currentScript && document.currentScript.src) || location.href;

function createWorker() {
  const url = new URL('./worker.js', scriptBase);
  if (url.origin === location.origin) return new Worker(url, { type: 'module' });
  // Served from another origin (a CDN): workers must be same-origin, so start a blob worker that
  // imports the real one (the CDN must send CORS headers, as it must for the wasm anyway).
  const blob = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(blob), { type: 'module' });
}

window.Attune = {
  open: (options) => openWith({ createWorker, loadCore: () => import(new URL('./core.js', scriptBase).href) }, options),
  connect: (options) => connectWith(window.Attune.open, options),
  AttuneError,
};
