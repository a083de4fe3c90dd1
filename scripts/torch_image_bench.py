"""PyTorch side of scripts/bench_images.sh: metagon's few-shot image
workloads (metalearn.BenchmarkFewShotImages) on random colour images.

  protonet: one training episode of Prototypical Networks (Snell et al. 2017),
            Conv-4 embedding, squared Euclidean distances to the class means,
            cross-entropy of the queries, one Adam step (lr 1e-3)
  maml:     one second-order MAML meta-iteration (Finn et al. 2017), Conv-4
            with a linear head, INNER_STEPS steps of alpha on each task's
            support loss with create_graph=True, the mean query loss of the
            meta-batch, one Adam step (lr 1e-3)

Conv-4 is metagon's (scripts/torch_conv4.py: no convolution bias, batch norm
with batch statistics), so both sides do the same arithmetic. Every step gets
the same random episode(s), as the Go benchmark does; the median wall and
process CPU time over --iters timed steps after --warmup untimed ones are
reported in JSON on stdout.

  /usr/bin/python3 scripts/torch_image_bench.py --learner maml --size 84 --shot 5 --threads 2
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--learner", choices=["protonet", "maml"], required=True)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--size", type=int, default=32, help="image height and width")
    p.add_argument("--way", type=int, default=5)
    p.add_argument("--shot", type=int, default=1)
    p.add_argument("--query", type=int, default=15, help="queries per class")
    p.add_argument("--filters", type=int, default=0, help="0: 64 for protonet, 32 for maml")
    p.add_argument("--meta-batch", type=int, default=4, help="maml: tasks per meta-iteration")
    p.add_argument("--inner-steps", type=int, default=5, help="maml: inner steps")
    p.add_argument("--inner-lr", type=float, default=0.01, help="maml: alpha")
    p.add_argument("--iters", type=int, default=5, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


args = parse()
# The BLAS's own thread pool fights torch's OpenMP threads (../shared/peers/README.md):
# hold it to one thread unless the caller says otherwise; set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("PEERS_BLAS_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_conv4  # noqa: E402


def conv4_params(filters, classes, channels, size, gen):
    """Conv-4's parameters, He-initialised convolutions, a linear head when classes > 0."""
    p = {}
    c = channels
    for i in range(1, 5):
        p[f"conv{i}.w"] = torch.randn(filters, c, 3, 3, generator=gen) * math.sqrt(2 / (c * 9))
        p[f"bn{i}.scale"] = torch.ones(filters)
        p[f"bn{i}.shift"] = torch.zeros(filters)
        c = filters
    side = size
    for _ in range(4):
        side //= 2
    if classes > 0:
        fan_in = filters * side * side
        p["fc.w"] = torch.randn(fan_in, classes, generator=gen) * math.sqrt(1 / fan_in)
        p["fc.b"] = torch.zeros(classes)
    for v in p.values():
        v.requires_grad_(True)
    return p


def embed(p, x):
    """Conv-4 without its head: the flattened features."""
    h = x
    for i in range(1, 5):
        h = F.conv2d(h, p[f"conv{i}.w"], padding=1)
        h = F.batch_norm(h, None, None, p[f"bn{i}.scale"], p[f"bn{i}.shift"], training=True, eps=1e-5)
        h = F.max_pool2d(F.relu(h), 2)
    return h.flatten(1)


def episode(gen):
    """One random episode: support and query images with their labels."""
    shape = (args.channels, args.size, args.size)
    xs = torch.randn(args.way * args.shot, *shape, generator=gen)
    xq = torch.randn(args.way * args.query, *shape, generator=gen)
    ys = torch.arange(args.way * args.shot) % args.way
    yq = torch.arange(args.way * args.query) % args.way
    return xs, ys, xq, yq


def protonet_step(p, opt, task):
    xs, ys, xq, yq = task
    z = embed(p, torch.cat([xs, xq]))
    zs, zq = z[: len(xs)], z[len(xs):]
    protos = torch.stack([zs[ys == c].mean(0) for c in range(args.way)])
    loss = F.cross_entropy(-torch.cdist(zq, protos).pow(2), yq)
    opt.zero_grad()
    loss.backward()
    opt.step()


def maml_step(p, opt, tasks):
    names = list(p)
    total = 0
    for xs, ys, xq, yq in tasks:
        fast = dict(p)
        for _ in range(args.inner_steps):
            loss = F.cross_entropy(torch_conv4.forward(fast, xs), ys)
            grads = torch.autograd.grad(loss, [fast[n] for n in names], create_graph=True)
            fast = {n: fast[n] - args.inner_lr * g for n, g in zip(names, grads)}
        total = total + F.cross_entropy(torch_conv4.forward(fast, xq), yq)
    opt.zero_grad()
    (total / len(tasks)).backward()
    opt.step()


def blas_loaded():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() or "dnnl" in line.lower()}
    return sorted(os.path.basename(x) for x in libs)


def main():
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    filters = args.filters or (64 if args.learner == "protonet" else 32)
    p = conv4_params(filters, 0 if args.learner == "protonet" else args.way, args.channels, args.size, gen)
    opt = torch.optim.Adam(p.values(), lr=1e-3)
    if args.learner == "protonet":
        task = episode(gen)
        step = lambda: protonet_step(p, opt, task)  # noqa: E731
    else:
        tasks = [episode(gen) for _ in range(args.meta_batch)]
        step = lambda: maml_step(p, opt, tasks)  # noqa: E731
    for _ in range(args.warmup):
        step()
    times, cpu = [], []
    for _ in range(args.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    json.dump({"learner": args.learner, "shape": [args.channels, args.size, args.size],
               "way": args.way, "shot": args.shot, "query": args.query, "filters": filters,
               "median_ms": statistics.median(times), "times_ms": times,
               "median_cpu_ms": statistics.median(cpu), "cpu_ms": cpu,
               "torch": torch.__version__, "threads": args.threads, "libs": blas_loaded()},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
