"""The attention network restricted to the three phenomenological parameters (β, α, ξ).

A real :class:`~phenom.nets.attention.AttentionNetwork` forward pass, with weights that only
β, α, ξ set and tokens with orthogonal one-hot embeddings. The residual stream has four blocks:

    [ content (N items, then L labels) | position (2N+1) | buffer 1 | buffer 2 ]

- layer 1: (K x_j)·(Q x_i) = β [pos_j = pos_i − 1] (Q shifts the position one-hot back by one,
  scaled by β; K reads positions); V copies content into buffer 1;
- layer 2: (K x_j)·(Q x_t) = α ⟨content_t, buffer1_j⟩; V copies content into buffer 2;
- classifier: logit of label ℓ = ξ · (buffer 2's weight on label ℓ's content).

Its expected loss over the task is :func:`phenom.induction.exact.derive_exact`'s closed form; tests
show the two agree to 1e-10.
"""

from __future__ import annotations

import numpy as np

from phenom import _validate
from phenom.nets.attention import AttentionNetwork

__all__ = ["MinimalNetwork"]


class MinimalNetwork:
    """Minimal network for N pairs and L labels; ``network(β, α, ξ)`` builds its weights.

    Its :meth:`loss` is the exact expected loss of the phenomenological model at (β, α, ξ),
    computed by a real :class:`~phenom.nets.attention.AttentionNetwork` forward pass on the N
    sequences of :meth:`batch`.

    Parameters
    ----------
    N : int, default 8
        Item–label pairs in context, >= 1.
    L : int, default 32
        Labels, >= N.

    Examples
    --------
    At β = α = ξ = 0 every logit is 0 and the loss is log L; elsewhere the network's loss is
    :func:`~phenom.induction.exact.derive_exact`'s closed form:

    >>> import math
    >>> from phenom.induction.exact import derive_exact
    >>> from phenom.nets.minimal import MinimalNetwork
    >>> minimal = MinimalNetwork(N=2, L=4)
    >>> minimal.loss(0.0, 0.0, 0.0) == math.log(4)
    True
    >>> exact = derive_exact(2, 4)
    >>> value = {"beta": 1.0, "alpha": 2.0, "xi": 3.0}
    >>> closed_form = float(exact.subs({s: value[s.name] for s in exact.free_symbols}))
    >>> abs(minimal.loss(1.0, 2.0, 3.0) - closed_form) < 1e-10
    True
    """

    def __init__(self, N: int = 8, L: int = 32):
        self.N, self.L = _validate.pairs(N, L)
        self.C = self.N + self.L  # content one-hots: items, then labels
        self.T = 2 * self.N + 1
        self.d = 3 * self.C + self.T
        self._content = slice(0, self.C)
        self._position = slice(self.C, self.C + self.T)
        self._buffer1 = slice(self.C + self.T, 2 * self.C + self.T)
        self._buffer2 = slice(2 * self.C + self.T, self.d)

    def network(self, beta: float, alpha: float, xi: float) -> AttentionNetwork:
        """The float64 attention network whose weights only β, α and ξ set (module docstring)."""
        C, T, d = self.C, self.T, self.d
        eye = np.eye(C)
        w = {name: np.zeros((d, d)) for name in ("Q1", "K1", "V1", "Q2", "K2", "V2")}
        pos = self._position
        w["K1"][pos, pos] = np.eye(T)
        w["Q1"][pos, pos] = beta * np.eye(T, k=1)  # e_p ↦ β e_{p−1}
        w["V1"][self._buffer1, self._content] = eye
        w["K2"][self._content, self._buffer1] = eye  # buffer 1 read in content coordinates
        w["Q2"][self._content, self._content] = alpha * eye
        w["V2"][self._buffer2, self._content] = eye
        W = np.zeros((self.L, d))
        W[np.arange(self.L), self._buffer2.start + self.N + np.arange(self.L)] = xi  # label ℓ's slot
        w["W"] = W
        config = {"classifier": "linear", "d_model": d, "L": self.L, "dtype": "float64", "minimal": True}
        return AttentionNetwork(w, "linear", None, config)

    def batch(self):
        """The N sequences that make the expectation exact: target pair t = 0..N−1, pair k
        labelled k. Returns (tokens (N, T, d), answers (N,))."""
        N, C, T = self.N, self.C, self.T
        X = np.zeros((N, T, self.d))
        for t in range(N):
            for k in range(N):
                X[t, 2 * k, k] = 1.0  # item k
                X[t, 2 * k + 1, N + k] = 1.0  # its label
            X[t, T - 1, t] = 1.0  # the target: a copy of item t
            X[t, np.arange(T), C + np.arange(T)] = 1.0  # positions
        return X, np.arange(N)

    def loss(self, beta: float, alpha: float, xi: float) -> float:
        """Average cross-entropy over the N target positions: the exact expected loss."""
        X, answer = self.batch()
        logits, _ = self.network(beta, alpha, xi).forward(X)
        # −log p_t = log(1 + Σ_{k≠t} e^{l_k − l_t}): log-sum-exp with log1p keeps a tiny loss exact.
        gaps = logits - logits[np.arange(self.N), answer][:, None]
        gaps[np.arange(self.N), answer] = -np.inf
        top = np.maximum(gaps.max(axis=1), 0.0)
        rest = np.exp(gaps - top[:, None]).sum(axis=1)
        loss = np.where(top > 0, top + np.log(np.exp(-top) + rest), np.log1p(rest))
        return float(np.mean(loss))
