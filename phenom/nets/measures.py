"""Progress measures of the induction head (Reddy, ICLR 2024), the effective β, α, ξ they imply,
and when a measure passes a level.

- ICL accuracy: the arg-max label is the correct one.
- P(correct): the mean probability of the correct label, what the mean-field model's
  ``p_correct`` predicts (accuracy is its arg-max counterpart, not the same number).
- CLA: the arg-max label is one of the labels in the context.
- P(in context): the mean probability summed over the labels in the context, what the models'
  ``p_context`` predicts (CLA is its arg-max counterpart).
- ILA1: layer-1 attention of each label token to its own item (the token before it).
- TILA2: layer-2 attention of the target to the label token(s) carrying the correct label.
- margin: the correct label's logit over the mean logit of the absent labels (of the other
  in-context labels when L = N).
- expected model loss: the mean-field model's loss evaluated at each sequence's own margins and
  averaged over the sequences. The model's loss depends on θ only through two margins,
  log(1 + (N − 1) e^{−u} + (L − N) e^{−u'}) with u the correct logit over the other in-context
  labels' and u' over the absent labels' (Reddy, ICLR 2024, Sec. 4); each sequence i has its own
  (u_i, u'_i), the correct logit over the mean of each group of rivals, so this is the model's
  loss under the measured spread of per-sequence logits (not at averaged parameters). Its gap
  from the held-out loss is only the spread of the rivals' logits within each group (Jensen: the
  expected loss is at most the network's).

Effective parameters invert the phenomenological model's relations (Reddy, ICLR 2024, Sec. 4), so that a
network and a gradient flow can be drawn on the same axes:

    y = ILA1 = e^β/(e^β + N)            ⇒  β = log(N y / (1 − y))
    z = TILA2 = e^{αy}/(e^{αy} + 2N)    ⇒  α = log(2N z / (1 − z)) / y
    logit margin of the correct label over the absent ones = ξ z  ⇒  ξ = margin / z
    (L = N, no absent labels: margin over the other in-context labels = ξ (z − z'), z' = (1 − z)/2N;
    undefined, NaN, while z − z' < 0.01, as at chance).

The network's labels compete with 2k+1 earlier tokens, not the mean field's N: uniform layer-1
attention gives ILA1 = H_N/(2N) (0.17 at N = 8), not 1/(N+1), so an untrained network reads
β ≈ 0.48 rather than 0. The effective parameters are the mean-field coordinates of the network's
state, not its weights.

When: :func:`transition_step` is the first step at which a measure reaches a level
(interpolated between evaluations): the ICL transition at :func:`transition_level`, halfway from
the plateau 1/N to 1; a parameter's rise above its start; a head score's rise halfway.
:func:`stop_level` is where a run can stop with its transition behind it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from phenom._validate import finite_array, shown

__all__ = ["transition_level", "transition_step", "stop_level", "progress_measures", "effective_parameters"]

_EPS = 1e-12


def effective_parameters(ila1: float, tila2: float, margin: float, N: int, L: int) -> tuple[float, float, float]:
    """(β, α, ξ) whose mean-field model has attention ILA1, TILA2 and the given logit margin.

    The inversions of the module docstring (Reddy, ICLR 2024, Sec. 4). ILA1 and TILA2 are
    clipped to [1e-12, 1 − 1e-12] first, so that β and α stay finite.

    Parameters
    ----------
    ila1 : float
        The layer-1 attention of each label token to its item, y in (0, 1).
    tila2 : float
        The layer-2 attention of the target to the correct label's token(s), z in (0, 1).
    margin : float
        The correct label's mean logit over the mean logit of its rivals (the absent labels; the
        other in-context labels when L = N).
    N : int
        Item–label pairs in context, >= 1.
    L : int
        Labels, >= N.

    Returns
    -------
    tuple of three floats
        β = log(N y / (1 − y)), α = log(2N z / (1 − z)) / y and ξ = margin / z (margin / (z − z')
        when L = N; NaN while z − z' < 0.01).

    Examples
    --------
    The attention and margin of the mean-field model at β = 1, α = 2, ξ = 3 give them back:

    >>> import math
    >>> from phenom.nets.measures import effective_parameters
    >>> N, L = 8, 32
    >>> y = math.e / (math.e + N)
    >>> z = math.exp(2 * y) / (math.exp(2 * y) + 2 * N)
    >>> [round(v, 4) for v in effective_parameters(y, z, 3 * z, N, L)]
    [1.0, 2.0, 3.0]
    """
    y = float(np.clip(ila1, _EPS, 1 - _EPS))
    z = float(np.clip(tila2, _EPS, 1 - _EPS))
    beta = np.log(N * y / (1 - y))
    alpha = np.log(2 * N * z / (1 - z)) / y
    gap = z if L > N else z - (1 - z) / (2 * N)
    xi = margin / gap if gap > (0.0 if L > N else 0.01) else float("nan")
    return float(beta), float(alpha), float(xi)


def _expected_model_loss(logits: np.ndarray, in_context: np.ndarray, answer: np.ndarray, N: int, L: int) -> float:
    """Mean over sequences of log(1 + (N − 1) e^{−u_i} + (L − N) e^{−u'_i}) (module docstring), in
    log-sum-exp form."""
    rows = np.arange(len(logits))
    correct = logits[rows, answer].astype(np.float64)
    others = in_context.copy()
    others[rows, answer] = False
    terms = [np.zeros_like(correct)]
    if N > 1:
        u = correct - np.where(others, logits, 0.0).sum(axis=1) / (N - 1)
        terms.append(np.log(N - 1) - u)
    if L > N:
        u_absent = correct - np.where(~in_context, logits, 0.0).sum(axis=1) / (L - N)
        terms.append(np.log(L - N) - u_absent)
    return float(np.mean(np.logaddexp.reduce(np.stack(terms), axis=0)))


def progress_measures(logits: np.ndarray, cache: dict, batch, task) -> dict[str, float]:
    """The measures listed above, and the effective (β, α, ξ), of one evaluation batch.

    :meth:`~phenom.nets.attention.AttentionNetwork.metrics` calls it on each held-out batch.

    Parameters
    ----------
    logits : numpy.ndarray
        The network's outputs (n, L) on ``batch``.
    cache : dict
        The same forward pass's cache: its layer-1 attention ``A1`` (n, T, T) and layer-2
        attention ``a2`` (n, T) of the target, T = 2N + 1.
    batch : SequenceBatch
        The sequences (a :class:`~phenom.nets.tasks.SequenceBatch`): their answers and context labels.
    task : CopyingTask or ClassificationTask
        The task the batch is from (its N and L).

    Returns
    -------
    dict of str to float
        ``eval_loss`` (the mean cross-entropy of the correct label), the measures of the module
        docstring by name (``icl_acc``, ``p_correct``, ``cla``, ``margin``, ``ila1``, ``tila2``,
        …) and the effective ``beta``, ``alpha``, ``xi`` (:func:`effective_parameters`).

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.measures import progress_measures
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> batch = task.sample(64, np.random.default_rng(0))
    >>> logits, cache = AttentionNetwork.init(task, dtype=np.float64).forward(batch)
    >>> m = progress_measures(logits, cache, batch, task)
    >>> {"eval_loss", "icl_acc", "cla", "ila1", "tila2", "beta", "alpha", "xi"} <= set(m)
    True
    >>> m["icl_acc"] == float(np.mean(logits.argmax(axis=1) == batch.answer))
    True
    """
    n = len(logits)
    N, L = task.N, task.L
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    pred = logits.argmax(axis=1)
    in_context = np.zeros((n, L), dtype=bool)
    in_context[rows[:, None], batch.context_labels] = True

    A1, a2 = cache["A1"], cache["a2"]
    label_rows = np.arange(1, 2 * N, 2)
    ila1 = float(np.mean(A1[:, label_rows, label_rows - 1]))
    correct_label_token = batch.context_labels == batch.answer[:, None]  # (n, N)
    tila2 = float(np.mean(np.sum(a2[:, label_rows] * correct_label_token, axis=1)))

    correct = logits[rows, batch.answer]
    if L > N:
        rivals = np.where(~in_context, logits, 0.0).sum(axis=1) / (L - N)
    else:
        others = in_context.copy()
        others[rows, batch.answer] = False
        rivals = np.where(others, logits, 0.0).sum(axis=1) / max(N - 1, 1)
    margin = float(np.mean(correct - rivals))
    expected = _expected_model_loss(logits, in_context, batch.answer, N, L)
    beta, alpha, xi = effective_parameters(ila1, tila2, margin, N, L)
    return {
        "eval_loss": float(-np.mean(log_probs[rows, batch.answer])),
        "icl_acc": float(np.mean(pred == batch.answer)),
        "p_correct": float(np.mean(np.exp(log_probs[rows, batch.answer]))),
        "cla": float(np.mean(in_context[rows, pred])),
        "p_context": float(np.mean(np.sum(np.where(in_context, np.exp(log_probs), 0.0), axis=1))),
        "margin": margin,
        "expected_model_loss": expected,
        "ila1": ila1,
        "tila2": tila2,
        "beta": beta,
        "alpha": alpha,
        "xi": xi,
    }


def transition_level(N: int) -> float:
    """ICL accuracy halfway from the plateau at 1/N (guessing among the labels in context) to 1.

    Parameters
    ----------
    N : int
        Item–label pairs in context, >= 1.

    Returns
    -------
    float
        (1 + 1/N) / 2: where :func:`transition_step` places a network's ICL transition.

    Examples
    --------
    >>> from phenom.nets.measures import transition_level
    >>> transition_level(8)
    0.5625
    """
    return 0.5 * (1 + 1 / N)


def _values(name: str, value) -> np.ndarray:
    """A 1-D float array in which None reads as NaN (histories store an undefined measure as None)."""
    try:
        arr = np.array([np.nan if v is None else v for v in np.asarray(value, dtype=object).ravel()], dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D sequence of real numbers or None, got {shown(value)}") from None
    if np.ndim(value) != 1:
        raise ValueError(f"{name} must be a 1-D sequence of real numbers or None, got {shown(value)}")
    return arr


def transition_step(
    step, values, level: float = 0.5, *, relative_to: str = "zero", interpolate: bool = True, missing: str = "skip"
) -> float | None:
    """The first step at which ``values`` reach a level; None if they never do.

    Parameters
    ----------
    step, values : sequence of float
        Equal-length 1-D sequences (a history's evaluation steps and a measure at them); a value
        of None or NaN is missing.
    level : float, default 0.5
        The level (any finite number), measured according to ``relative_to``.
    relative_to : {"zero", "start", "range"}, default "zero"
        What ``level`` is measured from:

        - ``"zero"``: ``level`` itself (ICL accuracy reaching :func:`transition_level`);
        - ``"start"``: the first value plus ``level`` (a parameter rising by 1 from where it starts,
          as the network's effective β starts near 0.48, not 0);
        - ``"range"``: the fraction ``level`` of the way from the first to the largest value
          (a head score rising halfway); None if the values never exceed their first one.
    interpolate : bool, default True
        Linear interpolation between the last value below the level and the first at or above
        it (True), or the step of the first value at or above it (False).
    missing : {"skip", "none"}, default "skip"
        ``"skip"``: missing values are left out (the first value is the first present one);
        ``"none"``: any missing value makes the answer None.

    Returns
    -------
    float or None
        ``step[0]`` when the first value already reaches the level.

    Examples
    --------
    ICL accuracy at N = 2 crosses the transition level 0.75 halfway between steps 20 and 30:

    >>> from phenom.nets.measures import transition_level, transition_step
    >>> step, acc = [0, 10, 20, 30], [0.12, 0.3, 0.7, 0.9]
    >>> transition_step(step, acc, transition_level(2))
    22.5
    >>> transition_step(step, acc, 0.75, interpolate=False)
    30.0
    >>> round(transition_step(step, [0.48, 0.9, 1.6, 2.0], 1.0, relative_to="start"), 2)  # 1.48
    18.29
    >>> transition_step(step, [0.1, None, 0.5, 0.9], 0.5, relative_to="range")  # halfway to 0.9
    20.0
    >>> transition_step(step, [0.1, None, 0.5, 0.9], 0.5, relative_to="range", missing="none") is None
    True
    """
    if relative_to not in ("zero", "start", "range"):
        raise ValueError(f"relative_to must be 'zero', 'start' or 'range', got {relative_to!r}")
    if missing not in ("skip", "none"):
        raise ValueError(f"missing must be 'skip' or 'none', got {missing!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not math.isfinite(level):
        raise ValueError(f"level must be a finite number, got {shown(level)}")
    t = finite_array("step", step)
    v = _values("values", values)
    if t.ndim != 1 or t.shape != v.shape:
        raise ValueError(f"step and values must be 1-D of one length, got shapes {t.shape} and {v.shape}")
    present = np.isfinite(v)
    if missing == "none" and not present.all():
        return None
    t, v = t[present], v[present]
    if v.size == 0:
        return None
    if relative_to == "start":
        level = v[0] + level
    elif relative_to == "range":
        if v.max() <= v[0]:
            return None
        level = v[0] + level * (v.max() - v[0])
    above = np.flatnonzero(v >= level)
    if above.size == 0:
        return None
    i = above[0]
    if i == 0 or not interpolate:
        return float(t[i])
    return float(t[i - 1] + (level - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1]))


def stop_level(N: int) -> float:
    """ICL accuracy three quarters of the way from the plateau at 1/N to 1.

    Once two evaluations in a row reach it, the transition (at :func:`transition_level`) is
    behind the run, and a run that only needs the transition's time can stop.

    Parameters
    ----------
    N : int
        Item–label pairs in context, >= 1.

    Returns
    -------
    float
        (1 + :func:`transition_level`) / 2 = (3 + 1/N) / 4.

    Examples
    --------
    >>> from phenom.nets.measures import stop_level, transition_level
    >>> stop_level(8), transition_level(8) < stop_level(8) < 1
    (0.78125, True)
    """
    return (1 + transition_level(N)) / 2
