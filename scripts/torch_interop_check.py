"""PyTorch's half of models' TestTorchInterop (models/torch_interop_test.go).

    python3 scripts/torch_interop_check.py DIR

DIR/cases.json lists the cases the Go test wrote, each
{"name", "model": "conv4" or "mlp", "args": {...}, "dtype": "float32" or
"float64", "seed", "fortran"}. For each case NAME it reads DIR/NAME.x.npz
(the batch, array "x") and

  - loads DIR/NAME.go.npz, exported by models.SaveTorchNPZ, into the module
    of scripts/torch_models.py with strict=True and writes its output on the
    batch to DIR/NAME.go-logits.npz (array "logits");
  - builds a fresh module from torch.manual_seed(seed), with random batch-norm
    scales and shifts, writes its state_dict to DIR/NAME.torch.npz (in
    Fortran order when "fortran" is set, as NumPy saves a transposed array)
    and its output on the batch to DIR/NAME.torch-logits.npz.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def build(case):
    if case["model"] == "conv4":
        m = torch_models.Conv4(**case["args"])
    elif case["model"] == "mlp":
        m = torch_models.MLP(**case["args"])
    else:
        raise SystemExit(f"case {case['name']}: unknown model {case['model']!r}")
    return m.to(DTYPES[case["dtype"]])


def logits(m, x, path):
    with torch.no_grad():
        y = m(x)
    np.savez(path, logits=y.numpy())


def main(d):
    with open(os.path.join(d, "cases.json")) as f:
        cases = json.load(f)
    for case in cases:
        base = os.path.join(d, case["name"])
        with np.load(base + ".x.npz") as z:
            x = torch.from_numpy(z["x"]).to(DTYPES[case["dtype"]])

        m = build(case)
        m.load_state_dict(torch_models.load_npz(base + ".go.npz"), strict=True)
        logits(m, x, base + ".go-logits.npz")

        torch.manual_seed(case["seed"])
        m = build(case)
        with torch.no_grad():
            for name, v in m.named_parameters():
                if ".bn." in name:
                    v.uniform_(0.5, 1.5) if name.endswith("weight") else v.uniform_(-0.5, 0.5)
        sd = {k: v.numpy() for k, v in m.state_dict().items()}
        if case.get("fortran"):
            sd = {k: np.asfortranarray(v) for k, v in sd.items()}
        np.savez(base + ".torch.npz", **sd)
        logits(m, x, base + ".torch-logits.npz")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: torch_interop_check.py DIR")
    main(sys.argv[1])
