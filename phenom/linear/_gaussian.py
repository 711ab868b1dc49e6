"""Expectations of polynomials in zero-mean Gaussian vectors, symbolically (Isserlis / Wick).

``E[x_a x_b x_c x_d] = Σ_ab Σ_cd + Σ_ac Σ_bd + Σ_ad Σ_bc``, and in general the sum over all
pairings of the product of covariances; odd moments vanish. :func:`expectation` applies this to
every monomial of a polynomial, one Gaussian vector at a time, so that risks of in-context
regression can be *derived* rather than typed in.

>>> import sympy as sp
>>> x1, x2, s11, s12, s22 = sp.symbols("x1 x2 s11 s12 s22")
>>> S = sp.Matrix([[s11, s12], [s12, s22]])
>>> expectation(x1**2 * x2**2, [x1, x2], S)
s11*s22 + 2*s12**2
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

__all__ = ["expectation"]


def _wick(indices: tuple[int, ...], cov: sp.Matrix) -> sp.Expr:
    """Sum over pairings of ``indices`` of the product of covariances."""
    if not indices:
        return sp.S.One
    if len(indices) % 2:
        return sp.S.Zero
    first, rest = indices[0], indices[1:]
    total = sp.S.Zero
    for k, partner in enumerate(rest):
        total += cov[first, partner] * _wick(rest[:k] + rest[k + 1 :], cov)
    return total


def expectation(expr: sp.Expr, variables: Sequence[sp.Symbol], cov: sp.Matrix) -> sp.Expr:
    """``E[expr]`` over ``variables`` ~ N(0, cov), other symbols held fixed."""
    variables = list(variables)
    poly = sp.Poly(sp.expand(expr), *variables)
    moments: dict[tuple[int, ...], sp.Expr] = {}
    total = sp.S.Zero
    for powers, coeff in poly.terms():
        if powers not in moments:
            indices = tuple(i for i, p in enumerate(powers) for _ in range(p))
            moments[powers] = _wick(indices, cov)
        total += coeff * moments[powers]
    return sp.expand(total)
