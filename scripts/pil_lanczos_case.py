#!/usr/bin/env python3
"""Writes Pillow's LANCZOS 105x105 -> SIZE resize of some Omniglot drawings, for
data/omniglot_pil_test.go (see scripts/crosscheck_pil.sh).

usage: pil_lanczos_case.py OMNIGLOT_DIR OUT.json [COUNT] [SIZE]
The drawings are every 97th PNG entry (in zip order) of images_evaluation.zip.
"""
import io
import json
import sys
import zipfile

from PIL import Image

src, out = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 40
size = int(sys.argv[4]) if len(sys.argv) > 4 else 28
cases = []
with zipfile.ZipFile(f"{src}/images_evaluation.zip") as z:
    names = [n for n in z.namelist() if n.endswith(".png")][::97][:count]
    for n in names:
        im = Image.open(io.BytesIO(z.read(n))).convert("L").resize((size, size), Image.LANCZOS)
        cases.append({"entry": n, "size": size, "grey": list(im.tobytes())})
with open(out, "w") as f:
    json.dump(cases, f)
