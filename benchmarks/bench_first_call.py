"""First calls of the transition-time functions in a fresh process, against the way they worked
before, run alongside in fresh processes of the same kind.

    python benchmarks/bench_first_call.py [--repeat 3]

1. ``asymptotic_transition_time(8, 32)``: the closed-form A, B, C against the baseline, the same
   formula's coefficients derived with sympy (``early_time_coefficients`` lambdified), as the
   first call did before.
2. ``predicted_step(8, 32)``: with its flow time already remembered in the cache folder against
   the baseline, the memo removed before each process (the compiled flows loaded and integrated;
   the compiled module itself already on disk in both).

Each number is the best of ``--repeat`` fresh processes, the import of the module excluded.
Results (machine, versions) go to ``benchmarks/results/first_call.json``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import machine

from phenom import _io

RESULTS = Path(__file__).parent / "results" / "first_call.json"

TIMED = """
import time, sys
{setup}
start = time.perf_counter()
{call}
print(time.perf_counter() - start)
"""

CASES = {
    "asymptotic": (
        "from phenom.induction.transition import asymptotic_transition_time",
        "asymptotic_transition_time(8, 32)",
    ),
    "asymptotic_symbolic_baseline": (
        "import sympy as sp\n"
        "from phenom.induction.model import N_sym, L_sym\n"
        "from phenom.induction.transition import early_time_coefficients",
        "c = early_time_coefficients(); sp.lambdify((N_sym, L_sym), [c['A'], c['B'], c['C']])(8, 32)",
    ),
    "predicted_step": ("from phenom.induction.prediction import predicted_step", "predicted_step(8, 32)"),
}


def first_call(name: str, cache: Path, forget_memo: bool, repeat: int) -> float:
    setup, call = CASES[name]
    env = {**os.environ, "PHENOM_CACHE": str(cache)}
    times = []
    for _ in range(repeat):
        if forget_memo:
            for memo in cache.glob("predicted_flow_times_*.json"):
                memo.unlink()
        out = subprocess.run(
            [sys.executable, "-c", TIMED.format(setup=setup, call=call)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(float(out.stdout.split()[-1]))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder)
        first_call("predicted_step", cache, True, 1)  # compile the flows once into this cache folder
        result = {
            "asymptotic_s": first_call("asymptotic", cache, False, args.repeat),
            "asymptotic_symbolic_baseline_s": first_call("asymptotic_symbolic_baseline", cache, False, args.repeat),
            "predicted_step_remembered_s": first_call("predicted_step", cache, False, args.repeat),
            "predicted_step_integrated_baseline_s": first_call("predicted_step", cache, True, args.repeat),
        }
    result["asymptotic_speedup"] = result["asymptotic_symbolic_baseline_s"] / result["asymptotic_s"]
    result["predicted_step_speedup"] = (
        result["predicted_step_integrated_baseline_s"] / result["predicted_step_remembered_s"]
    )
    for key, value in result.items():
        print(f"{key}: {value:.4g}")
    _io.write_json(RESULTS, {"machine": machine(), "versions": _io.provenance(), "first_call": result})


if __name__ == "__main__":
    main()
