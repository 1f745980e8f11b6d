// The npm entry (ES module). Bundlers (Vite, webpack 5) see the worker and the wasm through the
// `new URL('./…', import.meta.url)` pattern and emit them with no configuration.

import { AttuneError } from './errors.js';
import { openWith } from './proxy.js';
import { DEFAULT_MODELS, MODELS_PACKAGE, MODELS_VERSION } from './default-models.js';
import { connectWith } from './connect.js';

export { AttuneError };

/** Where the default models are: the attune-models package (a dependency), imported only when
 * `open` is given no model URL. Its index.js resolves each file with `new URL('./…',
 * import.meta.url)`, so bundlers emit the files; its files must be the ones this package pins. */
async function defaultModelUrls() {
  const m = await import('attune-models');
  const urls = {};
  for (const [role, pin] of Object.entries(DEFAULT_MODELS)) {
    const f = m.files && m.files[pin.file];
    if (!f || f.sha256 !== pin.sha256) {
      throw new Error(`${MODELS_PACKAGE} ${m.version ?? '(unknown version)'} does not hold ${pin.file} with the sha256 attune pins (${MODELS_PACKAGE}@${MODELS_VERSION} does)`);
    }
    urls[role] = f.url;
  }
  return urls;
}

export const Attune = {
  /** Opens the SDK for one namespace; see index.d.ts. */
  open(options) {
    return openWith({
      createWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
      loadCore: () => import('./core.js'),
      defaultModelUrls,
    }, options);
  },
  /** The Attune browser extension's profile with the person's consent, else `open`; see index.d.ts. */
  connect(options) {
    return connectWith(Attune.open, options);
  },
  AttuneError,
};

export default Attune;
