#!/usr/bin/env python3
"""Writes a second-order MAML meta-gradient of Conv-4 computed by PyTorch.

Used by scripts/crosscheck_torch.sh: models/metagrad_torch_test.go loads the
file, recomputes the same meta-gradient with metagon's own differentiation
and compares. Everything is float64. The episode is random images (the
check is about the derivatives, not the data), 5-way 1-shot 1-query, one
inner SGD step with alpha = 0.4, PyTorch's default Conv-4 initialisation.
"""
import json
import sys

import torch
import torch.nn.functional as F

from torch_conv4 import forward

torch.manual_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
torch.set_default_dtype(torch.float64)
ways, size, alpha = 5, 28, 0.4


def conv4_params():
    ps, c = {}, 1
    for i in range(1, 5):
        conv = torch.nn.Conv2d(c, 64, 3, padding=1, bias=False)
        ps[f"conv{i}.w"] = conv.weight.detach()
        ps[f"bn{i}.scale"] = 1 + 0.1 * torch.randn(64)
        ps[f"bn{i}.shift"] = 0.1 * torch.randn(64)
        c = 64
    lin = torch.nn.Linear(64, ways)
    ps["fc.w"] = lin.weight.detach().t().contiguous()  # metagon stores (in, out)
    ps["fc.b"] = lin.bias.detach()
    return {k: v.clone().requires_grad_() for k, v in ps.items()}


params = conv4_params()
xs, xq = torch.rand(ways, 1, size, size), torch.rand(ways, 1, size, size)
ys, yq = torch.arange(ways), torch.randperm(ways)
support = F.cross_entropy(forward(params, xs), ys)
grads = torch.autograd.grad(support, list(params.values()), create_graph=True)
fast = {k: v - alpha * g for (k, v), g in zip(params.items(), grads)}
query = F.cross_entropy(forward(fast, xq), yq)
meta = torch.autograd.grad(query, list(params.values()))
case = {
    "alpha": alpha,
    "xs": xs.flatten().tolist(), "ys": ys.tolist(), "xq": xq.flatten().tolist(), "yq": yq.tolist(),
    "query_loss": query.item(),
    "params": {k: v.detach().flatten().tolist() for k, v in params.items()},
    "grads": {k: g.flatten().tolist() for k, g in zip(params, meta)},
}
with open(sys.argv[1], "w") as f:
    json.dump(case, f)
print(f"wrote {sys.argv[1]}: query loss {query.item():.6f} after one inner step", file=sys.stderr)
