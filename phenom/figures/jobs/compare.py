"""Computations that put the flow beside the trained network: one (N, L) on shared axes, the
scaling of the transition over N and L, and the chain from the exact minimal network to the
trained one (from saved results)."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from phenom import _io
from phenom.figures.runs import metric_along_training, scaling_point
from phenom.figures.settings import ChainSetting, CompareSetting, GrowthSetting, ScalingSetting
from phenom.figures.statistics import reconstruction, scaling_summary
from phenom.figures.sweep import sweep
from phenom.induction.extended import EXTENDED_TIME_CONSTANT, cliff_time, extended_curves
from phenom.induction.fastflow import flow_quantities
from phenom.induction.model import PARAMETERS, InductionHeadModel, induction_flow
from phenom.induction.prediction import (
    MODELS,
    TIME_CONSTANTS,
    fit_time_scale,
    model_start,
    predicted_curves,
)
from phenom.induction.timescales import initial_state, time_scales
from phenom.induction.transition import flow_transition_times
from phenom.nets import AttentionNetwork, CopyingTask, train
from phenom.nets.measures import transition_level, transition_step
from phenom.nets.tasks import POSITIONS

__all__ = ["compare", "scaling", "scaling_configs", "growth", "growth_configs", "chain"]

NETWORK_COLUMNS = tuple(
    "step eval_loss icl_acc p_correct cla p_context ila1 tila2 beta alpha xi expected_model_loss".split()
)


def _distances(t_a, y_a, t_b, y_b) -> tuple[float, float]:
    """RMS and largest |y_a − y_b| on the overlap of two curves (b interpolated onto a's times)."""
    t_a, y_a, t_b, y_b = (np.asarray(v, float) for v in (t_a, y_a, t_b, y_b))
    inside = (t_a >= t_b[0]) & (t_a <= t_b[-1])
    diff = y_a[inside] - np.interp(t_a[inside], t_b, y_b)
    return float(np.sqrt(np.mean(diff**2))), float(np.max(np.abs(diff)))


def _first_rise(times, values) -> float | None:
    """The first time a parameter is 1 above its start, at an evaluation (the network's effective β
    starts near 0.48, not 0: see :mod:`phenom.nets.measures`); None if it never is or its start is
    undefined."""
    if not np.isfinite(np.asarray(values, float)[0]):
        return None
    return transition_step(times, values, 1.0, relative_to="start", interpolate=False)


def _rise_by_1(step, values) -> float | None:
    """The step at which ``values`` are 1 above their start, linearly interpolated (None if any
    value is undefined)."""
    return transition_step(step, values, 1.0, relative_to="start", missing="none")


def _run_config(s: ScalingSetting | GrowthSetting, N: int, L: int, seed: int, steps: int, eval_every: int) -> dict:
    """One training run of the scaling study (:func:`phenom.figures.runs.scaling_point`), D = max(min_D, L)."""
    return dict(
        N=N,
        L=L,
        D=max(s.min_D, L),
        eps=s.eps,
        seed=seed,
        lr=s.lr,
        steps=steps,
        eval_every=eval_every,
        eval_size=s.eval_size,
        batch_size=s.batch_size,
        weight_decay=s.weight_decay,
    )


def scaling_configs(setting: ScalingSetting) -> list[dict]:
    """One :func:`phenom.figures.runs.scaling_point` configuration per (N, L) and seed.

    At L = N (the controls) the seeds are ``control_seeds``; elsewhere the first
    ``seed_counts[i]`` of ``seeds`` for the i-th N. D = max(min_D, L).

    Parameters
    ----------
    setting : ScalingSetting
        The sweep's setting.

    Returns
    -------
    list of dict
        The training runs :func:`scaling` sweeps, in the order of
        :meth:`~phenom.figures.settings.compare.ScalingSetting.pairs`.

    Examples
    --------
    The quick sweep: ten (N, L), one seed each, two of them L = N controls:

    >>> from phenom.figures.jobs.compare import scaling_configs
    >>> from phenom.figures.settings import ScalingSetting
    >>> configs = scaling_configs(ScalingSetting().quick())
    >>> len(configs), sum(c["L"] == c["N"] for c in configs)
    (10, 2)
    >>> {k: configs[-1][k] for k in ("N", "L", "D", "seed", "steps", "eval_every")}
    {'N': 4, 'L': 32, 'D': 32, 'seed': 0, 'steps': 1500, 'eval_every': 50}
    """
    s = setting
    per_N = {N: (steps, every) for N, steps, every in zip(s.Ns, s.steps, s.eval_every, strict=True)}
    seeds = {N: s.seeds[:k] for N, k in zip(s.Ns, s.seed_counts, strict=True)}
    return [
        _run_config(s, N, L, seed, *per_N[N])
        for (N, L) in s.pairs()
        for seed in (s.control_seeds if L == N else seeds[N])
    ]


def growth_configs(setting: GrowthSetting) -> list[dict]:
    """One training run per (N, L) of the growth figure, with the scaling study's algebra.

    Parameters
    ----------
    setting : GrowthSetting
        The growth figure's setting.

    Returns
    -------
    list of dict
        One :func:`phenom.figures.runs.scaling_point` configuration per pair of ``Ns`` and
        ``Ls``, with ``setting.seed`` and D = max(min_D, L).

    Examples
    --------
    >>> from phenom.figures.jobs.compare import growth_configs
    >>> from phenom.figures.settings import GrowthSetting
    >>> [(c["N"], c["L"], c["D"], c["steps"]) for c in growth_configs(GrowthSetting().quick())]
    [(2, 4, 16, 1500), (4, 16, 16, 1500)]
    """
    s = setting
    return [_run_config(s, N, L, s.seed, s.steps, s.eval_every) for N, L in zip(s.Ns, s.Ls, strict=True)]


def _train_networks(s: CompareSetting) -> list:
    task = CopyingTask(N=s.N, L=s.L, D=s.D, eps=s.eps)
    hists = []
    for seed in s.seeds:
        net = AttentionNetwork.init(task, "linear", seed=seed)
        hists.append(
            train(
                net,
                task,
                steps=s.steps,
                lr=s.lr,
                optimizer="sgd",
                batch_size=s.batch_size,
                seed=seed,
                weight_decay=s.weight_decay,
                eval_every=max(1, s.steps // s.evals),
                eval_size=s.eval_size,
                progress=False,
            )
        )
    return hists


def _held_out_distances(t, flow: dict, hists: list, net_steps: list, flow_t: float, lr: float) -> dict:
    """P(correct) distances with c fitted on the *other* seeds' mean transition (leave one out),
    so that no seed is scored on a time axis fitted to it (None with a single seed)."""
    if len(hists) < 2:
        return {
            "held_out_c": None,
            "held_out_rms_p_correct_distance": None,
            "held_out_max_abs_p_correct_distance": None,
        }
    cs, rms, worst = [], [], []
    for i, h in enumerate(hists):
        c = fit_time_scale(flow_t, float(np.mean([x for j, x in enumerate(net_steps) if j != i])), lr)
        d = _distances(t, flow["p_correct"], c * lr * h.step, h.p_correct)
        cs.append(c)
        rms.append(d[0])
        worst.append(d[1])
    return {"held_out_c": cs, "held_out_rms_p_correct_distance": rms, "held_out_max_abs_p_correct_distance": worst}


def compare(setting: CompareSetting, out: Path) -> dict:
    """Train the network for each seed and put the flow for the same (N, L) beside it.

    Steps map to flow time with one c fitted on these seeds' mean transition; the result reports
    transition times, plateau losses, the order of learning, the aligned distance between the
    network's mean probability of the correct label and the flow's, and the model's loss at the
    network's effective parameters against the network's own loss (``reconstruction``). Beside
    them: the flow on the step axis with the stored c (``stored_constant``) and the extended
    model's curves (``extended``, :func:`~phenom.induction.extended.extended_curves`).

    Parameters
    ----------
    setting : CompareSetting
        The (N, L), the networks' seeds and training options, the flow's sampling.
    out : Path
        The output folder (unused: nothing is saved beside the result).

    Returns
    -------
    dict
        ``seeds``, ``summary``, ``flow`` (curves against flow time), ``networks`` (one dict of
        columns per seed, with their flow times ``t``), ``reconstruction``, ``stored_constant``
        and ``extended``.

    Raises
    ------
    RuntimeError
        If a seed's network does not reach the transition level within ``steps``, or the flow
        has no transition within ``flow_t_max``.

    Examples
    --------
    A small task (N = 2, L = 8) at lr 1 passes its transition within 150 steps; the extended
    model, with its constant stored at (8, 32, 63), predicts it 40% early (at N = 2 it is early
    throughout: the network's layer-1 attention first moves away from the previous token):

    >>> import tempfile
    >>> from phenom.figures.jobs.compare import compare
    >>> from phenom.figures.settings import CompareSetting
    >>> s = CompareSetting(N=2, L=8, lr=1.0, steps=150, evals=15, batch_size=64, eval_size=64, seeds=(0,), samples=30)
    >>> result = compare(s, tempfile.mkdtemp())
    >>> result["summary"]["net_transition_steps"], round(result["summary"]["flow_transition"], 1)
    ([95.0], 20.2)
    >>> round(result["extended"]["relative_error"], 2)
    -0.4
    """
    s = setting
    hists = _train_networks(s)
    level = transition_level(s.N)
    found = [transition_step(h.step, h.icl_acc, level) for h in hists]
    if any(step is None for step in found):
        raise RuntimeError(
            f"the network did not reach ICL accuracy {level:.3g} within {s.steps} steps for every seed; raise steps"
        )
    net_steps = [step for step in found if step is not None]  # all of them (checked above)
    flow_t = float(flow_transition_times(s.N, s.L, t_max=s.flow_t_max))
    if np.isnan(flow_t):
        raise RuntimeError(f"the flow has no transition at N = {s.N}, L = {s.L} within t = {s.flow_t_max:g}")
    c = fit_time_scale(flow_t, float(np.mean(net_steps)), s.lr)
    t_end = max(c * s.lr * s.steps, 2 * flow_t)
    traj = induction_flow(N=s.N, L=s.L, t_max=t_end)
    model = InductionHeadModel(s.N, s.L)
    t = np.linspace(0.0, t_end, s.samples)
    theta = traj(t)
    flow = {
        "t": t,
        "loss": model.loss(*theta.T),
        "p_correct": model.p_correct(*theta.T),
        "p_context": model.p_context(*theta.T),
        **{p: theta[:, k] for k, p in enumerate(PARAMETERS)},
    }
    nets = [{"t": c * s.lr * h.step, **{k: getattr(h, k) for k in NETWORK_COLUMNS}} for h in hists]
    rebuilt = [_with_expected(reconstruction(h.records, s.N, s.L), h) for h in hists]
    # Plateau: the flow's loss halfway to its cliff; the network's held-out loss over the same stretch.
    half = 0.5 * flow_t
    p_dist = [_distances(t, flow["p_correct"], n["t"], n["p_correct"]) for n in nets]
    loss_dist = [_distances(t, flow["loss"], n["t"], n["eval_loss"]) for n in nets]
    held_out = _held_out_distances(t, flow, hists, net_steps, flow_t, s.lr)
    summary = {
        "c": c,
        "c_fitted_on": "the mean transition step of these seeds",
        "flow_transition": flow_t,
        "net_transition_steps": net_steps,
        "net_transition_mean": float(np.mean(net_steps)),
        "net_transition_sd": float(np.std(net_steps)),
        "flow_plateau_loss": float(np.interp(half, t, flow["loss"])),
        "net_plateau_loss": float(np.mean([np.interp(half, n["t"], n["eval_loss"]) for n in nets])),
        "flow_time_each_parameter_rises_by_1": {p: _first_rise(t, flow[p]) for p in PARAMETERS},
        "net_time_each_parameter_rises_by_1": [{p: _first_rise(n["t"], n[p]) for p in PARAMETERS} for n in nets],
        "rms_p_correct_distance": [d[0] for d in p_dist],
        "max_abs_p_correct_distance": [d[1] for d in p_dist],
        "rms_loss_distance": [d[0] for d in loss_dist],
        "max_abs_loss_distance": [d[1] for d in loss_dist],
        **held_out,
        "max_abs_loss_gap": max(r["max_abs_loss_gap"] for r in rebuilt),
        "max_abs_expected_gap": max(r["max_abs_expected_gap"] for r in rebuilt),
    }
    return {
        "seeds": {"init_and_data": list(s.seeds), "eval": [h.config["seeds"]["eval"] for h in hists]},
        "summary": summary,
        "flow": flow,
        "networks": nets,
        "reconstruction": rebuilt,
        "stored_constant": _stored_constant(s, float(np.mean(net_steps))),
        "extended": _extended_model(s, float(np.mean(net_steps))),
    }


def _with_expected(rebuilt: dict, hist) -> dict:
    """``rebuilt`` with the mean-field model's expected loss under the per-sequence margins
    (:mod:`phenom.nets.measures`) beside the network's held-out loss: the gap at every evaluation
    and its largest size."""
    gap = hist.expected_model_loss - hist.eval_loss
    return {
        **rebuilt,
        "expected_model_loss": hist.expected_model_loss,
        "expected_gap": gap,
        "max_abs_expected_gap": float(np.max(np.abs(gap))),
    }


def _extended_model(s: CompareSetting, net_mean: float) -> dict:
    """The extended model's curves on the network's step axis with its stored constant
    (:func:`phenom.induction.extended.extended_curves`; fitted at (8, 32, 63), nothing here)."""
    curves = extended_curves(
        s.N, s.L, D=s.D, eps=s.eps, lr=s.lr, batch_size=s.batch_size, steps=np.linspace(0.0, s.steps, s.samples)
    )
    return {
        "c": curves.c,
        "fitted_at": list(EXTENDED_TIME_CONSTANT["reference"]),
        "step": curves.step,
        "loss": curves.loss,
        "p_correct": curves.p_correct,
        "p_context": curves.p_context,
        "predicted_step": curves.transition_step,
        "relative_error": curves.transition_step / net_mean - 1.0,
    }


def _stored_constant(s: CompareSetting, net_mean: float) -> dict:
    """The mean-field flow put on the network's step axis with the *stored* c (fitted once, at the
    scaling study's reference), not with this run's c: an honest prediction wherever (N, L) is not
    the reference."""
    stored = TIME_CONSTANTS["mean_field"]
    curves = predicted_curves(
        s.N,
        s.L,
        lr=s.lr,
        steps=np.linspace(0.0, s.steps, s.samples),
        model="mean_field",
        D=s.D,
        eps=s.eps,
        batch_size=s.batch_size,
    )
    return {
        "c": curves.c,
        "fitted_at": list(stored["reference"]),
        "held_out": (s.N, s.L) != tuple(stored["reference"]),
        "step": curves.step,
        "p_correct": curves.p_correct,
        "loss": curves.loss,
        "predicted_step": curves.transition_step,
        "relative_error": curves.transition_step / net_mean - 1.0,
    }


def scaling(setting: ScalingSetting, out: Path, *, executor: Executor | None = None) -> dict:
    """The network's transition step against each model's prediction over N and L, several seeds.

    A resumable sweep (``scaling.jsonl`` in ``out``, reused only by the same code) of the runs of
    :func:`scaling_configs` on ``executor`` (default: a local pool of ``setting.workers``
    processes sharing the cores' BLAS threads).

    Top-level ``spearman``, ``within_N_spearman``, ``median_abs_relative_error`` and
    ``max_abs_relative_error`` describe the adopted time-scale model (its full statistics under
    ``summary``); ``mean_field`` holds the same for the plain flow and ``extended`` for the
    extended model's cliff (:func:`~phenom.induction.extended.cliff_time` at the sweep's D). Each
    model's c is fitted at the reference, which is left out of every statistic; configurations
    of ``held_out`` N are reported separately as well.

    Parameters
    ----------
    setting : ScalingSetting
        The sweep: Ns, L/N ratios, seeds, budgets, the reference (N, L).
    out : Path
        The output folder, where ``scaling.jsonl`` is saved as runs finish and resumed from.
    executor : concurrent.futures.Executor or None
        Where the runs go (default None: a local process pool of ``setting.workers``).

    Returns
    -------
    dict
        ``seeds``, the adopted model's statistics at the top level, ``mean_field``, ``extended``,
        ``rows`` (one per (N, L): flow times, the network's transition steps, the three
        predictions), ``summary`` and ``side_files``.

    Raises
    ------
    ValueError
        If fewer than three runs besides the reference reach their transition (from
        :func:`~phenom.figures.statistics.scaling_summary`).

    Examples
    --------
    Four runs at N = 2 (L = 3, 4, 8, 16; no L = N control) at lr 1: even so small a sweep
    trains for several seconds, so the call is shown but not run here; with the reference at
    (2, 8) the time-scale model orders the other three transitions as the network does.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> import tempfile
    >>> from phenom.figures.jobs.compare import scaling, scaling_configs
    >>> from phenom.figures.settings import ScalingSetting
    >>> s = ScalingSetting(Ns=(2,), ratios=(1.5, 2, 4, 8), seeds=(0,), seed_counts=(1,), control_seeds=(),
    ...                    steps=(140,), eval_every=(10,), reference=(2, 8), held_out=(), lr=1.0,
    ...                    batch_size=64, eval_size=32)
    >>> [(c["N"], c["L"]) for c in scaling_configs(s)]
    [(2, 3), (2, 4), (2, 8), (2, 16)]
    >>> with ThreadPoolExecutor(1) as pool:  # doctest: +SKIP
    ...     result = scaling(s, tempfile.mkdtemp(), executor=pool)
    >>> result["spearman"]  # doctest: +SKIP
    1.0
    """
    s = setting
    pairs = s.pairs()
    Ns, Ls = np.array(pairs).T
    times = {
        model: dict(
            zip(
                pairs,
                (
                    None if np.isnan(t) else float(t)
                    for t in flow_transition_times(Ns, Ls, **model_start(Ns, Ls, model), t_max=s.flow_t_max)
                ),
                strict=True,
            )
        )
        for model in MODELS
    }
    # the extended model's cliff at each (N, L) and the sweep's D = max(min_D, L) (none at L = N)
    times["extended"] = {(N, L): None if L == N else cliff_time(N, L, max(s.min_D, L)) for N, L in pairs}
    configs = scaling_configs(s)

    def cost(cfg: dict) -> float:  # steps it will likely run × the work of one step
        t = times["time_scales"].get((cfg["N"], cfg["L"]))
        c = TIME_CONSTANTS["time_scales"]["c"]
        steps = cfg["steps"] if t is None else min(cfg["steps"], 1.5 * t / (c * cfg["lr"]))
        return steps * (2 * cfg["N"] + 1) * (POSITIONS + cfg["D"]) * cfg["D"]

    order = sorted(range(len(configs)), key=lambda i: -cost(configs[i]))  # longest first: the pool ends together
    ordered = sweep(
        scaling_point,
        [configs[i] for i in order],
        executor=executor,
        workers=s.workers,
        out=Path(out) / "scaling.jsonl",
        version=_io.code_version(scaling_point.__module__),
    )
    results: list[dict] = [{}] * len(configs)
    for i, r in zip(order, ordered, strict=True):
        results[i] = r
    rows: list[dict[str, Any]] = []
    per_seed: list[dict[str, Any]] = []
    for N, L in pairs:
        found = [
            (cfg["seed"], r["net_step"])
            for cfg, r in zip(configs, results, strict=True)
            if (cfg["N"], cfg["L"]) == (N, L)
        ]
        observed = [step for _, step in found if step is not None]
        rows.append(
            {
                "N": N,
                "L": L,
                "flow_time": times["time_scales"][(N, L)],
                "mean_field_flow_time": times["mean_field"][(N, L)],
                "extended_flow_time": times["extended"][(N, L)],
                "net_steps": observed,
                "seeds_without_transition": len(found) - len(observed),
            }
        )
        per_seed += [{"N": N, "L": L, "seed": seed, "net_step": step} for seed, step in found if step is not None]
    summaries = {
        model: scaling_summary(
            [{**r, "flow_time": times[model][(r["N"], r["L"])]} for r in per_seed],
            reference=s.reference,
            lr=s.lr,
            held_out=tuple(N for N in s.held_out if N in s.Ns),
        )
        for model in (*MODELS, "extended")
    }
    predicted = (
        ("time_scales", "predicted_step"),
        ("mean_field", "mean_field_predicted_step"),
        ("extended", "extended_predicted_step"),
    )
    for row in rows:  # each model's prediction t / (c · lr), as the figure draws it
        for model, key in predicted:
            t = times[model][(row["N"], row["L"])]
            row[key] = None if t is None else t / (summaries[model]["c"] * s.lr)
    top = {
        k: summaries["time_scales"][k]
        for k in ("spearman", "within_N_spearman", "median_abs_relative_error", "max_abs_relative_error")
    }
    return {
        "seeds": {"init_and_data": list(s.seeds)},
        "flow_time_unit": "lr = 1",
        "model": "time_scales",
        **top,
        "mean_field": summaries["mean_field"],
        "extended": summaries["extended"],
        "rows": rows,
        "summary": summaries["time_scales"],
        "side_files": ["scaling.jsonl"],
    }


def _plateau_medians(probes: list[dict], until: float | None) -> dict:
    """Median measured C_k over the probes between 10% and 90% of the transition step."""
    if until is None:
        return {p: None for p in PARAMETERS}
    inside = [r["C"] for r in probes if 0.1 * until <= r["step"] <= 0.9 * until]
    out = {}
    for p in PARAMETERS:
        values = [c[p] for c in inside if c[p] is not None]
        out[p] = float(np.median(values)) if values else None
    return out


def _cliff_exponents(N: int, L: int) -> dict:
    """d log t_cliff / d log C_k of the time-scale model's flow at (N, L), from doubling each C_k
    (four flows in one compiled batch): which rate the model's transition waits for (−1: entirely
    that one)."""
    metrics = time_scales(N, L) * np.vstack([np.ones(3), 1.0 + np.eye(3)])  # C, then each C_k doubled
    cliff = flow_quantities(initial_state(N), N=N, L=L, metric=metrics, t_max=2e4, rtol=1e-10, atol=1e-12)["cliff"]
    return {p: float(np.log(cliff[k + 1] / cliff[0]) / np.log(2.0)) for k, p in enumerate(PARAMETERS)}


def growth(setting: GrowthSetting, out: Path) -> dict:
    """Each (N, L)'s training run and both models' flows on the network's step axis.

    The runs have the scaling study's algebra, seed and batches; the flows go on the step axis
    as step = t / (c · lr) with the stored constants
    (:data:`~phenom.induction.prediction.TIME_CONSTANTS`). The result holds the effective β, α, ξ
    (NaN where ξ is undefined), the transition steps, the step at which each parameter first rises by 1 above its
    start; and, every ``probe_every`` steps, the network's measured metric C_k (its rate over the mean-field rate,
    :func:`~phenom.figures.runs.metric_along_training`) against the model's c · C_k, with the medians
    over the plateau (10–90% of the transition step); and how the model's cliff time depends on
    each C_k (``cliff_exponent_in_C``).

    Parameters
    ----------
    setting : GrowthSetting
        The (N, L) pairs, the training options, the flows' sampling and the probes of C.
    out : Path
        The output folder (unused: nothing is saved beside the result).

    Returns
    -------
    dict
        ``seeds``, ``constants`` (the stored time constants) and ``runs``: one dict per (N, L)
        with the network's columns, its transition and rise steps, the probes of C, both models'
        curves on the step axis (``models``) and the cliff's exponents in C.

    Examples
    --------
    Twenty steps at N = 2, L = 4 (far before the transition, which the time-scale model puts
    near step 154): the model's cliff waits mostly for ξ and α (exponents near −1/2 each),
    hardly for β.

    >>> import tempfile
    >>> from phenom.figures.jobs.compare import growth
    >>> from phenom.figures.settings import GrowthSetting
    >>> s = GrowthSetting(Ns=(2,), Ls=(4,), steps=20, eval_every=10, probe_every=10, probe_size=32,
    ...                   samples=10, min_D=16, eval_size=64, batch_size=32)
    >>> run = growth(s, tempfile.mkdtemp())["runs"][0]
    >>> run["network"]["step"].tolist(), run["observed_step"], round(run["models"]["time_scales"]["predicted_step"])
    ([0, 10, 20], None, 154)
    >>> {k: round(v, 2) for k, v in run["cliff_exponent_in_C"].items()}
    {'beta': -0.03, 'alpha': -0.45, 'xi': -0.54}
    """
    s = setting
    runs = []
    for config in growth_configs(s):
        N, L = config["N"], config["L"]
        measured = metric_along_training(config, probe_every=s.probe_every, probe_size=s.probe_size)
        records = measured["history"]
        net = {
            "step": np.asarray(records["step"]),
            "icl_acc": np.asarray(records["icl_acc"]),
            **{p: np.array([np.nan if v is None else v for v in records[p]], float) for p in PARAMETERS},
        }
        observed = transition_step(net["step"], net["icl_acc"], transition_level(N))
        c = TIME_CONSTANTS["time_scales"]["c"]
        run = {
            "N": N,
            "L": L,
            "D": config["D"],
            "network": net,
            "observed_step": observed,
            "network_rise_step": {p: _rise_by_1(net["step"], net[p]) for p in PARAMETERS},
            "probes": measured["probes"],
            "probe_seed": measured["probe_seed"],
            "plateau_median_C": _plateau_medians(measured["probes"], observed),
            "model_C": dict(zip(PARAMETERS, c * time_scales(N, L), strict=True)),
            "cliff_exponent_in_C": _cliff_exponents(N, L),
            "models": {},
        }
        steps = np.linspace(0.0, float(net["step"][-1]), s.samples)
        for model in MODELS:
            predicted = predicted_curves(
                N, L, lr=s.lr, steps=steps, model=model, D=config["D"], eps=s.eps, batch_size=s.batch_size
            )
            curves = {"step": predicted.step, **{p: getattr(predicted, p) for p in PARAMETERS}}
            run["models"][model] = {
                "c": predicted.c,
                "theta0": np.array([curves[p][0] for p in PARAMETERS]),
                "curves": curves,
                "predicted_step": predicted.transition_step,
                "rise_step": {p: _rise_by_1(steps, curves[p]) for p in PARAMETERS},
            }
        runs.append(run)
    return {
        "seeds": {"init_and_data": [s.seed], "probe": runs[0]["probe_seed"]},
        "constants": TIME_CONSTANTS,
        "runs": runs,
    }


def chain(setting: ChainSetting, out: Path) -> dict:
    """What the chain figure draws, from the saved ``minimal_vs_mean_field`` and ``compare`` results.

    The chain is exact minimal = numpy minimal → mean field → the trained network; nothing is
    computed here, the two saved results are read and the parts the figure draws kept.

    Parameters
    ----------
    setting : ChainSetting
        Nothing to set.
    out : Path
        The output folder holding ``minimal_vs_mean_field.json`` and ``compare.json``.

    Returns
    -------
    dict
        ``seeds`` (the compare figure's), ``minimal`` (setting, digest, curves, summary of the
        minimal models) and ``compare`` (setting, digest, flow, networks, summary).

    Raises
    ------
    FileNotFoundError
        If either saved result is missing.

    Examples
    --------
    With two small saved results written by hand (the keys the chain reads, and one it drops):

    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from phenom.figures.jobs.compare import chain
    >>> from phenom.figures.settings import ChainSetting
    >>> out = Path(tempfile.mkdtemp())
    >>> minimal = {"setting": {"N": 2, "L": 4}, "digest": "a", "curves": {"t": [0, 1]}, "summary": {}, "extra": 1}
    >>> compared = {"setting": {"N": 2, "L": 4}, "digest": "b", "flow": {}, "networks": [], "summary": {},
    ...             "seeds": {"init_and_data": [0]}, "reconstruction": []}
    >>> for name, result in (("minimal_vs_mean_field", minimal), ("compare", compared)):
    ...     _ = (out / f"{name}.json").write_text(json.dumps(result))
    >>> drawn = chain(ChainSetting(), out)
    >>> sorted(drawn["minimal"]), drawn["seeds"]
    (['curves', 'digest', 'setting', 'summary'], {'init_and_data': [0]})
    >>> sorted(drawn["compare"])
    ['digest', 'flow', 'networks', 'setting', 'summary']
    """
    minimal, comparison = (_io.read_json(Path(out) / f"{name}.json") for name in ("minimal_vs_mean_field", "compare"))
    keep = ("setting", "digest", "curves", "summary")
    return {
        "seeds": comparison.get("seeds"),
        "minimal": {k: minimal[k] for k in keep},
        "compare": {k: comparison[k] for k in ("setting", "digest", "flow", "networks", "summary")},
    }
