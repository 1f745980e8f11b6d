#!/usr/bin/env python3
"""The ONNX files of `make bench-peer`, run inside the venv of scripts/peer-models.py.

    peer-onnx.py --int8 model.onnx --safetensors model.safetensors --out DIR

Writes DIR/model_int8.onnx (the int8 file as shipped: int8 weights -> Cast -> Mul by a scale),
DIR/model.onnx (the same graph with the fp32 checkpoint's weights in place of each
int8 -> Cast -> Mul) and DIR/model_quantized.onnx (onnxruntime's quantize_dynamic of that fp32
graph: int8 per-channel weights, activations quantized at run time).
"""

import argparse
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=ST_DTYPES[t["dtype"]]).reshape(t["shape"]).astype(np.float32)
    return out


def dequantized_weights(model):
    """{Mul output: (Cast node, Mul node, q, scale)} for each int8 -> Cast -> Mul chain on initializers."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    casts = {n.output[0]: n for n in model.graph.node if n.op_type == "Cast" and n.input[0] in inits
             and inits[n.input[0]].dtype == np.int8}
    chains = {}
    for n in model.graph.node:
        if n.op_type != "Mul":
            continue
        a, b = n.input
        if a in casts and b in inits:
            chains[n.output[0]] = (casts[a], n, inits[casts[a].input[0]], inits[b])
    return chains


def match_fp32(name, q, scale, fp32, used):
    """The checkpoint tensor (maybe transposed) that this int8 weight quantizes: the one whose
    rounding error stays within half a quantization step everywhere."""
    deq = q.astype(np.float32) * scale
    best = None
    for key, w in fp32.items():
        if key in used:
            continue
        for cand, transposed in ((w, False), (w.T, True)):
            if cand.shape != deq.shape:
                continue
            err = np.abs(cand - deq) / np.broadcast_to(scale, deq.shape)
            worst = float(err.max())
            if best is None or worst < best[0]:
                best = (worst, key, transposed, cand)
    if best is None or best[0] > 0.5001:
        raise SystemExit(f"peer-onnx: no checkpoint tensor matches {name} (best error {best and best[0]:.3f} steps)")
    used.add(best[1])
    return best


def build_fp32(model, fp32):
    chains = dequantized_weights(model)
    used = set()
    drop = set()
    report = []
    for out_name, (cast, mul, q, scale) in chains.items():
        worst, key, transposed, w = match_fp32(out_name, q, scale, fp32, used)
        model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w, dtype=np.float32), out_name))
        drop.update([id(cast), id(mul)])
        report.append((out_name, key, transposed, worst))
    keep = [n for n in model.graph.node if id(n) not in drop]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    needed = {i for n in model.graph.node for i in n.input}
    kept = [i for i in model.graph.initializer if i.name in needed]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model, report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--int8", required=True)
    ap.add_argument("--safetensors", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    shutil.copyfile(args.int8, out / "model_int8.onnx")
    fp32 = read_safetensors(args.safetensors)
    model, report = build_fp32(onnx.load(args.int8), fp32)
    onnx.checker.check_model(model)
    onnx.save(model, out / "model.onnx")
    print(f"peer-onnx: model.onnx: {len(report)} int8 weights replaced by fp32 checkpoint tensors "
          f"(worst rounding {max(r[3] for r in report):.3f} of a step)")
    for out_name, key, transposed, worst in report:
        print(f"  {out_name:<48} <- {key}{' (transposed)' if transposed else ''}")

    # What transformers.js's conversion script does for its quantized file: dynamic quantization,
    # int8 weights per channel, only matmuls with a constant weight.
    quantize_dynamic(out / "model.onnx", out / "model_quantized.onnx", per_channel=True,
                     weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True})
    print("peer-onnx: model_quantized.onnx written (quantize_dynamic, QInt8, per channel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
