"""K-layer linear self-attention (LSA) for in-context linear regression, in numpy, by hand.

Tokens are the columns of Z ∈ R^{(d+1)×(N+1)}: (x_i, y_i) for the N context pairs, then the
query (x_q, 0). Layer ℓ, with full projection-value P_ℓ and key-query Q_ℓ ∈ R^{(d+1)×(d+1)}:

    Z ← Z + (1/N) · P_ℓ (Z_ctx Z_ctxᵀ) Q_ℓ Z,      Z_ctx = the N context columns,

(Ahn et al. 2023; Zhang, Frei, Bartlett 2024). The prediction is the query's y-slot after the
last layer (Zhang–Frei–Bartlett's sign; von Oswald's and Ahn's constructions read −y-slot).
For one layer, the part of the prediction linear in the labels is x_qᵀ Γ h, h = (1/N) Σ y_i x_i,

    Γ_eff = P[d, d] · Q[:d, :d]ᵀ + Q[d, :d]ᵀ P[d, :d]     (:meth:`~LinearAttention.effective_preconditioner`);

the remaining terms do not involve y linearly and vanish at the optimum.

Loss: mean squared error (no ½), so SGD with step lr follows dθ/dt = −∇R at t = lr · step.
Forward and backward are written by hand (the backward checked against finite differences in
float64); each layer runs as a compiled loop over the batch (:mod:`._lsa_compiled`), the products
of every sequence's tiny matrices summed in the order numpy's stacked products sum them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phenom import _rng, _validate
from phenom.linear.task import RegressionBatch
from phenom.nets._lsa_compiled import layer_backward, layer_forward

__all__ = ["LinearAttention"]


@dataclass
class LinearAttention:
    """K linear self-attention layers acting on (d+1)-dimensional tokens, with N context pairs.

    Build one with :meth:`init` (a small random start) or :meth:`factored` (the flow's
    parametrisation); :func:`~phenom.nets.training.train` trains it in place on a
    :class:`~phenom.linear.model.LinearICL` task.

    Parameters
    ----------
    P : array_like
        (K, d+1, d+1): each layer's projection-value matrix; finite, d >= 1.
    Q : array_like
        (K, d+1, d+1): each layer's key-query matrix, of P's shape; finite.
    N : int
        Context pairs per sequence, >= 1.
    seed : int or None, default None
        The initialisation seed, recorded in a training run's configuration.
    config : dict, default empty
        How the network was built (recorded in a training run's configuration).

    Examples
    --------
    With u = 1 and U = Γ*ᵀ, the one-layer network predicts x_qᵀ Γ* h, h = (1/N) Σ y_i x_i: for
    Σ = Ω = I, d = 2 and N = 4, Γ* = I · N/(N + 1 + d) = 4/7 I and its risk is d − tr Γ* = 6/7.

    >>> import numpy as np
    >>> from phenom.linear.model import LinearICL
    >>> from phenom.nets.lsa import LinearAttention
    >>> task = LinearICL(d=2, N=4)
    >>> star = task.optimal_preconditioner()
    >>> net = LinearAttention.factored(1.0, star.T, N=4)
    >>> batch = task.sample(100, np.random.default_rng(0))
    >>> h = np.mean(batch.y[:, :, None] * batch.X, axis=1)
    >>> bool(np.allclose(net.predict(batch), np.einsum("nd,de,ne->n", batch.x_q, 4 / 7 * np.eye(2), h)))
    True
    >>> m = net.metrics(batch, task)
    >>> round(m["risk_gamma"], 6) == round(6 / 7, 6), m["gamma_dist"]
    (True, 0.0)
    >>> deep = LinearAttention.init(d=2, N=4, layers=3, seed=0)
    >>> deep.layers, deep.d, deep.forward(batch.tokens())[0].shape
    (3, 2, (100,))
    """

    P: np.ndarray  # (K, d+1, d+1) projection-value
    Q: np.ndarray  # (K, d+1, d+1) key-query
    N: int
    seed: int | None = None
    config: dict = field(default_factory=dict)

    def __post_init__(self):
        self.P = _validate.finite_array("P", self.P)
        self.Q = _validate.finite_array("Q", self.Q)
        if self.P.ndim != 3 or self.P.shape[1] != self.P.shape[2] or self.P.shape[1] < 2:
            raise ValueError(f"P must have shape (layers, d+1, d+1), got {self.P.shape}")
        if self.Q.shape != self.P.shape:
            raise ValueError(f"Q must have the shape of P {self.P.shape}, got {self.Q.shape}")
        self.N = _validate.count("N", self.N)

    def check_task(self, task) -> None:
        """A ValueError unless ``task`` has this network's d and N."""
        if (task.d, task.N) != (self.d, self.N):
            raise ValueError(
                f"task has d = {task.d}, N = {task.N}; the network was built for d = {self.d}, N = {self.N}"
            )

    @property
    def d(self) -> int:
        return self.P.shape[-1] - 1

    @property
    def layers(self) -> int:
        return self.P.shape[0]

    @classmethod
    def init(cls, d: int, N: int, layers: int = 1, *, scale: float = 0.1, seed: int = 0) -> LinearAttention:
        """A random start: every entry of P and Q i.i.d. N(0, scale²/(d+1)).

        Parameters
        ----------
        d : int
            Input dimension, >= 1 (tokens have d + 1 numbers).
        N : int
            Context pairs, >= 1.
        layers : int, default 1
            Number of layers K, >= 1.
        scale : float, default 0.1
            The entries' standard deviation times sqrt(d + 1).
        seed : int, default 0
            Seed of the initialisation's random stream.

        Returns
        -------
        LinearAttention
            A new network.
        """
        d, N = _validate.count("d", d), _validate.count("N", N)
        layers = _validate.count("layers", layers)
        rng = _rng.stream(seed, "init")
        std = scale / np.sqrt(d + 1)
        P = std * rng.standard_normal((layers, d + 1, d + 1))
        Q = std * rng.standard_normal((layers, d + 1, d + 1))
        return cls(P, Q, N, seed, {"init": "gaussian", "scale": scale, "layers": layers, "d": d, "N": N})

    @classmethod
    def factored(cls, u: float, U: np.ndarray, N: int) -> LinearAttention:
        """One layer whose only nonzero blocks are P[d, d] = u and Q[:d, :d] = U, so Γ_eff = u Uᵀ
        (the parametrisation of :meth:`phenom.linear.model.LinearICL.factored_flow`)."""
        U = _validate.finite_array("U", U)
        if U.ndim != 2 or U.shape[0] != U.shape[1]:
            raise ValueError(f"U must be a square (d, d) matrix, got shape {U.shape}")
        d = U.shape[0]
        P = np.zeros((1, d + 1, d + 1))
        Q = np.zeros((1, d + 1, d + 1))
        P[0, d, d] = u
        Q[0, :d, :d] = U
        return cls(P, Q, N, None, {"init": "factored", "u": float(u), "layers": 1, "d": d, "N": N})

    def params(self) -> dict[str, np.ndarray]:
        """The trainable arrays ``P`` and ``Q`` (updated in place by the optimisers)."""
        return {"P": self.P, "Q": self.Q}

    # -- forward and backward -----------------------------------------------------------------

    def forward(self, Z: np.ndarray):
        """Predictions (B,) for tokens Z (B, d+1, N+1), and the cache for :meth:`backward`.

        The layers are compiled loops over arrays that hold the batch last (:mod:`._lsa_compiled`:
        numpy's products of stacks of tiny matrices, entry for entry)."""
        N = self.N
        if Z.ndim != 3 or Z.shape[1:] != (self.d + 1, N + 1):
            raise ValueError(f"Z must have shape (n, {self.d + 1}, {N + 1}), got {Z.shape}")
        m, B = self.d + 1, len(Z)
        Z = np.ascontiguousarray(np.moveaxis(np.asarray(Z, dtype=np.float64), 0, -1))  # (m, N+1, B)
        cache = []
        for layer, (P, Q) in enumerate(zip(self.P, self.Q, strict=True)):
            A, C, Z_next = np.empty((m, m, B)), np.empty((m, m, B)), np.empty_like(Z)
            layer_forward(Z, P, Q, N, A, C, Z_next, layer == self.layers - 1)  # the last: the prediction only
            cache.append((Z, A, C))
            Z = Z_next
        return Z[self.d, N].copy(), cache

    def backward(self, dy: np.ndarray, cache) -> dict[str, np.ndarray]:
        """Gradients of a loss with ∂loss/∂prediction = ``dy`` (B,)."""
        N, d = self.N, self.d
        G = np.zeros_like(cache[-1][0])
        G[d, N] = dy
        dP, dQ = np.zeros_like(self.P), np.zeros_like(self.Q)
        for layer in reversed(range(self.layers)):
            Z, A, C = cache[layer]
            G_prev = np.empty_like(G)
            # Z_next = Z + C Z / N with C = P A Q and A = Z_ctx Z_ctxᵀ (symmetric).
            layer_backward(G, Z, A, C, self.P[layer], self.Q[layer], N, dP[layer], dQ[layer], G_prev, layer == 0)
            G = G_prev
        return {"P": dP, "Q": dQ}

    def predict(self, batch: RegressionBatch) -> np.ndarray:
        """Predictions (n,) of the query labels of a :class:`~phenom.linear.task.RegressionBatch`."""
        return self.forward(batch.tokens())[0]

    def loss_and_grads(self, batch: RegressionBatch) -> tuple[float, dict[str, np.ndarray]]:
        """Mean squared error on ``batch`` and its gradients."""
        pred, cache = self.forward(batch.tokens())
        err = pred - batch.y_q
        return float(np.mean(err**2)), self.backward(2 * err / len(err), cache)

    # -- reading the weights ------------------------------------------------------------------

    def effective_preconditioner(self) -> np.ndarray:
        """Γ_eff of a one-layer network: its prediction's part linear in the labels is x_qᵀ Γ_eff h."""
        if self.layers != 1:
            raise ValueError(f"effective_preconditioner needs layers = 1, the network has {self.layers}")
        d, P, Q = self.d, self.P[0], self.Q[0]
        return P[d, d] * Q[:d, :d].T + np.outer(Q[d, :d], P[d, :d])

    def metrics(self, batch: RegressionBatch, task) -> dict[str, float]:
        """Held-out squared error; for one layer also the exact risk of Γ_eff and its relative
        Frobenius distance from Γ*."""
        pred = self.predict(batch)
        out = {"eval_loss": float(np.mean((pred - batch.y_q) ** 2))}
        if self.layers == 1:
            G, star = self.effective_preconditioner(), task.optimal_preconditioner()
            out["risk_gamma"] = float(task.risk(G))
            out["gamma_dist"] = float(np.linalg.norm(G - star) / np.linalg.norm(star))
        return out
