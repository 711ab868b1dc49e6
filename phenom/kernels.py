"""Fused scalar kernels of the β, α, ξ model, generated from its sympy derivation and compiled.

The numeric functions of :mod:`phenom.induction` are numpy ufunc pipelines: right for arrays,
costly for the one point at a time an ODE solver asks for (each stable softmax primitive is a
Python call that allocates arrays). Here the same stable derivation (:func:`phenom.induction.derive`
with ``stable=True``, symbolic N and L) is reduced by common-subexpression elimination and printed
as straight-line scalar Python: every log-sum-exp primitive of :mod:`phenom._softmax` is printed
as a call to a small scalar helper with the same branches as its numpy implementation (``log1p``
when every gap is ≤ 0, the largest exponential factored out otherwise; a zero count is an empty
group). The source is compiled with numba, which inlines the helpers, so the kernels are fused
loops of floating-point operations with no Python in between. The derivation stays the single
source: nothing here is typed in by hand but the three primitives.

- :func:`source`: the generated Python source (readable; printed by ``python -m phenom.kernels``).
- :func:`compiled`: the compiled kernels ``loss_grad(β, α, ξ, N, L, out)`` (out[0] = loss,
  out[1:4] = gradient) and ``hessian(β, α, ξ, N, L, out)`` (out: 3 × 3), scalar in and out.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

__all__ = ["source", "compiled", "HELPERS"]

HELPERS = '''
def _nll1(d1, m1):
    if m1 <= 0.0:
        return 0.0
    if d1 > 0.0:
        return d1 + math.log(math.exp(-d1) + m1)
    return math.log1p(m1 * math.exp(d1))


def _nll2(d1, d2, m1, m2):
    live1, live2 = m1 > 0.0, m2 > 0.0
    shift = 0.0
    if live1 and d1 > shift:
        shift = d1
    if live2 and d2 > shift:
        shift = d2
    if shift > 0.0:
        total = math.exp(-shift)
        if live1:
            total += m1 * math.exp(d1 - shift)
        if live2:
            total += m2 * math.exp(d2 - shift)
        return shift + math.log(total)
    total = 0.0
    if live1:
        total += m1 * math.exp(d1)
    if live2:
        total += m2 * math.exp(d2)
    return math.log1p(total)


def _p1(j, F, d1, m1):
    return m1 * math.exp(d1 - F) if m1 > 0.0 else 0.0


def _p2(j, F, d1, d2, m1, m2):
    if j == 0:
        return m1 * math.exp(d1 - F) if m1 > 0.0 else 0.0
    return m2 * math.exp(d2 - F) if m2 > 0.0 else 0.0


def _pdiff(x_i, x_j, g):
    if g > 0.0:
        return -math.exp(x_i) * math.expm1(-g)
    return math.exp(x_j) * math.expm1(g)
'''
"""Scalar versions of :data:`phenom._softmax.NUMPY_FUNCTIONS` (same branches, no arrays)."""


class _Printer(PythonCodePrinter):
    """Python with ``math``; the softmax primitives as calls to the scalar helpers."""

    def _print_SoftmaxNLL(self, e):
        k = len(e.args) // 2
        return f"_nll{k}({', '.join(self._print(a) for a in e.args)})"

    def _print_SoftmaxP(self, e):
        k = (len(e.args) - 2) // 2
        return f"_p{k}({', '.join(self._print(a) for a in e.args)})"

    def _print_ProbDifference(self, e):
        return f"_pdiff({', '.join(self._print(a) for a in e.args)})"


def _function(name: str, exprs: list, targets: list[str]) -> str:
    """``def name(beta, alpha, xi, N, L, out)``: the CSE of ``exprs`` written into ``out``."""
    printer = _Printer({"fully_qualified_modules": True})
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("s"))
    lines = [f"def {name}(beta, alpha, xi, N, L, out):"]
    lines += [f"    {symbol} = {printer.doprint(expr)}" for symbol, expr in replacements]
    lines += [f"    out[{target}] = {printer.doprint(expr)}" for target, expr in zip(targets, reduced)]
    return "\n".join(lines)


@functools.lru_cache(maxsize=None)
def source() -> str:
    """The generated module: the helpers, ``loss_grad`` and ``hessian`` of the general model
    (symbolic N and L, so one kernel serves every (N, L))."""
    from .induction import L_sym, N_sym, derive

    d = derive(N_sym, L_sym, stable=True)
    loss_grad = _function("loss_grad", [d.loss, *d.grad], ["0", "1", "2", "3"])
    hessian = _function("hessian", list(d.hessian), [f"{i}, {j}" for i in range(3) for j in range(3)])
    return "import math\n" + HELPERS + "\n\n" + loss_grad + "\n\n\n" + hessian + "\n"


@functools.lru_cache(maxsize=None)
def compiled() -> dict:
    """The kernels of :func:`source` compiled with numba: ``{"loss_grad": …, "hessian": …}``.
    The first call in a process compiles them (about two seconds)."""
    import numba

    namespace: dict = {}
    exec(compile(source(), "<phenom.kernels>", "exec"), namespace)
    for helper in ("_nll1", "_nll2", "_p1", "_p2", "_pdiff"):  # resolved from the same globals
        namespace[helper] = numba.njit(inline="always")(namespace[helper])
    return {name: numba.njit(namespace[name]) for name in ("loss_grad", "hessian")}


if __name__ == "__main__":
    print(source())
