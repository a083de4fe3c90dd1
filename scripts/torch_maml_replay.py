#!/usr/bin/env python3
"""Replays a metagon MAML Omniglot run in PyTorch: same initial weights, same
meta-training episodes, same test episodes, written by the Go test
TestExportReplay (command/meta). Trains second-order MAML (Conv-4 without conv
bias, batch norm with batch statistics, one inner SGD step) with PyTorch's
Adam and prints the test accuracy after 0..STEPS inner steps, so that the
result can be put beside metagon's on identical inputs.

usage: torch_maml_replay.py DIR [EVAL_STEPS] [THREADS]
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from torch_conv4 import forward as conv4

d = sys.argv[1]
eval_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
ck = json.load(open(f"{d}/init.json"))
iters, batch = int(ck["Meta"]["iterations"]), int(ck["Meta"]["meta_batch"])
tests, alpha = int(ck["Meta"]["eval_tasks"]), float(ck["Meta"]["inner_lr"])
names = [p["Name"] for p in ck["Params"]]
params = [torch.tensor(p["Data"], dtype=torch.float32).reshape(p["Shape"]).requires_grad_() for p in ck["Params"]]
ways, size = params[names.index("fc.b")].shape[0], 28


def forward(ps, x):
    return conv4(dict(zip(names, ps)), x)


def adapt(ps, xs, ys, steps, create_graph):
    for _ in range(steps):
        g = torch.autograd.grad(F.cross_entropy(forward(ps, xs), ys), ps, create_graph=create_graph)
        ps = [p - alpha * gi for p, gi in zip(ps, g)]
    return ps


train = np.memmap(f"{d}/train.bin", dtype="<f4", mode="r")
per_task = 2 * ways * size * size  # 1-shot, 1 query per class
assert train.size == iters * batch * per_task, (train.size, iters, batch)
y = torch.arange(ways)
opt = torch.optim.Adam(params, lr=1e-3)
for it in range(iters):
    opt.zero_grad()
    total, correct = 0.0, 0.0
    for t in range(batch):
        off = (it * batch + t) * per_task
        xs = torch.from_numpy(np.array(train[off:off + per_task // 2])).reshape(ways, 1, size, size)
        xq = torch.from_numpy(np.array(train[off + per_task // 2:off + per_task])).reshape(ways, 1, size, size)
        fast = adapt(params, xs, y, 1, True)
        logits = forward(fast, xq)
        total = total + F.cross_entropy(logits, y)
        correct += (logits.argmax(1) == y).float().mean().item()
    (total / batch).backward()
    opt.step()
    if (it + 1) % 20 == 0:
        print(f"iter {it + 1}: meta-loss {total.item() / batch:.4f} acc {correct / batch:.3f}", flush=True)

test = np.memmap(f"{d}/test.bin", dtype="<f4", mode="r")
q = test.size // tests // (size * size) - ways  # query images per episode
yq = torch.arange(ways).repeat_interleave(q // ways)
acc = [[] for _ in range(eval_steps + 1)]
per = (ways + q) * size * size
for k in range(tests):
    off = k * per
    xs = torch.from_numpy(np.array(test[off:off + ways * size * size])).reshape(ways, 1, size, size)
    xq = torch.from_numpy(np.array(test[off + ways * size * size:off + per])).reshape(q, 1, size, size)
    fast = [p.detach().requires_grad_() for p in params]
    for s in range(eval_steps + 1):
        with torch.no_grad():
            acc[s].append((forward(fast, xq).argmax(1) == yq).float().mean().item())
        if s < eval_steps:
            fast = [p.detach().requires_grad_() for p in adapt(fast, xs, y, 1, False)]
for s, a in enumerate(acc):
    m, sd = float(np.mean(a)), float(np.std(a))
    print(f"after {s} steps: {100 * m:.2f} ± {100 * 1.96 * sd / math.sqrt(len(a)):.2f}% ({len(a)} episodes)")
