"""Training speed of the two-layer attention network at the reference size, against JAX and PyTorch.

    python benchmarks/bench_network.py [--quick]

N = 8 pairs (17 tokens), 128-dimensional tokens (65 positions + D = 63), L = 32 labels, batch 128,
float32, plain SGD, linear read-out. Every measurement runs in a fresh child process (so that one
setting's memory state cannot leak into another's), each on the same batches (the same seeds):

1. sampling a batch of 128 sequences (``CopyingTask.sample``);
2. one training step (forward, backward, SGD update) on pre-sampled batches, and with sampling:
   phenom as ``train()`` runs it (its large work arrays reused from step to step through the
   network's workspace, the allocator left at its defaults); without the workspace (every array
   allocated afresh each step, as before it); and each of the two with glibc's ``mallopt`` asked to
   keep freed memory for reuse (what ``train()`` used to do to the whole process; measured here
   only, in the benchmark's own child process). Each of the four runs five times, interleaved,
   the fastest kept (the machine may be shared). The same algebra in JAX (``jax.jit`` of
   ``value_and_grad`` and the update) and in PyTorch (eager autograd), when installed
   (``pip install -e '.[bench]'``), with numpy sampling as phenom's;
3. ``train()`` as a user calls it (its defaults, N = 8, L = 32, lr 0.5) at several step counts:
   milliseconds per step with sampling and evaluation, and the share of the time spent in
   evaluation (the held-out set's sampling and every ``metrics`` call), after a two-step run
   that loads the compiled loops (its time reported as start-up); the fastest of three runs;
4. peak resident memory of the training process.

Results (machine, versions, each figure, the peers') go to ``benchmarks/results/network.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _machine import machine

RESULTS = Path(__file__).parent / "results" / "network.json"
SIZE = dict(N=8, L=32, D=63, eps=0.1)
BATCH, LR = 128, 0.5


def _batches(count: int):
    from phenom import _rng
    from phenom.nets import CopyingTask

    task = CopyingTask(**SIZE)
    rng = _rng.stream(0, "data")
    return task, [task.sample(BATCH, rng, dtype=np.float32) for _ in range(count)]


def _per_step(step, batches, sample=None) -> float:
    """Milliseconds per step: the best of three passes over ``batches`` (one warm-up step first)."""
    step(batches[0])
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for b in batches:
            step(sample() if sample else b)
        best = min(best, (time.perf_counter() - start) / len(batches))
    return best * 1e3


def _tune_malloc() -> None:
    """glibc's malloc asked to serve blocks below 32 MiB from the heap and keep up to 256 MiB of
    freed heap (this child process only): the setting train() no longer applies."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    for param, value in ((-3, 32 << 20), (-1, 256 << 20), (-2, 16 << 20)):  # MMAP_THRESHOLD, TRIM, TOP_PAD
        if libc.mallopt(param, value) != 1:
            raise OSError("mallopt refused a setting")


def child_sampling(steps: int) -> dict:
    from phenom import _rng

    task, _ = _batches(1)
    rng = _rng.stream(0, "data")
    return {"sample_ms": _per_step(lambda b: None, [None] * steps, lambda: task.sample(BATCH, rng, dtype=np.float32))}


def child_phenom(steps: int, workspace: bool, tuned_malloc: bool) -> dict:
    from threadpoolctl import threadpool_limits

    from phenom import _rng
    from phenom.nets import AttentionNetwork
    from phenom.nets.optim import SGD

    if tuned_malloc:
        _tune_malloc()
    threadpool_limits(limits=1, user_api="blas")  # as train() runs the step
    task, batches = _batches(steps)
    net, opt = AttentionNetwork.init(task, "linear", seed=0), SGD(LR)
    if not workspace:
        net._workspace = None  # every step allocates its arrays afresh

    def step(b):
        _, g = net.loss_and_grads(b)
        opt.step(net.params(), g)

    rng = _rng.stream(0, "data")
    return {
        "step_ms": _per_step(step, batches),
        "step_with_sampling_ms": _per_step(step, batches, lambda: task.sample(BATCH, rng, dtype=np.float32)),
    }


def child_jax(steps: int) -> dict:
    import jax
    import jax.numpy as jnp

    from phenom import _rng
    from phenom.nets import AttentionNetwork

    task, batches = _batches(steps)
    net = AttentionNetwork.init(task, "linear", seed=0)
    P = {k: jnp.asarray(v) for k, v in net.weights.items()}
    T = batches[0].content.shape[1]
    mask = jnp.tril(jnp.ones((T, T), dtype=bool))

    def loss(P, X, y):  # the same algebra: layer 2 on the target's row only
        S = (X @ P["Q1"].T) @ jnp.swapaxes(X @ P["K1"].T, 1, 2)
        A = jax.nn.softmax(jnp.where(mask, S, -jnp.inf), axis=-1)
        X1 = X + (A @ X) @ P["V1"].T
        x_t = X1[:, -1]
        a = jax.nn.softmax(jnp.einsum("ntd,nd->nt", X1 @ P["K2"].T, x_t @ P["Q2"].T), axis=-1)
        h = x_t + jnp.einsum("nt,ntd->nd", a, X1) @ P["V2"].T
        logp = jax.nn.log_softmax(h @ P["W"].T)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def update(P, X, y):
        value, g = jax.value_and_grad(loss)(P, X, y)
        return {k: P[k] - LR * g[k] for k in P}, value

    state = {"P": P}

    def step(b):
        state["P"], value = update(state["P"], b.tokens, b.answer)
        value.block_until_ready()

    for b in batches:
        _ = b.tokens  # the peer needs dense tokens: built (and cached) outside the step's timing
    rng = _rng.stream(0, "data")
    return {
        "step_ms": _per_step(step, batches),
        "version": jax.__version__,
        "step_with_sampling_ms": _per_step(step, batches, lambda: task.sample(BATCH, rng, dtype=np.float32)),
    }


def child_torch(steps: int) -> dict:
    import torch

    from phenom import _rng
    from phenom.nets import AttentionNetwork

    task, batches = _batches(steps)
    net = AttentionNetwork.init(task, "linear", seed=0)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in net.weights.items()}
    T = batches[0].content.shape[1]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for b in batches:
        _ = b.tokens  # dense tokens, built (and cached) outside the step's timing

    def step(b):
        X, y = torch.from_numpy(b.tokens), torch.from_numpy(b.answer)
        S = (X @ P["Q1"].T) @ (X @ P["K1"].T).transpose(1, 2)
        A = torch.softmax(S.masked_fill(~mask, float("-inf")), dim=-1)
        X1 = X + (A @ X) @ P["V1"].T
        x_t = X1[:, -1]
        a = torch.softmax(((X1 @ P["K2"].T) @ (P["Q2"] @ x_t.unsqueeze(-1))).squeeze(-1), dim=-1)
        h = x_t + (a.unsqueeze(1) @ X1).squeeze(1) @ P["V2"].T
        for p in P.values():
            p.grad = None
        torch.nn.functional.cross_entropy(h @ P["W"].T, y).backward()
        with torch.no_grad():
            for p in P.values():
                p -= LR * p.grad

    rng = _rng.stream(0, "data")
    return {
        "step_ms": _per_step(step, batches),
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "step_with_sampling_ms": _per_step(step, batches, lambda: task.sample(BATCH, rng, dtype=np.float32)),
    }


def child_train(steps: int) -> dict:
    """``train()`` with its defaults; evaluation timed by wrapping the network's ``metrics``
    and the task's sampling of the evaluation set."""
    from phenom.nets import AttentionNetwork, CopyingTask, train

    task = CopyingTask(**SIZE)
    start = time.perf_counter()
    train(AttentionNetwork.init(task, "linear", seed=1), task, steps=2, lr=LR, progress=False)
    start_up = time.perf_counter() - start  # loading the compiled loops, first calls
    best = None
    for _ in range(3 if steps <= 1000 else 1):  # the fastest of three runs (one for the longest)
        net = AttentionNetwork.init(task, "linear", seed=0)
        spent = {"eval": 0.0}

        def timed(fn, spent=spent):
            def wrapper(*args, **kwargs):
                start = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent["eval"] += time.perf_counter() - start

            return wrapper

        net.metrics = timed(net.metrics)
        sample = task.sample
        task.sample = lambda n, rng, sample=sample, **kw: (timed(sample) if n != BATCH else sample)(n, rng, **kw)
        start = time.perf_counter()
        hist = train(net, task, steps=steps, lr=LR, progress=False)
        total = time.perf_counter() - start
        task.sample = sample
        run = {
            "steps": steps,
            "ms_per_step": total / steps * 1e3,
            "eval_share": spent["eval"] / total,
            "evaluations": len(hist.step),
            "eval_size": hist.config["eval_size"],
            "start_up_s": start_up,
        }
        best = run if best is None or run["ms_per_step"] < best["ms_per_step"] else best
    return {**best, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(kind: str, *args) -> dict | None:
    """Run one measurement in a fresh interpreter; None when its framework is not installed."""
    cmd = [sys.executable, __file__, "--child", kind, *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parent)
    if done.returncode:
        if "ModuleNotFoundError" in done.stderr:
            return None
        raise RuntimeError(f"{kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps per measurement (a smoke run)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        fn = {
            "sampling": child_sampling,
            "phenom": child_phenom,
            "jax": child_jax,
            "torch": child_torch,
            "train": child_train,
        }[kind]
        values = [int(rest[0])] + [r == "True" for r in rest[1:]]
        print(json.dumps(fn(*values)))
        return

    from phenom import _io

    steps = 20 if args.quick else 100
    result = {
        "machine": machine(),
        "versions": _io.provenance(),
        "size": {**SIZE, "batch_size": BATCH, "lr": LR},
        "steps_per_measurement": steps,
    }
    result["sampling"] = _child("sampling", steps)
    variants = {
        "phenom": (True, False),
        "phenom_without_memory_reuse": (False, False),
        "phenom_with_tuned_malloc": (True, True),
        "phenom_without_workspace_with_tuned_malloc": (False, True),
    }
    runs = {name: [] for name in variants}
    for _ in range(5):  # interleaved: a busy spell of a shared machine hits every variant alike
        for name, flags in variants.items():
            runs[name].append(_child("phenom", steps, *flags))
    for name, found in runs.items():
        result[name] = {k: min(r[k] for r in found) for k in found[0]}
    result["workspace_speedup"] = {
        k: result["phenom_without_memory_reuse"][k] / result["phenom"][k] for k in ("step_ms", "step_with_sampling_ms")
    }
    result["tuned_malloc_speedup"] = {
        k: result["phenom"][k] / result["phenom_with_tuned_malloc"][k] for k in ("step_ms", "step_with_sampling_ms")
    }
    result["jax"] = _child("jax", steps)
    result["torch"] = _child("torch", steps)
    for peer in ("jax", "torch"):
        if result[peer] is not None:
            result[f"speedup_vs_{peer}"] = {
                k: result[peer][k] / result["phenom"][k] for k in ("step_ms", "step_with_sampling_ms")
            }
    counts = (10, 100, 1000) if args.quick else (10, 100, 1000, 5000)
    # Two fresh processes per count, the faster kept: on a shared machine one can land in a busy spell.
    result["train"] = [min((_child("train", n) for _ in range(2)), key=lambda t: t["ms_per_step"]) for n in counts]
    if result["jax"] is not None:  # train() with sampling and evaluation against the peer's bare step
        result["train_speedup_vs_jax"] = {
            str(t["steps"]): result["jax"]["step_with_sampling_ms"] / t["ms_per_step"] for t in result["train"]
        }
    print(json.dumps(result, indent=2))
    if not args.quick:
        _io.write_json(RESULTS, result)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
