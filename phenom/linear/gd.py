"""K steps of (preconditioned) gradient descent on a sequence's own least-squares loss: the
baselines that K-layer linear attention is compared with (von Oswald et al., ICML 2023, Sec. 3;
Ahn et al., NeurIPS 2023, Thm. 1)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["pgd_predict", "best_step_size"]


def pgd_predict(batch, A: np.ndarray, steps: int, eta: float = 1.0) -> np.ndarray:
    """Predictions at each query after ``steps`` of w ← w − η A ∇L(w) from w = 0, where
    L(w) = (1/2N) Σ_i (wᵀx_i − y_i)² is the sequence's own least-squares loss."""
    N = batch.X.shape[1]
    w = np.zeros((len(batch), batch.X.shape[2]))
    for _ in range(steps):
        residual = np.einsum("bnd,bd->bn", batch.X, w) - batch.y
        grad = np.einsum("bnd,bn->bd", batch.X, residual) / N
        w = w - eta * grad @ A.T
    return np.einsum("bd,bd->b", w, batch.x_q)


def best_step_size(batch, A: np.ndarray, steps: int) -> tuple[float, float]:
    """(η, mean squared error) of the step size that minimises the error of ``steps`` PGD steps
    on ``batch`` (bounded search over log η)."""

    def error(log_eta):
        return float(np.mean((pgd_predict(batch, A, steps, np.exp(log_eta)) - batch.y_q) ** 2))

    best = minimize_scalar(error, bounds=(np.log(1e-3), np.log(10.0)), method="bounded")
    return float(np.exp(best.x)), float(best.fun)
