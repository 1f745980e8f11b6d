#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, on a fresh Debian machine with
# rustup, python3 and node/npm. Idempotent: each step checks first and skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { echo "setup: $*"; }

# Headless Chromium + ChromeDriver for the browser tests, the benchmark and screenshots.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  step "installing chromium and chromium-driver (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Mesa lavapipe (Vulkan on the CPU), so the wgpu backend's kernels are tested natively with no GPU.
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  step "installing mesa-vulkan-drivers (lavapipe) (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi

# Python venvs (the numpy references, `make bench-peer`'s onnx tools): Debian's python3 needs
# python3-venv for ensurepip.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  step "installing python3-venv (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The threaded core module rebuilds std with wasm atomics: a pinned nightly and its rust-src.
nightly=$(cat scripts/nightly-toolchain)
if ! rustup run "$nightly" rustc --version >/dev/null 2>&1 \
    || [ ! -d "$(rustup run "$nightly" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  step "installing the $nightly toolchain with rust-src (the threaded core module)"
  rustup toolchain install "$nightly" --profile minimal --component rust-src
fi

# wasm-bindgen-cli must match the wasm-bindgen crate version in Cargo.lock exactly.
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  step "installing wasm-bindgen-cli $want (had: ${have:-none}); this takes a few minutes"
  cargo install -q wasm-bindgen-cli --version "$want" --force
fi

# npm tools: binaryen (wasm-opt; Debian's is too old and emits broken modules), esbuild (minifies
# pkg/'s JS), playwright-core,
# @wllama/wllama (llama.cpp in wasm, the comparison of `make bench-chat`).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
step "ok"
