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
    """``n`` regression sequences: contexts, queries and the task vectors that generated them.

    Made by :func:`sample_regression`; ``len(batch)`` is n.

    Attributes
    ----------
    X : ndarray, shape (n, N, d)
        Context inputs x_i.
    y : ndarray, shape (n, N)
        Context labels y_i = wᵀx_i + ε_i.
    x_q : ndarray, shape (n, d)
        Query inputs.
    y_q : ndarray, shape (n,)
        Query labels.
    w : ndarray, shape (n, d)
        Each sequence's task vector.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom import LinearICL
    >>> batch = LinearICL(d=2, N=4).sample(3, np.random.default_rng(0))
    >>> len(batch), batch.X.shape, batch.tokens().shape
    (3, (3, 4, 2), (3, 3, 5))
    >>> Z = batch.tokens()
    >>> bool(np.all(Z[:, 2, :4] == batch.y) and np.all(Z[:, 2, 4] == 0))
    True
    """

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
    """Sample ``n`` sequences of a :class:`~phenom.linear.model.LinearICL` task.

    Parameters
    ----------
    task : LinearICL
        The task: d, N, Σ, Ω and the noise variance σ².
    n : int >= 0
        Sequences to draw.
    rng : numpy.random.Generator
        The random stream.

    Returns
    -------
    RegressionBatch
        n sequences, each with its own w ~ N(0, Ω).

    Examples
    --------
    Without noise every label is exactly wᵀx:

    >>> import numpy as np
    >>> from phenom import LinearICL
    >>> from phenom.linear.task import sample_regression
    >>> batch = sample_regression(LinearICL(d=2, N=4), 5, np.random.default_rng(1))
    >>> bool(np.allclose(np.einsum("nid,nd->ni", batch.X, batch.w), batch.y))
    True
    >>> noisy = sample_regression(LinearICL(d=2, N=4, noise=0.25), 20_000, np.random.default_rng(1))
    >>> round(float(np.var(noisy.y_q - np.einsum("nd,nd->n", noisy.x_q, noisy.w))), 2)
    0.25
    """
    d, N = task.d, task.N
    L_sigma = np.linalg.cholesky(task.Sigma)
    L_omega = np.linalg.cholesky(task.Omega)
    w = rng.standard_normal((n, d)) @ L_omega.T
    x = (rng.standard_normal((n * (N + 1), d)) @ L_sigma.T).reshape(n, N + 1, d)  # one product, not one per sequence
    noise = np.sqrt(task.noise) * rng.standard_normal((n, N + 1))
    y = np.einsum("nid,nd->ni", x, w) + noise
    return RegressionBatch(X=x[:, :N], y=y[:, :N], x_q=x[:, N], y_q=y[:, N], w=w)
