// The npm entry (ES module). Bundlers (Vite, webpack 5) see the worker and the wasm through the
// `new URL('./…', import.meta.url)` pattern and emit them with no configuration.

import { AttuneError } from './errors.js';
import { openWith } from './proxy.js';
import { connectWith } from './connect.js';

export { AttuneError };

export const Attune = {
  /** Opens the SDK for one namespace; see index.d.ts. */
  open(options) {
    return openWith({
      createWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
      loadCore: () => import('./core.js'),
    }, options);
  },
  /** The Attune browser extension's profile with the person's consent, else `open`; see index.d.ts. */
  connect(options) {
    return connectWith(Attune.open, options);
  },
  AttuneError,
};

export default Attune;
