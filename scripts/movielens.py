#!/usr/bin/env python3
"""The MovieLens 100K data of `make eval`: the PyPI wheel recbole==1.2.1 ships it as RecBole
atomic files under recbole/dataset_example/ml-100k/. Downloads the wheel (pip, only when
missing or corrupt), checks its sha256 and the sha256 of both files, and extracts them to
~/.cache/attune/ml-100k/ (or $ATTUNE_CACHE/ml-100k). Prints that directory.

Python 3 standard library only. MovieLens data: GroupLens Research, University of Minnesota;
see https://grouplens.org/datasets/movielens/ for its terms of use (research use, cite).
"""

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("ATTUNE_CACHE", Path.home() / ".cache" / "attune"))
WHEELS = CACHE / "wheels"
OUT = CACHE / "ml-100k"
WHEEL = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
FILES = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
}
PREFIX = "recbole/dataset_example/ml-100k/"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def wheel():
    path = WHEELS / WHEEL
    if path.exists() and sha256(path.read_bytes()) == WHEEL_SHA256:
        return path
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "recbole==1.2.1", "--no-deps", "-d", str(WHEELS)], check=True)
    digest = sha256(path.read_bytes())
    if digest != WHEEL_SHA256:
        sys.exit(f"movielens: {path} has sha256 {digest}, expected {WHEEL_SHA256}")
    return path


def main():
    if all((OUT / f).exists() and sha256((OUT / f).read_bytes()) == h for f, h in FILES.items()):
        print(OUT)
        return
    with zipfile.ZipFile(wheel()) as z:
        OUT.mkdir(parents=True, exist_ok=True)
        for name, expected in FILES.items():
            data = z.read(PREFIX + name)
            if sha256(data) != expected:
                sys.exit(f"movielens: {name} in the wheel has sha256 {sha256(data)}, expected {expected}")
            tmp = OUT / (name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(OUT / name)
    print(OUT)


if __name__ == "__main__":
    main()
