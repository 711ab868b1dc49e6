"""Independent references for the tests: the closed-form loss of Reddy (ICLR 2024)'s β, α, ξ model, typed by hand.

The loss is evaluated in mpmath at 50 significant digits (with log1p); its derivatives come from
sympy differentiating the hand-typed formula (not phenom's derivation), evaluated in mpmath at
400 digits because the formula's E − 1 cancels catastrophically when αy is tiny.
"""

from __future__ import annotations

import functools

import mpmath as mp
import numpy as np
import sympy as sp

DPS = 50
DPS_DERIVATIVES = 400  # E − 1 with E = exp(αy) and αy as small as 1e-300 needs ~320 digits
b, a, x, N, L = sp.symbols("beta alpha xi N L", real=True)


def canonical(N=N, L=L):
    """log(1 + (N−1)e^{−u} + (L−N)e^{−u'}) with y, u, u' as Reddy (ICLR 2024) defines them."""
    y = sp.exp(b) / (sp.exp(b) + N)
    E = sp.exp(a * y)
    u = x * (E - 1) / (E + 2 * N)
    u_prime = x * E / (E + 2 * N)
    return sp.log(1 + (N - 1) * sp.exp(-u) + (L - N) * sp.exp(-u_prime))


def mp_loss(beta, alpha, xi, n, labels):
    """High-precision loss, with log1p so that a loss of 1e-300 keeps all its digits."""
    with mp.workdps(DPS):
        beta, alpha, xi = (mp.mpf(float(v)) for v in (beta, alpha, xi))
        y = mp.exp(beta) / (mp.exp(beta) + n)
        E = mp.exp(alpha * y)
        u = xi * (E - 1) / (E + 2 * n)
        u_prime = xi * E / (E + 2 * n)
        return mp.log1p((n - 1) * mp.exp(-u) + (labels - n) * mp.exp(-u_prime))


def _gaps(N=N, L=L):
    """Logit gaps to the correct label, −u (N−1 labels in context) and −u' (L−N absent)."""
    y = sp.exp(b) / (sp.exp(b) + N)
    E = sp.exp(a * y)
    return [-x * (E - 1) / (E + 2 * N), -x * E / (E + 2 * N)]


@functools.cache
def _term_magnitudes():
    """The loss's derivatives are softmax averages of the gaps' derivatives:
    ∇loss = Σ_j P_j ∇d_j and ∇²loss = Σ_j P_j ∇²d_j + Cov_P(∇d). Floating point can only be
    asked to get them right to a few ulps of the size of those terms:
    Σ_j P_j |∇d_j| for the gradient and Σ_j P_j (|∇d_j|² + |∇²d_j|) for the Hessian."""
    theta = (b, a, x)
    gaps = _gaps()
    weights = [(N - 1) * sp.exp(gaps[0]), (L - N) * sp.exp(gaps[1])]
    Z = 1 + sum(weights)
    grads = [[sp.diff(d, v) for v in theta] for d in gaps]
    hess = [[[sp.diff(d, v, w) for w in theta] for v in theta] for d in gaps]
    g_scale = sum(wt / Z * sp.sqrt(sum(c**2 for c in g)) for wt, g in zip(weights, grads, strict=True))
    h_scale = sum(
        wt / Z * (sum(c**2 for c in g) + sp.Max(*[abs(e) for row in h for e in row]))
        for wt, g, h in zip(weights, grads, hess, strict=True)
    )
    return sp.lambdify((b, a, x, N, L), [g_scale, h_scale], modules="mpmath")


def mp_term_magnitudes(beta, alpha, xi, n, labels) -> tuple[float, float]:
    """(gradient scale, Hessian scale): see :func:`_term_magnitudes`."""
    with mp.workdps(DPS_DERIVATIVES):
        args = [mp.mpf(float(v)) for v in (beta, alpha, xi)] + [mp.mpf(n), mp.mpf(labels)]
        g, h = _term_magnitudes()(*args)
        return float(g), float(h)


@functools.cache
def _derivatives():
    f = canonical()
    grad = [f.diff(v) for v in (b, a, x)]
    hess = [[g.diff(v) for v in (b, a, x)] for g in grad]
    return (
        sp.lambdify((b, a, x, N, L), grad, modules="mpmath"),
        sp.lambdify((b, a, x, N, L), hess, modules="mpmath"),
    )


def mp_grad(beta, alpha, xi, n, labels) -> np.ndarray:
    with mp.workdps(DPS_DERIVATIVES):
        args = [mp.mpf(float(v)) for v in (beta, alpha, xi)] + [mp.mpf(n), mp.mpf(labels)]
        return np.array([float(g) for g in _derivatives()[0](*args)])


def mp_hessian(beta, alpha, xi, n, labels) -> np.ndarray:
    with mp.workdps(DPS_DERIVATIVES):
        args = [mp.mpf(float(v)) for v in (beta, alpha, xi)] + [mp.mpf(n), mp.mpf(labels)]
        return np.array([[float(h) for h in row] for row in _derivatives()[1](*args)])


def assert_loss_matches_mpmath(value, beta, alpha, xi, n, labels) -> None:
    """``value`` is the loss to 1e-12 relative, or (where the loss underflows) at most 1e-299."""
    ref = mp_loss(beta, alpha, xi, n, labels)
    if ref > 1e-300:
        assert abs(value - float(ref)) <= 1e-12 * float(ref), (value, float(ref))
    else:
        assert value <= 1e-299
