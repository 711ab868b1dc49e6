"""Speed of the β, α, ξ flows against a ten-line peer, run in the same process.

    python benchmarks/bench_flows.py [--quick]

The peer is what a researcher would write first: ``sympy.lambdify(θ, grad, "math", cse=True)`` of
the literal gradient at fixed (N, L), integrated by ``scipy.integrate.solve_ivp`` (RK45, rtol
1e-8), one flow at a time. Against it:

1. one flow (N = 8, L = 32, from θ = 0, t_max = 300): ``phenom.induction.fastflow.flow_quantities`` (compiled,
   per-member steps, its default rtol 1e-7) and ``phenom.induction.model.induction_flow`` (dense trajectory);
2. 10⁴ flows of mixed N ∈ {4, 8, 16}, L ∈ (N, 9N] and θ₀ ∈ [0, 0.5)³ (t_max = 300): flow_quantities
   against the peer's loop, timed on 200 flows and scaled (stated as such); at flow_quantities'
   default rtol 1e-7 and at the peer's 1e-8, with the largest relative error of the cliff times
   against rtol 1e-11 on 500 of them;
3. peak memory of the 10⁴-flow batch: resident set size of a child process after its imports and
   compilation, and after the batch;
4. start-up: import and first call in a fresh process, with an empty cache folder (numba compiles
   the kernels and the integrator) and with the one that left (it loads them).

Results (machine, versions, each figure, the peer's) go to ``benchmarks/results/flows.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy
import sympy as sp
from _machine import best_of, machine
from scipy.integrate import solve_ivp

from phenom import _io
from phenom.induction.fastflow import flow_quantities
from phenom.induction.model import THETA, derive, induction_flow

RESULTS = Path(__file__).parent / "results" / "flows.json"


def peer(N: int, L: int):
    """The ten-line peer: literal gradient lambdified to ``math``, solve_ivp RK45 at rtol 1e-8."""
    grad = sp.lambdify(THETA, list(derive(N, L).grad), "math", cse=True)

    def run(theta0=(0.0, 0.0, 0.0), t_max=300.0):
        return solve_ivp(lambda t, y: [-v for v in grad(*y)], (0.0, t_max), list(theta0), rtol=1e-8)

    return run


def mixed(B: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    N = rng.choice([4, 8, 16], B)
    L = np.array([rng.integers(n + 1, 9 * n + 1) for n in N])
    return rng.uniform(0.0, 0.5, (B, 3)), N, L


CHILD = """
import resource, sys, numpy as np
sys.path.insert(0, {here!r})
from bench_flows import mixed
from phenom.fastflow import flow_quantities
flow_quantities(N=8, L=32, t_max=10.0)  # imports and compilation
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if {run}:
    theta0, N, L = mixed({B})
    flow_quantities(theta0, N=N, L=L, t_max=300.0)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory_mb(B: int) -> tuple[float, float]:
    """Peak RSS of a child process after imports and compilation, and after the batch (MiB)."""
    here = str(Path(__file__).parent)
    out = subprocess.run([sys.executable, "-c", CHILD.format(here=here, run=True, B=B)], capture_output=True,
                         text=True, check=True)
    before, after = (int(v) / 1024 for v in out.stdout.split())
    return before, after


START = """
import time
start = time.perf_counter()
from phenom.fastflow import flow_quantities
flow_quantities(N=8, L=32, t_max=10.0)
print(time.perf_counter() - start)
"""


def start_seconds() -> dict:
    """Import and first call in a fresh process: with an empty cache folder (compilation), then
    again with the cache the first one left (loading the machine code)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PHENOM_CACHE": cache}
        cold, warm = (float(subprocess.run([sys.executable, "-c", START], env=env, capture_output=True, text=True,
                                           check=True).stdout) for _ in range(2))
    return {"cold_cache": cold, "warm_cache": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer flows and repeats (not written)")
    args = parser.parse_args()
    B = 1000 if args.quick else 10_000
    repeat = 2 if args.quick else 5
    report = {"machine": machine(), "versions": {"phenom": _io.code_version(), "numpy": np.__version__,
                                                 "scipy": scipy.__version__, "sympy": sp.__version__}}
    print(f"machine: {report['machine']}")

    report["start_seconds"] = start_seconds()
    flow_quantities(N=8, L=32, t_max=10.0)
    run_peer = peer(8, 32)
    run_peer()
    one = {"peer_ms": 1e3 * best_of(run_peer, repeat),
           "fastflow_ms": 1e3 * best_of(lambda: flow_quantities(N=8, L=32, t_max=300.0), 5 * repeat),
           "induction_flow_ms": 1e3 * best_of(lambda: induction_flow(N=8, L=32, t_max=300.0), repeat)}
    one["peer_over_fastflow"] = one["peer_ms"] / one["fastflow_ms"]
    report["one_flow"] = one
    print(f"one flow (N = 8, L = 32, t_max 300): peer {one['peer_ms']:.2f} ms, fastflow {one['fastflow_ms']:.3f} ms "
          f"({one['peer_over_fastflow']:.0f}x), induction_flow {one['induction_flow_ms']:.1f} ms")

    theta0, N, L = mixed(B)
    ours = best_of(lambda: flow_quantities(theta0, N=N, L=L, t_max=300.0), max(2, repeat // 2))
    ours_tight = best_of(lambda: flow_quantities(theta0, N=N, L=L, t_max=300.0, rtol=1e-8, atol=1e-10), 2)
    # Accuracy of the transition times: against the same integrator at rtol 1e-11 on 500 members.
    head = slice(0, 500)
    reference = flow_quantities(theta0[head], N=N[head], L=L[head], t_max=300.0, rtol=1e-11, atol=1e-13)["cliff"]
    accuracy = {}
    for name, options in (("default", {}), ("rtol_1e-8", {"rtol": 1e-8, "atol": 1e-10})):
        cliff = flow_quantities(theta0[head], N=N[head], L=L[head], t_max=300.0, **options)["cliff"]
        ok = np.isfinite(reference)
        assert np.array_equal(np.isfinite(cliff), ok)
        accuracy[name] = float(np.max(np.abs(cliff[ok] - reference[ok]) / reference[ok]))
    sample = 200
    peers = {}

    def peer_loop():
        for k in range(sample):
            key = (int(N[k]), int(L[k]))
            if key not in peers:
                peers[key] = peer(*key)
            peers[key](theta0[k])

    peer_loop()  # lambdify every (N, L) of the sample first: time the integration only
    peer_sample = best_of(peer_loop, 1)
    rss_before, rss_after = peak_memory_mb(B)
    batch = {"flows": B, "fastflow_s": ours, "fastflow_rtol_1e-8_s": ours_tight,
             "max_relative_cliff_error_vs_rtol_1e-11": accuracy,
             "peer_s_for_200": peer_sample, "peer_s_scaled": peer_sample * B / sample,
             "peak_rss_mb_after_imports": rss_before, "peak_rss_mb_after_batch": rss_after}
    batch["peer_over_fastflow"] = batch["peer_s_scaled"] / ours
    batch["peer_over_fastflow_rtol_1e-8"] = batch["peer_s_scaled"] / ours_tight
    report["batch"] = batch
    print(f"{B} mixed flows: fastflow {ours:.3f} s (rtol 1e-7; {ours_tight:.3f} s at rtol 1e-8; largest relative "
          f"cliff error against rtol 1e-11: {accuracy['default']:.1e}, {accuracy['rtol_1e-8']:.1e}); peer {peer_sample:.2f} s for {sample}, "
          f"{batch['peer_s_scaled']:.1f} s scaled to {B} ({batch['peer_over_fastflow']:.0f}x); "
          f"peak RSS {rss_before:.0f} MiB after imports and compilation, {rss_after:.0f} MiB after the batch")
    if not args.quick:
        _io.write_json(RESULTS, report)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
