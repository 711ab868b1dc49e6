"""How exactly ``phenom reproduce`` reproduces: the same run twice, and under other BLAS kernels.

    python benchmarks/bench_reproducibility.py                # quick runs: same set-up twice, other kernels
    python benchmarks/bench_reproducibility.py --compare A B  # two existing output folders (e.g. full runs)

Every quick run starts from an empty folder in a fresh process. "Same set-up" repeats the
default run; "other kernels" sets ``OPENBLAS_CORETYPE`` (honoured by the OpenBLAS that numpy's
and scipy's wheels ship) to kernel families another machine would pick: Sandybridge (AVX
without FMA) and Prescott (SSE3 only). A different kernel sums a matrix product in another order,
so its float rounding differs: that is what another CPU or BLAS changes, and all it changes, for
code that is otherwise deterministic.

Each figure's saved JSON is compared leaf by leaf with the reference run's (run times and
versions left out): equal bit for bit, or the largest absolute and relative difference of its
numbers and the key where it occurs. Results go to ``benchmarks/results/reproducibility.json``
(``--compare`` adds an entry under ``compared``, keyed by its label).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _machine import machine

RESULTS = Path(__file__).parent / "results" / "reproducibility.json"
KERNELS = ("Sandybridge", "Prescott")
SKIP = {"versions", "wall_time_s", "flow_seconds", "drawn_s"}
"""Keys that hold measurements of the machine or the software, not results."""
FLOOR = 1e-9
"""Magnitudes below this count as this in a relative difference (a rounding error of 1e-15 is not a 50% change)."""


def leaves(value, path: str = ""):
    """(path, value) for every number and string of a JSON value, keys in ``SKIP`` left out."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIP:
                yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def compare(a: dict, b: dict) -> dict:
    """How two saved results differ: ``identical``, the number of numbers compared and of those
    that differ, and the largest difference with where it occurs, absolute and relative to the
    largest magnitude among the numbers of its array (a history, a curve, a table column: a
    number near zero in a curve of order one is judged on the curve's scale; scales below ``FLOOR``
    count as ``FLOOR``)."""
    la, lb = dict(leaves(a)), dict(leaves(b))
    if la.keys() != lb.keys():
        return {"identical": False, "structure": sorted(la.keys() ^ lb.keys())[:5]}
    scale: dict[str, float] = {}
    for key, x in la.items():
        if isinstance(x, (int, float)) and not isinstance(x, bool) and x == x:
            group = re.sub(r"\[\d+\]$", "[]", key)
            scale[group] = max(scale.get(group, 0.0), abs(x))
    worst_abs, worst_rel, at_abs, at_rel, numbers, differ = 0.0, 0.0, None, None, 0, 0
    for key, x in la.items():
        y = lb[key]
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            if x != y:
                differ += 1
                at_abs = at_abs or key
            continue
        numbers += 1
        if x == y or (x != x and y != y):
            continue
        differ += 1
        d = abs(x - y)
        r = d / max(scale.get(re.sub(r"\[\d+\]$", "[]", key), 0.0), abs(y), FLOOR)
        if d > worst_abs:
            worst_abs, at_abs = d, key
        if r > worst_rel:
            worst_rel, at_rel = r, key
    return {
        "identical": differ == 0,
        "numbers": numbers,
        "differing": differ,
        "max_abs_difference": worst_abs if differ else None,
        "at": at_abs,
        "max_rel_difference": worst_rel if differ else None,
        "at_rel": at_rel,
    }


def compare_folders(reference: Path, other: Path) -> dict:
    """Per figure of the reference folder's manifest, how the other folder's result differs."""
    names = json.loads((reference / "manifest.json").read_text())
    out = {}
    for name in sorted(names):
        a = json.loads((reference / f"{name}.json").read_text())
        b = json.loads((other / f"{name}.json").read_text())
        out[name] = compare(a, b)
    return out


def quick_run(out: Path, kernel: str | None) -> None:
    env = dict(os.environ)
    if kernel is not None:
        env["OPENBLAS_CORETYPE"] = kernel
    cmd = [sys.executable, "-m", "phenom", "reproduce", "--quick", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)


def summary(per_figure: dict) -> dict:
    identical = sorted(n for n, r in per_figure.items() if r["identical"])
    rel = [r["max_rel_difference"] for r in per_figure.values() if r.get("max_rel_difference") is not None]
    return {
        "identical_figures": identical,
        "differing_figures": sorted(set(per_figure) - set(identical)),
        "max_rel_difference": max(rel) if rel else 0.0,
        "median_rel_difference_of_differing": float(np.median(rel)) if rel else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs=2, metavar=("REFERENCE", "OTHER"), help="compare two output folders")
    parser.add_argument("--label", default="full", help="the entry's name under 'compared' (with --compare)")
    args = parser.parse_args()
    result = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    result["machine"] = machine()
    if args.compare:
        per_figure = compare_folders(Path(args.compare[0]), Path(args.compare[1]))
        result.setdefault("compared", {})[args.label] = {"figures": per_figure, **summary(per_figure)}
        print(f"{args.label}: {summary(per_figure)}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            quick_run(root / "reference", None)
            quick = {}
            for label, kernel in (("same_setup", None),) + tuple((f"OPENBLAS_CORETYPE={k}", k) for k in KERNELS):
                quick_run(root / label, kernel)
                per_figure = compare_folders(root / "reference", root / label)
                quick[label] = {"figures": per_figure, **summary(per_figure)}
                print(f"quick, {label}: {summary(per_figure)}", flush=True)
        result["quick"] = quick
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = RESULTS.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(result, indent=1) + "\n")
    tmp_path.replace(RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
