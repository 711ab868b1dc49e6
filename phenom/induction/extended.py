r"""The extended phenomenological model: the β, α, ξ model (Reddy, ICLR 2024) with a layer-2 label
bias γ, an attention-independent label-presence read-out ρ, read-outs that grow as products of
factors, and the embedding width D in the rates.

**Loss.** Derived from the same three softmaxes as :mod:`phenom.induction.derivation`, with two
more logits (a target, N item–label pairs, L labels):

1. Layer 1: ``y = e^β / (e^β + N)`` (unchanged).
2. Layer 2, the target's logits: ``αy + γ`` on the correct label's token, ``γ`` on each of the
   N − 1 other label tokens, 0 on the N items and on the target itself. With
   ``Z = e^{αy+γ} + (N − 1) e^γ + N + 1``: attention ``z = e^{αy+γ}/Z`` on the correct label,
   ``z_ℓ = e^γ/Z`` on each other label token, ``z_0 = 1/Z`` on each other token.
3. Classifier over L labels: ``ξz + ρ`` for the correct label, ``ξz_ℓ + ρ`` for each of the
   N − 1 other in-context labels, 0 for the L − N absent ones.

    loss = log(1 + (N − 1) e^{−ξ(z − z_ℓ)} + (L − N) e^{−(ξz + ρ)})

At γ = ρ = 0, Z = e^{αy} + 2N, z and z_ℓ are the β, α, ξ model's z and z', and every function is
that model's (tests prove it with sympy for symbolic N, L). γ moves layer-2 attention onto every
label token, the correct one or not; ρ is the part of a label's logit that does not pass through
layer-2 attention (the target's own layer-1 mixture read by the read-out).

**Flow on factors.** Each reading is a product of two factor vectors of the network's weights,
θ = p·q, and gradient descent acts on the factors, each at its data share r (as counted in
:mod:`phenom.induction.timescales`): ṗ = r_p q g, q̇ = r_q p g with g = −∂loss/∂θ. The Gram
entries (θ, |p|², |q|²) then close:

    θ̇ = (r_p |q|² + r_q |p|²) g,   d|p|²/dt = 2 r_p θ g,   d|q|²/dt = 2 r_q θ g,

so a reading moves at a rate that grows with its factors' norms (ξ grows faster than linearly
on the plateau, as the network's does). ξ and ρ share the read-out factor u (label ℓ's read-out
row): ξ = u·v with v = V2 l (V2's copy of the label vector), ρ = κ u·w with w = V1 l (V1's copy,
which reaches the read-out through the target's layer-1 mixture with weight κ). Their six Gram
entries (ξ, σ = u·w, |u|², |v|², |w|², τ = v·w) close the same way (``_readout_rhs``).

**Coefficients, counted** (:func:`coefficients`; none is fitted to the network):

- κ = 1/(2N + 1): the target's layer-1 attention on one label token while layer-1 attention is
  uniform over the target's 2N + 1 visible tokens (the untrained network's).
- Initial factor norms, from the initialisation N(0, 1/D) of the d × d attention matrices,
  d = P + D (P = 65 position slots): for a unit vector x, E|Mx|² = Σ_ij E M_ij² x_j² = d/D = s,
  the initial attention scale ``s = (P + D)/D``. A factor that is one attention matrix applied to
  a unit token direction (Q1 e_p, K1 e_{p−1}, Q2 c, K2 l, V2 l, V1 l) starts at |·|² = s; α's key
  factor K2 V1 c, two matrices deep, at s². The read-out row W_ℓ (d entries of variance
  1/128) starts at |u|² = d/128.
- Rates of the factors (shares of the data pushing each, as in the time-scale model): β's two
  position factors C_β = Σ_p f_p² each; α's query factor 1; γ's two factors 1 (every sequence
  has a target and label tokens); V2 l and V1 l 1 (one map shared by all labels); the read-out
  row 1/L (the sequences whose answer is ℓ). A factor made of a chain of two matrices moves as
  both matrices do: for q = K V c, (dK) V c + K (dV) c = r g (|Vc|² + K Kᵀ) p ≈ 2 s r g p at
  the initialisation (K Kᵀ ≈ s I), so α's key factor has rate 2s (tested on random matrices).

So s enters the rates of products of s-scaled factors: an attention reading's initial rate is
2 C_β s (β), 3 s² (α), 2 s (γ); ξ's is s/L + d/128, nearly independent of D (the read-out row
gains what V2 loses). The flow starts from the untrained network's readings: β₀ of
:func:`~phenom.induction.timescales.initial_state`, every other reading 0, the factors
orthogonal. Network steps map to this flow's time through one constant, not fitted here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from phenom import _validate
from phenom.induction._softmax import NUMPY_FUNCTIONS, nll, prob, prob_difference
from phenom.induction.derivation import L_sym, N_sym, alpha, beta, xi
from phenom.induction.timescales import POSITIONS, initial_state, time_scales

__all__ = [
    "PARAMETERS",
    "THETA",
    "READOUT_WIDTH",
    "ExtendedDerivation",
    "derive_extended",
    "ExtendedModel",
    "Coefficients",
    "coefficients",
    "FactorFlow",
    "factor_flow",
    "gamma",
    "rho",
]

PARAMETERS = ("beta", "alpha", "gamma", "xi", "rho")
"""Order of the extended model's readings everywhere (gradients, flows)."""

gamma, rho = sp.symbols("gamma rho", real=True)
THETA = (beta, alpha, gamma, xi, rho)

READOUT_WIDTH = 128
"""The read-out's initial variance is 1/READOUT_WIDTH in the networks described (their hidden
width, which a test checks against the network's; kept here so the theory imports no network)."""


@dataclass(frozen=True)
class ExtendedDerivation:
    """Every stage of the extended model as sympy expressions in β, α, γ, ξ, ρ (and N, L)."""

    y: sp.Expr
    """layer-1 attention of a token on its predecessor"""
    z: sp.Expr
    """layer-2 attention of the target on the correct label's token"""
    z_label: sp.Expr
    """layer-2 attention of the target on one other label token (N >= 2)"""
    loss: sp.Expr
    p_correct: sp.Expr
    p_context: sp.Expr

    @functools.cached_property
    def grad(self) -> sp.Matrix:
        """∂loss/∂(β, α, γ, ξ, ρ) as a 5×1 matrix."""
        return sp.Matrix([self.loss.diff(v) for v in THETA])


def derive_extended(N=N_sym, L=L_sym, *, stable: bool = False) -> ExtendedDerivation:
    """Build the extended model from its softmaxes (literal with ``stable=False``, log-sum-exp
    primitives with ``stable=True``), as :func:`phenom.induction.derivation.derive` does.

    >>> d = derive_extended(2, 4)
    >>> d.loss.subs({beta: 0, alpha: 0, gamma: 0, xi: 0, rho: 0}).simplify()
    log(4)
    """
    softmax = functools.partial(prob, stable=stable)
    y = softmax(beta, [(N, 0)])
    a = alpha * y
    # Layer 2: correct label token (αy + γ), N − 1 other label tokens (γ), N + 1 other tokens (0).
    z = softmax(a + gamma, [(N - 1, gamma), (N + 1, 0)])
    # One other label token against the correct one, the N − 2 others and the N + 1 non-labels
    # (N = 1 has none: its count N − 2 is never used, the classifier counts N − 1 = 0 of them).
    z_label = softmax(gamma, [(1, a + gamma), (N - 2, gamma), (N + 1, 0)])
    margin = prob_difference(a + gamma, gamma, [(N - 2, gamma), (N + 1, 0)], stable=stable)  # z − z_ℓ
    correct = xi * z + rho
    rivals = [(N - 1, xi * z_label + rho), (L - N, 0)]
    gaps = [-xi * margin, -correct]
    in_context = correct + nll(correct, rivals[:1], stable=stable, gaps=gaps[:1])
    return ExtendedDerivation(
        y=y,
        z=z,
        z_label=z_label,
        loss=nll(correct, rivals, stable=stable, gaps=gaps),
        p_correct=softmax(correct, rivals, gaps=gaps),
        p_context=softmax(in_context, rivals[1:]),
    )


_NUMERIC = ("loss", "grad", "p_correct", "p_context", "attention")


@functools.cache
def _numeric() -> dict:
    """The stable derivation (symbolic N, L) lambdified with common-subexpression elimination."""
    d = derive_extended(N_sym, L_sym, stable=True)
    exprs = {
        "loss": d.loss,
        "grad": list(d.grad),
        "p_correct": d.p_correct,
        "p_context": d.p_context,
        "attention": [d.y, d.z, d.z_label],
    }
    modules = [NUMPY_FUNCTIONS, "numpy"]
    return {k: sp.lambdify((*THETA, N_sym, L_sym), exprs[k], modules=modules, cse=True) for k in _NUMERIC}


def _stack(parts, shape) -> np.ndarray:
    return np.stack([np.broadcast_to(np.asarray(p, dtype=float), shape) for p in parts], axis=-1)


class ExtendedModel:
    """The extended model (module docstring) for N pairs in context and L >= N labels.

    Numeric methods take β, α, γ, ξ, ρ as numbers or arrays that broadcast together.

    >>> m = ExtendedModel(8, 32)
    >>> round(float(m.loss(0, 0, 0, 0, 0)), 12) == round(float(np.log(32)), 12)
    True
    """

    def __init__(self, N: int = 8, L: int = 32):
        self.N, self.L = _validate.pairs(N, L)

    def __repr__(self) -> str:
        return f"ExtendedModel(N={self.N}, L={self.L})"

    @functools.cached_property
    def derivation(self) -> ExtendedDerivation:
        """The model's stages as literal sympy expressions at this N, L."""
        return derive_extended(self.N, self.L, stable=False)

    def _call(self, name: str, values) -> tuple[tuple, object]:
        arrays = [_validate.finite_array(n, v) for n, v in zip(PARAMETERS, values, strict=True)]
        arrays = _validate.broadcast(dict(zip(PARAMETERS, arrays, strict=True)))
        return arrays[0].shape, _numeric()[name](*arrays, self.N, self.L)

    def _scalar(self, name: str, values) -> np.ndarray:
        shape, out = self._call(name, values)
        return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()

    def loss(self, beta, alpha, gamma, xi, rho) -> np.ndarray:
        """Cross-entropy of the correct label."""
        return self._scalar("loss", (beta, alpha, gamma, xi, rho))

    def grad(self, beta, alpha, gamma, xi, rho) -> np.ndarray:
        """∂loss/∂(β, α, γ, ξ, ρ), shape (..., 5)."""
        shape, out = self._call("grad", (beta, alpha, gamma, xi, rho))
        return _stack(out, shape)

    def p_correct(self, beta, alpha, gamma, xi, rho) -> np.ndarray:
        """Probability of the correct label (= exp(−loss))."""
        return self._scalar("p_correct", (beta, alpha, gamma, xi, rho))

    def p_context(self, beta, alpha, gamma, xi, rho) -> np.ndarray:
        """Probability on the N labels present in the context."""
        return self._scalar("p_context", (beta, alpha, gamma, xi, rho))

    def attention(self, beta, alpha, gamma) -> np.ndarray:
        """(y, z, z_ℓ), shape (..., 3): layer-1 attention on the predecessor, layer-2 attention on
        the correct label's token and on one other label token (z_ℓ meaningful for N >= 2)."""
        shape, out = self._call("attention", (beta, alpha, gamma, 0.0, 0.0))
        return _stack(out, shape)


# ---------------------------------------------------------------------------------------------
# Counted coefficients and the flow on factors.


@dataclass(frozen=True)
class Coefficients:
    """The flow's counted coefficients at (N, L, D) (module docstring)."""

    s: float
    """initial attention scale (P + D)/D: |M x|² of a unit x under one attention matrix"""
    kappa: float
    """ρ = κ u·w: the target's layer-1 attention on one label token, 1/(2N + 1)"""
    rates: dict[str, tuple[float, ...]]
    """factor rates (r_p, r_q) of β, α, γ; for the read-out block (r_u, r_v, r_w) under "readout\""""
    norms: dict[str, tuple[float, ...]]
    """initial factor norms² (|p|², |q|²) of β, α, γ; (|u|², |v|², |w|²) under "readout\""""


def attention_scale(D: int) -> float:
    """s = (P + D)/D: E|Mx|² for a unit x and a (P + D)-square M of N(0, 1/D) entries."""
    D = _validate.count("D", D)
    return (POSITIONS + D) / D


def coefficients(N: int, L: int, D: int = 63) -> Coefficients:
    """Every coefficient of the factor flow at (N, L, D), counted (module docstring).

    >>> c = coefficients(8, 32, 63)
    >>> round(c.s, 4), round(c.kappa, 4), c.norms["readout"][0]
    (2.0317, 0.0588, 1.0)
    """
    N, L = _validate.pairs(N, L)
    D = _validate.count("D", D, minimum=L, bound=f"L = {L} (L label vectors need L dimensions)")
    s = attention_scale(D)
    c_beta = float(time_scales(N, L)[0])
    readout = (POSITIONS + D) / READOUT_WIDTH
    return Coefficients(
        s=s,
        kappa=1.0 / (2 * N + 1),
        rates={"beta": (c_beta, c_beta), "alpha": (1.0, 2.0 * s), "gamma": (1.0, 1.0), "readout": (1.0 / L, 1.0, 1.0)},
        norms={"beta": (s, s), "alpha": (s, s * s), "gamma": (s, s), "readout": (readout, s, s)},
    )


_ATTENTION = ("beta", "alpha", "gamma")
# State layout: (θ, |p|², |q|²) for β, α, γ, then the read-out block (ξ, σ, |u|², |v|², |w|², τ).
_STATE = 15


def _readout_rhs(block: np.ndarray, g_xi: float, g_sigma: float, rates) -> np.ndarray:
    """d/dt of the read-out Gram entries (ξ = u·v, σ = u·w, U = |u|², V = |v|², W = |w|², τ = v·w)
    under u̇ = r_u (v g_ξ + w g_σ), v̇ = r_v u g_ξ, ẇ = r_w u g_σ."""
    x, sig, U, V, W, tau = block
    ru, rv, rw = rates
    return np.array(
        [
            ru * (V * g_xi + tau * g_sigma) + rv * U * g_xi,
            ru * (tau * g_xi + W * g_sigma) + rw * U * g_sigma,
            2 * ru * (x * g_xi + sig * g_sigma),
            2 * rv * x * g_xi,
            2 * rw * sig * g_sigma,
            rv * g_xi * sig + rw * g_sigma * x,
        ]
    )


def _readings(state: np.ndarray, kappa: float) -> np.ndarray:
    """(β, α, γ, ξ, ρ) of flow states (..., 15)."""
    return np.stack([state[..., 0], state[..., 3], state[..., 6], state[..., 9], kappa * state[..., 10]], axis=-1)


@dataclass(frozen=True)
class FactorFlow:
    """A flow on factors: times, the 15 Gram entries, the readings (β, α, γ, ξ, ρ) and the loss."""

    t: np.ndarray
    state: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    coefficients: Coefficients
    N: int
    L: int

    def cliff(self) -> float:
        """The time of the steepest fall of the loss on the flow's time grid."""
        slope = np.gradient(self.loss, self.t)
        return float(self.t[int(np.argmin(slope))])


def factor_flow(N: int, L: int, D: int = 63, *, t_max: float = 2e3, n_times: int = 2001, lr: float = 1.0):
    """The extended model's flow on factors (module docstring) from the untrained network's state,
    integrated by scipy's DOP853 and sampled at ``n_times`` equally spaced times in [0, t_max].

    >>> f = factor_flow(8, 32, t_max=50.0, n_times=11)
    >>> bool(f.theta[-1, 3] > 0 and f.loss[-1] < f.loss[0])
    True
    """
    coef = coefficients(N, L, D)
    t_max = _validate.positive("t_max", t_max)
    n_times = _validate.count("n_times", n_times, minimum=2)
    lr = _validate.positive("lr", lr)
    model = ExtendedModel(N, L)
    start = np.zeros(_STATE)
    start[0] = initial_state(N)[0]
    for k, name in enumerate(_ATTENTION):
        start[3 * k + 1 : 3 * k + 3] = coef.norms[name]
    start[11:14] = coef.norms["readout"]

    def rhs(_t, state):
        g = -lr * model.grad(*_readings(state, coef.kappa))
        out = np.empty(_STATE)
        for k, name in enumerate(_ATTENTION):
            theta, P, Q = state[3 * k : 3 * k + 3]
            rp, rq = coef.rates[name]
            out[3 * k : 3 * k + 3] = ((rp * Q + rq * P) * g[k], 2 * rp * theta * g[k], 2 * rq * theta * g[k])
        out[9:] = _readout_rhs(state[9:], g[3], coef.kappa * g[4], coef.rates["readout"])
        return out

    t = np.linspace(0.0, t_max, n_times)
    sol = solve_ivp(rhs, (0.0, t_max), start, method="DOP853", t_eval=t, rtol=1e-9, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"factor flow failed: {sol.message}")
    state = sol.y.T
    theta = _readings(state, coef.kappa)
    loss = model.loss(*np.moveaxis(theta, -1, 0))
    return FactorFlow(t=sol.t, state=state, theta=theta, loss=loss, coefficients=coef, N=N, L=L)
