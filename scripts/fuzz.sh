#!/usr/bin/env bash
# `make fuzz`: builds and runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each, one after
# another (one job), then prints per target libFuzzer's executions, exec/s, coverage and
# crashes (docs/hardening.md, "Fuzzing"). A crash leaves its input in fuzz/artifacts/<target>/
# and makes this exit non-zero. Not part of `make test`.
#
# Toolchain: nightly (AddressSanitizer) when rustup has it or can install it; else stable
# without a sanitizer (`--sanitizer none`: cargo-fuzz then passes no unstable flag).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
unset CARGO_TARGET_DIR # the fuzz builds keep their own target dir (other rustflags)

SECS=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-gguf profile_import store_record facade_args bert_tokenizer bpe_tokenizer chat_template}

if rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal; then
  CARGO=(cargo +nightly fuzz) SANITIZER=address
else
  echo "fuzz: no nightly toolchain; fuzzing on stable without AddressSanitizer" >&2
  CARGO=(cargo fuzz) SANITIZER=none
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2

mkdir -p logs
FLAGS=(-O --debug-assertions --sanitizer "$SANITIZER")
status=0
for t in $TARGETS; do
  "${CARGO[@]}" build "${FLAGS[@]}" "$t"
done
for t in $TARGETS; do
  echo "fuzz: $t for ${SECS}s" >&2
  # -timeout: one input running over 10 s is a hang, reported like a crash.
  if ! "${CARGO[@]}" run "${FLAGS[@]}" "$t" -- -max_total_time="$SECS" -timeout=10 -print_final_stats=1 \
      >"logs/$t.log" 2>&1; then
    status=1
    echo "fuzz: $t FAILED; see fuzz/logs/$t.log and fuzz/artifacts/$t/" >&2
  fi
done

printf '%-16s %12s %10s %8s %8s %8s\n' target executions exec/s cov ft crashes
for t in $TARGETS; do
  log=logs/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  printf '%-16s %12s %10s %8s %8s %8s\n' "$t" "${execs:--}" "${speed:--}" "${cov:--}" "${ft:--}" "$crashes"
done
exit $status
