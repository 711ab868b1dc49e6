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
    """The matrix formula for R(Γ), in sympy matrices (:mod:`phenom.linear.model` derives it).

    R(Γ) = tr(Γᵀ Σ Γ M) − 2 tr(Σ Γ Σ Ω) + tr(Σ Ω) + σ², M = (1 + 1/N) Σ Ω Σ + (tr(Ω Σ) + σ²)/N · Σ.
    The products are written with ``*``, so the matrices are sympy's (numpy arrays would
    multiply elementwise).

    Parameters
    ----------
    Gamma : sympy.Matrix, (d, d)
        The preconditioner Γ.
    Sigma : sympy.Matrix, (d, d)
        The input covariance Σ.
    Omega : sympy.Matrix, (d, d)
        The task-vector covariance Ω.
    noise : number or sympy expression
        The label-noise variance σ².
    N : int or sympy expression
        Context pairs.

    Returns
    -------
    sympy.Expr
        R(Γ).

    Examples
    --------
    At Σ = Ω = I, σ = 0, d = 2, N = 4: R = 2 at Γ = 0, 3/2 at Γ = I, and the optimum 6/7 at
    Γ* = 4/7 · I:

    >>> import sympy as sp
    >>> from phenom.linear.symbolic import risk_formula
    >>> I = sp.eye(2)
    >>> [risk_formula(G, I, I, 0, 4) for G in (sp.zeros(2), I, sp.Rational(4, 7) * I)]
    [2, 3/2, 6/7]
    """
    M = (1 + sp.Rational(1) / N) * Sigma * Omega * Sigma + ((Omega * Sigma).trace() + noise) / N * Sigma
    return (
        (Gamma.T * Sigma * Gamma * M).trace()
        - 2 * (Sigma * Gamma * Sigma * Omega).trace()
        + (Sigma * Omega).trace()
        + noise
    )


def symbolic_matrices(d: int):
    """Symbols for Γ (general), Σ and Ω (symmetric) and σ² at dimension d.

    Parameters
    ----------
    d : int >= 1
        The dimension.

    Returns
    -------
    tuple
        (Γ, Σ, Ω, σ²): three d × d sympy matrices of real symbols (Σ and Ω share the symbol of
        entries (i, j) and (j, i)) and a nonnegative symbol ``sigma2``.

    Examples
    --------
    >>> from phenom.linear.symbolic import symbolic_matrices
    >>> Gamma, Sigma, Omega, noise = symbolic_matrices(2)
    >>> Gamma
    Matrix([
    [Gamma_00, Gamma_01],
    [Gamma_10, Gamma_11]])
    >>> Sigma == Sigma.T, Gamma == Gamma.T, noise
    (True, False, sigma2)
    """
    Gamma = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"Gamma_{i}{j}", real=True))
    Sigma = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"Sigma_{min(i, j)}{max(i, j)}", real=True))
    Omega = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"Omega_{min(i, j)}{max(i, j)}", real=True))
    return Gamma, Sigma, Omega, sp.Symbol("sigma2", nonnegative=True)


def derive_risk(d: int, N: int) -> sp.Expr:
    """R(Γ) for concrete d and N by averaging the squared error over explicit Gaussians.

    Every x_i, w, ε_i and the query are symbols; Isserlis' theorem (:mod:`phenom.linear._gaussian`) takes
    the expectation one Gaussian vector at a time. The result is a polynomial in the entries of
    Γ, Σ, Ω (from :func:`symbolic_matrices`) and σ², to be compared with :func:`risk_formula`.

    Parameters
    ----------
    d : int >= 1
        Input dimension (the work grows fast: d = 1 takes a fraction of a second, d = 2, N = 2
        about 5 s).
    N : int >= 1
        Context pairs.

    Returns
    -------
    sympy.Expr
        E(x_qᵀ Γ h − y_q)² as a polynomial.

    Examples
    --------
    At d = 1, N = 2 the average over the Gaussians is the closed form, term for term; at
    Σ = Ω = 1 without noise it is 2Γ² − 2Γ + 1, least at Γ = 1/2:

    >>> import sympy as sp
    >>> from phenom.linear.symbolic import derive_risk, risk_formula, symbolic_matrices
    >>> risk = derive_risk(1, 2)
    >>> Gamma, Sigma, Omega, noise = symbolic_matrices(1)
    >>> sp.expand(risk - risk_formula(Gamma, Sigma, Omega, noise, 2))
    0
    >>> risk.subs({Sigma[0, 0]: 1, Omega[0, 0]: 1, noise: 0})
    2*Gamma_00**2 - 2*Gamma_00 + 1
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
    """One linear self-attention layer on tokens as columns of Z (the last column the query).

    ``Z + scale · P Z_ctx Z_ctxᵀ Q Z``, keys and values from the ``n_context`` context columns.
    Works on sympy and numpy matrices alike.

    Parameters
    ----------
    Z : sympy.Matrix or ndarray, (d + 1, n_context + 1)
        Tokens as columns: (x_i, y_i) for the context, then (x_q, 0).
    P : sympy.Matrix or ndarray, (d + 1, d + 1)
        The value (projection) matrix.
    Q : sympy.Matrix or ndarray, (d + 1, d + 1)
        The key-query matrix.
    n_context : int
        Context columns that serve as keys and values.
    scale : number or sympy expression
        The layer's normalisation (1/N in the constructions below; default 1).

    Returns
    -------
    sympy.Matrix or ndarray
        The updated tokens, the type of ``Z``.

    Examples
    --------
    With Ahn et al.'s weights (:func:`preconditioner_weights`) at d = 1, the query's y-slot
    becomes minus one preconditioned gradient step's prediction a · x_q · (1/N) Σ x_i y_i:

    >>> import numpy as np
    >>> from phenom.linear.symbolic import lsa_layer
    >>> Z = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 0.0]])  # x = 1, 2 with y = x; query x_q = 3
    >>> P, Q = np.array([[0.0, 0.0], [0.0, 1.0]]), np.array([[-0.5, 0.0], [0.0, 0.0]])  # a = 0.5
    >>> lsa_layer(Z, P, Q, n_context=2, scale=1 / 2)[1].tolist()
    [-0.25, -0.5, -3.75]
    """
    ctx = Z[:, :n_context]
    return Z + scale * (P * ctx * ctx.T * Q * Z if isinstance(Z, sp.MatrixBase) else P @ ctx @ ctx.T @ Q @ Z)


def von_oswald_weights(d: int, eta, W0=None):
    """von Oswald et al.'s construction: (P W_V, W_Kᵀ W_Q) for one GD step of size η from W0.

    W_K = W_Q = [[I, 0], [0, 0]], W_V = [[0, 0], [W0, −1]], P = (η/N)·I; only the products
    matter. The returned value matrix carries η; the layer's ``scale`` carries the 1/N.

    Parameters
    ----------
    d : int >= 1
        Input dimension.
    eta : number or sympy expression
        The step size η.
    W0 : sympy.Matrix (1, d), optional
        The starting weights (None: 0).

    Returns
    -------
    tuple of two sympy.Matrix
        (η W_V, W_Kᵀ W_Q), each (d + 1) × (d + 1), the ``P`` and ``Q`` of :func:`lsa_layer`.

    Examples
    --------
    One layer with these weights and ``scale`` 1/N writes minus the prediction of one gradient
    step (:func:`gd_prediction`) into the query's y-slot, symbolically (d = 1, N = 2):

    >>> import sympy as sp
    >>> from phenom.linear.symbolic import gd_prediction, lsa_layer, von_oswald_weights
    >>> x0, x1, q, y0, y1, eta = sp.symbols("x0 x1 q y0 y1 eta")
    >>> P, Q = von_oswald_weights(1, eta)
    >>> P, Q
    (Matrix([
    [0,    0],
    [0, -eta]]), Matrix([
    [1, 0],
    [0, 0]]))
    >>> Z = sp.Matrix([[x0, x1, q], [y0, y1, 0]])
    >>> layer = lsa_layer(Z, P, Q, n_context=2, scale=sp.Rational(1, 2))
    >>> step = gd_prediction([sp.Matrix([x0]), sp.Matrix([x1])], [y0, y1], sp.Matrix([q]), 1, eta * sp.eye(1))
    >>> sp.factor(step), sp.expand(layer[1, 2] + step)
    (eta*q*(x0*y0 + x1*y1)/2, 0)
    """
    W0 = sp.zeros(1, d) if W0 is None else W0
    W_KQ = sp.diag(sp.eye(d), 0)
    W_V = sp.zeros(d + 1, d + 1)
    W_V[d, :d] = W0
    W_V[d, d] = -1
    return eta * W_V, W_KQ.T * W_KQ


def preconditioner_weights(A: sp.Matrix):
    """Ahn et al.'s value P = [[0,0],[0,1]] and key-query Q = −[[A,0],[0,0]]: one PGD step.

    The step has preconditioner Aᵀ (the read-out is −(query's y-slot), the sum normalised by 1/N).

    Parameters
    ----------
    A : sympy.Matrix, (d, d)
        The key-query block.

    Returns
    -------
    tuple of two sympy.Matrix
        (P, Q), each (d + 1) × (d + 1), for :func:`lsa_layer`.

    Examples
    --------
    At d = 2 with a general A, one layer equals one step with preconditioner Aᵀ, symbolically:

    >>> import sympy as sp
    >>> from phenom.linear.symbolic import gd_prediction, lsa_layer, preconditioner_weights
    >>> A = sp.Matrix(2, 2, sp.symbols("a:4"))
    >>> P, Q = preconditioner_weights(A)
    >>> Q
    Matrix([
    [-a0, -a1, 0],
    [-a2, -a3, 0],
    [  0,   0, 0]])
    >>> X = [sp.Matrix(sp.symbols(f"x{i}_:2")) for i in range(3)]
    >>> y, x_q = sp.symbols("y:3"), sp.Matrix(sp.symbols("q:2"))
    >>> Z = sp.Matrix.hstack(*[x.col_join(sp.Matrix([v])) for x, v in zip(X, y)], x_q.col_join(sp.zeros(1, 1)))
    >>> layer = lsa_layer(Z, P, Q, n_context=3, scale=sp.Rational(1, 3))
    >>> sp.expand(-layer[2, 3] - gd_prediction(X, y, x_q, 1, A.T))
    0
    """
    d = A.shape[0]
    P = sp.zeros(d + 1, d + 1)
    P[d, d] = 1
    return P, -sp.diag(A, 0)


def gd_prediction(X, y, x_q, steps: int, A, W0=None):
    """Prediction at x_q after ``steps`` of w ← w − A ∇L(w), L(w) = (1/2N) Σ (wᵀx_i − y_i)².

    Parameters
    ----------
    X : list of sympy.Matrix (d, 1)
        The N context inputs.
    y : sequence
        The N context labels.
    x_q : sympy.Matrix (d, 1)
        The query input.
    steps : int >= 0
        Gradient steps.
    A : sympy.Matrix (d, d)
        The preconditioner (the step size included).
    W0 : sympy.Matrix (1, d), optional
        The starting weights (None: 0).

    Returns
    -------
    sympy.Expr
        wᵀ x_q after the steps.

    Examples
    --------
    At d = 1, N = 2 with step size η: one step predicts η q (x₀y₀ + x₁y₁)/2, and the second step
    corrects it by the context's curvature:

    >>> import sympy as sp
    >>> from phenom.linear.symbolic import gd_prediction
    >>> x0, x1, q, y0, y1, eta = sp.symbols("x0 x1 q y0 y1 eta")
    >>> X, y = [sp.Matrix([x0]), sp.Matrix([x1])], [y0, y1]
    >>> sp.factor(gd_prediction(X, y, sp.Matrix([q]), 1, eta * sp.eye(1)))
    eta*q*(x0*y0 + x1*y1)/2
    >>> sp.factor(gd_prediction(X, y, sp.Matrix([q]), 2, eta * sp.eye(1)))
    -eta*q*(x0*y0 + x1*y1)*(eta*x0**2 + eta*x1**2 - 4)/4
    """
    N, d = len(X), X[0].shape[0]
    w = sp.zeros(d, 1) if W0 is None else W0.T
    for _ in range(steps):
        grad = sum((((w.T * X[i])[0] - y[i]) * X[i] for i in range(N)), sp.zeros(d, 1)) / N
        w = w - A * grad
    return (w.T * x_q)[0]
