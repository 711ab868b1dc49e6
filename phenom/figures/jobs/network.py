"""Computations behind the network's figures: a training run with L = N controls, the ablation
of each head, the induction-head scores through training, and in-context against in-weights
learning as the data change. Runs are checkpointed under ``out/checkpoints/``, named by a hash of the
run's setting and of the code (:func:`phenom._io.code_version`): a later job reuses a finished
run only if both are the same (the ablation reuses the training figure's run this way)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from phenom import _io, _rng
from phenom.figures.settings import (
    DataDependenceSetting,
    InductionHeadsSetting,
    NetworkAblationSetting,
    NetworkSetting,
    NetworkTrainingSetting,
)
from phenom.figures.sweep import sweep
from phenom.nets import AttentionNetwork, Diverged, train
from phenom.nets.heads import head_scores
from phenom.nets.measures import transition_level, transition_step
from phenom.nets.tasks import ClassificationTask, CopyingTask, make_task

__all__ = [
    "network_task",
    "checkpoint_path",
    "train_run",
    "network_training",
    "network_training_tables",
    "network_ablation",
    "induction_heads",
    "data_configs",
    "data_task",
    "data_point",
    "data_dependence",
]


def network_task(setting: NetworkSetting, L: int | None = None) -> CopyingTask | ClassificationTask:
    """The task ``setting`` trains on (``L`` overrides the label count, for L = N controls).

    Parameters
    ----------
    setting : NetworkSetting
        The run's setting: its ``task`` (copy or classify) and the task's fields.
    L : int or None, default None
        Another label count (>= N); None: the setting's.

    Returns
    -------
    CopyingTask or ClassificationTask
        The task (:func:`phenom.nets.tasks.make_task`).

    Examples
    --------
    >>> from phenom.figures.jobs.network import network_task
    >>> from phenom.figures.settings import NetworkSetting
    >>> task = network_task(NetworkSetting())
    >>> type(task).__name__, task.N, task.L, network_task(NetworkSetting(), L=8).L
    ('CopyingTask', 8, 32, 8)
    """
    return make_task(**setting.task_fields(L))


def checkpoint_path(out: Path, setting: NetworkSetting, **changes) -> Path:
    """Where the run of ``setting`` (with ``changes``, e.g. another L or seed) is checkpointed.

    The file is named by a hash of the run's fields and of this module's code version, so a run
    is reused only by the same run of the same code, whichever figure's setting holds it.

    Parameters
    ----------
    out : Path
        The output folder; checkpoints go in ``out/checkpoints/``.
    setting : NetworkSetting
        The run's setting (only its :meth:`~phenom.figures.settings.network.NetworkSetting.run_fields`
        count).
    **changes
        Fields that differ from the setting's (``L``, ``seed``).

    Returns
    -------
    Path
        ``out/checkpoints/network_<16 hex digits>.npz``.

    Examples
    --------
    >>> from phenom.figures.jobs.network import checkpoint_path
    >>> from pathlib import Path
    >>> from phenom.figures.settings import NetworkAblationSetting, NetworkTrainingSetting
    >>> path = checkpoint_path(Path("figures"), NetworkTrainingSetting())
    >>> path.parent.as_posix(), path.suffix
    ('figures/checkpoints', '.npz')
    >>> path == checkpoint_path(Path("figures"), NetworkAblationSetting())  # the same run
    True
    >>> path == checkpoint_path(Path("figures"), NetworkTrainingSetting(), seed=1)
    False
    """
    fields = {**setting.run_fields(), **changes}
    text = json.dumps(fields, sort_keys=True) + _io.code_version(__name__)
    return Path(out) / "checkpoints" / f"network_{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz"


def train_run(
    out: Path | None,
    setting: NetworkSetting,
    *,
    L: int | None = None,
    seed: int | None = None,
    progress: bool | None = False,
):
    """Train one network of a setting, checkpointed and reused when it ran before.

    Train one network of ``setting`` (``L`` and ``seed`` override it, for controls); with
    ``out``, checkpointed there and resumed or reused when the same run was started before.

    Parameters
    ----------
    out : Path or None
        The output folder holding the checkpoints (:func:`checkpoint_path`); None: no checkpoint.
    setting : NetworkSetting
        The run: task, read-out, optimiser, rate, steps, evaluations, seed.
    L : int or None, default None
        Another label count (for L = N controls).
    seed : int or None, default None
        Another seed of initialisation and data.
    progress : bool or None, default False
        Show a progress bar (None: on a terminal).

    Returns
    -------
    tuple
        ``(network, task, history)``: the trained :class:`~phenom.nets.AttentionNetwork`, its
        task, and its :class:`~phenom.nets.training.History`.

    Examples
    --------
    Twenty SGD steps, evaluated every five; a second call reuses the checkpoint:

    >>> from phenom.figures.jobs.network import train_run, checkpoint_path
    >>> import tempfile
    >>> from phenom.figures.settings import NetworkSetting
    >>> out = tempfile.mkdtemp()
    >>> setting = NetworkSetting(steps=20, evals=4, batch_size=16, eval_size=64)
    >>> net, task, history = train_run(out, setting)
    >>> history.step.tolist()
    [0, 5, 10, 15, 20]
    >>> checkpoint_path(out, setting, L=32, seed=0).exists()
    True
    >>> train_run(out, setting)[2].step.tolist()
    [0, 5, 10, 15, 20]
    """
    seed = setting.seed if seed is None else seed
    task = network_task(setting, L)
    net = AttentionNetwork.init(task, setting.classifier, seed=seed)
    checkpoint = None if out is None else checkpoint_path(out, setting, L=task.L, seed=seed)
    hist = train(net, task, seed=seed, checkpoint=checkpoint, resume=True, progress=progress, **setting.run_options())
    return net, task, hist


def _run_summary(hist, N: int) -> dict:
    acc = np.asarray(hist.icl_acc, dtype=float)
    return {
        "final_icl_acc": float(acc[-1]),
        "max_icl_acc": float(acc.max()),
        "transition_step": transition_step(hist.step, acc, transition_level(N)),
    }


def network_training(setting: NetworkTrainingSetting, out: Path) -> dict:
    """One training run of the attention network, with L = N control runs.

    One run, and ``controls`` runs at L = N with seeds 0, 1, … and the same budget; for the
    classification task, accuracy on its IC, IC2 and IW evaluation sets.

    Parameters
    ----------
    setting : NetworkTrainingSetting
        The run, the number of L = N controls and (classify) the evaluation sets' size.
    out : Path
        The output folder: runs are checkpointed under ``out/checkpoints/`` and reused.

    Returns
    -------
    dict
        ``task``, ``history`` (every evaluation's metrics), ``history_config``, ``summary``
        (final and largest ICL accuracy, the transition step or None), ``controls`` (one per
        control, with its history and summary), ``evaluation`` (classify only) and ``seeds``.

    Examples
    --------
    Twenty steps are far too few to learn the task: no transition yet.

    >>> from phenom.figures.jobs.network import network_training
    >>> import tempfile
    >>> from phenom.figures.settings import NetworkTrainingSetting
    >>> small = dict(steps=20, evals=4, batch_size=16, eval_size=64)
    >>> result = network_training(NetworkTrainingSetting(controls=1, **small), tempfile.mkdtemp())
    >>> result["summary"]["transition_step"], len(result["controls"]), result["controls"][0]["task"]["L"]
    (None, 1, 8)
    """
    s = setting
    net, task, hist = train_run(out, s)
    result = {
        "task": task.config,
        "history_config": hist.config,
        "history": hist.records,
        "summary": _run_summary(hist, s.N),
    }
    if s.task == "classify":
        eval_seed = 20_000 + s.seed
        sets = task.eval_sets(s.eval_sets, _rng.stream(eval_seed, "eval"), dtype=net.dtype)
        result["evaluation"] = {kind: net.metrics(batch, task) for kind, batch in sets.items()}
    controls = []
    for c in range(s.controls):
        _, control_task, h = train_run(out, s, L=s.N, seed=c)
        controls.append({"seed": c, "task": control_task.config, "history": h.records, "summary": _run_summary(h, s.N)})
    result["controls"] = controls
    result["seeds"] = {
        "init": s.seed,
        "data": s.seed,
        "eval": hist.config["seeds"]["eval"],
        "L_equals_N_seeds": list(range(s.controls)),
        **({"eval_sets": 20_000 + s.seed} if s.task == "classify" else {}),
    }
    return result


def network_training_tables(result: dict) -> dict[str, dict]:
    """Each run's learning curves as CSV: the run, then the L = N controls.

    Parameters
    ----------
    result : dict
        The saved result of :func:`network_training`.

    Returns
    -------
    dict
        File name → columns (one per recorded metric, None as NaN).

    Examples
    --------
    >>> from phenom.figures.jobs.network import network_training_tables, network_training
    >>> import tempfile
    >>> from phenom.figures.settings import NetworkTrainingSetting
    >>> small = dict(steps=20, evals=4, batch_size=16, eval_size=64)
    >>> result = network_training(NetworkTrainingSetting(controls=1, **small), tempfile.mkdtemp())
    >>> list(network_training_tables(result))
    ['network_training_history.csv', 'network_training_L_equals_N_seed0_history.csv']
    """

    def columns(records):
        return {k: np.asarray([np.nan if v is None else v for v in vals], dtype=float) for k, vals in records.items()}

    tables = {"network_training_history.csv": columns(result["history"])}
    for c in result["controls"]:
        tables[f"network_training_L_equals_N_seed{c['seed']}_history.csv"] = columns(c["history"])
    return tables


def network_ablation(setting: NetworkAblationSetting, out: Path) -> dict:
    """Held-out ICL accuracy of the trained network, intact and with each layer removed.

    Train (or reuse the identical run), then measure held-out ICL accuracy intact and with
    layer 1's or layer 2's contribution removed.

    Parameters
    ----------
    setting : NetworkAblationSetting
        The run and the number of held-out sequences for the ablation.
    out : Path
        The output folder: the run is checkpointed there and reused.

    Returns
    -------
    dict
        ``results``: for ``intact``, ``layer 1 removed`` and ``layer 2 removed``, the network's
        metrics on the same held-out sequences (loss, ICL accuracy, β, α, ξ, head scores, …);
        ``task`` and ``seeds``.

    Examples
    --------
    >>> from phenom.figures.jobs.network import network_ablation
    >>> import tempfile
    >>> from phenom.figures.settings import NetworkAblationSetting
    >>> small = dict(steps=20, evals=4, batch_size=16, eval_size=64)
    >>> result = network_ablation(NetworkAblationSetting(ablation_size=256, **small), tempfile.mkdtemp())
    >>> list(result["results"])
    ['intact', 'layer 1 removed', 'layer 2 removed']
    """
    s = setting
    net, task, hist = train_run(out, s)
    batch = task.sample(s.ablation_size, _rng.stream(s.seed, "ablation"), dtype=net.dtype)
    results = {
        label: net.metrics(batch, task, ablate=ab)
        for label, ab in (("intact", None), ("layer 1 removed", "layer1"), ("layer 2 removed", "layer2"))
    }
    return {
        "task": task.config,
        "results": results,
        "seeds": {"init": s.seed, "data": s.seed, "ablation_eval": s.seed, "streams": _rng.SCHEME},
    }


HEAD_SCORES = ("previous_token", "prefix_matching", "copying")


def induction_heads(setting: InductionHeadsSetting, out: Path) -> dict:
    """Induction-head scores through training against the ICL transition, per seed.

    For each seed: the training run (reusing the training figure's identical run) with the
    head scores recorded at every evaluation; the step at which each score rises halfway against
    the ICL transition step (does Olsson et al.'s phase change coincide with it?); and the final
    scores with their chance values, on held-out and on repeated random sequences.

    Parameters
    ----------
    setting : InductionHeadsSetting
        The run, the seeds and the number of sequences for the final scores.
    out : Path
        The output folder: runs are checkpointed there and reused (seed 0 is the training
        figure's run).

    Returns
    -------
    dict
        ``runs``: per seed, the ``history`` of ICL accuracy and the three head scores, the
        ``transition_step``, each score's ``rise_step`` and its difference from the transition,
        and the ``final`` scores (:func:`phenom.nets.heads.head_scores`); ``task``,
        ``eval_every`` and ``seeds``.

    Examples
    --------
    >>> from phenom.figures.jobs.network import induction_heads
    >>> import tempfile
    >>> from phenom.figures.settings import InductionHeadsSetting
    >>> small = dict(steps=20, evals=4, batch_size=16, eval_size=64)
    >>> run = induction_heads(InductionHeadsSetting(seeds=(0,), score_size=64, **small), tempfile.mkdtemp())["runs"][0]
    >>> run["seed"], run["history"]["step"], round(run["final"]["prefix_matching_chance"], 4)
    (0, [0, 5, 10, 15, 20], 0.0588)
    """
    s = setting
    runs = []
    for seed in s.seeds:
        net, task, hist = train_run(out, s, seed=seed)
        transition = transition_step(hist.step, hist.icl_acc, transition_level(s.N))
        # Each score's rise: halfway from its first to its largest value (None if it never rises).
        rises = {
            k: transition_step(hist.step, hist.records[k], 0.5, relative_to="range", missing="none")
            for k in HEAD_SCORES
        }
        runs.append(
            {
                "seed": seed,
                "history": {k: hist.records[k] for k in ("step", "icl_acc", *HEAD_SCORES)},
                "transition_step": transition,
                "rise_step": rises,
                "rise_minus_transition": {
                    k: None if v is None or transition is None else v - transition for k, v in rises.items()
                },
                "final": head_scores(net, task, seed=10_000 + seed, n=s.score_size),
            }
        )
    return {
        "task": network_task(s).config,
        "eval_every": s.eval_every,
        "runs": runs,
        "seeds": {"init_and_data": list(s.seeds), "scores": [10_000 + seed for seed in s.seeds]},
    }


EVAL_KINDS = {"IC": "icl_acc", "IC2": "ic2_acc", "IW": "iwl_acc"}
"""The evaluation sets and the names of their accuracies in results: ICL on novel classes (IC),
ICL against the weights on relabelled stored classes (IC2), IWL on i.i.d. contexts (IW)."""


def data_configs(setting: DataDependenceSetting) -> list[dict]:
    """The data-dependence sweep's run configurations, one per data setting and seed.

    One :func:`data_point` configuration per distinct data setting and seed (the base, shared
    by the four sweeps, runs once per seed).

    Parameters
    ----------
    setting : DataDependenceSetting
        The base task, the four sweeps' values, the seeds and the training fields.

    Returns
    -------
    list of dict
        Each: N, L, D, the training fields, ``eval_B`` (the base's burstiness), the data factors
        B, K, eps, zipf, and the seed.

    Examples
    --------
    The quick setting's two values per factor, one of them the base's, make 5 data settings:

    >>> from phenom.figures.jobs.network import data_configs
    >>> from phenom.figures.settings import DataDependenceSetting
    >>> configs = data_configs(DataDependenceSetting().quick())
    >>> len(configs), [c["K"] for c in configs]
    (5, [512, 512, 128, 512, 512])
    """
    s = setting
    points: list[dict] = []
    for factor, field_name in s.SWEEPS.items():
        for v in getattr(s, field_name):
            point = {**s.base(), factor: v}
            if point not in points:
                points.append(point)
    run = dict(
        N=s.N,
        L=s.L,
        D=s.D,
        steps=s.steps,
        lr=s.lr,
        weight_decay=s.weight_decay,
        batch_size=s.batch_size,
        eval_size=s.eval_size,
        curve_every=s.curve_every,
        eval_B=s.B,
    )
    return [{**run, **p, "seed": seed} for p in points for seed in s.seeds]


def data_task(config: dict) -> ClassificationTask:
    """The classification task of one data-dependence run.

    The task of one run: ``config`` holds N, L, D, B, K, eps, zipf and seed (of the class
    means); every sequence is bursty (p_B = 1) and from stored classes (p_C = 0).

    Parameters
    ----------
    config : dict
        A :func:`data_configs` entry (other keys are ignored).

    Returns
    -------
    ClassificationTask
        The task, its class means drawn from ``seed``.

    Examples
    --------
    >>> from phenom.figures.jobs.network import data_task, data_configs
    >>> from phenom.figures.settings import DataDependenceSetting
    >>> task = data_task(data_configs(DataDependenceSetting())[0])
    >>> task.K, task.B, task.p_B, task.p_C
    (512, 0, 1.0, 0.0)
    """
    c = config
    return ClassificationTask(
        N=c["N"], L=c["L"], D=c["D"], eps=c["eps"], K=c["K"], B=c["B"], a=c["zipf"], p_B=1.0, p_C=0.0, seed=c["seed"]
    )


def data_point(config: dict) -> dict:
    """One training run of the data-dependence sweep, scored on the IC, IC2 and IW sets.

    One run of the data-dependence sweep (a :func:`data_configs` entry): train
    the network with a linear read-out by SGD on the classification task of ``config`` (p_B = 1,
    p_C = 0; class means from ``seed``), scoring it on fixed IC, IC2 and IW sets (IC and IC2 with
    ``eval_B`` copies per class) every ``curve_every`` steps and at the end. A run whose loss or
    held-out loss stops being finite raises :class:`~phenom.nets.training.Diverged`.

    Parameters
    ----------
    config : dict
        A :func:`data_configs` entry.

    Returns
    -------
    dict
        ``icl_acc``, ``ic2_acc`` and ``iwl_acc`` at the end (IC, IC2 and IW sets), the
        ``curve`` of the three through training (``step``, ``IC``, ``IC2``, ``IW``), the final
        training loss and the task's ``config``.

    Examples
    --------
    >>> from phenom.figures.jobs.network import data_point, data_configs
    >>> from phenom.figures.settings import DataDependenceSetting
    >>> s = DataDependenceSetting(K=64, K_values=(32, 64), steps=20, batch_size=16, eval_size=64, curve_every=10)
    >>> point = data_point(data_configs(s)[0])
    >>> point["curve"]["step"], sorted(k for k in point if k.endswith("_acc"))
    ([0, 10, 20], ['ic2_acc', 'icl_acc', 'iwl_acc'])
    """
    c = config
    task = data_task(c)
    net = AttentionNetwork.init(task, "linear", seed=c["seed"])
    sets = task.eval_sets(c["eval_size"], _rng.stream(20_000 + c["seed"], "eval"), dtype=net.dtype, B=c["eval_B"])
    curve: dict[str, list] = {"step": [], **{kind: [] for kind in EVAL_KINDS}}

    def score(step: int) -> None:
        # Weights that blew up in a diverging run stop it here, as train() stops it: with
        # Diverged, and no floating-point warning first.
        with np.errstate(all="ignore"):
            measured = {kind: net.metrics(batch, task) for kind, batch in sets.items()}
        losses = np.array([m["eval_loss"] for m in measured.values()], dtype=float)
        if not np.all(np.isfinite(losses)):
            raise Diverged(step, float(losses[~np.isfinite(losses)][0]), c["lr"])
        curve["step"].append(step)
        for kind, m in measured.items():
            curve[kind].append(m["icl_acc"])

    def record(hist) -> bool:  # called after each evaluation: score on the sets every curve_every steps
        if 0 < hist.step[-1] and hist.step[-1] % c["curve_every"] == 0:
            score(int(hist.step[-1]))
        return False

    score(0)
    hist = train(
        net,
        task,
        steps=c["steps"],
        lr=c["lr"],
        optimizer="sgd",
        batch_size=c["batch_size"],
        weight_decay=c["weight_decay"],
        seed=c["seed"],
        eval_every=min(100, c["curve_every"]),
        eval_size=0,  # no held-out set of train()'s own: the run is scored on the IC, IC2 and IW sets
        stop_when=record,
        progress=False,
    )
    score(c["steps"])
    final = {name: curve[kind][-1] for kind, name in EVAL_KINDS.items()}
    return {**final, "curve": curve, "final_loss": float(hist.loss[-1]), "task": task.config}


def data_dependence(setting: DataDependenceSetting, out: Path, *, executor=None) -> dict:
    """In-context against in-weights accuracy as each factor of the data changes.

    ICL (IC, IC2) and IWL (IW) accuracy after training, one factor of the data at a time from
    the base, for each seed: a resumable sweep (``data_dependence.jsonl`` in ``out``, reused only
    by the same code) on ``executor`` (default: a local pool of ``setting.workers`` processes).

    ``sweeps[factor]`` lists, per value, the seed mean of each accuracy, its range over seeds and
    each seed's values; ``transience`` is the largest drop of IC accuracy from its peak during
    training to its end, over every run; ``chance`` gives each set's chance accuracy.

    Parameters
    ----------
    setting : DataDependenceSetting
        The base task, the sweeps, the seeds, the training fields and the local pool's workers.
    out : Path
        The output folder, for the sweep's ``data_dependence.jsonl``.
    executor : concurrent.futures.Executor or None, default None
        Where the runs go (a Dask client's executor, a thread pool, …); None: a local process
        pool of ``setting.workers`` workers.

    Returns
    -------
    dict
        ``sweeps`` (per factor, per value: the seed means, ranges and each seed's accuracies
        and curves), ``base``, ``training``, ``chance``, ``eval_size``,
        ``binomial_se_at_half``, ``transience``, ``seeds`` and ``side_files`` (the sweep file).

    Examples
    --------
    A tiny sweep (N = 4, L = 8, two values per factor, ten steps per run) on a thread of this
    process:

    >>> from phenom.figures.jobs.network import data_dependence
    >>> import tempfile
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from phenom.figures.settings import DataDependenceSetting
    >>> s = DataDependenceSetting(
    ...     N=4, L=8, D=15, K=16, B=2, B_values=(0, 2), K_values=(8, 16), eps_values=(0.1, 0.5),
    ...     zipf_values=(0.0, 1.0), seeds=(0,), lr=0.1, steps=10, batch_size=8, eval_size=32, curve_every=10,
    ... )
    >>> with ThreadPoolExecutor(1) as pool:
    ...     result = data_dependence(s, tempfile.mkdtemp(), executor=pool)
    >>> [entry["value"] for entry in result["sweeps"]["K"]], result["chance"]["IC_labels_in_context"]
    ([8, 16], 0.5)
    """
    s = setting
    configs = data_configs(s)
    order = sorted(range(len(configs)), key=lambda i: -configs[i]["K"])  # larger K sample a little slower
    done = sweep(
        data_point,
        [configs[i] for i in order],
        executor=executor,
        workers=s.workers,
        out=Path(out) / "data_dependence.jsonl",
        version=_io.code_version(__name__),
    )
    results: list[dict] = [{}] * len(configs)
    for i, r in zip(order, done, strict=True):
        results[i] = r
    sweeps = {}
    for factor, field_name in s.SWEEPS.items():
        entries = []
        for value in getattr(s, field_name):
            runs = [
                (cfg["seed"], r)
                for cfg, r in zip(configs, results, strict=True)
                if {k: cfg[k] for k in s.base()} == {**s.base(), factor: value}
            ]
            entry = {"value": value}
            for name in EVAL_KINDS.values():
                vals = [r[name] for _, r in runs]
                entry[name] = float(np.mean(vals))
                entry[f"{name}_range"] = [float(min(vals)), float(max(vals))]
            entry["seeds"] = [
                {"seed": seed, **{name: r[name] for name in EVAL_KINDS.values()}, "curve": r["curve"]}
                for seed, r in runs
            ]
            entries.append(entry)
        sweeps[factor] = entries
    drops = [max(r["curve"]["IC"]) - r["curve"]["IC"][-1] for r in results]
    worst = int(np.argmax(drops))
    n = s.eval_size
    return {
        "base": {**s.base(), "N": s.N, "L": s.L, "D": s.D, "p_B": 1.0, "p_C": 0.0},
        "training": {
            "steps": s.steps,
            "lr": s.lr,
            "batch_size": s.batch_size,
            "optimizer": "sgd",
            "weight_decay": s.weight_decay,
            "classifier": "linear",
        },
        "sweeps": sweeps,
        "chance": {"IW": 1 / s.L, "IC_uniform": 1 / s.L, "IC_labels_in_context": s.B / s.N},
        "eval_size": n,
        "binomial_se_at_half": float(np.sqrt(0.25 / n)),
        "transience": {
            "largest_drop": float(drops[worst]),
            "config": {k: configs[worst][k] for k in ("B", "K", "eps", "zipf", "seed")},
        },
        "seeds": {"init_data_and_classes": list(s.seeds), "eval_sets": [20_000 + seed for seed in s.seeds]},
        "side_files": ["data_dependence.jsonl"],
    }
