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
    """Mean layer-1 attention from token i to token i − 1 (i >= 1), from attention (n, T, T)."""
    T = A1.shape[1]
    i = np.arange(1, T)
    return float(np.mean(A1[:, i, i - 1]))


def prefix_matching_score(a2: np.ndarray, target_pair: np.ndarray) -> float | None:
    """Mean layer-2 attention of the target on the label after its matching item (token 2k + 1
    for pair k), over the sequences whose target matches a context item (None if there are none)."""
    rows = np.flatnonzero(target_pair >= 0)
    if rows.size == 0:
        return None
    return float(np.mean(a2[rows, 2 * target_pair[rows] + 1]))


def copying_score(M: np.ndarray) -> dict[str, float]:
    """Olsson et al.'s eigenvalue summary of a square map M: Σ Re λ / Σ |λ|, and the fraction of
    eigenvalues with positive real part."""
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
    """The scores of the module docstring for ``net`` on ``n`` held-out sequences of ``task``
    (from ``seed``'s evaluation stream) and ``n`` repeated random sequences. ``net`` must be an
    AttentionNetwork built for ``task``'s token width and labels; ``n`` from 1 to the task's
    :func:`~phenom.nets.tasks.batch_limit`."""
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
    """previous_token, prefix_matching (on ``batch``) and copying, from a forward pass's
    attention: the columns :meth:`~phenom.nets.attention.AttentionNetwork.metrics` adds."""
    return {
        "previous_token": previous_token_score(cache["A1"]),
        "prefix_matching": prefix_matching_score(cache["a2"], batch.target_pair),
        "copying": label_copying(net, task)["copying"],
    }


def label_copying(net, task) -> dict[str, float] | dict[str, None]:
    """:func:`copying_score` of the label → logit map W V2 [0; u_l] (None for the MLP read-out)."""
    if net.classifier != "linear":
        return {"copying": None, "copying_positive_fraction": None}
    w = net.weights
    M = w["W"].astype(np.float64) @ w["V2"][:, POSITIONS:].astype(np.float64) @ task.label_vectors.T
    return copying_score(M)
