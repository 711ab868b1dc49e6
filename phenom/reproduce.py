"""``phenom reproduce``: regenerate every figure of the README, and the manifest that says how."""

from __future__ import annotations

from pathlib import Path

from . import _io
from .jobs import induction, lsa, network

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
    }


def reproduce(out: str | Path = "figures", *, quick: bool = False, only=None, log=print) -> dict:
    """Run the figure jobs (all, or those named in ``only``) into ``out``; after each, record its
    entry in ``out/manifest.json`` (atomically, keeping the others): an interrupted run keeps what
    finished."""
    out = Path(out)
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
