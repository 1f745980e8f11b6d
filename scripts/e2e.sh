#!/usr/bin/env bash
# `make test-e2e`: installs the examples' pinned npm packages (npm ci, cache under
# ~/.cache/attune/npm), type-checks the TypeScript tour of the API (tsc --noEmit), builds the
# Vite and webpack examples from pkg/ (run `make pkg` first), then drives the examples in
# headless Chromium (scripts/e2e.mjs), then pkg/ on strict pages: CSP, Trusted Types, COOP/COEP
# (scripts/e2e-strict.mjs), storage faults and oversized calls (scripts/e2e-faults.mjs). Arguments
# go to each (--chromium PATH, --headed, --only NAMES).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f pkg/attune_wasm_bg.wasm ] || { echo "e2e: pkg/ is missing; run make pkg" >&2; exit 1; }
cache="$HOME/.cache/attune/npm"
# node_modules/attune is a link to pkg/, so only a changed lock file needs a new install.
for app in examples/vite-app examples/webpack-app; do
  if [ ! -d "$app/node_modules" ] || [ "$app/package-lock.json" -nt "$app/node_modules/.package-lock.json" ]; then
    (cd "$app" && npm ci --cache "$cache" --prefer-offline --no-audit --no-fund --loglevel=error)
  fi
done
# Each browser step gets a time limit (E2E_STEP_SECONDS), so a hang fails the run in minutes
# instead of holding CI until its own limit; each takes 1-6 minutes here.
step() { timeout --kill-after=30 "${E2E_STEP_SECONDS:-1200}" "$@"; }
(cd examples/vite-app && npx --no-install tsc --noEmit && npx --no-install vite build --logLevel error)
(cd examples/webpack-app && rm -rf dist && npx --no-install webpack --mode production --entry ./src/index.js \
  --output-path dist --no-stats && cp index.html dist/)
step node scripts/e2e.mjs "$@"
step node scripts/e2e-strict.mjs "$@"
# Storage faults (a failed request at every step of each call, a blocked upgrade, eviction, a
# corrupt record) and oversized calls, in worker and in-page modes.
step node scripts/e2e-faults.mjs "$@"
# A real catalog in both modes: 1 000-item ranks, 1 000 tracks, memory after GC (needs the CLI
# for its precomputed vector file).
step node scripts/scale.mjs "$@"
# The demo app (www/) as a visitor uses it: re-ranking, reasons, memory → assistant, forget, reload.
step node scripts/e2e-demo.mjs "$@"
# The packed tarballs in fresh Vite and webpack apps with no model options, the README's code
# blocks, and load failures that name their cause.
step node scripts/e2e-adopt.mjs "$@"
# The MV3 extension (make extension's assembly, then its own unit tests and Chromium e2e).
node scripts/build-extension.mjs && node --test examples/extension/test/ && step node scripts/e2e-extension.mjs "$@"
