"""In-context linear regression (Garg et al. 2022; von Oswald et al., ICML 2023), sampled vectorised
and seeded: for each sequence a fresh task vector w ~ N(0, Ω), N context inputs and one query
x ~ N(0, Σ), labels y = wᵀx + ε, ε ~ N(0, σ²) (:func:`sample_regression`, used by
:class:`phenom.linear.model.LinearICL`). The sequence tasks of the attention networks are in
:mod:`phenom.nets.tasks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RegressionBatch", "sample_regression"]


@dataclass(frozen=True)
class RegressionBatch:
    """``n`` regression sequences: contexts ``X`` (n, N, d), ``y`` (n, N); queries ``x_q`` (n, d),
    ``y_q`` (n,); and the task vectors ``w`` (n, d) that generated them."""

    X: np.ndarray
    y: np.ndarray
    x_q: np.ndarray
    y_q: np.ndarray
    w: np.ndarray

    def __len__(self) -> int:
        return len(self.y_q)

    def tokens(self) -> np.ndarray:
        """Token matrices Z of shape (n, d+1, N+1): columns (x_i, y_i), then the query (x_q, 0)."""
        n, N, d = self.X.shape
        Z = np.zeros((n, d + 1, N + 1))
        Z[:, :d, :N] = np.swapaxes(self.X, 1, 2)
        Z[:, d, :N] = self.y
        Z[:, :d, N] = self.x_q
        return Z


def sample_regression(task, n: int, rng: np.random.Generator) -> RegressionBatch:
    """Sample ``n`` sequences of a :class:`~phenom.linear.model.LinearICL` task."""
    d, N = task.d, task.N
    L_sigma = np.linalg.cholesky(task.Sigma)
    L_omega = np.linalg.cholesky(task.Omega)
    w = rng.standard_normal((n, d)) @ L_omega.T
    x = (rng.standard_normal((n * (N + 1), d)) @ L_sigma.T).reshape(n, N + 1, d)  # one product, not one per sequence
    noise = np.sqrt(task.noise) * rng.standard_normal((n, N + 1))
    y = np.einsum("nid,nd->ni", x, w) + noise
    return RegressionBatch(X=x[:, :N], y=y[:, :N], x_q=x[:, N], y_q=y[:, N], w=w)
