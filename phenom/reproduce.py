"""``phenom reproduce``: regenerate every figure of the README, and the manifest that says how."""

from __future__ import annotations

from pathlib import Path

from . import _io
from .jobs import compare, induction, lsa, network

__all__ = ["reproduce", "figure_jobs"]


def figure_jobs(out: str | Path = "figures", *, quick: bool = False) -> dict:
    """Name → zero-argument job, for every README figure (``quick``: coarser, shorter runs)."""
    out = Path(out)
    setting = induction.PAPER_SETTING
    return {
        "induction_flow": lambda: induction.flow_job(out, **setting, compare_L=(9, 12, 16, 64), name="induction_flow"),
        "induction_landscape": lambda: induction.landscape_job(out, **setting, name="induction_landscape",
                                                               n=101 if quick else 201),
        **lsa.lsa_jobs(out, quick=quick),
        **network.reference_job(out, quick=quick),
        "compare": lambda: compare.compare_job(out, seeds=(0,) if quick else (0, 1, 2), steps=1500 if quick else 2000),
        "scaling": lambda: _scaling(out, quick),
        # Summaries drawn from the saved results of the jobs above.
        "chain": lambda: compare.chain_job(out),
        "lsa_summary": lambda: compare.lsa_summary_job(out),
    }


def _scaling(out: Path, quick: bool) -> dict:
    from concurrent.futures import ProcessPoolExecutor

    if quick:
        settings = dict(Ns=(2, 4), ratios=(1.5, 2, 4, 8), seeds=(0,), steps_per_N={2: 800, 4: 1500}, min_D=16,
                        reference=(4, 16))
    else:
        settings = {}
    with ProcessPoolExecutor(max_workers=2) as pool:
        return compare.scaling_job(out, executor=pool, **settings)


def reproduce(out: str | Path | None = None, *, quick: bool = False, only=None, log=print) -> dict:
    """Run the figure jobs (all, or those named in ``only``) into ``out``; after each, record its
    entry in ``out/manifest.json`` (atomically, keeping the others): an interrupted run keeps what
    finished. ``out`` defaults to ``figures/`` (the committed, full-size figures) and to
    ``figures/quick/`` with ``quick``, so a quick run never overwrites them."""
    out = Path(out if out is not None else ("figures/quick" if quick else "figures"))
    jobs = figure_jobs(out, quick=quick)
    if only is not None:
        unknown = sorted(set(only) - set(jobs))
        if unknown:
            raise ValueError(f"only must name figures among {sorted(jobs)}, got {unknown}")
        jobs = {k: v for k, v in jobs.items() if k in only}
    done = {}
    for name, job in jobs.items():
        entry = job()
        _io.update_manifest(out / "manifest.json", name, entry)
        log(f"wrote {out / entry['files'][0]}  ({entry['wall_time_s']:.1f} s)")
        done[name] = entry
    return done
