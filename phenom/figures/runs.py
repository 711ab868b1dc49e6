"""The training runs behind the comparison figures (Reddy, ICLR 2024: the network's transition
against the β, α, ξ flow's).

- :func:`scaling_run`: one network of the scaling study, trained by SGD until two held-out
  evaluations in a row pass :func:`phenom.nets.measures.stop_level` (the transition is then
  behind it, and the history up to it is the one a longer run would have);
- :func:`scaling_point`: that run's transition step (ICL accuracy halfway from 1/N to 1), the
  one number per configuration the scaling sweep keeps (module-level, so that process pools and
  Dask can ship it);
- :func:`metric_along_training`: the same run measured every few steps with
  :func:`phenom.nets.probes.measured_metric`, for the growth figure's measured rates C_k against
  the time-scale model's (:mod:`phenom.induction.timescales`).
"""

from __future__ import annotations

import numpy as np

from phenom import _rng, _validate
from phenom.induction.model import PARAMETERS
from phenom.nets import AttentionNetwork, CopyingTask, Diverged, train
from phenom.nets.measures import stop_level, transition_level, transition_step
from phenom.nets.probes import measured_metric

__all__ = ["metric_along_training", "scaling_point", "scaling_run"]


def metric_along_training(config: dict, *, probe_every: int, probe_size: int = 2048, probe_seed: int = 99) -> dict:
    """The measured metric C along one training run of the scaling study.

    The run is :func:`scaling_run`'s for ``config`` (same seeds, same batches:
    measuring does not change it), continued until two evaluations in a row reach ICL accuracy
    0.9; every ``probe_every`` steps (a multiple of the config's ``eval_every``, before the last
    step of the budget) the network is measured on ``probe_size`` sequences from ``probe_seed``.
    Returns the probe steps, the effective (β, α, ξ) there and C for each parameter (None where
    the mean-field rate vanishes), and the run's history.

    Parameters
    ----------
    config : dict
        One run of the scaling study: N, L, D, eps, seed, lr, steps, eval_every, eval_size,
        batch_size and weight_decay (:func:`~phenom.figures.jobs.compare.scaling_configs` makes
        them).
    probe_every : int >= 1
        Steps between measurements: a multiple of ``config["eval_every"]`` (ValueError otherwise).
    probe_size : int >= 1, default 2048
        Sequences of the probe batch.
    probe_seed : int >= 0, default 99
        Seed of the probe batch (drawn once, at the first probe).

    Returns
    -------
    dict
        ``config``, ``probe_seed``, ``probes`` (one ``{"step", "beta", "alpha", "xi", "C"}`` per
        probe, ``C`` a dict by parameter) and ``history`` (the run's records).

    Raises
    ------
    Diverged
        When the network's held-out loss at a probe is not finite.

    Examples
    --------
    >>> from phenom.figures.runs import metric_along_training
    >>> config = dict(
    ...     N=8, L=32, D=63, eps=0.1, seed=0, lr=0.5, steps=20, eval_every=5, eval_size=64, batch_size=16,
    ...     weight_decay=1e-6,
    ... )
    >>> measured = metric_along_training(config, probe_every=10, probe_size=64)
    >>> [p["step"] for p in measured["probes"]], sorted(measured["probes"][0]["C"])
    ([0, 10], ['alpha', 'beta', 'xi'])
    """
    probe_every = _validate.count("probe_every", probe_every)
    if probe_every % config["eval_every"]:
        raise ValueError(f"probe_every must be a multiple of eval_every = {config['eval_every']}, got {probe_every}")
    rows = []
    probe = {}

    def measure(net, task, hist):
        step = int(hist.step[-1])
        if step % probe_every:
            return
        if "batch" not in probe:
            probe["batch"] = task.sample(probe_size, _rng.stream(probe_seed, "eval"), dtype=np.float64)
        # Weights that blew up stop the run as train() stops it: with Diverged, no warning first.
        with np.errstate(all="ignore"):
            state = net.metrics(probe["batch"], task)
            if not np.isfinite(state["eval_loss"]):
                raise Diverged(step, float(state["eval_loss"]), config["lr"])
            C = measured_metric(net, task, probe["batch"], state=state)
        rows.append({"step": step, **{k: state[k] for k in PARAMETERS}, "C": C})

    _, hist = scaling_run(config, on_evaluation=measure, stop_at=0.9)
    return {"config": dict(config), "probe_seed": probe_seed, "probes": rows, "history": hist.records}


def scaling_point(config: dict) -> dict:
    """One network run of the scaling study (module-level, so process pools and Dask can ship it).

    ``config``: N, L, D, eps, seed, lr, steps, eval_every, eval_size, batch_size, weight_decay
    (:func:`~phenom.figures.jobs.compare.scaling_configs` makes them). Training stops once two held-out
    evaluations in a row reach :func:`~phenom.nets.measures.stop_level`. Returns the network's transition step
    (None if it never reaches :func:`~phenom.nets.measures.transition_level`) and the last step trained.

    Parameters
    ----------
    config : dict
        One run of the scaling study: N, L, D, eps, seed, lr, steps, eval_every, eval_size,
        batch_size and weight_decay (:func:`~phenom.figures.jobs.compare.scaling_configs` makes
        them).

    Returns
    -------
    dict
        ``net_step`` (the transition step or None), ``last_step``, ``final_icl_acc`` and
        ``max_icl_acc``.

    Examples
    --------
    Twenty steps are far too few for the transition at N = 8, L = 32:

    >>> from phenom.figures.runs import scaling_point
    >>> config = dict(
    ...     N=8, L=32, D=63, eps=0.1, seed=0, lr=0.5, steps=20, eval_every=5, eval_size=64, batch_size=16,
    ...     weight_decay=1e-6,
    ... )
    >>> point = scaling_point(config)
    >>> point["net_step"], point["last_step"]
    (None, 20)
    """
    _, hist = scaling_run(config)
    return {
        "net_step": transition_step(hist.step, hist.icl_acc, transition_level(config["N"])),
        "last_step": int(hist.step[-1]),
        "final_icl_acc": float(hist.icl_acc[-1]),
        "max_icl_acc": float(np.max(hist.icl_acc)),
    }


def scaling_run(config: dict, on_evaluation=None, stop_at: float | None = None):
    """The training run behind one point of the scaling study.

    The training run behind :func:`scaling_point`: (network, History). Training stops once two
    evaluations in a row reach ICL accuracy ``stop_at`` (default :func:`~phenom.nets.measures.stop_level`, which leaves
    the transition step unchanged: the history up to it is the same). ``on_evaluation(net, task,
    history)`` is called after every evaluation (e.g. to measure the network there); it must not
    change the network.

    Parameters
    ----------
    config : dict
        One run of the scaling study: N, L, D, eps, seed, lr, steps, eval_every, eval_size,
        batch_size and weight_decay (:func:`~phenom.figures.jobs.compare.scaling_configs` makes
        them).
    on_evaluation : callable or None, default None
        ``on_evaluation(net, task, history)`` after every evaluation.
    stop_at : float or None, default None
        ICL accuracy at which two evaluations in a row stop the run; None:
        :func:`~phenom.nets.measures.stop_level` of N.

    Returns
    -------
    tuple
        ``(network, history)``: the :class:`~phenom.nets.AttentionNetwork` (linear read-out)
        and its :class:`~phenom.nets.training.History`.

    Examples
    --------
    >>> from phenom.figures.runs import scaling_run
    >>> config = dict(
    ...     N=8, L=32, D=63, eps=0.1, seed=0, lr=0.5, steps=20, eval_every=5, eval_size=64, batch_size=16,
    ...     weight_decay=1e-6,
    ... )
    >>> net, history = scaling_run(config)
    >>> history.step.tolist()
    [0, 5, 10, 15, 20]
    >>> seen = []
    >>> _, history = scaling_run(config, on_evaluation=lambda n, t, h: seen.append(int(h.step[-1])), stop_at=0.0)
    >>> seen, history.step.tolist()  # two evaluations at accuracy >= 0 stop it
    ([0, 5], [0, 5])
    """
    task = CopyingTask(N=config["N"], L=config["L"], D=config["D"], eps=config["eps"])
    net = AttentionNetwork.init(task, "linear", seed=config["seed"])

    level = stop_level(config["N"]) if stop_at is None else stop_at

    def done(hist) -> bool:
        if on_evaluation is not None:
            on_evaluation(net, task, hist)
        acc = hist.icl_acc
        return len(acc) >= 2 and bool(np.all(acc[-2:] >= level))

    hist = train(
        net,
        task,
        steps=config["steps"],
        lr=config["lr"],
        optimizer="sgd",
        batch_size=config["batch_size"],
        seed=config["seed"],
        weight_decay=config["weight_decay"],
        eval_every=config["eval_every"],
        eval_size=config["eval_size"],
        progress=False,
        stop_when=done,
    )
    return net, hist
