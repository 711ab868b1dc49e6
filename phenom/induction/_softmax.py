"""Softmax, symbolically and stably.

Every attention pattern and classifier in phenom is a softmax over a few *groups* of tokens or
labels: one target, and groups of ``m_j`` identical competitors whose logits exceed the
target's by ``d_j``. Three sympy functions close this algebra under differentiation:

``SoftmaxNLL(d_1..d_k, m_1..m_k) = F = log(1 + sum_j m_j exp(d_j))``
    the negative log-probability of the target (cross-entropy); ``dF/dd_j = P_j``;
``SoftmaxP(j, F, d_1..d_k, m_1..m_k) = P_j = m_j exp(d_j - F)``
    the probability of group j (exactly 0 for an empty group, ``m_j = 0``, such as the absent
    labels when L = N). It carries F as an argument so that F is computed once for all groups,
    and its derivative is written ``P_j ((1 - P_j) d_j' - sum_{i != j} P_i d_i')`` with
    ``1 - P_j = exp(-F) + sum_{i != j} P_i``, a sum of positive terms: no cancellation when
    group j takes almost all the probability;
``ProbDifference(x_i, x_j, g) = exp(x_i) - exp(x_j)``
    the difference ``p_i - p_j`` of two probabilities of one softmax (``x = log p``, and the
    logit gap ``g = s_i - s_j``), to full relative precision when the two logits nearly
    coincide, with derivatives that stay accurate when one of them nears 1.

The target's own probability is ``exp(-F)``. Expressions written with these differentiate
symbolically like any other, print as LaTeX, rewrite to plain exponentials
(``expr.rewrite(sympy.exp)``) and lambdify (through :data:`NUMPY_FUNCTIONS`) into log-sum-exp
numpy code that neither overflows nor loses relative precision when the loss is tiny.

The helpers :func:`prob`, :func:`nll` and :func:`prob_difference` build a softmax either in this
stable form or literally, as ``exp(s_t) / (exp(s_t) + sum_j m_j exp(s_j))``; the literal form is
what a derivation reads like, the stable one is what gets evaluated, and tests prove them equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

__all__ = ["SoftmaxNLL", "SoftmaxP", "ProbDifference", "to_exp", "prob", "prob_difference", "nll", "NUMPY_FUNCTIONS"]


def _split(args: Sequence[sp.Expr]) -> tuple[tuple, tuple]:
    k = len(args) // 2
    return tuple(args[:k]), tuple(args[k:])


def _nonempty(gaps, counts) -> tuple[tuple, tuple]:
    kept = [(d, m) for d, m in zip(gaps, counts, strict=True) if m.is_zero is not True]
    return tuple(d for d, _ in kept), tuple(m for _, m in kept)


def _terms(gaps, counts, printer) -> str:
    return " + ".join(f"{printer._print(m)} e^{{{printer._print(d)}}}" for d, m in zip(gaps, counts, strict=True))


class SoftmaxNLL(sp.Function):
    r"""``log(1 + sum_j m_j exp(d_j))``: the cross-entropy of a softmax's target.

    >>> d, m = sp.symbols("d m")
    >>> SoftmaxNLL(d, m).rewrite(sp.exp)
    log(m*exp(d) + 1)
    >>> SoftmaxNLL(d, m).diff(d).rewrite(sp.exp)
    m*exp(d)/(m*exp(d) + 1)
    >>> SoftmaxNLL(d, 0)
    0
    """

    @classmethod
    def eval(cls, *args):
        if len(args) % 2:
            raise TypeError("SoftmaxNLL takes gaps d_1..d_k followed by counts m_1..m_k")
        gaps, counts = _split(args)
        kept_gaps, kept_counts = _nonempty(gaps, counts)
        if not kept_gaps:
            return sp.S.Zero
        if len(kept_gaps) != len(gaps):
            return cls(*kept_gaps, *kept_counts)
        return None

    def fdiff(self, argindex=1):
        k = len(self.args) // 2
        if argindex > k:
            raise sp.ArgumentIndexError(self, argindex)  # counts are not differentiated
        return SoftmaxP(argindex - 1, self, *self.args)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        gaps, counts = _split(args)
        return sp.log(1 + sum(m * sp.exp(d) for d, m in zip(gaps, counts, strict=True)))

    def _latex(self, printer):
        return rf"\log\left(1 + {_terms(*_split(self.args), printer)}\right)"


class SoftmaxP(sp.Function):
    r"""``m_j exp(d_j - F)``, F = SoftmaxNLL(d, m): the probability of competitor group j.

    >>> d1, d2, m1, m2 = sp.symbols("d1 d2 m1 m2")
    >>> F = SoftmaxNLL(d1, d2, m1, m2)
    >>> P0 = SoftmaxP(0, F, d1, d2, m1, m2)
    >>> sp.simplify((P0.diff(d1) - P0.rewrite(sp.exp).diff(d1)).rewrite(sp.exp))
    0
    """

    @classmethod
    def eval(cls, j, F, *args):
        if len(args) % 2 or not j.is_Integer:
            raise TypeError("SoftmaxP takes a group index j, F, gaps d_1..d_k, counts m_1..m_k")
        gaps, counts = _split(args)
        j = int(j)
        if counts[j].is_zero is True:
            return sp.S.Zero
        kept_gaps, kept_counts = _nonempty(gaps, counts)
        if len(kept_gaps) != len(gaps):
            new_j = sum(1 for m in counts[:j] if m.is_zero is not True)
            return cls(new_j, F, *kept_gaps, *kept_counts)
        return None

    def _eval_derivative(self, s):
        j, F, rest = int(self.args[0]), self.args[1], self.args[2:]
        gaps, counts = _split(rest)
        if any(m.diff(s) != 0 for m in counts):
            raise NotImplementedError("SoftmaxP is differentiated in its gaps only, not its counts")
        dd = [d.diff(s) for d in gaps]
        P = [SoftmaxP(i, F, *rest) for i in range(len(gaps))]
        others = [i for i in range(len(gaps)) if i != j]
        complement = sp.exp(-F) + sum(P[i] for i in others)  # = 1 − P_j, without cancellation
        return P[j] * (complement * dd[j] - sum(P[i] * dd[i] for i in others))

    def _eval_rewrite_as_exp(self, j, F, *args, **kwargs):
        gaps, counts = _split(args)
        j = int(j)
        return counts[j] * sp.exp(gaps[j]) / (1 + sum(m * sp.exp(d) for d, m in zip(gaps, counts, strict=True)))

    def _latex(self, printer):
        j = int(self.args[0])
        gaps, counts = _split(self.args[2:])
        top = f"{printer._print(counts[j])} e^{{{printer._print(gaps[j])}}}"
        return rf"\frac{{{top}}}{{1 + {_terms(gaps, counts, printer)}}}"


class ProbDifference(sp.Function):
    """``p_i - p_j = exp(x_i) - exp(x_j)`` for two log-probabilities ``x_i, x_j`` of one softmax.

    The third argument is the logit gap ``g = s_i - s_j`` (= ``x_i - x_j``): the value is computed
    as ``exp(x_j) expm1(g)``, to full relative precision when the logits nearly coincide; the
    derivative is ``exp(x_i) x_i' - exp(x_j) x_j'``, which stays accurate when one probability
    nears 1 (where ``g`` would cancel against ``x_j``).

    >>> xi_, xj, g = sp.symbols("x_i x_j g")
    >>> ProbDifference(xi_, xj, g).diff(xi_), ProbDifference(xi_, xj, g).diff(g)
    (exp(x_i), 0)
    """

    def fdiff(self, argindex=1):
        x_i, x_j, _ = self.args
        return (sp.exp(x_i), -sp.exp(x_j), sp.S.Zero)[argindex - 1]

    def _eval_rewrite_as_exp(self, x_i, x_j, g, **kwargs):
        return sp.exp(x_i) - sp.exp(x_j)

    def _latex(self, printer):
        x_i, x_j, _ = (printer._print(a) for a in self.args)
        return rf"\left(e^{{{x_i}}} - e^{{{x_j}}}\right)"


def to_exp(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the stable primitives rewritten as plain exponentials (and nothing else)."""
    return expr.rewrite([SoftmaxNLL, SoftmaxP, ProbDifference], sp.exp)


# ---------------------------------------------------------------------------------------------
# Symbolic builders: a softmax over a target logit and groups of (count, logit) competitors.

Groups = Sequence[tuple[sp.Expr, sp.Expr]]


def _gaps_counts(target, others: Groups, gaps=None):
    counts = tuple(sp.sympify(m) for m, _ in others)
    if gaps is None:
        gaps = tuple(sp.sympify(s) - target for _, s in others)
    elif len(gaps) != len(others):
        raise ValueError(f"gaps must give one gap per group of others ({len(others)}), got {len(gaps)}")
    return tuple(gaps), counts


def prob(target, others: Groups, *, stable: bool = True, gaps=None) -> sp.Expr:
    """Softmax probability of one token with logit ``target`` among ``others``.

    ``others`` lists ``(count, logit)`` groups of competitors. With ``stable=False`` the
    literal ratio of exponentials is returned. ``gaps`` may supply the logit gaps
    ``logit_j - target`` in a form more accurate than the subtraction (the stable form uses
    them; tests prove both forms equal).

    >>> b, N = sp.symbols("beta N", positive=True)
    >>> prob(b, [(N, 0)], stable=False)
    exp(beta)/(N + exp(beta))
    """
    if not stable:
        return sp.exp(target) / (sp.exp(target) + sum(m * sp.exp(s) for m, s in others))
    return sp.exp(-nll(target, others, gaps=gaps))


def prob_difference(first, second, others: Groups, *, stable: bool = True) -> sp.Expr:
    """``p(first) - p(second)`` for two tokens of one softmax over ``first``, ``second``, ``others``.

    >>> a, n = sp.symbols("a n", positive=True)
    >>> sp.simplify(prob_difference(a, 0, [(n, 0)]).rewrite(sp.exp)
    ...             - prob_difference(a, 0, [(n, 0)], stable=False))
    0
    """
    if not stable:
        return prob(first, [(1, second), *others], stable=False) - prob(second, [(1, first), *others], stable=False)
    log_p_first = -nll(first, [(1, second), *others])
    log_p_second = -nll(second, [(1, first), *others])
    return ProbDifference(log_p_first, log_p_second, first - second)


def nll(target, others: Groups, *, stable: bool = True, gaps=None) -> sp.Expr:
    """Cross-entropy ``-log prob(target, others)``, stable or literal (``gaps`` as in :func:`prob`)."""
    if not stable:
        return -sp.log(prob(target, others, stable=False))
    gaps, counts = _gaps_counts(target, others, gaps)
    return SoftmaxNLL(*gaps, *counts)


# ---------------------------------------------------------------------------------------------
# numpy implementations used by lambdify. Counts may be arrays (batched N, L) and may be zero.


def _np_split(args):
    k = len(args) // 2
    gaps = [np.asarray(d, dtype=float) for d in args[:k]]
    counts = [np.asarray(m, dtype=float) for m in args[k:]]
    return gaps, counts


def _np_nll(*args):
    gaps, counts = _np_split(args)
    present = [m > 0 for m in counts]
    live = [np.where(p, d, -np.inf) for d, p in zip(gaps, present, strict=True)]
    shift = np.zeros(np.broadcast_shapes(*(d.shape for d in live), *(m.shape for m in counts)))
    for d in live:
        shift = np.maximum(shift, d)
    # All gaps <= 0: log1p keeps full relative precision of a tiny loss.
    small = sum(m * np.exp(np.minimum(d, 0.0)) for d, m in zip(live, counts, strict=True))
    # Some gap > 0: factor out the largest exponential (log-sum-exp).
    large = np.exp(-shift) + sum(m * np.exp(d - shift) for d, m in zip(live, counts, strict=True))
    return np.where(shift > 0, shift + np.log(large), np.log1p(small))


def _np_p(j, F, *args):
    gaps, counts = _np_split(args)
    j = int(j)
    return counts[j] * np.exp(np.where(counts[j] > 0, gaps[j] - F, -np.inf))


def _np_prob_difference(x_i, x_j, g):
    x_i, x_j, g = (np.asarray(v, dtype=float) for v in (x_i, x_j, g))
    # exp(x_j) expm1(g) for g <= 0; for g > 0 factor out the larger, exp(x_i), so nothing overflows.
    up = g > 0
    return np.where(up, -np.exp(x_i) * np.expm1(np.where(up, -g, 0.0)), np.exp(x_j) * np.expm1(np.where(up, 0.0, g)))


NUMPY_FUNCTIONS = {"SoftmaxNLL": _np_nll, "SoftmaxP": _np_p, "ProbDifference": _np_prob_difference}
"""Name → numpy implementation, for ``sympy.lambdify(..., modules=[NUMPY_FUNCTIONS, "numpy"])``."""
