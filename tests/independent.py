"""Independent implementations for the tests of published numbers: none of them calls phenom.

- :class:`ReferenceFlow`: the β, α, ξ gradient flow dθ/dt = −C ∇loss of the hand-typed loss of
  Reddy (ICLR 2024) (``reference.canonical``, differentiated by sympy), integrated by scipy's
  DOP853 at rtol 1e-11, with its cliff (largest |∇loss|), level and parameter crossings;
- :func:`exact_minimal_loss`: the minimal network's exact expected loss (orthogonal one-hot
  embeddings, separate buffers) typed from its definition with plain numpy softmaxes;
- :func:`dense_forward`: the two-layer attention network on explicit token arrays, written
  from its equation x_i ← x_i + Σ_{j<=i} softmax_j((K x_j)·(Q x_i)) V x_j, in float64;
- :func:`interpolated_crossing`: the first step at which a curve reaches a level, linearly
  interpolated between evaluations;
- :func:`label_slot_sum_of_squares` and :func:`untrained_beta`: the time-scale model's C_β and
  start β₀, counted.
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import sympy as sp
from reference import a, b, canonical, x
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, minimize_scalar

POSITIONS = 65  # Reddy's 2·32 + 1 one-hot position slots (REFERENCE: tokens of 128 = 65 + 63 dims)


@functools.cache
def hand_loss(N: int, L: int):
    """The hand-typed loss and its sympy gradient at (N, L), as numpy functions of (β, α, ξ)."""
    expr = canonical(sp.Integer(N), sp.Integer(L))
    loss = sp.lambdify((b, a, x), expr, "numpy")
    grad = sp.lambdify((b, a, x), [expr.diff(v) for v in (b, a, x)], "numpy")
    return loss, grad


class ReferenceFlow:
    """dθ/dt = −C ∇loss(θ) at (N, L) from ``theta0``, by DOP853 with dense output to ``t_end``."""

    def __init__(self, N: int, L: int, t_end: float, theta0=(0.0, 0.0, 0.0), metric=(1.0, 1.0, 1.0)):
        self.N, self.L, self.t_end = N, L, float(t_end)
        self._loss, self._grad = hand_loss(N, L)
        C = np.asarray(metric, float)
        grad = self._grad
        self.sol = solve_ivp(
            lambda t, th: -C * np.array(grad(*th), float),
            (0.0, self.t_end),
            np.asarray(theta0, float),
            method="DOP853",
            rtol=1e-11,
            atol=1e-13,
            dense_output=True,
        )
        assert self.sol.success, self.sol.message

    def theta(self, t) -> np.ndarray:
        """θ at time(s) t: shape (3,) or (len(t), 3)."""
        return np.asarray(self.sol.sol(t)).T

    def loss(self, t) -> np.ndarray:
        return np.asarray(self._loss(*self.theta(t).T), float)

    def grad_norm(self, t) -> np.ndarray:
        th = self.theta(np.atleast_1d(t)).T
        g = np.array([np.broadcast_to(gk, th[0].shape) for gk in self._grad(*th)], float)
        return np.sqrt(np.sum(g * g, axis=0))

    def cliff(self, samples: int = 20001) -> float:
        """The time of the largest |∇loss| (an interior maximum, refined by Brent's method)."""
        t = np.linspace(0.0, self.t_end, samples)
        i = int(np.argmax(self.grad_norm(t)))
        assert 0 < i < samples - 1, "no interior maximum of |∇loss|"
        best = minimize_scalar(
            lambda s: -float(self.grad_norm(s)[0]),
            bounds=(t[i - 1], t[i + 1]),
            method="bounded",
            options={"xatol": 1e-10},
        )
        return float(best.x)

    def _first(self, f, level: float, samples: int = 20001) -> float:
        t = np.linspace(0.0, self.t_end, samples)
        v = f(t) - level
        i = int(np.flatnonzero(np.sign(v) != np.sign(v[0]))[0])
        return float(brentq(lambda s: float(f(np.array([s]))[0]) - level, t[i - 1], t[i], xtol=1e-12))

    def time_to_loss(self, level: float) -> float:
        return self._first(self.loss, level)

    def crossing(self, k: int, value: float) -> float:
        """The first time parameter k (0: β, 1: α, 2: ξ) reaches ``value``."""
        return self._first(lambda t: self.theta(t)[..., k], value)


def exact_minimal_loss(N: int, L: int, beta, alpha, xi) -> np.ndarray:
    """The exact expected loss of the network restricted to (β, α, ξ), from its definition, at
    points (β, α, ξ) that broadcast (real or complex: complex steps give exact derivatives).

    Tokens 0..2N: item k at 2k, its label at 2k + 1, the target (a copy of item t) at 2N; one-hot
    contents and positions, separate buffers. Layer 1: token i puts logit β on i − 1, 0 on every
    other j <= i, and writes the mixture of contents into buffer 1. Layer 2: the target's logit
    on token j is α·(the weight of item t's content in j's buffer 1); the target's own content
    is item t as well, so its own logit also counts its self-attention in layer 1. The classifier
    gives label k's logit ξ·(the target's layer-2 weight on token 2k + 1), 0 to the L − N absent
    labels. Averaged over the N target pairs."""
    beta, alpha, xi = np.broadcast_arrays(*(np.asarray(v) for v in (beta, alpha, xi)))
    dtype = np.result_type(beta, alpha, xi, float)
    T = 2 * N + 1
    A = np.zeros((*beta.shape, T, T), dtype)  # layer 1: A[..., i, j] for j <= i
    A[..., 0, 0] = 1.0
    for i in range(1, T):
        # e^β on the predecessor, e^0 = 1 on each of the other i tokens j <= i
        A[..., i, : i + 1] = 1.0 / (np.exp(beta)[..., None] + i)
        A[..., i, i - 1] = np.exp(beta) / (np.exp(beta) + i)
    losses = []
    for t in range(N):
        content_weight = A[..., :, 2 * t].copy()  # buffer 1 of token j holds A[j, 2t] of item t
        content_weight[..., T - 1] += A[..., T - 1, T - 1]  # the target is item t too
        e = np.exp(alpha[..., None] * content_weight)
        z = e / e.sum(axis=-1, keepdims=True)
        zeros = np.zeros((*beta.shape, L - N), dtype)
        logits = np.concatenate([xi[..., None] * z[..., 1 : 2 * N : 2], zeros], axis=-1)
        losses.append(np.log(np.sum(np.exp(logits), axis=-1)) - logits[..., t])
    return np.mean(losses, axis=0)


def exact_minimal_grad(N: int, L: int, theta: np.ndarray) -> np.ndarray:
    """∇ of :func:`exact_minimal_loss` at points θ (..., 3), by complex steps (exact to rounding)."""
    theta = np.asarray(theta, float)
    h = 1e-30
    out = np.empty(theta.shape)
    for k in range(3):
        shifted = theta.astype(complex)
        shifted[..., k] += 1j * h
        out[..., k] = exact_minimal_loss(N, L, *np.moveaxis(shifted, -1, 0)).imag / h
    return out


class ExactMinimalFlow(ReferenceFlow):
    """dθ/dt = −∇(exact minimal loss) from 0, by DOP853 (the interface of :class:`ReferenceFlow`)."""

    def __init__(self, N: int, L: int, t_end: float):
        self.N, self.L, self.t_end = N, L, float(t_end)
        self._loss = lambda *th: exact_minimal_loss(N, L, *th)
        self._grad = lambda *th: list(
            np.moveaxis(exact_minimal_grad(N, L, np.stack(np.broadcast_arrays(*th), -1)), -1, 0)
        )
        self.sol = solve_ivp(
            lambda t, th: -exact_minimal_grad(N, L, th),
            (0.0, self.t_end),
            np.zeros(3),
            method="DOP853",
            rtol=1e-11,
            atol=1e-13,
            dense_output=True,
        )
        assert self.sol.success, self.sol.message


def one_hot_tokens(batch) -> np.ndarray:
    """Explicit tokens (n, T, 65 + D): the one-hot position offset + i, then the content."""
    n, T, D = batch.content.shape
    X = np.zeros((n, T, POSITIONS + D))
    X[np.arange(n)[:, None], np.arange(T)[None, :], batch.offset[:, None] + np.arange(T)[None, :]] = 1.0
    X[..., POSITIONS:] = batch.content
    return X


def _attention_layer(X: np.ndarray, Q: np.ndarray, K: np.ndarray, V: np.ndarray):
    """x_i + Σ_{j<=i} softmax_j((K x_j)·(Q x_i)) V x_j for every token; also the attention."""
    q, k, v = X @ Q.T, X @ K.T, X @ V.T
    S = q @ np.swapaxes(k, 1, 2)  # S[n, i, j] = (Q x_i)·(K x_j)
    T = X.shape[1]
    S = np.where(np.tril(np.ones((T, T), dtype=bool)), S, -np.inf)
    S = S - S.max(axis=2, keepdims=True)
    E = np.exp(S)
    A = E / E.sum(axis=2, keepdims=True)
    return X + A @ v, A


def dense_forward(weights: dict, X: np.ndarray, ablate: str | None = None):
    """Logits (n, L) of the linear read-out of the target after two attention layers, in float64,
    with layer 1's attention (n, T, T) and the target's layer-2 attention (n, T). ``ablate``
    removes one layer's contribution to the residual stream."""
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    X1, A1 = _attention_layer(X, w["Q1"], w["K1"], w["V1"])
    if ablate == "layer1":
        X1 = X
    X2, A2 = _attention_layer(X1, w["Q2"], w["K2"], w["V2"])
    if ablate == "layer2":
        X2 = X1
    return X2[:, -1] @ w["W"].T, A1, A2[:, -1]


def interpolated_crossing(steps, values, level: float) -> float | None:
    """The first step at which ``values`` reach ``level``, linear between evaluations."""
    for i, v in enumerate(values):
        if v >= level:
            if i == 0:
                return float(steps[0])
            v0, s0 = values[i - 1], steps[i - 1]
            return float(s0 + (level - v0) / (v - v0) * (steps[i] - s0))
    return None


def label_slot_sum_of_squares(N: int) -> float:
    """Σ_p f_p² of the share f_p of label occurrences at each of the 65 position slots, counted
    over every (offset, pair): a sequence of 2N + 1 tokens starts at any of 65 − 2N offsets, and
    pair k's label sits at offset + 2k + 1."""
    counts = Counter(offset + 2 * k + 1 for offset in range(POSITIONS - 2 * N) for k in range(N))
    total = sum(counts.values())
    return sum((c / total) ** 2 for c in counts.values())


def untrained_beta(N: int) -> float:
    """β read off uniform layer-1 attention: the label at token 2k + 1 gives its item 1/(2k + 2),
    so ILA1 = y = (1/N) Σ_k 1/(2k + 2), and β = log(N y/(1 − y))."""
    y = sum(1 / (2 * k + 2) for k in range(N)) / N
    return float(np.log(N * y / (1 - y)))
