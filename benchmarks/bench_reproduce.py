"""Wall time of ``phenom reproduce`` (quick and full), alone and beside another busy process.

    python benchmarks/bench_reproduce.py [--quick-only] [--keep DIR]

Each run starts from an empty output folder in a fresh process, with the compiled flows already
in their cache (``phenom/kernels.py``; a cold cache adds its compile time once). "Beside another
process" runs a single-threaded busy loop on one of the cores for the whole run: the slowdown is
the ratio of the two wall times. The figures' own wall times come from each run's manifest.
With ``--keep DIR`` the full runs' folders are kept as ``DIR/alone`` and ``DIR/busy`` (for
``benchmarks/bench_reproducibility.py --compare``).

Results (machine, versions, each time, each figure's) go to ``benchmarks/results/reproduce.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

RESULTS = Path(__file__).parent / "results" / "reproduce.json"
BUSY = "import time\nend = time.time() + 86400\nwhile time.time() < end:\n    pass\n"


def run(quick: bool, busy: bool, keep: Path | None = None) -> dict:
    """One ``phenom reproduce`` in a fresh folder; its wall time and the manifest's figure times
    (the folder copied to ``keep`` if given)."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "phenom", "reproduce", "--out", out] + (["--quick"] if quick else [])
        other = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
        try:
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - start
        finally:
            if other is not None:
                other.kill()
                other.wait()
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(out, keep)
    return {"wall_s": wall, "figures_s": {n: e["wall_time_s"] for n, e in manifest.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick-only", action="store_true", help="time only the quick reproduction")
    parser.add_argument("--keep", type=Path, help="keep the full runs' folders under this folder")
    args = parser.parse_args()

    from phenom import _io

    subprocess.run(
        [sys.executable, "-c", "from phenom.induction.kernels import flow_module; flow_module()"], check=True
    )
    result = {"machine": machine(), "versions": _io.provenance(), "cores": os.cpu_count()}
    for name, quick in (("quick", True),) + (() if args.quick_only else (("full", False),)):
        keep = None if quick or args.keep is None else args.keep
        alone = run(quick, busy=False, keep=None if keep is None else keep / "alone")
        shared = run(quick, busy=True, keep=None if keep is None else keep / "busy")
        result[name] = {"alone": alone, "beside_a_busy_process": shared, "slowdown": shared["wall_s"] / alone["wall_s"]}
        print(
            f"{name}: {alone['wall_s']:.0f} s alone, {shared['wall_s']:.0f} s beside a busy process "
            f"({result[name]['slowdown']:.2f}×)",
            flush=True,
        )
    if not args.quick_only:
        _io.write_json(RESULTS, result)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
