"""The quick ``phenom reproduce`` of today's code against an earlier commit's, side by side.

    python benchmarks/bench_reproduce_ab.py BASELINE_COMMIT [--pairs 2]

A machine's speed drifts from day to day (a shared host, another CPU of the same kind), so a wall
time measured on one day and one measured on another do not compare. This runs the baseline
commit (checked out in a temporary git worktree, run from there) and today's code in
interleaved pairs on the same machine in the same hour, each from an empty folder in a fresh
process, after one untimed warm-up run of each (compiled kernels in their caches), and reports
each pair's wall times, their median ratio, and each figure's median ratio. A probe of the
machine's speed (one compiled induction flow, a pure-Python loop) is timed at the start and the
end, so that the absolute times can be set beside those of another day.

Results go to ``benchmarks/results/reproduce_ab.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "reproduce_ab.json"
PROBE = """
import time, numpy as np
from phenom import induction_flow
induction_flow(N=8, L=32, t_max=300)
flow = []
for _ in range(50):
    t = time.perf_counter(); induction_flow(N=8, L=32, t_max=300); flow.append(time.perf_counter() - t)
t = time.perf_counter(); s = 0
for i in range(3_000_000):
    s += i
loop = time.perf_counter() - t
print(1000 * float(np.median(flow)), loop)
"""


def probe() -> dict:
    """The machine's speed now: one compiled flow (ms, median of 50) and a 3·10⁶-step Python loop (s)."""
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, cwd=ROOT)
    flow_ms, loop_s = map(float, out.stdout.split())
    return {"one_flow_ms": flow_ms, "python_loop_s": loop_s}


def quick(code: Path) -> dict:
    """One quick reproduction with the package at ``code``: wall time and each figure's time."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "phenom", "reproduce", "--quick", "--out", out]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=code, env=env)
        wall = time.perf_counter() - start
        manifest = json.loads((Path(out) / "manifest.json").read_text())
    return {"wall_s": wall, "figures_s": {n: e["wall_time_s"] for n, e in manifest.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", help="the earlier commit")
    parser.add_argument("--pairs", type=int, default=2, help="interleaved timed pairs (default 2)")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", args.baseline], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), commit], check=True, cwd=ROOT)
        try:
            before = probe()
            quick(old), quick(ROOT)  # warm-up: compile caches
            pairs = []
            for i in range(args.pairs):
                a, b = quick(old), quick(ROOT)
                pairs.append({"baseline": a, "today": b})
                print(f"pair {i}: baseline {a['wall_s']:.1f} s, today {b['wall_s']:.1f} s", flush=True)
            after = probe()
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], check=True, cwd=ROOT)
    ratio = statistics.median(p["today"]["wall_s"] / p["baseline"]["wall_s"] for p in pairs)
    figures = {
        n: statistics.median(p["today"]["figures_s"][n] / p["baseline"]["figures_s"][n] for p in pairs)
        for n in pairs[0]["today"]["figures_s"]
    }
    result = {
        "machine": machine(),
        "baseline_commit": commit,
        "probe_at_start": before,
        "probe_at_end": after,
        "pairs": pairs,
        "median_wall_ratio_today_over_baseline": ratio,
        "median_figure_ratio_today_over_baseline": figures,
    }
    tmp_path = RESULTS.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(result, indent=1) + "\n")
    tmp_path.replace(RESULTS)
    print(f"today / baseline: {ratio:.2f} (quick wall time, median of {args.pairs} pairs); wrote {RESULTS}")


if __name__ == "__main__":
    main()
