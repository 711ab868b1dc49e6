"""The small definitions a check recomputes with, written from the papers and the README, not
imported from the jobs: when a curve reaches a level, the β, α, ξ model's loss (Reddy, ICLR 2024),
the effective parameters of a network's attention, peaks and crossings of sampled curves,
Spearman's correlation, and the risk of linear attention's reduced predictor (Ahn et al. 2023)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np
from scipy import stats
from scipy.interpolate import CubicSpline

from phenom.figures.check._base import floats


def first_reach(x: np.ndarray, y: np.ndarray, level: float, *, interpolate: bool = True) -> float | None:
    """The first x at which y >= level, linearly interpolated from the sample before it
    (``interpolate``) or the sample itself; None if y never reaches it. y has no NaN."""
    hit = np.flatnonzero(y >= level)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0 or not interpolate:
        return float(x[i])
    return float(np.interp(level, [y[i - 1], y[i]], [x[i - 1], x[i]]))


def _reach_skipping(x, y, level: float) -> float | None:
    """:func:`first_reach` over the defined values only (an undefined evaluation is left out)."""
    x, y = np.asarray(x, float), floats(y)
    ok = np.isfinite(y)
    return first_reach(x[ok], y[ok], level)


def _icl_level(N: int) -> float:
    """ICL accuracy halfway from 1/N (a guess among the labels in context) to 1 (Reddy, ICLR 2024)."""
    return (1 + 1 / N) / 2


def icl_transition(step, icl_acc, N: int) -> float | None:
    """The step at which ICL accuracy first passes halfway from 1/N to 1 (interpolated)."""
    return _reach_skipping(step, icl_acc, _icl_level(N))


def rise_by(x, y, by: float = 1.0) -> float | None:
    """When y is first ``by`` above its first value, interpolated; None if any value is undefined."""
    v = floats(y)
    if not np.isfinite(v).all() or v.size == 0:
        return None
    return first_reach(np.asarray(x, float), v, v[0] + by)


def halfway_rise(x, y) -> float | None:
    """When y first reaches halfway from its first value to its largest, interpolated; None if
    any value is undefined or y never exceeds its first value (a head score's rise)."""
    v = floats(y)
    if v.size == 0 or not np.isfinite(v).all() or v.max() <= v[0]:
        return None
    return first_reach(np.asarray(x, float), v, v[0] + 0.5 * (v.max() - v[0]))


def sampled_rise(x, y) -> float | None:
    """The first sample at which y is 1 above its first value (no interpolation; undefined values
    left out); None if the first value is undefined."""
    v = floats(y)
    if v.size == 0 or not np.isfinite(v[0]):
        return None
    ok = np.isfinite(v)
    return first_reach(np.asarray(x, float)[ok], v[ok], v[0] + 1.0, interpolate=False)


def mean_field_loss(beta, alpha, xi, N: int, L: int) -> np.ndarray:
    """Cross-entropy of the β, α, ξ model (Reddy, ICLR 2024): log(1 + (N−1)e^{−u} + (L−N)e^{−u'}),
    u = ξ(e^{αy} − 1)/(e^{αy} + 2N), u' = ξ e^{αy}/(e^{αy} + 2N), y = e^β/(e^β + N)."""
    beta, alpha, xi = (np.asarray(v, float) for v in (beta, alpha, xi))
    y = 1.0 / (1.0 + N * np.exp(-beta))
    a = alpha * y
    small = np.exp(-np.abs(a))  # e^{−|αy|}: no overflow either way
    correct = np.where(a >= 0, (1 - small) / (1 + 2 * N * small), (small - 1) / (small + 2 * N))
    absent = np.where(a >= 0, 1 / (1 + 2 * N * small), small / (small + 2 * N))
    u, u_absent = xi * correct, xi * absent
    terms = [np.zeros_like(u)]
    if N > 1:
        terms.append(np.log(N - 1) - u)
    if L > N:
        terms.append(np.log(L - N) - u_absent)
    return np.logaddexp.reduce(np.stack(terms), axis=0)


def mean_field_grad_norm(theta: np.ndarray, N: int, L: int) -> np.ndarray:
    """|∇loss| of :func:`mean_field_loss` by central differences (step 1e-6 · (1 + |θ_k|))."""
    theta = np.asarray(theta, float)
    grad = np.empty_like(theta)
    for k in range(3):
        h = 1e-6 * (1 + np.abs(theta[:, k]))
        up, down = theta.copy(), theta.copy()
        up[:, k] += h
        down[:, k] -= h
        grad[:, k] = (
            mean_field_loss(up[:, 0], up[:, 1], up[:, 2], N, L)
            - mean_field_loss(down[:, 0], down[:, 1], down[:, 2], N, L)
        ) / (2 * h)
    return np.linalg.norm(grad, axis=1)


def effective_parameters(ila1, tila2, margin, N: int, L: int) -> tuple[float | None, float | None, float | None]:
    """The mean-field (β, α, ξ) of a network's measures: y = ILA1 = e^β/(e^β + N),
    z = TILA2 = e^{αy}/(e^{αy} + 2N), margin = ξ z (over the absent labels); at L = N, where no
    label is absent, margin = ξ (z − z') with z' = (1 − z)/2N, undefined while z − z' <= 0.01."""
    if ila1 is None or tila2 is None or margin is None:
        return None, None, None
    y, z = float(ila1), float(tila2)
    beta = float(np.log(N * y / (1 - y)))
    alpha = float(np.log(2 * N * z / (1 - z)) / y)
    if L > N:
        xi = float(margin) / z if z > 0 else None
    else:
        gap = z - (1 - z) / (2 * N)
        xi = float(margin) / gap if gap > 0.01 else None
    return beta, alpha, xi


def spline_peak(t: np.ndarray, y: np.ndarray) -> float | None:
    """Where a sampled curve peaks inside its span, refined on a cubic spline through the samples;
    None if its largest sample is at either end (no interior peak) or the curve is flat."""
    i = int(np.argmax(y))
    if i == 0 or i == len(y) - 1 or y[i] == y[0]:
        return None
    fine = np.linspace(t[i - 1], t[i + 1], 4001)
    return float(fine[np.argmax(CubicSpline(t, y)(fine))])


def spline_crossing(t: np.ndarray, y: np.ndarray, level: float, *, falling: bool) -> float | None:
    """The first time a sampled curve reaches ``level`` (from above when ``falling``), the root
    of a cubic spline through the samples in the interval where the samples cross."""
    s = -y if falling else y
    lvl = -level if falling else level
    if s[0] >= lvl:
        return float(t[0])
    hit = np.flatnonzero(s >= lvl)
    if hit.size == 0:
        return None
    i = int(hit[0])
    roots = [r for r in CubicSpline(t, s - lvl).roots(extrapolate=False) if t[i - 1] <= r <= t[i]]
    return float(roots[0]) if roots else float(np.interp(lvl, [s[i - 1], s[i]], [t[i - 1], t[i]]))


def spearman_rho(x, y) -> float | None:
    """Spearman's rank correlation; None (undefined) below three points or for a constant sequence."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(stats.spearmanr(x, y).statistic)


def linear_risk(Gamma, Sigma, Omega, N: int, noise: float) -> np.ndarray:
    """Risk E(x_qᵀΓh − y_q)² of the reduced linear-attention predictor ŷ = x_qᵀΓh,
    h = (1/N) Σ_i y_i x_i, x ~ N(0, Σ), w ~ N(0, Ω), label noise of variance σ² (``noise``).

    With A = ΓᵀΣΓ and Isserlis' E[S A S] = N²ΣAΣ + NΣAΣ + N tr(AΣ)Σ for S = XᵀX:
    R = tr(Ω[(1 + 1/N)ΣAΣ + tr(AΣ)Σ/N − ΣΓᵀΣ − ΣΓΣ + Σ]) + σ² tr(AΣ)/N + σ².
    (d = 2, N = 4, Σ = Ω = I, σ = 0: R(γI) = 3.5γ² − 4γ + 2, so R(I) = 3/2 and R(4/7 I) = 6/7.)"""
    G = np.asarray(Gamma, float)
    S, W = np.asarray(Sigma, float), np.asarray(Omega, float)
    Gt = np.swapaxes(G, -1, -2)
    A = Gt @ S @ G
    trAS = np.trace(A @ S, axis1=-2, axis2=-1)
    inner = (1 + 1 / N) * S @ A @ S + trAS[..., None, None] * S / N - S @ Gt @ S - S @ G @ S + S
    return np.trace(W @ inner, axis1=-2, axis2=-1) + noise * trAS / N + noise


def optimal_preconditioner(Sigma, Omega, N: int, noise: float) -> np.ndarray:
    """The Γ that makes the gradient of :func:`linear_risk` zero, from the linear equations of its
    d² entries (the risk is quadratic in Γ: its Hessian and gradient at 0 by polarisation);
    Ahn et al.'s ((1 + 1/N)Σ + tr Σ/N · I)⁻¹ when Ω = I and σ = 0."""
    S = np.asarray(Sigma, float)
    d = S.shape[0]
    basis = np.eye(d * d).reshape(d * d, d, d)  # vec(Γ) = γ, row by row
    r0 = float(linear_risk(np.zeros((d, d)), S, Omega, N, noise))
    # R(γ) = γᵀHγ − 2bᵀγ + r0: R(e_i) − r0 = H_ii − 2b_i, R(−e_i) − r0 = H_ii + 2b_i,
    # R(e_i + e_j) − r0 = (R(e_i) − r0) + (R(e_j) − r0) + 2H_ij; the minimiser solves Hγ = b.
    single = linear_risk(basis, S, Omega, N, noise) - r0
    minus = linear_risk(-basis, S, Omega, N, noise) - r0
    pairs = linear_risk(basis[:, None] + basis[None, :], S, Omega, N, noise) - r0
    H = (pairs - single[:, None] - single[None, :]) / 2
    b = (minus - single) / 4
    return np.linalg.solve(H, b).reshape(d, d)


def digest(setting: Mapping) -> str:
    """A setting's digest: the first 12 hex digits of the sha256 of its sorted JSON."""
    return hashlib.sha256(json.dumps(setting, sort_keys=True, default=str).encode()).hexdigest()[:12]
