#!/usr/bin/env bash
# `make site`: the demo app as a static folder to copy to any static host (no server code; any
# host that sends .wasm as application/wasm). Layout: index.html, sw.js, app/, sdk/ (the npm
# package, pkg/), models/ (the embedder and the chat model with their manifest; `link` as the
# second argument links them instead of copying 118 MB). The "under the hood" pages come along
# when `make wasm` has built their bindings (www/pkg).
#   scripts/build-site.sh [OUT (default bench/out/site)] [copy|link]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/site}
models=${2:-copy}
[ -f pkg/index.js ] || { echo "site: pkg/ is missing; run make pkg" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/app" "$out/sdk" "$out/models"
cp www/index.html www/sw.js "$out/"
cp www/app/*.js www/app/*.css www/app/catalog.json www/app/README.md "$out/app/"
cp pkg/*.js pkg/*.wasm pkg/package.json "$out/sdk/"
for f in minilm-l6-v2.q8_0.gguf smollm2-135m-instruct.q4_1.gguf manifest.json; do
  [ -f "models/out/$f" ] || { echo "site: models/out/$f is missing; run make models" >&2; exit 1; }
  if [ "$models" = link ]; then ln -s "$(realpath "models/out/$f")" "$out/models/$f"; else cp "models/out/$f" "$out/models/"; fi
done
if [ -f www/pkg/attune_bg.wasm ]; then
  cp -r www/pkg "$out/pkg"
  cp www/similarity.html www/similarity.js www/bench.html www/bench.js www/bench-chat.html www/bench-chat.js \
    www/bench-corpus.txt www/style.css "$out/"
else
  echo "site: www/pkg is not built (make wasm): the under-the-hood pages are left out" >&2
fi
echo "site: $out ($(du -shL "$out" | cut -f1)); try it: python3 scripts/serve.py --root $out"
