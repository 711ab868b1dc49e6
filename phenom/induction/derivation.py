r"""The β, α, ξ model of induction-head formation (Reddy, ICLR 2024), derived from its softmaxes.

Three softmaxes are built as sympy expressions and the cross-entropy falls out of them (see
:mod:`phenom.induction.model` for the model's story and its numeric functions). This module is the single
source every numeric form is generated from: the lambdified numpy functions of
:mod:`phenom.induction.model` and the compiled kernels of :mod:`phenom.induction.kernels`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from phenom.induction._softmax import nll, prob, prob_difference

__all__ = ["PARAMETERS", "THETA", "Derivation", "derive", "alpha", "beta", "xi", "N_sym", "L_sym"]

PARAMETERS = ("beta", "alpha", "xi")
"""Order of the model's parameters everywhere (gradients, flows, CSV columns)."""

beta, alpha, xi = sp.symbols("beta alpha xi", real=True)
N_sym, L_sym = sp.symbols("N L", positive=True, integer=True)
THETA = (beta, alpha, xi)


@dataclass(frozen=True)
class Derivation:
    """Every stage of the model as sympy expressions in β, α, ξ (and N, L if symbolic).

    Made by :func:`derive`; each field is described below, and :attr:`grad` and :attr:`hessian`
    are derived from the loss on first use.

    Examples
    --------
    >>> from phenom.induction.derivation import alpha, beta, derive, xi
    >>> d = derive(8, 32)
    >>> d.y
    exp(beta)/(exp(beta) + 8)
    >>> d.y.subs(beta, 0), d.z.subs({beta: 0, alpha: 0}), d.p_context.subs({beta: 0, alpha: 0, xi: 0})
    (1/9, 1/17, 1/4)
    >>> d.grad.subs({beta: 0, alpha: 0, xi: 0}).T  # only ξ feels a force at θ = 0: −(L − N)/(L(2N + 1))
    Matrix([[0, 0, -3/68]])
    """

    y: sp.Expr
    """layer-1 attention of a token on its predecessor"""
    z: sp.Expr
    """layer-2 attention of the target on the correct label"""
    z_other: sp.Expr
    """layer-2 attention of the target on any one other token"""
    loss: sp.Expr
    """cross-entropy of the correct label"""
    p_correct: sp.Expr
    """classifier probability of the correct label"""
    p_context: sp.Expr
    """classifier probability summed over the N in-context labels"""

    @functools.cached_property
    def grad(self) -> sp.Matrix:
        """∂loss/∂(β, α, ξ) as a 3×1 matrix."""
        return sp.Matrix([self.loss.diff(v) for v in THETA])

    @functools.cached_property
    def hessian(self) -> sp.Matrix:
        """∂²loss/∂θ∂θ as a 3×3 matrix."""
        return sp.hessian(self.loss, THETA)


def derive(N=N_sym, L=L_sym, *, stable: bool = False) -> Derivation:
    """Build the model from its three softmaxes.

    ``N`` and ``L`` may be integers or sympy symbols. ``stable=False`` writes each softmax as a
    literal ratio of exponentials (the form to read and print); ``stable=True`` writes the same
    functions through :class:`~phenom.induction._softmax.SoftmaxNLL` (the form to evaluate).

    Parameters
    ----------
    N : int >= 1 or sympy.Symbol
        Item–label pairs in context (default the symbol :data:`N_sym`).
    L : int >= N or sympy.Symbol
        Labels (default the symbol :data:`L_sym`).
    stable : bool
        False (default): literal ratios of exponentials; True: the log-sum-exp form.

    Returns
    -------
    Derivation
        Layer 1's y, layer 2's z and z', the loss and the classifier's P(correct) and
        P(in context), in β, α, ξ.

    Examples
    --------
    At θ = 0 every softmax is uniform: the loss is log L, for numbers or symbols.

    >>> from phenom.induction.derivation import alpha, beta, derive, xi
    >>> derive(2, 4).loss.subs({beta: 0, alpha: 0, xi: 0}).simplify()
    log(4)
    >>> derive().loss.subs({beta: 0, alpha: 0, xi: 0}).simplify()
    log(L)
    """
    softmax = functools.partial(prob, stable=stable)
    # Layer 1: predecessor (logit β) against the N other visible tokens (logit 0).
    y = softmax(beta, [(N, 0)])
    # Layer 2: correct label (logit αy) against 2N tokens at 0; z' is one of those 2N.
    a = alpha * y
    z = softmax(a, [(2 * N, 0)])
    z_other = softmax(0, [(1, a), (2 * N - 1, 0)])
    margin = prob_difference(a, 0, [(2 * N - 1, 0)], stable=stable)  # z − z'
    # Classifier over L labels: logits ξz (correct), ξz' (N−1 others in context), 0 (L−N absent).
    # Only the gaps to the correct logit matter, −u = −ξ(z − z') and −u' = −ξz; taking z − z' as
    # one quantity (not a difference of two) keeps u accurate where αy ≈ 0.
    correct = xi * z
    rivals = [(N - 1, xi * z_other), (L - N, 0)]
    gaps = [-xi * margin, -xi * z]
    # log Σ exp over the N in-context logits: a super-token against the L − N absent labels.
    in_context = correct + nll(correct, rivals[:1], stable=stable, gaps=gaps[:1])
    return Derivation(
        y=y,
        z=z,
        z_other=z_other,
        loss=nll(correct, rivals, stable=stable, gaps=gaps),
        p_correct=softmax(correct, rivals, gaps=gaps),
        p_context=softmax(in_context, rivals[1:]),
    )
