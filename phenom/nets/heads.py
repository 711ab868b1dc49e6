"""Induction-head diagnostics by behaviour (Olsson et al., "In-context learning and induction
heads", 2022, Sec. 2 and the head detector of TransformerLens): a previous-token head in layer 1,
and a layer-2 head that attends to the token after the previous occurrence of the current token
(prefix matching) and raises that token's logit (copying).

For the two-layer network of :mod:`phenom.nets.attention`, whose layer 2 reads only the target
(last) token:

- **previous_token** — layer 1's attention from every token i >= 1 to token i − 1, averaged over
  tokens and sequences. A perfect previous-token head scores 1; uniform causal attention scores
  the mean of 1/(i + 1) over i = 1 … T − 1 (``previous_token_chance``).
- **prefix_matching** — layer 2's attention from the target to the token after the earlier
  occurrence of the target's item, i.e. to that item's label: on held-out sequences of the task
  (those whose target matches a context item). Uniform attention scores 1/T. On the copying
  task this is TILA2 of :mod:`phenom.nets.measures`.
- **prefix_matching_repeated** — the same on repeated random sequences, as Olsson et al. measure
  it: T = 2N + 1 tokens r_1 … r_{N+1}, r_1 … r_N of fresh N(0, I/D) content; the last token (the
  second r_N) attending to the token after the first r_N, which is r_{N+1}.
- **copying** — the OV circuit of layer 2 read through the classifier, on the label vectors u_l
  (content coordinates of a label token): M = W V2 [0; u_l], an L × L map from the label attended
  to the logits. Olsson et al. summarise such a map by its eigenvalues λ as Σ λ / Σ |λ| (real
  parts in the numerator): 1 for a pure copying map (positive eigenvalues), −1 for an
  anti-copying one, near 0 for a random one. ``copying_positive_fraction`` is the fraction of
  eigenvalues with positive real part. Defined for the linear read-out (None for the MLP).
"""

from __future__ import annotations

import numpy as np

from phenom import _rng, _validate
from phenom.nets.tasks import POSITIONS, SequenceBatch, _gauss

__all__ = [
    "head_scores",
    "copying_score",
    "label_copying",
    "previous_token_score",
    "prefix_matching_score",
    "scores_from_cache",
]


def previous_token_score(A1: np.ndarray) -> float:
    """Mean layer-1 attention from token i to token i − 1, over tokens i >= 1 and sequences.

    Parameters
    ----------
    A1 : numpy.ndarray
        Layer-1 attention (n, T, T): row i of a sequence is token i's attention over tokens
        j <= i (the forward pass's cache ``"A1"``).

    Returns
    -------
    float
        1 for a perfect previous-token head; the mean of 1/(i + 1) over i = 1 … T − 1 for uniform
        causal attention.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.heads import previous_token_score
    >>> T = 3
    >>> uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    >>> round(previous_token_score(uniform[None]), 4)  # (1/2 + 1/3) / 2
    0.4167
    >>> previous = np.eye(T, k=-1)
    >>> previous[0, 0] = 1.0  # the first token can only attend to itself
    >>> previous_token_score(previous[None])
    1.0
    """
    T = A1.shape[1]
    i = np.arange(1, T)
    return float(np.mean(A1[:, i, i - 1]))


def prefix_matching_score(a2: np.ndarray, target_pair: np.ndarray) -> float | None:
    """Mean layer-2 attention of the target on the label after its matching item.

    Pair k's label is token 2k + 1; the mean is over the sequences whose target matches a
    context item.

    Parameters
    ----------
    a2 : numpy.ndarray
        Layer-2 attention of the target (n, T), the forward pass's cache ``"a2"``.
    target_pair : numpy.ndarray
        (n,) integers: the pair whose item the target matches, −1 for none (the ``target_pair``
        of a :class:`~phenom.nets.tasks.SequenceBatch`).

    Returns
    -------
    float or None
        The mean attention on the matching label; None if no target matches.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.heads import prefix_matching_score
    >>> a2 = np.array([[0.1, 0.1, 0.1, 0.6, 0.1], [0.2, 0.2, 0.2, 0.2, 0.2]])  # T = 5, N = 2
    >>> prefix_matching_score(a2, np.array([1, -1]))  # pair 1's label is token 3
    0.6
    >>> prefix_matching_score(a2, np.array([-1, -1])) is None
    True
    """
    rows = np.flatnonzero(target_pair >= 0)
    if rows.size == 0:
        return None
    return float(np.mean(a2[rows, 2 * target_pair[rows] + 1]))


def copying_score(M: np.ndarray) -> dict[str, float]:
    """Olsson et al.'s eigenvalue summary of a square map M: Σ Re λ / Σ |λ|.

    Olsson et al. (2022, Sec. 2) summarise a copying circuit by its eigenvalues λ: 1 for a pure
    copying map (positive eigenvalues), −1 for an anti-copying one, near 0 for a random one.

    Parameters
    ----------
    M : array_like
        A non-empty square matrix of finite numbers.

    Returns
    -------
    dict of str to float
        ``"copying"``: Σ Re λ / Σ |λ| (0 for the zero map); ``"copying_positive_fraction"``:
        the fraction of eigenvalues with positive real part.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.heads import copying_score
    >>> copying_score(np.eye(3))
    {'copying': 1.0, 'copying_positive_fraction': 1.0}
    >>> copying_score(np.diag([2.0, 1.0, -1.0]))  # (2 + 1 − 1) / (2 + 1 + 1)
    {'copying': 0.5, 'copying_positive_fraction': 0.6666666666666666}
    >>> copying_score([[0.0, -1.0], [1.0, 0.0]])  # a rotation: eigenvalues ±i
    {'copying': 0.0, 'copying_positive_fraction': 0.0}
    """
    M = _validate.finite_array("M", M)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"M must be a non-empty square matrix, got shape {M.shape}")
    lam = np.linalg.eigvals(M)
    total = float(np.sum(np.abs(lam)))
    return {
        "copying": float(np.sum(lam.real)) / total if total > 0 else 0.0,
        "copying_positive_fraction": float(np.mean(lam.real > 0)),
    }


def _repeated_random(task, n: int, rng: np.random.Generator, dtype) -> SequenceBatch:
    """Tokens r_1 … r_{N+1}, r_1 … r_N with fresh N(0, I/D) contents, at random offsets."""
    N, D = task.N, task.D
    T = 2 * N + 1
    fresh = _gauss(rng, (n, N + 1, D), D, dtype)
    content = np.concatenate([fresh, fresh[:, :N]], axis=1)
    offset = rng.integers(0, POSITIONS - T + 1, size=n)
    zeros = np.zeros(n, dtype=int)
    return SequenceBatch(content, offset, zeros, np.zeros((n, N), dtype=int), np.full(n, -1))


def _check_network(net, task) -> None:
    """A ValueError unless ``net`` is a network instance with finite weights (an
    :class:`~phenom.nets.attention.AttentionNetwork`) built for ``task``'s token width and labels."""
    weights = getattr(net, "weights", None)
    if isinstance(net, type) or not isinstance(weights, dict) or not callable(getattr(net, "check_task", None)):
        raise ValueError(f"net must be an AttentionNetwork instance, got {_validate.shown(net)}")
    net.check_task(task)  # names the task and both shapes when they differ
    if not all(np.all(np.isfinite(w)) for w in weights.values()):
        raise ValueError("net must have finite weights (no nan or inf)")


def _forward(net, batch) -> dict:
    """The forward pass's cache, or a ValueError when the network's (finite) weights are so large
    that its attention overflows its precision on these sequences."""
    with np.errstate(all="ignore"):
        _, cache = net.forward(batch)
    if not (np.all(np.isfinite(cache["A1"])) and np.all(np.isfinite(cache["a2"]))):
        raise ValueError(f"net's weights are too large: its attention overflows {net.dtype} on these sequences")
    return cache


def head_scores(net, task, *, seed: int = 0, n: int = 2048) -> dict[str, float | None]:
    """The induction-head scores of the module docstring, measured on held-out sequences.

    The scores are measured on ``n`` held-out sequences of ``task`` (from ``seed``'s evaluation
    stream) and ``n`` repeated random sequences, each with its chance level.

    Parameters
    ----------
    net : AttentionNetwork
        An :class:`~phenom.nets.attention.AttentionNetwork` built for ``task``'s token width and
        labels, with finite weights.
    task : CopyingTask or ClassificationTask
        The task whose sequences are scored.
    seed : int, default 0
        Seed of the evaluation stream, >= 0.
    n : int, default 2048
        Sequences of each kind, 1 to the task's :func:`~phenom.nets.tasks.batch_limit`.

    Returns
    -------
    dict of str to float or None
        ``previous_token`` and ``previous_token_chance``; ``prefix_matching`` (None when no
        target matches a context item), ``prefix_matching_repeated`` and
        ``prefix_matching_chance`` (1/T); ``copying`` and ``copying_positive_fraction`` (None for
        the MLP read-out).

    Examples
    --------
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.heads import head_scores
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)  # T = 5 tokens
    >>> scores = head_scores(AttentionNetwork.init(task), task, n=256)
    >>> round(scores["previous_token_chance"], 4), scores["prefix_matching_chance"]  # (1/2+1/3+1/4+1/5)/4, 1/5
    (0.3208, 0.2)
    >>> abs(scores["previous_token"] - scores["previous_token_chance"]) < 0.05  # untrained: near chance
    True
    """
    _check_network(net, task)
    seed = _validate.count("seed", seed, minimum=0)
    n = _validate.count("n", n)
    rng = _rng.stream(seed, "eval")
    batch = task.sample(n, rng, dtype=net.dtype)
    cache = _forward(net, batch)
    repeated = _forward(net, _repeated_random(task, n, rng, net.dtype))
    T = batch.content.shape[1]
    N = task.N
    scores: dict[str, float | None] = {
        "previous_token": previous_token_score(cache["A1"]),
        "previous_token_chance": float(np.mean(1 / (np.arange(1, T) + 1))),
        "prefix_matching": prefix_matching_score(cache["a2"], batch.target_pair),
        "prefix_matching_repeated": float(np.mean(repeated["a2"][:, N])),
        "prefix_matching_chance": 1 / T,
    }
    return {**scores, **label_copying(net, task)}


def scores_from_cache(net, task, cache: dict, batch) -> dict[str, float | None]:
    """previous_token, prefix_matching (on ``batch``) and copying, from a forward pass's attention.

    These are the columns :meth:`~phenom.nets.attention.AttentionNetwork.metrics` adds to the
    progress measures, without a second forward pass.

    Parameters
    ----------
    net : AttentionNetwork
        The network whose forward pass made ``cache`` (its weights give the copying score).
    task : CopyingTask or ClassificationTask
        The task of ``batch`` (its label vectors).
    cache : dict
        The forward pass's cache, with layer-1 attention ``"A1"`` and layer-2 attention ``"a2"``.
    batch : SequenceBatch
        The sequences of that forward pass (their target pairs).

    Returns
    -------
    dict of str to float or None
        ``previous_token`` (:func:`previous_token_score`), ``prefix_matching``
        (:func:`prefix_matching_score`) and ``copying`` (:func:`label_copying`).

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.heads import previous_token_score, scores_from_cache
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> net = AttentionNetwork.init(task)
    >>> batch = task.sample(16, np.random.default_rng(0), dtype=np.float32)
    >>> _, cache = net.forward(batch)
    >>> scores = scores_from_cache(net, task, cache, batch)
    >>> sorted(scores), scores["previous_token"] == previous_token_score(cache["A1"])
    (['copying', 'prefix_matching', 'previous_token'], True)
    """
    return {
        "previous_token": previous_token_score(cache["A1"]),
        "prefix_matching": prefix_matching_score(cache["a2"], batch.target_pair),
        "copying": label_copying(net, task)["copying"],
    }


def label_copying(net, task) -> dict[str, float] | dict[str, None]:
    """:func:`copying_score` of the label → logit map W V2 [0; u_l] (None for the MLP read-out).

    The map sends a label token's content u_l (a row of ``task.label_vectors``), attended to by
    layer 2, through the value matrix V2 and the linear read-out W to the L logits.

    Parameters
    ----------
    net : AttentionNetwork
        The network (its ``W`` and ``V2`` weights, in float64).
    task : CopyingTask or ClassificationTask
        The task whose label vectors span the map's input.

    Returns
    -------
    dict of str to float, or of str to None
        ``copying`` and ``copying_positive_fraction`` of :func:`copying_score`; both None for
        the MLP read-out, which has no linear map to summarise.

    Examples
    --------
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.heads import label_copying
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> score = label_copying(AttentionNetwork.init(task), task)["copying"]
    >>> -1 <= score <= 1
    True
    >>> label_copying(AttentionNetwork.init(task, classifier="mlp"), task)
    {'copying': None, 'copying_positive_fraction': None}
    """
    if net.classifier != "linear":
        return {"copying": None, "copying_positive_fraction": None}
    w = net.weights
    M = w["W"].astype(np.float64) @ w["V2"][:, POSITIONS:].astype(np.float64) @ task.label_vectors.T
    return copying_score(M)
