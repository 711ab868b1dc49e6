"""The symbolic identities behind linear attention as gradient descent, in sympy.

- :func:`derive_risk` averages the reduced predictor's squared error over explicit Gaussians
  (Isserlis' theorem, :mod:`phenom.linear._gaussian`), to check :func:`risk_formula`, the closed
  form of :mod:`phenom.linear.model`.
- :func:`lsa_layer`, :func:`von_oswald_weights` and :func:`preconditioner_weights` write one layer of
  linear self-attention and the weights that make it one step of gradient descent (von Oswald et
  al., ICML 2023, Prop. 1) or of preconditioned gradient descent (Ahn et al., NeurIPS 2023, Lemma 1);
  :func:`gd_prediction` is the step it should equal.
"""

from __future__ import annotations

import sympy as sp

from phenom.linear._gaussian import expectation

__all__ = [
    "risk_formula",
    "symbolic_matrices",
    "derive_risk",
    "lsa_layer",
    "von_oswald_weights",
    "preconditioner_weights",
    "gd_prediction",
]


def risk_formula(Gamma, Sigma, Omega, noise, N):
    """The matrix formula for R(Γ) with sympy (or numpy) matrices: see the module docstring."""
    M = (1 + sp.Rational(1) / N) * Sigma * Omega * Sigma + ((Omega * Sigma).trace() + noise) / N * Sigma
    return (
        (Gamma.T * Sigma * Gamma * M).trace()
        - 2 * (Sigma * Gamma * Sigma * Omega).trace()
        + (Sigma * Omega).trace()
        + noise
    )


def symbolic_matrices(d: int):
    """Symbols for Γ (general), Σ and Ω (symmetric) and σ² at dimension d."""
    Gamma = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"Gamma_{i}{j}", real=True))
    Sigma = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"Sigma_{min(i, j)}{max(i, j)}", real=True))
    Omega = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"Omega_{min(i, j)}{max(i, j)}", real=True))
    return Gamma, Sigma, Omega, sp.Symbol("sigma2", nonnegative=True)


def derive_risk(d: int, N: int) -> sp.Expr:
    """R(Γ) for concrete d and N by averaging the squared error over explicit Gaussians.

    Every x_i, w, ε_i and the query are symbols; Isserlis' theorem (:mod:`phenom.linear._gaussian`) takes
    the expectation one Gaussian vector at a time. The result is a polynomial in the entries of
    Γ, Σ, Ω (from :func:`symbolic_matrices`) and σ², to be compared with :func:`risk_formula`.
    """
    Gamma, Sigma, Omega, s2 = symbolic_matrices(d)
    X = [sp.Matrix([sp.Symbol(f"x_{i}{a}") for a in range(d)]) for i in range(N)]
    w = sp.Matrix([sp.Symbol(f"w_{a}") for a in range(d)])
    eps = [sp.Symbol(f"epsilon_{i}") for i in range(N + 1)]  # the last is the query's
    x_q = sp.Matrix([sp.Symbol(f"xq_{a}") for a in range(d)])
    y = [(w.T * X[i])[0] + eps[i] for i in range(N)]
    h = sum((y[i] * X[i] for i in range(N)), sp.zeros(d, 1)) / N
    error = (x_q.T * Gamma * h)[0] - (w.T * x_q)[0] - eps[N]
    r = expectation(error**2, list(x_q), Sigma)
    r = expectation(r, eps, s2 * sp.eye(N + 1))
    r = expectation(r, list(w), Omega)
    for x in X:
        r = expectation(r, list(x), Sigma)
    return r


def lsa_layer(Z: sp.Matrix, P: sp.Matrix, Q: sp.Matrix, n_context: int, scale=1) -> sp.Matrix:
    """One linear self-attention layer on tokens as columns of Z (the last column the query):
    ``Z + scale · P Z_ctx Z_ctxᵀ Q Z``, keys and values from the ``n_context`` context columns.
    Works on sympy and numpy matrices alike."""
    ctx = Z[:, :n_context]
    return Z + scale * (P * ctx * ctx.T * Q * Z if isinstance(Z, sp.MatrixBase) else P @ ctx @ ctx.T @ Q @ Z)


def von_oswald_weights(d: int, eta, W0=None):
    """von Oswald et al.'s construction: (P W_V, W_Kᵀ W_Q) for one GD step of size η from W0.

    W_K = W_Q = [[I, 0], [0, 0]], W_V = [[0, 0], [W0, −1]], P = (η/N)·I; only the products
    matter. The returned value matrix carries η; the layer's ``scale`` carries the 1/N.
    """
    W0 = sp.zeros(1, d) if W0 is None else W0
    W_KQ = sp.diag(sp.eye(d), 0)
    W_V = sp.zeros(d + 1, d + 1)
    W_V[d, :d] = W0
    W_V[d, d] = -1
    return eta * W_V, W_KQ.T * W_KQ


def preconditioner_weights(A: sp.Matrix):
    """Ahn et al.'s value P = [[0,0],[0,1]] and key-query Q = −[[A,0],[0,0]]: one PGD step with
    preconditioner Aᵀ (the read-out is −(query's y-slot), the sum normalised by 1/N)."""
    d = A.shape[0]
    P = sp.zeros(d + 1, d + 1)
    P[d, d] = 1
    return P, -sp.diag(A, 0)


def gd_prediction(X, y, x_q, steps: int, A, W0=None):
    """Prediction at x_q after ``steps`` of w ← w − A ∇L(w), L(w) = (1/2N) Σ (wᵀx_i − y_i)²."""
    N, d = len(X), X[0].shape[0]
    w = sp.zeros(d, 1) if W0 is None else W0.T
    for _ in range(steps):
        grad = sum((((w.T * X[i])[0] - y[i]) * X[i] for i in range(N)), sp.zeros(d, 1)) / N
        w = w - A * grad
    return (w.T * x_q)[0]
