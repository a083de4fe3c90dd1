"""metagon's Conv-4 written in PyTorch, for the cross-check scripts.

The weights are a dict keyed by metagon's parameter names: conv{i}.w (no
conv bias: batch norm removes it), bn{i}.scale, bn{i}.shift for i = 1..4,
fc.w stored (in, out) as metagon stores it, and fc.b. Batch norm uses the
batch statistics (eps 1e-5), as metagon's does at training and test time.
"""
import torch.nn.functional as F


def forward(p, x):
    h = x
    for i in range(1, 5):
        h = F.conv2d(h, p[f"conv{i}.w"], padding=1)
        h = F.batch_norm(h, None, None, p[f"bn{i}.scale"], p[f"bn{i}.shift"], training=True, eps=1e-5)
        h = F.max_pool2d(F.relu(h), 2)
    return h.flatten(1) @ p["fc.w"] + p["fc.b"]
