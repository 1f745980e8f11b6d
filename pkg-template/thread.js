// One thread of the threaded core module (attune_wasm_mt), started by core.js in the SDK's
// worker on a cross-origin-isolated page: it instantiates the module on the memory the first
// instance shares, says so, then runs a pool thread (src/compute/cpu/parallel.rs): it takes
// parts of each matmul and never returns. Messages: { module, memory } in;
// 'attune:thread-waiting' or { error } out.

import { initSync, threadRun } from './attune_wasm_mt.js';

self.onmessage = ({ data }) => {
  try {
    initSync({ module: data.module, memory: data.memory });
  } catch (e) {
    postMessage({ error: String(e && e.message ? e.message : e) });
    return;
  }
  postMessage('attune:thread-waiting');
  threadRun();
};
