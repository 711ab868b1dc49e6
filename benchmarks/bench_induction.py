"""Speed of the β, α, ξ model's numerics and flows, as ratios against baselines run alongside.

    python benchmarks/bench_induction.py [--quick]

1. Gradient evaluation: phenom's stable lambdified gradient against a plain ``sympy.lambdify`` of
   the literal (overflow-prone) expression, on the same points: the cost of stability.
2. Flows: B flows integrated as one batched ODE (``induction_flow`` with arrays) against the same
   B flows integrated one after another: the gain from batching a sweep.

Results (machine, versions, each figure) go to ``benchmarks/results/induction.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import sympy as sp
from _machine import best_of, machine

from phenom import InductionHeadModel, _io, induction_flow
from phenom.induction.model import THETA, derive

RESULTS = Path(__file__).parent / "results" / "induction.json"


def bench_gradient(points: int, repeat: int) -> list[dict]:
    N, L = 8, 32
    model = InductionHeadModel(N, L)
    literal = sp.lambdify(THETA, list(derive(N, L).grad), modules="numpy")
    rng = np.random.default_rng(0)
    theta = rng.uniform(-5, 5, size=(3, points))  # moderate range, where the literal form is finite
    ours = model.grad(*theta)
    base = np.stack(np.broadcast_arrays(*literal(*theta)), axis=-1)
    assert np.allclose(ours, base, rtol=1e-8, atol=1e-12), "baseline disagrees"
    rows = []
    for n in (1, points):
        t_ours = best_of(lambda n=n: model.grad(*theta[:, :n]), repeat)
        t_base = best_of(lambda n=n: literal(*theta[:, :n]), repeat)
        print(
            f"  grad at {n:>6} points: stable {t_ours * 1e6:9.1f} us, literal {t_base * 1e6:9.1f} us, "
            f"ratio stable/literal {t_ours / t_base:5.2f}"
        )
        rows.append({"points": n, "stable_s": t_ours, "literal_s": t_base, "stable_over_literal": t_ours / t_base})
    return rows


def bench_flows(B: int, repeat: int) -> dict:
    rng = np.random.default_rng(1)
    starts = rng.uniform(0, 0.5, size=(B, 3))
    Ls = rng.integers(12, 64, size=B)
    batched = lambda: induction_flow(starts, N=[8] * B, L=Ls, t_max=300.0)  # noqa: E731
    one_by_one = lambda: [InductionHeadModel(8, L).flow(s, t_max=300.0) for s, L in zip(starts, Ls, strict=True)]  # noqa: E731
    t_batch, t_loop = best_of(batched, repeat), best_of(one_by_one, repeat)
    print(
        f"  {B:>4} flows (N = 8, L in [12, 64), t_max = 300): batched {t_batch:7.3f} s, "
        f"one by one {t_loop:7.3f} s, speed-up {t_loop / t_batch:5.1f}x"
    )
    return {"flows": B, "batched_s": t_batch, "one_by_one_s": t_loop, "speedup": t_loop / t_batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points, flows and repeats")
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    print(f"machine: {machine()}")
    InductionHeadModel(8, 32).grad(0.0, 0.0, 0.0)  # build the lambdified functions once
    print("gradient evaluation (N = 8, L = 32):")
    gradient = bench_gradient(1000 if args.quick else 100_000, repeat)
    print("gradient flows:")
    flows = [bench_flows(B, 1 if args.quick or B > 16 else 3) for B in ((4, 16) if args.quick else (4, 16, 64, 256))]
    if not args.quick:
        _io.write_json(
            RESULTS, {"machine": machine(), "versions": _io.provenance(), "gradient": gradient, "flows": flows}
        )
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
