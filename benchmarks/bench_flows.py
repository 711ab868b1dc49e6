"""Speed of the β, α, ξ flows against a ten-line peer, run in the same process.

    python benchmarks/bench_flows.py [--quick]

The peer is what a researcher would write first: ``sympy.lambdify(θ, grad, "math", cse=True)`` of
the literal gradient at fixed (N, L), integrated by ``scipy.integrate.solve_ivp`` (RK45, rtol
1e-8), one flow at a time. Against it:

1. one flow (N = 8, L = 32, from θ = 0, t_max = 300): ``phenom.induction.fastflow.flow_quantities`` (compiled,
   per-member steps, its default rtol 1e-7) and ``InductionHeadModel(8, 32).flow()`` (the compiled
   trajectory with its dense output, default rtol 1e-9), the peer timed alternately with them;
2. 10⁴ flows of mixed N ∈ {4, 8, 16}, L ∈ (N, 9N] and θ₀ ∈ [0, 0.5)³ (t_max = 300): flow_quantities
   against the peer's loop, timed on 200 flows and scaled (stated as such); at flow_quantities'
   default rtol 1e-7 and at the peer's 1e-8, with the largest relative error of the cliff times
   against rtol 1e-11 on 500 of them;
3. peak memory of the 10⁴-flow batch: resident set size of a child process after its imports and
   compilation, and after the batch;
4. start-up: import and first call in a fresh process, with an empty cache folder (numba compiles
   the kernels and the integrator) and with the one that left (it loads them); and the first
   ``InductionHeadModel(8, 32).loss(0, 0, 0)`` after the import (the lambdified model from the cache);
5. trajectories: 10⁴ of the mixed flows through ``induction_flow`` on a 200-point ``t_eval`` grid and
   with dense output, timed, and the t_eval batch's peak memory in a fresh process (tracemalloc's
   peak of Python allocations and the resident set size);
6. accuracy of the trajectories: the first time the loss is ≤ ½ log N against DOP853 at rtol 1e-12
   (scipy, numpy gradient, event location), for batches of 1, 8 and 10⁴ flows (20 members checked);
7. beside a busy process: one flow idle and while a child process spins on one core.

Results (machine, versions, each figure, the peer's) go to ``benchmarks/results/flows.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import sympy as sp
from _machine import best_of, load_average, machine
from scipy.integrate import solve_ivp

from phenom import _io
from phenom.induction.fastflow import flow_quantities
from phenom.induction.model import THETA, InductionHeadModel, derive, grad, induction_flow, loss

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
from phenom.induction.fastflow import flow_quantities
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
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(here=here, run=True, B=B)], capture_output=True, text=True, check=True
    )
    before, after = (int(v) / 1024 for v in out.stdout.split())
    return before, after


START = """
import time
start = time.perf_counter()
from phenom.induction.fastflow import flow_quantities
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
        cold, warm = (
            float(
                subprocess.run(
                    [sys.executable, "-c", START], env=env, capture_output=True, text=True, check=True
                ).stdout
            )
            for _ in range(2)
        )
    return {"cold_cache": cold, "warm_cache": warm}


FIRST_LOSS = """
import time
start = time.perf_counter()
from phenom import InductionHeadModel
model = InductionHeadModel(8, 32)
imported = time.perf_counter()
model.loss(0.0, 0.0, 0.0)
print(imported - start, time.perf_counter() - imported)
"""


def first_loss_seconds() -> dict:
    """Import of InductionHeadModel and its first loss in a fresh process (the cache folder as it is)."""
    subprocess.run([sys.executable, "-c", FIRST_LOSS], capture_output=True, check=True)  # fill the cache
    out = subprocess.run([sys.executable, "-c", FIRST_LOSS], capture_output=True, text=True, check=True).stdout
    imported, first = map(float, out.split())
    return {"import": imported, "first_loss": first}


TRAJECTORIES = """
import resource, sys, tracemalloc, numpy as np
sys.path.insert(0, {here!r})
from bench_flows import mixed
from phenom import induction_flow
theta0, N, L = mixed({B})
grid = np.linspace(0.0, 300.0, 200)
for n in (1, 64):  # imports and compilation (or loading) of the serial and the parallel entry point
    induction_flow(theta0[:n], N=N[:n], L=L[:n], t_eval=grid)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
flows = induction_flow(theta0, N=N, L=L, t_eval=grid)
peak = tracemalloc.get_traced_memory()[1]
print(peak, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def trajectory_memory_mb(B: int) -> dict:
    """Peak memory of B t_eval trajectories in a fresh process: tracemalloc's peak (MiB) during the
    call, and the resident set size after imports and compilation and after the batch."""
    here = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", TRAJECTORIES.format(here=here, B=B)], capture_output=True, text=True, check=True
    ).stdout
    peak, before, after = map(float, out.split())
    return {
        "tracemalloc_peak_mb": peak / 2**20,
        "peak_rss_mb_after_imports": before / 1024,
        "peak_rss_mb_after_batch": after / 1024,
    }


def reference_time_to(theta0, N: int, L: int) -> float | None:
    """First time the loss is ≤ ½ log N: scipy DOP853 at rtol 1e-12 on the numpy gradient (None:
    not by t = 300)."""
    level = 0.5 * np.log(N)
    event = lambda t, y: loss(y, N, L) - level  # noqa: E731
    event.terminal, event.direction = True, -1
    sol = solve_ivp(
        lambda t, y: -grad(y, N, L),
        (0.0, 300.0),
        np.asarray(theta0, float),
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=event,
    )
    return float(sol.t_events[0][0]) if sol.t_events[0].size else None


def transition_accuracy(theta0, N, L) -> dict:
    """Largest relative error of Trajectory.time_to(½ log N) against DOP853, for batches of 1, 8 and all."""
    out = {}
    for B, checked in ((1, [0]), (8, range(8)), (len(N), np.linspace(0, len(N) - 1, 11).astype(int))):
        flows = induction_flow(theta0[:B], N=N[:B], L=L[:B])
        errors = []
        for b in checked:
            ours, ref = flows[b].time_to(0.5 * np.log(N[b])), reference_time_to(theta0[b], int(N[b]), int(L[b]))
            if (ours is None) != (ref is None):
                raise AssertionError(f"member {b}: time_to {ours} against DOP853's {ref}")
            if ref is not None:
                errors.append(abs(ours - ref) / ref)
        out[f"batch_{B}"] = float(max(errors))
    return out


def median_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def beside_a_busy_process(repeat: int) -> dict:
    """Median time of one flow (ms), idle and while a child process spins on one core."""

    def one():
        return InductionHeadModel(8, 32).flow()

    idle = median_of(one, repeat)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        busy = median_of(one, repeat)
    finally:
        spinner.kill()
        spinner.wait()
    return {"idle_ms": 1e3 * idle, "busy_ms": 1e3 * busy, "busy_over_idle": busy / idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer flows and repeats (not written)")
    args = parser.parse_args()
    B = 1000 if args.quick else 10_000
    repeat = 2 if args.quick else 5
    report = {
        "machine": machine(),
        "load_average_at_start": load_average(),
        "versions": {
            "phenom": _io.code_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sympy": sp.__version__,
        },
    }
    print(f"machine: {report['machine']}")

    report["start_seconds"] = start_seconds()
    report["first_call_seconds"] = first_loss_seconds()
    flow_quantities(N=8, L=32, t_max=10.0)
    InductionHeadModel(8, 32).flow()
    run_peer = peer(8, 32)
    run_peer()
    rounds = {"peer_ms": [], "fastflow_ms": [], "induction_flow_ms": []}
    for _ in range(3):  # alternately, so that the machine's load falls on each alike
        rounds["peer_ms"].append(1e3 * best_of(run_peer, repeat))
        rounds["fastflow_ms"].append(1e3 * best_of(lambda: flow_quantities(N=8, L=32, t_max=300.0), 5 * repeat))
        rounds["induction_flow_ms"].append(1e3 * best_of(lambda: InductionHeadModel(8, 32).flow(), 5 * repeat))
    one = {k: min(v) for k, v in rounds.items()}
    one["peer_over_fastflow"] = one["peer_ms"] / one["fastflow_ms"]
    one["peer_over_induction_flow"] = one["peer_ms"] / one["induction_flow_ms"]
    report["one_flow"] = one
    print(
        f"one flow (N = 8, L = 32, t_max 300): peer {one['peer_ms']:.2f} ms, fastflow {one['fastflow_ms']:.3f} ms "
        f"({one['peer_over_fastflow']:.0f}x), InductionHeadModel.flow() {one['induction_flow_ms']:.3f} ms "
        f"({one['peer_over_induction_flow']:.1f}x); first loss after import "
        f"{report['first_call_seconds']['first_loss']:.3f} s"
    )
    report["beside_a_busy_process"] = busy = beside_a_busy_process(20 * repeat)
    print(
        f"one flow beside a busy process: {busy['busy_ms']:.3f} ms against {busy['idle_ms']:.3f} ms idle "
        f"({busy['busy_over_idle']:.2f}x)"
    )

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
    batch = {
        "flows": B,
        "fastflow_s": ours,
        "fastflow_rtol_1e-8_s": ours_tight,
        "max_relative_cliff_error_vs_rtol_1e-11": accuracy,
        "peer_s_for_200": peer_sample,
        "peer_s_scaled": peer_sample * B / sample,
        "peak_rss_mb_after_imports": rss_before,
        "peak_rss_mb_after_batch": rss_after,
    }
    batch["peer_over_fastflow"] = batch["peer_s_scaled"] / ours
    batch["peer_over_fastflow_rtol_1e-8"] = batch["peer_s_scaled"] / ours_tight
    report["batch"] = batch
    grid = np.linspace(0.0, 300.0, 200)
    induction_flow(theta0[:64], N=N[:64], L=L[:64], t_eval=grid)
    print(
        f"{B} mixed flows: fastflow {ours:.3f} s (rtol 1e-7; {ours_tight:.3f} s at rtol 1e-8; largest relative "
        f"cliff error against rtol 1e-11: {accuracy['default']:.1e}, {accuracy['rtol_1e-8']:.1e}); "
        f"peer {peer_sample:.2f} s for {sample}, {batch['peer_s_scaled']:.1f} s scaled to {B} "
        f"({batch['peer_over_fastflow']:.0f}x); peak RSS {rss_before:.0f} MiB after imports and compilation, "
        f"{rss_after:.0f} MiB after the batch"
    )
    traj = {
        "flows": B,
        "t_eval_points": grid.size,
        "t_eval_s": best_of(lambda: induction_flow(theta0, N=N, L=L, t_eval=grid), 2),
        "dense_s": best_of(lambda: induction_flow(theta0, N=N, L=L), 1),
        **trajectory_memory_mb(B),
        "max_relative_time_to_error_vs_dop853": transition_accuracy(theta0, N, L),
    }
    report["trajectories"] = traj
    print(
        f"{B} trajectories: {traj['t_eval_s']:.2f} s on a {grid.size}-point t_eval grid (tracemalloc peak "
        f"{traj['tracemalloc_peak_mb']:.0f} MiB; RSS {traj['peak_rss_mb_after_imports']:.0f} -> "
        f"{traj['peak_rss_mb_after_batch']:.0f} MiB), {traj['dense_s']:.2f} s dense; time_to(½ log N) "
        f"against DOP853: {traj['max_relative_time_to_error_vs_dop853']}"
    )
    report["load_average_at_end"] = load_average()
    if not args.quick:
        _io.write_json(RESULTS, report)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
