"""Training speed of the two-layer attention network at the reference size, against PyTorch.

    python benchmarks/bench_network.py [--steps 100]

N = 8 pairs (17 tokens), 128-dimensional tokens (65 positions + D = 63), L = 32 labels, batch
128, float32, plain SGD, for the linear and the MLP read-out. Reports steps per second of
phenom's hand-written numpy network (sampling included and excluded) and, where PyTorch is
installed, of the same network written in PyTorch (autograd, eager mode) in the same process with
the same thread count, on the same batches; the ratio phenom / PyTorch > 1 means phenom is faster.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _machine import machine

from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.optim import SGD


def phenom_steps(task, classifier, batches, lr=0.1) -> float:
    net = AttentionNetwork.init(task, classifier, seed=0)
    opt = SGD(lr)
    params = net.params()
    net.loss_and_grads(batches[0])  # warm-up
    start = time.perf_counter()
    for b in batches:
        _, g = net.loss_and_grads(b)
        opt.step(params, g)
    return len(batches) / (time.perf_counter() - start)


def torch_steps(task, classifier, batches, lr=0.1) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    net = AttentionNetwork.init(task, classifier, seed=0)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in net.weights.items()}
    T = batches[0].tokens.shape[1]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))

    def loss_fn(X, y):
        S = (X @ P["Q1"].T) @ (X @ P["K1"].T).transpose(1, 2)  # (Q x_i)·(K x_j)
        A = torch.softmax(S.masked_fill(~mask, float("-inf")), dim=-1)
        X1 = X + (A @ X) @ P["V1"].T
        x_t = X1[:, -1]
        s = (X1 @ P["K2"].T) @ (P["Q2"] @ x_t.unsqueeze(-1))  # only the target's row
        a = torch.softmax(s.squeeze(-1), dim=-1)
        h = x_t + (a.unsqueeze(1) @ X1).squeeze(1) @ P["V2"].T
        if classifier == "mlp":
            for k in (1, 2, 3):
                h = torch.relu(h @ P[f"W{k}"].T + P[f"b{k}"])
        return torch.nn.functional.cross_entropy(h @ P["W"].T, y)

    data = [(torch.from_numpy(b.tokens), torch.from_numpy(b.answer)) for b in batches]
    loss_fn(*data[0]).backward()  # warm-up
    start = time.perf_counter()
    for X, y in data:
        for p in P.values():
            p.grad = None
        loss_fn(X, y).backward()
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
    return len(batches) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed training steps per measurement")
    args = parser.parse_args()
    task = CopyingTask(N=8, L=32, D=63, eps=0.1)
    rng = np.random.default_rng(0)
    print(f"machine: {machine()}")
    start = time.perf_counter()
    batches = [task.sample(128, rng, dtype=np.float32) for _ in range(args.steps)]
    per_sample = (time.perf_counter() - start) / args.steps
    print(f"sampling a batch of 128 sequences: {per_sample * 1e3:.2f} ms")
    for classifier in ("linear", "mlp"):
        ours = phenom_steps(task, classifier, batches)
        with_sampling = 1 / (1 / ours + per_sample)
        line = f"{classifier:>6} read-out: phenom {ours:6.1f} steps/s ({with_sampling:5.1f} with sampling)"
        theirs = torch_steps(task, classifier, batches)
        if theirs is None:
            line += ", PyTorch not installed"
        else:
            line += f", PyTorch eager {theirs:6.1f} steps/s, ratio phenom/PyTorch {ours / theirs:4.2f}"
        print(line)


if __name__ == "__main__":
    main()
