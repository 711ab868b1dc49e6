r"""Readings of the network in the extended model's coordinates (:mod:`phenom.induction.extended`):
the layer-2 label bias γ apart from the content match α, and the read-out's label-presence ρ
apart from its own-route gain ξ_m, from an exact decomposition of the logits at fixed weights.

**Attention** (:func:`attention_readings`). The extended model gives the target's layer-2 logits
αy + γ on the correct label's token, γ on the other label tokens and 0 on the rest, so from the
mean layer-2 attention on each kind of token (means over a batch):

    γ  = log(mean attention on another label token / mean attention on an item or the target)
    αy = log(attention on the correct label's token / mean attention on another label token)
    α  = αy / ILA1

(Read as the β, α, ξ model does, TILA2 folds both into α.)

**Logits** (:func:`logit_routes`, :func:`readout_readings`). With the linear read-out the
target's logits are linear in what reaches it, at fixed weights:

    logits = W x_T + W V1 Σ_k A1_Tk x_k + Σ_j a2_j W V2 x1_j,   x1_j = x_j + V1 Σ_k A1_jk x_k

(the target's own token, its layer-1 mixture read directly, and each token j through layer 2).
For an in-context label ℓ at token j_ℓ, its margin over the mean of the absent labels splits
exactly into its own route a2_{j_ℓ} g_ℓ, with g_ℓ the margin token j_ℓ would give at attention 1,
and everything else ρ_ℓ:

    margin_ℓ = ρ_ℓ + g_ℓ a2_{j_ℓ};   ξ_m = mean g_ℓ,   ρ = mean ρ_ℓ

(means over the sequences and their N in-context labels), the extended model's ξz + ρ. The
margin is also split by route: the own token, the other label tokens, the items, the target in
layer 2, the target's layer-1 mixture ("direct") and its own token ("residual").
"""

from __future__ import annotations

import numpy as np

__all__ = ["attention_readings", "logit_routes", "readout_readings", "ROUTES"]

ROUTES = ("own_token", "label_tokens", "item_tokens", "target_token", "direct", "residual")
"""The routes a label's margin is split into (module docstring); they sum to the margin."""


def _check(net, batch, *, absent: bool) -> tuple[int, int]:
    """(N, L) of ``batch`` for ``net``, or a ValueError naming what the readings need."""
    classifier = getattr(net, "classifier", net)
    if classifier != "linear":
        raise ValueError(f"net must have the linear read-out (logits linear at fixed weights), got {classifier!r}")
    N = batch.context_labels.shape[1]
    L = net.weights["W"].shape[0]
    if N < 2:
        raise ValueError(f"batch must have N >= 2 pairs (another label token to compare with), got N = {N}")
    if absent and L <= N:
        raise ValueError(f"the network must have L > N labels (absent labels to measure margins from), got L = {L}")
    return N, L


def attention_readings(net, batch) -> dict[str, float]:
    """γ, αy, α and ILA1 of ``net`` on ``batch``, from its layer-1 and layer-2 attention.

    The readings of the module docstring; the means are over the batch, computed in float64.

    Parameters
    ----------
    net : AttentionNetwork
        A network with the linear read-out.
    batch : SequenceBatch
        Sequences of the copying task with N >= 2 pairs.

    Returns
    -------
    dict of str to float
        ``gamma`` (the layer-2 label bias γ), ``alpha_y`` (αy), ``alpha`` (αy / ILA1) and ``ila1``
        (the mean layer-1 attention of a label token on its item).

    Raises
    ------
    ValueError
        If the read-out is not linear or N < 2.

    Examples
    --------
    An untrained network attends almost uniformly: γ and α are near 0, and ILA1 is near the
    uniform value, the mean over the label tokens j = 1, 3, 5, 7 of 1/(j + 1):

    >>> import numpy as np
    >>> from phenom.nets import AttentionNetwork, CopyingTask
    >>> task = CopyingTask(N=4, L=16, D=63)
    >>> net = AttentionNetwork.init(task, "linear", seed=0)
    >>> batch = task.sample(256, np.random.default_rng(0))
    >>> from phenom.nets.readings import attention_readings
    >>> r = attention_readings(net, batch)
    >>> round(r["ila1"], 2), round((1 / 2 + 1 / 4 + 1 / 6 + 1 / 8) / 4, 2)
    (0.26, 0.26)
    >>> bool(abs(r["gamma"]) < 0.05 and abs(r["alpha"]) < 0.2)
    True
    """
    N, _ = _check(net, batch, absent=False)
    _, cache = net.astype(np.float64).forward(batch)
    A1, a2 = cache["A1"], cache["a2"]
    labels = np.arange(1, 2 * N, 2)
    correct = batch.context_labels == batch.answer[:, None]  # (n, N)
    on_labels = a2[:, labels]
    a_correct = float(np.mean(np.sum(on_labels * correct, axis=1)))
    a_other = float(np.sum(on_labels * ~correct) / np.sum(~correct))
    a_rest = float(np.mean(np.delete(a2, labels, axis=1)))
    ila1 = float(np.mean(A1[:, labels, labels - 1]))
    alpha_y = float(np.log(a_correct / a_other))
    return {"gamma": float(np.log(a_other / a_rest)), "alpha_y": alpha_y, "alpha": alpha_y / ila1, "ila1": ila1}


def logit_routes(net, batch) -> dict[str, np.ndarray]:
    """The target's logits split by route at ``net``'s weights (float64).

    The routes are ``residual`` (n, L) = W x_T, ``direct`` (n, L) = W V1 Σ_k A1_Tk x_k, ``gain``
    (n, T, L) = W V2 x1_j (what token j gives at attention 1) and the layer-2 attention ``a2``
    (n, T): the network's logits are ``residual + direct + (a2[..., None] * gain).sum(1)``.

    Parameters
    ----------
    net : AttentionNetwork
        A network with the linear read-out.
    batch : SequenceBatch
        Sequences of the copying task with N >= 2 pairs (n sequences of T = 2N + 1 tokens).

    Returns
    -------
    dict of str to ndarray
        ``residual``, ``direct``, ``gain`` and ``a2`` as above.

    Raises
    ------
    ValueError
        If the read-out is not linear or N < 2.

    Examples
    --------
    The routes add up to the network's own logits:

    >>> import numpy as np
    >>> from phenom.nets import AttentionNetwork, CopyingTask
    >>> task = CopyingTask(N=4, L=16, D=63)
    >>> net = AttentionNetwork.init(task, "linear", seed=0)
    >>> batch = task.sample(256, np.random.default_rng(0))
    >>> from phenom.nets.readings import logit_routes
    >>> parts = logit_routes(net, batch)
    >>> parts["gain"].shape, parts["a2"].shape
    ((256, 9, 16), (256, 9))
    >>> logits, _ = net.astype(np.float64).forward(batch)
    >>> rebuilt = parts["residual"] + parts["direct"] + (parts["a2"][..., None] * parts["gain"]).sum(1)
    >>> bool(np.allclose(rebuilt, logits))
    True
    """
    _check(net, batch, absent=False)
    work = net.astype(np.float64)
    p = work.weights
    _, cache = work.forward(batch)
    A1, a2 = cache["A1"], cache["a2"]
    X = np.asarray(batch.tokens, dtype=np.float64)
    X1 = X + (A1 @ X) @ p["V1"].T  # every token after layer 1
    readout2 = p["W"] @ p["V2"]  # (L, d)
    return {
        "residual": X[:, -1] @ p["W"].T,
        "direct": ((A1[:, -1, :, None] * X).sum(axis=1) @ p["V1"].T) @ p["W"].T,
        "gain": X1 @ readout2.T,
        "a2": a2,
    }


def _margins(values: np.ndarray, batch, L: int) -> np.ndarray:
    """(n, N): each in-context label's value of ``values`` (n, L) over the mean of the absent labels'."""
    n, N = batch.context_labels.shape
    absent = np.ones((n, L), dtype=bool)
    absent[np.arange(n)[:, None], batch.context_labels] = False
    baseline = np.sum(values * absent, axis=1) / (L - N)
    return np.take_along_axis(values, batch.context_labels, axis=1) - baseline[:, None]


def readout_readings(net, batch) -> dict[str, float]:
    """ρ, ξ_m, ρ/ξ_m, the in-context labels' mean margin and its routes, from the logits.

    The exact decomposition of the logits (:func:`logit_routes`, module docstring) at fixed
    weights; each margin is an in-context label's logit over the mean of the absent labels'.

    Parameters
    ----------
    net : AttentionNetwork
        A network with the linear read-out and L > N labels.
    batch : SequenceBatch
        Sequences of the copying task with N >= 2 pairs.

    Returns
    -------
    dict of str to float
        ``rho`` (ρ, the mean margin not through the label's own token), ``xi_m`` (ξ_m, the mean
        margin a label's own token gives at attention 1), ``rho_over_xi_m``, ``margin`` (the mean
        margin) and the mean of each route of :data:`ROUTES`, which sum to ``margin``.

    Raises
    ------
    ValueError
        If the read-out is not linear, N < 2 or L <= N.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets import AttentionNetwork, CopyingTask
    >>> task = CopyingTask(N=4, L=16, D=63)
    >>> net = AttentionNetwork.init(task, "linear", seed=0)
    >>> batch = task.sample(256, np.random.default_rng(0))
    >>> from phenom.nets.readings import ROUTES, readout_readings
    >>> r = readout_readings(net, batch)
    >>> abs(r["margin"] - sum(r[k] for k in ROUTES)) < 1e-12
    True
    >>> abs(r["margin"] - (r["rho"] + r["own_token"])) < 1e-12
    True
    """
    N, L = _check(net, batch, absent=True)
    parts = logit_routes(net, batch)
    a2, gain = parts["a2"], parts["gain"]
    label_tok, pairs = np.arange(1, 2 * N, 2), np.arange(N)
    # gains[:, j, k]: the margin of in-context label k that token j gives at attention 1.
    gains = np.stack([_margins(gain[:, j], batch, L) for j in range(a2.shape[1])], axis=1)  # (n, T, N)
    per_token = a2[..., None] * gains
    g = gains[:, label_tok, pairs]  # (n, N): each label's own token
    own = per_token[:, label_tok, pairs]
    on_labels = per_token[:, label_tok].sum(axis=1) - own
    items = per_token[:, np.arange(0, 2 * N, 2)].sum(axis=1)
    routes = {
        "own_token": own,
        "label_tokens": on_labels,
        "item_tokens": items,
        "target_token": per_token[:, -1],
        "direct": _margins(parts["direct"], batch, L),
        "residual": _margins(parts["residual"], batch, L),
    }
    margin = sum(routes.values())
    xi_m, rho = float(np.mean(g)), float(np.mean(margin - own))
    return {
        "rho": rho,
        "xi_m": xi_m,
        "rho_over_xi_m": rho / xi_m,
        "margin": float(np.mean(margin)),
        **{k: float(np.mean(v)) for k, v in routes.items()},
    }
