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
row), which meets three copies of the label vector l:

- ξ = u·v, v = V2 l: the label's own token, through layer 2 (weighted by the attention z);
- σ = u·w, w = V1 l: the target's own layer-1 mixture, read directly by the read-out, where l
  has weight κ;
- μ = u·m, m = V2 V1 l: the layer-1 memory of l in every later token (items and labels after
  it, and the target), through layer 2, with total weight κ_m;

and ρ = κ σ + κ_m μ. With the factors as the columns of X = [u, v, w, m], gradient descent is
Ẋ = X A (A₀ᵢ = rᵢ gᵢ, Aᵢ₀ = r_u gᵢ for i = v, w, m, with g_v = g_ξ, g_w = κ g_ρ, g_m = κ_m g_ρ), so
their Gram matrix G = XᵀX closes: Ġ = AᵀG + GA (``_readout_rhs``).

**Coefficients, counted** (:func:`coefficients`; none is fitted to the network):

- κ = 1/(2N + 1): the target's layer-1 attention on one label token while layer-1 attention is
  uniform over the target's 2N + 1 visible tokens (the untrained network's).
- κ_m = (1/(2N + 1)) · (1/N) Σ_k Σ_{j = 2k+2}^{2N} 1/(j + 1): with both layers uniform, token j
  (0-based; label k at 2k + 1, the target at 2N) holds l_k with weight 1/(j + 1) in its layer-1
  mixture, and the target reads each token with weight 1/(2N + 1) in layer 2; the mean over the N
  labels. Both are the untrained network's weights and stay so on the plateau as long as
  attention stays near uniform (the network's does: Reddy, ICLR 2024, Sec. 4).
- Initial factor norms, from the initialisation N(0, 1/D) of the d × d attention matrices,
  d = P + D (P = 65 position slots): for a unit vector x, E|Mx|² = Σ_ij E M_ij² x_j² = d/D = s,
  the initial attention scale ``s = (P + D)/D``. A factor that is one attention matrix applied to
  a unit token direction (Q1 e_p, K1 e_{p−1}, Q2 c, K2 l, V2 l, V1 l) starts at |·|² = s; a
  factor two matrices deep (α's key factor K2 V1 c, the memory copy V2 V1 l) at s². The read-out
  row W_ℓ (d entries of variance 1/128) starts at |u|² = d/128.
- Rates of the factors: the share of the data pushing each factor, counted per direction of the
  input it acts on. A reading carried by a map that must learn a whole space of directions is
  the mean over those directions of a product θ = (1/n) Σᵢ pᵢ·qᵢ, and gradient descent on it
  gives each direction's factors rate 1/n: ṗᵢ = (g/n) qᵢ, so θ̇ = g (|q|² + |p|²)/n (the
  per-direction norms). So:

  - β: the position–position entries of Q1ᵀK1, one per position slot, each pushed by the share
    f_p of label occurrences there: C_β = Σ_p f_p² for both factors (as in
    :mod:`phenom.induction.timescales`).
  - α: the content block of Q2ᵀK2V1, a bilinear form on the D content coordinates. Items are
    drawn afresh and isotropically in every sequence (E[c cᵀ] = I/D), so each of the D
    directions is pushed by 1/D of the data: rates 1/D (query Q2 c) and 2s/D (key K2 V1 c).
  - γ: the target's query at its position slot against the keys of the label tokens before it.
    A sequence starts at a uniformly random offset, so the target sits at one of P − 2N slots,
    each with share 1/(P − 2N), which pushes that slot's query and keys: rates 1/(P − 2N) for
    both. (The position route carries most of the network's measured push on γ; its content
    route is left out.)
  - The read-out block: label ℓ's read-out row u, and V2 l, V1 l and V2 V1 l for ℓ's label
    vector. The L label vectors are nearly orthogonal directions of the shared maps V1 and V2,
    so each label's factors are pushed only by the sequences that involve ℓ: rates 1/L, and
    2s/L for the two-matrix chain m. (Counting V2 as one map pushed by every sequence, rate 1,
    makes ξ's initial rate (s/L + d/128), rising with D; in the network ξ's early rate barely
    changes with D and splits between the read-out row and V2 as |v|² : |u|², as rates 1/L
    both say.)

  A factor made of a chain of two matrices moves as both matrices do: for q = K V c,
  (dK) V c + K (dV) c = r g (|Vc|² + K Kᵀ) p ≈ 2 s r g p at the initialisation (K Kᵀ ≈ s I), so
  α's key factor and the memory copy m move at 2s times their share (tested on random
  matrices).

So D enters twice: through the initial scale s of every attention factor, and through α's
share 1/D. α's initial rate is 3s²/D, 0.197 at D = 63 and 0.018 at D = 255; ξ's is
(s + d/128)/L, nearly independent of D (the read-out row gains what V2 loses). The flow starts
from the untrained network's readings: β₀ of :func:`~phenom.induction.timescales.initial_state`,
every other reading 0, the factors orthogonal.

**On the network's step axis** (:func:`extended_curves`): network step ↦ flow time t = c · lr ·
step, with one constant c (:data:`EXTENDED_TIME_CONSTANT`) fitted where the three-parameter
model's are, at (N, L, D) = (8, 32, 63): the flow's cliff over lr times the network's mean
transition step there. Nothing else is fitted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from phenom import _validate
from phenom.induction._softmax import NUMPY_FUNCTIONS, nll, prob, prob_difference
from phenom.induction.derivation import L_sym, N_sym, alpha, beta, xi
from phenom.induction.prediction import check_study_options
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
    "memory_share",
    "cliff_time",
    "EXTENDED_TIME_CONSTANT",
    "ExtendedCurves",
    "extended_curves",
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
    """Every stage of the extended model as sympy expressions in β, α, γ, ξ, ρ (and N, L).

    Made by :func:`derive_extended`; the stages of the module docstring's three softmaxes.

    Attributes
    ----------
    y : sympy.Expr
        Layer-1 attention of a token on its predecessor, e^β / (e^β + N).
    z : sympy.Expr
        Layer-2 attention of the target on the correct label's token.
    z_label : sympy.Expr
        Layer-2 attention of the target on one other label token (meaningful for N >= 2).
    loss : sympy.Expr
        Cross-entropy of the correct label.
    p_correct : sympy.Expr
        Probability of the correct label (= exp(−loss)).
    p_context : sympy.Expr
        Probability on the N labels present in the context.

    Examples
    --------
    At θ = 0 with N = 2, L = 4 layer-2 attention is uniform over the 2N + 1 = 5 tokens, and only
    the read-out feels a force: −∂loss/∂ξ = z (1 − N/L) = 1/10 and −∂loss/∂ρ = 1 − N/L = 1/2
    (the in-context labels' share of the probability pulled to the correct one).

    >>> from phenom.induction.derivation import alpha, beta, xi
    >>> from phenom.induction.extended import derive_extended, gamma, rho
    >>> d = derive_extended(2, 4)
    >>> at_zero = {beta: 0, alpha: 0, gamma: 0, xi: 0, rho: 0}
    >>> d.z.subs(at_zero), d.z_label.subs(at_zero)
    (1/5, 1/5)
    >>> [g.subs(at_zero).simplify() for g in d.grad]
    [0, 0, 0, -1/10, -1/2]
    """

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
    """Build the extended model from its softmaxes, as :func:`phenom.induction.derivation.derive` does.

    The expressions are literal with ``stable=False`` and written with log-sum-exp primitives
    with ``stable=True`` (what the numeric methods of :class:`ExtendedModel` evaluate).

    Parameters
    ----------
    N : int or sympy.Symbol
        Item–label pairs in context (default the symbol N).
    L : int or sympy.Symbol
        Labels, L >= N (default the symbol L).
    stable : bool
        Write the softmaxes with log-sum-exp primitives (default False: literal expressions).

    Returns
    -------
    ExtendedDerivation
        The stages y, z, z_ℓ, loss, P(correct), P(label in context) as sympy expressions.

    Examples
    --------
    At θ = 0 the classifier is uniform over the L labels, so the loss is log L; at γ = ρ = 0 the
    loss is the β, α, ξ model's (:func:`~phenom.induction.derivation.derive`):

    >>> from phenom.induction.derivation import alpha, beta, derive, xi
    >>> from phenom.induction.extended import derive_extended, gamma, rho
    >>> d = derive_extended(2, 4)
    >>> d.loss.subs({beta: 0, alpha: 0, gamma: 0, xi: 0, rho: 0}).simplify()
    log(4)
    >>> at = {beta: 0.3, alpha: 1.2, xi: 2.5}
    >>> extended_loss = float(d.loss.subs({**at, gamma: 0, rho: 0}))
    >>> round(extended_loss, 10) == round(float(derive(2, 4).loss.subs(at)), 10)
    True
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

    Numeric methods take β, α, γ, ξ, ρ as numbers or arrays that broadcast together; ``grad``
    returns shape (..., 5) in the order of :data:`PARAMETERS` and ``attention`` (..., 3).

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context (default 8).
    L : int >= N
        Labels the classifier chooses among (default 32).

    Examples
    --------
    At θ = 0 the loss is log L and the forces are the read-out's: −∂loss/∂ξ = z (1 − N/L) = 3/68
    with z = 1/(2N + 1) (the β, α, ξ model's force, Reddy, ICLR 2024, Sec. 4) and
    −∂loss/∂ρ = 1 − N/L = 3/4. A label bias γ = 1 moves layer-2 attention onto every label token.

    >>> import numpy as np
    >>> from phenom.induction.extended import ExtendedModel
    >>> m = ExtendedModel(8, 32)
    >>> round(float(m.loss(0, 0, 0, 0, 0)), 12) == round(float(np.log(32)), 12)
    True
    >>> g = m.grad(0.0, 0.0, 0.0, 0.0, 0.0)
    >>> [round(float(-v), 6) for v in g], round(3 / 68, 6)
    ([0.0, 0.0, 0.0, 0.044118, 0.75], 0.044118)
    >>> [round(float(a), 4) for a in m.attention(0.0, 0.0, [0.0, 1.0])[:, 1]]
    [0.0588, 0.0884]
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
    """The flow's counted coefficients at (N, L, D) (module docstring).

    Made by :func:`coefficients`; every field is documented below.

    Examples
    --------
    At D = 63 one attention matrix multiplies a unit vector's squared norm by s = 128/63; the
    read-out block's rates are (1/L, 1/L, 1/L, 2s/L):

    >>> from phenom.induction.extended import coefficients
    >>> c = coefficients(4, 16, 63)
    >>> round(c.s, 4), round(128 / 63, 4)
    (2.0317, 2.0317)
    >>> [round(r, 4) for r in c.rates["readout"]], round(2 * c.s / 16, 4)
    ([0.0625, 0.0625, 0.0625, 0.254], 0.254)
    """

    s: float
    """initial attention scale (P + D)/D: |M x|² of a unit x under one attention matrix"""
    kappa: float
    """weight of σ = u·w in ρ: the target's layer-1 attention on one label token, 1/(2N + 1)"""
    kappa_memory: float
    """weight of μ = u·m in ρ: the layer-1 memory of a label in later tokens, read in layer 2"""
    rates: dict[str, tuple[float, ...]]
    """factor rates (r_p, r_q) of β, α, γ; for the read-out block (r_u, r_v, r_w, r_m) under "readout\""""
    norms: dict[str, tuple[float, ...]]
    """initial factor norms² (|p|², |q|²) of β, α, γ; (|u|², |v|², |w|², |m|²) under "readout\""""


def attention_scale(D: int) -> float:
    """s = (P + D)/D: E|Mx|² for a unit x and a (P + D)-square M of N(0, 1/D) entries."""
    D = _validate.count("D", D)
    return (POSITIONS + D) / D


def memory_share(N: int) -> float:
    """κ_m: the weight with which a label in context reaches the target through later tokens.

    A label in context reaches the target through the layer-1 mixtures of the tokens after it,
    read in layer 2, when both layers attend uniformly (module docstring); the sum is taken as an
    exact fraction and returned as its float.

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context.

    Returns
    -------
    float
        κ_m = (1/(2N + 1)) · (1/N) Σ_k Σ_{j = 2k+2}^{2N} 1/(j + 1).

    Examples
    --------
    With N = 2 the labels sit at tokens 1 and 3 and the target at 4: label 0 is held by tokens 2,
    3, 4 (weights 1/3, 1/4, 1/5), label 1 by token 4 (1/5); the target reads each with 1/5:

    >>> from phenom.induction.extended import memory_share
    >>> round(memory_share(2), 6), round((1 / 5) * (1 / 2) * ((1 / 3 + 1 / 4 + 1 / 5) + 1 / 5), 6)
    (0.098333, 0.098333)
    """
    N = _validate.count("N", N)
    total = sum(Fraction(1, j + 1) for k in range(N) for j in range(2 * k + 2, 2 * N + 1))
    return float(total / (N * (2 * N + 1)))


def coefficients(N: int, L: int, D: int = 63) -> Coefficients:
    """Every coefficient of the factor flow at (N, L, D), counted (module docstring).

    None is fitted to the network: they are the untrained network's attention weights, its
    initial factor norms and the data shares pushing each factor.

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context.
    L : int >= N
        Labels.
    D : int >= L
        Content dimension of the tokens (default 63, the scaling study's); enters through the
        initial attention scale s = (P + D)/D, P = 65 position slots, and α's share 1/D.

    Returns
    -------
    Coefficients
        s, κ, κ_m, the factor rates and the initial factor norms².

    Examples
    --------
    At (8, 32, 63): s = 128/63, κ = 1/17, and the read-out row starts at |u|² = (P + D)/128 = 1;
    α's factors move at 1/D and 2s/D, γ's at 1/(P − 2N) = 1/49:

    >>> from phenom.induction.extended import coefficients
    >>> c = coefficients(8, 32, 63)
    >>> round(c.s, 4), round(c.kappa, 4), c.norms["readout"][0]
    (2.0317, 0.0588, 1.0)
    >>> [round(r, 5) for r in c.rates["alpha"]], round(1 / 63, 5), round(2 * c.s / 63, 5)
    ([0.01587, 0.0645], 0.01587, 0.0645)
    >>> c.rates["gamma"] == (1 / 49, 1 / 49)
    True
    """
    N, L = _validate.pairs(N, L)
    D = _validate.count("D", D, minimum=L, bound=f"L = {L} (L label vectors need L dimensions)")
    s = attention_scale(D)
    c_beta = float(time_scales(N, L)[0])
    readout = (POSITIONS + D) / READOUT_WIDTH
    slots = POSITIONS - 2 * N  # where the target can sit
    return Coefficients(
        s=s,
        kappa=1.0 / (2 * N + 1),
        kappa_memory=memory_share(N),
        rates={
            "beta": (c_beta, c_beta),
            "alpha": (1.0 / D, 2.0 * s / D),
            "gamma": (1.0 / slots, 1.0 / slots),
            "readout": (1.0 / L, 1.0 / L, 1.0 / L, 2.0 * s / L),
        },
        norms={"beta": (s, s), "alpha": (s, s * s), "gamma": (s, s), "readout": (readout, s, s, s * s)},
    )


_ATTENTION = ("beta", "alpha", "gamma")
# State layout: (θ, |p|², |q|²) for β, α, γ, then the read-out Gram matrix G of (u, v, w, m),
# its upper triangle row by row: (|u|², ξ, σ, μ, |v|², v·w, v·m, |w|², w·m, |m|²).
_UPPER = np.triu_indices(4)
_STATE = 9 + len(_UPPER[0])
_XI, _SIGMA, _MU = 10, 11, 12


def _gram(block: np.ndarray) -> np.ndarray:
    G = np.zeros((4, 4))
    G[_UPPER] = block
    return G + np.triu(G, 1).T


def _readout_rhs(block: np.ndarray, grads, rates) -> np.ndarray:
    """d/dt of the read-out Gram matrix's upper triangle under Ẋ = X A (module docstring), with
    ``grads`` = (g_v, g_w, g_m) and ``rates`` = (r_u, r_v, r_w, r_m)."""
    A = np.zeros((4, 4))
    for i, g in enumerate(grads, start=1):
        A[0, i], A[i, 0] = rates[i] * g, rates[0] * g
    G = _gram(block)
    return (A.T @ G + G @ A)[_UPPER]


def _readings(state: np.ndarray, coef: Coefficients) -> np.ndarray:
    """(β, α, γ, ξ, ρ) of flow states (..., _STATE)."""
    rho = coef.kappa * state[..., _SIGMA] + coef.kappa_memory * state[..., _MU]
    return np.stack([state[..., 0], state[..., 3], state[..., 6], state[..., _XI], rho], axis=-1)


@dataclass(frozen=True)
class FactorFlow:
    """A flow on factors: times, Gram entries, readings (β, α, γ, ξ, ρ), loss and probabilities.

    Made by :func:`factor_flow`; every array has one row per time of ``t``.

    Attributes
    ----------
    t : ndarray, shape (n,)
        Flow times (at the flow's ``lr``).
    state : ndarray, shape (n, 19)
        The Gram entries: (θ, |p|², |q|²) of β, α and γ, then the upper triangle, row by row, of
        the read-out Gram matrix of (u, v, w, m): (|u|², ξ, σ, μ, |v|², v·w, v·m, |w|², w·m, |m|²).
    theta : ndarray, shape (n, 5)
        The readings (β, α, γ, ξ, ρ), ρ = κ σ + κ_m μ.
    loss : ndarray, shape (n,)
        The extended model's loss at the readings.
    p_correct : ndarray, shape (n,)
        Probability of the correct label.
    p_context : ndarray, shape (n,)
        Probability on the N labels present in the context.
    coefficients : Coefficients
        The counted coefficients the flow ran with.
    N, L : int
        Pairs in context and labels.

    Examples
    --------
    The flow starts at the untrained network's readings (β₀ of
    :func:`~phenom.induction.timescales.initial_state`, the rest 0) with the loss at log L:

    >>> import numpy as np
    >>> from phenom.induction.extended import factor_flow
    >>> from phenom.induction.timescales import initial_state
    >>> f = factor_flow(2, 8, t_max=10.0, n_times=3)
    >>> f.state.shape, f.theta.shape
    ((3, 19), (3, 5))
    >>> round(float(f.theta[0, 0]), 4) == round(float(initial_state(2)[0]), 4), f.theta[0, 1:].tolist()
    (True, [0.0, 0.0, 0.0, 0.0])
    >>> round(float(f.loss[0]), 4) == round(float(np.log(8)), 4), round(float(f.p_context[0]), 4)
    (True, 0.25)
    """

    t: np.ndarray
    state: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    p_correct: np.ndarray
    p_context: np.ndarray
    coefficients: Coefficients
    N: int
    L: int

    def cliff(self) -> float:
        """The time of the steepest fall of the loss on the flow's time grid."""
        slope = np.gradient(self.loss, self.t)
        return float(self.t[int(np.argmin(slope))])


def _start(N: int, coef: Coefficients) -> np.ndarray:
    start = np.zeros(_STATE)
    start[0] = initial_state(N)[0]
    for k, name in enumerate(_ATTENTION):
        start[3 * k + 1 : 3 * k + 3] = coef.norms[name]
    start[9:] = np.diag(coef.norms["readout"])[_UPPER]
    return start


def _solve(N: int, L: int, D: int, t_max: float, lr: float, t_eval=None):
    """scipy's DOP853 solution of the factor flow (dense output), and its coefficients."""
    coef = coefficients(N, L, D)
    model = ExtendedModel(N, L)
    memory = (coef.kappa, coef.kappa_memory)

    def rhs(_t, state):
        g = -lr * model.grad(*_readings(state, coef))
        out = np.empty(_STATE)
        for k, name in enumerate(_ATTENTION):
            theta, P, Q = state[3 * k : 3 * k + 3]
            rp, rq = coef.rates[name]
            out[3 * k : 3 * k + 3] = ((rp * Q + rq * P) * g[k], 2 * rp * theta * g[k], 2 * rq * theta * g[k])
        out[9:] = _readout_rhs(state[9:], (g[3], memory[0] * g[4], memory[1] * g[4]), coef.rates["readout"])
        return out

    sol = solve_ivp(
        rhs, (0.0, t_max), _start(N, coef), method="DOP853", t_eval=t_eval, dense_output=True, rtol=1e-9, atol=1e-12
    )
    if not sol.success:
        raise RuntimeError(f"factor flow failed: {sol.message}")
    return sol, coef


def _flow_at(sol, coef: Coefficients, t: np.ndarray, N: int, L: int) -> FactorFlow:
    state = sol.sol(t).T
    theta = _readings(state, coef)
    model = ExtendedModel(N, L)
    args = np.moveaxis(theta, -1, 0)
    return FactorFlow(
        t=t,
        state=state,
        theta=theta,
        loss=model.loss(*args),
        p_correct=model.p_correct(*args),
        p_context=model.p_context(*args),
        coefficients=coef,
        N=N,
        L=L,
    )


def factor_flow(N: int, L: int, D: int = 63, *, t_max: float = 2e3, n_times: int = 2001, lr: float = 1.0):
    """The extended model's flow on factors (module docstring) from the untrained network's state.

    Integrated by scipy's DOP853 (rtol 1e-9, atol 1e-12) and sampled at ``n_times`` equally
    spaced times in [0, t_max].

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context.
    L : int >= N
        Labels.
    D : int >= L
        Content dimension (default 63), through the initial attention scale s = (P + D)/D.
    t_max : float > 0
        Last flow time (default 2000).
    n_times : int >= 2
        Times sampled (default 2001).
    lr : float > 0
        Scale of the gradient (default 1: flow time at lr = 1).

    Returns
    -------
    FactorFlow
        Times, Gram entries, readings, loss, P(correct) and P(label in context).

    Raises
    ------
    RuntimeError
        If the integration fails.

    Examples
    --------
    At N = 2, L = 8 the loss falls from log 8 through a cliff near t = 49 (on this grid of
    spacing 1; :func:`cliff_time` refines it), and ξ has grown:

    >>> import numpy as np
    >>> from phenom.induction.extended import factor_flow
    >>> f = factor_flow(2, 8, t_max=100.0, n_times=101)
    >>> round(float(f.loss[0]), 4) == round(float(np.log(8)), 4), round(f.cliff())
    (True, 49)
    >>> bool(f.theta[-1, 3] > 1 and f.loss[-1] < 0.1)
    True
    """
    N, L = _validate.pairs(N, L)
    t_max = _validate.positive("t_max", t_max)
    n_times = _validate.count("n_times", n_times, minimum=2)
    lr = _validate.positive("lr", lr)
    sol, coef = _solve(N, L, D, t_max, lr)
    return _flow_at(sol, coef, np.linspace(0.0, t_max, n_times), N, L)


_CLIFF_HORIZON = 1e5
"""Latest flow time (lr = 1) searched for the extended flow's cliff."""


@functools.cache
def cliff_time(N: int, L: int, D: int = 63) -> float:
    """The extended flow's cliff at lr = 1: the time of the steepest fall of its loss.

    Found on a grid of 20001 times up to where the loss first falls below a tenth of log L, then
    refined to the grid's spacing / 100 on the dense output; remembered per (N, L, D).

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context.
    L : int > N
        Labels (at L = N the flow has no cliff).
    D : int >= L
        Content dimension (default 63).

    Returns
    -------
    float
        The cliff's flow time at lr = 1.

    Raises
    ------
    ValueError
        If L = N.
    RuntimeError
        If the loss does not fall below a tenth of log L before t = 1e5.

    Examples
    --------
    On the network's step axis at lr 0.5 the cliff is at t / (c · lr), with the stored
    :data:`EXTENDED_TIME_CONSTANT` c: about step 114 at N = 2, L = 8, D = 63.

    >>> from phenom.induction.extended import EXTENDED_TIME_CONSTANT, cliff_time
    >>> t = cliff_time(2, 8)
    >>> round(t, 2), round(t / (EXTENDED_TIME_CONSTANT["c"] * 0.5))
    (48.91, 114)
    """
    N, L = _validate.pairs(N, L)
    if L == N:
        raise ValueError(f"L must be an integer > N = {N} (at L = N the flow has no cliff), got {L}")
    target = 0.1 * np.log(L)
    model = ExtendedModel(N, L)
    coef = coefficients(N, L, D)

    def learned(_t, state):
        return float(model.loss(*_readings(state, coef))) - target

    learned.terminal = True  # type: ignore[attr-defined]
    sol, _ = _solve(N, L, D, _CLIFF_HORIZON, 1.0)
    end = float(sol.t[-1])
    for k in range(len(sol.t) - 1):  # the first step whose end has fallen below the target
        if learned(0, sol.y[:, k + 1]) < 0:
            end = float(sol.t[k + 1])
            break
    else:
        raise RuntimeError(f"the extended flow at N = {N}, L = {L}, D = {D} has no cliff before t = {_CLIFF_HORIZON:g}")
    t = np.linspace(0.0, end, 20001)
    loss = _flow_at(sol, coef, t, N, L).loss
    k = int(np.argmin(np.gradient(loss, t)))
    fine = np.linspace(t[max(k - 1, 0)], t[min(k + 1, len(t) - 1)], 201)
    fine_loss = _flow_at(sol, coef, fine, N, L).loss
    return float(fine[int(np.argmin(np.gradient(fine_loss, fine)))])


# c in t = c · lr · step, fitted once at the reference (N, L, D) = (8, 32, 63): the extended flow's
# cliff (lr = 1) over lr = 0.5 times the network's mean transition step there, 1037.938489018
# (the scaling study's three seeds, as for the three-parameter models' constants).
EXTENDED_TIME_CONSTANT: dict = {
    "c": 0.859560836185,
    "flow_time": 446.085637764,
    "reference": (8, 32, 63),
    "net_step": 1037.938489018,
    "lr": 0.5,
}
"""The extended model's c in t = c · lr · step, its reference and the flow time it was fitted from."""


@dataclass(frozen=True)
class ExtendedCurves:
    """The extended model's learning curves on the network's step axis (:func:`extended_curves`).

    Every array has the length of ``step``; ``t = c · lr · step`` is the flow time (lr = 1).

    Attributes
    ----------
    step : ndarray
        Network steps.
    t : ndarray
        The flow times c · lr · step.
    theta : ndarray, shape (len(step), 5)
        The readings (β, α, γ, ξ, ρ) there.
    loss : ndarray
        The model's held-out loss (cross-entropy of the correct label).
    p_correct : ndarray
        Probability of the correct label.
    p_context : ndarray
        Probability on the N labels present in the context.
    transition_step : float
        The flow's cliff on the step axis: :func:`cliff_time` / (c · lr).
    c : float
        The stored time constant (:data:`EXTENDED_TIME_CONSTANT`).
    lr : float
        The network's learning rate.
    ignored : tuple of str
        The options checked but not entering the prediction (ε, batch size).

    Examples
    --------
    >>> from phenom.induction.extended import extended_curves
    >>> curves = extended_curves(2, 8, steps=[0, 100, 200])
    >>> curves.theta.shape, curves.lr, curves.ignored
    ((3, 5), 0.5, ('eps', 'batch_size'))
    >>> [round(float(p), 2) for p in curves.p_context]
    [0.25, 0.75, 0.99]
    """

    step: np.ndarray
    t: np.ndarray
    theta: np.ndarray
    """(β, α, γ, ξ, ρ) at each step, shape (len(step), 5)"""
    loss: np.ndarray
    """the model's held-out loss (cross-entropy of the correct label)"""
    p_correct: np.ndarray
    p_context: np.ndarray
    """probability on the N labels present in the context"""
    transition_step: float
    """the flow's cliff on the step axis: :func:`cliff_time` / (c · lr)"""
    c: float
    lr: float
    ignored: tuple[str, ...]
    """the options checked but not entering the prediction (ε, batch size)"""


def extended_curves(
    N: int,
    L: int,
    *,
    D: int | None = None,
    eps: float = 0.1,
    lr: float = 0.5,
    batch_size: int = 128,
    steps=None,
    samples: int = 201,
) -> ExtendedCurves:
    """The extended model's predicted learning curves against network steps.

    The held-out loss, P(correct) and P(label in context) for the copying task at (N, L, D)
    trained by SGD at ``lr``, with the stored constant :data:`EXTENDED_TIME_CONSTANT`.

    Parameters
    ----------
    N, L : int
        Pairs in context (2 to 32) and labels (L > N).
    D : int or None
        Content dimension, >= L (default max(63, L), the scaling study's). Enters through the
        initial attention scale s = (P + D)/D.
    eps, batch_size
        Within-class noise (>= 0) and sequences per step (>= 1): checked, but they do not enter
        (the counting involves neither; a gradient flow follows the mean gradient), and are named
        in ``ignored``.
    lr : float
        The network's SGD learning rate, in :data:`phenom.induction.prediction.LR_RANGE`.
    steps : None or 1-D array of steps >= 0
        Where to evaluate; None: ``samples`` evenly spaced steps up to twice the predicted
        transition. At most 1e5 / (c · lr).
    samples : int >= 2
        Steps evaluated when ``steps`` is None (default 201).

    Returns
    -------
    ExtendedCurves
        The curves at ``steps``, the predicted transition step and the constant used.

    Examples
    --------
    At N = 2, L = 8 (D = 63, lr 0.5) the predicted transition is near step 114 (the network's
    is near 184: at this smallest size the model is early); the loss starts at log L:

    >>> import numpy as np
    >>> from phenom.induction.extended import extended_curves
    >>> curves = extended_curves(2, 8, steps=[0.0, 100.0, 400.0])
    >>> round(curves.transition_step)
    114
    >>> round(float(curves.loss[0]), 4) == round(float(np.log(8)), 4), bool(curves.p_correct[2] > 0.9)
    (True, True)
    """
    from_D = max(63, L) if D is None else D
    N, L, lr = check_study_options(N, L, from_D, eps, lr, batch_size)
    D = int(from_D)
    c = EXTENDED_TIME_CONSTANT["c"]
    transition = cliff_time(N, L, D) / (c * lr)
    if steps is None:
        steps = np.linspace(0.0, 2 * transition, _validate.count("samples", samples, minimum=2))
    steps = _validate.times("steps", steps)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"steps must be a non-empty 1-D array of steps >= 0, got shape {steps.shape}")
    t = c * lr * steps
    if float(t.max()) > _CLIFF_HORIZON:
        raise ValueError(
            f"steps must be at most {_CLIFF_HORIZON:g} / (c · lr) = {_CLIFF_HORIZON / (c * lr):.6g}, "
            f"got up to {float(steps.max()):.6g}"
        )
    sol, coef = _solve(N, L, D, max(float(t.max()), 1e-9), 1.0)
    flow = _flow_at(sol, coef, t, N, L)
    return ExtendedCurves(
        step=steps,
        t=t,
        theta=flow.theta,
        loss=flow.loss,
        p_correct=flow.p_correct,
        p_context=flow.p_context,
        transition_step=transition,
        c=c,
        lr=float(lr),
        ignored=("eps", "batch_size"),
    )
